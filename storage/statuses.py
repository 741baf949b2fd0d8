"""Offer statuses, step states and offer types, and how the status document's values map to them.

The status document is the Cloud Partner Portal's (docs/partner-center.md). Document values are
compared case-insensitively.
"""

from __future__ import annotations

from enum import StrEnum


class OfferStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    FAILED = "failed"
    CANCELED = "canceled"
    SIGNOFF = "signoff"
    LIVE = "live"
    DELISTED = "delisted"


# The status document's ``status`` values , lower-cased.
DOCUMENT_STATUSES: dict[str, OfferStatus] = {
    "neverpublished": OfferStatus.NOT_STARTED,
    "notstarted": OfferStatus.NOT_STARTED,
    "running": OfferStatus.IN_PROGRESS,
    "failed": OfferStatus.FAILED,
    "canceled": OfferStatus.CANCELED,
    "waitingforpublisherreview": OfferStatus.SIGNOFF,
    "succeeded": OfferStatus.LIVE,
}

# Words a user may type to filter lists (``/offer-status list failed``), lower-cased.
STATUS_FILTERS: dict[str, OfferStatus] = {
    "not-started": OfferStatus.NOT_STARTED,
    "notstarted": OfferStatus.NOT_STARTED,
    "draft": OfferStatus.NOT_STARTED,
    "in-progress": OfferStatus.IN_PROGRESS,
    "inprogress": OfferStatus.IN_PROGRESS,
    "progress": OfferStatus.IN_PROGRESS,
    "running": OfferStatus.IN_PROGRESS,
    "failed": OfferStatus.FAILED,
    "fail": OfferStatus.FAILED,
    "canceled": OfferStatus.CANCELED,
    "cancelled": OfferStatus.CANCELED,
    "signoff": OfferStatus.SIGNOFF,
    "sign-off": OfferStatus.SIGNOFF,
    "signout": OfferStatus.SIGNOFF,
    "sign-out": OfferStatus.SIGNOFF,
    "awaiting": OfferStatus.SIGNOFF,
    "preview": OfferStatus.SIGNOFF,
    "live": OfferStatus.LIVE,
    "succeeded": OfferStatus.LIVE,
    "delisted": OfferStatus.DELISTED,
}


FILTER_WORDS: dict[OfferStatus, str] = {
    OfferStatus.NOT_STARTED: "not-started",
    OfferStatus.IN_PROGRESS: "in-progress",
    OfferStatus.FAILED: "failed",
    OfferStatus.CANCELED: "canceled",
    OfferStatus.SIGNOFF: "signoff",
    OfferStatus.LIVE: "live",
    OfferStatus.DELISTED: "delisted",
}


def status_filter_words() -> list[str]:
    """The canonical filter word of each status, for help texts."""
    return list(FILTER_WORDS.values())


class StepState(StrEnum):
    """A publishing step's state, as the document spells it (camelCase)."""

    NOT_STARTED = "notStarted"
    IN_PROGRESS = "inProgress"
    WAITING_FOR_PUBLISHER_REVIEW = "waitingForPublisherReview"
    WAITING_FOR_APPROVAL = "waitingForApproval"
    BLOCKED = "blocked"
    REJECTED = "rejected"
    COMPLETE = "complete"
    CANCELED = "canceled"

    @property
    def needs_attention(self) -> bool:
        return self in (
            StepState.WAITING_FOR_PUBLISHER_REVIEW,
            StepState.BLOCKED,
            StepState.REJECTED,
        )


STEP_STATES: dict[str, StepState] = {s.value.lower(): s for s in StepState}


class MessageLevel(StrEnum):
    INFORMATION = "information"
    WARNING = "warning"
    ERROR = "error"


MESSAGE_LEVELS: dict[str, MessageLevel] = {m.value: m for m in MessageLevel}


class OfferType(StrEnum):
    VIRTUAL_MACHINE = "virtual-machine"
    AZURE_APPLICATION = "azure-application"
    SAAS = "saas"
    CONTAINER = "container"
    IOT_EDGE_MODULE = "iot-edge-module"
    DYNAMICS_365 = "dynamics-365"
    CONSULTING_SERVICE = "consulting-service"


# Accepted spellings of ``offerType``, lower-cased: ours and Partner Center's product types.
OFFER_TYPES: dict[str, OfferType] = {t.value: t for t in OfferType} | {
    "azurevirtualmachine": OfferType.VIRTUAL_MACHINE,
    "azureapplication": OfferType.AZURE_APPLICATION,
    "softwareasaservice": OfferType.SAAS,
    "azurecontainer": OfferType.CONTAINER,
    "iotedgemodule": OfferType.IOT_EDGE_MODULE,
    "dynamics365forcustomerengagement": OfferType.DYNAMICS_365,
    "consultingservice": OfferType.CONSULTING_SERVICE,
}


class DestinationKind(StrEnum):
    """Where an alert or a subscription goes: a channel, or a user's direct messages."""

    CHANNEL = "channel"
    USER = "user"


class TargetKind(StrEnum):
    """What a subscription or a mute is about."""

    OFFER = "offer"
    PUBLISHER = "publisher"
    ALL = "all"


def target_key(kind: TargetKind, ref: object = None) -> str:
    """The one spelling of a target in the store: ``all``, ``publisher:<id>``, ``offer:<pk>``."""
    return TargetKind.ALL.value if kind is TargetKind.ALL else f"{kind.value}:{ref}"


def parse_target_key(key: str) -> tuple[TargetKind, str]:
    """A target key's kind and reference (``""`` for ``all``); ``ValueError`` for an unknown kind."""
    kind, _, ref = key.partition(":")
    return TargetKind(kind), ref


class DeliveryKind(StrEnum):
    """What a delivery row posts: the first alert of a change, a follow-up in its thread, a reminder,
    a stuck step's alert, the notice to the creator of a subscription Slack disabled, or a test alert
    someone asked for (``/offer-status test-alert``: an offer's alert as it is now, marked as a test,
    which starts no thread and no reminder)."""

    ALERT = "alert"
    FOLLOWUP = "followup"
    REMINDER = "reminder"
    STUCK = "stuck"
    NOTICE = "notice"
    TEST = "test"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Listing(StrEnum):
    LISTED = "listed"
    DELISTED = "delisted"


def effective_status(publish_status: OfferStatus, listing: Listing) -> OfferStatus:
    """The one status shown for an offer: a delisted offer is Delisted whatever its last publish did."""
    return OfferStatus.DELISTED if listing is Listing.DELISTED else publish_status


# --- the steps the Partner Center sync builds ------------------------------------------------
# The Product Ingestion API tells only three steps; the sync names them (in English here; the
# renderers show their translation) and writes a step's submission time in its estimate field.

SYNC_FEED = "partner-center"


class SyncStep(StrEnum):
    PREVIEW = "publish-preview"
    SIGNOFF = "publisher-signoff"
    LIVE = "publish-live"


SYNC_STEP_NAMES = {
    SyncStep.PREVIEW: "Publish to preview",
    SyncStep.SIGNOFF: "Publisher sign-off",
    SyncStep.LIVE: "Publish to live",
}
SUBMITTED_FORMAT = "submitted %Y-%m-%d %H:%M UTC"
"""How the sync writes a step's submission time in its estimate field (parsed back to show it)."""


class PublishState(StrEnum):
    """A request offerbot made to Microsoft to publish an offer (*Go live*): ``sending`` while the
    request is on its way (the row reserves the offer first, so a double click sends one), then
    ``running`` while Microsoft's job runs, then how it ended."""

    SENDING = "sending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_PUBLISH = (PublishState.SENDING, PublishState.RUNNING)


class PublishKind(StrEnum):
    """What a publish request asked: to go live, or to cancel a publish offerbot did not start (a
    Cloud Partner Portal publish; one offerbot started is cancelled on its own request)."""

    GO_LIVE = "go_live"
    CANCEL = "cancel"


class PublishApi(StrEnum):
    """Which API a publish request went to."""

    PARTNER_CENTER = "partner-center"
    CLOUD_PARTNER = "cloud-partner-portal"


class OwnerKind(StrEnum):
    """Who an owner set from Slack is: a Slack user, an e-mail address (looked up like the document's
    ``notificationEmails``), or a Slack user group (its members when an alert is sent)."""

    USER = "user"
    EMAIL = "email"
    USERGROUP = "usergroup"

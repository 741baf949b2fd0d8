"""Offer statuses, step states and offer types, and how the status document's values map to them.

See ``shared/domain.md`` §1-§3. Document values are compared case-insensitively.
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

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def emoji(self) -> str:
        return _STATUS_EMOJI[self]


_STATUS_LABELS = {
    OfferStatus.NOT_STARTED: "Not started",
    OfferStatus.IN_PROGRESS: "Publish in progress",
    OfferStatus.FAILED: "Publish failed",
    OfferStatus.CANCELED: "Publish canceled",
    OfferStatus.SIGNOFF: "Awaiting publisher sign-off",
    OfferStatus.LIVE: "Live",
    OfferStatus.DELISTED: "Delisted",
}

_STATUS_EMOJI = {
    OfferStatus.NOT_STARTED: ":white_circle:",
    OfferStatus.IN_PROGRESS: ":hourglass_flowing_sand:",
    OfferStatus.FAILED: ":x:",
    OfferStatus.CANCELED: ":no_entry_sign:",
    OfferStatus.SIGNOFF: ":raised_hand:",
    OfferStatus.LIVE: ":white_check_mark:",
    OfferStatus.DELISTED: ":warning:",
}

# The status document's ``status`` values (domain.md §3), lower-cased.
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
    def label(self) -> str:
        return _STEP_LABELS[self]

    @property
    def emoji(self) -> str:
        return _STEP_EMOJI[self]

    @property
    def needs_attention(self) -> bool:
        return self in (
            StepState.WAITING_FOR_PUBLISHER_REVIEW,
            StepState.BLOCKED,
            StepState.REJECTED,
        )


_STEP_LABELS = {
    StepState.NOT_STARTED: "not started",
    StepState.IN_PROGRESS: "in progress",
    StepState.WAITING_FOR_PUBLISHER_REVIEW: "waiting for you",
    StepState.WAITING_FOR_APPROVAL: "waiting for approval",
    StepState.BLOCKED: "blocked",
    StepState.REJECTED: "rejected",
    StepState.COMPLETE: "done",
    StepState.CANCELED: "canceled",
}

_STEP_EMOJI = {
    StepState.NOT_STARTED: ":white_circle:",
    StepState.IN_PROGRESS: ":large_blue_circle:",
    StepState.WAITING_FOR_PUBLISHER_REVIEW: ":raised_hand:",
    StepState.WAITING_FOR_APPROVAL: ":hourglass:",
    StepState.BLOCKED: ":no_entry:",
    StepState.REJECTED: ":x:",
    StepState.COMPLETE: ":white_check_mark:",
    StepState.CANCELED: ":no_entry_sign:",
}

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

    @property
    def label(self) -> str:
        return _TYPE_LABELS[self]


_TYPE_LABELS = {
    OfferType.VIRTUAL_MACHINE: "Virtual machine",
    OfferType.AZURE_APPLICATION: "Azure application",
    OfferType.SAAS: "SaaS",
    OfferType.CONTAINER: "Container",
    OfferType.IOT_EDGE_MODULE: "IoT Edge module",
    OfferType.DYNAMICS_365: "Dynamics 365 for Customer Engagement",
    OfferType.CONSULTING_SERVICE: "Consulting service",
}

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


class Listing(StrEnum):
    LISTED = "listed"
    DELISTED = "delisted"


def effective_status(publish_status: OfferStatus, listing: Listing) -> OfferStatus:
    """The one status shown for an offer: a delisted offer is Delisted whatever its last publish did."""
    return OfferStatus.DELISTED if listing is Listing.DELISTED else publish_status

"""What statuses, step states and offer types are called, and their emoji: wording, so it lives with
the renderers, not in ``storage``."""

from __future__ import annotations

from bot.i18n import N_, Translator
from storage.statuses import OfferStatus, OfferType, StepState, SyncStep

STATUS_LABELS = {
    OfferStatus.NOT_STARTED: N_("Not started"),
    OfferStatus.IN_PROGRESS: N_("Publish in progress"),
    OfferStatus.FAILED: N_("Publish failed"),
    OfferStatus.CANCELED: N_("Publish canceled"),
    OfferStatus.SIGNOFF: N_("Awaiting publisher sign-off"),
    OfferStatus.LIVE: N_("Live"),
    OfferStatus.DELISTED: N_("Delisted"),
}

STATUS_EMOJI = {
    OfferStatus.NOT_STARTED: ":white_circle:",
    OfferStatus.IN_PROGRESS: ":hourglass_flowing_sand:",
    OfferStatus.FAILED: ":x:",
    OfferStatus.CANCELED: ":no_entry_sign:",
    OfferStatus.SIGNOFF: ":raised_hand:",
    OfferStatus.LIVE: ":white_check_mark:",
    OfferStatus.DELISTED: ":warning:",
}

STEP_LABELS = {
    StepState.NOT_STARTED: N_("not started"),
    StepState.IN_PROGRESS: N_("in progress"),
    StepState.WAITING_FOR_PUBLISHER_REVIEW: N_("waiting for you"),
    StepState.WAITING_FOR_APPROVAL: N_("waiting for approval"),
    StepState.BLOCKED: N_("blocked"),
    StepState.REJECTED: N_("rejected"),
    StepState.COMPLETE: N_("done"),
    StepState.CANCELED: N_("canceled"),
}

STEP_EMOJI = {
    StepState.NOT_STARTED: ":white_circle:",
    StepState.IN_PROGRESS: ":large_blue_circle:",
    StepState.WAITING_FOR_PUBLISHER_REVIEW: ":raised_hand:",
    StepState.WAITING_FOR_APPROVAL: ":hourglass:",
    StepState.BLOCKED: ":no_entry:",
    StepState.REJECTED: ":x:",
    StepState.COMPLETE: ":white_check_mark:",
    StepState.CANCELED: ":no_entry_sign:",
}

TYPE_LABELS = {
    OfferType.VIRTUAL_MACHINE: N_("Virtual machine"),
    OfferType.AZURE_APPLICATION: N_("Azure application"),
    OfferType.SAAS: N_("SaaS"),
    OfferType.CONTAINER: N_("Container"),
    OfferType.IOT_EDGE_MODULE: N_("IoT Edge module"),
    OfferType.DYNAMICS_365: N_("Dynamics 365 for Customer Engagement"),
    OfferType.CONSULTING_SERVICE: N_("Consulting service"),
}


def status_label(status: OfferStatus | str, tr: Translator) -> str:
    return tr._(STATUS_LABELS[OfferStatus(status)])


def status_emoji(status: OfferStatus | str) -> str:
    return STATUS_EMOJI[OfferStatus(status)]


def step_label(state: StepState | str, tr: Translator) -> str:
    return tr._(STEP_LABELS[StepState(state)])


def step_emoji(state: StepState | str) -> str:
    return STEP_EMOJI[StepState(state)]


def offer_type_label(offer_type: str, tr: Translator) -> str:
    """The offer type's label; a type only Partner Center knows is shown as Partner Center names it."""
    try:
        return tr._(TYPE_LABELS[OfferType(offer_type)])
    except ValueError:
        return offer_type


# --- the steps the Partner Center sync builds ------------------------------------------------
# The sync stores their English names (storage.statuses.SYNC_STEP_NAMES); they are offerbot's own
# words, so the card shows them in the reader's language.

SYNC_STEP_LABELS = {
    SyncStep.PREVIEW: N_("Publish to preview"),
    SyncStep.SIGNOFF: N_("Publisher sign-off"),
    SyncStep.LIVE: N_("Publish to live"),
}

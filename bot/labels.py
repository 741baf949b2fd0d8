"""What statuses, step states and offer types are called, and their emoji: wording, so it lives with
the renderers, not in ``storage``."""

from __future__ import annotations

from storage.statuses import OfferStatus, OfferType, StepState

STATUS_LABELS = {
    OfferStatus.NOT_STARTED: "Not started",
    OfferStatus.IN_PROGRESS: "Publish in progress",
    OfferStatus.FAILED: "Publish failed",
    OfferStatus.CANCELED: "Publish canceled",
    OfferStatus.SIGNOFF: "Awaiting publisher sign-off",
    OfferStatus.LIVE: "Live",
    OfferStatus.DELISTED: "Delisted",
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
    StepState.NOT_STARTED: "not started",
    StepState.IN_PROGRESS: "in progress",
    StepState.WAITING_FOR_PUBLISHER_REVIEW: "waiting for you",
    StepState.WAITING_FOR_APPROVAL: "waiting for approval",
    StepState.BLOCKED: "blocked",
    StepState.REJECTED: "rejected",
    StepState.COMPLETE: "done",
    StepState.CANCELED: "canceled",
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
    OfferType.VIRTUAL_MACHINE: "Virtual machine",
    OfferType.AZURE_APPLICATION: "Azure application",
    OfferType.SAAS: "SaaS",
    OfferType.CONTAINER: "Container",
    OfferType.IOT_EDGE_MODULE: "IoT Edge module",
    OfferType.DYNAMICS_365: "Dynamics 365 for Customer Engagement",
    OfferType.CONSULTING_SERVICE: "Consulting service",
}


def status_label(status: OfferStatus | str) -> str:
    return STATUS_LABELS[OfferStatus(status)]


def status_emoji(status: OfferStatus | str) -> str:
    return STATUS_EMOJI[OfferStatus(status)]


def step_label(state: StepState | str) -> str:
    return STEP_LABELS[StepState(state)]


def step_emoji(state: StepState | str) -> str:
    return STEP_EMOJI[StepState(state)]


def offer_type_label(offer_type: str) -> str:
    """The offer type's label; a type only Partner Center knows is shown as Partner Center names it."""
    try:
        return TYPE_LABELS[OfferType(offer_type)]
    except ValueError:
        return offer_type

"""The alert policy, in one table: for each offer status, which alert event entering it is, whether an
offer still in it gets reminders, whether it ends an alert thread, and how a consulting service
(which Microsoft edits itself) treats it. The outbox (who hears of a change, when a thread closes,
what reminds) and the renderers (the note that a state may be normal) read it;
``tests/store/test_policy.py`` goes over
every row."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from storage.statuses import OfferStatus, OfferType


class Event(StrEnum):
    """What a subscription names (``/offer-status subscribe ... failed delisted signoff stuck``)."""

    FAILED = "failed"
    DELISTED = "delisted"
    SIGNOFF = "signoff"
    STUCK = "stuck"
    """Not a status: a step that has run twice Microsoft's estimate (``storage.estimates``)."""


class Consulting(StrEnum):
    """How a consulting service treats a status, where it differs from other offers."""

    AS_ANY = "as_any"
    """Like any other offer."""
    ALERT_IF_EXPLAINED = "alert_if_explained"
    """Alerts only once an error-level message explains it, and the alert says it may be normal."""
    NORMAL = "normal"
    """Part of the normal process while Microsoft edits the offer: no alert, and a follow-up says so."""


@dataclass(frozen=True)
class Rule:
    event: Event | None
    reminds: bool
    closes_thread: bool
    consulting: Consulting


POLICY: dict[OfferStatus, Rule] = {
    OfferStatus.NOT_STARTED: Rule(None, reminds=False, closes_thread=True, consulting=Consulting.AS_ANY),
    OfferStatus.IN_PROGRESS: Rule(None, reminds=False, closes_thread=False, consulting=Consulting.AS_ANY),
    OfferStatus.FAILED: Rule(
        Event.FAILED, reminds=True, closes_thread=False, consulting=Consulting.ALERT_IF_EXPLAINED
    ),
    OfferStatus.CANCELED: Rule(None, reminds=False, closes_thread=False, consulting=Consulting.NORMAL),
    OfferStatus.SIGNOFF: Rule(Event.SIGNOFF, reminds=True, closes_thread=False, consulting=Consulting.AS_ANY),
    OfferStatus.LIVE: Rule(None, reminds=False, closes_thread=True, consulting=Consulting.AS_ANY),
    OfferStatus.DELISTED: Rule(
        Event.DELISTED, reminds=False, closes_thread=False, consulting=Consulting.AS_ANY
    ),
}

ALERT_EVENTS: dict[OfferStatus, str] = {s: r.event.value for s, r in POLICY.items() if r.event}
"""The statuses that alert, and the event word a subscription names them by."""
EVENTS: tuple[str, ...] = tuple(e.value for e in Event)
STUCK: str = Event.STUCK.value
REMINDABLE: tuple[str, ...] = tuple(s.value for s, r in POLICY.items() if r.reminds)
CLOSING: tuple[str, ...] = tuple(s.value for s, r in POLICY.items() if r.closes_thread)


def rule(status: str) -> Rule:
    return POLICY[OfferStatus(status)]


def needs_explaining(offer_type: str, status: str) -> bool:
    """A consulting service's status that alerts only once an error-level message explains it."""
    return offer_type == OfferType.CONSULTING_SERVICE.value and (
        rule(status).consulting is Consulting.ALERT_IF_EXPLAINED
    )


def may_be_normal(offer_type: str, status: str) -> bool:
    """A consulting service's status that can be part of the normal process (the renderers say so)."""
    consulting = rule(status).consulting
    return offer_type == OfferType.CONSULTING_SERVICE.value and consulting is not Consulting.AS_ANY

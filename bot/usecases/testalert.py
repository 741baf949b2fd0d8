"""``/offer-status test-alert [offer]``: a test alert in this channel, queued in the outbox and sent by
the watcher like a real one (same renderer, same pacing), so a team sees what an alert looks like
before Microsoft fails an offer. It starts no alert thread and no reminder; its work buttons say what
they would do on a real alert and record nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.i18n import N_
from bot.usecases.access import AccessPolicy, Actor
from bot.usecases.subscriptions import check_channel_change
from storage.alerts.outbox import add_test_alert
from storage.alerts.subscriptions import first_followed_offer
from storage.errors import UsageError
from storage.models import Offer
from storage.reads.offers import Lookup, find_offers

TEST_VALUE_PREFIX = "t"
"""A test alert's *I'm on it* carries ``t<offer key>`` and its *Snooze* options ``t<key>:<choice>``:
values no real alert has, so a click on a test alert never reaches a real alert thread."""


@dataclass(frozen=True)
class QueuedTestAlert:
    """The test alert written to the outbox: about which offer, to which channel, under which key."""

    offer_name: str
    offer_id: str
    channel: str
    delivery_id: int


def is_test_value(value: object) -> bool:
    """Whether a button value is a test alert's (see :data:`TEST_VALUE_PREFIX`)."""
    if not isinstance(value, str) or not value.startswith(TEST_VALUE_PREFIX):
        return False
    key = value[len(TEST_VALUE_PREFIX) :].split(":", 1)[0]
    return key.isascii() and key.isdigit() and len(key) <= 10


def _offer_for(session: Session, *, team_id: str, channel: str, query: str) -> Offer | Lookup:
    if not query:
        offer = first_followed_offer(session, team_id=team_id, channel=channel)
        if offer is None:
            raise UsageError(
                N_("No offers are stored yet, so there is nothing to alert about: import some first.")
            )
        return offer
    found = find_offers(session, team_id=team_id, query=query)
    return found.matches[0] if len(found.matches) == 1 else found


def queue_test_alert(
    session: Session,
    *,
    team_id: str,
    channel: str,
    query: str,
    actor: Actor,
    policy: AccessPolicy,
    now: datetime,
) -> QueuedTestAlert | Lookup:
    """Queue a test alert about the offer ``query`` names (none: one this channel follows, else the
    workspace's first by name) to ``channel``; whoever may change the channel's alerts may ask. A
    look-up that does not find exactly one offer comes back instead, and nothing is written."""
    check_channel_change(channel=channel, verb="test-alert", actor=actor, policy=policy)
    offer = _offer_for(session, team_id=team_id, channel=channel, query=query)
    if isinstance(offer, Lookup):
        return offer
    assert offer.id is not None
    key = add_test_alert(session, team_id=team_id, offer_pk=offer.id, channel=channel, now=now)
    return QueuedTestAlert(offer_name=offer.name, offer_id=offer.offer_id, channel=channel, delivery_id=key)

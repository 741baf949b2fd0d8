"""The alert policy, row by row: each status's event, for any offer and for a consulting service
(with and without an error that explains it), through the outbox on a real store."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from bot.i18n import ENGLISH
from bot.render.alerts import CONSULTING_NOTE, render_followup
from storage import db
from storage.alerts import fanout
from storage.alerts.policy import ALERT_EVENTS, CLOSING, POLICY, REMINDABLE, Consulting, may_be_normal
from storage.alerts.subscriptions import Target, subscribe
from storage.imports.documents import parse_document
from storage.imports.importer import import_offers
from storage.models import Delivery, Offer
from storage.reads.offers import load_card
from storage.statuses import OfferStatus
from tests.conftest import NOW, TEAM

DOCUMENT_STATUS = {
    OfferStatus.NOT_STARTED: "notStarted",
    OfferStatus.IN_PROGRESS: "running",
    OfferStatus.FAILED: "failed",
    OfferStatus.CANCELED: "canceled",
    OfferStatus.SIGNOFF: "waitingForPublisherReview",
    OfferStatus.LIVE: "succeeded",
    OfferStatus.DELISTED: "succeeded",  # and listing: delisted
}


def document(status: OfferStatus, offer_type: str, *, explained: bool) -> str:
    messages = (
        [
            {
                "messageHtml": "Lead management is required.",
                "level": "error",
                "timestamp": "2026-11-24T08:00:00Z",
            }
        ]
        if explained
        else []
    )
    offer = {
        "publisherId": "fabrikam",
        "offerId": "the-offer",
        "name": "The offer",
        "offerType": offer_type,
        "listing": "delisted" if status is OfferStatus.DELISTED else "listed",
        "status": {"status": DOCUMENT_STATUS[status], "messages": messages, "steps": []},
    }
    return json.dumps({"offers": [offer]})


@pytest.mark.parametrize("status", list(POLICY))
@pytest.mark.parametrize(
    ("offer_type", "explained"),
    [("virtual-machine", False), ("consulting-service", False), ("consulting-service", True)],
)
def test_every_row_decides_who_is_alerted(
    factory: db.SessionFactory, status: OfferStatus, offer_type: str, explained: bool
) -> None:
    rule = POLICY[status]
    start = OfferStatus.NOT_STARTED if status is OfferStatus.IN_PROGRESS else OfferStatus.IN_PROGRESS
    with db.transaction(factory) as s:
        import_offers(
            s, team_id=TEAM, offers=parse_document(document(start, offer_type, explained=False)), now=NOW
        )
        subscribe(
            s,
            team_id=TEAM,
            destination_kind="channel",
            destination="C0ALL0001",
            target=Target(kind="all"),
            events=(),
            created_by="U0CREATOR",
            now=NOW,
        )
        fanout.fan_out(s, now=NOW)
    with db.transaction(factory) as s:
        import_offers(
            s, team_id=TEAM, offers=parse_document(document(status, offer_type, explained=explained)), now=NOW
        )
        handled = fanout.fan_out(s, now=NOW)
        alerts = s.exec(select(Delivery).where(Delivery.kind == "alert")).all()
        offer = s.exec(select(Offer)).one()
    consulting = offer_type == "consulting-service"
    if rule.event is None:
        expected_alerts, expected_handled = 0, 1
    elif consulting and rule.consulting is Consulting.ALERT_IF_EXPLAINED and not explained:
        expected_alerts, expected_handled = 0, 0  # it waits for an error that explains it
    else:
        expected_alerts, expected_handled = 1, 1
    assert (len(alerts), handled) == (expected_alerts, expected_handled)
    assert (status in ALERT_EVENTS) == (rule.event is not None)
    assert (status.value in REMINDABLE) == rule.reminds
    assert (status.value in CLOSING) == rule.closes_thread
    # The renderers read the same row: a consulting service's follow-up says when a state may be normal.
    with factory() as s:
        card = load_card(s, offer=offer)
    followup = json.dumps(
        render_followup(card, old_status=start.value, new_status=status.value, since=NOW, tr=ENGLISH).blocks
    )
    normal = consulting and rule.consulting is not Consulting.AS_ANY
    assert may_be_normal(offer_type, status.value) == normal
    assert (CONSULTING_NOTE in followup) == normal

"""A delivery's plan is a pure function of its facts: no store, no Slack. Each case builds the
facts by hand and reads the plan (where the post goes, whether it starts a thread, whether there
is anything to say)."""

from __future__ import annotations

from datetime import timedelta

from bot.alerting.plan import Facts, Snapshot, decide
from bot.i18n import ENGLISH
from storage.models import AlertThread, Delivery, Offer, StatusChange
from storage.reads.offers import OfferCard
from storage.statuses import DeliveryKind, DestinationKind
from tests.conftest import NOW, TEAM

OFFER = Offer(
    id=1,
    team_id=TEAM,
    publisher_id="contoso",
    offer_id="contoso-vm",
    name="Contoso VM",
    offer_type="virtual-machine",
    publish_status="failed",
    status="failed",
)
CHANGE = StatusChange(
    id=7, team_id=TEAM, offer_pk=1, old_status="in_progress", new_status="failed", changed_at=NOW
)
SNAPSHOT = Snapshot(OFFER, CHANGE, 7, OfferCard(offer=OFFER, steps=[], messages=[]))


def row(kind: DeliveryKind, destination_kind: DestinationKind = DestinationKind.CHANNEL) -> Delivery:
    destination = "C0PLAN001" if destination_kind is DestinationKind.CHANNEL else "U0PLAN001"
    return Delivery(
        id=1,
        team_id=TEAM,
        change_id=7,
        offer_pk=1,
        destination_kind=destination_kind,
        destination=destination,
        kind=kind,
        next_attempt_at=NOW,
        created_at=NOW,
    )


def thread(status: str) -> AlertThread:
    return AlertThread(
        id=3,
        team_id=TEAM,
        offer_pk=1,
        destination_kind="channel",
        destination="C0PLAN001",
        channel="C0PLAN001",
        ts="111.222",
        first_change_id=7,
        last_change_id=7,
        status=status,
    )


def test_a_first_alert_starts_a_thread_in_its_channel() -> None:
    plan = decide(row(DeliveryKind.ALERT), Facts(SNAPSHOT, threading=True, tr=ENGLISH, now=NOW))
    assert plan.post is not None and plan.post.channel == "C0PLAN001" and plan.post.thread_ts is None
    assert plan.thread is not None and plan.thread.starts_thread and plan.root is None
    assert "Contoso VM" in plan.post.render().text


def test_an_alert_in_an_open_thread_answers_there_and_redraws_its_root() -> None:
    open_thread = thread("in_progress")
    facts = Facts(SNAPSHOT, threading=True, tr=ENGLISH, now=NOW, thread=open_thread, first=CHANGE)
    plan = decide(row(DeliveryKind.ALERT), facts)
    assert plan.post is not None and plan.post.thread_ts == "111.222" and plan.post.broadcast
    assert plan.thread is not None and not plan.thread.starts_thread and plan.root is not None
    off = decide(
        row(DeliveryKind.ALERT), Facts(SNAPSHOT, threading=False, tr=ENGLISH, now=NOW, thread=open_thread)
    )
    assert off.post is not None and off.post.thread_ts is None  # threading off: a new message


def test_a_dm_opens_its_conversation_first_and_a_reminder_needs_a_thread_still_waiting() -> None:
    dm = decide(
        row(DeliveryKind.ALERT, DestinationKind.USER), Facts(SNAPSHOT, threading=True, tr=ENGLISH, now=NOW)
    )
    assert dm.post is not None and dm.post.channel is None and dm.post.dm_user == "U0PLAN001"
    gone = Facts(SNAPSHOT, threading=True, tr=ENGLISH, now=NOW + timedelta(days=1), thread=thread("live"))
    assert decide(row(DeliveryKind.REMINDER), gone).post is None  # it moved on: nothing to remind of
    waiting = Facts(SNAPSHOT, threading=True, tr=ENGLISH, now=NOW, thread=thread("failed"))
    assert decide(row(DeliveryKind.REMINDER), waiting).post is not None
    assert decide(row(DeliveryKind.NOTICE), waiting).post is None  # its subscription is gone

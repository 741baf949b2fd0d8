"""Working on alerts from Slack: *I'm on it*, *Snooze*, *Mute this offer*. The alert is posted by the
real watcher into the fake Slack; clicks are real signed ``block_actions`` requests through waitress
and the Bolt app; what the tests read is what the fake Slack received (``chat.update``, the
``response_url``). Runs on SQLite and, where TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.alerting.outcomes import WatcherConfig
from storage import db
from storage.alerts import reminders
from storage.models import AlertTaker, AlertThread, Delivery, Mute, Offer, OfferAction
from tests.conftest import NOW, RunningServer
from tests.support.alerted import PAT, SAM, button, click, first_post, snooze_choice, texts, updates
from tests.support.alerts import CHANNEL, OPS, contoso, doc, load, offer_pk, passes
from tests.support.clock import Clock
from tests.support.fakeslack import FakeSlack


def test_alerts_carry_the_working_buttons(alerted: dict[str, Any], fake_slack: FakeSlack) -> None:
    channel_alert = first_post(fake_slack, CHANNEL)
    (actions,) = [b for b in channel_alert["blocks"] if b["type"] == "actions"]
    ids = [e["action_id"] for e in actions["elements"]]
    assert ids == ["open_offer_status", "open_partner_center", "alert_on_it", "alert_snooze"]
    menu = actions["elements"][3]
    assert [o["text"]["text"] for o in menu["options"]] == ["1 hour", "4 hours", "1 day", "1 week"]
    dm_alert = first_post(fake_slack, alerted["dm"])
    (dm_actions,) = [b for b in dm_alert["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in dm_actions["elements"]][-1] == "alert_mute_offer"


def test_on_it_updates_the_alert_for_everyone_and_stops_its_reminders(
    alerted: dict[str, Any],
    app_server: RunningServer,
    fake_slack: FakeSlack,
    factory: db.SessionFactory,
    watch_client: Any,
    alert_clock: Clock,
) -> None:
    pk = str(offer_pk(factory, "contoso-analytics-vm"))
    ts = alerted["channel_ts"]
    click(app_server, fake_slack, button("alert_on_it", pk), channel=CHANNEL, ts=ts)
    (update,) = updates(fake_slack, 1)
    assert update["channel"] == CHANNEL and update["ts"] == ts
    assert f"<@{PAT}> is on it since" in texts(update["blocks"])
    # the same person again: harmless, and told so
    click(app_server, fake_slack, button("alert_on_it", pk), channel=CHANNEL, ts=ts)
    (answer,) = fake_slack.wait_for("response_url")
    assert "already on this alert" in answer.body["text"]
    # someone else, from a reminder in the thread: added beside the first
    click(
        app_server, fake_slack, button("alert_on_it", pk), channel=CHANNEL, ts="9.9", thread_ts=ts, user=SAM
    )
    last = updates(fake_slack, 3)[-1]
    shown = texts(last["blocks"])
    assert f"<@{PAT}> is on it" in shown and f"<@{SAM}> is on it" in shown
    with factory() as s:
        takers = s.exec(select(AlertTaker)).all()
        assert sorted(t.user_id for t in takers) == [PAT, SAM]
        assert [a.action for a in s.exec(select(OfferAction)).all()] == ["on_it", "on_it"]
    # reminders for that alert stop; the owner's DM alert, which nobody took, is still reminded
    alert_clock.advance(days=2)
    passes(factory, watch_client, alert_clock, config=WatcherConfig())
    with factory() as s:
        reminders = s.exec(select(Delivery).where(Delivery.kind == "reminder")).all()
    assert [r.destination for r in reminders] == [OPS]


def test_snooze_shows_until_when_and_holds_reminders_back(
    alerted: dict[str, Any],
    app_server: RunningServer,
    fake_slack: FakeSlack,
    factory: db.SessionFactory,
    watch_client: Any,
    alert_clock: Clock,
) -> None:
    pk = str(offer_pk(factory, "contoso-analytics-vm"))
    click(app_server, fake_slack, snooze_choice(f"{pk}:1w"), channel=CHANNEL, ts=alerted["channel_ts"])
    (update,) = updates(fake_slack, 1)
    assert "Snoozed until" in texts(update["blocks"]) and f"by <@{PAT}>" in texts(update["blocks"])
    with factory() as s:
        thread = s.exec(select(AlertThread).where(AlertThread.channel == CHANNEL)).one()
        (action,) = s.exec(select(OfferAction)).all()
    assert thread.snoozed_until is not None and thread.snoozed_by == PAT
    assert action.action == "snooze" and action.until == thread.snoozed_until
    assert thread.next_reminder_at == thread.snoozed_until  # the day's reminder moved to the snooze's end
    assert thread.snoozed_until - action.at == timedelta(weeks=1)


def test_mute_this_offer_in_a_dm_is_mute_me(
    alerted: dict[str, Any], app_server: RunningServer, fake_slack: FakeSlack, factory: db.SessionFactory
) -> None:
    pk = str(offer_pk(factory, "contoso-analytics-vm"))
    click(
        app_server,
        fake_slack,
        button("alert_mute_offer", pk),
        channel=alerted["dm"],
        ts=alerted["dm_ts"],
        user=OPS,
    )
    (answer,) = fake_slack.wait_for("response_url")
    assert "No more direct messages to you about" in answer.body["text"]
    with factory() as s:
        (muted,) = s.exec(select(Mute)).all()
        assert muted.user_id == OPS and muted.target_key == f"offer:{pk}"
        assert [a.action for a in s.exec(select(OfferAction)).all()] == ["mute"]


def test_a_guest_cannot_work_on_a_channel_alert(
    alerted: dict[str, Any], app_server: RunningServer, fake_slack: FakeSlack, factory: db.SessionFactory
) -> None:
    fake_slack.roles["U0GUEST01"] = {"is_restricted"}
    pk = str(offer_pk(factory, "contoso-analytics-vm"))
    click(
        app_server,
        fake_slack,
        snooze_choice(f"{pk}:1h"),
        channel=CHANNEL,
        ts=alerted["channel_ts"],
        user="U0GUEST01",
    )
    (answer,) = fake_slack.wait_for("response_url")
    assert "guests" in answer.body["text"]
    assert fake_slack.calls_to("chat.update") == []
    with factory() as s:
        assert s.exec(select(OfferAction)).all() == []


@pytest.mark.parametrize(
    "action",
    [
        button("alert_on_it", "not-a-number"),
        button("alert_on_it", "9" * 40),
        snooze_choice("1:forever"),
        snooze_choice("nonsense"),
        {"action_id": "alert_snooze", "type": "static_select"},
    ],
)
def test_a_forged_value_is_refused_and_nothing_is_written(
    alerted: dict[str, Any],
    app_server: RunningServer,
    fake_slack: FakeSlack,
    factory: db.SessionFactory,
    action: dict[str, Any],
) -> None:
    click(app_server, fake_slack, action, channel=CHANNEL, ts=alerted["channel_ts"])
    (answer,) = fake_slack.wait_for("response_url")
    assert "out of date" in answer.body["text"]
    with factory() as s:
        assert s.exec(select(OfferAction)).all() == [] and s.exec(select(AlertTaker)).all() == []


def test_a_click_on_an_alert_whose_offer_was_deleted_explains(
    alerted: dict[str, Any], app_server: RunningServer, fake_slack: FakeSlack, factory: db.SessionFactory
) -> None:
    pk = offer_pk(factory, "contoso-analytics-vm")
    with db.transaction(factory) as s:
        s.delete(s.get(Offer, pk))
    click(app_server, fake_slack, button("alert_on_it", str(pk)), channel=CHANNEL, ts=alerted["channel_ts"])
    (answer,) = fake_slack.wait_for("response_url")
    assert "no longer in offerbot" in answer.body["text"]
    assert answer.body["response_type"] == "ephemeral"
    assert fake_slack.calls_to("chat.update") == []


def test_a_follow_up_keeps_who_is_on_it_on_the_alert(
    alerted: dict[str, Any],
    app_server: RunningServer,
    fake_slack: FakeSlack,
    factory: db.SessionFactory,
    watch_client: Any,
    alert_clock: Clock,
) -> None:
    pk = str(offer_pk(factory, "contoso-analytics-vm"))
    click(app_server, fake_slack, button("alert_on_it", pk), channel=CHANNEL, ts=alerted["channel_ts"])
    updates(fake_slack, 1)
    alert_clock.advance(hours=1)
    load(factory, doc(contoso("waitingForPublisherReview")), alert_clock)
    passes(factory, watch_client, alert_clock)
    root_updates = [b for b in updates(fake_slack, 2) if b["channel"] == CHANNEL]
    assert f"<@{PAT}> is on it since" in texts(root_updates[-1]["blocks"])
    with factory() as s:
        thread = s.exec(select(AlertThread).where(AlertThread.channel == CHANNEL)).one()
    assert thread.status == "signoff" and thread.next_reminder_at is None  # taken: still no reminders


def test_a_shorter_snooze_replaces_a_longer_one_and_a_taken_alert_is_never_reminded(
    alerted: dict[str, Any], factory: db.SessionFactory
) -> None:
    from storage.alerts.work import snooze, take

    now = NOW + timedelta(hours=1)
    with db.transaction(factory) as s:
        thread = s.exec(select(AlertThread).where(AlertThread.channel == CHANNEL)).one()
        snooze(s, thread=thread, user_id=PAT, until=now + timedelta(weeks=1), now=now)
        snooze(s, thread=thread, user_id=PAT, until=now + timedelta(hours=1), now=now)
        assert thread.next_reminder_at == now + timedelta(hours=1)
        take(s, thread=thread, user_id=SAM, now=now)
        assert take(s, thread=thread, user_id=SAM, now=now) is False  # the same person again: nothing
        thread.next_reminder_at = now  # as a watcher that raced the click could leave it
        s.add(thread)
    with db.transaction(factory) as s:
        reminders.schedule_reminders(s, now=now + timedelta(days=3), remind_after=timedelta(days=1))
    with factory() as s:
        reminded = {r.destination for r in s.exec(select(Delivery).where(Delivery.kind == "reminder")).all()}
    assert CHANNEL not in reminded and OPS in reminded

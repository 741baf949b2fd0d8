"""``/offer-status test-alert``: a real signed slash command queues the test alert, the real watcher
posts it into the fake Slack through the outbox and the pacer, and its buttons answer real signed
clicks without touching a real alert. Runs on SQLite and, where TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from storage import db
from storage.alerts.subscriptions import Target
from storage.models import AlertTaker, AlertThread, ChannelPace, Delivery, OfferAction
from tests.conftest import RunningServer, post, sign, slash_body
from tests.support.alerted import click, snooze_choice
from tests.support.alerts import CHANNEL, doc, load, offer_pk, passes, sub_channel
from tests.support.clock import Clock
from tests.support.fakeslack import FakeSlack


def _reply(server: RunningServer, text: str, *, channel: str = CHANNEL) -> dict[str, Any]:
    body = slash_body(text, channel=channel)
    status, raw = post(server.url + "/slack/events", body, sign(body))
    assert status == 200
    reply: dict[str, Any] = json.loads(raw)
    return reply


def _command(server: RunningServer, text: str, *, channel: str = CHANNEL) -> str:
    return str(_reply(server, text, channel=channel)["text"])


def _posted(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [c.body for c in fake.calls_to("chat.postMessage") if c.body["channel"] == channel]


def _catch_up(factory: db.SessionFactory, clock: Clock) -> None:
    """The app stamps the row with the real time; the watcher's clock is moved up to it."""
    with factory() as s:
        due = max(r.next_attempt_at for r in s.exec(select(Delivery)).all())
    clock.now = max(clock.now, due)


def test_a_test_alert_goes_through_the_outbox_and_its_buttons_record_nothing(
    app_server: RunningServer,
    fake_slack: FakeSlack,
    factory: db.SessionFactory,
    watch_client: Any,
    alert_clock: Clock,
) -> None:
    load(factory, doc(), alert_clock)
    passes(factory, watch_client, alert_clock)  # the first import alerts nobody: nothing subscribes
    pk = offer_pk(factory, "tailspin-flight-ops")
    sub_channel(factory, Target(kind="offer", offer_pk=pk), alert_clock)
    answer = _command(app_server, "test-alert")
    assert "A test alert about *Tailspin Flight Ops SaaS* (`tailspin-flight-ops`) is on its way" in answer
    assert _posted(fake_slack, CHANNEL) == []  # queued, not posted by the command itself
    _catch_up(factory, alert_clock)
    passes(factory, watch_client, alert_clock)
    (alert,) = _posted(fake_slack, CHANNEL)
    assert alert["text"].startswith("Test alert: Tailspin Flight Ops SaaS: Awaiting publisher sign-off")
    assert ":test_tube: *Test alert*" in alert["blocks"][0]["elements"][0]["text"]
    (actions,) = [b for b in alert["blocks"] if b["type"] == "actions"]
    by_id = {e["action_id"]: e for e in actions["elements"]}
    assert list(by_id) == ["open_offer_status", "open_partner_center", "alert_on_it", "alert_snooze"]
    assert by_id["open_offer_status"]["value"] == str(pk)  # Show status opens the real card
    assert by_id["alert_on_it"]["value"] == f"t{pk}"
    with factory() as s:
        (row,) = s.exec(select(Delivery).where(Delivery.kind == "test")).all()
        assert row.state == "sent" and row.channel == CHANNEL and row.ts
        assert s.exec(select(AlertThread)).all() == []  # no thread: no reminder, no follow-up in it
        assert s.get(ChannelPace, CHANNEL) is not None  # paced like any post to the channel
    ts = str(row.ts)
    click(app_server, fake_slack, by_id["alert_on_it"], channel=CHANNEL, ts=ts)
    (said,) = fake_slack.wait_for("response_url")
    assert "This is a test alert, so nothing was recorded" in said.body["text"]
    click(app_server, fake_slack, snooze_choice(f"t{pk}:1d"), channel=CHANNEL, ts=ts)
    said = fake_slack.wait_for("response_url", 2)[-1]
    assert "*Snooze* holds its reminders" in said.body["text"]
    with factory() as s:
        assert s.exec(select(AlertTaker)).all() == [] and s.exec(select(OfferAction)).all() == []
    assert fake_slack.calls_to("chat.update") == []
    # a second test alert is a new one (the first is not "already sent")
    assert "on its way" in _command(app_server, "test-alert tailspin-flight-ops")
    _catch_up(factory, alert_clock)
    passes(factory, watch_client, alert_clock)
    assert len(_posted(fake_slack, CHANNEL)) == 2
    # history says where test alerts went, as for every delivery
    history = json.dumps(_reply(app_server, "history tailspin-flight-ops")["blocks"])
    assert history.count("Test alert") == 2, history


def test_a_test_alert_names_its_offer_or_asks_which(
    app_server: RunningServer, fake_slack: FakeSlack, factory: db.SessionFactory, alert_clock: Clock
) -> None:
    load(factory, doc(), alert_clock)
    # no subscription in this channel: the workspace's first offer by name
    assert "*Adatum Secure Registry*" in _command(app_server, "test-alert")
    assert "Several offers match" in _command(app_server, "test-alert ght")
    assert "No offer" in _command(app_server, "test-alert nothing-like-this")
    assert "`test-alert` works in a Slack channel" in _command(app_server, "test-alert", channel="")
    with factory() as s:
        assert len(s.exec(select(Delivery).where(Delivery.kind == "test")).all()) == 1

"""Shared by the tests of working on alerts and of an offer's history: an alert posted by the real
watcher into the fake Slack (``alerted``), the app behind a real server (``app_server``), and
``block_actions`` clicks as Slack sends them. Imported by conftest.py, so the fixtures are everyone's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from bot.http.server import wsgi_app
from bot.slack.app import create_app
from storage import db
from storage.alerts.subscriptions import Target
from storage.models import AlertThread
from tests.conftest import SIGNING_SECRET, TEAM, RunningServer, post, sign, trigger_id
from tests.support.alerts import CHANNEL, OPS, contoso, doc, load, offer_pk, passes, sub_channel
from tests.support.clock import Clock
from tests.support.fakeslack import FakeSlack
from tests.support.settings import settings_for

PAT, SAM = "U0USER001", "U0USER002"


@pytest.fixture
def alert_clock() -> Clock:
    from tests.conftest import NOW

    return Clock(NOW)


@pytest.fixture
def watch_client(fake_slack: FakeSlack) -> Any:
    from bot.settings import Settings
    from bot.slack.app import make_client

    fake_slack.users_by_email["marketplace-ops@contoso.example"] = OPS
    return make_client(Settings(slack_bot_token="xoxb-watch", slack_api_url=fake_slack.url))


@pytest.fixture
def alerted(
    factory: db.SessionFactory, watch_client: Any, alert_clock: Clock, fake_slack: FakeSlack
) -> dict[str, Any]:
    """contoso-analytics-vm failed: its alert is in CHANNEL and in the owner's DM."""
    load(factory, doc(), alert_clock)
    passes(factory, watch_client, alert_clock)
    sub_channel(
        factory, Target(kind="offer", offer_pk=offer_pk(factory, "contoso-analytics-vm")), alert_clock
    )
    alert_clock.advance(minutes=5)
    load(factory, doc(contoso("failed")), alert_clock)
    passes(factory, watch_client, alert_clock)
    posted = {c.body["channel"]: c for c in fake_slack.calls_to("chat.postMessage")}
    assert CHANNEL in posted
    with factory() as s:
        dm = s.exec(select(AlertThread).where(AlertThread.destination == OPS)).one()
    return {"channel_ts": _ts(fake_slack, CHANNEL), "dm": dm.channel, "dm_ts": dm.ts}


def _ts(fake: FakeSlack, channel: str) -> str:
    return str(fake.messages[channel][0]["ts"])


def first_post(fake: FakeSlack, channel: str) -> dict[str, Any]:
    return next(c.body for c in fake.calls_to("chat.postMessage") if c.body["channel"] == channel)


@pytest.fixture
def app_server(
    fake_slack: FakeSlack, factory: db.SessionFactory, database_url: str
) -> Iterator[RunningServer]:
    app = create_app(settings_for(fake_slack, database_url), session_factory=factory)
    running = RunningServer(wsgi_app(app, factory, signing_secret=SIGNING_SECRET))
    yield running
    running.close()


def click(
    server: RunningServer,
    fake: FakeSlack,
    action: dict[str, Any],
    *,
    channel: str,
    ts: str,
    user: str = PAT,
    thread_ts: str | None = None,
) -> None:
    """A ``block_actions`` payload as Slack sends it for a click on a message in a channel."""
    message: dict[str, Any] = {"type": "message", "ts": ts, "text": "alert"}
    if thread_ts:
        message["thread_ts"] = thread_ts
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "fake"},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A0APP0001",
        "token": "legacy",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": trigger_id(),
        "channel": {"id": channel, "name": "alerts"},
        "message": message,
        "response_url": fake.response_url,
        "actions": [{"block_id": "b1", "action_ts": "1.2", **action}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert post(server.url + "/slack/events", body, sign(body))[0] == 200


def button(action_id: str, value: str) -> dict[str, Any]:
    return {
        "action_id": action_id,
        "type": "button",
        "value": value,
        "text": {"type": "plain_text", "text": "x"},
    }


def snooze_choice(value: str) -> dict[str, Any]:
    return {
        "action_id": "alert_snooze",
        "type": "static_select",
        "selected_option": {"text": {"type": "plain_text", "text": "1 hour"}, "value": value},
    }


def updates(fake: FakeSlack, count: int) -> list[dict[str, Any]]:
    return [c.body for c in fake.wait_for("chat.update", count)]


def texts(blocks: list[dict[str, Any]]) -> str:
    out = []
    for b in blocks:
        if b.get("text"):
            out.append(b["text"]["text"])
        for e in b.get("elements", []):
            if isinstance(e.get("text"), str):
                out.append(e["text"])
            elif isinstance(e.get("text"), dict):
                out.append(e["text"]["text"])
    return "\n".join(out)

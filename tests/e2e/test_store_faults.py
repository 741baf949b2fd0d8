"""A store that is hung, down or refusing: every answer inside Slack's 3 seconds, nothing confirmed
that was not committed, nothing saved that a user was told failed, and answers again once it is back.

SQLite's "hung" is another writer holding the write lock; PostgreSQL's faults go through a local TCP
proxy that refuses or freezes the connections (tests/support/tcpproxy.py).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.guard import ANSWER_DEADLINE, Deadline
from bot.http.server import wsgi_app
from bot.settings import Settings
from bot.slack.app import create_app
from storage import db
from storage.alerts.subscriptions import Target, subscribe
from storage.models import Subscription
from tests.conftest import (
    NOW,
    SIGNING_SECRET,
    TEAM,
    Processes,
    RunningServer,
    get,
    load_samples,
    post,
    sign,
    slash_body,
)
from tests.support.fakeslack import FakeSlack
from tests.support.tcpproxy import TcpProxy

UNAVAILABLE = "The offer store is unavailable right now: try again in a minute."


@dataclass
class Served:
    server: RunningServer
    deadline: Deadline
    direct: Engine
    """The test's own way to the database, around the proxy."""
    proxy: TcpProxy | None
    path: str | None
    """The SQLite file, when the store is SQLite."""

    def ask(self, text: str, **kwargs: str) -> tuple[dict[str, object], float]:
        body = slash_body(text, **kwargs)
        started = time.monotonic()
        status, raw = post(self.server.url + "/slack/events", body, sign(body))
        assert status == 200, raw
        return json.loads(raw), time.monotonic() - started

    def subscriptions(self) -> list[Subscription]:
        with db.session_factory(self.direct)() as s:
            return list(s.exec(select(Subscription)).all())


@pytest.fixture
def served(fake_slack: FakeSlack, engine: Engine, database_url: str) -> Iterator[Served]:
    load_samples(db.session_factory(engine))
    proxy, url = None, database_url
    if engine.dialect.name == "postgresql":
        parsed = sa.make_url(database_url)
        proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
        url = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    through = db.make_engine(url)
    factory = db.session_factory(through)
    settings = Settings(
        slack_bot_token="xoxb-faults",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.url,
        database_url=url,
    )
    deadline = Deadline()
    app = create_app(settings, session_factory=factory, deadline=deadline)
    running = RunningServer(wsgi_app(app, factory, signing_secret=SIGNING_SECRET))
    path = sa.make_url(database_url).database if engine.dialect.name == "sqlite" else None
    yield Served(running, deadline, engine, proxy, path)
    if proxy is not None:
        proxy.restore()
    assert deadline.settle(timeout=15), "answers still running after the store came back"
    running.close()
    through.dispose()
    if proxy is not None:
        proxy.close()


def _hang(served: Served) -> sqlite3.Connection | None:
    """Make the store hang: SQLite's write lock held by another connection, or PostgreSQL frozen."""
    if served.proxy is not None:
        served.proxy.freeze()
        return None
    assert served.path
    holder = sqlite3.connect(served.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def _unhang(served: Served, holder: sqlite3.Connection | None) -> None:
    if holder is not None:
        holder.rollback()
        holder.close()
    if served.proxy is not None:
        served.proxy.restore()


def test_a_hung_store_gets_try_again_in_time_and_the_late_write_is_not_saved(served: Served) -> None:
    holder = _hang(served)
    try:
        answer, took = served.ask("notify-me woodgrove")
        assert answer["text"] == f":warning: {UNAVAILABLE}"
        assert took < 2.5, took
        assert took >= ANSWER_DEADLINE * 0.9  # it waited for the store, then gave up
    finally:
        _unhang(served, holder)
    # The write that was given up on finishes its wait, then rolls back instead of committing.
    assert served.deadline.settle(timeout=15)
    assert served.subscriptions() == []
    answer, _ = served.ask("notify-me woodgrove")
    assert "I will send you a direct message" in str(answer["text"])
    assert len(served.subscriptions()) == 1


def test_postgres_frozen_commands_and_health_answer_within_their_deadlines(served: Served) -> None:
    if served.proxy is None:
        pytest.skip("SQLite readers never wait for a writer (WAL): the write case is tested above")
    status, _ = get(served.server.url + "/healthz")
    assert status == 200
    served.proxy.freeze()
    started = time.monotonic()
    status, body = get(served.server.url + "/healthz")
    assert (status, json.loads(body)["error"]) == (503, "database unavailable")
    assert time.monotonic() - started < 2.0
    answer, took = served.ask("woodgrove")
    assert answer["text"] == f":warning: {UNAVAILABLE}" and took < 2.5, (answer, took)
    served.proxy.restore()
    assert served.deadline.settle(timeout=15)
    answer, _ = served.ask("woodgrove")
    assert "Woodgrove" in str(answer["text"])
    assert get(served.server.url + "/healthz")[0] == 200


def test_postgres_refusing_subscribe_confirms_nothing(served: Served, fake_slack: FakeSlack) -> None:
    if served.proxy is None:
        pytest.skip("a SQLite file cannot refuse connections")
    served.proxy.refuse()
    answer, took = served.ask("subscribe woodgrove", response_url=fake_slack.response_url)
    assert answer["text"] == f":warning: {UNAVAILABLE}" and took < 2.5, (answer, took)
    (respond,) = fake_slack.wait_for("response_url")
    assert UNAVAILABLE in respond.body["text"]
    # "all" needs no look-up: the ack only says it is on its way; the saving fails and says so.
    answer, took = served.ask("subscribe all", response_url=fake_slack.response_url)
    assert "I will confirm in the channel" in str(answer["text"]) and took < 2.5, (answer, took)
    respond = fake_slack.wait_for("response_url", count=2)[1]
    assert UNAVAILABLE in respond.body["text"]
    assert fake_slack.calls_to("chat.postMessage") == []  # no "subscribed" in the channel
    served.proxy.restore()
    assert served.subscriptions() == []


def test_a_confirmation_slack_refuses_puts_the_subscription_back_as_it_was(
    served: Served, fake_slack: FakeSlack
) -> None:
    with db.transaction(db.session_factory(served.direct)) as s:
        subscribe(
            s,
            team_id=TEAM,
            destination_kind="channel",
            destination="C0CHAN001",
            target=Target(kind="all"),
            events=["failed"],
            created_by="U0OTHER01",
            now=NOW,
        )
    fake_slack.channels_without_bot.add("C0CHAN001")
    served.ask("subscribe all", response_url=fake_slack.response_url)
    (respond,) = fake_slack.wait_for("response_url")
    assert "Invite me with `/invite @offerbot`" in respond.body["text"]
    (sub,) = served.subscriptions()
    assert (sub.on_failed, sub.on_delisted, sub.on_signoff, sub.created_by) == (
        True,
        False,
        False,
        "U0OTHER01",
    )


def test_health_says_what_commands_see_when_the_sqlite_wal_index_is_locked(
    served: Served, processes: Processes
) -> None:
    """Another process holds the WAL index's read locks: every read of a table waits and commands
    answer "unavailable", so ``/healthz`` (a bounded read of a table, not ``SELECT 1``) answers 503
    within 2 s, and 200 again once the store answers."""
    import subprocess
    import sys

    if served.path is None:
        pytest.skip("a SQLite WAL index; PostgreSQL's frozen store is tested above")
    assert get(served.server.url + "/healthz")[0] == 200
    holder = processes.popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({served.path + '-shm'!r}, os.O_RDWR)\n"
            "fcntl.lockf(fd, fcntl.LOCK_EX, 5, 123, os.SEEK_SET)  # WAL_READ_LOCK(0..4)\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    status, body = get(served.server.url + "/healthz")
    assert (status, json.loads(body)["error"]) == (503, "database unavailable")
    assert time.monotonic() - started < 2.0
    holder.kill()
    holder.wait(timeout=10)
    deadline = time.monotonic() + 10
    while get(served.server.url + "/healthz")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert get(served.server.url + "/healthz")[0] == 200

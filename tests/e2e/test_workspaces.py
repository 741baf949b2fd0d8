"""Multi-workspace mode: two workspaces install the app through Bolt's OAuth flow (the fake Slack
answers oauth.v2.access), their data never meets, each alert goes out with its own workspace's
token, and an uninstall stops a workspace's deliveries while keeping its data."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.alerting.outcomes import WatcherConfig
from bot.alerting.watcher import run_pass
from bot.http.server import wsgi_app
from bot.settings import Settings
from bot.slack.app import create_app, installation_store, make_client
from bot.slack.clients import Installed
from bot.usecases.imports import import_document
from storage import db
from storage.alerts.subscriptions import Target, subscribe
from storage.models import Offer
from tests.conftest import NOW, SIGNING_SECRET, RunningServer, post, samples_text, sign, slash_body
from tests.support.fakeslack import FakeSlack

A, B = "T0AAAAAAA", "T0BBBBBBB"
TOKENS = {A: "xoxb-workspace-a", B: "xoxb-workspace-b"}


@pytest.fixture
def settings(fake_slack: FakeSlack, database_url: str) -> Settings:
    return Settings(
        slack_client_id="1234.5678",
        slack_client_secret="client-secret",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.url,
        database_url=database_url,
    )


@pytest.fixture
def server(settings: Settings, engine: Engine) -> Iterator[RunningServer]:
    factory = db.session_factory(engine)
    running = RunningServer(
        wsgi_app(create_app(settings, session_factory=factory), factory, signing_secret=SIGNING_SECRET)
    )
    yield running
    running.close()


def install(
    server: RunningServer, fake_slack: FakeSlack, team: str, *, token: str = "", organisation: str = ""
) -> None:
    """A workspace admin's visit: the install page (a state in a cookie), then Slack's redirect;
    ``organisation``: in an Enterprise Grid organisation (``team`` "": installed organisation-wide)."""
    code = f"code-{team or organisation}"
    fake_slack.installs[code] = (team, token or TOKENS[team])
    if organisation:
        fake_slack.organisations[code] = organisation
    with urllib.request.urlopen(server.url + "/slack/install", timeout=10) as page:
        html = page.read().decode()
        cookie = page.headers.get("Set-Cookie", "").split(";")[0]  # a Secure cookie: sent back by hand
    state = re.search(r"state=([A-Za-z0-9_-]+)", html)
    assert state and cookie, html[:500]
    query = urlencode({"code": code, "state": state.group(1)})
    redirect = urllib.request.Request(
        f"{server.url}/slack/oauth_redirect?{query}", headers={"Cookie": cookie}
    )
    with urllib.request.urlopen(redirect, timeout=10) as done:
        assert done.status == 200


def command(server: RunningServer, text: str, team: str) -> str:
    body = slash_body(text, team=team)
    status, raw = post(server.url + "/slack/events", body, sign(body))
    assert status == 200
    return str(json.loads(raw)["text"])


def clients(settings: Settings, engine: Engine) -> Installed:
    return Installed(installation_store(settings, engine), lambda token: make_client(settings, token=token))


def test_two_workspaces_install_and_never_see_each_other(
    server: RunningServer, fake_slack: FakeSlack, settings: Settings, engine: Engine
) -> None:
    install(server, fake_slack, A)
    install(server, fake_slack, B)
    oauth_calls = fake_slack.calls_to("oauth.v2.access")
    assert [c.body["code"] for c in oauth_calls] == [f"code-{A}", f"code-{B}"]  # at SLACK_API_URL
    store = installation_store(settings, engine)
    assert {t: store.find_bot(enterprise_id=None, team_id=t).bot_token for t in (A, B)} == TOKENS  # type: ignore[union-attr]

    factory = db.session_factory(engine)
    import_document(factory, text=samples_text(), source="a", now=NOW, team_id=A)
    assert command(server, "woodgrove", A).startswith("Woodgrove Insights")
    assert "No offer matches" in command(server, "woodgrove", B)
    assert "Did you mean" not in command(server, "woodgrov", B)  # nothing of A's is ranked for B
    assert "No offers are stored yet" in command(server, "list", B)

    # Each workspace's alert goes out with its own token, to its own channel.
    with db.transaction(factory) as s:
        for team, channel in ((A, "C0AAAA"), (B, "C0BBBB")):
            subscribe(
                s, team_id=team, destination_kind="channel", destination=channel,
                target=Target(kind="all"), events=(), created_by="U0INSTALLER", now=NOW,
            )  # fmt: skip
    run_pass(
        session_factory=factory, clients=clients(settings, engine), clock=lambda: NOW, sleep=lambda _s: None
    )
    posts = fake_slack.calls_to("chat.postMessage")
    assert posts and {c.body["channel"] for c in posts} == {"C0AAAA"}
    assert {c.headers.get("Authorization") for c in posts} == {f"Bearer {TOKENS[A]}"}


def test_an_uninstall_stops_the_workspaces_deliveries_and_keeps_its_data(
    server: RunningServer, fake_slack: FakeSlack, settings: Settings, engine: Engine
) -> None:
    install(server, fake_slack, A)
    factory = db.session_factory(engine)
    event: dict[str, Any] = {
        "type": "event_callback",
        "team_id": A,
        "api_app_id": "A0APP0001",
        "event": {"type": "app_uninstalled", "event_ts": str(time.time())},
        "event_id": "Ev0UNINSTALL",
        "event_time": int(time.time()),
    }
    body = json.dumps(event).encode()
    headers = {**sign(body), "Content-Type": "application/json"}
    req = urllib.request.Request(server.url + "/slack/events", data=body, method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    assert installation_store(settings, engine).find_bot(enterprise_id=None, team_id=A) is None

    import_document(factory, text=samples_text(), source="a", now=NOW, team_id=A)
    with db.transaction(factory) as s:
        subscribe(
            s, team_id=A, destination_kind="channel", destination="C0AAAA",
            target=Target(kind="all"), events=(), created_by="U0INSTALLER", now=NOW,
        )  # fmt: skip
    report = run_pass(
        session_factory=factory, clients=clients(settings, engine), clock=lambda: NOW,
        sleep=lambda _s: None, config=WatcherConfig(),
    )  # fmt: skip
    assert report.sent == 0 and fake_slack.calls_to("chat.postMessage") == []
    with db.session_factory(engine)() as s:
        assert len(s.exec(select(Offer).where(Offer.team_id == A)).all()) == 6  # kept for a reinstall


def test_an_install_the_store_cannot_save_answers_a_clear_page_and_logs_no_token(
    fake_slack: FakeSlack, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A locked SQLite store while the installation is saved: SQLAlchemy's error would carry the
    INSERT's parameters (the bot token) into the log; the engine hides them and the page says what
    to do, instead of a 500 with a traceback."""
    import logging
    import sqlite3
    import urllib.error

    import sqlalchemy as sa

    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)  # the lock is met in 0.2 s, not 10
    path = tmp_path / "locked.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.migrate(engine)
    holders: list[sqlite3.Connection] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _lock(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "INSERT INTO slack_installations" in statement and not holders:
            other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            other.execute("BEGIN IMMEDIATE")  # another writer holds the store's write lock
            holders.append(other)

    settings = Settings(
        slack_client_id="1234.5678",
        slack_client_secret="client-secret",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.url,
        database_url=f"sqlite:///{path}",
    )
    factory = db.session_factory(engine)
    running = RunningServer(
        wsgi_app(create_app(settings, session_factory=factory), factory, signing_secret=SIGNING_SECRET)
    )
    try:
        fake_slack.installs["code-a"] = (A, TOKENS[A])
        with urllib.request.urlopen(running.url + "/slack/install", timeout=10) as page:
            state = re.search(r"state=([A-Za-z0-9_-]+)", page.read().decode())
            cookie = page.headers.get("Set-Cookie", "").split(";")[0]
        assert state
        query = urlencode({"code": "code-a", "state": state.group(1)})
        redirect = urllib.request.Request(
            f"{running.url}/slack/oauth_redirect?{query}", headers={"Cookie": cookie}
        )
        with caplog.at_level(logging.INFO), pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(redirect, timeout=10)
        page_text = failed.value.read().decode()
    finally:
        running.close()
        for other in holders:
            other.close()
    assert holders, "the store was locked while the installation was saved"
    assert failed.value.code == 503 and "try again in a minute" in page_text
    assert "Traceback" not in page_text and TOKENS[A] not in page_text
    assert "database is locked" in caplog.text
    # At INFO, as `serve` logs (slack_sdk's own DEBUG lines are kept off, and redacted in any case).
    assert TOKENS[A] not in caplog.text and "xoxb-" not in caplog.text
    assert installation_store(settings, engine).find_bot(enterprise_id=None, team_id=A) is None


def test_enterprise_grid_installs_are_found_by_organisation_and_workspace(
    server: RunningServer, fake_slack: FakeSlack, settings: Settings, engine: Engine
) -> None:
    """An organisation-wide install (no team) and a workspace's own install inside an organisation:
    the jobs find each workspace's token as slack_sdk's store does, by enterprise and team."""
    from bot.slack.app import installed_clients

    install(server, fake_slack, "", token="xoxb-org-wide", organisation="E0ORG0001")
    install(server, fake_slack, "T0GRIDOWN", token="xoxb-grid-own", organisation="E0ORG0002")
    factory = db.session_factory(engine)
    import_document(factory, text=samples_text(), source="a", now=NOW, team_id="T0GRIDWS1")
    body = slash_body("woodgrove", team="T0GRIDWS1", enterprise="E0ORG0001")
    status, raw = post(server.url + "/slack/events", body, sign(body))
    assert status == 200 and json.loads(raw)["text"].startswith("Woodgrove"), raw
    clients = installed_clients(settings, engine)
    org_client = clients.for_team("T0GRIDWS1")  # known from its request: the org-wide token
    own_client = clients.for_team("T0GRIDOWN")  # its own installation inside the organisation
    assert org_client is not None and org_client.token == "xoxb-org-wide"
    assert own_client is not None and own_client.token == "xoxb-grid-own"
    assert clients.for_team("T0NOBODY0") is None
    # What the jobs did before: a team id alone finds neither.
    assert (
        Installed(installation_store(settings, engine), lambda t: make_client(settings, token=t)).for_team(
            "T0GRIDOWN"
        )
        is None
    )

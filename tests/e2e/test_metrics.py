"""``GET /metrics``: Prometheus text that a scraper parses, with figures that follow what happened."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from bot.alerting.outcomes import WatcherConfig
from bot.alerting.watcher import run_pass
from bot.clock import utc_now
from bot.http.server import wsgi_app
from bot.settings import Settings
from bot.slack.app import create_app, make_client
from storage import db
from storage.alerts.subscriptions import Target, subscribe
from tests.conftest import NOW, SIGNING_SECRET, TEAM, RunningServer, get, load_samples, post, sign, slash_body
from tests.support.fakeslack import FakeSlack


def scrape(server: RunningServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = get(server.url + "/metrics")
    assert status == 200
    samples = [s for family in text_string_to_metric_families(body.decode()) for s in family.samples]
    # This process's figures say so (under serve, the jobs process's say "jobs"); the outbox's are
    # the store's, of no process.
    assert {
        s.labels.get("process")
        for s in samples
        if not s.name.startswith(("offerbot_outbox", "offerbot_store_up"))
    } == {"serve"}
    return {
        (s.name, tuple(sorted((k, v) for k, v in s.labels.items() if k != "process"))): s.value
        for s in samples
    }


@pytest.fixture
def served(fake_slack: FakeSlack, engine: Engine, database_url: str) -> Iterator[RunningServer]:
    factory = db.session_factory(engine)
    load_samples(factory)
    settings = Settings(
        slack_bot_token="xoxb-metrics",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.url,
        database_url=database_url,
    )
    app = create_app(settings, session_factory=factory, clock=lambda: NOW)
    running = RunningServer(wsgi_app(app, factory, signing_secret=SIGNING_SECRET))
    yield running
    running.close()


def test_metrics_follow_commands_deliveries_and_the_outbox(
    served: RunningServer, fake_slack: FakeSlack, engine: Engine
) -> None:
    before = scrape(served)
    answered = ("offerbot_commands_total", (("outcome", "answered"),))
    body = slash_body("woodgrove")
    assert post(served.url + "/slack/events", body, sign(body))[0] == 200
    after = scrape(served)
    assert after[answered] == before.get(answered, 0) + 1
    count = ("offerbot_command_seconds_count", ())
    assert after[count] == before.get(count, 0) + 1
    assert after[("offerbot_store_up", ())] == 1
    # Alerts waiting: the outbox's depth and age come from the store at scrape time.
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        subscribe(
            s,
            team_id=TEAM,
            destination_kind="channel",
            destination="C0METRIC1",
            target=Target(kind="all"),
            events=(),
            created_by="U0USER001",
            now=NOW,
        )
    client = make_client(Settings(slack_bot_token="xoxb-metrics", slack_api_url=fake_slack.url))
    fake_slack.outage("chat.postMessage", status=503)
    queued_at = NOW + timedelta(hours=1)
    report = run_pass(session_factory=factory, client=client, clock=lambda: queued_at, config=WatcherConfig())
    assert report.retried == 1
    waiting = scrape(served)
    assert waiting[("offerbot_outbox_pending", ())] >= 1
    # Queued at the pass's clock (days ago), scraped with the real clock.
    age = waiting[("offerbot_outbox_oldest_pending_seconds", ())]
    assert abs(age - (utc_now() - queued_at).total_seconds()) < 5
    errors = (
        "offerbot_slack_api_errors_total",
        (("code", "service_unavailable"), ("method", "chat.postMessage")),
    )
    assert waiting[errors] >= before.get(errors, 0) + 1
    retried = ("offerbot_deliveries_total", (("outcome", "retry"),))
    assert waiting[retried] == before.get(retried, 0) + 1


def test_metrics_answer_loopback_or_a_scraper_with_the_token(
    fake_slack: Any, engine: Any, database_url: str
) -> None:
    import io

    from bot.http.server import wsgi_app
    from bot.slack.app import create_app
    from storage import db

    factory = db.session_factory(engine)
    settings = Settings(
        slack_bot_token="xoxb-metrics", slack_signing_secret=SIGNING_SECRET, slack_api_url=fake_slack.url
    )
    application = wsgi_app(
        create_app(settings, session_factory=factory),
        factory,
        signing_secret=SIGNING_SECRET,
        metrics_token="scrape-me-please",
    )

    def scrape(peer: str, authorization: str | None = None) -> str:
        status: list[str] = []
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/metrics",
            "REMOTE_ADDR": peer,
            "wsgi.input": io.BytesIO(),
        }
        if authorization:
            environ["HTTP_AUTHORIZATION"] = authorization
        b"".join(application(environ, lambda s, _h: status.append(s)))
        return status[0]

    assert scrape("127.0.0.1") == "200 OK" and scrape("::1") == "200 OK"
    assert scrape("203.0.113.5") == "403 Forbidden"
    assert scrape("203.0.113.5", "Bearer wrong") == "403 Forbidden"
    assert scrape("203.0.113.5", "Bearer scrape-me-please") == "200 OK"


def test_serve_listens_on_loopback_unless_told_otherwise() -> None:
    from bot.cli import build_parser

    assert build_parser().parse_args(["serve"]).host == "127.0.0.1"
    assert build_parser().parse_args(["up"]).host == "127.0.0.1"
    assert build_parser().parse_args(["serve", "--host", "0.0.0.0"]).host == "0.0.0.0"

"""Socket Mode opens its connection through SLACK_API_URL with the app-level token."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from bot.http.server import wsgi_app
from bot.runtime.serve import socket_mode_handler
from bot.settings import Settings
from bot.slack.app import create_app
from storage import db
from tests.conftest import Processes, RunningServer, get, post, sign, slash_body
from tests.support.fakeslack import FakeSlack, wait_until
from tests.support.processes import CLEAN_ENV
from tests.support.settings import settings_for


def test_apps_connections_open_goes_to_slack_api_url(fake_slack: FakeSlack, tmp_path: Path) -> None:
    settings = Settings(
        slack_bot_token="xoxb-bot",
        slack_app_token="xapp-app",
        slack_api_url=fake_slack.url,
        database_url=f"sqlite:///{tmp_path}/x.db",
    )
    app = create_app(settings, session_factory=lambda: None)  # type: ignore[arg-type,return-value]
    handler = socket_mode_handler(app, settings)
    url = handler.client.issue_new_wss_url()
    assert url == "ws://127.0.0.1:9/link"
    (call,) = fake_slack.calls_to("apps.connections.open")
    assert call.headers["Authorization"] == "Bearer xapp-app"


def test_in_socket_mode_the_http_server_serves_health_and_no_slack_events(
    fake_slack: FakeSlack, factory: db.SessionFactory, database_url: str
) -> None:
    """``serve --port P`` in Socket Mode (the container's health check): ``/healthz`` follows the
    socket's connection, ``/slack/events`` says Slack's requests come over the socket."""
    app = create_app(settings_for(fake_slack, database_url), session_factory=factory)
    state = {"connected": False}
    running = RunningServer(
        wsgi_app(app, factory, signing_secret=None, slack_events=False, connected=lambda: state["connected"])
    )
    try:
        status, raw = get(running.url + "/healthz")
        assert status == 503 and json.loads(raw)["error"] == "Socket Mode: not connected to Slack"
        state["connected"] = True
        assert get(running.url + "/healthz") == (200, b'{"ok":true}')
        body = slash_body("list")
        status, raw = post(running.url + "/slack/events", body, sign(body))
        assert status == 404 and "come over the socket" in json.loads(raw)["error"]
    finally:
        running.close()


def test_serve_in_socket_mode_listens_only_when_given_a_port(
    fake_slack: FakeSlack, processes: Processes, tmp_path: Path
) -> None:
    env = {
        **CLEAN_ENV,
        "DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
        "SLACK_API_URL": fake_slack.url,
        "OFFERBOT_JOBS": "thread",
    }
    for port_args, listens in ((["--port", "0"], True), ([], False)):
        log_path = tmp_path / f"serve{len(port_args)}.log"
        with log_path.open("wb") as log:
            proc = processes.popen(
                [sys.executable, "-m", "bot.cli", "serve", *port_args],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: "starting in Socket Mode" in log_path.read_text(), timeout=30)
        text = log_path.read_text()
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", text)
        assert bool(match) is listens, text
        if match:
            status, raw = get(f"http://127.0.0.1:{match.group(1)}/healthz")
            # The fake's socket URL (port 9 on loopback) refuses every connection: never connected.
            assert (status, json.loads(raw)["error"]) == (503, "Socket Mode: not connected to Slack")
        proc.terminate()
        assert proc.wait(timeout=15) == 0

"""Socket Mode opens its connection through SLACK_API_URL with the app-level token."""

from __future__ import annotations

from pathlib import Path

from bot.runtime.serve import socket_mode_handler
from bot.settings import Settings
from bot.slack.app import create_app
from tests.support.fakeslack import FakeSlack


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

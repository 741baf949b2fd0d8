"""``offerbot serve``: learn the workspace, build the app, and run Socket Mode or HTTP mode."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.app import create_app, make_client
from bot.server import make_server, wsgi_app
from bot.settings import Settings
from storage import db
from storage.errors import ConfigError
from storage.workspaces import bind_default_workspace

log = logging.getLogger(__name__)


def start_app(settings: Settings) -> tuple[App, db.SessionFactory]:
    """Check the configuration and the store, bind the token's workspace, and build the app."""
    settings.require_slack()
    factory = db.session_factory(db.open_database(settings.database_url))
    client = make_client(settings)
    try:
        auth = client.auth_test()
    except SlackApiError as exc:
        raise ConfigError(
            f"Slack rejected SLACK_BOT_TOKEN ({exc.response.get('error')}): "
            "copy the app's Bot User OAuth Token again"
        ) from None
    team = str(auth["team_id"])
    with db.transaction(factory) as session:
        moved = bind_default_workspace(session, team_id=team, now=datetime.now(UTC))
    log.info(
        "serving workspace %s (%s) as %s; %d local offer(s) moved to it",
        auth.get("team"),
        team,
        auth.get("user"),
        moved,
    )
    return create_app(settings, session_factory=factory, client=client), factory


def socket_mode_handler(app: App, settings: Settings) -> SocketModeHandler:
    """Socket Mode over the app's own client, so ``apps.connections.open`` uses ``SLACK_API_URL`` too."""
    if settings.slack_app_token is None:
        raise ConfigError("SLACK_APP_TOKEN is not set: Socket Mode needs the app-level token (xapp-...)")
    return SocketModeHandler(app, settings.slack_app_token.get_secret_value(), web_client=app.client)


def serve(settings: Settings, *, host: str, port: int) -> None:
    app, factory = start_app(settings)
    if settings.socket_mode:
        log.info("starting in Socket Mode")
        socket_mode_handler(app, settings).start()  # type: ignore[no-untyped-call]
        return
    server = make_server(wsgi_app(app, factory), host=host, port=port)
    log.info(
        "HTTP mode: listening on http://%s:%s (POST /slack/events, GET /healthz)", host, server.effective_port
    )
    server.run()

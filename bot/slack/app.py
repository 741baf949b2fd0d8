"""The Bolt app factory: it builds the app and registers the listeners of ``bot/slack/listeners``.

A listener acks first with the whole answer (``process_before_response=True``: the card is
computed during the request, so answers never depend on ``response_url`` and come back in
about a millisecond plus the query), parses, calls a plain function in ``bot.slack.grammar``,
renders, and makes at most one Slack call.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.oauth.oauth_flow import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy.engine import Engine

from bot.clock import Clock, utc_now
from bot.guard import Deadline
from bot.i18n import N_, translator
from bot.settings import Settings
from bot.slack.channels import ChannelAccess
from bot.slack.clients import Clients, Installed, OneWorkspace
from bot.slack.listeners import Deps
from bot.slack.listeners import actions as action_listeners
from bot.slack.listeners import alert_work as alert_work_listeners
from bot.slack.listeners import cancel as cancel_listeners
from bot.slack.listeners import commands as command_listeners
from bot.slack.listeners import connections as connection_listeners
from bot.slack.listeners import events as event_listeners
from bot.slack.listeners import golive as golive_listeners
from bot.slack.listeners import home as home_listeners
from bot.slack.people import People
from bot.slack.roles import Roles
from bot.usecases.access import AccessPolicy
from bot.usecases.stored_publishers import go_live_publishers
from storage import db
from storage.db import SessionFactory
from storage.workspaces import enterprise_of, remember_enterprise

log = logging.getLogger(__name__)


SORRY = N_(
    "Sorry, something went wrong on our side while answering. It has been logged; "
    "try again in a minute, and tell your Slack admin if it keeps happening."
)


def make_client(settings: Settings, *, token: str | None = None) -> WebClient:
    """The Web API client: ``SLACK_API_URL`` as base URL, with slack_sdk's retry handlers; the bot
    token is ``SLACK_BOT_TOKEN``'s unless a workspace's own is given."""
    if token is None and settings.slack_bot_token is not None:
        token = settings.slack_bot_token.get_secret_value()
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def register_error_handler(app: App, people: People) -> None:
    """The one Bolt error handler: the traceback to the log, an apology (in the user's language, from
    the cache only) to the user, never a stack trace to Slack."""

    @app.error
    def on_error(error: Exception, body: dict[str, Any], response: BoltResponse | None) -> None:
        log.error("unhandled error in a listener", exc_info=error)
        if response is not None and not body.get("command"):
            response.status, response.body = 200, ""  # acknowledged: Slack shows no error page
        elif response is not None:
            team, user = str(body.get("team_id") or ""), str(body.get("user_id") or "")
            sorry = translator(people.cached(team_id=team, user_id=user))._(SORRY)
            response.status = 200
            response.headers = {"content-type": ["application/json;charset=utf-8"]}
            response.body = json.dumps({"response_type": "ephemeral", "text": f":warning: {sorry}"})


BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "users:read",
    "users:read.email",
    "usergroups:read",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
)
"""What an install asks for: the manifest's bot scopes (tests/unit/test_manifest.py keeps them equal)."""
INSTALL_PATH, REDIRECT_PATH = "/slack/install", "/slack/oauth_redirect"


def installation_store(settings: Settings, engine: Engine) -> SQLAlchemyInstallationStore:
    """slack_sdk's installation store, in offerbot's own database (tables made by its migrations)."""
    return SQLAlchemyInstallationStore(client_id=settings.slack_client_id or "", engine=engine)


def installed_clients(settings: Settings, engine: Engine) -> Installed:
    """Each installed workspace's client (multi-workspace mode), Enterprise Grid organisations
    included: a workspace's organisation is read from the store once, then remembered."""
    store = installation_store(settings, engine)
    factory = db.session_factory(engine)
    known: dict[str, str] = {}

    def organisation(team: str) -> str | None:
        if team not in known:
            with factory() as session:
                found = enterprise_of(session, team_id=team)
            if found is None:
                return None
            known[team] = found
        return known[team]

    return Installed(store, lambda token: make_client(settings, token=token), enterprise_of=organisation)


def _remember_organisations(app: App, factory: SessionFactory) -> None:
    """A request from an Enterprise Grid workspace says its organisation: kept (once per workspace and
    process) so the jobs find an organisation-wide installation's token for that workspace."""
    noted: set[tuple[str, str]] = set()

    @app.middleware
    def remember(context: BoltContext, next: Callable[[], None]) -> None:
        team, organisation = context.team_id, context.enterprise_id
        if team and organisation and (team, organisation) not in noted:
            try:
                with db.transaction(factory) as session:
                    remember_enterprise(session, team_id=team, enterprise_id=organisation, now=utc_now())
                noted.add((team, organisation))
            except Exception as exc:  # the request goes on; the next one tries again
                log.warning("could not note workspace %s's organisation: %s", team, type(exc).__name__)
        next()


def _oauth_app(settings: Settings, engine: Engine, client: WebClient, signing: str) -> tuple[App, Clients]:
    """Multi-workspace mode: Bolt's OAuth flow (``/slack/install``, ``/slack/oauth_redirect``), with
    ``oauth.v2.access`` sent to ``SLACK_API_URL`` like every other call."""
    store = installation_store(settings, engine)
    secret = settings.slack_client_secret.get_secret_value() if settings.slack_client_secret else ""
    oauth = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=secret,
        scopes=list(BOT_SCOPES),
        installation_store=store,
        state_store=SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
    )
    app = App(
        client=client,
        signing_secret=signing,
        oauth_flow=OAuthFlow(client=client, settings=oauth),
        process_before_response=True,
        logger=logging.getLogger("bot.bolt"),
    )
    app.enable_token_revocation_listeners()  # app_uninstalled, tokens_revoked: the store forgets the tokens
    _remember_organisations(app, db.session_factory(engine))
    return app, installed_clients(settings, engine)


def _app(settings: Settings, client: WebClient, *, token_verification: bool) -> App:
    signing = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    return App(
        client=client,
        signing_secret=signing or "",
        request_verification_enabled=signing is not None,
        process_before_response=True,
        token_verification_enabled=token_verification,
        logger=logging.getLogger("bot.bolt"),
    )


LISTENERS = (
    command_listeners,
    action_listeners,
    alert_work_listeners,
    golive_listeners,
    cancel_listeners,
    home_listeners,
    connection_listeners,
    event_listeners,
)
"""One module per Slack surface, each with ``register(app, deps)``."""


def _people(settings: Settings, session_factory: SessionFactory, clients: Clients, clock: Clock) -> People:
    language = settings.offerbot_language
    return People(
        session_factory=session_factory, clients=clients, clock=clock, default=language, background=True
    )


def create_app(
    settings: Settings,
    *,
    session_factory: SessionFactory,
    client: WebClient | None = None,
    token_verification: bool = True,
    clock: Clock = utc_now,
    deadline: Deadline | None = None,
) -> App:
    """Build the Bolt app: single-workspace (``SLACK_BOT_TOKEN``; for HTTP mode also
    ``SLACK_SIGNING_SECRET``) or multi-workspace (``SLACK_CLIENT_ID``, ``SLACK_CLIENT_SECRET``)."""
    settings.require_slack(http=not settings.socket_mode)
    client = client or make_client(settings)
    if settings.multi_workspace:
        signing = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
        app, clients = _oauth_app(settings, db.engine_of(session_factory), client, signing)
    else:
        app, clients = _app(settings, client, token_verification=token_verification), OneWorkspace(client)
    people = _people(settings, session_factory, clients, clock)
    deps = Deps(
        session_factory=session_factory,
        clock=clock,
        people=people,
        roles=Roles(people=people, managers=settings.managers),
        policy=AccessPolicy(
            allow_guests=settings.offerbot_allow_guests, managers_only=bool(settings.managers)
        ),
        deadline=deadline or Deadline(),
        channels=ChannelAccess(clients),
        publishers=go_live_publishers(settings, session_factory),
        settings=settings,
        sealer=settings.sealer(),
        certificate_dir=settings.offerbot_certificate_dir,
    )
    for listener in LISTENERS:
        listener.register(app, deps)
    register_error_handler(app, people)
    return app

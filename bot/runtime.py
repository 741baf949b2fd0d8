"""``offerbot serve``: learn the workspace, build the app, and run Socket Mode or HTTP mode."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import create_app, installation_store, make_client
from bot.clients import Clients, Installed, OneWorkspace
from bot.clock import utc_now
from bot.lifecycle import Lifecycle, ShuttingDown
from bot.pushapi import PushApi
from bot.scheduling import (
    JOB_ID,
    SYNC_JOB_ID,
    ScheduledJob,
    WatchJob,
    background_scheduler,
    blocking_scheduler,
    registry,
    wake,
)
from bot.server import make_server, wsgi_app
from bot.settings import Settings
from bot.slack_errors import classify
from bot.sources import build_sources
from bot.sources.base import OfferSource
from bot.sync import SyncConfig, SyncReport, sync_pass
from bot.watcher import PassReport
from storage import db
from storage.errors import ConfigError
from storage.workspaces import bind_default_workspace

log = logging.getLogger(__name__)


def connect(settings: Settings, *, http: bool) -> tuple[WebClient, db.SessionFactory]:
    """Check the configuration (``http``: the signing secret too) and the store, and bind the token's
    workspace (in multi-workspace mode, each workspace binds itself when it installs the app)."""
    settings.require_slack(http=http)
    factory = db.session_factory(db.open_database(settings.database_url))
    client = make_client(settings)
    if settings.multi_workspace:
        log.info("multi-workspace mode: workspaces install the app at /slack/install")
        return client, factory
    try:
        auth = client.auth_test()
    except SlackApiError as exc:
        raise ConfigError(
            f"Slack rejected SLACK_BOT_TOKEN ({classify(exc).code}): "
            "copy the app's Bot User OAuth Token again"
        ) from None
    team = str(auth["team_id"])
    with db.transaction(factory) as session:
        moved = bind_default_workspace(session, team_id=team, now=utc_now())
    log.info(
        "serving workspace %s (%s) as %s; %d local offer(s) moved to it",
        auth.get("team"),
        team,
        auth.get("user"),
        moved,
    )
    return client, factory


def _clients(settings: Settings, factory: db.SessionFactory, client: WebClient) -> Clients:
    """The watcher's clients: the one token, or each installed workspace's."""
    if not settings.multi_workspace:
        return OneWorkspace(client)
    store = installation_store(settings, db.engine_of(factory))
    return Installed(store, lambda token: make_client(settings, token=token))


def socket_mode_handler(app: App, settings: Settings) -> SocketModeHandler:
    """Socket Mode over the app's own client, so ``apps.connections.open`` uses ``SLACK_API_URL`` too."""
    if settings.slack_app_token is None:
        raise ConfigError("SLACK_APP_TOKEN is not set: Socket Mode needs the app-level token (xapp-...)")
    return SocketModeHandler(app, settings.slack_app_token.get_secret_value(), web_client=app.client)


def serve(settings: Settings, *, host: str, port: int) -> None:
    """The bot and, in the same process, the watcher (and the sync, when a source is set) on a
    BackgroundScheduler; in HTTP mode, the push API too."""
    sources = build_sources(settings) if settings.sync_configured else []
    if sources:
        settings.require_sync_team()
    client, factory = connect(settings, http=not settings.socket_mode)
    app = create_app(settings, session_factory=factory, client=client)
    clients = _clients(settings, factory, client)
    jobs = registry(settings, factory, client=clients, sources=sources)
    scheduler = background_scheduler(jobs)
    lifecycle = _lifecycle(jobs)
    lifecycle.on_stop.append(lambda: scheduler.shutdown(wait=False))
    scheduler.start()
    log.info("watcher: a pass every %s s", settings.offerbot_watch_interval)
    _log_sync(settings, sources)
    push = PushApi(session_factory=factory, clock=utc_now, on_import=lambda: wake(scheduler, JOB_ID))
    try:
        _serve_app(app, factory, settings, host=host, port=port, push=push, lifecycle=lifecycle)
    except ShuttingDown:
        pass
    finally:
        lifecycle.finish()


def _lifecycle(jobs: list[ScheduledJob]) -> Lifecycle:
    """Signals stop the watcher's pass in progress (it releases what it claimed); shutdown waits for it."""
    watchers = [job.func for job in jobs if isinstance(job.func, WatchJob)]
    lifecycle = Lifecycle(stops=[w.stop for w in watchers], idles=[w.idle for w in watchers])
    lifecycle.install()
    return lifecycle


def watch(settings: Settings, *, once: bool) -> PassReport | None:
    """The watcher alone: one pass (``--once``), or a pass every ``OFFERBOT_WATCH_INTERVAL`` seconds."""
    client, factory = connect(settings, http=False)
    (job,) = registry(settings, factory, client=_clients(settings, factory, client))
    assert job.id == JOB_ID
    if once:
        report = job.func()
        return report if isinstance(report, PassReport) else None
    log.info("watcher: a pass every %s s", settings.offerbot_watch_interval)
    scheduler = blocking_scheduler([job])
    lifecycle = _lifecycle([job])
    lifecycle.on_stop.append(lambda: scheduler.shutdown(wait=False))
    try:
        scheduler.start()
    except ShuttingDown:
        pass
    finally:
        lifecycle.finish()
    return None


def _log_sync(settings: Settings, sources: list[OfferSource]) -> None:
    if sources:
        log.info(
            "sync: %s; a full pass every %s, offers in progress every 5 min",
            ", ".join(s.label for s in sources),
            settings.offerbot_sync_interval,
        )


def sync(settings: Settings, *, once: bool) -> SyncReport | None:
    """The sync alone, no Slack needed: one full pass that asks every product (``--once``), or the
    scheduled job forever."""
    settings.require_azure()
    settings.require_sync_team()
    sources = build_sources(settings)
    factory = db.session_factory(db.open_database(settings.database_url))
    if once:
        return sync_pass(
            session_factory=factory,
            sources=sources,
            clock=utc_now,
            force=True,
            config=SyncConfig(concurrency=settings.offerbot_sync_concurrency, team_id=settings.sync_team),
        )
    (job,) = registry(settings, factory, client=None, sources=sources)
    assert job.id == SYNC_JOB_ID
    _log_sync(settings, sources)
    blocking_scheduler([job]).start()
    return None


def _serve_app(
    app: App,
    factory: db.SessionFactory,
    settings: Settings,
    *,
    host: str,
    port: int,
    push: PushApi,
    lifecycle: Lifecycle,
) -> None:
    if settings.socket_mode:
        log.info("starting in Socket Mode")
        handler = socket_mode_handler(app, settings)
        lifecycle.on_stop.insert(0, handler.close)
        handler.start()  # type: ignore[no-untyped-call]
        return
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    server = make_server(wsgi_app(app, factory, signing_secret=secret, push=push), host=host, port=port)
    lifecycle.on_stop.insert(0, server.close)  # no new requests; a request in flight is left to end
    log.info(
        "HTTP mode: listening on http://%s:%s (POST /slack/events, POST /api/offers/status, GET /healthz)",
        host,
        server.effective_port,
    )
    server.run()

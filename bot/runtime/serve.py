"""``offerbot serve``: learn the workspace, build the app, and run Socket Mode or HTTP mode."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from apscheduler.schedulers.base import BaseScheduler
from pydantic import SecretStr
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.alerting.outcomes import PassReport
from bot.clock import utc_now
from bot.http.push import PushApi
from bot.http.server import make_server, wsgi_app
from bot.jobs.scheduling import (
    JOB_ID,
    SYNC_JOB_ID,
    WatchJob,
    background_scheduler,
    blocking_scheduler,
    registry,
    wake,
)
from bot.jobs.sync import SyncJob
from bot.metrics import serve_for_parent
from bot.runtime.jobs_process import PORT_FILE_ENV, JobsProcess, follow_parent
from bot.runtime.lifecycle import Lifecycle, ShuttingDown
from bot.runtime.startup import Gate
from bot.settings import Settings
from bot.slack.app import create_app, installed_clients, make_client
from bot.slack.clients import BotClient, Clients, OneWorkspace
from bot.slack.identity import whoami
from bot.sources import build_sources
from bot.sources.base import OfferSource
from bot.usecases.connections import ConnectionFeeds
from bot.usecases.sync import SyncConfig, SyncReport, sync_pass
from storage import db
from storage.errors import ConfigError
from storage.workspaces import bind_default_workspace

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

log = logging.getLogger(__name__)


def open_store(settings: Settings, *, http: bool) -> db.SessionFactory:
    """Check the configuration (``http``: the signing secret too) and open the store."""
    settings.require_slack(http=http)
    return db.session_factory(db.open_database(settings.database_url))


def bind_workspace(
    settings: Settings,
    factory: db.SessionFactory,
    client: BotClient,
    *,
    stop: threading.Event,
    give_up_after: float | None = None,
    on_wait: Callable[[str], None] = lambda _reason: None,
) -> None:
    """Learn the token's workspace from ``auth.test`` (asked again while Slack is unreachable) and
    bind the local rows to it; in multi-workspace mode each workspace binds itself when it installs."""
    if settings.multi_workspace:
        log.info("multi-workspace mode: workspaces install the app at /slack/install")
        return
    auth = whoami(client, stop=stop, give_up_after=give_up_after, on_wait=on_wait)
    if auth is None:
        raise ShuttingDown(0)
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


def _clients(settings: Settings, factory: db.SessionFactory, client: BotClient) -> Clients:
    """The watcher's clients: the one token, or each installed workspace's."""
    if not settings.multi_workspace:
        return OneWorkspace(client)
    return installed_clients(settings, db.engine_of(factory))


def socket_mode_handler(app: App, settings: Settings) -> SocketModeHandler:
    """Socket Mode over the app's own client, so ``apps.connections.open`` uses ``SLACK_API_URL`` too."""
    if settings.slack_app_token is None:
        raise ConfigError("SLACK_APP_TOKEN is not set: Socket Mode needs the app-level token (xapp-...)")
    return SocketModeHandler(app, settings.slack_app_token.get_secret_value(), web_client=app.client)


def serve(settings: Settings, *, host: str, port: int | None) -> None:
    """The bot and, in the same process, the watcher (and the sync, when a source is set) on a
    BackgroundScheduler, and the push API. The HTTP server listens from the start: while Slack is
    unreachable, ``/healthz`` says so (503, degraded) and the bot waits for it. In HTTP mode it
    listens on ``port`` (default :data:`HTTP_PORT`); in Socket Mode only when a port is given, for
    ``/healthz`` (a container's health check), ``/metrics`` and the push API."""
    sources = build_sources(settings) if settings.sync_configured else []
    if sources:
        settings.require_sync_team()
    factory = open_store(settings, http=not settings.socket_mode)
    lifecycle = Lifecycle()
    lifecycle.install()
    gate = Gate()
    listens = not settings.socket_mode or port is not None
    if listens:
        _listen(gate, host=host, port=HTTP_PORT if port is None else port, lifecycle=lifecycle)
    try:
        client = make_client(settings)
        bind_workspace(settings, factory, client, stop=lifecycle.stopping, on_wait=gate.degrade)
        app = create_app(settings, session_factory=factory, client=client)
        push, jobs_metrics = _jobs_for_serve(settings, factory, client, sources, lifecycle)
        handler = socket_mode_handler(app, settings) if settings.socket_mode else None
        if listens:
            connected = handler.client.is_connected if handler is not None else None
            gate.open(
                _http_app(settings, app, factory, push=push, jobs_metrics=jobs_metrics, connected=connected)
            )
        if handler is not None:
            _socket_mode(handler, lifecycle)
        else:
            log.info("ready: answering Slack")
            lifecycle.stopping.wait()
    except ShuttingDown:
        pass
    finally:
        lifecycle.finish()


def _http_app(
    settings: Settings,
    app: App,
    factory: db.SessionFactory,
    *,
    push: PushApi | None,
    jobs_metrics: Callable[[], bytes | None] | None,
    connected: Callable[[], bool] | None = None,
) -> WSGIApplication:
    """The WSGI application, with the settings' secrets and options (in Socket Mode: no
    ``/slack/events``, and ``/healthz`` follows the socket's connection)."""

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    return wsgi_app(
        app,
        factory,
        signing_secret=secret(settings.slack_signing_secret),
        push=push,
        jobs_metrics=jobs_metrics,
        forwarded_for=settings.offerbot_forwarded_for,
        metrics_token=secret(settings.offerbot_metrics_token),
        slack_events=not settings.socket_mode,
        connected=connected,
    )


def _jobs_for_serve(
    settings: Settings,
    factory: db.SessionFactory,
    client: BotClient,
    sources: list[OfferSource],
    lifecycle: Lifecycle,
) -> tuple[PushApi, Callable[[], bytes | None] | None]:
    """The watcher and the sync: in a child process (``OFFERBOT_JOBS=process``), which the push API
    reaches through the watcher's probe, or on threads here, which it wakes directly."""
    if settings.offerbot_jobs == "process":
        child = JobsProcess()
        lifecycle.on_stop.append(child.stop)
        lifecycle.idles.append(child.exited)
        child.start()
        return PushApi(session_factory=factory, clock=utc_now), child.metrics
    scheduler = _start_jobs(settings, factory, client, sources, lifecycle)
    return PushApi(session_factory=factory, clock=utc_now, on_import=lambda: wake(scheduler, JOB_ID)), None


def jobs(settings: Settings) -> None:
    """``offerbot jobs``: the watcher and, when a source is set, the sync, in this process (what
    ``serve`` runs as its child); serves its metrics to the parent when asked to."""
    sources = build_sources(settings) if settings.sync_configured else []
    if sources:
        settings.require_sync_team()
    factory = open_store(settings, http=False)
    client = make_client(settings)
    port_file = os.environ.get(PORT_FILE_ENV)
    if port_file:  # the child of serve
        serve_for_parent(port_file)
        follow_parent()
    lifecycle = Lifecycle()
    lifecycle.install()
    try:
        bind_workspace(settings, factory, client, stop=lifecycle.stopping)
        _start_jobs(settings, factory, client, sources, lifecycle)
        lifecycle.stopping.wait()  # ended by a signal (see bot.runtime.lifecycle)
    except ShuttingDown:
        pass
    finally:
        lifecycle.finish()


HTTP_PORT = 3000
"""HTTP mode's port when ``--port`` is not given."""


def _listen(gate: Gate, *, host: str, port: int, lifecycle: Lifecycle) -> None:
    """Serve HTTP on a thread (the main thread keeps the signals): the gate until the bot is ready."""
    server = make_server(gate, host=host, port=port)
    lifecycle.on_stop.insert(0, server.close)  # no new requests; one in flight is left to end
    threading.Thread(target=server.run, name="http", daemon=True).start()
    log.info(
        "listening on http://%s:%s (POST /slack/events in HTTP mode, POST /api/offers/status, GET /healthz)",
        host,
        server.effective_port,
    )


def _start_jobs(
    settings: Settings,
    factory: db.SessionFactory,
    client: BotClient,
    sources: list[OfferSource],
    lifecycle: Lifecycle,
) -> BaseScheduler:
    """Schedule the watcher (and the sync); a signal stops them, waiting for the watcher's send."""
    jobs = registry(settings, factory, client=_clients(settings, factory, client), sources=sources)
    for job in jobs:
        if isinstance(job.func, WatchJob):
            lifecycle.add_job(stop=job.func.stop, idle=job.func.idle)
    scheduler: BaseScheduler = background_scheduler(jobs)  # the main thread waits on the lifecycle
    lifecycle.on_stop.append(lambda: scheduler.shutdown(wait=False))
    log.info("watcher: a pass every %s s", settings.offerbot_watch_interval)
    _log_sync(settings, sources)
    scheduler.start()
    return scheduler


def watch(settings: Settings, *, once: bool) -> PassReport | None:
    """The watcher alone: one pass (``--once``), or a pass every ``OFFERBOT_WATCH_INTERVAL`` seconds.
    Slack unreachable at start: asked again with backoff (``--once`` gives up after a minute)."""
    factory = open_store(settings, http=False)
    client = make_client(settings)
    lifecycle = Lifecycle()
    lifecycle.install()
    try:
        bind_workspace(settings, factory, client, stop=lifecycle.stopping, give_up_after=60 if once else None)
        if once:
            jobs = registry(settings, factory, client=_clients(settings, factory, client))
            report = next(j for j in jobs if j.id == JOB_ID).func()
            return report if isinstance(report, PassReport) else None
        _start_jobs(settings, factory, client, [], lifecycle)
        lifecycle.stopping.wait()  # ended by a signal (see bot.runtime.lifecycle)
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
    scheduled job forever. With ``OFFERBOT_SECRET_KEY`` set it reads the stored connections too, and
    needs no connection in the environment."""
    sealer = settings.sealer()
    sources: list[OfferSource] = []
    if settings.sync_configured or sealer is None:
        settings.require_azure()
        settings.require_sync_team()
        sources = build_sources(settings)
    factory = db.session_factory(db.open_database(settings.database_url))
    if once and sealer is not None:
        feeds = ConnectionFeeds(settings, sealer)
        return SyncJob(settings, factory, sources, connections=feeds)() or SyncReport()
    if once:
        return sync_pass(
            session_factory=factory,
            sources=sources,
            clock=utc_now,
            force=True,
            config=SyncConfig(concurrency=settings.offerbot_sync_concurrency, team_id=settings.sync_team),
        )
    (job,) = [j for j in registry(settings, factory, client=None, sources=sources) if j.id == SYNC_JOB_ID]
    _log_sync(settings, sources)
    blocking_scheduler([job]).start()
    return None


def _socket_mode(handler: SocketModeHandler, lifecycle: Lifecycle) -> None:
    log.info("starting in Socket Mode")
    lifecycle.on_stop.insert(0, handler.close)
    handler.connect()  # type: ignore[no-untyped-call]
    log.info("ready: answering Slack (Socket Mode)")
    lifecycle.stopping.wait()  # ended by a signal (see bot.runtime.lifecycle)

"""HTTP mode: Slack's requests on ``POST /slack/events``, ``GET /healthz``, served by waitress."""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.channel import HTTPChannel
from waitress.server import create_server

from bot.clock import Clock, utc_now
from bot.guard import Deadline, Expired, StoreUnavailable
from bot.http.edge import RateLimit, check_slack_request, client_address, replay, unix_clock
from bot.http.push import PUSH_PATH, PushApi
from bot.http.replays import Replays
from bot.metrics import CONTENT_TYPE, OutboxCollector, exposition
from storage.db import SessionFactory
from storage.workspaces import check_readable

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
OAUTH_PATHS = ("/slack/install", "/slack/oauth_redirect")


def _respond(start_response: StartResponse, status: str, body: bytes) -> Iterable[bytes]:
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


UNHEALTHY = ("503 Service Unavailable", b'{"ok":false,"error":"database unavailable"}')
HEALTH_DEADLINE = 1.5
"""Seconds ``/healthz`` waits for the database before it answers 503."""


def _health(session_factory: SessionFactory, deadline: Deadline) -> tuple[str, bytes]:
    """A bounded read of a table every command reads, through the session factory the commands use:
    ``SELECT 1`` would answer while the store's tables cannot be read (a SQLite WAL index locked)."""

    def ping(_: Expired) -> None:
        with session_factory() as session:
            check_readable(session)

    try:
        deadline.run(ping)
    except StoreUnavailable:
        return UNHEALTHY
    except Exception:
        log.exception("health check: the database does not answer")
        return UNHEALTHY
    return "200 OK", b'{"ok":true}'


OAUTH_UNAVAILABLE = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>offerbot: installation</title></head>"
    b"<body><h1>The installation could not be completed</h1>"
    b"<p>offerbot could not save it just now. Nothing was installed: go back to Slack and try again "
    b"in a minute. If it keeps happening, tell the person who runs offerbot (the error is in its log).</p>"
    b"</body></html>"
)


def _oauth(
    bolt: SlackRequestHandler, environ: WSGIEnvironment, start_response: StartResponse
) -> Iterable[bytes]:
    """A browser's visit to the install page or Slack's redirect back: Bolt's OAuth flow checks its
    state. A store that fails meanwhile (locked, down) answers a page that says what to do, never a
    500 with a traceback; the log names the error (engines hide statement parameters, and the log
    redacts tokens, so what was being saved never reaches it)."""
    try:
        return bolt(environ, start_response)
    except Exception as exc:
        log.error(
            "the OAuth flow failed at %s: %s: %s",
            environ.get("PATH_INFO"),
            exc.__class__.__name__,
            str(exc).splitlines()[0][:300] if str(exc) else "",
        )
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(OAUTH_UNAVAILABLE))),
            ("Retry-After", "60"),
        ]
        start_response("503 Service Unavailable", headers)
        return [OAUTH_UNAVAILABLE]


METRICS_REFUSED = (
    "403 Forbidden",
    b'{"ok":false,"error":"/metrics answers this machine, or a scraper with Authorization: Bearer '
    b'<OFFERBOT_METRICS_TOKEN>"}',
)


def metrics_allowed(environ: WSGIEnvironment, *, token: str | None) -> bool:
    """``/metrics`` is plain HTTP: it answers loopback, or a scraper that shows the metrics token."""
    peer = str(environ.get("REMOTE_ADDR") or "")
    try:
        if ipaddress.ip_address(peer).is_loopback:
            return True
    except ValueError:
        pass
    scheme, _, given = str(environ.get("HTTP_AUTHORIZATION") or "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token or "")


TOO_MANY = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>offerbot: installation</title></head>"
    b"<body><h1>Too many visits</h1><p>This address opened the install page too often: wait a minute "
    b"and try again.</p></body></html>"
)


def _too_many(start_response: StartResponse, wait: float) -> Iterable[bytes]:
    headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(TOO_MANY))),
        ("Retry-After", str(int(wait) + 1)),
    ]
    start_response("429 Too Many Requests", headers)
    return [TOO_MANY]


def wsgi_app(
    app: App,
    session_factory: SessionFactory,
    *,
    signing_secret: str | None,
    clock: Clock = utc_now,
    push: PushApi | None = None,
    jobs_metrics: Callable[[], bytes | None] | None = None,
    install_limit: RateLimit | None = None,
    forwarded_for: bool = False,
    metrics_token: str | None = None,
    slack_events: bool = True,
    connected: Callable[[], bool] | None = None,
) -> WSGIApplication:
    """``POST /slack/events`` (checked by :mod:`bot.http.edge`, then Bolt), ``GET /healthz``, ``GET
    /metrics``, the OAuth pages in multi-workspace mode and, when given, the push API
    (``POST /api/offers/status``). ``slack_events=False`` (Socket Mode, where Slack's requests come
    over the socket): ``/slack/events`` answers 404 and says so; ``connected`` (Socket Mode's
    connection) makes ``/healthz`` answer 503 while the socket is not connected."""
    return _Http(
        app=app,
        session_factory=session_factory,
        signing_secret=signing_secret,
        clock=clock,
        push=push,
        jobs_metrics=jobs_metrics,
        installs=install_limit or RateLimit(),
        forwarded_for=forwarded_for,
        metrics_token=metrics_token,
        slack_events=slack_events,
        connected=connected,
    )


NOT_CONNECTED = ("503 Service Unavailable", b'{"ok":false,"error":"Socket Mode: not connected to Slack"}')
SOCKET_MODE_EVENTS = (
    b'{"ok":false,"error":"Socket Mode: Slack\'s requests come over the socket, not to this URL"}'
)


class _Http:
    """The routes of HTTP mode (see :func:`wsgi_app`)."""

    def __init__(
        self,
        *,
        app: App,
        session_factory: SessionFactory,
        signing_secret: str | None,
        clock: Clock,
        push: PushApi | None,
        jobs_metrics: Callable[[], bytes | None] | None,
        installs: RateLimit,
        forwarded_for: bool,
        metrics_token: str | None,
        slack_events: bool = True,
        connected: Callable[[], bool] | None = None,
    ) -> None:
        self.slack_events, self.connected = slack_events, connected
        self.app, self.session_factory, self.signing_secret = app, session_factory, signing_secret
        self.push, self.jobs_metrics, self.installs = push, jobs_metrics, installs
        self.forwarded_for, self.metrics_token = forwarded_for, metrics_token
        self.bolt = SlackRequestHandler(app, path=EVENTS_PATH)
        self.now = unix_clock(clock)
        self.health = Deadline(HEALTH_DEADLINE, workers=2)
        self.outbox = OutboxCollector(session_factory, clock, self.health)
        self.seen = Replays(session_factory, clock)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path == "/healthz" and method in ("GET", "HEAD"):
            if self.connected is not None and not self.connected():
                return _respond(start_response, *NOT_CONNECTED)
            return _respond(start_response, *_health(self.session_factory, self.health))
        if path == "/metrics" and method == "GET":
            return self.metrics(environ, start_response)
        if path in OAUTH_PATHS and method == "GET" and self.app.oauth_flow is not None:
            wait = self.installs.wait(client_address(environ, forwarded=self.forwarded_for))
            if wait is not None:
                return _too_many(start_response, wait)
            return _oauth(self.bolt, environ, start_response)
        if path == PUSH_PATH and self.push is not None:
            return _respond(start_response, *self.push.handle(environ))
        if path != EVENTS_PATH:
            return _respond(start_response, "404 Not Found", b'{"ok":false,"error":"not found"}')
        if not self.slack_events:
            return _respond(start_response, "404 Not Found", SOCKET_MODE_EVENTS)
        return self.events(environ, start_response)

    def close(self) -> None:
        """Stop what works behind the answers (the replay check's worker)."""
        self.seen.close()

    def metrics(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not metrics_allowed(environ, token=self.metrics_token):
            return _respond(start_response, *METRICS_REFUSED)
        child = self.jobs_metrics() if self.jobs_metrics is not None else None
        body = exposition(self.outbox, other=("jobs", child) if child else None)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [body]

    def events(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        body, refusal = check_slack_request(environ, secret=self.signing_secret, clock=self.now)
        if refusal is not None:
            log.info("refused a request to %s: %s (%s)", EVENTS_PATH, refusal.status, refusal.error)
            return _respond(start_response, refusal.status, refusal.body())
        signature = str(environ.get("HTTP_X_SLACK_SIGNATURE") or "")
        if self.signing_secret and self.seen.is_replay(signature):
            log.warning("a replayed Slack request to %s was answered without acting again", EVENTS_PATH)
            return _respond(start_response, "200 OK", b"")
        replay(environ, body)
        return self.bolt(environ, start_response)


class Server(Protocol):
    @property
    def effective_port(self) -> int: ...

    def run(self) -> None: ...

    def close(self) -> None: ...


DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 10.0


class DrainingChannel(HTTPChannel):
    """A connection that lingers before it closes, as production servers do: once its answer is
    sent (a 413 for a body over the limit, say), the sending side is shut and what the client still
    sends is read and dropped, at most :data:`DRAIN_BYTES` or :data:`DRAIN_SECONDS`, so the client
    reads the answer instead of a "connection reset"."""

    draining_since: float | None = None
    drained = 0
    peer_closed = False

    def recv(self, buffer_size: int) -> bytes:
        data: bytes = super().recv(buffer_size)
        if not data:
            self.peer_closed = True
        return data

    def handle_close(self) -> None:
        sock = self.socket
        if self.draining_since is None and self.connected and not self.peer_closed and sock is not None:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            else:
                self.draining_since, self.will_close = time.monotonic(), False
                return
        self.draining_since = None
        super().handle_close()

    def _drain_over(self) -> bool:
        assert self.draining_since is not None
        return self.drained > DRAIN_BYTES or time.monotonic() - self.draining_since > DRAIN_SECONDS

    def readable(self) -> bool:
        if self.draining_since is None:
            return bool(super().readable())
        if self._drain_over():
            self.handle_close()
            return False
        return True

    def writable(self) -> bool:
        return False if self.draining_since is not None else bool(super().writable())

    def handle_read(self) -> None:
        if self.draining_since is None:
            super().handle_read()
            return
        try:
            data = self.socket.recv(65536) if self.socket is not None else b""
        except OSError:
            data = b""
        self.drained += len(data)
        if not data or self._drain_over():
            self.peer_closed = True
            self.handle_close()


MAX_REQUEST_BODY = 6 * 1024 * 1024
"""waitress refuses (413) any body over this before the application runs: the largest endpoint
limit (the push API's 5 MB) and some room."""


class _Waitress:
    """waitress's server, whose ``close`` also wakes its loop (which otherwise notices the close only
    at the end of its one-second select), so a stop is not a second long."""

    def __init__(self, server: Any) -> None:
        self.inner = server

    @property
    def effective_port(self) -> int:
        return int(self.inner.effective_port)

    def run(self) -> None:
        self.inner.run()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # wake the loop first: it then finds itself closed
            self.inner.pull_trigger()
        self.inner.close()


def make_server(application: Callable[..., Any], *, host: str, port: int, threads: int = 8) -> Server:
    """A waitress server bound to ``host:port`` (port 0 picks a free one); call ``.run()``."""
    server = create_server(
        application,
        host=host,
        port=port,
        threads=threads,
        ident="offerbot",
        max_request_body_size=MAX_REQUEST_BODY,
        max_request_header_size=64 * 1024,
    )
    server.channel_class = DrainingChannel  # type: ignore[union-attr]
    return _Waitress(server)

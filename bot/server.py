"""HTTP mode: Slack's requests on ``POST /slack/events``, ``GET /healthz``, served by waitress."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, cast

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text
from waitress.server import create_server

from storage.db import SessionFactory

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def wsgi_app(app: App, session_factory: SessionFactory) -> WSGIApplication:
    bolt = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            status, body = "200 OK", b'{"ok":true}'
            try:
                with session_factory() as session:
                    session.execute(text("SELECT 1"))
            except Exception:
                log.exception("health check: the database does not answer")
                status, body = "503 Service Unavailable", b'{"ok":false,"error":"database unavailable"}'
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return bolt(environ, start_response)

    return application


class Server(Protocol):
    effective_port: int

    def run(self) -> None: ...

    def close(self) -> None: ...


def make_server(application: Callable[..., Any], *, host: str, port: int, threads: int = 8) -> Server:
    """A waitress server bound to ``host:port`` (port 0 picks a free one); call ``.run()``."""
    server = create_server(application, host=host, port=port, threads=threads, ident="offerbot")
    return cast(Server, server)

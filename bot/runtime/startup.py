"""Starting while Slack is down (``bot/slack/identity.py`` asks ``auth.test`` again with backoff):
``serve`` meanwhile answers ``/healthz`` with 503 and the reason (:class:`Gate`), so an orchestrator
sees a process that is up but not ready rather than one that crashed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)


class Gate:
    """The HTTP server's application while the bot starts: ``/healthz`` answers 503 with the reason
    (``degraded``), anything else 503; :meth:`open` hands every request to the real application."""

    def __init__(self) -> None:
        self.inner: WSGIApplication | None = None
        self.reason = "starting"

    def degrade(self, reason: str) -> None:
        self.reason = f"Slack unreachable: {reason}"

    def open(self, application: WSGIApplication) -> None:
        self.inner = application

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        inner = self.inner
        if inner is not None:
            return inner(environ, start_response)
        status = "degraded" if environ.get("PATH_INFO") == "/healthz" else "starting"
        body = json.dumps({"ok": False, "status": status, "error": self.reason}).encode()
        start_response(
            "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Retry-After", "5")],
        )
        return [body]

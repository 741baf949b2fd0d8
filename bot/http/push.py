"""``POST /api/offers/status``: a pipeline pushes the import document with ``Authorization: Bearer
<token>``, so it can publish offers' status without shell access.

Checked in this order, each before any more is read: the token (401: missing, unknown or revoked),
the size (413: over 5 MB, from ``Content-Length`` or while streaming), the encoding (400: not UTF-8),
then the document itself, by the import's own validation (400 with the same field-level message as
``offerbot import``; nothing is written). Success: 200 with the import's summary, and the watcher
is woken at once.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from bot.clock import Clock
from bot.guard import StoreUnavailable
from bot.http.edge import Refusal, read_body
from bot.usecases.imports import OwnedBySync, import_document
from storage import db
from storage.errors import DocumentError
from storage.tokens import authenticate

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

log = logging.getLogger(__name__)

PUSH_PATH = "/api/offers/status"
PUSH_MAX_BODY = 5 * 1024 * 1024
MAX_WAITING = 4
"""Pushes that may wait for the one being imported; more are answered 503 at once."""
WAIT_SECONDS = 30.0
"""How long a push waits for its turn before it is answered 503."""
BUSY = "another push is being imported: try again in a few seconds"
STORE_DOWN = "the store is unavailable: nothing was imported; try again in a minute"


@dataclass
class _Turns:
    """One push imported at a time; a few wait their turn, the rest are turned away."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    guard: threading.Lock = field(default_factory=threading.Lock)
    waiting: int = 0

    def enter(self, timeout: float) -> bool:
        with self.guard:
            if self.waiting >= MAX_WAITING:
                return False
            self.waiting += 1
        try:
            return self.lock.acquire(timeout=timeout)
        finally:
            with self.guard:
                self.waiting -= 1

    def leave(self) -> None:
        self.lock.release()


@dataclass(frozen=True)
class PushApi:
    session_factory: db.SessionFactory
    clock: Clock
    on_import: Callable[[], None] = lambda: None
    """Called after a push that stored a status change: wakes the watcher."""
    turns: _Turns = field(default_factory=_Turns)
    """Pushes are parsed and imported one at a time, so concurrent pushes queue instead of multiplying
    the CPU and memory of the process that answers Slack."""

    def handle(self, environ: WSGIEnvironment) -> tuple[str, bytes]:
        """The status line and JSON body of the answer to one request; a store that fails (down,
        locked, hung) is a 503 that says to try again, never a 500."""
        try:
            return self._handle(environ)
        except (SQLAlchemyError, StoreUnavailable) as exc:
            log.error("push API: the store failed: %s", exc.__class__.__name__)
            return _json("503 Service Unavailable", ok=False, error=STORE_DOWN)

    def _handle(self, environ: WSGIEnvironment) -> tuple[str, bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _json("405 Method Not Allowed", ok=False, error="use POST")
        team = self._team(str(environ.get("HTTP_AUTHORIZATION") or ""))
        if team is None:
            return _json(
                "401 Unauthorized", ok=False, error="a valid token is needed: Authorization: Bearer <token>"
            )
        body = read_body(environ, limit=PUSH_MAX_BODY)
        if isinstance(body, Refusal):
            return body.status, body.body()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _json("400 Bad Request", ok=False, error="the body is not UTF-8")
        if not self.turns.enter(WAIT_SECONDS):
            return _json("503 Service Unavailable", ok=False, error=BUSY)
        try:
            summary = import_document(
                self.session_factory,
                text=text,
                source="body",
                now=self.clock(),
                team_id=team,
                writer="push",
                refuse_synced=True,
            )
        except DocumentError as exc:
            return _json("400 Bad Request", ok=False, error=str(exc))
        except OwnedBySync as exc:
            return _json("409 Conflict", ok=False, error=str(exc), owned=[o for o, _ in exc.owned[:100]])
        finally:
            self.turns.leave()
        log.info("push API: workspace %s: %s", team, summary.line())
        if summary.status_changes:
            self.on_import()
        return _json("200 OK", ok=True, summary=summary.line(), **asdict(summary))

    def _team(self, authorization: str) -> str | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        with db.transaction(self.session_factory) as session:
            row = authenticate(session, token=token.strip(), now=self.clock())
            return row.team_id if row is not None else None


def _json(status: str, **fields: object) -> tuple[str, bytes]:
    return status, json.dumps(fields).encode()

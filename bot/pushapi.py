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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.edge import Refusal, read_body
from bot.usecases.imports import import_document
from storage import db
from storage.errors import DocumentError
from storage.tokens import authenticate

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

log = logging.getLogger(__name__)

PUSH_PATH = "/api/offers/status"
PUSH_MAX_BODY = 5 * 1024 * 1024


@dataclass(frozen=True)
class PushApi:
    session_factory: db.SessionFactory
    clock: Clock
    on_import: Callable[[], None] = lambda: None
    """Called after a push that stored a status change: wakes the watcher."""

    def handle(self, environ: WSGIEnvironment) -> tuple[str, bytes]:
        """The status line and JSON body of the answer to one request."""
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
        try:
            summary = import_document(
                self.session_factory, text=text, source="body", now=self.clock(), team_id=team
            )
        except DocumentError as exc:
            return _json("400 Bad Request", ok=False, error=str(exc))
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

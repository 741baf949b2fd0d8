"""The HTTP edge: every request's size, signature and shape checked once, here, before any listener
(or Bolt itself) reads it. A refusal is a short JSON body with the status that says why (401, 400,
405, 413), never a 500 and never a traceback.

Limits: Slack's endpoints take at most 1 MB (Slack's own payloads are far smaller). The body is
refused from ``Content-Length`` before it is read, and read at most one byte past the limit
otherwise; waitress's own ``max_request_body_size`` (see ``bot/http/server.py``) stops anything larger
before the application sees it.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from bot.clock import Clock

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

SLACK_MAX_BODY = 1024 * 1024
MAX_CLOCK_SKEW = 5 * 60
"""Seconds a Slack request's timestamp may differ from our clock (Slack's own advice)."""


@dataclass(frozen=True)
class Refusal:
    """Why a request is not handled: an HTTP status and a short reason for the caller."""

    status: str
    error: str

    def body(self) -> bytes:
        return json.dumps({"ok": False, "error": self.error}).encode()


TOO_LARGE = Refusal("413 Content Too Large", "the request body is over the limit")


def read_body(environ: WSGIEnvironment, *, limit: int) -> bytes | Refusal:
    """The request body, refused (413) from ``Content-Length`` before any byte is read, or once the
    stream passes ``limit``; a body is never read whole when it is too large."""
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    if declared:
        if not declared.isascii() or not declared.isdigit():
            return Refusal("400 Bad Request", "Content-Length is not a number")
        if int(declared) > limit:
            return TOO_LARGE
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    body = stream.read(int(declared) if declared else limit + 1)
    if len(body) > limit:
        return TOO_LARGE
    return bytes(body)


def _signature_refusal(environ: WSGIEnvironment, body: bytes, secret: str, now: float) -> Refusal | None:
    timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "")
    signature = str(environ.get("HTTP_X_SLACK_SIGNATURE") or "")
    if not timestamp or not signature:
        return Refusal("401 Unauthorized", "missing X-Slack-Request-Timestamp or X-Slack-Signature")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return Refusal("401 Unauthorized", "X-Slack-Request-Timestamp is not a Unix time")
    if abs(now - int(timestamp)) > MAX_CLOCK_SKEW:
        return Refusal("401 Unauthorized", "the request is too old (or from the future)")
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return Refusal("401 Unauthorized", "the signature does not match")
    return None


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Ref(_Shape):
    id: str | None = None


class _Action(_Shape):
    action_id: str
    value: str | None = None
    type: str | None = None


class InteractionPayload(_Shape):
    """What Bolt itself reads of an interaction before any listener: a payload of another shape
    would raise inside Bolt (a 500), so it is refused here (400)."""

    type: str
    team: _Ref | None = None
    user: _Ref | None = None
    enterprise: _Ref | None = None
    channel: _Ref | None = None
    container: dict[str, object] | None = None
    actions: list[_Action] | None = None
    response_url: str | None = None
    view: dict[str, object] | None = None
    message: dict[str, object] | None = None

    @model_validator(mode="after")
    def _actions_for_buttons(self) -> InteractionPayload:
        if self.type == "block_actions" and not self.actions:
            raise ValueError("block_actions without actions")
        return self


class EventBody(_Shape):
    """An Events API body: a type, and (for an event) the event as an object."""

    type: str
    team_id: str | None = None
    event: dict[str, object] | None = None


def _json_refusal(text: str, model: type[_Shape], what: str) -> Refusal | None:
    try:
        model.model_validate_json(text)
    except ValidationError:
        return Refusal("400 Bad Request", f"{what} is not a Slack payload of a known shape")
    return None


def _shape_refusal(environ: WSGIEnvironment, body: bytes) -> Refusal | None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal("400 Bad Request", "the body is not UTF-8")
    content_type = str(environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    if content_type == "application/json":
        return _json_refusal(text, EventBody, "the body")
    if content_type != "application/x-www-form-urlencoded":
        return Refusal("400 Bad Request", "expected a form-encoded or JSON body")
    try:
        fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=200))
    except ValueError:
        return Refusal("400 Bad Request", "the body is not form-encoded")
    if "payload" in fields:
        return _json_refusal(fields["payload"], InteractionPayload, "the payload field")
    return None


def check_slack_request(
    environ: WSGIEnvironment, *, secret: str | None, clock: Callable[[], float]
) -> tuple[bytes, Refusal | None]:
    """Read and check one request to a Slack endpoint: size, then signature (when a signing secret
    is set), then encoding and shape. Returns the body and, when it is refused, why."""
    if environ.get("REQUEST_METHOD") != "POST":
        return b"", Refusal("405 Method Not Allowed", "use POST")
    body = read_body(environ, limit=SLACK_MAX_BODY)
    if isinstance(body, Refusal):
        return b"", body
    if secret:
        refusal = _signature_refusal(environ, body, secret, clock())
        if refusal is not None:
            return body, refusal
    return body, _shape_refusal(environ, body)


def replay(environ: WSGIEnvironment, body: bytes) -> None:
    """Give the (already read) body back to the next WSGI layer."""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def unix_clock(clock: Clock) -> Callable[[], float]:
    return lambda: clock().timestamp()


class RateLimit:
    """At most ``limit`` requests per ``window`` seconds from one client, counted in fixed windows;
    the clients remembered are bounded (the oldest are forgotten first)."""

    def __init__(
        self,
        limit: int = 20,
        window: float = 60.0,
        *,
        max_clients: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.max_clients, self.monotonic = limit, window, max_clients, monotonic
        self._seen: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def wait(self, client: str) -> float | None:
        """None when ``client`` may go on now, else the seconds until it may."""
        now = self.monotonic()
        with self._lock:
            start, count = self._seen.pop(client, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            count += 1
            self._seen[client] = (start, count)  # re-inserted: the most recent last
            if len(self._seen) > self.max_clients:
                for old in list(self._seen)[: self.max_clients // 10]:
                    del self._seen[old]
        return None if count <= self.limit else max(self.window - (now - start), 1.0)


def client_address(environ: WSGIEnvironment, *, forwarded: bool) -> str:
    """Who sent a request: the peer's address, or with ``forwarded`` (behind a reverse proxy) the
    last address of ``X-Forwarded-For``, the one the nearest proxy saw."""
    if forwarded:
        chain = [a.strip() for a in str(environ.get("HTTP_X_FORWARDED_FOR") or "").split(",") if a.strip()]
        if chain:
            return chain[-1]
    return str(environ.get("REMOTE_ADDR") or "unknown")

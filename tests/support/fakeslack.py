"""A fake Slack Web API on 127.0.0.1 (port 0) for tests: records every call and answers on demand.

The real ``WebClient`` talks to it through ``SLACK_API_URL``. Scripted answers (``fail``) let a test
make a method answer HTTP 429 with Retry-After, a 5xx, or one of Slack's ``{"ok": false}`` errors.
``response_url`` posts land at ``/response/<anything>`` and are recorded too.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from bot.slack.app import BOT_SCOPES

TEAM_ID = "T0FAKE001"
BOT_USER = "U0BOT0001"


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float


@dataclass
class Scripted:
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


EVERYONE = [
    "U0ADMIN",
    "U0BOB0001",
    "U0BULK001",
    "U0CREATOR",
    "U0ELSEWHERE",
    "U0EN",
    "U0FAN0001",
    "U0FOLLOW1",
    "U0FR",
    "U0FRDM",
    "U0FUZZ",
    "U0GUEST",
    "U0GUEST01",
    "U0INSTALLER",
    "U0LISTED",
    "U0MEMBER",
    "U0NEWER",
    "U0OPS0001",
    "U0OTHER",
    "U0OTHER01",
    "U0OWNER",
    "U0OWNER01",
    "U0RELEASE",
    "U0USECASE",
    "U0USER001",
    "U0USER002",
]
"""The members of a channel the test did not list: every user the tests click or type as."""


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.users_by_email: dict[str, str] = {}
        self.locales: dict[str, str] = {}
        self.roles: dict[str, set[str]] = {}
        """``users.info`` flags per user id: ``is_admin``, ``is_owner``, ``is_restricted``..."""
        self.usergroups: list[dict[str, Any]] = []
        self.installs: dict[str, tuple[str, str]] = {}
        self.organisations: dict[str, str] = {}
        """``oauth.v2.access`` codes of Enterprise Grid installs: the organisation (E...) each is in; a
        code whose team is "" is an organisation-wide install (no team, ``is_enterprise_install``)."""
        """``oauth.v2.access`` codes: each gives (team id, bot token) of a workspace installing the app."""
        """``usergroups.list`` answers these (``id``, ``handle``, ``users``); ``usergroups.users.list``
        answers one by its ``id``."""
        """``users.info`` answers these locales (user id to ``fr-FR``...); anyone else is ``en-US``."""
        self.scopes: list[str] = list(BOT_SCOPES)
        """The scopes auth.test says the token was granted."""
        self.channels_without_bot: set[str] = set()
        self.private_channels: set[str] = set()
        """Channels ``conversations.info`` says are private."""
        self.channel_members: dict[str, list[str]] = {}
        """``conversations.members`` of a channel; one not listed has :data:`EVERYONE`."""
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        """What chat.postMessage posted, per channel (conversations.history and .replies read it)."""
        self.lose_answer: dict[str, int] = defaultdict(int)
        """Calls of a method whose answer is lost: the call takes effect, then the connection closes."""
        self.latency: dict[str, float] = {}
        self.channel_gap: float | None = None
        """Slack's per-channel pace: a post sooner than this after the channel's last one gets 429
        with ``Retry-After: 1`` (counted in ``rate_limited``)."""
        self.rate_limited = 0
        self._last_post: dict[str, float] = {}
        """Seconds the fake takes to answer a method (a slow Slack), after recording the call."""
        self._script: dict[str, deque[Scripted]] = defaultdict(deque)
        self._down: dict[str, Scripted] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._cond = threading.Condition(self._lock)
        handler = self._make_handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        # A short poll: stopping the fake waits for at most one poll (serve_forever's default is 0.5 s).
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/api/"

    @property
    def response_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/response/T0FAKE001/1/abc"

    # --- scripting ---------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail: HTTP ``status`` and/or Slack ``error``."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        body = {"ok": False, "error": error or ("ratelimited" if status == 429 else "internal_error")}
        with self._lock:
            for _ in range(times):
                self._script[method].append(Scripted(status=status, body=body, headers=headers))

    def outage(self, method: str, *, status: int = 503) -> None:
        """Make every call of ``method`` fail with HTTP ``status`` until :meth:`recover`."""
        with self._lock:
            self._down[method] = Scripted(status=status, body={"ok": False, "error": "service_unavailable"})

    def recover(self) -> None:
        with self._lock:
            self._down.clear()

    # --- inspection --------------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Poll until ``count`` calls of ``method`` arrived, or fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [c for c in self.calls if c.method == method]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} call(s) of {method}, got {len(found)}")
                self._cond.wait(left)

    # --- default answers ---------------------------------------------------------------------
    def _pace(self, channel: str) -> Scripted | None:
        """429 when ``channel`` got a message less than ``channel_gap`` seconds ago."""
        if self.channel_gap is None:
            return None
        now = time.monotonic()
        with self._lock:
            last = self._last_post.get(channel)
            if last is not None and now - last < self.channel_gap:
                self.rate_limited += 1
                return Scripted(
                    status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"}
                )
            self._last_post[channel] = now
        return None

    def _history(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        channel, oldest = str(body.get("channel", "")), float(body.get("oldest") or 0)
        with self._lock:
            found = [dict(m) for m in self.messages.get(channel, []) if float(m["ts"]) >= oldest]
        if method == "conversations.replies":
            found = [m for m in found if body.get("ts") in (m["ts"], m.get("thread_ts"))]
        else:
            found = [m for m in found if not m.get("thread_ts")]
        if str(body.get("include_all_metadata", "")).lower() not in ("true", "1"):
            for m in found:
                m.pop("metadata", None)
        return {"ok": True, "messages": list(reversed(found)), "has_more": False}

    def _users_list(self, body: dict[str, Any]) -> dict[str, Any]:
        """Everyone :attr:`roles` names, with their flags, a page of ``limit`` at a time (``cursor``
        is the index of the next one)."""
        everyone = sorted(self.roles)
        start, limit = int(str(body.get("cursor") or 0)), int(str(body.get("limit") or 100))
        page = everyone[start : start + limit]
        members = [
            {"id": user, "name": user.lower(), "deleted": "deleted" in self.roles[user]}
            | {flag: flag in self.roles[user] for flag in ("is_admin", "is_owner", "is_bot")}
            for user in page
        ]
        after = str(start + limit) if start + limit < len(everyone) else ""
        return {"ok": True, "members": members, "response_metadata": {"next_cursor": after}}

    def answer(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.com/",
                "team": "Fake Team",
                "user": "offerbot",
                "team_id": TEAM_ID,
                "user_id": BOT_USER,
                "bot_id": "B0BOT0001",
            }
        if method == "chat.postMessage":
            channel = str(body.get("channel", ""))
            if channel in self.channels_without_bot:
                return {"ok": False, "error": "not_in_channel"}
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            message = {"ts": ts, "text": body.get("text", ""), "thread_ts": body.get("thread_ts") or None}
            if body.get("metadata"):
                message["metadata"] = body["metadata"]
            with self._lock:
                self.messages[channel].append(message)
            return {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text", "")}}
        if method in ("conversations.history", "conversations.replies"):
            return self._history(method, body)
        if method == "chat.update":
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
        if method == "conversations.open":
            users = str(body.get("users", ""))
            return {"ok": True, "channel": {"id": "D" + users.replace(",", "")[:10]}}
        if method == "conversations.info":
            channel = str(body.get("channel", ""))
            return {
                "ok": True,
                "channel": {
                    "id": channel,
                    "is_member": channel not in self.channels_without_bot,
                    "is_archived": False,
                    "is_private": channel in self.private_channels,
                },
            }
        if method == "conversations.members":
            members = self.channel_members.get(str(body.get("channel", "")), EVERYONE)
            return {"ok": True, "members": members, "response_metadata": {"next_cursor": ""}}
        if method == "users.lookupByEmail":
            user = self.users_by_email.get(str(body.get("email", "")).lower())
            if user is None:
                return {"ok": False, "error": "users_not_found"}
            return {"ok": True, "user": {"id": user}}
        if method == "users.info":
            user_id = str(body.get("user", ""))
            user: dict[str, Any] = {"id": user_id, "name": user_id.lower(), "tz": "Europe/Paris"}
            if str(body.get("include_locale", "")).lower() in ("true", "1"):
                user["locale"] = self.locales.get(user_id, "en-US")
            for flag in ("is_admin", "is_owner", "is_primary_owner", "is_restricted", "is_ultra_restricted"):
                user[flag] = flag in self.roles.get(user_id, set())
            return {"ok": True, "user": user}
        if method == "oauth.v2.access":
            install = self.installs.get(str(body.get("code", "")))
            if install is None:
                return {"ok": False, "error": "invalid_code"}
            team, token = install
            organisation = self.organisations.get(str(body.get("code", "")))
            return {
                "ok": True,
                "access_token": token,
                "token_type": "bot",
                "scope": "commands,chat:write",
                "bot_user_id": "U0BOT" + (team or organisation or "")[-4:],
                "app_id": "A0APP0001",
                "team": {"id": team, "name": f"Team {team}"} if team else None,
                "enterprise": {"id": organisation, "name": f"Org {organisation}"} if organisation else None,
                "is_enterprise_install": bool(organisation and not team),
                "authed_user": {"id": "U0INSTALLER"},
            }
        if method == "users.list":
            return self._users_list(body)
        if method == "usergroups.list":
            return {"ok": True, "usergroups": self.usergroups}
        if method == "usergroups.users.list":
            group = next((g for g in self.usergroups if g.get("id") == body.get("usergroup")), None)
            if group is None:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(group.get("users", []))}
        if method == "apps.connections.open":
            return {"ok": True, "url": "ws://127.0.0.1:9/link"}
        if method.startswith("response/"):
            return {"ok": True}
        return {"ok": True}

    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    body = json.loads(raw) if raw else {}
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                path = self.path.split("?")[0]
                method = path[len("/api/") :] if path.startswith("/api/") else path.lstrip("/")
                if method.startswith("response/"):
                    method = "response_url"
                with fake._cond:
                    fake.calls.append(Call(method, body, dict(self.headers.items()), time.monotonic()))
                    scripted = (
                        fake._script[method].popleft() if fake._script[method] else fake._down.get(method)
                    )
                    fake._cond.notify_all()
                if method in fake.latency:
                    time.sleep(fake.latency[method])
                if scripted is None and method == "chat.postMessage":
                    scripted = fake._pace(str(body.get("channel", "")))
                if scripted is None:
                    scripted = Scripted(body=fake.answer(method, body))
                    if method == "auth.test":  # as Slack does: the token's scopes in a header
                        scripted = Scripted(
                            body=scripted.body, headers={"x-oauth-scopes": ",".join(fake.scopes)}
                        )
                with fake._lock:
                    lose = fake.lose_answer[method] > 0
                    fake.lose_answer[method] -= 1 if lose else 0
                if lose:  # it happened, but the caller never hears: the connection just closes
                    self.close_connection = True
                    return
                payload = json.dumps(scripted.body).encode()
                self.send_response(scripted.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in scripted.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST

        return Handler


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)

"""Who may see and act in a channel, as Slack says: ``conversations.info`` (is it private?) and
``conversations.members`` (who is in it), through the quick client (1 s, no retries), remembered for
a minute per channel. Needs the ``channels:read`` and ``groups:read`` scopes.

When Slack cannot say, the answer is no: a member who is not in a private channel must never act on
its alerts or read where they went because Slack was slow."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk.errors import SlackClientError

from bot.slack.clients import Clients
from bot.slack.errors import NETWORK_ERRORS, classify
from bot.slack.people import quick_client

log = logging.getLogger(__name__)

_ERRORS: tuple[type[BaseException], ...] = (SlackClientError, KeyError, TypeError, *NETWORK_ERRORS)
TTL = 60.0
"""Seconds a channel's privacy and members are trusted."""
MAX_MEMBER_PAGES = 20
"""``conversations.members`` pages read (1,000 members each) before a channel counts as unknown."""


class ChannelAccess:
    def __init__(self, clients: Clients, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.clients, self.monotonic = clients, monotonic
        self._private: dict[tuple[str, str], tuple[float, bool | None]] = {}
        self._members: dict[tuple[str, str], tuple[float, frozenset[str] | None]] = {}
        self._lock = threading.Lock()

    def _fresh(self, cache: dict[tuple[str, str], tuple[float, object]], key: tuple[str, str]) -> bool:
        with self._lock:
            found = cache.get(key)
        return found is not None and self.monotonic() - found[0] < TTL

    def is_private(self, *, team_id: str, channel: str) -> bool | None:
        """True or False as ``conversations.info`` says; None when Slack cannot say."""
        key = (team_id, channel)
        if not self._fresh(self._private, key):  # type: ignore[arg-type]
            value: bool | None = None
            client = self.clients.for_team(team_id)
            try:
                if client is not None:
                    info = quick_client(client).conversations_info(channel=channel)["channel"]
                    value = bool(info.get("is_private") or info.get("is_group"))
            except _ERRORS as exc:
                log.info(
                    "conversations.info %s failed (%s): it counts as private", channel, classify(exc).code
                )
            with self._lock:
                self._private[key] = (self.monotonic(), value)
        with self._lock:
            return self._private[key][1]

    def members(self, *, team_id: str, channel: str) -> frozenset[str] | None:
        """Who is in the channel, as ``conversations.members`` says; None when Slack cannot say."""
        key = (team_id, channel)
        if not self._fresh(self._members, key):  # type: ignore[arg-type]
            value = self._ask_members(team_id, channel)
            with self._lock:
                self._members[key] = (self.monotonic(), value)
        with self._lock:
            return self._members[key][1]

    def _ask_members(self, team_id: str, channel: str) -> frozenset[str] | None:
        client = self.clients.for_team(team_id)
        if client is None:
            return None
        quick, cursor = quick_client(client), None
        found: set[str] = set()
        try:
            for _ in range(MAX_MEMBER_PAGES):
                page = quick.conversations_members(channel=channel, limit=1000, cursor=cursor)
                found.update(str(m) for m in page.get("members") or [])
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    return frozenset(found)
        except _ERRORS as exc:
            log.info(
                "conversations.members %s failed (%s): nobody counts as in it", channel, classify(exc).code
            )
        return None

    def is_member(self, *, team_id: str, user_id: str, channel: str) -> bool:
        members = self.members(team_id=team_id, channel=channel)
        return members is not None and user_id in members

    def may_see(self, *, team_id: str, user_id: str, channel: str, here: str = "") -> bool:
        """A channel's name may be shown to ``user_id``: the channel they are in (``here``), a public
        one, or a private one they are a member of."""
        if channel == here:
            return True
        if channel.startswith("D"):
            return False
        private = self.is_private(team_id=team_id, channel=channel)
        if private is False:
            return True
        return private is True and self.is_member(team_id=team_id, user_id=user_id, channel=channel)

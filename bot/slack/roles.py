"""Who is acting, as the access rules need them: a user's roles from ``users.info`` (through
:class:`bot.slack.people.People`) and the ``OFFERBOT_MANAGERS`` list, whose ``@usergroup`` handles are
resolved with ``usergroups.list`` (members included), remembered for ten minutes."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.slack.errors import NETWORK_ERRORS, classify
from bot.slack.people import People
from bot.usecases.access import Actor
from storage.people import ROLES_TTL

log = logging.getLogger(__name__)

_ERRORS: tuple[type[BaseException], ...] = (SlackClientError, KeyError, TypeError, *NETWORK_ERRORS)


@dataclass(frozen=True)
class Managers:
    """``OFFERBOT_MANAGERS`` read: user ids and user-group handles, each for one workspace (``T...:``
    before it) or for every workspace (a single-workspace install, or a user id)."""

    users: frozenset[tuple[str | None, str]]
    handles: frozenset[tuple[str | None, str]]

    @classmethod
    def parse(cls, entries: tuple[str, ...]) -> Managers:
        users, handles = set(), set()
        for entry in entries:
            team, _, who = entry.rpartition(":") if re.match(r"^[TE][A-Z0-9]+:", entry) else ("", "", entry)
            scope = team or None
            if who.startswith("@") and len(who) > 1:
                handles.add((scope, who[1:].lower()))
            elif who:
                users.add((scope, who))
        return cls(frozenset(users), frozenset(handles))

    def users_in(self, team_id: str) -> frozenset[str]:
        return frozenset(user for scope, user in self.users if scope in (None, team_id))

    def handles_in(self, team_id: str) -> frozenset[str]:
        return frozenset(handle for scope, handle in self.handles if scope in (None, team_id))


class Roles:
    def __init__(self, *, people: People, managers: tuple[str, ...]) -> None:
        self.people = people
        self.managers = Managers.parse(managers)
        self._groups: dict[str, tuple[datetime, frozenset[str]]] = {}

    def actor(self, *, team_id: str, user_id: str) -> Actor:
        profile = self.people.roles_of(team_id=team_id, user_id=user_id)
        if profile is None:
            return Actor(user_id=user_id, known=False)
        if profile.is_admin or user_id in self.managers.users_in(team_id):
            return Actor(user_id=user_id, is_guest=profile.is_guest, is_manager=True)
        handles = self.managers.handles_in(team_id)
        members = self._group_members(team_id, handles) if handles else frozenset()
        if members is None:  # the list could not be read: the user may be on it, so nothing is allowed
            return Actor(user_id=user_id, known=False, is_guest=profile.is_guest)
        return Actor(user_id=user_id, is_guest=profile.is_guest, is_manager=user_id in members)

    def _group_members(self, team_id: str, handles: frozenset[str]) -> frozenset[str] | None:
        now = self.people.clock()
        cached = self._groups.get(team_id)
        if cached is not None and cached[0] + ROLES_TTL > now:
            return cached[1]
        client = self.people.client_for(team_id)
        if client is None:
            return None
        try:
            groups = client.usergroups_list(include_users=True).get("usergroups") or []
            members = frozenset(
                str(user)
                for group in groups
                if isinstance(group, dict) and str(group.get("handle", "")).lower() in handles
                for user in group.get("users") or []
            )
        except _ERRORS as exc:
            log.warning("usergroups.list failed (%s): channel changes wait", classify(exc).code)
            return None
        self._groups[team_id] = (now, members)
        return members


MAX_USER_PAGES = 25
"""``users.list`` pages (of 200) read to find a workspace's admins: 5,000 people."""


def workspace_admins(client: WebClient) -> list[str] | None:
    """The workspace's admins and owners (people, not bots, not deactivated), from ``users.list``;
    None when Slack could not be asked."""
    admins: list[str] = []
    cursor = ""
    try:
        for _ in range(MAX_USER_PAGES):
            page = client.users_list(limit=200, cursor=cursor or None)
            for member in page.get("members") or []:
                if not isinstance(member, dict) or member.get("deleted") or member.get("is_bot"):
                    continue
                if (member.get("is_admin") or member.get("is_owner")) and isinstance(member.get("id"), str):
                    admins.append(member["id"])
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
    except _ERRORS as exc:
        log.warning("users.list failed (%s): the admins are not known", classify(exc).code)
        return None
    return admins

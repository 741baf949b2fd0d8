"""Who is acting, as the access rules need them: a user's roles from ``users.info`` (through
:class:`bot.people.People`) and the ``OFFERBOT_MANAGERS`` list, whose ``@usergroup`` handles are
resolved with ``usergroups.list`` (members included), remembered for ten minutes."""

from __future__ import annotations

import logging
from datetime import datetime

from slack_sdk.errors import SlackClientError

from bot.people import People
from bot.slack_errors import NETWORK_ERRORS, classify
from bot.usecases.access import Actor
from storage.subscriptions import ROLES_TTL

log = logging.getLogger(__name__)

_ERRORS: tuple[type[BaseException], ...] = (SlackClientError, KeyError, TypeError, *NETWORK_ERRORS)


class Roles:
    def __init__(self, *, people: People, managers: tuple[str, ...]) -> None:
        self.people = people
        self.user_ids = frozenset(m for m in managers if not m.startswith("@"))
        self.handles = frozenset(m[1:].lower() for m in managers if m.startswith("@") and len(m) > 1)
        self._groups: dict[str, tuple[datetime, frozenset[str]]] = {}

    def actor(self, *, team_id: str, user_id: str) -> Actor:
        profile = self.people.roles_of(team_id=team_id, user_id=user_id)
        if profile is None:
            return Actor(user_id=user_id, known=False)
        if profile.is_admin or user_id in self.user_ids:
            return Actor(user_id=user_id, is_guest=profile.is_guest, is_manager=True)
        members = self._group_members(team_id) if self.handles else frozenset()
        if members is None:  # the list could not be read: the user may be on it, so nothing is allowed
            return Actor(user_id=user_id, known=False, is_guest=profile.is_guest)
        return Actor(user_id=user_id, is_guest=profile.is_guest, is_manager=user_id in members)

    def _group_members(self, team_id: str) -> frozenset[str] | None:
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
                if isinstance(group, dict) and str(group.get("handle", "")).lower() in self.handles
                for user in group.get("users") or []
            )
        except _ERRORS as exc:
            log.warning("usergroups.list failed (%s): channel changes wait", classify(exc).code)
            return None
        self._groups[team_id] = (now, members)
        return members

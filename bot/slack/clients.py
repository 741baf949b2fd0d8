"""Which Web API client speaks for a workspace: one bot token (``SLACK_BOT_TOKEN``, single-workspace
mode), or each workspace's own bot token from slack_sdk's installation store (multi-workspace mode,
after the OAuth install). A workspace that uninstalled the app has no client: nothing is sent there
until it installs the app again."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import Bot, InstallationStore

BotClient = WebClient
"""The Web API client of one bot token, as the layers above the Slack layer name it (they import no
slack_sdk of their own)."""


class Clients(Protocol):
    def for_team(self, team_id: str) -> WebClient | None: ...


class OneWorkspace:
    """Single-workspace mode: the one token answers for every workspace the store knows."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def for_team(self, team_id: str) -> WebClient | None:
        return self.client


class Installed:
    """Multi-workspace mode: each workspace's bot token, as its install stored it, found as
    slack_sdk's store finds a bot: by enterprise and team (an Enterprise Grid workspace's own
    installation), else the organisation's installation (an org-wide install)."""

    def __init__(
        self,
        store: InstallationStore,
        make: Callable[[str], WebClient],
        *,
        enterprise_of: Callable[[str], str | None] = lambda _team: None,
    ) -> None:
        self.store, self.make, self.enterprise_of = store, make, enterprise_of
        self._clients: dict[str, WebClient] = {}
        self._lock = threading.Lock()

    def _bot(self, team_id: str) -> Bot | None:
        enterprise = self.enterprise_of(team_id)
        bot = self.store.find_bot(enterprise_id=enterprise, team_id=team_id)
        if bot is None and enterprise is not None:
            bot = self.store.find_bot(enterprise_id=enterprise, team_id=None, is_enterprise_install=True)
        return bot

    def for_team(self, team_id: str) -> WebClient | None:
        bot = self._bot(team_id)
        token = bot.bot_token if bot is not None else None
        if not token:
            return None
        with self._lock:
            if token not in self._clients:
                self._clients[token] = self.make(token)
            return self._clients[token]


SlackClients = WebClient | Clients
"""What a job is given to reach Slack: the one client of a single-workspace install, or every
workspace's."""


def as_clients(client: SlackClients) -> Clients:
    return OneWorkspace(client) if isinstance(client, WebClient) else client

"""The refusal job: when Microsoft refuses a stored connection's credentials (the sync marks it), the
workspace's admins and owners (``users.list``), the managers of ``OFFERBOT_MANAGERS`` and whoever
added the connection get one direct message each, in their language, with what to fix; then the
refusal is marked told, so a connection refused for days is told once. A connection read again and
refused later is told again. Runs every minute; Slack's passing failures (a post, ``users.list``)
are tried again at the next run, without telling anyone twice (the people told are remembered by
the process: a restart half-way may tell some of them again)."""

from __future__ import annotations

import logging

from bot.clock import Clock, utc_now
from bot.guard import STORE_ERRORS
from bot.i18n import DEFAULT, Language
from bot.render.connections import render_refusal
from bot.slack.clients import BotClient, Clients
from bot.slack.errors import CALL_ERRORS, classify
from bot.slack.people import People
from bot.slack.roles import Managers, workspace_admins
from bot.usecases.connections import Refusal, refusal_told, refusals_to_tell
from storage import db

log = logging.getLogger(__name__)

REFUSAL_JOB_ID = "offerbot-refusals"
REFUSAL_TICK = 60.0
MAX_TOLD = 50
"""People told about one refusal, at most."""


class RefusalJob:
    def __init__(
        self,
        session_factory: db.SessionFactory,
        clients: Clients,
        *,
        managers: tuple[str, ...] = (),
        language: Language = DEFAULT,
        clock: Clock = utc_now,
    ) -> None:
        self.session_factory, self.clients, self.clock = session_factory, clients, clock
        self.managers = Managers.parse(managers)
        self.people = People(session_factory=session_factory, clients=clients, clock=clock, default=language)
        """Each person's language (their Slack locale, from ``users.info``, cached)."""
        self._sent: set[tuple[int, str, str]] = set()
        """(connection, refusal time, user) already told, when a run stops half-way."""

    def __call__(self) -> int:
        """The direct messages sent in this run."""
        try:
            refusals = refusals_to_tell(self.session_factory)
            return sum(self._tell(refusal) for refusal in refusals)
        except STORE_ERRORS as exc:
            log.warning("refusals: the store failed (%s); the next run tries again", type(exc).__name__)
            return 0

    def recipients(self, client: BotClient, refusal: Refusal) -> list[str] | None:
        """The admins and owners, the managers and the connection's creator; None when Slack could
        not say who the admins are (the next run asks again)."""
        admins = workspace_admins(client)
        if admins is None:
            return None
        people = [*admins, *sorted(self.managers.users_in(refusal.team_id)), refusal.created_by]
        return [p for p in dict.fromkeys(people) if p.startswith(("U", "W"))][:MAX_TOLD]

    def _tell(self, refusal: Refusal) -> int:
        client = self.clients.for_team(refusal.team_id)
        if client is None:
            log.warning(
                "refusals: connection %s of %s not told: no installation", refusal.name, refusal.team_id
            )
            refusal_told(self.session_factory, refusal=refusal, now=self.clock())
            return 0
        recipients = self.recipients(client, refusal)
        if recipients is None:
            return 0
        sent = 0
        for user in recipients:
            key = (refusal.connection_id, refusal.since.isoformat(), user)
            if key in self._sent:
                continue
            reply = render_refusal(refusal, tr=self.people.for_user(team_id=refusal.team_id, user_id=user))
            try:
                client.chat_postMessage(channel=user, text=reply.text, blocks=reply.blocks)
            except CALL_ERRORS as exc:
                failure = classify(exc)
                log.warning("refusals: a direct message could not be sent: %s", failure.code)
                if failure.transient:
                    return sent  # the next run goes on from here
                continue
            self._sent.add(key)
            sent += 1
        refusal_told(self.session_factory, refusal=refusal, now=self.clock())
        log.info("refusals: connection %s of %s told to %d people", refusal.name, refusal.team_id, sent)
        return sent

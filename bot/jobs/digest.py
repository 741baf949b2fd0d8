"""The daily digest job: every minute, each channel whose digest time has come (in its time zone) gets
the day's digest, once, whatever the number of bot processes (``claim_digest`` is one UPDATE that
only one process wins). A day when nothing changed and nothing needs attention is skipped; a digest
that failed for a passing reason is given back and tried again at the next run, one Slack refuses
(the bot is not in the channel...) waits for the next day."""

from __future__ import annotations

import logging

from bot.clock import Clock, utc_now
from bot.guard import STORE_ERRORS
from bot.i18n import Language, translator
from bot.render.digest import render_digest
from bot.slack.clients import Clients
from bot.slack.errors import CALL_ERRORS, classify
from bot.slack.people import channel_language
from bot.usecases.digest import digest_for, local_day
from storage import db
from storage.models import ChannelSettings
from storage.reads.digest import claim_digest, digest_channels, release_digest

log = logging.getLogger(__name__)

DIGEST_JOB_ID = "offerbot-digest"
DIGEST_TICK = 60.0


class DigestJob:
    def __init__(
        self,
        session_factory: db.SessionFactory,
        clients: Clients,
        *,
        language: Language,
        clock: Clock = utc_now,
    ) -> None:
        self.session_factory, self.clients, self.language, self.clock = (
            session_factory,
            clients,
            language,
            clock,
        )

    def __call__(self) -> int:
        """The digests posted in this run."""
        try:
            with self.session_factory() as session:
                rows = list(digest_channels(session))
            return sum(self._one(row) for row in rows)
        except STORE_ERRORS as exc:
            log.warning("digest: the store failed (%s); the next run tries again", type(exc).__name__)
            return 0

    def _one(self, row: ChannelSettings) -> int:
        now = self.clock()
        day = local_day(now, at=row.digest_at or "99:99", tz=row.digest_tz or "UTC")
        team, channel, before = row.team_id, row.channel, row.digest_sent_on
        if day is None or before == day:
            return 0
        with db.transaction(self.session_factory) as session:
            if not claim_digest(session, team_id=team, channel=channel, day=day):
                return 0  # another process has it
        with self.session_factory() as session:
            view = digest_for(session, team_id=team, channel_id=channel, user_id="", now=now)
            language = channel_language(session, team_id=team, channel=channel, default=self.language)
        if view.data is None or view.data.quiet:
            log.info("digest for %s on %s skipped: nothing changed or needs attention", channel, day)
            return 0
        reply = render_digest(view, tr=translator(language))
        outcome = self._post(team, channel, reply.text, reply.blocks)
        if outcome == "retry":
            with db.transaction(self.session_factory) as session:
                release_digest(session, team_id=team, channel=channel, day=day, before=before)
        if outcome != "sent":
            return 0
        log.info("digest for %s posted for %s", channel, day)
        return 1

    def _post(self, team: str, channel: str, text: str, blocks: list[dict[str, object]]) -> str:
        """``sent``; ``retry`` (Slack may take it in a minute); ``refused`` (not in the channel,
        archived, no installation...: the day is kept, tomorrow tries again)."""
        client = self.clients.for_team(team)
        if client is None:
            log.warning(
                "digest for %s not posted: the workspace has no installation; next try tomorrow", channel
            )
            return "refused"
        try:
            client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        except CALL_ERRORS as exc:
            failure = classify(exc)
            if not failure.transient:
                log.warning(
                    "digest for %s not posted: Slack answered %s; next try tomorrow", channel, failure.code
                )
                return "refused"
            log.warning("digest for %s not posted (%s): tried again at the next run", channel, failure.code)
            return "retry"
        return "sent"

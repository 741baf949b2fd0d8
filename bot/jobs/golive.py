"""The *Go live* job: every :data:`GO_LIVE_TICK` seconds, each running request whose time has come is
looked at once (``follow_requests``: never more often than once a minute per job, the job id is in
the store, so a restart goes on where it was), and each one that ended is told in the alert's thread
(or the requester's DM), and the alert is drawn again without "Going live"."""

from __future__ import annotations

import logging

from bot.clock import Clock, utc_now
from bot.guard import STORE_ERRORS
from bot.i18n import Language, Translator, translator
from bot.render.alerts import render_alert_view
from bot.render.golive import render_outcome
from bot.slack.clients import BotClient, Clients
from bot.slack.errors import CALL_ERRORS, classify
from bot.slack.people import channel_language, user_language
from bot.sources.publishing import Publishers
from bot.usecases.golive import Outcome, follow_requests, told, untold_outcomes
from bot.usecases.work import AlertRef, alert_view
from storage import db
from storage.errors import OfferbotError

log = logging.getLogger(__name__)

GO_LIVE_JOB_ID = "offerbot-go-live"
GO_LIVE_TICK = 20.0


class GoLiveJob:
    def __init__(
        self,
        session_factory: db.SessionFactory,
        publishers: Publishers,
        clients: Clients,
        *,
        language: Language,
        clock: Clock = utc_now,
    ) -> None:
        self.session_factory, self.publishers, self.clients = session_factory, publishers, clients
        self.language, self.clock = language, clock

    def __call__(self) -> int:
        """The requests that ended in this run. Every ended request is told in Slack, this run or,
        when Slack could not take it, a later one."""
        try:
            outcomes = follow_requests(self.session_factory, self.publishers, now=self.clock())
            for outcome in untold_outcomes(self.session_factory):
                if self._tell(outcome):
                    told(self.session_factory, outcome.request.id or 0)
        except STORE_ERRORS as exc:
            log.warning("go live: the store failed (%s); the next run tries again", type(exc).__name__)
            return 0
        return len(outcomes)

    def _reader(self, outcome: Outcome) -> Translator:
        request, now = outcome.request, self.clock()
        with self.session_factory() as session:
            if request.channel:
                language = channel_language(
                    session, team_id=request.team_id, channel=request.channel, default=self.language
                )
            else:
                language = user_language(
                    session, team_id=request.team_id, user_id=request.requested_by, now=now
                )
        return translator(language)

    def _tell(self, outcome: Outcome) -> bool:
        """False when Slack may take it later (the next run tries again)."""
        request = outcome.request
        client = self.clients.for_team(request.team_id)
        if client is None:
            log.warning(
                "go live: the outcome for offer %s not told: no installation", outcome.card.offer.offer_id
            )
            return True
        tr = self._reader(outcome)
        reply = render_outcome(outcome, tr=tr)
        channel = request.channel if request.ts else request.requested_by
        try:
            client.chat_postMessage(
                channel=channel, thread_ts=request.ts or None, text=reply.text, blocks=reply.blocks
            )
        except CALL_ERRORS as exc:
            failure = classify(exc)
            log.warning("go live: the outcome could not be posted: %s", failure.code)
            if failure.transient:
                return False
        if request.channel and request.ts:
            self._redraw(client, outcome, tr)
        return True

    def _redraw(self, client: BotClient, outcome: Outcome, tr: Translator) -> None:
        request = outcome.request
        ref = AlertRef(
            team_id=request.team_id, offer_pk=request.offer_pk, channel=request.channel, ts=request.ts
        )
        try:
            with self.session_factory() as session:
                view = alert_view(session, ref=ref, now=self.clock())
        except OfferbotError:
            return  # the alert is not tracked any more
        alert = render_alert_view(view, tr=tr, go_live=True)
        try:
            client.chat_update(channel=view.channel, ts=view.ts, text=alert.text, blocks=alert.blocks)
        except CALL_ERRORS as exc:
            log.warning("go live: the alert could not be updated: %s", classify(exc).code)

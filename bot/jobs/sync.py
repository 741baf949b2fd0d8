"""The scheduled sync job: the environment's connection and every stored one, each source on its
own schedule; a stored connection whose credentials are refused is marked so (its admins are told
by :mod:`bot.jobs.refusals`) and the others go on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.clock import utc_now
from bot.jobs.outage import Outage
from bot.metrics import PASS_SECONDS, timed
from bot.settings import Settings
from bot.sources.base import OfferSource
from bot.usecases.connections import ConnectionFeeds, Feed, record_pass
from bot.usecases.sync import SourceReport, SyncConfig, SyncReport, sync_source
from storage.db import SessionFactory

log = logging.getLogger(__name__)


class SyncJob:
    """The scheduled sync: for each source, a full pass every ``OFFERBOT_SYNC_INTERVAL`` (at start,
    then on schedule), and between them its offers in progress every 5 minutes. A source that refuses
    the credentials is logged in one line and tried again at its next full pass; one that is down, at
    the next run. Each source keeps its own schedule, so one failing source never makes the others
    list everything every minute. The stored connections (``connections``) are read from the store at
    each run, each into its own workspace: one added from Slack is read within a run."""

    def __init__(
        self,
        settings: Settings,
        session_factory: SessionFactory,
        sources: Sequence[OfferSource],
        *,
        clock: Callable[[], datetime] = utc_now,
        config: SyncConfig | None = None,
        connections: ConnectionFeeds | None = None,
    ) -> None:
        self.session_factory, self.sources, self.clock = session_factory, sources, clock
        self.connections = connections
        self.interval: timedelta = settings.offerbot_sync_interval
        self.config = config or SyncConfig(
            concurrency=settings.offerbot_sync_concurrency, team_id=settings.sync_team
        )
        self.next_full: dict[tuple[int | None, str], datetime] = {}
        self.store = Outage("sync")
        self.on_changes: Callable[[], None] | None = None
        """Called after a pass that stored status changes (``serve`` wakes the watcher with it)."""

    def __call__(self) -> SyncReport | None:
        with timed(PASS_SECONDS, job="sync"):
            return self._run()

    def feeds(self) -> list[Feed]:
        """The environment's sources (when set) and every stored connection's."""
        env = Feed(None, self.config.team_id, "", self.sources, fresh=False)  # on its own schedule
        feeds = [env] if self.sources else []
        if self.connections is not None:
            feeds += self.connections.current(self.session_factory)
        return feeds

    def _run(self) -> SyncReport | None:
        report = SyncReport()
        try:
            for feed in self.feeds():
                self._feed(feed, report)
        except Exception:
            log.exception("sync pass failed; the next run tries again")
            return None
        finally:
            if report.status_changes and self.on_changes is not None:
                self.on_changes()
        return report

    def _feed(self, feed: Feed, report: SyncReport) -> None:
        """One connection's sources; what Microsoft said of its credentials is recorded."""
        config = self.config
        if feed.fresh:  # a new or changed connection: a full pass of each of its sources now
            self.next_full = {k: v for k, v in self.next_full.items() if k[0] != feed.connection_id}
            feed.fresh = False
        if feed.connection_id is not None:
            config = replace(config, team_id=feed.team_id, connection_id=feed.connection_id)
        refused, answered = feed.problem, False
        for source in feed.sources:
            result = self._source(source, feed, config)
            report.sources.append(result)
            refused = refused or (result.error if result.auth_failed else None)
            # read only when Microsoft answered a request: a run between full passes may ask nothing
            answered = answered or (result.error is None and result.requests > 0)
        record_pass(self.session_factory, feed=feed, refused=refused, answered=answered, now=self.clock())

    def _source(self, source: OfferSource, feed: Feed, config: SyncConfig) -> SourceReport:
        key, now = (feed.connection_id, source.name), self.clock()
        full = key not in self.next_full or now >= self.next_full[key]
        result = sync_source(
            session_factory=self.session_factory, source=source, clock=self.clock, full=full, config=config
        )
        if feed.name:
            result.source = f"{result.source} ({feed.team_id}/{feed.name})"
        if full and (result.error is None or result.auth_failed):
            self.next_full[key] = now + self.interval
        if result.store_failed:
            self.store.down(result.error or "")
            return result
        self.store.up()
        if result.error:
            log.error("sync: %s", result.line(), extra=result.fields())
        elif full or result.status_changes:
            log.info("sync: %s", result.line(), extra=result.fields())
        return result

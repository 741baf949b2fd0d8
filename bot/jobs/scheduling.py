"""The scheduled jobs, registered in one place: the alert watcher and the Partner Center sync, each an
APScheduler 3 job with a fixed id, coalescing missed runs, one instance at a time. A sync that finds
status changes wakes the watcher at once instead of waiting for its next interval."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.alerting.outcomes import PassReport, WatcherConfig
from bot.alerting.pacer import Pacer
from bot.alerting.watcher import new_worker_id, run_pass
from bot.clock import utc_now
from bot.guard import STORE_ERRORS
from bot.jobs.digest import DIGEST_JOB_ID, DIGEST_TICK, DigestJob
from bot.jobs.forecast import FORECAST_JOB_ID, FORECAST_TICK, ForecastJob
from bot.jobs.golive import GO_LIVE_JOB_ID, GO_LIVE_TICK, GoLiveJob
from bot.jobs.outage import Outage
from bot.jobs.refusals import REFUSAL_JOB_ID, REFUSAL_TICK, RefusalJob
from bot.jobs.sync import SyncJob
from bot.metrics import PASS_SECONDS, timed
from bot.settings import Settings
from bot.slack.clients import Clients, SlackClients, as_clients
from bot.slack.people import People
from bot.sources.base import OfferSource
from bot.usecases.connections import ConnectionFeeds
from bot.usecases.stored_publishers import go_live_publishers
from storage import db
from storage.alerts import outbox
from storage.alerts.fanout import latest_change_id
from storage.db import SessionFactory
from storage.housekeeping import BATCH, delete_expired
from storage.pruning import ChangeCursor, Pruned, prune_once

log = logging.getLogger(__name__)

JOB_ID = "offerbot-watch"
SYNC_JOB_ID = "offerbot-sync"
PROBE_JOB_ID = "offerbot-probe"
HOUSEKEEPING_JOB_ID = "offerbot-housekeeping"
HOUSEKEEPING_INTERVAL = 60.0
"""Seconds between two deletions of expired rows (seen requests, OAuth states)."""
PROBE_INTERVAL = 1.0
"""Seconds between two looks for status changes stored by another process (an import, a sync)."""
SYNC_TICK = 60.0
"""Seconds between two runs of the sync job: each run does a full pass when one is due, else it reads
the offers in progress that are due (every 5 minutes); no product is asked twice within a minute."""


MIN_RETRY_WAIT = 0.2
"""Seconds a watcher waits at least before it passes again for alerts Slack asked it to retry."""


class WatchJob:
    """One watcher pass with the real clock; errors are logged and the next pass tries again."""

    def __init__(self, settings: Settings, session_factory: SessionFactory, clients: Clients) -> None:
        self.settings, self.session_factory, self.clients = settings, session_factory, clients
        self.config = WatcherConfig(
            remind_after=settings.offerbot_remind_after,
            language=settings.offerbot_language,
            go_live=settings.offerbot_go_live
            and (settings.sync_configured or settings.offerbot_secret_key is not None),
        )
        self.worker = new_worker_id()
        self.stop = threading.Event()
        """Set on shutdown: the pass in progress stops after its current send and releases the rest."""
        self.idle = threading.Event()
        self.idle.set()
        self.again = threading.Event()
        """Set by a wake-up that came during a pass: the job runs another pass at once."""
        self.store = Outage("watcher")
        # One pacer for the life of the process, so the per-channel pace holds across passes; its
        # waits end at once on shutdown.
        self.pacer = Pacer(
            clock=utc_now, sleep=self._pause, interval=self.config.channel_interval, factory=session_factory
        )
        self.people = People(
            session_factory=session_factory, clients=clients, clock=utc_now, default=self.config.language
        )

    def _pause(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def __call__(self) -> PassReport | None:
        report = None
        while not self.stop.is_set():
            self.again.clear()
            report = self._one_pass()
            if not self.again.is_set() and not self._retry_soon(report):
                break
        return report

    def _retry_soon(self, report: PassReport | None) -> bool:
        """After a pass that sent or left alerts to retry (Slack's 429 or a 5xx), wait for the next
        alert due before the next interval, then pass again: the outbox is a post's one retry layer,
        and a ``Retry-After: 1`` costs a second there, not a whole interval. Rows already due that
        the pass did not take (another process holds them) are not waited for."""
        if report is None or not (report.retried or report.sent):
            return False
        now = utc_now()
        try:
            with self.session_factory() as session:
                due = outbox.next_attempt(session, after=now)
        except STORE_ERRORS:
            return False
        if due is None:
            return False
        delay = (due - now).total_seconds()
        if delay >= self.settings.offerbot_watch_interval:
            return False
        return not self.stop.wait(max(delay, MIN_RETRY_WAIT))

    def _one_pass(self) -> PassReport | None:
        self.idle.clear()
        try:
            with timed(PASS_SECONDS, job="watcher"):
                report = run_pass(
                    session_factory=self.session_factory,
                    clients=self.clients,
                    clock=utc_now,
                    config=self.config,
                    worker=self.worker,
                    pacer=self.pacer,
                    stop=self.stop,
                    people=self.people,
                )
            self.store.up()
            return report
        except STORE_ERRORS as exc:
            first = str(exc).splitlines()[0][:160] if str(exc) else ""
            self.store.down(f"{type(exc).__name__}: {first}")
            return None
        except Exception:
            log.exception("watcher pass failed; the next pass tries again")
            return None
        finally:
            self.idle.set()


@dataclass(frozen=True)
class ScheduledJob:
    id: str
    name: str
    func: Callable[[], object]
    seconds: float


def _slack_jobs(settings: Settings, session_factory: SessionFactory, clients: Clients) -> list[ScheduledJob]:
    """The jobs that post to Slack: the watcher and its probe, the digest, the refusals of stored
    connections (when they can be stored), Go live (when it is on)."""
    watch = WatchJob(settings, session_factory, clients)
    jobs = [
        ScheduledJob(JOB_ID, "offerbot watcher", watch, settings.offerbot_watch_interval),
        ScheduledJob(PROBE_JOB_ID, "offerbot probe", ProbeJob(session_factory), PROBE_INTERVAL),
    ]
    digest = DigestJob(session_factory, clients, language=settings.offerbot_language)
    jobs.append(ScheduledJob(DIGEST_JOB_ID, "offerbot digest", digest, DIGEST_TICK))
    if settings.sealer() is not None:
        refusals = RefusalJob(
            session_factory, clients, managers=settings.managers, language=settings.offerbot_language
        )
        jobs.append(ScheduledJob(REFUSAL_JOB_ID, "offerbot refusals", refusals, REFUSAL_TICK))
    publishers = go_live_publishers(settings, session_factory)
    if publishers is not None:
        go_live = GoLiveJob(session_factory, publishers, clients, language=settings.offerbot_language)
        jobs.append(ScheduledJob(GO_LIVE_JOB_ID, "offerbot go live", go_live, GO_LIVE_TICK))
    return jobs


def registry(
    settings: Settings,
    session_factory: SessionFactory,
    *,
    client: SlackClients | None,
    sources: Sequence[OfferSource] = (),
) -> list[ScheduledJob]:
    """Every job this process runs: those that post to Slack when it can reach Slack (one client, or
    each workspace's), the sync when sources are set or connections can be stored, the forecast and
    the housekeeping."""
    jobs = _slack_jobs(settings, session_factory, as_clients(client)) if client is not None else []
    sealer = settings.sealer()
    if sources or sealer is not None:
        feeds = ConnectionFeeds(settings, sealer) if sealer is not None else None
        sync = SyncJob(settings, session_factory, sources, connections=feeds)
        jobs.append(ScheduledJob(SYNC_JOB_ID, "offerbot sync", sync, SYNC_TICK))
    jobs.append(
        ScheduledJob(FORECAST_JOB_ID, "offerbot forecast", ForecastJob(session_factory), FORECAST_TICK)
    )
    housekeeping = HousekeepingJob(session_factory, keep=timedelta(days=settings.offerbot_keep_days))
    jobs.append(
        ScheduledJob(HOUSEKEEPING_JOB_ID, "offerbot housekeeping", housekeeping, HOUSEKEEPING_INTERVAL)
    )
    return jobs


class HousekeepingJob:
    """Deletes what only lives a while (Slack requests past their replay window, expired OAuth
    states), a batch per transaction, so a flood of install-page visits cannot grow the store; and
    once every :attr:`PRUNE_EVERY`, what is older than ``keep`` (``OFFERBOT_KEEP_DAYS``: sent alerts,
    clicks, status history, old cached look-ups), also a batch per transaction."""

    MAX_BATCHES = 100
    PRUNE_EVERY = timedelta(hours=1)

    def __init__(
        self,
        session_factory: SessionFactory,
        clock: Callable[[], datetime] = utc_now,
        keep: timedelta = timedelta(days=400),
    ) -> None:
        self.session_factory, self.clock, self.keep = session_factory, clock, keep
        self.outage = Outage("housekeeping")
        self.pruned_at: datetime | None = None
        self.cursor = ChangeCursor()
        """Where the scan of old status changes goes on from, run after run."""

    def __call__(self) -> tuple[int, int]:
        deleted = [0, 0]
        try:
            for _ in range(self.MAX_BATCHES):
                with db.transaction(self.session_factory) as session:
                    requests, states = delete_expired(session, now=self.clock())
                deleted[0] += requests
                deleted[1] += states
                if requests < BATCH and states < BATCH:
                    break
            self.prune()
        except STORE_ERRORS as exc:
            self.outage.down(exc.__class__.__name__)
            return deleted[0], deleted[1]
        self.outage.up()
        if any(deleted):
            log.info("housekeeping: %d seen request(s) and %d OAuth state(s) expired and deleted", *deleted)
        return deleted[0], deleted[1]

    def prune(self, *, force: bool = False) -> Pruned:
        """What is older than ``keep``, a batch of each kind per transaction, until none is full
        (at most :attr:`MAX_BATCHES` transactions; the rest waits for the next run)."""
        total = Pruned()
        now = self.clock()
        if not force and self.pruned_at is not None and now - self.pruned_at < self.PRUNE_EVERY:
            return total
        if self.cursor.done:
            self.cursor = ChangeCursor()  # the last scan reached the end: start again from the oldest
        for _ in range(self.MAX_BATCHES):
            with db.transaction(self.session_factory) as session:
                batch = prune_once(session, now=self.clock(), keep=self.keep, cursor=self.cursor)
            total.add(batch)
            if not batch.full():
                break
        self.pruned_at = now
        if total.total:
            log.info(
                "housekeeping: pruned %d delivery(ies), %d thread(s), %d click(s), %d status change(s) "
                "and %d cached look-up(s) older than %d days",
                total.deliveries,
                total.threads,
                total.actions,
                total.changes,
                total.cached,
                self.keep.days,
                extra={"pruned": total.total},
            )
        return total


class ProbeJob:
    """Every :data:`PROBE_INTERVAL`: has another process stored a status change since the last look?
    Then wake the watcher, so an alert goes out within seconds of an import instead of at the next
    interval. One read of an index; a store that fails is the watcher's to report."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory
        self.last: int | None = None
        self.on_changes: Callable[[], None] | None = None

    def __call__(self) -> bool:
        try:
            with self.session_factory() as session:
                latest = latest_change_id(session)
        except STORE_ERRORS:
            return False
        seen, self.last = self.last, latest
        if seen is None or latest <= seen:
            return False
        if self.on_changes is not None:
            self.on_changes()
        return True


def wake(scheduler: BaseScheduler, job_id: str) -> None:
    """Run a scheduled job now rather than at its next interval (it still never runs twice at once:
    a watcher woken during a pass runs another pass right after it)."""
    job = scheduler.get_job(job_id)
    if job is None:
        return
    if isinstance(job.func, WatchJob):
        job.func.again.set()
        if not job.func.idle.is_set():
            return
    job.modify(next_run_time=utc_now())


def schedule(scheduler: BaseScheduler, jobs: Sequence[ScheduledJob]) -> None:
    for job in jobs:
        scheduler.add_job(
            job.func,
            "interval",
            seconds=job.seconds,
            id=job.id,
            name=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(job.seconds)),
            next_run_time=utc_now(),
            replace_existing=True,
        )
    ids = {job.id for job in jobs}
    for job in jobs:
        if isinstance(job.func, SyncJob | ProbeJob) and JOB_ID in ids:
            job.func.on_changes = lambda: wake(scheduler, JOB_ID)


def background_scheduler(jobs: Sequence[ScheduledJob]) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC)
    schedule(scheduler, jobs)
    return scheduler


def blocking_scheduler(jobs: Sequence[ScheduledJob]) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=UTC)
    schedule(scheduler, jobs)
    return scheduler

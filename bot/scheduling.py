"""The watcher's schedule: an APScheduler 3 job with a fixed id, coalescing, one instance at a time."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from slack_sdk import WebClient

from bot.settings import Settings
from bot.watcher import Pacer, PassReport, WatcherConfig, new_worker_id, run_pass
from storage.db import SessionFactory

log = logging.getLogger(__name__)

JOB_ID = "offerbot-watch"


def utcnow() -> datetime:
    return datetime.now(UTC)


class WatchJob:
    """One watcher pass with the real clock; errors are logged and the next pass tries again."""

    def __init__(self, settings: Settings, session_factory: SessionFactory, client: WebClient) -> None:
        self.settings, self.session_factory, self.client = settings, session_factory, client
        self.config = WatcherConfig(remind_after=settings.offerbot_remind_after)
        self.worker = new_worker_id()
        # One pacer for the life of the process, so the per-channel pace holds across passes.
        self.pacer = Pacer(utcnow, time.sleep, self.config.channel_interval)

    def __call__(self) -> PassReport | None:
        try:
            return run_pass(
                session_factory=self.session_factory,
                client=self.client,
                clock=utcnow,
                config=self.config,
                worker=self.worker,
                pacer=self.pacer,
            )
        except Exception:
            log.exception("watcher pass failed; the next pass tries again")
            return None


def schedule(scheduler: BaseScheduler, job: WatchJob, interval: float) -> None:
    scheduler.add_job(
        job,
        "interval",
        seconds=interval,
        id=JOB_ID,
        name="offerbot watcher",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=max(1, int(interval)),
        next_run_time=utcnow(),
        replace_existing=True,
    )


def background_scheduler(job: WatchJob, interval: float) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC)
    schedule(scheduler, job, interval)
    return scheduler


def blocking_scheduler(job: WatchJob, interval: float) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=UTC)
    schedule(scheduler, job, interval)
    return scheduler

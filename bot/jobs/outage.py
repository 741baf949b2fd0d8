"""How a job reports a store that is down: one line when it goes down, one every few minutes while
it stays down, one when it is back."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.metrics import STORE_FAILURES

log = logging.getLogger(__name__)

STILL_DOWN_EVERY = 300.0
"""Seconds between two "still down" lines while the store stays down."""


class Outage:
    """How a job reports a store that is down: one line when it goes down, one every
    :data:`STILL_DOWN_EVERY` seconds while it stays down, one when it is back; never a traceback per
    pass. The job itself tries again at each run, so it resumes within one interval of the return."""

    def __init__(self, job: str, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.job, self.monotonic = job, monotonic
        self.since: float | None = None
        self.told = 0.0

    def down(self, reason: str) -> None:
        STORE_FAILURES.labels(component=self.job).inc()
        now = self.monotonic()
        if self.since is None:
            self.since = self.told = now
            log.warning("%s: the store is unavailable (%s); trying again at each run", self.job, reason)
        elif now - self.told >= STILL_DOWN_EVERY:
            self.told = now
            down_for = now - self.since
            log.warning("%s: the store is still unavailable after %.0f s (%s)", self.job, down_for, reason)

    def up(self) -> None:
        if self.since is not None:
            log.warning("%s: the store is back after %.0f s", self.job, self.monotonic() - self.since)
            self.since = None

"""The pace of a channel: at most one message a second to each, kept together by every process on the
store."""

from __future__ import annotations

from bot.clock import Clock, Sleep
from storage import db
from storage.alerts import outbox


class Pacer:
    """At most one message per ``interval`` seconds to each channel, waiting with the given sleep.

    The pace lives in the store (``channel_pace``): every process on it takes its slots from the
    same row, so together they keep the pace."""

    def __init__(self, *, clock: Clock, sleep: Sleep, interval: float, factory: db.SessionFactory) -> None:
        self.clock, self.sleep, self.interval, self.factory = clock, sleep, interval, factory

    def wait(self, channel: str) -> None:
        with db.transaction(self.factory) as session:
            slot = outbox.reserve_slot(session, channel=channel, now=self.clock(), interval=self.interval)
        delay = (slot - self.clock()).total_seconds()
        if delay > 0:
            self.sleep(delay)

"""Slack requests seen within their replay window (Slack refuses a request whose timestamp is more
than five minutes off, so a signature is remembered ten), so that a replayed request is answered
without acting again, by every process.

A request's path touches memory only: a set of the signatures this process has seen, and those the
other processes wrote to the store, read back every :data:`SYNC_EVERY` seconds by one worker, which
also writes this process's new ones in one transaction. So a command never waits on the store for
it (a write would queue behind the sync's and the watcher's on SQLite). A replay sent to another
process within that second is not caught by it; the process that saw the original
catches every replay, and a restarted process reads the last ten minutes back at once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.http.edge import MAX_CLOCK_SKEW
from storage import db
from storage.housekeeping import remember_requests, request_digest, requests_since

log = logging.getLogger(__name__)

REPLAY_WINDOW = timedelta(seconds=MAX_CLOCK_SKEW * 2)
"""How long a request's signature is remembered: its timestamp may be 5 minutes either side of ours."""
SYNC_EVERY = 1.0
"""Seconds between two exchanges with the store (this process's new signatures out, others' in)."""
IN_MEMORY = 200_000
"""Signatures kept in memory at most (the oldest go first)."""
SKEW = timedelta(seconds=2)
"""How far back each read of the store reaches before the newest signature it already has (other
processes' clocks and commits are not quite in step)."""


def _thread(loop: Callable[[], None]) -> None:
    threading.Thread(target=loop, name="replays", daemon=True).start()


class Replays:
    def __init__(
        self,
        session_factory: db.SessionFactory,
        clock: Clock,
        *,
        every: float = SYNC_EVERY,
        start: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        self.session_factory, self.clock, self.every = session_factory, clock, every
        self.seen: dict[str, datetime] = {}
        """digest -> until when it is a replay."""
        self.to_write: list[tuple[str, datetime]] = []
        self.watermark: datetime | None = None
        self.lock = threading.Lock()
        self.exchanged = threading.Event()
        self.stopped = threading.Event()
        self._started = False
        self._start = start or (
            lambda loop: threading.Thread(target=loop, name="replays", daemon=True).start()
        )

    def is_replay(self, signature: str) -> bool:
        """True when the signature was seen within its window (by this process, or by another one and
        read back); otherwise it is remembered, and written to the store by the worker."""
        self._ensure_started()
        digest, now = request_digest(signature), self.clock()
        with self.lock:
            until = self.seen.get(digest)
            if until is not None and until > now:
                return True
            self.seen[digest] = now + REPLAY_WINDOW
            self.to_write.append((digest, now + REPLAY_WINDOW))
            if len(self.seen) > IN_MEMORY:
                for old in list(self.seen)[: IN_MEMORY // 10]:
                    del self.seen[old]
        return False

    def _ensure_started(self) -> None:
        with self.lock:
            if self._started:
                return
            self._started = True
        self._start(self._loop)

    def _loop(self) -> None:
        while not self.stopped.wait(self.every):
            self.exchange()
        self.exchange()  # what this process saw last is not lost for the others

    def close(self) -> None:
        """Stop the worker (after one last exchange)."""
        self.stopped.set()

    def exchange(self) -> None:
        """Write this process's new signatures, read back the others' (one worker calls it)."""
        with self.lock:
            batch, self.to_write = self.to_write, []
        now = self.clock()
        try:
            with db.transaction(self.session_factory) as session:
                if batch:
                    remember_requests(session, digests=batch, now=now)
            since = (self.watermark - SKEW) if self.watermark is not None else now - REPLAY_WINDOW
            with self.session_factory() as session:
                found = requests_since(session, since=since, now=now)
        except Exception as exc:  # the store down or hung: memory still answers; try again soon
            with self.lock:
                self.to_write = batch + self.to_write
            log.warning("the replay check could not reach the store (%s): memory answers", type(exc).__name__)
            return
        with self.lock:
            for digest, until in found:
                if until > self.seen.get(digest, now):
                    self.seen[digest] = until
                self.watermark = max(self.watermark or until, until)
        self.exchanged.set()

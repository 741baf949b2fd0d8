"""Shutdown on SIGTERM and SIGINT: stop taking work, let the send in flight finish, release what is
claimed, stop the scheduler and the server, and exit 0 within :data:`GRACE` seconds.

The signal reaches a thread of its own through Python's wakeup fd (``signal.set_wakeup_fd``): the
interpreter's C-level handler writes the signal's number to a pipe the moment the signal arrives,
whichever thread the kernel delivered it to. (A Python-level handler alone runs only when the main
thread next executes bytecode: a signal delivered to another thread while the main thread sleeps
in a wait without timeout was never handled, and the process did not stop; one start in about
twenty under a busy machine.) The Python-level handler only notes the signal: it runs in the main
thread between two bytecodes of whatever that thread was doing, so it never waits on a lock. The
signals' thread reads the pipe and does the rest: it sets the stop events, which ends the main
thread's wait (every process's main thread waits on :attr:`Lifecycle.stopping`), and the
caller's ``finally`` cleans up. A second signal
exits at once. Worker threads still running after the grace period (a sync waiting on Partner
Center, an answer waiting on a hung store) hold nothing that is not leased, so the process leaves
them behind instead of waiting for them.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

log = logging.getLogger(__name__)

GRACE = 8.0
"""Seconds the jobs get to finish their current step after a signal (exit comes within 10 s)."""
EXIT_DEADLINE = 9.5
"""Seconds after a signal at which the process exits whatever it is doing (the signals' thread
writes where every thread was to standard error first: a shutdown that takes this long is a bug)."""


class ShuttingDown(SystemExit):
    """Raised in the main thread by the signal handler to end the serving loop: a control-flow signal,
    not an error (so not an ``OfferbotError``). A ``SystemExit``, because that is what waitress's
    loop stops on (closing its server and letting requests in flight end)."""


class Lifecycle:
    def __init__(self) -> None:
        self.stopping = threading.Event()
        """Set by a signal: anything waiting (a retry's backoff) ends at once."""
        self.stops: list[threading.Event] = [self.stopping]
        self.idles: list[threading.Event] = []
        self.signalled: str | None = None
        self.since = time.monotonic()
        self.on_stop: list[Callable[[], None]] = []

    def add_job(self, *, stop: threading.Event, idle: threading.Event) -> None:
        """A job that stops on ``stop`` and sets ``idle`` between steps: shutdown waits for it."""
        self.stops.append(stop)
        self.idles.append(idle)

    def install(self) -> None:
        """Take SIGTERM and SIGINT (main thread only, as Python requires)."""
        if threading.current_thread() is not threading.main_thread():
            return
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        threading.Thread(target=self._on_signals, name="signals", daemon=True).start()
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        # One byte per signal, written by the interpreter's C handler whatever thread got it.
        signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        """The Python-level handler: a note, nothing that can wait (see the module's docstring);
        the signal's byte is already in the pipe."""
        self._note(signum)

    def _note(self, signum: int) -> None:
        if self.signalled is None:
            with contextlib.suppress(ValueError):
                self.signalled = signal.Signals(signum).name
            self.since = time.monotonic()

    def _on_signals(self) -> None:
        """The signals' thread: the first stops everything, a second exits at once, and so does
        :data:`EXIT_DEADLINE` after the first (no log call here: its locks may be the ones stuck)."""
        first = os.read(self._read, 1)
        self._note(first[0] if first else signal.SIGTERM)
        self.stop()
        again, _, _ = select.select([self._read], [], [], EXIT_DEADLINE)
        if not again:
            note = f"offerbot: still stopping {EXIT_DEADLINE:.1f} s after the signal: exiting; its threads:\n"
            with contextlib.suppress(OSError):
                os.write(2, note.encode())
                faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        os._exit(0)  # asked twice, or stopping took too long: nothing held is not leased

    def stop(self) -> None:
        """Ask everything to stop: every waiting loop and the main thread's wait end."""
        for event in list(self.stops):
            event.set()

    def finish(self) -> None:
        """After the serving loop ended: stop what was registered, wait for the jobs' current step
        (at most :data:`GRACE` s), then exit 0 at once if a signal asked for it."""
        started = self.since if self.signalled else time.monotonic()
        for event in self.stops:
            event.set()
        for stop in self.on_stop:
            try:
                stop()
            except Exception:
                log.exception("while shutting down")
        for idle in self.idles:
            idle.wait(max(0.0, GRACE - (time.monotonic() - started)))
        if self.signalled is None:
            return
        busy = sum(not idle.is_set() for idle in self.idles)
        log.info(
            "%s: stopped in %.1f s%s",
            self.signalled,
            time.monotonic() - started,
            f"; {busy} job(s) left mid-step, their claims run out with their lease" if busy else "",
        )
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)  # threads blocked on the network or a hung store must not hold the exit

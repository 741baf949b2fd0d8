"""The scheduled jobs in their own process under ``serve`` (``OFFERBOT_JOBS=process``, the default).

The watcher's and the sync's work is Python that holds the interpreter's lock: a first import of
100,000 offers, handled in the same process as the answers, made ``/offer-status`` wait behind it
(p99 from 5 ms to over 100 ms). ``serve`` therefore runs ``offerbot jobs`` as a child process with
the same environment, restarts it (after 1, 2, 4... at most 60 seconds) if it dies, and stops it
on shutdown. A change stored by the push API reaches the child's watcher through its one-second
probe. The child serves its own metrics on a loopback port it writes to a file, and ``/metrics``
of ``serve`` shows both processes' figures (label ``process``: ``serve`` or ``jobs``).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bot.runtime.lifecycle import GRACE

log = logging.getLogger(__name__)

PORT_FILE_ENV = "OFFERBOT_JOBS_METRICS_PORT_FILE"
"""Where the child writes the loopback port of its metrics (set by the parent)."""
FIRST_DELAY, MAX_DELAY = 1.0, 60.0


PARENT_ENV = "OFFERBOT_JOBS_PARENT"
"""The pid of the ``serve`` that started the child (read from the environment, not ``getppid()``,
which is already 1 when ``serve`` dies while the child is still starting)."""


def follow_parent() -> None:
    """In the child: stop (as on SIGTERM) once ``serve`` is gone, even if it was killed with -9."""
    parent = int(os.environ.get(PARENT_ENV) or os.getppid())

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        log.warning("jobs: serve (process %d) is gone; stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


def lower_priority(nice: int) -> None:
    """In the child under ``serve``: yield the CPU to the process that answers Slack. On two cores a
    sync pass or a first import otherwise takes the time ``/offer-status`` needs (``OFFERBOT_JOBS_NICE``,
    default 10). ``offerbot jobs`` started by hand keeps its priority."""
    if nice and PARENT_ENV in os.environ and hasattr(os, "nice"):
        os.nice(nice)
        log.info("jobs: running at nice +%d, below the answers", nice)


class JobsProcess:
    """Starts ``offerbot jobs``, restarts it when it dies, stops it on shutdown."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.exited = threading.Event()
        self.exited.set()
        self.folder = Path(tempfile.mkdtemp(prefix="offerbot-jobs-"))
        self.port_file = self.folder / "metrics-port"
        self.child: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        threading.Thread(target=self._supervise, name="jobs-process", daemon=True).start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, PORT_FILE_ENV: str(self.port_file), PARENT_ENV: str(os.getpid())}
        self.port_file.unlink(missing_ok=True)
        child = subprocess.Popen([sys.executable, "-m", "bot.cli", "jobs"], env=env)
        log.info("jobs: the watcher and the sync run in process %d", child.pid)
        return child

    def _supervise(self) -> None:
        delay = FIRST_DELAY
        while not self.stopping.is_set():
            with self.lock:
                if self.stopping.is_set():
                    return
                self.child = self._spawn()
                self.exited.clear()
            started = time.monotonic()
            code = self.child.wait()
            self.exited.set()
            if self.stopping.is_set():
                return
            delay = FIRST_DELAY if time.monotonic() - started > MAX_DELAY else min(delay * 2, MAX_DELAY)
            log.error("jobs: process exited with %s; starting it again in %.0f s", code, delay)
            if self.stopping.wait(delay):
                return

    def stop(self) -> None:
        """SIGTERM to the child (it finishes its send and releases its claims), SIGKILL after the grace."""
        with self.lock:
            self.stopping.set()
            child = self.child
        if child is None or child.poll() is not None:
            return
        child.terminate()
        try:
            child.wait(timeout=GRACE - 1)
        except subprocess.TimeoutExpired:
            log.warning("jobs: process %d did not stop in time: killed", child.pid)
            child.kill()

    def metrics(self) -> bytes | None:
        """The child's metrics text, or None when it is not serving them (starting, restarting)."""
        try:
            port = int(self.port_file.read_text().strip())
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as response:
                return bytes(response.read())
        except (OSError, ValueError):
            return None

"""Logging, configured once at start by the CLI, through structlog.

Every module logs with ``logging.getLogger(__name__)``; structlog's ``ProcessorFormatter`` renders
each record with its time (UTC), level, logger, message and any ``extra`` fields: one JSON object
per line when the output is not a terminal (for a log pipeline), a readable line on a terminal.
``OFFERBOT_LOG_FORMAT=json|console`` overrides the guess.

Every line is redacted before it is written (:class:`Redactor`): Slack tokens, bearer tokens,
e-mail addresses and the configured secrets never reach the log, whichever library logged them.

What needs an operator is WARNING or above (a store or Slack outage, a delivery that failed for
good, a source refusing the credentials); every pass, delivery attempt and command is INFO.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Literal

import structlog
import structlog.tracebacks

Format = Literal["json", "console"]

_SHAPES = (
    # Slack tokens: bot, user, app-level, configuration, refresh (xoxb-, xoxp-, xapp-, xoxe.xoxp-...)
    (re.compile(r"\bx(?:ox[a-z]|app)(?:\.[a-z]+)?-[A-Za-z0-9-]{4,}"), "[slack token]"),
    # A bearer token wherever it is written (a header, an error text)
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"), r"\1[token]"),
    # A PEM block (a client certificate's private key), whole or cut off
    (re.compile(r"-----BEGIN [A-Z ]+-----(?:[^\"]*?-----END [A-Z ]+-----|[^\"]*)"), "[pem]"),
    # E-mail addresses (owners' notificationEmails, Slack profiles)
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"), "[e-mail]"),
)


class Redactor:
    """Masks in a log line whatever is shaped like a Slack token, a bearer token or an e-mail
    address, and every secret value it was told of (the configured secrets), whoever logged it."""

    def __init__(self) -> None:
        self._values: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def add(self, values: Iterable[str]) -> None:
        """Mask these values too (secrets shorter than 6 characters would mask ordinary words)."""
        with self._lock:
            self._values = self._values | {v for v in values if len(v) >= 6}

    def __call__(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, "[secret]")
        for pattern, replacement in _SHAPES:
            text = pattern.sub(replacement, text)
        return text


REDACT = Redactor()
"""The process's redactor: ``configure`` puts it on the one log handler."""


class RedactingFormatter(structlog.stdlib.ProcessorFormatter):
    """structlog's formatter, with the whole rendered line (message, fields, traceback) redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return REDACT(super().format(record))


def configure(level: str = "INFO", *, fmt: Format | None = None, secrets: Iterable[str] = ()) -> None:
    fmt = fmt or ("console" if sys.stderr.isatty() else "json")
    shared: list[structlog.typing.Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    final: list[structlog.typing.Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if fmt == "json":
        # Tracebacks as data, without the frames' local variables: a local may hold a token.
        tracebacks = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        final.append(structlog.processors.ExceptionRenderer(tracebacks))
    final.append(renderer)
    REDACT.add(secrets)
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(foreign_pre_chain=shared, processors=final))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # slack_sdk logs request bodies at DEBUG; keep it at INFO so tokens never reach the log.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs every request at INFO (thousands a sync pass); the sync logs its own summary.
    for name in ("httpx", "httpcore", "msal"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, root.level))
    # APScheduler logs two lines per job run at INFO (the probe runs every second); jobs log their own.
    logging.getLogger("apscheduler.executors").setLevel(max(logging.WARNING, root.level))
    # ...and a WARNING for every run skipped because the last one still runs: while the store hangs
    # that is the one-second probe, once a second. One such line per job every five minutes says
    # a job is stuck without filling the log.
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    for old in [f for f in scheduler_log.filters if isinstance(f, OncePerPeriod)]:
        scheduler_log.removeFilter(old)
    scheduler_log.addFilter(OncePerPeriod("maximum number of running instances reached", seconds=300))


class OncePerPeriod(logging.Filter):
    """Lets a message containing ``text`` through once per ``seconds`` for each job it names."""

    def __init__(self, text: str, *, seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.text, self.seconds, self.monotonic = text, seconds, monotonic
        self.last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.text not in message:
            return True
        job = message.split('"')[1] if message.count('"') >= 2 else ""
        job = job.split(" (trigger")[0]
        now = self.monotonic()
        if now - self.last.get(job, -self.seconds) < self.seconds:
            return False
        self.last[job] = now
        return True

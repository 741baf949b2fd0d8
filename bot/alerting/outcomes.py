"""What a watcher pass is configured with and what it reports: its settings, the counts of one pass,
the outcome of one delivery, and the failures that make a delivery wait."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum

from bot.i18n import DEFAULT, Language
from storage.errors import TransientError


@dataclass(frozen=True)
class WatcherConfig:
    remind_after: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(seconds=30)
    """How long claimed rows stay a process's own without news from it: it renews the lease every
    third of it while it sends, so a process killed mid-batch holds its rows at most this long."""
    batch: int = 50
    channel_interval: float = 1.0
    """Seconds between two messages to the same channel (Slack allows about one a second)."""
    language: Language = DEFAULT
    """The language of channel messages where the channel chose none (``OFFERBOT_LANGUAGE``)."""
    go_live: bool = False
    """Sign-off alerts carry *Go live* (``OFFERBOT_GO_LIVE=on`` with a Microsoft API configured)."""


@dataclass
class PassReport:
    changes: int = 0
    reminders: int = 0
    stuck: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    stopped: str | None = None
    errors: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, object]:
        """The counts, as structured log fields."""
        return {
            "changes": self.changes,
            "reminders": self.reminders,
            "stuck": self.stuck,
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "stopped": self.stopped,
        }

    def line(self) -> str:
        text = (
            f"{self.changes} change(s) handled, {self.reminders} reminder(s) due, "
            f"{self.sent} message(s) sent, {self.retried} to retry, {self.failed} failed"
        )
        text += f", {self.stuck} stuck step(s)" if self.stuck else ""
        return text + (f" (stopped: {self.stopped})" if self.stopped else "")


class Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"


UNINSTALLED_RETRY = 3600.0
"""Seconds before a delivery to a workspace without an installation is looked at again."""


class SlackTransient(TransientError):
    """Slack or the network failed in a way that may pass: keep the row and try later
    (after ``retry_after`` seconds when Slack said so)."""


class Unknown(SlackTransient):
    """The post may have reached Slack, but its answer was lost: the next attempt looks for it first."""

"""The one notion of time: every job, listener and use-case that reads the time takes a ``Clock``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
Sleep = Callable[[float], None]


def utc_now() -> datetime:
    """The real clock, injected where the app is built; tests pass their own."""
    return datetime.now(UTC)

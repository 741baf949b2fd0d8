"""Answers that never wait on a store that does not answer.

A slash command or a button is answered inside Slack's 3 seconds even when the database is down or
hung: its work runs on a small pool under a deadline (:data:`ANSWER_DEADLINE`); past it the user is
told the store is unavailable, and the late work rolls back instead of committing, so nothing a
user was told failed is saved behind their back (see :meth:`Deadline.run`). A database error that
does come back (connection refused, a timeout) gives the same answer, logged in one line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures import wait as wait_futures
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.i18n import N_
from storage.errors import TransientError

log = logging.getLogger(__name__)

T = TypeVar("T")

ANSWER_DEADLINE = 2.0
"""Seconds a command's or a button's store work may take before the user is told to try again."""
STORE_ERRORS: tuple[type[BaseException], ...] = (DBAPIError, PoolTimeout)
"""What a store that is down, hung or refusing connections raises through SQLAlchemy."""


class StoreUnavailable(TransientError):
    """The database did not answer in time or refused the connection."""

    def __init__(self) -> None:
        super().__init__(N_("The offer store is unavailable right now: try again in a minute."))


Expired = Callable[[], bool]
"""Asked by the work before it commits: True once the user was told the store is unavailable."""


class Deadline:
    """Runs store work on a pool and gives up waiting after ``seconds``."""

    def __init__(self, seconds: float = ANSWER_DEADLINE, *, workers: int = 8) -> None:
        self.seconds = seconds
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="answer")
        self.running: set[Future[object]] = set()

    def run(self, work: Callable[[Expired], T]) -> T:
        """``work(expired)``'s result, or :class:`StoreUnavailable` after the deadline. ``work``
        must call ``expired()`` just before it commits and roll back when it is True."""
        given_up = threading.Event()
        future = self.pool.submit(work, given_up.is_set)
        self.running.add(future)  # type: ignore[arg-type]
        future.add_done_callback(self.running.discard)
        try:
            return future.result(timeout=self.seconds)
        except FutureTimeout:
            given_up.set()
            log.warning("the store did not answer within %.1f s: told the user to try again", self.seconds)
            raise StoreUnavailable() from None
        except STORE_ERRORS as exc:
            log.warning("the store failed: %s", type(exc.__cause__ or exc).__name__)
            raise StoreUnavailable() from None

    def settle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for work still running (given up on or not); True when none is."""
        return not wait_futures(list(self.running), timeout=timeout).not_done

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def check_not_expired(expired: Expired) -> None:
    """Raise before a commit whose answer the user no longer waits for."""
    if expired():
        raise StoreUnavailable()

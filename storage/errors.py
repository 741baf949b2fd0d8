"""The one root exception of offerbot and its families.

Every error a user can cause (bad input, bad configuration, an unknown offer) is an
``OfferbotError`` whose message says what to do; anything else is a bug and is logged
with its traceback by the caller's single error handler.

An error a Slack user may see is raised with its message marked for translation and its values
apart (``UsageError(N_('unknown status "%(word)s"'), word=word)``), so the answer can be worded
in the user's language; ``str(error)`` is the English text, for logs and the command line.
"""

from __future__ import annotations


class OfferbotError(Exception):
    """Root of every error offerbot raises on purpose. ``str(error)`` is safe to show a user."""

    def __init__(self, message: str = "", /, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)


class TransientError(OfferbotError):
    """A remote service failed in a way that may pass: try again later, after ``retry_after``
    seconds when the service said so."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigError(OfferbotError):
    """The environment does not configure what the requested command needs."""


class DocumentError(OfferbotError):
    """An import document is malformed or invalid; nothing was written."""


class UsageError(OfferbotError):
    """A command was called with arguments it does not understand."""

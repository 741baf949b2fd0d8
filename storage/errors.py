"""The one root exception of offerbot and its families.

Every error a user can cause (bad input, bad configuration, an unknown offer) is an
``OfferbotError`` whose message says what to do; anything else is a bug and is logged
with its traceback by the caller's single error handler.
"""


class OfferbotError(Exception):
    """Root of every error offerbot raises on purpose. ``str(error)`` is safe to show a user."""


class ConfigError(OfferbotError):
    """The environment does not configure what the requested command needs."""


class DocumentError(OfferbotError):
    """An import document is malformed or invalid; nothing was written."""


class UsageError(OfferbotError):
    """A command was called with arguments it does not understand."""

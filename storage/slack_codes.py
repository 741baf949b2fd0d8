"""Slack's Web API error codes as data: what kind of failure each is and what a person must do
about it. The classification of a failed call (``bot/slack/errors.py``) reads it, and so do the
renderers that word the fix, without depending on the Slack layer."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    RATE_LIMITED = "rate_limited"
    """Slack asked us to slow down: wait ``Retry-After``, then try again."""
    TRANSIENT = "transient"
    """Slack or the network failed in a way that passes: try again later, with backoff."""
    DESTINATION = "destination"
    """This channel cannot receive the bot's messages until a person acts: stop, disable the
    subscription, tell its creator."""
    INSTALLATION = "installation"
    """The app's token or scopes no longer work: stop, disable, an admin must reinstall."""
    OTHER = "other"
    """This one call failed for good; nothing to disable."""


class Fix(StrEnum):
    """What a person does so that the bot can post again (renderers word it)."""

    INVITE = "invite"
    INVITE_OR_ANOTHER_CHANNEL = "invite_or_another_channel"
    UNARCHIVED_CHANNEL = "unarchived_channel"
    REINSTALL = "reinstall"
    REINSTALL_FROM_MANIFEST = "reinstall_from_manifest"


ERRORS: dict[str, tuple[Kind, Fix | None]] = {
    "ratelimited": (Kind.RATE_LIMITED, None),
    "internal_error": (Kind.TRANSIENT, None),
    "fatal_error": (Kind.TRANSIENT, None),
    "service_unavailable": (Kind.TRANSIENT, None),
    "request_timeout": (Kind.TRANSIENT, None),
    "not_in_channel": (Kind.DESTINATION, Fix.INVITE),
    "channel_not_found": (Kind.DESTINATION, Fix.INVITE_OR_ANOTHER_CHANNEL),
    "is_archived": (Kind.DESTINATION, Fix.UNARCHIVED_CHANNEL),
    "account_inactive": (Kind.INSTALLATION, Fix.REINSTALL),
    "token_revoked": (Kind.INSTALLATION, Fix.REINSTALL),
    "invalid_auth": (Kind.INSTALLATION, Fix.REINSTALL),
    "missing_scope": (Kind.INSTALLATION, Fix.REINSTALL_FROM_MANIFEST),
}
"""Slack's error codes that are not simply "this call failed": everything else is :attr:`Kind.OTHER`
(or transient, when the HTTP status says so)."""

DISABLING_ERRORS = frozenset(
    code for code, (kind, _fix) in ERRORS.items() if kind in (Kind.DESTINATION, Kind.INSTALLATION)
)
"""Errors after which a destination cannot work until a person acts."""


def fix_for(code: str) -> Fix | None:
    return ERRORS.get(code, (Kind.OTHER, None))[1]

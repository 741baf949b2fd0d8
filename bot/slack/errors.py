"""One classification of Slack Web API failures, used by every call the bot makes: what kind of
failure it is, and what a person must do about it. Renderers word the fix; the watcher, the
``subscribe`` confirmation and the alerts' notices read the same table."""

from __future__ import annotations

import http.client
import urllib.error
from dataclasses import dataclass
from enum import StrEnum

from slack_sdk.errors import SlackApiError


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

NETWORK_ERRORS: tuple[type[BaseException], ...] = (OSError, urllib.error.URLError, http.client.HTTPException)


@dataclass(frozen=True)
class SlackFailure:
    code: str
    kind: Kind
    fix: Fix | None = None
    retry_after: float | None = None

    @property
    def transient(self) -> bool:
        return self.kind in (Kind.RATE_LIMITED, Kind.TRANSIENT)

    @property
    def disables(self) -> bool:
        return self.kind in (Kind.DESTINATION, Kind.INSTALLATION)


def fix_for(code: str) -> Fix | None:
    return ERRORS.get(code, (Kind.OTHER, None))[1]


def _retry_after(exc: SlackApiError) -> float | None:
    for key, value in (exc.response.headers or {}).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return None
    return None


def classify(exc: BaseException) -> SlackFailure:
    """The failure of one Web API call: a Slack error (by its code and HTTP status), or the network."""
    if not isinstance(exc, SlackApiError):
        return SlackFailure(code=exc.__class__.__name__, kind=Kind.TRANSIENT)
    status = exc.response.status_code
    code = str(exc.response.get("error") or f"http_{status}")
    kind, fix = ERRORS.get(code, (Kind.OTHER, None))
    if status == 429:
        kind = Kind.RATE_LIMITED
    elif status >= 500:
        kind = Kind.TRANSIENT  # whatever the code says, a server error may pass
    retry_after = _retry_after(exc) if kind in (Kind.RATE_LIMITED, Kind.TRANSIENT) else None
    return SlackFailure(code=code, kind=kind, fix=fix, retry_after=retry_after)

"""One classification of Slack Web API failures, used by every call the bot makes: what kind of
failure it is, and what a person must do about it, from the table of codes in
``storage/slack_codes.py`` (which the renderers read to word the fix)."""

from __future__ import annotations

import http.client
import urllib.error
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from storage.slack_codes import ERRORS, Fix, Kind

NETWORK_ERRORS: tuple[type[BaseException], ...] = (OSError, urllib.error.URLError, http.client.HTTPException)
CALL_ERRORS: tuple[type[BaseException], ...] = (SlackApiError, *NETWORK_ERRORS)
"""Every way one Web API call fails: Slack's answer, or the network."""


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

"""Who the bot token is: ``auth.test``, asked again with backoff while Slack is unreachable, and
only an answer that rejects the token reported as a token problem."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.metrics import SLACK_ERRORS
from bot.slack.errors import NETWORK_ERRORS, classify
from storage.errors import ConfigError, TransientError
from storage.slack_codes import Kind

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({"invalid_auth", "account_inactive", "token_revoked", "not_authed", "token_expired"})
"""``auth.test`` answers that mean the token itself is wrong: no retry helps."""
FIRST_DELAY, MAX_DELAY = 1.0, 60.0
STILL_DOWN_EVERY = 300.0
"""Seconds between two "still unreachable" lines while Slack stays down."""


class SlackUnreachable(TransientError):
    """Slack did not answer ``auth.test`` (network, 5xx, rate limit) for as long as we could wait."""


def whoami(
    client: WebClient,
    *,
    stop: threading.Event,
    give_up_after: float | None = None,
    on_wait: Callable[[str], None] = lambda _reason: None,
    monotonic: Callable[[], float] = time.monotonic,
) -> SlackResponse | None:
    """``auth.test``, asked again after 1, 2, 4... (at most 60) seconds while Slack is unreachable;
    :class:`ConfigError` when Slack rejects the token, :class:`SlackUnreachable` after
    ``give_up_after`` seconds (None: never), None when ``stop`` is set."""
    started, delay, down_since, told = monotonic(), FIRST_DELAY, None, 0.0
    while True:
        reason = _attempt(client)
        if isinstance(reason, SlackResponse):
            if down_since is not None:
                log.info("Slack answers again after %.0f s", monotonic() - down_since)
            return reason
        on_wait(reason)
        now = monotonic()
        if down_since is None or now - told >= STILL_DOWN_EVERY:
            state = "unreachable" if down_since is None else "still unreachable"
            log.warning("Slack is %s (%s): asking again with backoff", state, reason)
            down_since, told = down_since or now, now
        if give_up_after is not None and now + delay - started > give_up_after:
            raise SlackUnreachable(f"Slack is unreachable ({reason}): try again when it answers")
        if stop.wait(delay):
            return None
        delay = min(delay * 2, MAX_DELAY)


def _attempt(client: WebClient) -> SlackResponse | str:
    """Slack's answer, or why it could not be had; raises when the token is refused."""
    try:
        return client.auth_test()
    except SlackApiError as exc:
        failure = classify(exc)
        SLACK_ERRORS.labels(method="auth.test", code=failure.code).inc()
        if failure.kind in (Kind.TRANSIENT, Kind.RATE_LIMITED):
            return failure.code
        if failure.code in TOKEN_ERRORS:
            raise ConfigError(
                f"Slack rejected SLACK_BOT_TOKEN ({failure.code}): copy the app's Bot User OAuth Token again"
            ) from None
        raise ConfigError(f"Slack refused auth.test ({failure.code})") from None
    except NETWORK_ERRORS as exc:
        SLACK_ERRORS.labels(method="auth.test", code=classify(exc).code).inc()
        return classify(exc).code

"""The one classification of Slack Web API failures, row by row."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.slack.errors import classify
from storage.slack_codes import DISABLING_ERRORS, ERRORS, Fix, Kind, fix_for


def slack_error(code: str | None, status: int = 200, headers: dict[str, str] | None = None) -> SlackApiError:
    data = {"ok": False, **({"error": code} if code else {})}
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.test/api/chat.postMessage",
        req_args={},
        data=data,
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError("failed", response)


@pytest.mark.parametrize(("code", "row"), sorted(ERRORS.items()))
def test_every_row_of_the_table(code: str, row: tuple[Kind, Fix | None]) -> None:
    failure = classify(slack_error(code))
    assert (failure.code, failure.kind, failure.fix) == (code, *row)
    assert failure.transient == (row[0] in (Kind.RATE_LIMITED, Kind.TRANSIENT))
    assert failure.disables == (code in DISABLING_ERRORS)
    assert fix_for(code) is row[1]


def test_status_codes_and_the_network() -> None:
    limited = classify(slack_error("ratelimited", 429, {"Retry-After": "7"}))
    assert (limited.kind, limited.retry_after) == (Kind.RATE_LIMITED, 7.0)
    assert classify(slack_error(None, 503)).kind is Kind.TRANSIENT
    assert classify(slack_error(None, 503)).code == "http_503"
    assert classify(slack_error("invalid_blocks", 200)).kind is Kind.OTHER
    assert classify(slack_error("not_in_channel", 200)).disables
    network = classify(ConnectionResetError())
    assert (network.kind, network.code) == (Kind.TRANSIENT, "ConnectionResetError")
    assert {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "account_inactive",
        "token_revoked",
        "invalid_auth",
        "missing_scope",
    } == DISABLING_ERRORS


def test_a_server_error_is_transient_whatever_its_code_and_keeps_retry_after() -> None:
    failure = classify(slack_error("invalid_auth", 500, {"Retry-After": "30"}))
    assert failure.transient and not failure.disables and failure.retry_after == 30.0
    assert classify(slack_error("not_in_channel", 503)).kind is Kind.TRANSIENT

"""``offerbot doctor``'s Slack checks: the bot token (``auth.test``) and the scopes it was granted
against the manifest's, Socket Mode's app token or HTTP mode's signing secret, and the bot's
membership of every channel that has a subscription. One try each, short timeouts: a doctor
reports, it does not wait."""

from __future__ import annotations

from collections.abc import Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import Settings
from bot.slack.app import BOT_SCOPES, make_client
from bot.slack.errors import CALL_ERRORS, classify
from bot.slack.people import quick_client
from bot.usecases.doctor import Check, Verdict

REINSTALL = "reinstall the app from manifest.yml (OAuth & Permissions > Reinstall to Workspace)"


def check_token(settings: Settings) -> tuple[Check, WebClient | None]:
    """The bot token works, and was granted every scope the manifest asks for."""
    if settings.slack_bot_token is None:
        if settings.multi_workspace:
            return Check("slack token", Verdict.SKIP, "multi-workspace mode: each install has its own"), None
        fix = "set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-...)"
        return Check("slack token", Verdict.FAIL, "SLACK_BOT_TOKEN is not set", fix), None
    client = quick_client(make_client(settings))
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        return Check("slack token", Verdict.FAIL, f"auth.test: {classify(exc).code}", REINSTALL), None
    except CALL_ERRORS as exc:
        return Check(
            "slack token", Verdict.FAIL, f"Slack unreachable ({classify(exc).code})", "try again"
        ), None
    who = f"{answer.get('team')} ({answer.get('team_id')}) as {answer.get('user')}"
    header = next((v for k, v in (answer.headers or {}).items() if k.lower() == "x-oauth-scopes"), None)
    granted = _granted(header)  # HTTP header names are case-insensitive; Slack sends x-oauth-scopes
    missing = [scope for scope in BOT_SCOPES if granted is not None and scope not in granted]
    if missing:
        return Check(
            "slack token", Verdict.FAIL, f"{who}; missing scopes: {', '.join(missing)}", REINSTALL
        ), client
    return Check("slack token", Verdict.OK, who), client


def _granted(header: str | list[str] | None) -> set[str] | None:
    if header is None:
        return None
    raw = header[0] if isinstance(header, list) else header
    return {s.strip() for s in raw.split(",") if s.strip()}


def check_connection(settings: Settings) -> Check:
    """Socket Mode's app-level token, or HTTP mode's signing secret."""
    if settings.socket_mode:
        assert settings.slack_app_token is not None
        if not settings.slack_app_token.get_secret_value().startswith("xapp-"):
            fix = "create an app-level token with connections:write (Basic Information)"
            return Check("connection", Verdict.FAIL, "SLACK_APP_TOKEN is not an xapp- token", fix)
        return Check("connection", Verdict.OK, "Socket Mode (SLACK_APP_TOKEN)")
    if settings.slack_signing_secret is None:
        fix = "set SLACK_APP_TOKEN for Socket Mode, or SLACK_SIGNING_SECRET for HTTP mode"
        return Check("connection", Verdict.FAIL, "neither Socket Mode nor a signing secret", fix)
    return Check("connection", Verdict.OK, "HTTP mode (SLACK_SIGNING_SECRET): Slack must reach /slack/events")


def check_channels(client: WebClient, channels: Iterable[str]) -> Check:
    """The bot is a member of every channel that has a subscription (else its alerts fail there)."""
    outside: list[str] = []
    asked = 0
    for channel in channels:
        asked += 1
        try:
            info = client.conversations_info(channel=channel)["channel"]
        except CALL_ERRORS as exc:
            outside.append(f"{channel} ({classify(exc).code})")
            continue
        if not info.get("is_member"):
            outside.append(channel)
    if outside:
        fix = "/invite @offerbot in " + ", ".join(f"<#{c.split(' ')[0]}>" for c in outside)
        return Check("channels", Verdict.FAIL, f"not in {len(outside)} of {asked}: {', '.join(outside)}", fix)
    return Check("channels", Verdict.OK, f"in all {asked} channel(s) that have subscriptions")

"""The Bolt app factory and its thin listeners.

A listener acks first with the whole answer (``process_before_response=True``: the card is
computed during the request, so answers never depend on ``response_url`` and come back in
about a millisecond plus the query), parses, calls a plain function in ``bot.commands``,
renders, and makes at most one Slack call.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, BoltResponse, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot import commands, render
from bot.alerts import OPEN_STATUS_ACTION, PARTNER_CENTER_ACTION
from bot.render import COMMAND, LIST_PAGE_ACTION, Reply
from bot.settings import Settings
from bot.slack_errors import Fix, classify, fix_for
from storage import db
from storage.db import SessionFactory
from storage.errors import OfferbotError

log = logging.getLogger(__name__)

SLASH_COMMANDS = (COMMAND,)
"""Every slash command the app registers; ``manifest.yml`` must declare exactly these."""
BOT_EVENTS: tuple[str, ...] = ()
"""Every Events API event the app handles; ``manifest.yml`` must subscribe to exactly these."""

SORRY = (
    "Sorry, something went wrong on our side while answering. It has been logged; "
    "try again in a minute, and tell your Slack admin if it keeps happening."
)


def make_client(settings: Settings) -> WebClient:
    """The Web API client: ``SLACK_API_URL`` as base URL, with slack_sdk's retry handlers."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def _ephemeral(reply: Reply) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": reply.text, "blocks": reply.blocks}


def _reply_kwargs(reply: Reply) -> dict[str, Any]:
    return {"text": reply.text, "blocks": reply.blocks}


def cannot_post(error: str) -> Reply:
    """What to do when Slack will not let the bot post in the channel being subscribed."""
    fix = fix_for(error)
    if fix in (Fix.INVITE, Fix.INVITE_OR_ANOTHER_CHANNEL):
        text = (
            ":warning: I can't post in this channel yet, so I did not subscribe it. Invite me with "
            "`/invite @offerbot`, then run the same command again."
        )
    elif fix is Fix.UNARCHIVED_CHANNEL:
        text = ":warning: This channel is archived: subscribe another channel."
    else:
        text = (
            f":warning: Slack would not let me post here (`{render.esc(error)}`), so I did not subscribe it."
        )
    return Reply(text=text, blocks=[render.section(text)])


def _answer(compute: Callable[[], Reply]) -> Reply:
    """Run a command; a user's mistake becomes a helpful answer, anything else goes to the error handler."""
    try:
        return compute()
    except OfferbotError as exc:
        return render.render_error(str(exc))


def _team(body: dict[str, Any]) -> str:
    team = body.get("team_id") or (body.get("team") or {}).get("id") or body.get("enterprise_id")
    if not team:
        raise OfferbotError("this request carries no workspace id")
    return str(team)


def create_app(
    settings: Settings,
    *,
    session_factory: SessionFactory,
    client: WebClient | None = None,
    token_verification: bool = True,
) -> App:
    """Build the Bolt app. Needs ``SLACK_BOT_TOKEN`` and, for HTTP mode, ``SLACK_SIGNING_SECRET``."""
    settings.require_slack(http=not settings.socket_mode)
    signing = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = App(
        client=client or make_client(settings),
        signing_secret=signing or "",
        request_verification_enabled=signing is not None,
        process_before_response=True,
        token_verification_enabled=token_verification,
        logger=logging.getLogger("bot.bolt"),
    )

    def offer_status_ack(ack: Ack, command: dict[str, Any]) -> None:
        text = str(command.get("text") or "")
        team = _team(command)
        log.info("slash command team=%s user=%s text=%r", team, command.get("user_id"), text[:200])

        def compute() -> Reply:
            # Only the verbs that write take a write transaction: on SQLite that waits for the write
            # lock, and an answer must never queue behind an import.
            words = commands.split_words(text)
            writes = bool(words) and words[0].lower() in commands.WRITE_VERBS
            with db.transaction(session_factory) if writes else session_factory() as session:
                return commands.handle_command(
                    session,
                    team_id=team,
                    text=text,
                    user_id=str(command.get("user_id") or ""),
                    channel_id=str(command.get("channel_id") or ""),
                    now=datetime.now(UTC),
                )

        ack(**_ephemeral(_answer(compute)))

    def offer_status_subscribe(command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """After ``subscribe`` was acked: post the confirmation in the channel (which proves the bot
        can post there), then save the subscription; or tell the user how to let the bot in."""
        words = commands.split_words(str(command.get("text") or ""))
        if not words or words[0].lower() != "subscribe" or not command.get("channel_id"):
            return
        team, channel, user = _team(command), str(command["channel_id"]), str(command.get("user_id") or "")
        with session_factory() as session:
            request = commands.parse_request(session, team_id=team, verb="subscribe", args=words[1:])
        if not isinstance(request, commands.Request):
            return  # the ack already explained
        confirmation = commands.subscription_confirmation(request, user_id=user)
        try:
            client.chat_postMessage(channel=channel, text=confirmation.text, blocks=confirmation.blocks)
        except SlackApiError as exc:
            error = classify(exc).code
            log.info("subscribe in %s: Slack answered %s", channel, error)
            respond(replace_original=True, response_type="ephemeral", **_reply_kwargs(cannot_post(error)))
            return
        with db.transaction(session_factory) as session:
            commands.save_subscription(
                session,
                team_id=team,
                destination_kind="channel",
                destination=channel,
                user_id=user,
                request=request,
                now=datetime.now(UTC),
            )

    app.command(COMMAND)(ack=offer_status_ack, lazy=[offer_status_subscribe])

    def button_answer(body: dict[str, Any], action: dict[str, Any], answer: Callable[..., Reply]) -> Reply:
        """A button's answer from its value, computed on a read session."""
        team = _team(body)

        def compute() -> Reply:
            with session_factory() as session:
                return answer(session, team_id=team, value=str(action.get("value", "")))

        return _answer(compute)

    @app.action(OPEN_STATUS_ACTION)
    def open_status_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        reply = button_answer(body, action, commands.offer_card)
        respond(replace_original=False, response_type="ephemeral", **_reply_kwargs(reply))

    @app.action(PARTNER_CENTER_ACTION)
    def partner_center_link(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL, the app only acknowledges

    @app.action({"action_id": re.compile(rf"^{LIST_PAGE_ACTION}(:\d+)?$")})
    def list_page_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        reply = button_answer(body, action, commands.handle_page_action)
        respond(replace_original=True, response_type="ephemeral", **_reply_kwargs(reply))

    @app.error
    def on_error(error: Exception, body: dict[str, Any], response: BoltResponse | None) -> None:
        log.error("unhandled error in a listener", exc_info=error)
        if response is not None and body.get("command"):
            response.status = 200
            response.headers = {"content-type": ["application/json;charset=utf-8"]}
            response.body = json.dumps({"response_type": "ephemeral", "text": f":warning: {SORRY}"})

    return app

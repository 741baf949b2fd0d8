"""The ``/offer-status`` slash command: the whole answer in the ack, and for ``subscribe`` a lazy
listener that saves the subscription, then posts its confirmation in the channel (proving the bot can
post there; when it cannot, the subscription is put back as it was)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.guard import STORE_ERRORS, Expired, StoreUnavailable, check_not_expired
from bot.i18n import Translator
from bot.metrics import COMMAND_SECONDS, COMMANDS, timed
from bot.render.blocks import COMMAND, Reply
from bot.render.help import render_cannot_post, render_error
from bot.render.owners import render_channel_note
from bot.render.subscriptions import render_subscription_confirmation
from bot.slack import answers, grammar
from bot.slack.errors import CALL_ERRORS, classify
from bot.slack.escaped import plain
from bot.slack.listeners import (
    Deps,
    actor_of,
    answer,
    ephemeral,
    guarded,
    reader,
    reply_kwargs,
    team_of,
    viewer_of,
)
from bot.usecases.subscriptions import (
    AlertArgs,
    AlertRequest,
    preview_subscribe,
    subscribe_channel,
    undo_subscribe,
)
from storage import db
from storage.alerts.subscriptions import Previous
from storage.errors import UsageError

log = logging.getLogger(__name__)


def command_text(command: dict[str, Any]) -> str:
    """The command's text, made plain from Slack's escaping (one parse, for the ack and the save)."""
    return plain(str(command.get("text") or ""))


SLASH_COMMANDS = (COMMAND,)
"""Every slash command the app registers; ``manifest.yml`` must declare exactly these."""


def _answer(deps: Deps, command: dict[str, Any], tr: Translator, expired: Expired) -> answers.Answer:
    """The command's answer. Only the verbs that write take a write transaction: on SQLite that waits
    for the write lock, and an answer must never queue behind an import. A write whose user was
    already told the store is unavailable rolls back."""
    text = command_text(command)
    writes = grammar.writes(text)
    factory = deps.session_factory
    actor = actor_of(deps, command)
    with db.transaction(factory) if writes else factory() as session:
        answered = answers.answer_command(
            session,
            team_id=team_of(command),
            text=text,
            tr=tr,
            user_id=str(command.get("user_id") or ""),
            channel_id=str(command.get("channel_id") or ""),
            now=deps.clock(),
            actor=actor,
            policy=deps.policy,
            time_zone=deps.people.time_zone(
                team_id=team_of(command), user_id=str(command.get("user_id") or "")
            ),
            viewer=viewer_of(deps, command, here=str(command.get("channel_id") or "")),
            go_live=deps.publishers is not None,
        )
        check_not_expired(expired)
        return answered


def _subscribe(deps: Deps, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
    """After ``subscribe`` was acked: save the subscription, then post the confirmation in the channel
    (in the channel's language). Nothing is confirmed before it is committed: a store that fails
    gets "try again"; a channel the bot cannot post in gets the subscription put back as it was,
    and the user is told how to let the bot in."""
    text = command_text(command)
    typed = grammar.subscribe_args(text)
    if typed is None or not command.get("channel_id"):
        return  # not a subscribe, or the ack already explained
    team, channel, user = team_of(command), str(command["channel_id"]), str(command.get("user_id") or "")
    tr = reader(deps, command)
    try:
        saved = _save(deps, command, typed, team=team, channel=channel, user=user)
    except STORE_ERRORS as exc:
        log.warning("subscribe in %s: the store failed (%s); nothing saved", channel, type(exc).__name__)
        _respond(respond, render_error(StoreUnavailable(), tr=tr))
        return
    if saved is None:
        return
    request, before = saved
    error = _confirm(deps, client, team=team, channel=channel, user=user, request=request)
    if error is None:
        return
    with db.transaction(deps.session_factory) as session:
        undo_subscribe(session, team_id=team, channel=channel, request=request, before=before)
    _respond(respond, render_cannot_post(error, tr=tr))


def _save(
    deps: Deps, command: dict[str, Any], typed: AlertArgs, *, team: str, channel: str, user: str
) -> tuple[AlertRequest, Previous | None] | None:
    """Resolve and check the ``subscribe`` as the ack did, then save it (checked again); None when
    the ack answered with a refusal or a look-up."""
    actor = actor_of(deps, command)
    try:
        with deps.session_factory() as session:
            request = preview_subscribe(
                session, team_id=team, channel=channel, actor=actor, policy=deps.policy, args=typed
            )
        if not isinstance(request, AlertRequest):
            return None
        with db.transaction(deps.session_factory) as session:
            before = subscribe_channel(
                session,
                team_id=team,
                channel=channel,
                user_id=user,
                request=request,
                now=deps.clock(),
                actor=actor,
                policy=deps.policy,
            )
    except UsageError:
        return None
    return request, before


def _confirm(
    deps: Deps, client: WebClient, *, team: str, channel: str, user: str, request: AlertRequest
) -> str | None:
    """Post the subscription's confirmation in the channel; Slack's error code when it refuses."""
    in_channel = deps.people.for_channel(team_id=team, channel=channel)
    confirmation = render_subscription_confirmation(request, user_id=user, tr=in_channel)
    try:
        client.chat_postMessage(channel=channel, text=confirmation.text, blocks=confirmation.blocks)
    except SlackApiError as exc:
        log.info("subscribe in %s: Slack answered %s", channel, classify(exc).code)
        return classify(exc).code
    return None


def _respond(respond: Respond, reply: Reply) -> None:
    respond(replace_original=True, response_type="ephemeral", **reply_kwargs(reply))


def _announce(deps: Deps, client: WebClient, team: str, change: answers.ChannelChange) -> None:
    """Tell the channel who changed its alerts, in the channel's language (after the answer)."""
    tr = deps.people.for_channel(team_id=team, channel=change.channel)
    note = render_channel_note(change.change, user_id=change.user_id, tr=tr)
    try:
        client.chat_postMessage(channel=change.channel, text=note.text, blocks=note.blocks)
    except CALL_ERRORS as exc:
        log.warning("could not announce a change in %s: %s", change.channel, classify(exc).code)


def register(app: App, deps: Deps) -> None:
    announcer = ThreadPoolExecutor(2, thread_name_prefix="announce")

    def offer_status_ack(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        with timed(COMMAND_SECONDS):
            _ack(ack, command, client)
        COMMANDS.labels(outcome="answered").inc()

    def _ack(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        text = command_text(command)
        log.info(
            "slash command team=%s user=%s text=%r", team_of(command), command.get("user_id"), text[:200]
        )
        changes: list[answers.ChannelChange] = []

        def work(expired: Expired) -> Reply:
            tr = reader(deps, command)

            def reply() -> Reply:
                answered = _answer(deps, command, tr, expired)
                changes.extend(answered.changes)  # announced once the ack is sent (committed by then)
                return answered.reply

            return answer(reply, tr)

        ack(**ephemeral(guarded(deps, work)))
        for change in changes:  # committed: the answer was computed after the transaction ended
            announcer.submit(_announce, deps, client, team_of(command), change)

    def offer_status_subscribe(command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        _subscribe(deps, command, client, respond)

    app.command(COMMAND)(ack=offer_status_ack, lazy=[offer_status_subscribe])

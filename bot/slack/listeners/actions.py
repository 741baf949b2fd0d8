"""Buttons: the alerts' *Show status* and *Open Partner Center*, and the page buttons of the list
and of an offer's history."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.i18n import ENGLISH, N_
from bot.render.alerts import OPEN_STATUS_ACTION, PARTNER_CENTER_ACTION
from bot.render.blocks import Reply, card_modal
from bot.render.help import render_error
from bot.render.history import HISTORY_PAGE_ACTION
from bot.render.lists import LIST_PAGE_ACTION
from bot.slack import answers
from bot.slack.errors import CALL_ERRORS, classify
from bot.slack.listeners import Deps, answer, guarded, reader, reply_kwargs, team_of, viewer_of
from storage.errors import OfferbotError, UsageError

log = logging.getLogger(__name__)

MAX_VALUE = 2000
"""Slack's own limit for a button's value: anything longer was not sent by one of our buttons."""


def _button_answer(
    deps: Deps, body: dict[str, Any], action: dict[str, Any], compute: Callable[..., Reply]
) -> Reply:
    """A button's answer from its value, computed on a read session, in the clicker's language.
    A payload that is not what our button sent gets the "out of date" answer, never an exception."""
    tr = ENGLISH
    try:
        tr = reader(deps, body)
        team = team_of(body)
        value = action.get("value") if isinstance(action, dict) else None
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise UsageError(N_("that button is out of date: run `/offer-status list` again."))
    except OfferbotError as exc:
        return render_error(exc, tr=tr)

    def run() -> Reply:
        with deps.session_factory() as session:
            return compute(session, team_id=team, value=value, tr=tr)

    return answer(run, tr)


def _reply(respond: Respond | None, reply: Reply, *, replace: bool) -> None:
    if respond is None or not respond.response_url:  # there is nowhere to answer
        log.info("a button request without a response_url: nothing to answer")
        return
    respond(replace_original=replace, response_type="ephemeral", **reply_kwargs(reply))


def _open_modal(client: WebClient, body: dict[str, Any], reply: Reply) -> None:
    trigger = body.get("trigger_id")
    if not isinstance(trigger, str) or not trigger:
        log.info("a button request with neither a response_url nor a trigger_id: nothing to answer")
        return
    view = card_modal(reply)
    try:
        client.views_open(trigger_id=trigger, view=view)
    except CALL_ERRORS as exc:
        log.warning("could not open the offer's card: %s", classify(exc).code)


def register(app: App, deps: Deps) -> None:

    @app.action(OPEN_STATUS_ACTION)
    def open_status_action(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        ack()
        card = functools.partial(answers.offer_card, go_live=deps.publishers is not None)
        reply = guarded(deps, lambda _: _button_answer(deps, body, action, card))
        if respond.response_url:
            _reply(respond, reply, replace=False)
        else:  # the Home tab: the card opens in a modal
            _open_modal(client, body, reply)

    @app.action(PARTNER_CENTER_ACTION)
    def partner_center_link(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL, the app only acknowledges

    @app.action({"action_id": re.compile(rf"^{HISTORY_PAGE_ACTION}(:\d+)?$")})
    def history_page_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        here = (
            str((body.get("channel") or {}).get("id") or "") if isinstance(body.get("channel"), dict) else ""
        )
        page = functools.partial(answers.handle_history_page, viewer=viewer_of(deps, body, here=here))
        reply = guarded(deps, lambda _: _button_answer(deps, body, action, page))
        _reply(respond, reply, replace=True)

    @app.action({"action_id": re.compile(rf"^{LIST_PAGE_ACTION}(:\d+)?$")})
    def list_page_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        reply = guarded(deps, lambda _: _button_answer(deps, body, action, answers.handle_page_action))
        _reply(respond, reply, replace=True)

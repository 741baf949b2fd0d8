"""*Cancel publish*: the button on an alert or a card while a publish Microsoft can cancel runs, its
confirmation modal, and the cancel sent when it is submitted.

The confirmation is drawn from the store alone, so it opens within the click's trigger; submitting
acknowledges with "sending", then a lazy listener sends the cancel (the use-case checks again who
may and what runs) and shows what happened; the alert's thread, or the DM of who asked, is told.
Whoever may not publish is told who may, and no modal opens."""

from __future__ import annotations

import functools
import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.render.golive import (
    CANCEL_CALLBACK,
    render_cancel_asked,
    render_cancel_modal,
    render_message_modal,
)
from bot.render.golive_button import CANCEL_ACTION
from bot.render.help import render_error
from bot.slack.errors import CALL_ERRORS, classify
from bot.slack.listeners import Deps, on_home, team_of, user_of, where_clicked
from bot.slack.listeners.golive import (
    OFF,
    Where,
    ask_of,
    offer_key,
    reader_of,
    refuse,
    show_error,
    submit_ack,
    submitted,
    tell,
    view_id_of,
    views_update,
)
from bot.usecases.cancel import cancel_publish, cancel_target
from storage.errors import OfferbotError, UsageError

log = logging.getLogger(__name__)


def _click(
    deps: Deps, ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
) -> None:
    ack()
    tr = reader_of(deps, body)
    channel, ts = ("", None) if on_home(body) else where_clicked(body)
    try:
        if deps.publishers is None:
            raise UsageError(OFF)
        target = cancel_target(deps.session_factory, ask_of(deps, body, offer_key(action), channel, ts or ""))
    except OfferbotError as exc:
        refuse(deps, client, body, respond, render_error(exc, tr=tr))
        return
    trigger = body.get("trigger_id")
    if not isinstance(trigger, str) or not trigger:
        return
    try:
        client.views_open(
            trigger_id=trigger, view=render_cancel_modal(target, tr=tr, channel=channel, ts=ts or "")
        )
    except CALL_ERRORS as exc:
        log.warning("could not open the cancel modal: %s", classify(exc).code)


def _submit_lazy(deps: Deps, body: dict[str, Any], client: WebClient) -> None:
    tr, view_id = reader_of(deps, body), view_id_of(body)
    try:
        _data, ask, publishers = submitted(deps, body, ("o", "r", "c", "t"))
        asked = cancel_publish(deps.session_factory, publishers, ask, now=deps.clock())
    except OfferbotError as exc:
        show_error(client, exc, tr=tr, view_id=view_id)
        return
    user = user_of(body)
    views_update(
        client, render_message_modal(render_cancel_asked(asked, user_id=user, tr=tr), tr=tr), view_id=view_id
    )
    where = Where(asked.card.offer.id or 0, asked.channel, asked.ts, user)
    tell(
        deps, client, team_of(body), lambda reader: render_cancel_asked(asked, user_id=user, tr=reader), where
    )


def register(app: App, deps: Deps) -> None:
    app.action(CANCEL_ACTION)(functools.partial(_click, deps))
    app.view(CANCEL_CALLBACK)(
        ack=functools.partial(submit_ack, deps), lazy=[functools.partial(_submit_lazy, deps)]
    )

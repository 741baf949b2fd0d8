"""*Go live*: the button on a sign-off alert, on the offer's card and on the Home tab, its
confirmation modal, and the request sent when it is submitted.

The click is acknowledged with a modal that says Microsoft is being asked (a trigger expires in 3
seconds), then a lazy listener reads the preview submission and puts the confirmation in its place
(``views.update`` by the modal's ``external_id``). Submitting acknowledges with "sending", then a lazy
listener sends the request (the use-case reads the submissions again first) and shows what
happened; the alert's thread, or the requester's DM, says the request is on its way, and the alert
shows who asked. Whoever may not publish is told who may, and no modal opens."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.i18n import N_, Translator, translator
from bot.render.blocks import Reply
from bot.render.golive import (
    GO_LIVE_CALLBACK,
    render_confirm_modal,
    render_message_modal,
    render_requested,
    render_waiting_modal,
)
from bot.render.golive_button import GO_LIVE_ACTION
from bot.render.help import render_error
from bot.slack.errors import CALL_ERRORS, classify
from bot.slack.listeners import (
    Deps,
    actor_of,
    on_home,
    reader,
    reply_kwargs,
    team_of,
    user_of,
    where_clicked,
)
from bot.slack.listeners.alert_work import update_alert
from bot.slack.listeners.home import publish_home
from bot.sources.publishing import Publishers
from bot.usecases.access import Action, check
from bot.usecases.golive import GoLiveAsk, GoLiveTarget, go_live_target, request_go_live
from bot.usecases.work import OUT_OF_DATE, AlertRef, alert_view, is_key
from storage.errors import OfferbotError, UsageError

log = logging.getLogger(__name__)

MAX_METADATA = 3000
OFF = N_("Go live from Slack is off here: the operator can turn it on with OFFERBOT_GO_LIVE=on.")


def reader_of(deps: Deps, body: dict[str, Any]) -> Translator:
    try:
        return reader(deps, body)
    except OfferbotError:
        return translator(deps.people.default)


def _external_id(body: dict[str, Any]) -> str:
    trigger = body.get("trigger_id")
    return f"golive-{trigger}"[:255] if isinstance(trigger, str) else ""


def ask_of(deps: Deps, body: dict[str, Any], offer_pk: int, channel: str, ts: str) -> GoLiveAsk:
    return GoLiveAsk(
        team_id=team_of(body),
        offer_pk=offer_pk,
        actor=actor_of(deps, body),
        policy=deps.policy,
        channel=channel,
        ts=ts,
    )


def refuse(deps: Deps, client: WebClient, body: dict[str, Any], respond: Respond, reply: Reply) -> None:
    """What only the clicker reads: ephemeral under the message, or on the Home tab itself."""
    if on_home(body):
        publish_home(deps, client, team=team_of(body), user=user_of(body), notice=reply.text)
    elif respond.response_url:
        respond(replace_original=False, response_type="ephemeral", **reply_kwargs(reply))


def offer_key(action: dict[str, Any]) -> int:
    value = action.get("value")
    if not is_key(value):
        raise UsageError(OUT_OF_DATE)
    return int(str(value))


def metadata(body: dict[str, Any], fields: tuple[str, ...] = ("o", "s", "c", "t")) -> dict[str, Any]:
    """A confirmation's private metadata, as our modal wrote it (anything else is out of date)."""
    view = body.get("view")
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    if not isinstance(raw, str) or len(raw) > MAX_METADATA:
        raise UsageError(OUT_OF_DATE)
    try:
        data = json.loads(raw)
    except ValueError:
        raise UsageError(OUT_OF_DATE) from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str | int) for k in fields):
        raise UsageError(OUT_OF_DATE)
    if not is_key(str(data["o"])):
        raise UsageError(OUT_OF_DATE)
    return data


def views_update(client: WebClient, view: dict[str, Any], **where: str) -> None:
    try:
        client.views_update(view=view, **where)
    except CALL_ERRORS as exc:
        log.warning("could not update the go-live modal: %s", classify(exc).code)


def tell(deps: Deps, client: WebClient, team: str, make: Callable[[Translator], Reply], where: Where) -> None:
    """A request's news in the alert's thread (then the alert is drawn again), else in the DM of
    who asked; in the reader's language."""
    threaded = bool(where.channel and where.ts)
    if threaded:
        tr = deps.people.for_channel(team_id=team, channel=where.channel)
    else:
        tr = deps.people.for_user(team_id=team, user_id=where.user)
    reply = make(tr)
    try:
        if threaded:
            client.chat_postMessage(channel=where.channel, thread_ts=where.ts, **reply_kwargs(reply))
        else:
            client.chat_postMessage(channel=where.user, **reply_kwargs(reply))
    except CALL_ERRORS as exc:
        log.warning("could not say that a publish request was sent: %s", classify(exc).code)
    if threaded:
        ref = AlertRef(team_id=team, offer_pk=where.offer_pk, channel=where.channel, ts=where.ts)
        try:
            with deps.session_factory() as session:
                view = alert_view(session, ref=ref, now=deps.clock())
        except OfferbotError:
            return  # the alert is not tracked any more: nothing to update
        update_alert(deps, client, team, view)


@dataclass(frozen=True)
class Where:
    offer_pk: int
    channel: str
    ts: str
    user: str


def _click_ack(deps: Deps, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
    """Refused at once (no modal) for whoever may not publish; otherwise the waiting modal."""
    ack()
    tr = reader_of(deps, body)
    try:
        if deps.publishers is None:
            raise UsageError(OFF)
        check(actor_of(deps, body), Action.PUBLISH, deps.policy)
    except OfferbotError as exc:
        refuse(deps, client, body, respond, render_error(exc, tr=tr))
        return
    trigger = body.get("trigger_id")
    if not isinstance(trigger, str) or not trigger:
        return
    view = {**render_waiting_modal(tr=tr), "external_id": _external_id(body)}
    try:
        client.views_open(trigger_id=trigger, view=view)
    except CALL_ERRORS as exc:
        log.warning("could not open the go-live modal: %s", classify(exc).code)


def _click_lazy(deps: Deps, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
    """The confirmation, with the preview submission read from Microsoft, in the modal's place."""
    publishers = deps.publishers
    if publishers is None or not _external_id(body):
        return
    tr = reader_of(deps, body)
    channel, ts = ("", None) if on_home(body) else where_clicked(body)
    try:
        check(actor_of(deps, body), Action.PUBLISH, deps.policy)
        ask = ask_of(deps, body, offer_key(action), channel, ts or "")
        target = go_live_target(deps.session_factory, publishers, ask)
        view = render_confirm_modal(target, tr=tr, channel=channel, ts=ts or "")
    except OfferbotError as exc:
        view = render_message_modal(render_error(exc, tr=tr), tr=tr)
    views_update(client, view, external_id=_external_id(body))


def submit_ack(deps: Deps, ack: Ack, body: dict[str, Any]) -> None:
    """A confirmation submitted: "sending" in its place at once (the lazy listener does the rest)."""
    ack(response_action="update", view=render_waiting_modal(tr=reader_of(deps, body), sending=True))


def submitted(
    deps: Deps, body: dict[str, Any], fields: tuple[str, ...]
) -> tuple[dict[str, Any], GoLiveAsk, Publishers]:
    """A submitted confirmation's metadata, who asks about which offer from where, and the way to
    Microsoft; or an :class:`OfferbotError` (Go live off, metadata not ours)."""
    if deps.publishers is None:
        raise UsageError(OFF)
    data = metadata(body, fields)
    return data, ask_of(deps, body, int(str(data["o"])), str(data["c"]), str(data["t"])), deps.publishers


def show_error(client: WebClient, exc: OfferbotError, *, tr: Translator, view_id: str) -> None:
    views_update(client, render_message_modal(render_error(exc, tr=tr), tr=tr), view_id=view_id)


def view_id_of(body: dict[str, Any]) -> str:
    return str((body.get("view") or {}).get("id") or "")[:64]


def _submit_lazy(deps: Deps, body: dict[str, Any], client: WebClient) -> None:
    """The request sent (the use-case reads the submissions again first), and what happened shown."""
    tr, view_id = reader_of(deps, body), view_id_of(body)
    try:
        data, ask, publishers = submitted(deps, body, ("o", "s", "c", "t"))
        done = request_go_live(
            deps.session_factory, publishers, ask, confirmed=str(data["s"]), now=deps.clock()
        )
    except OfferbotError as exc:
        show_error(client, exc, tr=tr, view_id=view_id)
        return
    if isinstance(done, GoLiveTarget):  # a newer preview since the modal opened: confirm it first
        view = render_confirm_modal(done, tr=tr, channel=ask.channel, ts=ask.ts, newer=True)
        views_update(client, view, view_id=view_id)
        return
    views_update(client, render_message_modal(render_requested(done, tr=tr), tr=tr), view_id=view_id)
    request = done.request
    where = Where(request.offer_pk, request.channel, request.ts, request.requested_by)
    tell(deps, client, team_of(body), lambda reader: render_requested(done, tr=reader), where)


def register(app: App, deps: Deps) -> None:
    app.action(GO_LIVE_ACTION)(
        ack=functools.partial(_click_ack, deps), lazy=[functools.partial(_click_lazy, deps)]
    )
    app.view(GO_LIVE_CALLBACK)(
        ack=functools.partial(submit_ack, deps), lazy=[functools.partial(_submit_lazy, deps)]
    )

"""The alerts' working buttons: *I'm on it*, the *Snooze* menu, and *Mute this offer* in DMs.

Each click is acknowledged at once, then runs its use-case in one transaction; the alert is then
updated in place for everyone who sees it (``chat.update``, in the destination's language). What only
the clicker needs to read (an error, "you are already on it", a mute's confirmation) is an ephemeral
answer through the ``response_url``. Every click is logged with who, what and when."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.guard import Expired, check_not_expired
from bot.i18n import Translator, translator
from bot.render.alerts import (
    MUTE_ACTION,
    ON_IT_ACTION,
    SNOOZE_ACTION,
    render_alert_view,
    render_already_on_it,
    render_test_click,
)
from bot.render.blocks import Reply
from bot.render.home import render_done
from bot.render.subscriptions import render_muted
from bot.slack.errors import CALL_ERRORS, classify
from bot.slack.listeners import (
    Deps,
    actor_of,
    answer,
    guarded,
    on_home,
    reader,
    reply_kwargs,
    team_of,
    user_of,
    where_clicked,
)
from bot.slack.listeners.home import publish_home
from bot.usecases.testalert import is_test_value
from bot.usecases.work import (
    AlertRef,
    AlertView,
    Clicker,
    mute_from_alert,
    parse_ref,
    parse_snooze,
    snooze_alert,
    snooze_offer,
    take_alert,
    take_offer,
)
from storage import db
from storage.alerts.threads import open_threads
from storage.errors import OfferbotError
from storage.statuses import DestinationKind

log = logging.getLogger(__name__)

Work = Callable[[Session, AlertRef, Clicker], AlertView | list[AlertView] | Reply]


def _reader(deps: Deps, body: dict[str, Any]) -> Translator:
    """The clicker's language; the default one when the request does not say who or where."""
    try:
        return reader(deps, body)
    except OfferbotError:
        return translator(deps.people.default)


def _value(action: dict[str, Any]) -> tuple[object, str | None]:
    """The offer key a click carries, and the snooze choice for the menu."""
    if action.get("type") == "static_select":
        option = action.get("selected_option")
        pk, choice = parse_snooze(option.get("value") if isinstance(option, dict) else None)
        return pk, choice
    return action.get("value"), None


def _member_channels(deps: Deps, body: dict[str, Any], offer_pk: int) -> frozenset[str]:
    """The channels of the offer's open alerts that the clicker is a member of, asked of Slack before
    any write transaction begins (a Home-tab click acts on those only)."""
    team, user, access = team_of(body), user_of(body), deps.channels
    if access is None:
        return frozenset()
    with deps.session_factory() as session:
        channels = {
            t.channel
            for t in open_threads(session, offer_pk=offer_pk)
            if t.destination_kind == DestinationKind.CHANNEL
        }
    return frozenset(c for c in channels if access.is_member(team_id=team, user_id=user, channel=c))


def _run(
    deps: Deps, body: dict[str, Any], action: dict[str, Any], work: Work, views: list[AlertView]
) -> Reply | None:
    """The click's use-case in one transaction; the alert to update goes to ``views``, what the
    clicker alone should read is returned."""
    tr = _reader(deps, body)

    def compute(expired: Expired) -> Reply:
        def inner() -> Reply:
            value, _choice = _value(action)
            if is_test_value(value):  # a test alert's button: it says what it does, records nothing
                return render_test_click(str(action.get("action_id")), tr=tr)
            channel, ts = where_clicked(body)
            ref = parse_ref(team_of(body), value, channel=channel, ts=ts)
            member = _member_channels(deps, body, ref.offer_pk) if not channel else frozenset()
            who = Clicker(
                actor=actor_of(deps, body),
                policy=deps.policy,
                now=deps.clock(),
                member_of=member.__contains__,
            )
            with db.transaction(deps.session_factory) as session:
                result = work(session, ref, who)
                check_not_expired(expired)
            if isinstance(result, Reply):
                return result
            found = [result] if isinstance(result, AlertView) else result
            views.extend(found)
            return render_already_on_it(tr=tr) if not any(v.changed for v in found) else Reply(text="")

        return answer(inner, tr)

    reply = guarded(deps, compute)
    return reply if reply.text else None


def _update(deps: Deps, client: WebClient, body: dict[str, Any], view: AlertView) -> None:
    update_alert(deps, client, team_of(body), view)


def update_alert(deps: Deps, client: WebClient, team: str, view: AlertView) -> None:
    """The alert, re-rendered for everyone who sees it, in the destination's language."""
    tr: Translator = (
        deps.people.for_user(team_id=team, user_id=view.reader)
        if view.direct
        else deps.people.for_channel(team_id=team, channel=view.channel)
    )
    alert = render_alert_view(view, tr=tr, go_live=deps.publishers is not None)
    try:
        client.chat_update(channel=view.channel, ts=view.ts, **reply_kwargs(alert))
    except CALL_ERRORS as exc:  # the click is saved; the message shows it next time
        log.warning("could not update the alert %s in %s: %s", view.ts, view.channel, classify(exc).code)


def _click(
    deps: Deps, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond, work: Work
) -> None:
    views: list[AlertView] = []
    reply = _run(deps, body, action, work, views)
    log.info(
        "alert button %s by %s in %s at %s: %s",
        action.get("action_id"),
        user_of(body),
        where_clicked(body)[0],
        deps.clock().isoformat(),
        "error" if reply is not None and not views else "done",
    )
    for view in views:
        _update(deps, client, body, view)
    if on_home(body):  # the Home tab has no response_url: it is published again, with the outcome
        notice = reply.text if reply is not None else render_done(views, tr=_reader(deps, body))
        publish_home(deps, client, team=team_of(body), user=user_of(body), notice=notice)
    elif reply is not None and respond.response_url:
        respond(replace_original=False, response_type="ephemeral", **reply_kwargs(reply))


def _take(session: Session, ref: AlertRef, who: Clicker) -> AlertView | list[AlertView]:
    if not ref.channel:
        return take_offer(session, ref=ref, who=who)
    return take_alert(session, ref=ref, who=who)


def register(app: App, deps: Deps) -> None:
    @app.action(ON_IT_ACTION)
    def on_it(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        _click(deps, body, action, client, respond, _take)

    @app.action(SNOOZE_ACTION)
    def snooze(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()

        def work(session: Session, ref: AlertRef, who: Clicker) -> AlertView | list[AlertView]:
            _pk, choice = _value(action)
            if not ref.channel:
                return snooze_offer(session, ref=ref, choice=choice or "", who=who)
            return snooze_alert(session, ref=ref, choice=choice or "", who=who)

        _click(deps, body, action, client, respond, work)

    @app.action(MUTE_ACTION)
    def mute(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        tr = _reader(deps, body)

        def work(session: Session, ref: AlertRef, who: Clicker) -> Reply:
            return render_muted(mute_from_alert(session, ref=ref, who=who), tr=tr)

        _click(deps, body, action, client, respond, work)

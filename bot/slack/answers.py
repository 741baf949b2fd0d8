"""``/offer-status`` answered: the grammar's typed command handed to its use-case (which checks who
may), the result rendered in the reader's language, and the changes made to a channel's alerts
returned as data for the listener to announce. Plain functions, no Slack client."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.i18n import N_, Language, Translator, parse_language
from bot.render.blocks import Reply
from bot.render.digest import render_digest, render_digest_setting
from bot.render.help import render_help
from bot.render.history import render_history
from bot.render.lists import render_list, render_lookup
from bot.render.offers import render_card
from bot.render.owners import render_owners, render_owners_changed
from bot.render.subscriptions import (
    render_language,
    render_muted,
    render_notify_me,
    render_subscribe_pending,
    render_subscriptions,
    render_test_queued,
    render_threading,
    render_unsubscribed,
)
from bot.slack.grammar import (
    ALERT_VERBS,
    OWNERS,
    TEST_ALERT,
    ListArgs,
    alert_args,
    card_value,
    close_verb,
    history_args,
    history_page_value,
    list_args,
    list_page_value,
    owners_args,
    parse,
)
from bot.usecases import offers, subscriptions, testalert
from bot.usecases.access import OPEN, OPERATOR, AccessPolicy, Action, Actor, check
from bot.usecases.digest import DigestSetting, digest_for, set_daily_digest
from bot.usecases.history import EVERYTHING, HISTORY_PAGE_SIZE, Viewer, history_page, offer_history
from bot.usecases.offers import LIST_PAGE_SIZE
from bot.usecases.owners import OwnersChanged, change_owners, show_owners
from bot.usecases.subscriptions import AlertArgs, Unsubscribed
from storage.errors import UsageError
from storage.reads.offers import Lookup


def offer_list(session: Session, *, team_id: str, typed: ListArgs, tr: Translator, offset: int = 0) -> Reply:
    page = offers.list_page(
        session, team_id=team_id, status=typed.status, publisher=typed.publisher, offset=offset
    )
    return render_list(page, tr=tr)


def answer_command(
    session: Session,
    *,
    team_id: str,
    text: str,
    tr: Translator,
    now: datetime,
    user_id: str = "",
    channel_id: str = "",
    actor: Actor = OPERATOR,
    policy: AccessPolicy = OPEN,
    time_zone: str | None = None,
    viewer: Viewer = EVERYTHING,
    go_live: bool = False,
) -> Answer:
    """Answer ``/offer-status <text>`` for a workspace: the reply and the channel changes made
    (``go_live``: an offer's card may offer *Go live*).
    Raises :class:`UsageError` for bad arguments and :class:`PermissionDenied` for what ``actor``
    may not do (the shell is the operator)."""
    check(actor, Action.QUERY, policy)
    command = parse(text)
    verb, args = command.verb, list(command.args)
    if verb in (*ALERT_VERBS, TEST_ALERT, OWNERS):
        where = Where(team_id, user_id, channel_id, actor, policy, time_zone)
        return _acting(session, verb=verb, args=args, where=where, tr=tr, now=now)
    if verb == "help":
        return Answer(render_help(tr=tr))
    if verb == "list":
        typed = list_args(args)
        offset = (typed.page - 1) * LIST_PAGE_SIZE
        return Answer(offer_list(session, team_id=team_id, typed=typed, tr=tr, offset=offset))
    if verb == "history":
        return Answer(history_command(session, team_id=team_id, args=args, tr=tr, viewer=viewer))
    if verb == "digest":
        view = digest_for(session, team_id=team_id, channel_id=channel_id, user_id=user_id, now=now)
        return Answer(render_digest(view, tr=tr))
    return Answer(_lookup(session, team_id=team_id, args=args, tr=tr, go_live=go_live))


def _acting(
    session: Session, *, verb: str, args: list[str], where: Where, tr: Translator, now: datetime
) -> Answer:
    """The verbs that act for someone somewhere (a channel's alerts, a test alert, owners)."""
    if verb == OWNERS:
        return owners_command(session, args=args, where=where, tr=tr, now=now)
    if verb == TEST_ALERT:
        return Answer(test_alert_command(session, query=" ".join(args), where=where, tr=tr, now=now))
    return alert_command(session, verb=verb, args=args, where=where, tr=tr, now=now)


def owners_command(
    session: Session, *, args: list[str], where: Where, tr: Translator, now: datetime
) -> Answer:
    """``owners <offer | publisher:<id>>`` lists; ``… add|remove <owners>`` changes them, and the
    channel is told."""
    typed = owners_args(args)
    if typed.change is None:
        found = show_owners(session, team_id=where.team_id, args=typed)
        return Answer(
            render_lookup(found, tr=tr) if isinstance(found, Lookup) else render_owners(found, tr=tr)
        )
    changed = change_owners(
        session, team_id=where.team_id, args=typed, actor=where.actor, policy=where.policy, now=now
    )
    if isinstance(changed, Lookup):
        return Answer(render_lookup(changed, tr=tr))
    reply = render_owners_changed(changed, user_id=where.user_id, tr=tr)
    return Answer(reply, _changed(where, changed) if changed.done and where.channel_id else ())


def test_alert_command(session: Session, *, query: str, where: Where, tr: Translator, now: datetime) -> Reply:
    """``test-alert [offer]``: queue the test alert (the watcher posts it), or ask which offer."""
    queued = testalert.queue_test_alert(
        session,
        team_id=where.team_id,
        channel=where.channel_id,
        query=query,
        actor=where.actor,
        policy=where.policy,
        now=now,
    )
    return render_lookup(queued, tr=tr) if isinstance(queued, Lookup) else render_test_queued(queued, tr=tr)


def _lookup(
    session: Session, *, team_id: str, args: list[str], tr: Translator, go_live: bool = False
) -> Reply:
    """An offer by its id or name; when none is found and the first word looks like a mistyped
    command (``subscibe woodgrove``), the command is suggested rather than offers."""
    found = offers.look_up(session, team_id=team_id, query=" ".join(args))
    if not isinstance(found, Lookup):
        return render_card(replace(found, go_live=go_live), tr=tr)
    suggestion = close_verb(args[0])
    if suggestion is not None and not found.matches:
        typed = " ".join([suggestion, *args[1:]])[:200]
        raise UsageError(
            N_("`%(word)s` is not a command: did you mean `/offer-status %(typed)s`? (`help` lists them.)"),
            word=args[0][:40],
            typed=typed,
        )
    return render_lookup(found, tr=tr)


def handle_command(session: Session, **kwargs: Any) -> Reply:
    """:func:`answer_command`'s reply alone (the shell, and tests that read only the reply)."""
    return answer_command(session, **kwargs).reply


def history_command(
    session: Session, *, team_id: str, args: list[str], tr: Translator, viewer: Viewer = EVERYTHING
) -> Reply:
    """``history <offer> [page N]``: what happened to the offer, newest first."""
    query, page = history_args(args)
    offset = (page - 1) * HISTORY_PAGE_SIZE
    found = offer_history(session, team_id=team_id, query=query, offset=offset, viewer=viewer)
    if isinstance(found, Lookup):
        return render_lookup(found, tr=tr)
    return render_history(found, tr=tr)


def handle_history_page(
    session: Session, *, team_id: str, value: str, tr: Translator, viewer: Viewer = EVERYTHING
) -> Reply:
    """The history's Previous/Next button: its value is ``{"h": offer key, "o": offset}``."""
    offer_pk, offset = history_page_value(value)
    page = history_page(session, team_id=team_id, offer_pk=offer_pk, offset=offset, viewer=viewer)
    return render_history(page, tr=tr)


def offer_card(session: Session, *, team_id: str, value: str, tr: Translator, go_live: bool = False) -> Reply:
    """The alert's *Show status* button: its value is the offer's key."""
    card = offers.card_of(session, team_id=team_id, offer_pk=card_value(value))
    return render_card(replace(card, go_live=go_live), tr=tr)


def handle_page_action(session: Session, *, team_id: str, value: str, tr: Translator) -> Reply:
    """A list's Previous/Next button: its value is ``{"s": status or null, "o": offset}``."""
    typed, offset = list_page_value(value)
    return offer_list(session, team_id=team_id, typed=typed, tr=tr, offset=offset)


@dataclass(frozen=True)
class Where:
    """Who typed a command, in which workspace and channel, and what they may do there."""

    team_id: str
    user_id: str
    channel_id: str
    actor: Actor = OPERATOR
    policy: AccessPolicy = OPEN
    time_zone: str | None = None
    """The time zone Slack gives for the user (the daily digest's default)."""


@dataclass(frozen=True)
class ChannelChange:
    """A change of a channel's subscriptions or settings, announced in that channel."""

    channel: str
    user_id: str
    change: Unsubscribed | bool | Language | DigestSetting | OwnersChanged
    """What was unsubscribed, threading on (True) or off, the alerts' new language, the daily
    digest's new time (or off), or the owners of an offer or publisher."""


@dataclass(frozen=True)
class Answer:
    """A command's reply, and the changes it made to a channel's alerts: data for the listener,
    which announces them in the channel once they are committed."""

    reply: Reply
    changes: tuple[ChannelChange, ...] = ()


def _changed(
    where: Where, change: Unsubscribed | bool | Language | DigestSetting | OwnersChanged
) -> tuple[ChannelChange, ...]:
    return (ChannelChange(channel=where.channel_id, user_id=where.user_id, change=change),)


def settings_command(session: Session, *, args: list[str], where: Where, tr: Translator) -> Answer:
    """``settings threading on|off``, ``settings language fr|en`` and ``settings digest ...``, for
    the channel typed in."""
    team, channel = where.team_id, where.channel_id
    subscriptions.check_channel_change(
        channel=channel, verb="settings", actor=where.actor, policy=where.policy
    )
    name, value = (args[0].lower(), args[1].lower()) if len(args) == 2 else ("", "")
    if args and args[0].lower() == "digest":
        setting = set_daily_digest(
            session, team_id=team, channel=channel, args=args[1:], default_tz=where.time_zone
        )
        return Answer(render_digest_setting(setting, tr=tr), _changed(where, setting))
    if name == "threading" and value in ("on", "off"):
        on = subscriptions.set_channel_threading(session, team_id=team, channel=channel, on=value == "on")
        return Answer(render_threading(on, tr=tr), _changed(where, on))
    language = parse_language(value) if name == "language" else None
    if language is not None:
        chosen = subscriptions.set_channel_language(session, team_id=team, channel=channel, language=language)
        return Answer(render_language(chosen, tr=tr), _changed(where, chosen))
    raise UsageError(
        N_(
            "use `/offer-status settings threading on|off`, `/offer-status settings language fr|en` or "
            "`/offer-status settings digest HH:MM [time zone] | off`."
        )
    )


def alert_command(
    session: Session, *, verb: str, args: list[str], where: Where, tr: Translator, now: datetime
) -> Answer:
    """The answer to the alert verbs: parse, call the use-case (which checks who may), render.
    ``subscribe`` is only previewed here: the listener then saves it and posts the confirmation."""
    if verb == "subscriptions":
        subs = subscriptions.list_subscriptions(
            session, team_id=where.team_id, user_id=where.user_id, channel_id=where.channel_id
        )
        return Answer(render_subscriptions(subs, tr=tr))
    if verb == "settings":
        return settings_command(session, args=args, where=where, tr=tr)
    typed = alert_args(verb, args)
    if verb == "subscribe":
        found = subscriptions.preview_subscribe(
            session,
            team_id=where.team_id,
            channel=where.channel_id,
            actor=where.actor,
            policy=where.policy,
            args=typed,
        )
        return Answer(
            render_lookup(found, tr=tr)
            if isinstance(found, Lookup)
            else render_subscribe_pending(found, tr=tr)
        )
    if verb == "unsubscribe":
        return _unsubscribe(session, typed, where=where, tr=tr)
    return _personal(session, typed, where=where, tr=tr, now=now)


def _unsubscribe(session: Session, typed: AlertArgs, *, where: Where, tr: Translator) -> Answer:
    found = subscriptions.preview_unsubscribe(
        session, team_id=where.team_id, channel=where.channel_id, args=typed
    )
    if isinstance(found, Lookup):
        return Answer(render_lookup(found, tr=tr))
    result = subscriptions.unsubscribe_channel(
        session,
        team_id=where.team_id,
        channel=where.channel_id,
        request=found,
        actor=where.actor,
        policy=where.policy,
    )
    return Answer(render_unsubscribed(result, tr=tr), _changed(where, result) if result.found else ())


def _personal(session: Session, typed: AlertArgs, *, where: Where, tr: Translator, now: datetime) -> Answer:
    """``notify-me`` and ``mute-me``: the person's own alerts."""
    team, user, actor, policy = where.team_id, where.user_id, where.actor, where.policy
    found = subscriptions.preview_personal(
        session, team_id=team, user_id=user, actor=actor, policy=policy, args=typed
    )
    if isinstance(found, Lookup):
        return Answer(render_lookup(found, tr=tr))
    if typed.verb == "notify-me":
        done = subscriptions.notify_me(
            session, team_id=team, user_id=user, request=found, now=now, actor=actor, policy=policy
        )
        return Answer(render_notify_me(done, tr=tr))
    done = subscriptions.mute_me(
        session, team_id=team, user_id=user, request=found, now=now, actor=actor, policy=policy
    )
    return Answer(render_muted(done, tr=tr))

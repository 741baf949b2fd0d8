"""``/offer-status``: the command grammar. It parses the text into a use-case's input, calls the
use-case, and renders its result in the reader's language. Plain functions, no Slack client."""

from __future__ import annotations

import json
import logging
import shlex
import unicodedata
from dataclasses import dataclass
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
from bot.render.subscriptions import (
    render_language,
    render_muted,
    render_notify_me,
    render_subscribe_pending,
    render_subscriptions,
    render_threading,
    render_unsubscribed,
)
from bot.usecases import offers, subscriptions
from bot.usecases.access import OPEN, OPERATOR, AccessPolicy, Action, Actor, check
from bot.usecases.digest import DigestSetting, digest_for, set_daily_digest
from bot.usecases.history import EVERYTHING, HISTORY_PAGE_SIZE, Viewer, history_page, offer_history
from bot.usecases.offers import LIST_PAGE_SIZE
from bot.usecases.subscriptions import AlertArgs, Unsubscribed
from storage.alerts.subscriptions import Target
from storage.errors import UsageError
from storage.reads.offers import Lookup
from storage.statuses import STATUS_FILTERS, OfferStatus, TargetKind, status_filter_words

log = logging.getLogger(__name__)

MAX_RAW_TEXT = 4000
"""A command's text is refused over this many characters, before it is split or parsed."""
MAX_TEXT = 500
"""What is left after spaces are folded: an offer id or name, and a few words."""


def _check_text(text: str) -> str:
    """The command's text with its spaces folded, or a UsageError: too long, or holding NUL or other
    control characters (which no offer id, name or command word has)."""
    if len(text) > MAX_RAW_TEXT:
        raise UsageError(
            N_("that is %(length)d characters; an offer id or name is at most a few hundred."),
            length=len(text),
        )
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") and c not in "\t\n\r" for c in text):
        raise UsageError(N_("that text holds control characters: type an offer id or name, or `help`."))
    text = " ".join(text.split())
    if len(text) > MAX_TEXT:
        raise UsageError(
            N_("that is %(length)d characters; an offer id or name is at most a few hundred."),
            length=len(text),
        )
    return text


def _status_filter(word: str) -> OfferStatus:
    status = STATUS_FILTERS.get(word.lower())
    if status is None:
        known = ", ".join(f"`{w}`" for w in status_filter_words())
        raise UsageError(N_('unknown status "%(word)s". Use one of: %(known)s.'), word=word, known=known)
    return status


def offer_list(
    session: Session, *, team_id: str, status: OfferStatus | None, tr: Translator, offset: int = 0
) -> Reply:
    page = offers.list_page(session, team_id=team_id, status=status, offset=offset)
    return render_list(page, status, tr=tr)


def offer_status(session: Session, *, team_id: str, query: str, tr: Translator) -> Reply:
    found = offers.look_up(session, team_id=team_id, query=query)
    if isinstance(found, Lookup):
        return render_lookup(found, tr=tr)
    return render_card(found, tr=tr)


def _list_args(args: list[str]) -> tuple[OfferStatus | None, int]:
    """``[status] [page N]``."""
    status: OfferStatus | None = None
    rest, page = _page_arg(list(args))
    if len(rest) > 1:
        raise UsageError(
            N_("`list` takes one status and a page at most, got: %(args)s"), args=" ".join(args)[:200]
        )
    if rest:
        status = _status_filter(rest[0])
    return status, page


def first_word(text: str) -> str:
    """The command's verb, lower-cased ("" for none), without parsing the rest: it never fails."""
    head = text[:64].split(maxsplit=1)
    return head[0].lower() if head else ""


def split_words(text: str) -> list[str]:
    """Words, with "quoted names" kept whole; an unbalanced quote is a usage error."""
    try:
        return shlex.split(text)
    except ValueError:
        raise UsageError(N_('a quote is not closed: write "Tailspin Flight" with both quotes.')) from None


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
) -> Answer:
    """Answer ``/offer-status <text>`` for a workspace: the reply and the channel changes made.
    Raises :class:`UsageError` for bad arguments and :class:`PermissionDenied` for what ``actor``
    may not do (the shell is the operator)."""
    check(actor, Action.QUERY, policy)
    command = parse(text)
    verb, args = command.verb, list(command.args)
    if verb in ALERT_VERBS:
        where = Where(team_id, user_id, channel_id, actor, policy, time_zone)
        return alert_command(session, verb=verb, args=args, where=where, tr=tr, now=now)
    if verb == "help":
        return Answer(render_help(tr=tr))
    if verb == "list":
        status, page = _list_args(args)
        offset = (page - 1) * LIST_PAGE_SIZE
        return Answer(offer_list(session, team_id=team_id, status=status, tr=tr, offset=offset))
    if verb == "history":
        return Answer(history_command(session, team_id=team_id, args=args, tr=tr, viewer=viewer))
    if verb == "digest":
        view = digest_for(session, team_id=team_id, channel_id=channel_id, user_id=user_id, now=now)
        return Answer(render_digest(view, tr=tr))
    return Answer(offer_status(session, team_id=team_id, query=" ".join(args), tr=tr))


def handle_command(session: Session, **kwargs: Any) -> Reply:
    """:func:`answer_command`'s reply alone (the shell, and tests that read only the reply)."""
    return answer_command(session, **kwargs).reply


def _page_arg(args: list[str]) -> tuple[list[str], int]:
    """``... [page N]``: the words before, and the page (1 when not given)."""
    if len(args) >= 2 and args[-2].lower() == "page":
        number = args[-1]
        if not (number.isascii() and number.isdigit()) or not 1 <= int(number) <= 100_000:
            raise UsageError(N_('"page" takes a page number from 1, got "%(page)s".'), page=number[:20])
        return args[:-2], int(number)
    return args, 1


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


def offer_card(session: Session, *, team_id: str, value: str, tr: Translator) -> Reply:
    """The alert's *Show status* button: its value is the offer's key."""
    return render_card(offers.card_of(session, team_id=team_id, offer_pk=card_value(value)), tr=tr)


def handle_page_action(session: Session, *, team_id: str, value: str, tr: Translator) -> Reply:
    """A list's Previous/Next button: its value is ``{"s": status or null, "o": offset}``."""
    status, offset = list_page_value(value)
    return offer_list(session, team_id=team_id, status=status, tr=tr, offset=offset)


@dataclass(frozen=True)
class Command:
    """A command's text, typed: its verb (``list`` for an empty text, ``help``, ``history``,
    ``digest``, an alert verb, or ``lookup`` for an offer's id or name) and its words after it."""

    verb: str
    args: tuple[str, ...] = ()


HELP_WORDS = ("help", "-h", "--help", "?")


def parse(text: str) -> Command:
    """``/offer-status <text>`` as a :class:`Command`; a :class:`UsageError` for text no command
    reads (too long, control characters, an unclosed quote)."""
    words = split_words(_check_text(text))
    if not words:
        return Command("list")
    verb = words[0].lower()
    if verb in HELP_WORDS:
        return Command("help")
    if verb in ("list", "ls"):
        return Command("list", tuple(words[1:]))
    if verb in ("history", "digest", *ALERT_VERBS):
        return Command(verb, tuple(words[1:]))
    return Command("lookup", tuple(words))


def history_args(args: list[str]) -> tuple[str, int]:
    """``history <offer> [page N]``: the offer's words and the page."""
    words, page = _page_arg(args)
    if not words:
        raise UsageError(N_("`history` needs an offer: `/offer-status history contoso-analytics-vm`."))
    return " ".join(words), page


def history_page_value(value: str) -> tuple[int, int]:
    """The history's Previous/Next button value, ``{"h": offer key, "o": offset}``."""
    try:
        data = json.loads(value)
        offer_pk, offset = int(data["h"]), int(data["o"])
        if not (0 <= offset <= 10_000_000 and 0 < offer_pk < 2**31):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
        raise UsageError(N_("that button is out of date: run `/offer-status history` again.")) from None
    return offer_pk, offset


def card_value(value: str) -> int:
    """The alert's *Show status* button value: the offer's key."""
    if not (value.isascii() and value.isdigit() and len(value) < 19):
        raise UsageError(N_("that button is out of date: run `/offer-status list` again."))
    return int(value)


def list_page_value(value: str) -> tuple[OfferStatus | None, int]:
    """A list's Previous/Next button value, ``{"s": status or null, "o": offset}``."""
    try:
        data = json.loads(value)
        status = OfferStatus(data["s"]) if data.get("s") else None
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UsageError(N_("that button is out of date: run `/offer-status list` again.")) from None
    return status, offset


# --- alerts: subscribe, unsubscribe, subscriptions, notify-me, mute-me, settings ---------------

ALERT_VERBS = ("subscribe", "unsubscribe", "subscriptions", "notify-me", "mute-me", "settings")
WRITE_VERBS = ("unsubscribe", "notify-me", "mute-me", "settings")
"""The verbs whose answer writes to the store (``subscribe`` saves later, in its lazy listener)."""
EVENT_WORDS = {
    "failed": "failed",
    "fail": "failed",
    "delisted": "delisted",
    "signoff": "signoff",
    "sign-off": "signoff",
    "signout": "signoff",
    "sign-out": "signoff",
    "stuck": "stuck",
}


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
    change: Unsubscribed | bool | Language | DigestSetting
    """What was unsubscribed, threading on (True) or off, the alerts' new language, or the daily
    digest's new time (or off)."""


@dataclass(frozen=True)
class Answer:
    """A command's reply, and the changes it made to a channel's alerts: data for the listener,
    which announces them in the channel once they are committed."""

    reply: Reply
    changes: tuple[ChannelChange, ...] = ()


def _changed(
    where: Where, change: Unsubscribed | bool | Language | DigestSetting
) -> tuple[ChannelChange, ...]:
    return (ChannelChange(channel=where.channel_id, user_id=where.user_id, change=change),)


def _target(words: list[str]) -> Target | None:
    """``all`` or ``publisher:<id>``; None for an offer, which the use-case looks up."""
    first = words[0]
    if len(words) == 1 and first.lower() == "all":
        return Target(kind=TargetKind.ALL)
    if first.lower().startswith("publisher:"):
        publisher = first.split(":", 1)[1].strip()
        if not publisher or len(words) > 1:
            raise UsageError(N_("write the publisher as `publisher:<id>`, e.g. `publisher:contoso`."))
        return Target(kind=TargetKind.PUBLISHER, publisher_id=publisher)
    return None


def alert_args(verb: str, args: list[str]) -> AlertArgs:
    """``<offer | publisher:<id> | all> [failed] [delisted] [signoff] [stuck]`` as typed: nothing
    is checked or looked up here (a malformed publisher is carried, for the use-case to raise after
    its permission check)."""
    words = list(args)
    events: list[str] = []
    while words and words[-1].lower() in EVENT_WORDS:
        events.insert(0, EVENT_WORDS[words.pop().lower()])
    target, problem = None, None
    if words:
        try:
            target = _target(words)
        except UsageError as exc:
            problem = exc
    return AlertArgs(verb=verb, target=target, query=" ".join(words), events=tuple(events), problem=problem)


def subscribe_args(text: str) -> AlertArgs | None:
    """The ``subscribe`` in a command's text, parsed as the ack parsed it; None for any other text."""
    try:
        words = split_words(_check_text(text))
    except UsageError:
        return None
    if not words or words[0].lower() != "subscribe":
        return None
    return alert_args("subscribe", words[1:])


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

"""``/offer-status``: the command grammar. It parses the text into a use-case's input, calls the
use-case, and renders its result in the reader's language. Plain functions, no Slack client."""

from __future__ import annotations

import json
import logging
import shlex
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

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
from bot.usecases.subscriptions import AlertRequest, Unsubscribed, resolve_target
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


def handle_command(
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
    announce: Callable[[ChannelChange], None] | None = None,
    time_zone: str | None = None,
    viewer: Viewer = EVERYTHING,
) -> Reply:
    """Answer ``/offer-status <text>`` for a workspace. Raises :class:`UsageError` for bad arguments
    and :class:`PermissionDenied` for what ``actor`` may not do (the shell is the operator)."""
    check(actor, Action.QUERY, policy)
    words = split_words(_check_text(text))
    if not words:
        return offer_list(session, team_id=team_id, status=None, tr=tr)
    verb = words[0].lower()
    if verb in ("help", "-h", "--help", "?"):
        return render_help(tr=tr)
    if verb in ("list", "ls"):
        status, page = _list_args(words[1:])
        return offer_list(session, team_id=team_id, status=status, tr=tr, offset=(page - 1) * LIST_PAGE_SIZE)
    if verb == "history":
        return history_command(session, team_id=team_id, args=words[1:], tr=tr, viewer=viewer)
    if verb == "digest":
        view = digest_for(session, team_id=team_id, channel_id=channel_id, user_id=user_id, now=now)
        return render_digest(view, tr=tr)
    if verb in ALERT_VERBS:
        where = Where(team_id, user_id, channel_id, actor, policy, announce, time_zone)
        return alert_command(session, verb=verb, args=words[1:], where=where, tr=tr, now=now)
    return offer_status(session, team_id=team_id, query=" ".join(words), tr=tr)


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
    words, page = _page_arg(args)
    if not words:
        raise UsageError(N_("`history` needs an offer: `/offer-status history contoso-analytics-vm`."))
    offset = (page - 1) * HISTORY_PAGE_SIZE
    found = offer_history(session, team_id=team_id, query=" ".join(words), offset=offset, viewer=viewer)
    if isinstance(found, Lookup):
        return render_lookup(found, tr=tr)
    return render_history(found, tr=tr)


def handle_history_page(
    session: Session, *, team_id: str, value: str, tr: Translator, viewer: Viewer = EVERYTHING
) -> Reply:
    """The history's Previous/Next button: its value is ``{"h": offer key, "o": offset}``."""
    try:
        data = json.loads(value)
        offer_pk, offset = int(data["h"]), int(data["o"])
        if not (0 <= offset <= 10_000_000 and 0 < offer_pk < 2**31):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
        raise UsageError(N_("that button is out of date: run `/offer-status history` again.")) from None
    page = history_page(session, team_id=team_id, offer_pk=offer_pk, offset=offset, viewer=viewer)
    return render_history(page, tr=tr)


def offer_card(session: Session, *, team_id: str, value: str, tr: Translator) -> Reply:
    """The alert's *Show status* button: its value is the offer's key."""
    if not (value.isascii() and value.isdigit() and len(value) < 19):
        raise UsageError(N_("that button is out of date: run `/offer-status list` again."))
    return render_card(offers.card_of(session, team_id=team_id, offer_pk=int(value)), tr=tr)


def handle_page_action(session: Session, *, team_id: str, value: str, tr: Translator) -> Reply:
    """A list's Previous/Next button: its value is ``{"s": status or null, "o": offset}``."""
    try:
        data = json.loads(value)
        status = OfferStatus(data["s"]) if data.get("s") else None
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UsageError(N_("that button is out of date: run `/offer-status list` again.")) from None
    return offer_list(session, team_id=team_id, status=status, tr=tr, offset=offset)


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
    announce: Callable[[ChannelChange], None] | None = None
    time_zone: str | None = None
    """The time zone Slack gives for the user (the daily digest's default)."""
    """Called with each change made to the channel's alerts, for the listener to announce there."""

    def changed(self, change: Unsubscribed | bool | Language | DigestSetting) -> None:
        if self.announce is not None:
            self.announce(ChannelChange(channel=self.channel_id, user_id=self.user_id, change=change))


@dataclass(frozen=True)
class ChannelChange:
    """A change of a channel's subscriptions or settings, announced in that channel."""

    channel: str
    user_id: str
    change: Unsubscribed | bool | Language | DigestSetting
    """What was unsubscribed, threading on (True) or off, the alerts' new language, or the daily
    digest's new time (or off)."""


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


def parse_request(
    session: Session, *, team_id: str, verb: str, args: list[str], tr: Translator
) -> AlertRequest | Reply:
    """``<offer | publisher:<id> | all> [failed] [delisted] [signoff] [stuck]``, or a Reply explaining
    why not."""
    words = list(args)
    events: list[str] = []
    while words and words[-1].lower() in EVENT_WORDS:
        events.insert(0, EVENT_WORDS[words.pop().lower()])
    if not words:
        raise UsageError(
            N_(
                "`%(verb)s` needs an offer (its id or part of its name), `publisher:<id>` or `all`, "
                "e.g. `/offer-status %(verb)s contoso-analytics-vm failed`."
            ),
            verb=verb,
        )
    found = resolve_target(
        session, team_id=team_id, target=_target(words), query=" ".join(words), events=tuple(events)
    )
    return render_lookup(found, tr=tr) if isinstance(found, Lookup) else found


def subscribe_request(session: Session, *, where: Where, text: str, tr: Translator) -> AlertRequest | None:
    """The ``subscribe`` request in a command's text, parsed and checked by the very functions that
    answered it (so what is saved is what the user was told), or None when the answer was a refusal."""
    team_id = where.team_id
    try:
        check(where.actor, Action.QUERY, where.policy)
        check(where.actor, Action.CHANNEL_CHANGE, where.policy)
        words = split_words(_check_text(text))
        if not words or words[0].lower() != "subscribe":
            return None
        request = parse_request(session, team_id=team_id, verb="subscribe", args=words[1:], tr=tr)
    except UsageError:
        return None
    return request if isinstance(request, AlertRequest) else None


def _need_channel(channel_id: str, verb: str) -> None:
    if not channel_id:
        raise UsageError(N_("`%(verb)s` works in a Slack channel."), verb=verb)


def settings_command(session: Session, *, args: list[str], where: Where, tr: Translator) -> Reply:
    """``settings threading on|off`` and ``settings language fr|en``, for the channel typed in."""
    _need_channel(where.channel_id, "settings")
    check(where.actor, Action.CHANNEL_CHANGE, where.policy)
    name, value = (args[0].lower(), args[1].lower()) if len(args) == 2 else ("", "")
    team, channel = where.team_id, where.channel_id
    if args and args[0].lower() == "digest":
        setting = set_daily_digest(
            session, team_id=team, channel=channel, args=args[1:], default_tz=where.time_zone
        )
        where.changed(setting)
        return render_digest_setting(setting, tr=tr)
    if name == "threading" and value in ("on", "off"):
        on = subscriptions.set_channel_threading(session, team_id=team, channel=channel, on=value == "on")
        where.changed(on)
        return render_threading(on, tr=tr)
    language = parse_language(value) if name == "language" else None
    if language is not None:
        chosen = subscriptions.set_channel_language(session, team_id=team, channel=channel, language=language)
        where.changed(chosen)
        return render_language(chosen, tr=tr)
    raise UsageError(
        N_(
            "use `/offer-status settings threading on|off`, `/offer-status settings language fr|en` or "
            "`/offer-status settings digest HH:MM [time zone] | off`."
        )
    )


def alert_command(
    session: Session, *, verb: str, args: list[str], where: Where, tr: Translator, now: datetime
) -> Reply:
    """The answer to the alert verbs: parse, call the use-case, render. ``subscribe`` only checks its
    arguments here: the listener then posts the confirmation in the channel and saves it."""
    team, user = where.team_id, where.user_id
    if verb == "subscriptions":
        subs = subscriptions.list_subscriptions(
            session, team_id=team, user_id=user, channel_id=where.channel_id
        )
        return render_subscriptions(subs, tr=tr)
    if verb == "settings":
        return settings_command(session, args=args, where=where, tr=tr)
    if verb in ("notify-me", "mute-me") and not user:
        raise UsageError(N_("`%(verb)s` works in Slack, where I know who you are."), verb=verb)
    action = Action.CHANNEL_CHANGE if verb == "subscribe" else Action.OWN_ALERTS if user else Action.QUERY
    if verb != "unsubscribe":  # who may remove a subscription depends on who made it: the use-case checks
        check(where.actor, action, where.policy)
    request = parse_request(session, team_id=team, verb=verb, args=args, tr=tr)
    if isinstance(request, Reply):
        return request
    if verb in ("subscribe", "unsubscribe"):
        _need_channel(where.channel_id, verb)
    if verb == "subscribe":
        return render_subscribe_pending(request, tr=tr)
    if verb == "unsubscribe":
        result = subscriptions.unsubscribe_channel(
            session,
            team_id=team,
            channel=where.channel_id,
            request=request,
            actor=where.actor,
            policy=where.policy,
        )
        if result.found:
            where.changed(result)
        return render_unsubscribed(result, tr=tr)
    return _personal(session, verb=verb, request=request, where=where, tr=tr, now=now)


def _personal(
    session: Session, *, verb: str, request: AlertRequest, where: Where, tr: Translator, now: datetime
) -> Reply:
    """``notify-me`` and ``mute-me``: the person's own alerts."""
    team, user = where.team_id, where.user_id
    if verb == "notify-me":
        return render_notify_me(
            subscriptions.notify_me(session, team_id=team, user_id=user, request=request, now=now), tr=tr
        )
    return render_muted(
        subscriptions.mute_me(session, team_id=team, user_id=user, request=request, now=now), tr=tr
    )

"""``/offer-status``: parse the text, ask the store, render. Plain functions, no Slack client."""

from __future__ import annotations

import json
import logging
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from bot import render
from bot.render import LIST_PAGE_SIZE, Reply
from storage.errors import UsageError
from storage.models import Offer, Subscription
from storage.policy import EVENTS
from storage.queries import find_offers, get_offer, list_offers, load_card
from storage.statuses import STATUS_FILTERS, OfferStatus, status_filter_words
from storage.subscriptions import (
    Target,
    events_of,
    mute,
    set_threading,
    subscribe,
    subscriptions_of,
    unmute,
    unsubscribe,
)

log = logging.getLogger(__name__)

MAX_TEXT = 500


def _status_filter(word: str) -> OfferStatus:
    status = STATUS_FILTERS.get(word.lower())
    if status is None:
        known = ", ".join(f"`{w}`" for w in status_filter_words())
        raise UsageError(f'unknown status "{word}". Use one of: {known}.')
    return status


def offer_list(session: Session, *, team_id: str, status: OfferStatus | None, offset: int = 0) -> Reply:
    page = list_offers(session, team_id=team_id, status=status, offset=max(0, offset), limit=LIST_PAGE_SIZE)
    return render.render_list(page, status)


def offer_status(session: Session, *, team_id: str, query: str) -> Reply:
    lookup = find_offers(session, team_id=team_id, query=query)
    if len(lookup.matches) == 1:
        return render.render_card(load_card(session, offer=lookup.matches[0]))
    return render.render_lookup(lookup)


def _list_args(args: list[str]) -> tuple[OfferStatus | None, int]:
    """``[status] [page N]``."""
    status: OfferStatus | None = None
    page = 1
    rest = list(args)
    if len(rest) >= 2 and rest[-2].lower() == "page":
        if not rest[-1].isdigit() or int(rest[-1]) < 1:
            raise UsageError(f'"page" takes a page number from 1, got "{rest[-1]}".')
        page = int(rest[-1])
        rest = rest[:-2]
    if len(rest) > 1:
        raise UsageError(f"`list` takes one status and a page at most, got: {' '.join(args)}")
    if rest:
        status = _status_filter(rest[0])
    return status, page


def split_words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def handle_command(
    session: Session,
    *,
    team_id: str,
    text: str,
    user_id: str = "",
    channel_id: str = "",
    now: datetime | None = None,
) -> Reply:
    """Answer ``/offer-status <text>`` for a workspace. Raises :class:`UsageError` for bad arguments."""
    text = " ".join(text.split())
    if len(text) > MAX_TEXT:
        raise UsageError(f"that is {len(text)} characters; an offer id or name is at most a few hundred.")
    words = split_words(text)
    if not words:
        return offer_list(session, team_id=team_id, status=None)
    verb = words[0].lower()
    if verb in ("help", "-h", "--help", "?"):
        return render.render_help()
    if verb in ("list", "ls"):
        status, page = _list_args(words[1:])
        return offer_list(session, team_id=team_id, status=status, offset=(page - 1) * LIST_PAGE_SIZE)
    if verb in ALERT_VERBS:
        return alert_command(
            session,
            verb=verb,
            args=words[1:],
            team_id=team_id,
            user_id=user_id,
            channel_id=channel_id,
            now=now,
        )
    return offer_status(session, team_id=team_id, query=" ".join(words))


def offer_card(session: Session, *, team_id: str, value: str) -> Reply:
    """The alert's *Show status* button: its value is the offer's key."""
    offer = get_offer(session, team_id=team_id, offer_pk=int(value)) if value.isdigit() else None
    if offer is None:
        raise UsageError("that offer is no longer stored: `/offer-status list` shows the ones that are.")
    return render.render_card(load_card(session, offer=offer))


def handle_page_action(session: Session, *, team_id: str, value: str) -> Reply:
    """A list's Previous/Next button: its value is ``{"s": status or null, "o": offset}``."""
    try:
        data = json.loads(value)
        status = OfferStatus(data["s"]) if data.get("s") else None
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise UsageError("that button is out of date: run `/offer-status list` again.") from None
    return offer_list(session, team_id=team_id, status=status, offset=offset)


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
}
TARGET_USAGE = "an offer (its id or part of its name), `publisher:<id>` or `all`"


@dataclass(frozen=True)
class Request:
    """A parsed ``subscribe``-like command: what about, which events, in words for the answer."""

    target: Target
    events: tuple[str, ...]
    what: str


def describe_target(target: Target, offer: Offer | None) -> str:
    if target.kind == "all":
        return "all offers"
    if target.kind == "publisher":
        return f"publisher `{render.esc(target.publisher_id or '')}`"
    if offer is None:
        return "an offer that no longer exists"
    return f"*{render.esc(offer.name)}* (`{render.esc(offer.offer_id)}`)"


def parse_request(session: Session, *, team_id: str, verb: str, args: list[str]) -> Request | Reply:
    """``<offer | publisher:<id> | all> [failed] [delisted] [signoff]``, or a Reply explaining why not."""
    words = list(args)
    events: list[str] = []
    while words and words[-1].lower() in EVENT_WORDS:
        events.insert(0, EVENT_WORDS[words.pop().lower()])
    if not words:
        raise UsageError(
            f"`{verb}` needs {TARGET_USAGE}, e.g. `/offer-status {verb} contoso-analytics-vm failed`."
        )
    chosen = tuple(e for e in EVENTS if e in events) or EVENTS
    first = words[0]
    if len(words) == 1 and first.lower() == "all":
        target = Target(kind="all")
        return Request(target=target, events=chosen, what=describe_target(target, None))
    if first.lower().startswith("publisher:"):
        publisher = first.split(":", 1)[1].strip()
        if not publisher or len(words) > 1:
            raise UsageError("write the publisher as `publisher:<id>`, e.g. `publisher:contoso`.")
        target = Target(kind="publisher", publisher_id=publisher)
        return Request(target=target, events=chosen, what=describe_target(target, None))
    lookup = find_offers(session, team_id=team_id, query=" ".join(words))
    if len(lookup.matches) != 1:
        return render.render_lookup(lookup)
    offer = lookup.matches[0]
    target = Target(kind="offer", offer_pk=offer.id)
    return Request(target=target, events=chosen, what=describe_target(target, offer))


def _events_text(events: tuple[str, ...] | list[str]) -> str:
    return ", ".join(events)


def _need_channel(channel_id: str, verb: str) -> None:
    if not channel_id:
        raise UsageError(f"`{verb}` works in a Slack channel.")


def alert_command(
    session: Session,
    *,
    verb: str,
    args: list[str],
    team_id: str,
    user_id: str,
    channel_id: str,
    now: datetime | None,
) -> Reply:
    """The answer to the alert verbs. ``subscribe`` only checks its arguments here: the listener
    then posts the confirmation in the channel and calls :func:`save_subscription`."""
    now = now or datetime.now(UTC)
    if verb == "subscriptions":
        return list_subscriptions(session, team_id=team_id, user_id=user_id, channel_id=channel_id)
    if verb == "settings":
        _need_channel(channel_id, verb)
        if len(args) != 2 or args[0].lower() != "threading" or args[1].lower() not in ("on", "off"):
            raise UsageError(
                "use `/offer-status settings threading on` or `/offer-status settings threading off`."
            )
        on = args[1].lower() == "on"
        set_threading(session, team_id=team_id, channel=channel_id, threading=on)
        text = (
            "Follow-ups about an alerted offer now go in the thread of its first alert."
            if on
            else "Follow-ups about an alerted offer are now posted as new messages in this channel."
        )
        return Reply(text=text, blocks=[render.section(text)])
    if verb in ("notify-me", "mute-me") and not user_id:
        raise UsageError(f"`{verb}` works in Slack, where I know who you are.")
    request = parse_request(session, team_id=team_id, verb=verb, args=args)
    if isinstance(request, Reply):
        return request
    if verb == "subscribe":
        _need_channel(channel_id, verb)
        events = _events_text(request.events)
        text = (
            f":hourglass_flowing_sand: Subscribing this channel to {request.what} ({events}): "
            "I will confirm in the channel."
        )
        return Reply(text=text, blocks=[render.section(text)])
    if verb == "unsubscribe":
        _need_channel(channel_id, verb)
        found, left = unsubscribe(
            session,
            team_id=team_id,
            destination_kind="channel",
            destination=channel_id,
            target=request.target,
            events=request.events if len(request.events) < len(EVENTS) else (),
        )
        if not found:
            text = (
                f"This channel has no subscription for {request.what}. "
                "`/offer-status subscriptions` lists them."
            )
        elif left is None:
            text = f"This channel no longer gets alerts for {request.what}."
        else:
            text = (
                f"This channel now gets alerts for {request.what} only when: {_events_text(events_of(left))}."
            )
        return Reply(text=text, blocks=[render.section(text)])
    if verb == "notify-me":
        unmute(session, team_id=team_id, user_id=user_id, target=request.target)
        save_subscription(
            session,
            team_id=team_id,
            destination_kind="user",
            destination=user_id,
            user_id=user_id,
            request=request,
            now=now,
        )
        text = f"I will send you a direct message about {request.what} on: {_events_text(request.events)}."
        return Reply(text=text, blocks=[render.section(text)])
    # mute-me
    mute(session, team_id=team_id, user_id=user_id, target=request.target, now=now)
    text = (
        f"No more direct messages to you about {request.what}, not even as an owner of the offer. "
        f"`/offer-status notify-me` turns them on again."
    )
    return Reply(text=text, blocks=[render.section(text)])


def save_subscription(
    session: Session,
    *,
    team_id: str,
    destination_kind: str,
    destination: str,
    user_id: str,
    request: Request,
    now: datetime,
) -> Subscription:
    """Save a channel's ``subscribe`` or a user's ``notify-me``, created by ``user_id``."""
    sub, _ = subscribe(
        session,
        team_id=team_id,
        destination_kind=destination_kind,
        destination=destination,
        target=request.target,
        events=request.events,
        created_by=user_id,
        now=now,
    )
    return sub


def subscription_confirmation(request: Request, *, user_id: str) -> Reply:
    """The public message that confirms a channel subscription (and proves the bot can post here)."""
    text = (
        f":bell: <@{user_id}> subscribed this channel to alerts for {request.what} "
        f"({_events_text(request.events)}). `/offer-status unsubscribe` stops them."
    )
    return Reply(text=text, blocks=[render.section(text)])


def _describe(session: Session, team_id: str, sub: Subscription) -> str:
    offer = get_offer(session, team_id=team_id, offer_pk=sub.offer_pk) if sub.offer_pk else None
    return describe_target(
        Target(kind=sub.target_kind, offer_pk=sub.offer_pk, publisher_id=sub.publisher_id), offer
    )


def list_subscriptions(session: Session, *, team_id: str, user_id: str, channel_id: str) -> Reply:
    lines: list[str] = []
    if channel_id:
        subs = subscriptions_of(session, team_id=team_id, destination_kind="channel", destination=channel_id)
        lines.append("*This channel's alerts*" if subs else "This channel has no subscriptions.")
        for sub, _offer in subs:
            line = f"• {_describe(session, team_id, sub)}: {_events_text(events_of(sub))}"
            if sub.disabled_reason:
                line += f" — :warning: disabled: Slack answered `{render.esc(sub.disabled_reason)}`"
            lines.append(line)
    mine = (
        subscriptions_of(session, team_id=team_id, destination_kind="user", destination=user_id)
        if user_id
        else []
    )
    if mine:
        lines.append("*Your direct-message alerts*")
        lines += [f"• {_describe(session, team_id, sub)}: {_events_text(events_of(sub))}" for sub, _ in mine]
    lines.append(
        "Owners (the offer's notification e-mails) also get direct messages unless they use `mute-me`."
    )
    return Reply(text="\n".join(lines), blocks=render.sections("", lines))

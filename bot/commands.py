"""``/offer-status``: the command grammar. Parse the text, call a use-case or ask the store, render.
Plain functions, no Slack client."""

from __future__ import annotations

import json
import logging
import shlex
from datetime import UTC, datetime

from sqlmodel import Session

from bot import render
from bot.render import LIST_PAGE_SIZE, Reply
from bot.render_subscriptions import (
    render_muted,
    render_notify_me,
    render_subscribe_pending,
    render_subscriptions,
    render_threading,
    render_unsubscribed,
)
from bot.usecases import alerts
from bot.usecases.alerts import AlertRequest, resolve_target
from storage.errors import UsageError
from storage.queries import Lookup, find_offers, get_offer, list_offers, load_card
from storage.statuses import STATUS_FILTERS, OfferStatus, status_filter_words
from storage.subscriptions import Target

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


def parse_request(session: Session, *, team_id: str, verb: str, args: list[str]) -> AlertRequest | Reply:
    """``<offer | publisher:<id> | all> [failed] [delisted] [signoff]``, or a Reply explaining why not."""
    words = list(args)
    events: list[str] = []
    while words and words[-1].lower() in EVENT_WORDS:
        events.insert(0, EVENT_WORDS[words.pop().lower()])
    if not words:
        raise UsageError(
            f"`{verb}` needs {TARGET_USAGE}, e.g. `/offer-status {verb} contoso-analytics-vm failed`."
        )
    first = words[0]
    target: Target | None = None
    if len(words) == 1 and first.lower() == "all":
        target = Target(kind="all")
    elif first.lower().startswith("publisher:"):
        publisher = first.split(":", 1)[1].strip()
        if not publisher or len(words) > 1:
            raise UsageError("write the publisher as `publisher:<id>`, e.g. `publisher:contoso`.")
        target = Target(kind="publisher", publisher_id=publisher)
    found = resolve_target(
        session, team_id=team_id, target=target, query=" ".join(words), events=tuple(events)
    )
    return render.render_lookup(found) if isinstance(found, Lookup) else found


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
    """The answer to the alert verbs: parse, call the use-case, render. ``subscribe`` only checks its
    arguments here: the listener then posts the confirmation in the channel and saves it."""
    now = now or datetime.now(UTC)
    if verb == "subscriptions":
        return render_subscriptions(
            alerts.list_subscriptions(session, team_id=team_id, user_id=user_id, channel_id=channel_id)
        )
    if verb == "settings":
        _need_channel(channel_id, verb)
        if len(args) != 2 or args[0].lower() != "threading" or args[1].lower() not in ("on", "off"):
            raise UsageError(
                "use `/offer-status settings threading on` or `/offer-status settings threading off`."
            )
        on = args[1].lower() == "on"
        return render_threading(
            alerts.set_channel_threading(session, team_id=team_id, channel=channel_id, on=on)
        )
    if verb in ("notify-me", "mute-me") and not user_id:
        raise UsageError(f"`{verb}` works in Slack, where I know who you are.")
    request = parse_request(session, team_id=team_id, verb=verb, args=args)
    if isinstance(request, Reply):
        return request
    if verb in ("subscribe", "unsubscribe"):
        _need_channel(channel_id, verb)
    if verb == "subscribe":
        return render_subscribe_pending(request)
    if verb == "unsubscribe":
        return render_unsubscribed(
            alerts.unsubscribe_channel(session, team_id=team_id, channel=channel_id, request=request)
        )
    if verb == "notify-me":
        return render_notify_me(
            alerts.notify_me(session, team_id=team_id, user_id=user_id, request=request, now=now)
        )
    return render_muted(alerts.mute_me(session, team_id=team_id, user_id=user_id, request=request, now=now))

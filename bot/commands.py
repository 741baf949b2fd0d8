"""``/offer-status``: parse the text, ask the store, render. Plain functions, no Slack client."""

from __future__ import annotations

import json
import logging
import shlex

from sqlmodel import Session

from bot import render
from bot.render import LIST_PAGE_SIZE, Reply
from storage.errors import UsageError
from storage.queries import find_offers, list_offers, load_card
from storage.statuses import STATUS_FILTERS, OfferStatus, status_filter_words

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


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def handle_command(session: Session, *, team_id: str, text: str) -> Reply:
    """Answer ``/offer-status <text>`` for a workspace. Raises :class:`UsageError` for bad arguments."""
    text = " ".join(text.split())
    if len(text) > MAX_TEXT:
        raise UsageError(f"that is {len(text)} characters; an offer id or name is at most a few hundred.")
    words = _split(text)
    if not words:
        return offer_list(session, team_id=team_id, status=None)
    verb = words[0].lower()
    if verb in ("help", "-h", "--help", "?"):
        return render.render_help()
    if verb in ("list", "ls"):
        status, page = _list_args(words[1:])
        return offer_list(session, team_id=team_id, status=status, offset=(page - 1) * LIST_PAGE_SIZE)
    if verb in ("subscribe", "unsubscribe", "subscriptions", "notify-me", "mute-me", "settings"):
        raise UsageError(f"`{verb}` is not available yet. `/offer-status help` lists what works today.")
    return offer_status(session, team_id=team_id, query=" ".join(words))


def handle_page_action(session: Session, *, team_id: str, value: str) -> Reply:
    """A list's Previous/Next button: its value is ``{"s": status or null, "o": offset}``."""
    try:
        data = json.loads(value)
        status = OfferStatus(data["s"]) if data.get("s") else None
        offset = int(data["o"])
    except (ValueError, KeyError, TypeError):
        raise UsageError("that button is out of date: run `/offer-status list` again.") from None
    return offer_list(session, team_id=team_id, status=status, offset=offset)

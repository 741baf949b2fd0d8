"""``/offer-status history <offer>``: what happened to one offer, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from bot.i18n import N_
from storage.errors import UsageError
from storage.history import Entry, history
from storage.queries import Lookup, OfferCard, find_offers, get_offer, load_card

HISTORY_PAGE_SIZE = 20


@dataclass(frozen=True)
class HistoryPage:
    card: OfferCard
    entries: list[Entry]
    total: int
    offset: int
    limit: int


def _page(session: Session, card: OfferCard, offset: int, limit: int) -> HistoryPage:
    assert card.offer.id is not None
    found = history(session, offer_pk=card.offer.id, offset=max(0, offset), limit=limit)
    return HistoryPage(
        card=card, entries=found.entries, total=found.total, offset=max(0, offset), limit=limit
    )


def offer_history(
    session: Session, *, team_id: str, query: str, offset: int = 0, limit: int = HISTORY_PAGE_SIZE
) -> HistoryPage | Lookup:
    """The history of the one offer ``query`` finds, or the lookup (none, several, suggestions)."""
    lookup = find_offers(session, team_id=team_id, query=query)
    if len(lookup.matches) != 1:
        return lookup
    return _page(session, load_card(session, offer=lookup.matches[0]), offset, limit)


def history_page(
    session: Session, *, team_id: str, offer_pk: int, offset: int, limit: int = HISTORY_PAGE_SIZE
) -> HistoryPage:
    """A page of the history from its *Previous*/*Next* buttons (the offer may be gone since)."""
    offer = get_offer(session, team_id=team_id, offer_pk=offer_pk)
    if offer is None:
        raise UsageError(N_("that offer is no longer stored: `/offer-status list` shows the ones that are."))
    return _page(session, load_card(session, offer=offer), offset, limit)

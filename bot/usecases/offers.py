"""The query use-cases: look up one offer, page through the list, open the card an alert points to."""

from __future__ import annotations

from sqlmodel import Session

from bot.i18n import N_
from storage.errors import UsageError
from storage.reads.offers import Lookup, OfferCard, OfferPage, find_offers, get_offer, list_offers, load_card
from storage.statuses import OfferStatus

LIST_PAGE_SIZE = 20


def look_up(session: Session, *, team_id: str, query: str) -> OfferCard | Lookup:
    """The card of the one offer ``query`` finds, or the lookup (none, several, suggestions)."""
    lookup = find_offers(session, team_id=team_id, query=query)
    if len(lookup.matches) == 1:
        return load_card(session, offer=lookup.matches[0])
    return lookup


def list_page(
    session: Session,
    *,
    team_id: str,
    status: OfferStatus | None,
    publisher: str | None = None,
    offset: int = 0,
    limit: int = LIST_PAGE_SIZE,
) -> OfferPage:
    """One page of the workspace's offers, optionally of one status and of one publisher."""
    return list_offers(
        session, team_id=team_id, status=status, publisher=publisher, offset=max(0, offset), limit=limit
    )


def card_of(session: Session, *, team_id: str, offer_pk: int) -> OfferCard:
    """The card an alert's *Show status* button opens; the offer may have been deleted since."""
    offer = get_offer(session, team_id=team_id, offer_pk=offer_pk)
    if offer is None:
        raise UsageError(N_("that offer is no longer stored: `/offer-status list` shows the ones that are."))
    return load_card(session, offer=offer)

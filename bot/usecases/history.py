"""``/offer-status history <offer>``: what happened to one offer, newest first, a page at a time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlmodel import Session

from bot.i18n import N_
from storage.errors import UsageError
from storage.owners import OwnerRef, slack_owners
from storage.people import owner_emails
from storage.reads.history import ActionEntry, DeliveryEntry, Entry, history
from storage.reads.offers import Lookup, OfferCard, find_offers, get_offer, load_card
from storage.statuses import DestinationKind, OwnerKind

HISTORY_PAGE_SIZE = 20


@dataclass(frozen=True)
class Viewer:
    """Who reads a history: where alerts went is shown to those who may see it. A channel's name
    when ``sees_channel`` says so (the one they are in, a public one, a private one they are in); a
    direct message only to its own reader. The rest reads "another channel"."""

    user_id: str
    sees_channel: Callable[[str], bool]


EVERYTHING = Viewer(user_id="", sees_channel=lambda _channel: True)
"""The operator at the shell: shell access sees the whole store anyway."""


def _masked(entry: Entry, viewer: Viewer) -> Entry:
    """The entry as ``viewer`` may read it: a channel or another person's DM they may not see is
    replaced by "" (rendered "another channel", "someone else")."""
    if viewer is EVERYTHING:
        return entry
    if isinstance(entry, DeliveryEntry):
        if entry.destination_kind == DestinationKind.USER:
            visible = entry.destination == viewer.user_id
        else:
            visible = viewer.sees_channel(entry.destination)
        return entry if visible else replace(entry, destination="")
    if isinstance(entry, ActionEntry) and not entry.channel.startswith("D"):
        return entry if viewer.sees_channel(entry.channel) else replace(entry, channel="")
    return entry


@dataclass(frozen=True)
class HistoryPage:
    card: OfferCard
    entries: list[Entry]
    total: int
    offset: int
    limit: int
    owners: tuple[OwnerRef, ...] = ()
    """Who gets the offer's DMs: the addresses of its source, then those set from Slack."""


def _owners(session: Session, card: OfferCard) -> tuple[OwnerRef, ...]:
    slack = slack_owners(session, offer=card.offer)
    refs = [OwnerRef(OwnerKind.EMAIL, e) for e in owner_emails(card.offer)]
    refs += [OwnerRef(OwnerKind.USER, u) for u in slack.users]
    refs += [OwnerRef(OwnerKind.USERGROUP, g) for g in slack.groups]
    refs += [OwnerRef(OwnerKind.EMAIL, e) for e in slack.emails]
    return tuple(dict.fromkeys(refs))


def _page(session: Session, card: OfferCard, offset: int, limit: int, viewer: Viewer) -> HistoryPage:
    assert card.offer.id is not None
    found = history(session, offer_pk=card.offer.id, offset=max(0, offset), limit=limit)
    entries = [_masked(e, viewer) for e in found.entries]
    return HistoryPage(
        card=card,
        entries=entries,
        total=found.total,
        offset=max(0, offset),
        limit=limit,
        owners=_owners(session, card),
    )


def offer_history(
    session: Session,
    *,
    team_id: str,
    query: str,
    offset: int = 0,
    limit: int = HISTORY_PAGE_SIZE,
    viewer: Viewer = EVERYTHING,
) -> HistoryPage | Lookup:
    """The history of the one offer ``query`` finds, or the lookup (none, several, suggestions)."""
    lookup = find_offers(session, team_id=team_id, query=query)
    if len(lookup.matches) != 1:
        return lookup
    return _page(session, load_card(session, offer=lookup.matches[0]), offset, limit, viewer)


def history_page(
    session: Session,
    *,
    team_id: str,
    offer_pk: int,
    offset: int,
    limit: int = HISTORY_PAGE_SIZE,
    viewer: Viewer = EVERYTHING,
) -> HistoryPage:
    """A page of the history from its *Previous*/*Next* buttons (the offer may be gone since)."""
    offer = get_offer(session, team_id=team_id, offer_pk=offer_pk)
    if offer is None:
        raise UsageError(N_("that offer is no longer stored: `/offer-status list` shows the ones that are."))
    return _page(session, load_card(session, offer=offer), offset, limit, viewer)

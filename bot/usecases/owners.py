"""``/offer-status owners``: who owns an offer, and changing it from Slack.

Owners set here get the offer's DMs as the addresses of its status document do, whatever the
offer's source; on ``publisher:<id>`` they own every offer of that publisher. Anyone may look;
workspace admins and owners and ``OFFERBOT_MANAGERS`` change them, and the channel is told."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.i18n import N_
from bot.usecases.access import AccessPolicy, Action, Actor, check
from bot.usecases.offers import look_up
from bot.usecases.subscriptions import About, about
from storage.alerts.subscriptions import Target
from storage.errors import UsageError
from storage.models import Offer
from storage.owners import MAX_OWNERS, OfferOwner, OwnerRef, add_owners, owners_of, remove_owners
from storage.people import owner_emails
from storage.reads.offers import Lookup, OfferCard, list_offers
from storage.statuses import TargetKind, target_key


@dataclass(frozen=True)
class OwnersArgs:
    """``owners <offer | publisher:<id>> [add|remove <owner> …]``, as typed."""

    target: Target | None
    """``publisher:<id>``; None for an offer, looked up by ``query``."""
    query: str
    change: str | None = None
    """``add`` or ``remove``; None to list."""
    owners: tuple[OwnerRef, ...] = ()


@dataclass(frozen=True)
class OwnersView:
    about: About
    key: str
    owners: Sequence[OfferOwner]
    """Set from Slack on this target."""
    publisher_owners: Sequence[OfferOwner] = ()
    """For an offer: those set on its publisher."""
    document: Sequence[str] = ()
    """For an offer: the addresses its source gives (the document's ``notificationEmails``, or
    ``PARTNER_CENTER_NOTIFICATION_EMAILS`` for an offer read from Partner Center)."""
    source: str | None = None


@dataclass(frozen=True)
class OwnersChanged:
    view: OwnersView
    change: str
    done: tuple[OwnerRef, ...]
    unchanged: tuple[OwnerRef, ...]


def _target(session: Session, team_id: str, args: OwnersArgs) -> tuple[Target, Offer | None] | Lookup:
    if args.target is not None:
        publisher = args.target.publisher_id or ""
        if not list_offers(
            session, team_id=team_id, status=None, publisher=publisher, offset=0, limit=1
        ).offers:
            raise UsageError(
                N_(
                    "no offer of publisher `%(publisher)s` is stored: check its id with `/offer-status list`."
                ),
                publisher=publisher,
            )
        return args.target, None
    found = look_up(session, team_id=team_id, query=args.query)
    if isinstance(found, Lookup):
        return found
    assert isinstance(found, OfferCard)
    return Target(kind=TargetKind.OFFER, offer_pk=found.offer.id), found.offer


def _view(session: Session, team_id: str, target: Target, offer: Offer | None) -> OwnersView:
    key = target.key
    own = owners_of(session, team_id=team_id, key=key)
    if offer is None:
        return OwnersView(about=about(target, None), key=key, owners=own)
    publisher = owners_of(session, team_id=team_id, key=target_key(TargetKind.PUBLISHER, offer.publisher_id))
    return OwnersView(
        about=about(target, offer),
        key=key,
        owners=own,
        publisher_owners=publisher,
        document=owner_emails(offer),
        source=offer.feed or offer.state_source,
    )


def show_owners(session: Session, *, team_id: str, args: OwnersArgs) -> OwnersView | Lookup:
    """``owners <offer | publisher:<id>>``: everyone who gets its DMs, and why."""
    found = _target(session, team_id, args)
    if isinstance(found, Lookup):
        return found
    return _view(session, team_id, *found)


def change_owners(
    session: Session, *, team_id: str, args: OwnersArgs, actor: Actor, policy: AccessPolicy, now: datetime
) -> OwnersChanged | Lookup:
    """``owners <target> add|remove …``: the owners changed, those that already were (or were not)."""
    check(actor, Action.SET_OWNERS, policy)
    found = _target(session, team_id, args)
    if isinstance(found, Lookup):
        return found
    target, offer = found
    key = target.key
    if args.change == "add":
        present = len(owners_of(session, team_id=team_id, key=key))
        if present + len(args.owners) > MAX_OWNERS:
            raise UsageError(N_("an offer or a publisher has at most %(n)d owners."), n=MAX_OWNERS)
        done = add_owners(
            session,
            team_id=team_id,
            key=key,
            offer_pk=offer.id if offer is not None else None,
            owners=args.owners,
            added_by=actor.user_id,
            now=now,
        )
    else:
        done = remove_owners(session, team_id=team_id, key=key, owners=args.owners)
    unchanged = tuple(o for o in args.owners if o not in done)
    view = _view(session, team_id, target, offer)
    return OwnersChanged(view=view, change=args.change or "add", done=tuple(done), unchanged=unchanged)

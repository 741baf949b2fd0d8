"""From status changes to deliveries: for each change not yet handled, who wants to hear of it (the
channels that subscribe, the owners by DM, minus mutes), written as pending deliveries once.

:func:`fan_out` reads only the status changes not handled yet (a partial index), so its cost grows
with the number of changes, not of offers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.alerts.outbox import delivery_row, insert_ignore, locks_rows
from storage.alerts.policy import ALERT_EVENTS, needs_explaining
from storage.alerts.subscriptions import (
    matching_subscriptions,
    mute_levels,
    specificity,
    target_keys,
    user_wants,
)
from storage.alerts.threads import open_threads
from storage.models import AlertThread, Delivery, Message, Offer, StatusChange, Subscription
from storage.owners import SlackOwners, slack_owners
from storage.people import all_owner_emails, cached_users, needs_lookup
from storage.statuses import DeliveryKind, DeliveryState, DestinationKind, MessageLevel, OfferStatus

Groups = Mapping[tuple[str, str], Sequence[str]]
"""(team, user group id) -> its members, as Slack said this pass."""
NO_GROUPS: Groups = {}


def has_error_message(session: Session, offer_pk: int) -> bool:
    return (
        session.exec(
            select(Message.id)
            .where(Message.offer_pk == offer_pk, Message.level == MessageLevel.ERROR.value)
            .limit(1)
        ).first()
        is not None
    )


def unhandled_changes(session: Session, *, page: int = 500) -> Iterator[StatusChange]:
    """Every change not yet fanned out, oldest first, a page at a time (no locks: for the look-ups)."""
    after = 0
    while True:
        stmt = (
            select(StatusChange)
            .where(col(StatusChange.handled_at).is_(None), col(StatusChange.id) > after)
            .order_by(col(StatusChange.id))
            .limit(page)
        )
        rows = list(session.exec(stmt).all())
        if not rows:
            return
        yield from rows
        after = rows[-1].id  # type: ignore[assignment]


def still_wanted(
    session: Session, *, offer: Offer, destination_kind: str, destination: str, muted: dict[str, int]
) -> bool:
    """Whether a destination that was alerted still wants to hear about ``offer``: a user who has not
    muted it, or a channel that still has an enabled subscription covering it."""
    if destination_kind == DestinationKind.USER:
        return user_wants(session, offer=offer, user=destination, levels=muted)
    return (
        session.exec(
            select(Subscription.id)
            .where(
                Subscription.team_id == offer.team_id,
                Subscription.destination_kind == DestinationKind.CHANNEL,
                Subscription.destination == destination,
                col(Subscription.target_key).in_(target_keys(offer)),
                col(Subscription.disabled_reason).is_(None),
            )
            .limit(1)
        ).first()
        is not None
    )


def owners_unresolved(
    session: Session, offer: Offer, now: datetime, slack: SlackOwners | None = None
) -> bool:
    """True while an owner address of ``offer`` has no fresh look-up (the change must wait for it)."""
    emails = all_owner_emails(session, offer, slack)
    cache = cached_users(session, team_id=offer.team_id, emails=emails)
    return any(needs_lookup(cache.get(e), now) for e in emails)


def destinations(
    session: Session,
    offer: Offer,
    change: StatusChange,
    event: str | None,
    groups: Groups = NO_GROUPS,
    slack: SlackOwners | None = None,
) -> dict[tuple[str, str], tuple[str, int | None]]:
    """Who hears of ``change``: (destination kind, id) -> (delivery kind, subscription id). The
    owners are the addresses of its source and those set from Slack, the Slack users set as owners,
    and the members of the user groups set as owners (``groups``: asked of Slack this pass)."""
    found: dict[tuple[str, str], tuple[str, int | None]] = {}
    muted = mute_levels(session, offer=offer)
    if event is not None:
        for sub in matching_subscriptions(session, offer=offer, event=event):
            if sub.destination_kind == DestinationKind.USER and specificity(sub.target_key) <= muted.get(
                sub.destination, -1
            ):
                continue  # muted at least as narrowly as this notify-me
            found.setdefault((sub.destination_kind, sub.destination), ("alert", sub.id))
        for user in _owner_users(session, offer, groups, slack or slack_owners(session, offer=offer)):
            if user not in muted:
                found.setdefault((DestinationKind.USER, user), (DeliveryKind.ALERT, None))
    # Destinations that were alerted (an open thread) or are about to be (a pending row, e.g. during
    # a Slack outage) hear of every later change too, unless they muted or unsubscribed since.
    followers = {(t.destination_kind, t.destination) for t in open_threads(session, offer_pk=offer.id)}  # type: ignore[arg-type]
    pending = session.exec(
        select(Delivery.destination_kind, Delivery.destination)
        .where(
            Delivery.offer_pk == offer.id,
            Delivery.state == DeliveryState.PENDING,
            col(Delivery.kind).in_((DeliveryKind.ALERT, DeliveryKind.FOLLOWUP)),
        )
        .distinct()
    ).all()
    followers.update((k, d) for k, d in pending)
    for dest_kind, dest in sorted(followers):
        if (dest_kind, dest) in found:
            continue
        if still_wanted(session, offer=offer, destination_kind=dest_kind, destination=dest, muted=muted):
            found[(dest_kind, dest)] = (DeliveryKind.FOLLOWUP, None)
    return found


def _owner_users(session: Session, offer: Offer, groups: Groups, slack: SlackOwners) -> list[str]:
    """The Slack users who own ``offer``: by address (looked up), by id, and by user group."""
    emails = all_owner_emails(session, offer, slack)
    cache = cached_users(session, team_id=offer.team_id, emails=emails)
    users = [cache[e].user_id for e in emails if e in cache and cache[e].user_id]
    users += slack.users
    for group in slack.groups:
        users += groups.get((offer.team_id, group), ())
    return [u for u in dict.fromkeys(users) if u]


def latest_change_id(session: Session) -> int:
    """The id of the newest status change (0 when none): one read of the primary key's index, so a
    process can tell cheaply that another one (an import, a sync) stored a change."""
    return int(session.exec(select(sa.func.max(StatusChange.id))).one() or 0)


def fan_out(session: Session, *, now: datetime, limit: int = 200, groups: Groups = NO_GROUPS) -> int:
    """Turn up to ``limit`` unhandled changes into deliveries, in the caller's transaction.
    Returns the number of changes handled.

    A change waits (stays unhandled) while an earlier change of the same offer is unhandled, so two
    watchers never reorder an offer's changes; while an owner address has not been looked up yet;
    and, for a consulting service's failure with no error explaining it, until an error message
    arrives or the offer moves on.
    """
    earlier = aliased(StatusChange)
    waits = (
        select(earlier.id)
        .where(
            earlier.offer_pk == StatusChange.offer_pk,
            col(earlier.handled_at).is_(None),
            col(earlier.id) < col(StatusChange.id),
        )
        .exists()
    )
    handled, after = 0, 0
    while handled < limit:
        # Page on past held changes, so that changes which must wait never fill the window.
        stmt = (
            select(StatusChange)
            .where(col(StatusChange.handled_at).is_(None), col(StatusChange.id) > after, ~waits)
            .order_by(col(StatusChange.id))
            .limit(limit)
        )
        if locks_rows(session):
            stmt = stmt.with_for_update(skip_locked=True, of=StatusChange)
        page = list(session.exec(stmt).all())
        if not page:
            break
        for change in page:
            after = change.id  # type: ignore[assignment]
            if _fan_out_one(session, change, now, groups):
                handled += 1
                if handled >= limit:
                    break
    session.flush()
    return handled


def handle_quiet(session: Session, *, now: datetime, limit: int = 5000) -> int:
    """Mark handled, in one statement, up to ``limit`` of the oldest unhandled changes that tell nobody
    anything: a status that does not alert, for an offer with no earlier unhandled change, no open
    alert thread and no alert or follow-up waiting to be sent (so no follow-up is due either). A
    first import of many offers is mostly such changes; the others go through :func:`fan_out`."""
    sc = StatusChange.__table__  # type: ignore[attr-defined]
    earlier = sc.alias("earlier")
    window = select(sc.c.id).where(sc.c.handled_at.is_(None)).order_by(sc.c.id).limit(limit)
    if locks_rows(session):
        window = window.with_for_update(skip_locked=True)
    quiet = (
        sa.update(sc)
        .where(
            sc.c.id.in_(window.scalar_subquery()),
            sc.c.new_status.not_in([s.value for s in ALERT_EVENTS]),
            ~select(earlier.c.id)
            .where(earlier.c.offer_pk == sc.c.offer_pk, earlier.c.handled_at.is_(None))
            .where(earlier.c.id < sc.c.id)
            .exists(),
            ~select(AlertThread.id)
            .where(col(AlertThread.offer_pk) == sc.c.offer_pk, col(AlertThread.closed).is_(False))
            .exists(),
            ~select(Delivery.id)
            .where(
                col(Delivery.offer_pk) == sc.c.offer_pk,
                Delivery.state == DeliveryState.PENDING,
                col(Delivery.kind).in_((DeliveryKind.ALERT, DeliveryKind.FOLLOWUP)),
            )
            .exists(),
        )
        .values(handled_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(quiet).rowcount)  # type: ignore[attr-defined]


def _fan_out_one(session: Session, change: StatusChange, now: datetime, groups: Groups) -> bool:
    """Write the deliveries of one change and mark it handled; False when it must wait."""
    offer = session.get(Offer, change.offer_pk)
    rows: list[dict[str, Any]] = []
    if offer is not None:
        event = ALERT_EVENTS.get(OfferStatus(change.new_status))
        if event is not None and needs_explaining(offer.offer_type, change.new_status):
            if _moved_on(session, change):
                event = None  # never explained before the offer moved on: no alert
            elif not has_error_message(session, offer.id):  # type: ignore[arg-type]
                return False  # wait for an error message that explains it
        slack = slack_owners(session, offer=offer)  # read once for the checks and the destinations
        if event is not None and owners_unresolved(session, offer, now, slack):
            return False  # the next pass looks the owners up first
        if event is not None and any((offer.team_id, g) not in groups for g in slack.groups):
            return False  # a group set as owner since this pass read the groups: the next pass reads it
        for (dest_kind, dest), (kind, sub_id) in destinations(
            session, offer, change, event, groups, slack
        ).items():
            rows.append(
                delivery_row(
                    team_id=change.team_id,
                    change_id=change.id,  # type: ignore[arg-type]
                    offer_pk=offer.id,  # type: ignore[arg-type]
                    destination_kind=dest_kind,
                    destination=dest,
                    subscription_id=sub_id,
                    kind=kind,
                    now=now,
                )
            )
    insert_ignore(session, rows)
    change.handled_at = now
    session.add(change)
    return True


def _moved_on(session: Session, change: StatusChange) -> bool:
    return (
        session.exec(
            select(StatusChange.id)
            .where(StatusChange.offer_pk == change.offer_pk, col(StatusChange.id) > change.id)
            .limit(1)
        ).first()
        is not None
    )

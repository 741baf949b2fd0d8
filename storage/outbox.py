"""The alert outbox: status changes become delivery rows, claimed under a lease and sent once.

- :func:`fan_out` reads only the status changes not handled yet (a partial index), so its cost
  grows with the number of changes, not of offers. Each becomes one row per destination, keyed
  ``(change, destination, kind, seq)`` and inserted with ON CONFLICT DO NOTHING, so overlapping
  passes, restarts and several processes on one PostgreSQL database never alert twice.
- :func:`claim` takes due rows under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, inside
  ``BEGIN IMMEDIATE`` on SQLite); a claimer that dies leaves rows that another pass claims once the
  lease expires. A row waits while an earlier row for the same offer and destination is pending,
  so alerts arrive in order per offer.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import AlertTaker, AlertThread, Delivery, Message, Offer, StatusChange, Step, Subscription
from storage.policy import ALERT_EVENTS, STUCK, needs_explaining
from storage.statuses import MessageLevel, OfferStatus
from storage.subscriptions import (
    cached_users,
    matching_subscriptions,
    mute_levels,
    needs_lookup,
    owner_emails,
    specificity,
    target_keys,
    user_wants,
)

log = logging.getLogger(__name__)


def _locking(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def delivery_row(
    *,
    team_id: str,
    change_id: int,
    offer_pk: int,
    destination_kind: str,
    destination: str,
    kind: str,
    now: datetime,
    subscription_id: int | None = None,
    seq: int = 0,
) -> dict[str, Any]:
    """A new pending outbox row, due at once."""
    return dict(
        team_id=team_id,
        change_id=change_id,
        offer_pk=offer_pk,
        destination_kind=destination_kind,
        destination=destination,
        subscription_id=subscription_id,
        kind=kind,
        seq=seq,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


# One statement takes the channel's next free slot and moves it one interval on, so two processes
# never get the same slot (the row is locked by the upsert on PostgreSQL, the whole store on SQLite).
_RESERVE_SLOT = {
    "postgresql": (
        "INSERT INTO channel_pace (channel, next_at) VALUES (:channel, :now + :interval) "
        "ON CONFLICT (channel) DO UPDATE SET next_at = GREATEST(channel_pace.next_at, :now) + :interval "
        "RETURNING next_at"
    ),
    "sqlite": (
        "INSERT INTO channel_pace (channel, next_at) VALUES (:channel, :now + :interval) "
        "ON CONFLICT (channel) DO UPDATE SET next_at = max(channel_pace.next_at, :now) + :interval "
        "RETURNING next_at"
    ),
}


def reserve_slot(session: Session, *, channel: str, now: datetime, interval: float) -> datetime:
    """When the caller may post its next message to ``channel``: ``now``, or one ``interval`` after
    the slot the last caller (in any process) reserved. The slot is the caller's once committed."""
    statement = _RESERVE_SLOT[session.get_bind().dialect.name]
    params = {"channel": channel, "now": now.timestamp(), "interval": interval}
    next_at = float(session.execute(sa.text(statement), params).scalar_one())
    return datetime.fromtimestamp(next_at - interval, UTC)


def _insert_ignore(session: Session, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Delivery).values(rows).on_conflict_do_nothing()
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def has_error_message(session: Session, offer_pk: int) -> bool:
    return (
        session.exec(
            select(Message.id)
            .where(Message.offer_pk == offer_pk, Message.level == MessageLevel.ERROR.value)
            .limit(1)
        ).first()
        is not None
    )


def open_threads(session: Session, *, offer_pk: int) -> list[AlertThread]:
    return list(
        session.exec(
            select(AlertThread)
            .where(AlertThread.offer_pk == offer_pk, col(AlertThread.closed).is_(False))
            .order_by(col(AlertThread.id))
        ).all()
    )


def open_thread(
    session: Session, *, offer_pk: int, destination_kind: str, destination: str
) -> AlertThread | None:
    return session.exec(
        select(AlertThread)
        .where(
            AlertThread.offer_pk == offer_pk,
            AlertThread.destination == destination,
            AlertThread.destination_kind == destination_kind,
            col(AlertThread.closed).is_(False),
        )
        .order_by(col(AlertThread.id).desc())
    ).first()


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
    if destination_kind == "user":
        return user_wants(session, offer=offer, user=destination, levels=muted)
    return (
        session.exec(
            select(Subscription.id)
            .where(
                Subscription.team_id == offer.team_id,
                Subscription.destination_kind == "channel",
                Subscription.destination == destination,
                col(Subscription.target_key).in_(target_keys(offer)),
                col(Subscription.disabled_reason).is_(None),
            )
            .limit(1)
        ).first()
        is not None
    )


def owners_unresolved(session: Session, offer: Offer, now: datetime) -> bool:
    """True while an owner address of ``offer`` has no fresh look-up (the change must wait for it)."""
    emails = owner_emails(offer)
    cache = cached_users(session, team_id=offer.team_id, emails=emails)
    return any(needs_lookup(cache.get(e), now) for e in emails)


def destinations(
    session: Session, offer: Offer, change: StatusChange, event: str | None
) -> dict[tuple[str, str], tuple[str, int | None]]:
    """Who hears of ``change``: (destination kind, id) -> (delivery kind, subscription id)."""
    found: dict[tuple[str, str], tuple[str, int | None]] = {}
    muted = mute_levels(session, offer=offer)
    if event is not None:
        for sub in matching_subscriptions(session, offer=offer, event=event):
            if sub.destination_kind == "user" and specificity(sub.target_key) <= muted.get(
                sub.destination, -1
            ):
                continue  # muted at least as narrowly as this notify-me
            found.setdefault((sub.destination_kind, sub.destination), ("alert", sub.id))
        users = cached_users(session, team_id=offer.team_id, emails=owner_emails(offer))
        for email in owner_emails(offer):
            entry = users.get(email)
            if entry is not None and entry.user_id and entry.user_id not in muted:
                found.setdefault(("user", entry.user_id), ("alert", None))
    # Destinations that were alerted (an open thread) or are about to be (a pending row, e.g. during
    # a Slack outage) hear of every later change too, unless they muted or unsubscribed since.
    followers = {(t.destination_kind, t.destination) for t in open_threads(session, offer_pk=offer.id)}  # type: ignore[arg-type]
    pending = session.exec(
        select(Delivery.destination_kind, Delivery.destination)
        .where(
            Delivery.offer_pk == offer.id,
            Delivery.state == "pending",
            col(Delivery.kind).in_(("alert", "followup")),
        )
        .distinct()
    ).all()
    followers.update((k, d) for k, d in pending)
    for dest_kind, dest in sorted(followers):
        if (dest_kind, dest) in found:
            continue
        if still_wanted(session, offer=offer, destination_kind=dest_kind, destination=dest, muted=muted):
            found[(dest_kind, dest)] = ("followup", None)
    return found


def latest_change_id(session: Session) -> int:
    """The id of the newest status change (0 when none): one read of the primary key's index, so a
    process can tell cheaply that another one (an import, a sync) stored a change."""
    return int(session.exec(select(sa.func.max(StatusChange.id))).one() or 0)


def fan_out(session: Session, *, now: datetime, limit: int = 200) -> int:
    """Turn up to ``limit`` unhandled changes into deliveries, in the caller's transaction.
    Returns the number of changes handled.

    A change waits (stays unhandled) while an earlier change of the same offer is unhandled, so two
    watchers never reorder an offer's changes; while an owner address has not been looked up yet;
    and, for a consulting service's failure with no error explaining it, until an error message
    arrives or the offer moves on (domain.md §4).
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
        if _locking(session):
            stmt = stmt.with_for_update(skip_locked=True, of=StatusChange)
        page = list(session.exec(stmt).all())
        if not page:
            break
        for change in page:
            after = change.id  # type: ignore[assignment]
            if _fan_out_one(session, change, now):
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
    if _locking(session):
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
                Delivery.state == "pending",
                col(Delivery.kind).in_(("alert", "followup")),
            )
            .exists(),
        )
        .values(handled_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(quiet).rowcount)  # type: ignore[attr-defined]


def _fan_out_one(session: Session, change: StatusChange, now: datetime) -> bool:
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
        if event is not None and owners_unresolved(session, offer, now):
            return False  # the next pass looks the owners up first
        for (dest_kind, dest), (kind, sub_id) in destinations(session, offer, change, event).items():
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
    _insert_ignore(session, rows)
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


@dataclass(frozen=True)
class Due:
    """What a watcher pass has to do, read without a lock: it skips the write transactions (on
    SQLite each takes the store's write lock) of the stages with nothing to do."""

    changes: bool
    reminders: bool
    deliveries: bool
    stuck: bool = False


def due(session: Session, *, now: datetime) -> Due:
    """Four index probes: an unhandled change, a reminder due, a delivery due, a step stuck."""
    change = select(StatusChange.id).where(col(StatusChange.handled_at).is_(None)).limit(1)
    reminder = (
        select(AlertThread.id)
        .where(col(AlertThread.next_reminder_at) <= now, col(AlertThread.closed).is_(False))
        .limit(1)
    )
    delivery = (
        select(Delivery.id).where(Delivery.state == "pending", col(Delivery.next_attempt_at) <= now).limit(1)
    )
    stuck = select(Step.id).where(col(Step.stuck_at) <= now).limit(1)
    return Due(
        changes=session.exec(change).first() is not None,
        reminders=session.exec(reminder).first() is not None,
        deliveries=session.exec(delivery).first() is not None,
        stuck=session.exec(stuck).first() is not None,
    )


def schedule_reminders(session: Session, *, now: datetime, remind_after: timedelta, limit: int = 200) -> int:
    """One reminder per period for threads still failed or awaiting sign-off (an index range on
    ``next_reminder_at``: the cost grows with due reminders, not offers)."""
    taken = select(AlertTaker.thread_id).where(col(AlertTaker.thread_id) == col(AlertThread.id)).exists()
    stmt = (
        select(AlertThread)
        .where(col(AlertThread.next_reminder_at) <= now, col(AlertThread.closed).is_(False), ~taken)
        .order_by(col(AlertThread.next_reminder_at))
        .limit(limit)
    )
    if _locking(session):
        stmt = stmt.with_for_update(skip_locked=True)
    threads = list(session.exec(stmt).all())
    for thread in threads:
        offer = session.get(Offer, thread.offer_pk)
        muted = mute_levels(session, offer=offer) if offer is not None else {}
        if offer is None or not still_wanted(
            session,
            offer=offer,
            destination_kind=thread.destination_kind,
            destination=thread.destination,
            muted=muted,
        ):
            thread.closed = True  # muted or unsubscribed since the alert: no more reminders there
            thread.next_reminder_at = None
            session.add(thread)
            continue
        seq = thread.reminders_sent + 1
        _insert_ignore(
            session,
            [
                delivery_row(
                    team_id=thread.team_id,
                    change_id=thread.last_change_id,
                    offer_pk=thread.offer_pk,
                    destination_kind=thread.destination_kind,
                    destination=thread.destination,
                    kind="reminder",
                    seq=seq,
                    now=now,
                )
            ],
        )
        thread.reminders_sent = seq
        thread.next_reminder_at = now + remind_after
        session.add(thread)
    session.flush()
    return len(threads)


def stuck_seq(step: Step) -> int:
    """The outbox key's ``seq`` of a stuck alert: one per step and publish attempt (the minute the step
    entered its state, and its position), within PostgreSQL's integer."""
    minute = int(step.status_since.timestamp()) // 60 if step.status_since is not None else 0
    return (minute % 10_000_000) * 100 + step.position % 100


def schedule_stuck(session: Session, *, now: datetime, limit: int = 200) -> int:
    """One ``stuck`` alert per step that has run twice Microsoft's estimate, to the subscriptions that
    want ``stuck`` and the offer's owners, once per step and publish attempt (``stuck_at`` is cleared,
    and kept cleared by imports while the step stays in its state). An index range on ``stuck_at``:
    the cost grows with the steps that are due, not with the offers. Returns the steps alerted."""
    stmt = select(Step).where(col(Step.stuck_at) <= now).order_by(col(Step.stuck_at)).limit(limit)
    if _locking(session):
        stmt = stmt.with_for_update(skip_locked=True)
    steps = list(session.exec(stmt).all())
    alerted = 0
    for step in steps:
        step.stuck_since, step.stuck_at = step.stuck_at, None
        session.add(step)
        offer = session.get(Offer, step.offer_pk)
        last = select(sa.func.max(StatusChange.id)).where(StatusChange.offer_pk == step.offer_pk)
        change_id = session.exec(last).one()
        if offer is None or change_id is None or offer.removed_at is not None:
            continue
        change = session.get(StatusChange, change_id)
        assert change is not None
        rows = [
            delivery_row(
                team_id=offer.team_id,
                change_id=change_id,
                offer_pk=step.offer_pk,
                destination_kind=dest_kind,
                destination=dest,
                subscription_id=sub_id,
                kind="stuck",
                seq=stuck_seq(step),
                now=now,
            )
            | {"step_position": step.position}
            for (dest_kind, dest), (kind, sub_id) in destinations(session, offer, change, STUCK).items()
            if kind == "alert"
        ]
        _insert_ignore(session, rows)
        alerted += 1
    session.flush()
    return alerted


def claim(session: Session, *, now: datetime, worker: str, lease: timedelta, limit: int = 50) -> list[int]:
    """Lease up to ``limit`` due rows to ``worker``, oldest first, in the caller's locked transaction."""
    earlier = aliased(Delivery)
    blocked = (
        select(earlier.id)
        .where(
            earlier.offer_pk == Delivery.offer_pk,
            earlier.destination == Delivery.destination,
            earlier.state == "pending",
            col(earlier.id) < col(Delivery.id),
        )
        .exists()
    )
    stmt = (
        select(Delivery)
        .where(
            Delivery.state == "pending",
            col(Delivery.next_attempt_at) <= now,
            sa.or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) <= now),
            ~blocked,
        )
        .order_by(col(Delivery.id))
        .limit(limit)
    )
    if _locking(session):
        stmt = stmt.with_for_update(skip_locked=True, of=Delivery)
    rows = list(session.exec(stmt).all())
    for row in rows:
        row.lease_until = now + lease
        row.claimed_by = worker
        session.add(row)
    session.flush()
    return [r.id for r in rows]  # type: ignore[misc]


def user_destinations(session: Session, *, ids: Sequence[int]) -> list[Delivery]:
    """The deliveries among ``ids`` that go to a user's direct messages."""
    if not ids:
        return []
    query = select(Delivery).where(col(Delivery.id).in_(list(ids)), Delivery.destination_kind == "user")
    return list(session.exec(query).all())


def add_notice(session: Session, *, row: Delivery, creator: str, subscription_id: int, now: datetime) -> None:
    """Queue the DM that tells a subscription's creator it was disabled."""
    _insert_ignore(
        session,
        [
            delivery_row(
                team_id=row.team_id,
                change_id=row.change_id,
                offer_pk=row.offer_pk,
                destination_kind="user",
                destination=creator,
                subscription_id=subscription_id,
                kind="notice",
                seq=subscription_id,  # one notice per disabled subscription, even for one creator
                now=now,
            )
        ],
    )


def still_mine(row: Delivery, *, worker: str, now: datetime) -> bool:
    return (
        row.state == "pending"
        and row.claimed_by == worker
        and row.lease_until is not None
        and row.lease_until > now
    )


def mark_sending(row: Delivery, *, now: datetime) -> datetime | None:
    """Note that ``row`` is about to be posted; returns when an earlier attempt started whose outcome
    is unknown (None: every earlier attempt is known not to have posted it)."""
    earlier = row.sending_at
    row.sending_at = now if earlier is None else earlier
    return earlier


def mark_sent(row: Delivery, *, now: datetime, channel: str | None, ts: str | None) -> None:
    row.sending_at = None
    row.state = "sent"
    row.sent_at = now
    row.channel = channel
    row.ts = ts
    row.lease_until = None


def mark_failed(row: Delivery, *, error: str) -> None:
    row.sending_at = None
    row.state = "failed"
    row.last_error = error[:200]
    row.lease_until = None


def retry_later(
    row: Delivery,
    *,
    now: datetime,
    error: str,
    delay: float | None = None,
    rng: random.Random | None = None,
    maybe_sent: bool = False,
) -> None:
    """Keep the row pending and try again after ``delay`` seconds (Slack's Retry-After), else after an
    exponential backoff with jitter (capped at 10 min). ``maybe_sent``: the request may have reached
    Slack (the answer was lost), so the next attempt looks for it first."""
    if not maybe_sent:
        row.sending_at = None
    row.attempts += 1
    if delay is None:
        base = min(600.0, 2.0 ** min(row.attempts, 10))
        delay = base * (rng or random).uniform(0.5, 1.5)
    row.next_attempt_at = now + timedelta(seconds=delay)
    row.last_error = error[:200]
    row.lease_until = None


def _set_lease(session: Session, *, ids: Sequence[int], worker: str, until: datetime | None) -> None:
    """Set the lease of the rows of ``ids`` that ``worker`` still holds and has not sent."""
    if ids:
        session.execute(
            sa.update(Delivery)
            .where(
                col(Delivery.id).in_(list(ids)),
                col(Delivery.claimed_by) == worker,
                col(Delivery.state) == "pending",
            )
            .values(lease_until=until)
        )


def renew(session: Session, *, ids: Sequence[int], worker: str, until: datetime) -> None:
    """Extend ``worker``'s lease on the rows of ``ids`` it still holds (it is still sending them)."""
    _set_lease(session, ids=ids, worker=worker, until=until)


def release(session: Session, *, ids: Sequence[int], worker: str) -> None:
    """Give back leases not used (a pass stopped early), without counting an attempt."""
    _set_lease(session, ids=ids, worker=worker, until=None)


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    sent: int
    failed: int


def counts(session: Session) -> OutboxCounts:
    rows = dict(session.exec(select(Delivery.state, sa.func.count()).group_by(Delivery.state)).all())
    return OutboxCounts(
        pending=rows.get("pending", 0), sent=rows.get("sent", 0), failed=rows.get("failed", 0)
    )

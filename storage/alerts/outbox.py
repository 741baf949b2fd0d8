"""The alert outbox: delivery rows, claimed under a lease and sent once.

- Rows are written by ``fanout.fan_out`` (status changes) and ``reminders`` (reminders, stuck steps),
  keyed ``(change, destination, kind, seq)`` and inserted with ON CONFLICT DO NOTHING
  (:func:`insert_ignore`), so overlapping passes, restarts and several processes on one PostgreSQL
  database never alert twice.
- :func:`claim` takes due rows under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, inside
  ``BEGIN IMMEDIATE`` on SQLite); a claimer that dies leaves rows that another pass claims once the
  lease expires. A row waits while an earlier row for the same offer and destination is pending,
  so alerts arrive in order per offer.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import AlertThread, Delivery, StatusChange, Step
from storage.statuses import DeliveryKind, DeliveryState, DestinationKind

log = logging.getLogger(__name__)


def locks_rows(session: Session) -> bool:
    """Whether this store takes row locks (``FOR UPDATE SKIP LOCKED``): PostgreSQL does, SQLite
    serializes writers instead."""
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
        state=DeliveryState.PENDING,
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


def insert_ignore(session: Session, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Delivery).values(rows).on_conflict_do_nothing()
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


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
        select(Delivery.id)
        .where(Delivery.state == DeliveryState.PENDING, col(Delivery.next_attempt_at) <= now)
        .limit(1)
    )
    stuck = select(Step.id).where(col(Step.stuck_at) <= now).limit(1)
    return Due(
        changes=session.exec(change).first() is not None,
        reminders=session.exec(reminder).first() is not None,
        deliveries=session.exec(delivery).first() is not None,
        stuck=session.exec(stuck).first() is not None,
    )


def claim(session: Session, *, now: datetime, worker: str, lease: timedelta, limit: int = 50) -> list[int]:
    """Lease up to ``limit`` due rows to ``worker``, oldest first, in the caller's locked transaction."""
    earlier = aliased(Delivery)
    blocked = (
        select(earlier.id)
        .where(
            earlier.offer_pk == Delivery.offer_pk,
            earlier.destination == Delivery.destination,
            earlier.state == DeliveryState.PENDING,
            col(earlier.id) < col(Delivery.id),
        )
        .exists()
    )
    stmt = (
        select(Delivery)
        .where(
            Delivery.state == DeliveryState.PENDING,
            col(Delivery.next_attempt_at) <= now,
            sa.or_(col(Delivery.lease_until).is_(None), col(Delivery.lease_until) <= now),
            ~blocked,
        )
        .order_by(col(Delivery.id))
        .limit(limit)
    )
    if locks_rows(session):
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
    query = select(Delivery).where(
        col(Delivery.id).in_(list(ids)), Delivery.destination_kind == DestinationKind.USER
    )
    return list(session.exec(query).all())


def add_notice(session: Session, *, row: Delivery, creator: str, subscription_id: int, now: datetime) -> None:
    """Queue the DM that tells a subscription's creator it was disabled."""
    insert_ignore(
        session,
        [
            delivery_row(
                team_id=row.team_id,
                change_id=row.change_id,
                offer_pk=row.offer_pk,
                destination_kind=DestinationKind.USER,
                destination=creator,
                subscription_id=subscription_id,
                kind=DeliveryKind.NOTICE,
                seq=subscription_id,  # one notice per disabled subscription, even for one creator
                now=now,
            )
        ],
    )


def add_test_alert(session: Session, *, team_id: str, offer_pk: int, channel: str, now: datetime) -> int:
    """Queue a test alert about ``offer_pk`` to ``channel`` (its latest status change is the row's
    change: every stored offer has one). Each request is a new row (``seq`` counts them), sent by
    the watcher like any alert. Returns the row's key."""
    change_id = session.exec(
        select(sa.func.max(StatusChange.id)).where(StatusChange.offer_pk == offer_pk)
    ).one()
    if change_id is None:
        raise LookupError(f"offer {offer_pk} has no status change")
    where = (
        Delivery.change_id == change_id,
        Delivery.destination == channel,
        Delivery.kind == DeliveryKind.TEST,
    )
    seq = session.exec(select(sa.func.coalesce(sa.func.max(Delivery.seq), 0)).where(*where)).one() + 1
    row = Delivery(
        **delivery_row(
            team_id=team_id,
            change_id=change_id,
            offer_pk=offer_pk,
            destination_kind=DestinationKind.CHANNEL,
            destination=channel,
            kind=DeliveryKind.TEST,
            seq=seq,
            now=now,
        )
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def delivery_state(session: Session, *, delivery_id: int) -> Delivery | None:
    """A delivery row as it is now (the CLI waits on a test alert's)."""
    return session.get(Delivery, delivery_id)


def still_mine(row: Delivery, *, worker: str, now: datetime) -> bool:
    return (
        row.state == DeliveryState.PENDING
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
    row.state = DeliveryState.SENT
    row.sent_at = now
    row.channel = channel
    row.ts = ts
    row.lease_until = None


def mark_failed(row: Delivery, *, error: str) -> None:
    row.sending_at = None
    row.state = DeliveryState.FAILED
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
                col(Delivery.state) == DeliveryState.PENDING,
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
        pending=rows.get(DeliveryState.PENDING, 0),
        sent=rows.get(DeliveryState.SENT, 0),
        failed=rows.get(DeliveryState.FAILED, 0),
    )


def oldest_pending(session: Session) -> tuple[int, datetime | None]:
    """How many deliveries wait, and when the oldest of them was created (for ``/metrics``)."""
    query = select(sa.func.count(), sa.func.min(col(Delivery.created_at)))
    row = session.exec(query.where(Delivery.state == DeliveryState.PENDING)).one()
    return int(row[0]), row[1]


def next_attempt(session: Session, *, after: datetime) -> datetime | None:
    """When the first pending delivery that waits past ``after`` may be tried (None: none waits)."""
    query = select(sa.func.min(col(Delivery.next_attempt_at))).where(
        Delivery.state == DeliveryState.PENDING, col(Delivery.next_attempt_at) > after
    )
    return session.exec(query).one()

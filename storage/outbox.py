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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import AlertThread, Delivery, Message, Offer, StatusChange
from storage.statuses import MessageLevel, OfferStatus, OfferType
from storage.subscriptions import (
    ALERT_EVENTS,
    cached_users,
    matching_subscriptions,
    muted_users,
    owner_emails,
)

log = logging.getLogger(__name__)

REMINDABLE = (OfferStatus.FAILED.value, OfferStatus.SIGNOFF.value)
CLOSING = (OfferStatus.LIVE.value, OfferStatus.NOT_STARTED.value)
"""After a follow-up about these, the next alert about the offer starts a new thread."""


def _locking(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


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


def alert_event(session: Session, offer: Offer, change: StatusChange) -> str | None:
    """The event word this change alerts as, or None (domain.md §4 for consulting services)."""
    event = ALERT_EVENTS.get(OfferStatus(change.new_status))
    if event is None:
        return None
    if (
        offer.offer_type == OfferType.CONSULTING_SERVICE.value
        and change.new_status == OfferStatus.FAILED.value
    ):
        # "Publish failed" can be a normal step for consulting services: alert only when explained.
        return event if has_error_message(session, offer.id) else None  # type: ignore[arg-type]
    return event


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


def unhandled_changes(session: Session, *, limit: int) -> list[StatusChange]:
    """Changes not yet fanned out, oldest first (without locks: for the e-mail look-ups)."""
    stmt = select(StatusChange).where(col(StatusChange.handled_at).is_(None)).order_by(col(StatusChange.id))
    return list(session.exec(stmt.limit(limit)).all())


def destinations(
    session: Session, offer: Offer, change: StatusChange
) -> dict[tuple[str, str], tuple[str, int | None]]:
    """Who hears of ``change``: (destination kind, id) -> (delivery kind, subscription id)."""
    found: dict[tuple[str, str], tuple[str, int | None]] = {}
    event = alert_event(session, offer, change)
    if event is not None:
        muted = muted_users(session, offer=offer)
        for sub in matching_subscriptions(session, offer=offer, event=event):
            if sub.destination_kind == "user" and sub.destination in muted:
                continue
            found.setdefault((sub.destination_kind, sub.destination), ("alert", sub.id))
        users = cached_users(session, team_id=offer.team_id, emails=owner_emails(offer))
        for email in owner_emails(offer):
            entry = users.get(email)
            if entry is not None and entry.user_id and entry.user_id not in muted:
                found.setdefault(("user", entry.user_id), ("alert", None))
    # Destinations that were alerted (an open thread) or are about to be (a pending row, e.g. during
    # a Slack outage) hear of every later change too.
    for thread in open_threads(session, offer_pk=offer.id):  # type: ignore[arg-type]
        found.setdefault((thread.destination_kind, thread.destination), ("followup", None))
    pending = session.exec(
        select(Delivery.destination_kind, Delivery.destination)
        .where(
            Delivery.offer_pk == offer.id,
            Delivery.state == "pending",
            col(Delivery.kind).in_(("alert", "followup")),
        )
        .distinct()
    ).all()
    for dest_kind, dest in pending:
        found.setdefault((dest_kind, dest), ("followup", None))
    return found


def fan_out(session: Session, *, now: datetime, limit: int = 200) -> int:
    """Turn up to ``limit`` unhandled changes into deliveries, in the caller's (locked) transaction.
    Returns the number of changes handled."""
    stmt = select(StatusChange).where(col(StatusChange.handled_at).is_(None)).order_by(col(StatusChange.id))
    stmt = stmt.limit(limit)
    if _locking(session):
        stmt = stmt.with_for_update(skip_locked=True)
    changes = list(session.exec(stmt).all())
    for change in changes:
        offer = session.get(Offer, change.offer_pk)
        rows: list[dict[str, Any]] = []
        if offer is not None:
            for (dest_kind, dest), (kind, sub_id) in destinations(session, offer, change).items():
                rows.append(
                    dict(
                        team_id=change.team_id,
                        change_id=change.id,
                        offer_pk=offer.id,
                        destination_kind=dest_kind,
                        destination=dest,
                        subscription_id=sub_id,
                        kind=kind,
                        seq=0,
                        state="pending",
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        _insert_ignore(session, rows)
        change.handled_at = now
        session.add(change)
    session.flush()
    return len(changes)


def schedule_reminders(session: Session, *, now: datetime, remind_after: timedelta, limit: int = 200) -> int:
    """One reminder per period for threads still failed or awaiting sign-off (an index range on
    ``next_reminder_at``: the cost grows with due reminders, not offers)."""
    stmt = (
        select(AlertThread)
        .where(col(AlertThread.next_reminder_at) <= now, col(AlertThread.closed).is_(False))
        .order_by(col(AlertThread.next_reminder_at))
        .limit(limit)
    )
    if _locking(session):
        stmt = stmt.with_for_update(skip_locked=True)
    threads = list(session.exec(stmt).all())
    for thread in threads:
        seq = thread.reminders_sent + 1
        _insert_ignore(
            session,
            [
                dict(
                    team_id=thread.team_id,
                    change_id=thread.last_change_id,
                    offer_pk=thread.offer_pk,
                    destination_kind=thread.destination_kind,
                    destination=thread.destination,
                    subscription_id=None,
                    kind="reminder",
                    seq=seq,
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            ],
        )
        thread.reminders_sent = seq
        thread.next_reminder_at = now + remind_after
        session.add(thread)
    session.flush()
    return len(threads)


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


def add_notice(session: Session, *, row: Delivery, creator: str, subscription_id: int, now: datetime) -> None:
    """Queue the DM that tells a subscription's creator it was disabled."""
    _insert_ignore(
        session,
        [
            dict(
                team_id=row.team_id,
                change_id=row.change_id,
                offer_pk=row.offer_pk,
                destination_kind="user",
                destination=creator,
                subscription_id=subscription_id,
                kind="notice",
                seq=0,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
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


def mark_sent(row: Delivery, *, now: datetime, channel: str | None, ts: str | None) -> None:
    row.state = "sent"
    row.sent_at = now
    row.channel = channel
    row.ts = ts
    row.lease_until = None


def mark_failed(row: Delivery, *, error: str) -> None:
    row.state = "failed"
    row.last_error = error[:200]
    row.lease_until = None


def retry_later(row: Delivery, *, now: datetime, error: str, rng: random.Random | None = None) -> None:
    """Keep the row pending and try again after an exponential backoff with jitter (capped at 10 min)."""
    row.attempts += 1
    base = min(600.0, 2.0 ** min(row.attempts, 10))
    jitter = (rng or random).uniform(0.5, 1.5)
    row.next_attempt_at = now + timedelta(seconds=base * jitter)
    row.last_error = error[:200]
    row.lease_until = None


def release(session: Session, *, ids: Sequence[int], worker: str) -> None:
    """Give back leases not used (a pass stopped early), without counting an attempt."""
    if ids:
        session.execute(
            sa.update(Delivery)
            .where(
                col(Delivery.id).in_(list(ids)),
                col(Delivery.claimed_by) == worker,
                col(Delivery.state) == "pending",
            )
            .values(lease_until=None)
        )


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

"""Deliveries that no status change brings: reminders of an alert nobody handled, and the alerts of a
step that runs far past its estimate (stuck)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.alerts.fanout import destinations, still_wanted
from storage.alerts.outbox import delivery_row, insert_ignore, locks_rows
from storage.alerts.policy import STUCK
from storage.alerts.subscriptions import (
    mute_levels,
)
from storage.models import AlertTaker, AlertThread, Offer, StatusChange, Step
from storage.statuses import DeliveryKind


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
    if locks_rows(session):
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
            thread.closed_at = now
            thread.next_reminder_at = None
            session.add(thread)
            continue
        seq = thread.reminders_sent + 1
        insert_ignore(
            session,
            [
                delivery_row(
                    team_id=thread.team_id,
                    change_id=thread.last_change_id,
                    offer_pk=thread.offer_pk,
                    destination_kind=thread.destination_kind,
                    destination=thread.destination,
                    kind=DeliveryKind.REMINDER,
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
    if locks_rows(session):
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
                kind=DeliveryKind.STUCK,
                seq=stuck_seq(step),
                now=now,
            )
            | {"step_position": step.position}
            for (dest_kind, dest), (kind, sub_id) in destinations(session, offer, change, STUCK).items()
            if kind == DeliveryKind.ALERT
        ]
        insert_ignore(session, rows)
        alerted += 1
    session.flush()
    return alerted

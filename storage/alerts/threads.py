"""Alert threads: the first alert of an offer in a destination, which the later ones answer in thread, and
its reminders' schedule. The one module that reads and writes ``AlertThread`` rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from storage.alerts.outbox import mark_sent
from storage.alerts.policy import CLOSING, REMINDABLE
from storage.alerts.work import next_reminder
from storage.models import AlertThread, Delivery


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


@dataclass(frozen=True)
class ThreadMove:
    """How a post moves the alert thread of its offer and destination."""

    change_id: int
    new_status: str
    thread_id: int | None
    """The open thread the post continues, if any."""
    starts_thread: bool
    updates_root: bool
    """The thread's first alert is redrawn with the current status after this post."""


def record_post(
    session: Session,
    *,
    delivery_id: int,
    channel: str | None,
    ts: str | None,
    move: ThreadMove | None,
    now: datetime,
    remind_after: timedelta,
) -> tuple[str, str] | None:
    """Mark the delivery sent, and start or continue its thread. Returns the thread's root
    (channel, ts) when it should be redrawn."""
    row = session.get(Delivery, delivery_id)
    if row is None:
        return None
    mark_sent(row, now=now, channel=channel, ts=ts)
    if move is None or channel is None or ts is None:
        return None
    thread = session.get(AlertThread, move.thread_id) if move.thread_id else None
    if thread is None and not move.starts_thread:
        return None  # a follow-up whose thread has closed starts no thread
    if thread is None:
        thread = AlertThread(
            team_id=row.team_id,
            offer_pk=row.offer_pk,
            destination_kind=row.destination_kind,
            destination=row.destination,
            channel=channel,
            ts=ts,
            first_change_id=move.change_id,
            last_change_id=move.change_id,
            status=move.new_status,
        )
    if thread.status != move.new_status or thread.next_reminder_at is None:
        remindable = move.new_status in REMINDABLE
        at = now + remind_after
        thread.next_reminder_at = next_reminder(session, thread=thread, remindable=remindable, at=at)
    thread.last_change_id = move.change_id
    thread.status = move.new_status
    thread.closed = move.new_status in CLOSING
    thread.closed_at = now if thread.closed else None
    session.add(thread)
    return (thread.channel, thread.ts) if move.updates_root else None

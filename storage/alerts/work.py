"""People working on alerts: *I'm on it* (who took an alert), *Snooze* (no reminder until then), and
the log of what they did, all functions over a Session in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import AlertTaker, AlertThread, OfferAction

ON_IT, SNOOZE, MUTE = "on_it", "snooze", "mute"


@dataclass(frozen=True)
class Handling:
    """Who is on an alert and until when it is snoozed: what the alert shows under its title."""

    takers: Sequence[AlertTaker] = ()
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None

    def shown(self, now: datetime) -> Handling:
        """The same, without a snooze that has run out."""
        if self.snoozed_until is not None and self.snoozed_until <= now:
            return Handling(takers=self.takers)
        return self


def find_thread(
    session: Session, *, team_id: str, offer_pk: int, channel: str, ts: str | None
) -> AlertThread | None:
    """The alert a button was clicked on: the thread whose root is message ``ts`` in ``channel``, else
    (a click on a reminder or a follow-up) the newest alert about the offer in that channel."""
    base = select(AlertThread).where(
        AlertThread.team_id == team_id, AlertThread.offer_pk == offer_pk, AlertThread.channel == channel
    )
    if ts:
        exact = session.exec(base.where(AlertThread.ts == ts)).first()
        if exact is not None:
            return exact
    return session.exec(base.order_by(col(AlertThread.id).desc()).limit(1)).first()


def handling_of(session: Session, *, thread: AlertThread) -> Handling:
    takers = session.exec(
        select(AlertTaker)
        .where(AlertTaker.thread_id == thread.id)
        .order_by(col(AlertTaker.since), col(AlertTaker.user_id))
    ).all()
    return Handling(takers=takers, snoozed_until=thread.snoozed_until, snoozed_by=thread.snoozed_by)


def is_taken(session: Session, *, thread_id: int) -> bool:
    found = session.exec(select(AlertTaker.user_id).where(AlertTaker.thread_id == thread_id).limit(1))
    return found.first() is not None


def log_action(
    session: Session,
    *,
    team_id: str,
    offer_pk: int,
    user_id: str,
    action: str,
    channel: str,
    now: datetime,
    until: datetime | None = None,
) -> None:
    session.add(
        OfferAction(
            team_id=team_id,
            offer_pk=offer_pk,
            user_id=user_id,
            action=action,
            channel=channel,
            at=now,
            until=until,
        )
    )


def take(session: Session, *, thread: AlertThread, user_id: str, now: datetime) -> bool:
    """``user_id`` is on the alert: its reminders stop. False (and nothing written) when they
    already were; another person is added beside the first. An insert that ignores a conflict, so
    the same person clicking in two processes at once is no error."""
    assert thread.id is not None
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = AlertTaker.__table__  # type: ignore[attr-defined]
    added = session.execute(
        insert(table)
        .values(thread_id=thread.id, user_id=user_id, since=now)
        .on_conflict_do_nothing(index_elements=["thread_id", "user_id"])
        .returning(table.c.user_id)
    ).first()
    if added is None:  # the same person again
        return False
    thread.next_reminder_at = None
    session.add(thread)
    log_action(
        session,
        team_id=thread.team_id,
        offer_pk=thread.offer_pk,
        user_id=user_id,
        action=ON_IT,
        channel=thread.channel,
        now=now,
    )
    session.flush()
    return True


def snooze(session: Session, *, thread: AlertThread, user_id: str, until: datetime, now: datetime) -> None:
    """No reminder for the alert before ``until`` (a reminder already due moves there)."""
    moved_by_snooze = thread.next_reminder_at is not None and thread.next_reminder_at == thread.snoozed_until
    if thread.next_reminder_at is not None and (moved_by_snooze or thread.next_reminder_at < until):
        thread.next_reminder_at = until  # a later snooze replaces an earlier one, shorter or longer
    thread.snoozed_until, thread.snoozed_by = until, user_id
    session.add(thread)
    log_action(
        session,
        team_id=thread.team_id,
        offer_pk=thread.offer_pk,
        user_id=user_id,
        action=SNOOZE,
        channel=thread.channel,
        now=now,
        until=until,
    )
    session.flush()


def next_reminder(
    session: Session, *, thread: AlertThread, remindable: bool, at: datetime
) -> datetime | None:
    """When the thread's next reminder is due after a change: never while someone is on it, not
    before a snooze runs out, else ``at``."""
    if not remindable or (thread.id is not None and is_taken(session, thread_id=thread.id)):
        return None
    if thread.snoozed_until is not None and thread.snoozed_until > at:
        return thread.snoozed_until
    return at


def actions_of(session: Session, *, offer_pk: int) -> Sequence[OfferAction]:
    """What people did about the offer, oldest first."""
    return session.exec(
        select(OfferAction)
        .where(OfferAction.offer_pk == offer_pk)
        .order_by(col(OfferAction.at), col(OfferAction.id))
    ).all()


def count_actions(session: Session, *, offer_pk: int) -> int:
    stmt = select(sa.func.count()).select_from(OfferAction).where(OfferAction.offer_pk == offer_pk)
    return int(session.exec(stmt).one())

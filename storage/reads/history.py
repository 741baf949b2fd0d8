"""An offer's history: its status changes, what people did from Slack, and where its alerts went,
merged newest first and paged. Each source is read through its offer index, newest first by the
time the page sorts on, at most ``offset + limit`` rows of each: the cost of a page grows with its
number, not with the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import Delivery, OfferAction, StatusChange


@dataclass(frozen=True)
class StatusEntry:
    at: datetime
    old_status: str | None
    new_status: str
    source: str


@dataclass(frozen=True)
class ActionEntry:
    at: datetime
    user_id: str
    action: str  # on_it | snooze | mute
    channel: str
    until: datetime | None


@dataclass(frozen=True)
class DeliveryEntry:
    at: datetime
    kind: str  # alert | followup | reminder | notice
    destination_kind: str  # channel | user
    destination: str
    state: str  # pending | sent | failed
    error: str | None


Entry = StatusEntry | ActionEntry | DeliveryEntry


@dataclass(frozen=True)
class HistorySlice:
    entries: list[Entry]
    total: int


def _count(session: Session, model: type, offer_pk: int) -> int:
    stmt = select(sa.func.count()).select_from(model).where(model.offer_pk == offer_pk)  # type: ignore[attr-defined]
    return int(session.exec(stmt).one())


def history(session: Session, *, offer_pk: int, offset: int, limit: int) -> HistorySlice:
    """Entries ``offset`` to ``offset + limit`` of the offer's history, newest first."""
    n = offset + limit
    changes = session.exec(
        select(StatusChange)
        .where(StatusChange.offer_pk == offer_pk)
        .order_by(col(StatusChange.changed_at).desc(), col(StatusChange.id).desc())
        .limit(n)
    ).all()
    actions = session.exec(
        select(OfferAction)
        .where(OfferAction.offer_pk == offer_pk)
        .order_by(col(OfferAction.at).desc(), col(OfferAction.id).desc())
        .limit(n)
    ).all()
    when = sa.func.coalesce(col(Delivery.sent_at), col(Delivery.created_at))
    deliveries = session.exec(
        select(Delivery)
        .where(Delivery.offer_pk == offer_pk)
        .order_by(when.desc(), col(Delivery.id).desc())
        .limit(n)
    ).all()
    entries: list[Entry] = [
        *(StatusEntry(c.changed_at, c.old_status, c.new_status, c.source) for c in changes),
        *(ActionEntry(a.at, a.user_id, a.action, a.channel, a.until) for a in actions),
        *(
            DeliveryEntry(
                d.sent_at or d.created_at, d.kind, d.destination_kind, d.destination, d.state, d.last_error
            )
            for d in deliveries
        ),
    ]
    order = {StatusEntry: 0, DeliveryEntry: 1, ActionEntry: 2}
    entries.sort(key=lambda e: (e.at, -order[type(e)]), reverse=True)
    total = sum(_count(session, m, offer_pk) for m in (StatusChange, OfferAction, Delivery))
    return HistorySlice(entries=entries[offset:n], total=total)

"""Alert threads: the first alert of an offer in a destination, which the later ones answer in thread, and
its reminders' schedule. The one module that reads and writes ``AlertThread`` rows."""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.models import AlertThread


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

"""How long publishing steps took: one row each time an import, a push or a sync sees a step that it
had seen running now complete, with the offer's type, so that when an offer will be live can be
told from this workspace's own history (the step rows keep only the current round's time); and
the forecasts made from it. The tables and their queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, col, select

from storage.models import Offer, utc_column
from storage.statuses import OfferStatus


class StepDuration(SQLModel, table=True):
    __tablename__ = "step_duration"
    __table_args__ = (
        sa.Index(
            "ix_step_duration_team_id_offer_type_step_id_finished_at",
            "team_id",
            "offer_type",
            "step_id",
            "finished_at",
        ),
        sa.Index("ix_step_duration_finished_at", "finished_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    offer_pk: int = Field(sa_column=sa.Column(sa.ForeignKey("offer.id", ondelete="CASCADE"), nullable=False))
    offer_type: str = Field(max_length=40)
    step_id: str = Field(max_length=200)
    position: int
    seconds: int
    finished_at: datetime = utc_column()


def step_durations(
    session: Session, *, team_id: str, offer_type: str, step_id: str, limit: int = 200
) -> Sequence[int]:
    """The seconds the step took, newest first, for offers of this type in this workspace."""
    stmt = (
        select(StepDuration.seconds)
        .where(
            StepDuration.team_id == team_id,
            StepDuration.offer_type == offer_type,
            StepDuration.step_id == step_id,
        )
        .order_by(col(StepDuration.finished_at).desc())
        .limit(limit)
    )
    return session.exec(stmt).all()


class OfferForecast(SQLModel, table=True):
    """When an offer in progress will likely be live (``storage/forecast.py``), computed by the
    jobs process when the offer changes (or its likely date has passed), read by the card with its
    key: a look-up costs nothing more at any store size."""

    __tablename__ = "offer_forecast"
    __table_args__ = (sa.Index("ix_offer_forecast_likely_at", "likely_at"),)

    offer_pk: int = Field(
        sa_column=sa.Column(
            sa.ForeignKey("offer.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
        )
    )
    team_id: str = Field(max_length=32)
    likely_at: datetime | None = utc_column(nullable=True)
    """None: no forecast can be told (a remaining step with neither history nor an estimate)."""
    late_at: datetime | None = utc_column(nullable=True)
    basis: str = Field(default="", max_length=20)  # forecast.Basis
    similar: int = Field(default=0)
    unknown: int = Field(default=0)
    """Remaining steps counted as no time (no history, no estimate: the publisher's sign-off)."""
    computed_at: datetime = utc_column()
    for_updated_at: datetime = utc_column()
    """The offer's ``updated_at`` it was computed from: a later change makes it stale."""


class ForecastDue(SQLModel, table=True):
    """An offer whose forecast must be made again: every import, push or sync that writes an offer
    marks it, the forecast job takes the marks, so its work grows with the changes."""

    __tablename__ = "forecast_due"

    offer_pk: int = Field(
        sa_column=sa.Column(
            sa.ForeignKey("offer.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
        )
    )


def mark_due(session: Session, *, offer_pks: Sequence[int]) -> None:
    """These offers changed: their forecasts are due. An upsert, not an insert that ignores a
    conflict: on PostgreSQL it waits for a job that is taking the mark, so no change is lost."""
    if not offer_pks:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = ForecastDue.__table__  # type: ignore[attr-defined]
    values = [{"offer_pk": pk} for pk in dict.fromkeys(offer_pks)]
    for start in range(0, len(values), 5000):  # within SQLite's variables per statement
        stmt = insert(table).values(values[start : start + 5000])
        session.execute(
            stmt.on_conflict_do_update(index_elements=["offer_pk"], set_={"offer_pk": stmt.excluded.offer_pk})
        )


@dataclass(frozen=True)
class Due:
    offers: Sequence[Offer]
    """The offers in progress among those taken, to forecast."""
    taken: int
    """Marks and passed forecasts taken (a full batch: there may be more)."""


def stale_offers(session: Session, *, now: datetime, limit: int = 500) -> Due:
    """Offers whose forecast is due (they changed) or whose likely date has passed since it was
    made, their marks taken (locked, so another process skips them): the work grows with the
    changes, not with the offers. Taken offers no longer in progress lose their forecast."""
    due = list(
        session.exec(
            select(ForecastDue.offer_pk)
            .order_by(col(ForecastDue.offer_pk))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    )
    past = session.exec(
        select(OfferForecast.offer_pk)
        .where(
            col(OfferForecast.likely_at) < now, col(OfferForecast.likely_at) > col(OfferForecast.computed_at)
        )
        .order_by(col(OfferForecast.likely_at))
        .limit(max(0, limit - len(due)))
    ).all()
    if due:
        marks = ForecastDue.__table__  # type: ignore[attr-defined]
        session.execute(sa.delete(marks).where(marks.c.offer_pk.in_(due)))
    pks = list(dict.fromkeys([*due, *past]))
    if not pks:
        return Due(offers=[], taken=0)
    stmt = select(Offer).where(
        col(Offer.id).in_(pks), Offer.status == OfferStatus.IN_PROGRESS.value, col(Offer.removed_at).is_(None)
    )
    found = session.exec(stmt.order_by(col(Offer.id))).all()
    gone = set(pks) - {o.id for o in found}  # no longer in progress (or removed): no forecast shown
    if gone:
        table = OfferForecast.__table__  # type: ignore[attr-defined]
        session.execute(sa.delete(table).where(table.c.offer_pk.in_(gone)))
    return Due(offers=found, taken=len(pks))


def history_of(
    session: Session, *, team_id: str, offer_type: str, step_ids: Sequence[str], limit: int = 200
) -> dict[str, list[tuple[int, int]]]:
    """The newest durations of each step for offers of this type, as (seconds, offer key)."""
    found: dict[str, list[tuple[int, int]]] = {}
    for step_id in dict.fromkeys(step_ids):
        rows = session.exec(
            select(StepDuration.seconds, StepDuration.offer_pk)
            .where(
                StepDuration.team_id == team_id,
                StepDuration.offer_type == offer_type,
                StepDuration.step_id == step_id,
            )
            .order_by(col(StepDuration.finished_at).desc())
            .limit(limit)
        ).all()
        found[step_id] = [(seconds, pk) for seconds, pk in rows]
    return found


def save_forecast(
    session: Session,
    *,
    offer: Offer,
    likely: datetime | None,
    late: datetime | None,
    basis: str,
    similar: int,
    now: datetime,
    unknown: int = 0,
) -> None:
    assert offer.id is not None
    row = session.get(OfferForecast, offer.id) or OfferForecast(
        offer_pk=offer.id, team_id=offer.team_id, computed_at=now, for_updated_at=offer.updated_at
    )
    row.likely_at, row.late_at, row.basis, row.similar, row.unknown = likely, late, basis, similar, unknown
    row.computed_at, row.for_updated_at = now, offer.updated_at
    session.add(row)


def forecasts_of(session: Session, *, offer_pks: Sequence[int]) -> dict[int, OfferForecast]:
    if not offer_pks:
        return {}
    rows = session.exec(select(OfferForecast).where(col(OfferForecast.offer_pk).in_(list(offer_pks)))).all()
    return {r.offer_pk: r for r in rows}

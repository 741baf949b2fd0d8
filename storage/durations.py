"""How long publishing steps took: one row each time an import, a push or a sync sees a step that it
had seen running now complete, with the offer's type, so that when an offer will be live can be
told from this workspace's own history (the step rows keep only the current round's time); and
the forecasts made from it. The tables and their queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
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


def stale_offers(session: Session, *, now: datetime, limit: int = 500) -> Sequence[Offer]:
    """Offers in progress whose forecast is missing, was made before their last change, or whose
    likely date has passed: the work grows with the changes, not with the offers."""
    f = OfferForecast
    stmt = (
        select(Offer)
        .outerjoin(f, col(f.offer_pk) == col(Offer.id))
        .where(
            Offer.status == OfferStatus.IN_PROGRESS.value,
            col(Offer.removed_at).is_(None),
            sa.or_(
                col(f.offer_pk).is_(None),
                col(f.for_updated_at) != col(Offer.updated_at),
                col(f.likely_at) < now,
            ),
        )
        .order_by(col(Offer.id))
        .limit(limit)
    )
    return session.exec(stmt).all()


def history_of(
    session: Session, *, team_id: str, offer_type: str, step_ids: Sequence[str], limit: int = 200
) -> tuple[dict[str, list[int]], int]:
    """The newest durations of each step for offers of this type, and how many offers they are of."""
    found: dict[str, list[int]] = {}
    offers: set[int] = set()
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
        found[step_id] = [seconds for seconds, _ in rows]
        offers.update(pk for _, pk in rows)
    return found, len(offers)


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

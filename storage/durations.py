"""How long publishing steps took: one row each time an import, a push or a sync sees a step that it
had seen running now complete, with the offer's type, so that when an offer will be live can be
told from this workspace's own history (the step rows keep only the current round's time).
The table and its queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from storage.models import utc_column


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

"""step_duration: how long each publishing step took, each time an import, a push or a sync sees it
complete after seeing it run, with the offer's type (the history predictions are made from); and
offer_forecast, each offer in progress's likely and late live dates

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "step_duration",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("offer_pk", sa.Integer(), sa.ForeignKey("offer.id", ondelete="CASCADE"), nullable=False),
        sa.Column("offer_type", sa.String(length=40), nullable=False),
        sa.Column("step_id", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_step_duration_team_id_offer_type_step_id_finished_at",
        "step_duration",
        ["team_id", "offer_type", "step_id", "finished_at"],
    )
    op.create_index("ix_step_duration_finished_at", "step_duration", ["finished_at"])
    op.create_table(
        "offer_forecast",
        sa.Column(
            "offer_pk",
            sa.Integer(),
            sa.ForeignKey("offer.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("likely_at", UTCDateTime(), nullable=True),
        sa.Column("late_at", UTCDateTime(), nullable=True),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("similar", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("for_updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_offer_forecast_likely_at", "offer_forecast", ["likely_at"])
    op.create_table(
        "forecast_due",
        sa.Column(
            "offer_pk",
            sa.Integer(),
            sa.ForeignKey("offer.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
    )

    # the offers already in progress are forecast at the job's first run
    op.execute(
        "INSERT INTO forecast_due (offer_pk) SELECT id FROM offer WHERE status = 'in_progress' AND removed_at IS NULL"
    )


def downgrade() -> None:
    op.drop_table("forecast_due")
    op.drop_table("offer_forecast")
    op.drop_table("step_duration")

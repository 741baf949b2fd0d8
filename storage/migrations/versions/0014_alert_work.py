"""alerts people work on: who took an alert ("I'm on it"), a snooze on its thread, and a log of
what people did from Slack (the history shows it)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_thread") as batch:
        batch.add_column(sa.Column("snoozed_until", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("snoozed_by", sa.String(length=32), nullable=True))
    op.create_table(
        "alert_taker",
        sa.Column(
            "thread_id", sa.Integer(), sa.ForeignKey("alert_thread.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("user_id", sa.String(length=32), primary_key=True),
        sa.Column("since", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "offer_action",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("offer_pk", sa.Integer(), sa.ForeignKey("offer.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_offer_action_offer_pk_at", "offer_action", ["offer_pk", "at"])


def downgrade() -> None:
    op.drop_index("ix_offer_action_offer_pk_at", table_name="offer_action")
    op.drop_table("offer_action")
    op.drop_table("alert_taker")
    with op.batch_alter_table("alert_thread") as batch:
        batch.drop_column("snoozed_by")
        batch.drop_column("snoozed_until")

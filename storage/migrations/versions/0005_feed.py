"""feed: where an offer's state came from and when, for the Partner Center and Cloud Partner Portal sync

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("offer", sa.Column("feed", sa.String(length=40), nullable=True))
    op.add_column("offer", sa.Column("feed_key", sa.String(length=200), nullable=True))
    op.add_column("offer", sa.Column("observed_at", UTCDateTime(), nullable=True))
    op.add_column("offer", sa.Column("missing_passes", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("offer", sa.Column("removed_at", UTCDateTime(), nullable=True))
    op.create_index("ix_offer_team_id_feed_status", "offer", ["team_id", "feed", "status"])


def downgrade() -> None:
    op.drop_index("ix_offer_team_id_feed_status", table_name="offer")
    for column in ("removed_at", "missing_passes", "observed_at", "feed_key", "feed"):
        op.drop_column("offer", column)

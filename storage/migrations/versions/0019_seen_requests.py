"""seen_request: the signatures of the Slack requests handled in the last five minutes (Slack's
replay window), shared by every process, so a replayed request is answered without acting again

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_request",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name="pk_seen_request"),
    )
    op.create_index("ix_seen_request_expires_at", "seen_request", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_seen_request_expires_at", table_name="seen_request")
    op.drop_table("seen_request")

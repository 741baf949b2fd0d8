"""publish_request: what offerbot asked Microsoft to publish (*Go live*) or to cancel, with one active
request per offer (a partial unique index), the job it started and when to look at it next

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

ACTIVE = "state IN ('sending', 'running')"


def upgrade() -> None:
    op.create_table(
        "publish_request",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("offer_pk", sa.Integer(), sa.ForeignKey("offer.id", ondelete="CASCADE"), nullable=False),
        sa.Column("api", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("cancel_by", sa.String(length=32), nullable=False),
        sa.Column("submission_id", sa.String(length=300), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.Column("job", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=32), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("next_poll_at", UTCDateTime(), nullable=True),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("told", sa.Boolean(), nullable=False),
    )
    op.create_index(
        "uq_publish_request_offer_pk_active",
        "publish_request",
        ["offer_pk"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    op.create_index(
        "ix_publish_request_offer_pk_requested_at", "publish_request", ["offer_pk", "requested_at"]
    )
    op.create_index("ix_publish_request_state_next_poll_at", "publish_request", ["state", "next_poll_at"])
    op.create_index("ix_publish_request_told_finished_at", "publish_request", ["told", "finished_at"])


def downgrade() -> None:
    op.drop_table("publish_request")

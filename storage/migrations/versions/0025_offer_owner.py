"""offer_owner: owners set from Slack (``/offer-status owners``), on an offer or on a publisher: a
Slack user, an e-mail address or a user group

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offer_owner",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("target_key", sa.String(length=220), nullable=False),
        sa.Column("offer_pk", sa.Integer(), sa.ForeignKey("offer.id", ondelete="CASCADE"), nullable=True),
        sa.Column("owner_kind", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=320), nullable=False),
        sa.Column("added_by", sa.String(length=32), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("team_id", "target_key", "owner_kind", "owner"),
    )
    op.create_index(
        "ix_offer_owner_team_id_owner_kind_owner", "offer_owner", ["team_id", "owner_kind", "owner"]
    )


def downgrade() -> None:
    op.drop_table("offer_owner")

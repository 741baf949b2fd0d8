"""partner_connection: Partner Center connections set from Slack or ``offerbot connection``, each
for one workspace, their secret sealed with OFFERBOT_SECRET_KEY; offer.connection_id: the connection
that reads an offer (None: the environment's)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner_connection",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("credential", sa.String(length=20), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("thumbprint", sa.String(length=64), nullable=True),
        sa.Column("publisher_id", sa.String(length=100), nullable=True),
        sa.Column("cloud_partner_publishers", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.Column("refused_at", UTCDateTime(), nullable=True),
        sa.Column("refused_reason", sa.String(length=400), nullable=True),
        sa.Column("refusal_told_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("team_id", "name"),
    )
    with op.batch_alter_table("offer") as batch:
        batch.add_column(sa.Column("connection_id", sa.Integer(), nullable=True))
        batch.create_index("ix_offer_connection_id", ["connection_id"])


def downgrade() -> None:
    with op.batch_alter_table("offer") as batch:
        batch.drop_index("ix_offer_connection_id")
        batch.drop_column("connection_id")
    op.drop_table("partner_connection")

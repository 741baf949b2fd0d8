"""offer.state_source: who wrote the offer's current state (``import``, ``push``, or the sync source),
so the card never says "Synced from Partner Center" for a state an import wrote

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("offer") as batch:
        batch.add_column(sa.Column("state_source", sa.String(length=40), nullable=True))
    op.execute("UPDATE offer SET state_source = feed WHERE feed IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("offer") as batch:
        batch.drop_column("state_source")

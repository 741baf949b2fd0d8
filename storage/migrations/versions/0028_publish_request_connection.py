"""publish_request.connection_id: the stored connection a Go live or cancel request was sent with
(None: the environment's), so its job is followed and cancelled with that connection's credential
whatever reads the offer later

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("publish_request") as batch:
        batch.add_column(sa.Column("connection_id", sa.Integer(), nullable=True))
        batch.create_index("ix_publish_request_connection_id", ["connection_id"])


def downgrade() -> None:
    with op.batch_alter_table("publish_request") as batch:
        batch.drop_index("ix_publish_request_connection_id")
        batch.drop_column("connection_id")

"""the daily digest: a channel's digest time and time zone and the day it was last sent; a user's time
zone (from users.info); when a step became stuck (the digest lists stuck steps)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_settings") as batch:
        batch.add_column(sa.Column("digest_at", sa.String(length=5), nullable=True))
        batch.add_column(sa.Column("digest_tz", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("digest_sent_on", sa.String(length=10), nullable=True))
    with op.batch_alter_table("slack_user") as batch:
        batch.add_column(sa.Column("tz", sa.String(length=64), nullable=True))
    with op.batch_alter_table("step") as batch:
        batch.add_column(sa.Column("stuck_since", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("step") as batch:
        batch.drop_column("stuck_since")
    with op.batch_alter_table("slack_user") as batch:
        batch.drop_column("tz")
    with op.batch_alter_table("channel_settings") as batch:
        batch.drop_column("digest_sent_on")
        batch.drop_column("digest_tz")
        batch.drop_column("digest_at")

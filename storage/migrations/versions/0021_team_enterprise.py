"""team_enterprise: the Enterprise Grid organisation of each workspace a request came from, so that
the jobs find an organisation-wide installation's token for a workspace (slack_sdk's store finds a
bot by enterprise and team)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "team_enterprise",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name="pk_team_enterprise"),
    )


def downgrade() -> None:
    op.drop_table("team_enterprise")

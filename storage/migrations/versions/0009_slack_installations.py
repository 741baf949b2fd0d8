"""slack installations: slack_sdk's installation store (installations, bots) and OAuth state store,
for installing the app in many workspaces

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from alembic import op

from storage.models import SLACK_TABLES

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for table in SLACK_TABLES:  # slack_sdk's own definitions, with their indexes
        table.create(bind=bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(SLACK_TABLES):
        table.drop(bind=bind)

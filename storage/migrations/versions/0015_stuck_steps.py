"""stuck steps: when each step entered its state and when it becomes stuck (an index of the steps that
can become stuck), the "stuck" event on subscriptions, and the step a stuck alert is about

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step") as batch:
        batch.add_column(sa.Column("status_since", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("stuck_at", UTCDateTime(), nullable=True))
    op.create_index(
        "ix_step_stuck_at",
        "step",
        ["stuck_at"],
        sqlite_where=sa.text("stuck_at IS NOT NULL"),
        postgresql_where=sa.text("stuck_at IS NOT NULL"),
    )
    with op.batch_alter_table("subscription") as batch:
        batch.add_column(sa.Column("on_stuck", sa.Boolean(), nullable=False, server_default=sa.false()))
    # A subscription to every event (none named) gets the new one too, as a new one would.
    op.execute("UPDATE subscription SET on_stuck = (on_failed AND on_delisted AND on_signoff)")
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("step_position", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("step_position")
    with op.batch_alter_table("subscription") as batch:
        batch.drop_column("on_stuck")
    op.drop_index("ix_step_stuck_at", table_name="step")
    with op.batch_alter_table("step") as batch:
        batch.drop_column("stuck_at")
        batch.drop_column("status_since")

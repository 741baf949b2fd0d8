"""alert_thread.closed_at: when a thread closed (its closing change applied, or a mute or an
unsubscribe that ended its reminders), so pruning ages a closed thread by that time; closed threads
of before are given their last change's handled time

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_thread") as batch:
        batch.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
        batch.create_index("ix_alert_thread_closed_at", ["closed_at"])
    op.execute(
        "UPDATE alert_thread SET closed_at = (SELECT COALESCE(status_change.handled_at, "
        "status_change.changed_at) FROM status_change WHERE status_change.id = alert_thread.last_change_id) "
        "WHERE closed"
    )


def downgrade() -> None:
    with op.batch_alter_table("alert_thread") as batch:
        batch.drop_index("ix_alert_thread_closed_at")
        batch.drop_column("closed_at")

"""Indexes for pruning what is older than OFFERBOT_KEEP_DAYS a batch at a time: status changes and
alert clicks by time, and the alert threads by the changes they start and end with (a change an
alert thread still names is kept)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_status_change_changed_at", "status_change", ["changed_at"])
    op.create_index("ix_offer_action_at", "offer_action", ["at"])
    op.create_index("ix_alert_thread_first_change_id", "alert_thread", ["first_change_id"])
    op.create_index("ix_alert_thread_last_change_id", "alert_thread", ["last_change_id"])


def downgrade() -> None:
    op.drop_index("ix_alert_thread_last_change_id", table_name="alert_thread")
    op.drop_index("ix_alert_thread_first_change_id", table_name="alert_thread")
    op.drop_index("ix_offer_action_at", table_name="offer_action")
    op.drop_index("ix_status_change_changed_at", table_name="status_change")

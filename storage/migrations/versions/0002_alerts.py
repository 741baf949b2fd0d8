"""alerts: subscriptions, mutes, e-mail lookups, channel settings, alert threads, the delivery outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_settings",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("threading", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "channel", name=op.f("pk_channel_settings")),
    )
    op.create_table(
        "email_user",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("looked_up_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "email", name=op.f("pk_email_user")),
    )
    op.create_table(
        "mute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("target_key", sa.String(length=220), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mute")),
        sa.UniqueConstraint(
            "team_id", "user_id", "target_key", name=op.f("uq_mute_team_id_user_id_target_key")
        ),
    )
    op.create_table(
        "alert_thread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("offer_pk", sa.Integer(), nullable=False),
        sa.Column("destination_kind", sa.String(length=10), nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("first_change_id", sa.Integer(), nullable=False),
        sa.Column("last_change_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("next_reminder_at", UTCDateTime(), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_pk"], ["offer.id"], name=op.f("fk_alert_thread_offer_pk_offer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_thread")),
    )
    with op.batch_alter_table("alert_thread", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_thread_next_reminder_at"), ["next_reminder_at"], unique=False
        )
        batch_op.create_index(
            "ix_alert_thread_offer_pk_destination", ["offer_pk", "destination"], unique=False
        )

    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("destination_kind", sa.String(length=10), nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("target_kind", sa.String(length=10), nullable=False),
        sa.Column("target_key", sa.String(length=220), nullable=False),
        sa.Column("offer_pk", sa.Integer(), nullable=True),
        sa.Column("publisher_id", sa.String(length=200), nullable=True),
        sa.Column("on_failed", sa.Boolean(), nullable=False),
        sa.Column("on_delisted", sa.Boolean(), nullable=False),
        sa.Column("on_signoff", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        sa.Column("disabled_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["offer_pk"], ["offer.id"], name=op.f("fk_subscription_offer_pk_offer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription")),
        sa.UniqueConstraint(
            "team_id",
            "destination_kind",
            "destination",
            "target_key",
            name=op.f("uq_subscription_team_id_destination_kind_destination_target_key"),
        ),
    )
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.create_index("ix_subscription_team_id_target_key", ["team_id", "target_key"], unique=False)

    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("offer_pk", sa.Integer(), nullable=False),
        sa.Column("destination_kind", sa.String(length=10), nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["change_id"],
            ["status_change.id"],
            name=op.f("fk_delivery_change_id_status_change"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offer_pk"], ["offer.id"], name=op.f("fk_delivery_offer_pk_offer"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscription.id"],
            name=op.f("fk_delivery_subscription_id_subscription"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
        sa.UniqueConstraint(
            "change_id",
            "destination_kind",
            "destination",
            "kind",
            "seq",
            name=op.f("uq_delivery_change_id_destination_kind_destination_kind_seq"),
        ),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(
            "ix_delivery_offer_pk_destination_state", ["offer_pk", "destination", "state"], unique=False
        )
        batch_op.create_index("ix_delivery_state_next_attempt_at", ["state", "next_attempt_at"], unique=False)

    # A plain ADD COLUMN: no table rebuild, on SQLite either.
    op.add_column("status_change", sa.Column("handled_at", UTCDateTime(), nullable=True))
    # History recorded before alerts existed is not news: mark it handled, or the first watcher pass
    # would alert every owner about months-old failures.
    op.execute("UPDATE status_change SET handled_at = changed_at")
    op.create_index(
        "ix_status_change_unhandled",
        "status_change",
        ["id"],
        unique=False,
        sqlite_where=sa.text("handled_at IS NULL"),
        postgresql_where=sa.text("handled_at IS NULL"),
    )


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_state_next_attempt_at")
        batch_op.drop_index("ix_delivery_offer_pk_destination_state")

    op.drop_table("delivery")
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.drop_index("ix_subscription_team_id_target_key")

    op.drop_table("subscription")
    with op.batch_alter_table("alert_thread", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_thread_offer_pk_destination")
        batch_op.drop_index(batch_op.f("ix_alert_thread_next_reminder_at"))

    op.drop_table("alert_thread")
    op.drop_table("mute")
    op.drop_table("email_user")
    op.drop_table("channel_settings")
    with op.batch_alter_table("status_change", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_status_change_unhandled",
            sqlite_where=sa.text("handled_at IS NULL"),
            postgresql_where=sa.text("handled_at IS NULL"),
        )
        batch_op.drop_column("handled_at")

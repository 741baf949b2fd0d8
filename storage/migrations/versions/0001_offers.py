"""offers, steps, messages, status changes, workspaces, and the substring-search indexes

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspace",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("bound_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_workspace")),
    )
    op.create_table(
        "offer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("publisher_id", sa.String(length=200), nullable=False),
        sa.Column("offer_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("offer_type", sa.String(length=40), nullable=False),
        sa.Column("publish_status", sa.String(length=20), nullable=False),
        sa.Column("listing", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notification_emails", sa.String(length=2000), nullable=False),
        sa.Column("preview_links", sa.JSON(), nullable=False),
        sa.Column("live_links", sa.JSON(), nullable=False),
        sa.Column("status_changed_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer")),
        sa.UniqueConstraint(
            "team_id", "publisher_id", "offer_id", name=op.f("uq_offer_team_id_publisher_id_offer_id")
        ),
    )
    op.create_index("ix_offer_team_id_name", "offer", ["team_id", "name"])
    op.create_index("ix_offer_team_id_offer_id", "offer", ["team_id", "offer_id"])
    op.create_index("ix_offer_team_id_status_name", "offer", ["team_id", "status", "name"])
    op.create_table(
        "step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_pk", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("estimated_time", sa.String(length=200), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_pk"], ["offer.id"], name=op.f("fk_step_offer_pk_offer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step")),
        sa.UniqueConstraint("offer_pk", "position", name=op.f("uq_step_offer_pk_position")),
    )
    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_pk", sa.Integer(), nullable=False),
        sa.Column("step_position", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("timestamp", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_pk"], ["offer.id"], name=op.f("fk_message_offer_pk_offer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
    )
    op.create_index("ix_message_offer_pk", "message", ["offer_pk"])
    op.create_table(
        "status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("offer_pk", sa.Integer(), nullable=False),
        sa.Column("old_status", sa.String(length=20), nullable=True),
        sa.Column("new_status", sa.String(length=20), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["offer_pk"], ["offer.id"], name=op.f("fk_status_change_offer_pk_offer"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_change")),
    )
    op.create_index("ix_status_change_offer_pk", "status_change", ["offer_pk"])

    # Substring search on offer id and name without scanning every row (storage/search.py).
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX search_offer_name_trgm ON offer USING gin (lower(name) gin_trgm_ops)")
        op.execute("CREATE INDEX search_offer_id_trgm ON offer USING gin (lower(offer_id) gin_trgm_ops)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE offer_search USING fts5("
            "offer_id, name, content='offer', content_rowid='id', tokenize='trigram')"
        )
        op.execute(
            "CREATE TRIGGER offer_search_insert AFTER INSERT ON offer BEGIN "
            "INSERT INTO offer_search(rowid, offer_id, name) VALUES (new.id, new.offer_id, new.name); END"
        )
        op.execute(
            "CREATE TRIGGER offer_search_delete AFTER DELETE ON offer BEGIN "
            "INSERT INTO offer_search(offer_search, rowid, offer_id, name) "
            "VALUES ('delete', old.id, old.offer_id, old.name); END"
        )
        op.execute(
            "CREATE TRIGGER offer_search_update AFTER UPDATE OF offer_id, name ON offer BEGIN "
            "INSERT INTO offer_search(offer_search, rowid, offer_id, name) "
            "VALUES ('delete', old.id, old.offer_id, old.name); "
            "INSERT INTO offer_search(rowid, offer_id, name) VALUES (new.id, new.offer_id, new.name); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS search_offer_name_trgm")
        op.execute("DROP INDEX IF EXISTS search_offer_id_trgm")
    else:
        for trigger in ("offer_search_insert", "offer_search_delete", "offer_search_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS offer_search")
    op.drop_table("status_change")
    op.drop_table("message")
    op.drop_table("step")
    op.drop_table("offer")
    op.drop_table("workspace")

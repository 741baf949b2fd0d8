"""PostgreSQL: GiST trigram indexes, so "did you mean" is a nearest-neighbour index scan

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX search_offer_name_gist ON offer USING gist (lower(name) gist_trgm_ops)")
        op.execute("CREATE INDEX search_offer_id_gist ON offer USING gist (lower(offer_id) gist_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS search_offer_name_gist")
        op.execute("DROP INDEX IF EXISTS search_offer_id_gist")

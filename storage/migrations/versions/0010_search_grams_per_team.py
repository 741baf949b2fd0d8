"""SQLite: trigram document counts per workspace, so "did you mean" picks its rarest trigrams from the
asking workspace's offers alone (the fts5vocab view of 0003 counted every workspace's)

``search_gram`` holds, per workspace and lower-cased trigram, how many offers have it in their id or
name; triggers on ``offer`` keep it exact through every insert, delete and change of id, name or
workspace, whichever code writes the row. ``search_position`` numbers the characters of the longest
id or name, so the triggers can cut a text into trigrams without a recursive query (SQLite allows
none inside a trigger).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

# The statements here are built from this module's constants ("new", "old", LONGEST), never input.
# ruff: noqa: S608

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LONGEST = 500  # storage.models.Offer: name 500 characters, offer_id 200


def _grams(row: str) -> str:
    """The distinct trigrams of ``row``'s id and name that are not all spaces."""
    return (
        "SELECT g FROM ("
        f"SELECT lower(substr({row}.offer_id, n, 3)) AS g FROM search_position "
        f"WHERE n <= length({row}.offer_id) - 2 UNION "
        f"SELECT lower(substr({row}.name, n, 3)) FROM search_position WHERE n <= length({row}.name) - 2"
        ") WHERE trim(g) != ''"
    )


def _add(row: str) -> str:
    return (
        f"INSERT INTO search_gram(team_id, gram, docs) SELECT {row}.team_id, g, 1 FROM ({_grams(row)}) "
        "WHERE true ON CONFLICT(team_id, gram) DO UPDATE SET docs = docs + 1;"
    )


def _remove(row: str) -> str:
    return (
        f"UPDATE search_gram SET docs = docs - 1 WHERE team_id = {row}.team_id AND gram IN ({_grams(row)}); "
        f"DELETE FROM search_gram WHERE team_id = {row}.team_id AND docs <= 0;"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL ranks by trigram distance within the workspace (migration 0004)
    op.execute("CREATE TABLE search_position (n INTEGER PRIMARY KEY)")
    op.execute(
        "INSERT INTO search_position(n) WITH RECURSIVE c(n) AS "
        f"(SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {LONGEST}) SELECT n FROM c"
    )
    op.execute(
        "CREATE TABLE search_gram (team_id VARCHAR(32) NOT NULL, gram VARCHAR(3) NOT NULL, "
        "docs INTEGER NOT NULL, PRIMARY KEY (team_id, gram)) WITHOUT ROWID"
    )
    op.execute(
        "INSERT INTO search_gram(team_id, gram, docs) SELECT team_id, g, count(*) FROM ("
        "SELECT offer.id, offer.team_id, lower(substr(offer.offer_id, n, 3)) AS g FROM offer "
        "JOIN search_position ON n <= length(offer.offer_id) - 2 UNION "
        "SELECT offer.id, offer.team_id, lower(substr(offer.name, n, 3)) FROM offer "
        "JOIN search_position ON n <= length(offer.name) - 2"
        ") WHERE trim(g) != '' GROUP BY team_id, g"
    )
    op.execute(f"CREATE TRIGGER search_gram_insert AFTER INSERT ON offer BEGIN {_add('new')} END")
    op.execute(f"CREATE TRIGGER search_gram_delete AFTER DELETE ON offer BEGIN {_remove('old')} END")
    op.execute(
        "CREATE TRIGGER search_gram_update AFTER UPDATE OF team_id, offer_id, name ON offer BEGIN "
        f"{_remove('old')} {_add('new')} END"
    )
    op.execute("DROP TABLE IF EXISTS offer_search_vocab")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("search_gram_insert", "search_gram_delete", "search_gram_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS search_gram")
    op.execute("DROP TABLE IF EXISTS search_position")
    op.execute("CREATE VIRTUAL TABLE offer_search_vocab USING fts5vocab(offer_search, 'row')")

"""Rows that only live a while: Slack requests seen within their replay window, and Bolt's OAuth
states (one per visit of the install page). Both are written by requests anyone can make, so both
are deleted once expired, in small batches that never hold a long lock."""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from storage.models import SLACK_OAUTH_STATES, SeenRequest

BATCH = 500
"""Rows deleted per statement."""


def request_digest(signature: str) -> str:
    """What is kept of a request's signature: its SHA-256 (the signature is of the body and time)."""
    return hashlib.sha256(signature.encode()).hexdigest()


def remember_requests(session: Session, *, digests: list[tuple[str, datetime]], now: datetime) -> None:
    """Remember signatures (digest, until when), one statement for them all; a row past its window
    (not yet deleted) takes the new one."""
    table = SeenRequest.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    unique = dict(digests)  # one row per digest in one statement
    rows = [{"digest": d, "expires_at": until} for d, until in unique.items()]
    stmt = insert.values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["digest"],
        set_={"expires_at": stmt.excluded.expires_at},
        where=table.c.expires_at < now,
    )
    session.execute(stmt)


def requests_since(session: Session, *, since: datetime, now: datetime) -> list[tuple[str, datetime]]:
    """Signatures still within their window whose window ends after ``since`` (so those written
    since a moment: every signature's window is as long)."""
    seen = SeenRequest.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        sa.select(seen.c.digest, seen.c.expires_at).where(seen.c.expires_at > since, seen.c.expires_at > now)
    ).all()
    return [(str(r[0]), r[1].replace(tzinfo=now.tzinfo) if r[1].tzinfo is None else r[1]) for r in rows]


def _delete_some(
    session: Session, table: sa.Table, expired: sa.ColumnElement[bool], key: sa.Column[object]
) -> int:
    doomed = sa.select(key).where(expired).limit(BATCH).scalar_subquery()
    result = session.execute(sa.delete(table).where(key.in_(doomed)))
    return int(getattr(result, "rowcount", 0) or 0)


def delete_expired(session: Session, *, now: datetime) -> tuple[int, int]:
    """Delete up to one batch of expired seen requests and of expired OAuth states; how many of each.
    slack_sdk writes a state's ``expire_at`` as a naive UTC time."""
    seen = SeenRequest.__table__  # type: ignore[attr-defined]
    requests = _delete_some(session, seen, seen.c.expires_at < now, seen.c.digest)
    states_table = SLACK_OAUTH_STATES
    naive = now.replace(tzinfo=None)
    states = _delete_some(session, states_table, states_table.c.expire_at < naive, states_table.c.id)
    return requests, states


def count_oauth_states(session: Session) -> int:
    return int(session.execute(sa.select(sa.func.count()).select_from(SLACK_OAUTH_STATES)).scalar_one())

"""Rows that only live a while: Slack requests seen within their replay window, and Bolt's OAuth
states (one per visit of the install page). Both are written by requests anyone can make, so both
are deleted once expired, in small batches that never hold a long lock."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

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


def first_sighting(session: Session, *, digest: str, now: datetime, window: timedelta) -> bool:
    """Remember a request until its replay window ends; False when it was already seen (a replay)."""
    table = SeenRequest.__table__  # type: ignore[attr-defined]
    values = {"digest": digest, "expires_at": now + window}
    dialect = session.get_bind().dialect.name
    insert = pg_insert(table) if dialect == "postgresql" else sqlite_insert(table)
    stmt = (
        insert.values(**values)
        .on_conflict_do_update(  # a row past its window (not yet deleted) is a first sighting again
            index_elements=["digest"],
            set_={"expires_at": values["expires_at"]},
            where=table.c.expires_at < now,
        )
        .returning(table.c.digest)
    )
    return session.execute(stmt).first() is not None


def seen_before(session: Session, *, digest: str, now: datetime) -> bool:
    """A request whose signature is remembered and still within its window (a read: it never waits
    for a writer)."""
    seen = SeenRequest.__table__  # type: ignore[attr-defined]
    found = session.execute(
        sa.select(seen.c.digest).where(seen.c.digest == digest, seen.c.expires_at >= now).limit(1)
    ).first()
    return found is not None


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

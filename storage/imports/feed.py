"""What the sync needs of the store besides the upsert (``importer.record_observations``): which
products are due to be asked again, and which offers its listing no longer has."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.models import Offer

MISSING_PASSES_BEFORE_REMOVED = 3
"""An offer absent from this many full listings in a row is marked removed (never deleted)."""
_CHUNK = 500


@dataclass(frozen=True)
class KnownProduct:
    """An offer the store knows from a sync source, enough to ask the source about it again."""

    feed_key: str
    publisher_id: str
    offer_id: str
    name: str
    offer_type: str


def _known(rows: Sequence[Offer]) -> list[KnownProduct]:
    return [
        KnownProduct(
            feed_key=row.feed_key or "",
            publisher_id=row.publisher_id,
            offer_id=row.offer_id,
            name=row.name,
            offer_type=row.offer_type,
        )
        for row in rows
        if row.feed_key
    ]


def _read_by(connection_id: int | None) -> sa.ColumnElement[bool]:
    """The offers one connection reads (None: the environment's connection)."""
    column = col(Offer.connection_id)
    return column.is_(None) if connection_id is None else column == connection_id


def observed_since(
    session: Session, *, team_id: str, feed: str, since: datetime, connection_id: int | None = None
) -> set[str]:
    """Keys of the feed's offers observed at or after ``since`` (asked too recently to ask again)."""
    rows = session.exec(
        select(Offer.feed_key).where(
            Offer.team_id == team_id,
            Offer.feed == feed,
            _read_by(connection_id),
            col(Offer.observed_at) >= since,
        )
    ).all()
    return {key for key in rows if key}


def due_in_status(
    session: Session,
    *,
    team_id: str,
    feed: str,
    statuses: Collection[str],
    observed_before: datetime,
    connection_id: int | None = None,
) -> list[KnownProduct]:
    """The feed's offers in one of ``statuses``, not removed, last observed by ``observed_before``."""
    rows = session.exec(
        select(Offer)
        .where(
            Offer.team_id == team_id,
            Offer.feed == feed,
            _read_by(connection_id),
            col(Offer.status).in_(list(statuses)),
            col(Offer.removed_at).is_(None),
            sa.or_(col(Offer.observed_at).is_(None), col(Offer.observed_at) <= observed_before),
        )
        .order_by(col(Offer.observed_at), col(Offer.id))
    ).all()
    return _known(rows)


def mark_missing(
    session: Session,
    *,
    team_id: str,
    feed: str,
    listed: Collection[str],
    now: datetime,
    connection_id: int | None = None,
) -> int:
    """After a full listing of ``feed``: count one more missing pass for each of its offers that the
    listing did not have, and mark removed those missing from :data:`MISSING_PASSES_BEFORE_REMOVED`
    listings in a row. Returns how many were newly marked removed. Nothing is deleted."""
    listed_keys = set(listed)
    rows = session.exec(
        select(Offer.id, Offer.feed_key, Offer.missing_passes).where(
            Offer.team_id == team_id, Offer.feed == feed, _read_by(connection_id)
        )
    ).all()
    missing = [pk for pk, key, _n in rows if key not in listed_keys]
    back = [pk for pk, key, n in rows if key in listed_keys and n]  # listed again: the count restarts
    for pks, value in ((missing, Offer.missing_passes + 1), (back, 0)):
        for start in range(0, len(pks), _CHUNK):
            session.execute(
                sa.update(Offer)
                .where(col(Offer.id).in_(pks[start : start + _CHUNK]))
                .values(missing_passes=value)
                .execution_options(synchronize_session=False)
            )
    if not missing:
        return 0
    result = session.execute(
        sa.update(Offer)
        .where(
            col(Offer.team_id) == team_id,
            col(Offer.feed) == feed,
            _read_by(connection_id),
            col(Offer.removed_at).is_(None),
            col(Offer.missing_passes) >= MISSING_PASSES_BEFORE_REMOVED,
        )
        .values(removed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]

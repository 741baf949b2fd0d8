"""Which Slack workspace stored rows belong to.

With one bot token the bot serves one workspace. Data imported before the bot ever talked to
Slack (or from the local shell) is stored under :data:`~storage.models.LOCAL_TEAM`; when the bot
learns its workspace (``auth.test`` at start) :func:`bind_default_workspace` moves those rows to
it and records it as the default, and later imports go straight to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.durations import OfferForecast, StepDuration
from storage.models import LOCAL_TEAM, SLACK_BOTS, Offer, StatusChange, TeamEnterprise, Workspace


def default_team(session: Session) -> str:
    """The team id that imports and the shell use: the bound default workspace, else ``local``."""
    team = session.exec(select(Workspace.team_id).where(Workspace.is_default == sa.true())).first()
    return team or LOCAL_TEAM


def is_local_store(session: Session) -> bool:
    """True when nothing in the store belongs to a Slack workspace: no workspace bound, no
    installation, no offer of another team. Only on such a store may the shell run the watcher (its
    posts go to the in-process Slack and would mark a real workspace's alerts sent)."""
    if session.exec(select(Workspace.team_id).limit(1)).first() is not None:
        return False
    if session.execute(sa.select(SLACK_BOTS.c.id).limit(1)).first() is not None:
        return False
    other = select(Offer.id).where(Offer.team_id != LOCAL_TEAM).limit(1)
    return session.exec(other).first() is None


def bind_default_workspace(session: Session, *, team_id: str, now: datetime) -> int:
    """Make ``team_id`` the default workspace and move the ``local`` rows to it. Returns offers moved."""
    session.execute(sa.update(Workspace).where(col(Workspace.team_id) != team_id).values(is_default=False))
    workspace = session.get(Workspace, team_id)
    if workspace is None:
        session.add(Workspace(team_id=team_id, is_default=True, bound_at=now))
    else:
        workspace.is_default = True
    # An offer already stored for the workspace wins over its local copy.
    taken = select(Offer.publisher_id, Offer.offer_id).where(Offer.team_id == team_id)
    local_dupes = select(Offer.id).where(
        Offer.team_id == LOCAL_TEAM, sa.tuple_(Offer.publisher_id, Offer.offer_id).in_(taken)
    )
    session.execute(sa.delete(Offer).where(col(Offer.id).in_(local_dupes)))
    session.execute(
        sa.update(StatusChange).where(col(StatusChange.team_id) == LOCAL_TEAM).values(team_id=team_id)
    )
    for table in (StepDuration.__table__, OfferForecast.__table__):  # type: ignore[attr-defined]
        session.execute(sa.update(table).where(table.c.team_id == LOCAL_TEAM).values(team_id=team_id))
    moved = session.execute(sa.update(Offer).where(col(Offer.team_id) == LOCAL_TEAM).values(team_id=team_id))
    session.flush()
    return int(moved.rowcount)  # type: ignore[attr-defined]


def remember_enterprise(session: Session, *, team_id: str, enterprise_id: str, now: datetime) -> None:
    """Note that ``team_id`` belongs to the Enterprise Grid organisation ``enterprise_id``."""
    row = session.get(TeamEnterprise, team_id)
    if row is None:
        session.add(TeamEnterprise(team_id=team_id, enterprise_id=enterprise_id, seen_at=now))
    elif row.enterprise_id != enterprise_id:
        row.enterprise_id, row.seen_at = enterprise_id, now


def enterprise_of(session: Session, *, team_id: str) -> str | None:
    """The organisation of a workspace: as its requests said, else as its own installation says."""
    known = session.get(TeamEnterprise, team_id)
    if known is not None:
        return known.enterprise_id
    c = SLACK_BOTS.c
    found = session.execute(
        sa.select(c.enterprise_id)
        .where(c.team_id == team_id, c.enterprise_id.is_not(None))
        .order_by(c.installed_at.desc())
        .limit(1)
    ).first()
    return str(found[0]) if found is not None else None


def check_readable(session: Session) -> None:
    """Read a table every command reads: ``SELECT 1`` would answer while the store's tables cannot
    be read (a SQLite WAL index locked)."""
    session.execute(sa.text("SELECT team_id FROM workspace LIMIT 1"))


def remove_offers(session: Session, *, keys: Sequence[tuple[str, str]], team_id: str | None = None) -> int:
    """Delete the offers of these ``(publisher id, offer id)`` keys (in ``team_id`` only, or in
    every workspace), with everything that hangs off them (steps, messages, status changes, alerts,
    subscriptions to them). Returns how many offers went."""
    if not keys:
        return 0
    query = sa.delete(Offer).where(sa.tuple_(Offer.publisher_id, Offer.offer_id).in_(list(keys)))
    if team_id is not None:
        query = query.where(col(Offer.team_id) == team_id)
    removed = session.execute(query)
    session.flush()
    return int(removed.rowcount)  # type: ignore[attr-defined]

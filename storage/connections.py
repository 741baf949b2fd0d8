"""Partner Center connections set from Slack or ``offerbot connection``: each is one Entra ID
application (a tenant, a client id, a client secret or certificate sealed with
``OFFERBOT_SECRET_KEY``) and what it reads (a Partner Center publisher id, Cloud Partner Portal
publishers), for one workspace only. The offers it reads carry its id (``offer.connection_id``).
The table and every query on it; sealing is :mod:`storage.sealing`'s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from storage.models import Offer, utc_column
from storage.publishing import PublishRequest
from storage.statuses import ACTIVE_PUBLISH

MAX_CONNECTIONS = 20
"""Connections per workspace."""


SECRET = "client secret"  # noqa: S105 (the kind of credential, not one)
CERTIFICATE = "client certificate"
"""The two kinds of credential a connection holds (its ``credential``)."""


class PartnerConnection(SQLModel, table=True):
    __tablename__ = "partner_connection"
    __table_args__ = (sa.UniqueConstraint("team_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    name: str = Field(max_length=40)
    tenant_id: str = Field(max_length=100)
    client_id: str = Field(max_length=100)
    credential: str = Field(max_length=20)
    """``client secret`` or ``client certificate``."""
    sealed: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    """The secret, or the PEM of the certificate and its (decrypted) key, as a Fernet token."""
    thumbprint: str | None = Field(default=None, max_length=64)
    """A certificate's SHA-1 thumbprint, as Entra ID shows it (a secret has none)."""
    publisher_id: str | None = Field(default=None, max_length=100)
    """Partner Center's publisher id shown on its offers; None: Partner Center is not read."""
    cloud_partner_publishers: str = Field(default="", max_length=500)
    created_by: str = Field(max_length=32)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    read_at: datetime | None = utc_column(nullable=True)
    """The end of its last pass that Microsoft answered."""
    refused_at: datetime | None = utc_column(nullable=True)
    """Since when Entra ID or the API refuses its credentials (None: not refused)."""
    refused_reason: str | None = Field(default=None, max_length=400)
    refusal_told_at: datetime | None = utc_column(nullable=True)
    """When the workspace's admins were told of the refusal (once per refusal)."""

    @property
    def cloud_partner_ids(self) -> list[str]:
        return [p.strip() for p in self.cloud_partner_publishers.split(",") if p.strip()]


@dataclass(frozen=True)
class NewConnection:
    team_id: str
    name: str
    tenant_id: str
    client_id: str
    credential: str
    sealed: str
    thumbprint: str | None
    publisher_id: str | None
    cloud_partner_publishers: tuple[str, ...]
    created_by: str


def add_connection(session: Session, *, new: NewConnection, now: datetime) -> PartnerConnection:
    """Store a connection in the caller's transaction (the use-case checks its name and the
    workspace's count first; the unique constraint stops a race on the name)."""
    row = PartnerConnection(
        team_id=new.team_id,
        name=new.name,
        tenant_id=new.tenant_id,
        client_id=new.client_id,
        credential=new.credential,
        sealed=new.sealed,
        thumbprint=new.thumbprint,
        publisher_id=new.publisher_id,
        cloud_partner_publishers=",".join(new.cloud_partner_publishers),
        created_by=new.created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def connections_of(session: Session, *, team_id: str) -> list[PartnerConnection]:
    return list(
        session.exec(
            select(PartnerConnection)
            .where(PartnerConnection.team_id == team_id)
            .order_by(col(PartnerConnection.name))
        ).all()
    )


def all_connections(session: Session) -> list[PartnerConnection]:
    """Every workspace's connections (the sync job's list, read at each of its runs)."""
    return list(session.exec(select(PartnerConnection).order_by(col(PartnerConnection.id))).all())


def connection_named(session: Session, *, team_id: str, name: str) -> PartnerConnection | None:
    return session.exec(
        select(PartnerConnection).where(PartnerConnection.team_id == team_id, PartnerConnection.name == name)
    ).first()


def publishing_offers(session: Session, *, connection_id: int) -> list[str]:
    """The offers with a *Go live* or cancel request on its way that was sent with the connection
    (their job is followed with its credential, so it cannot go before they end)."""
    rows = session.exec(
        select(Offer.offer_id)
        .join(PublishRequest, col(PublishRequest.offer_pk) == col(Offer.id))
        .where(
            col(PublishRequest.connection_id) == connection_id, col(PublishRequest.state).in_(ACTIVE_PUBLISH)
        )
        .limit(10)
    ).all()
    return sorted(set(rows))


def remove_connection(session: Session, *, team_id: str, name: str, now: datetime) -> int:
    """Delete the connection; its offers stay, with their history, marked removed and no longer
    tied to it. Returns how many offers were marked (0 for an unknown name: the use-case says so)."""
    row = connection_named(session, team_id=team_id, name=name)
    if row is None:
        return 0
    result = session.execute(
        sa.update(Offer)
        .where(col(Offer.connection_id) == row.id)
        .values(connection_id=None, removed_at=sa.func.coalesce(col(Offer.removed_at), now))
        .execution_options(synchronize_session=False)
    )
    session.delete(row)
    session.flush()
    return int(result.rowcount)  # type: ignore[attr-defined]


def replace_credential(
    session: Session,
    *,
    team_id: str,
    name: str,
    credential: str,
    sealed: str,
    thumbprint: str | None,
    now: datetime,
) -> PartnerConnection | None:
    """A new secret or certificate for the connection (None: no such connection). It stays refused,
    if it was, until Microsoft answers the new one; its ``updated_at`` makes the sync sign in again."""
    row = connection_named(session, team_id=team_id, name=name)
    if row is None:
        return None
    row.credential, row.sealed, row.thumbprint, row.updated_at = credential, sealed, thumbprint, now
    session.add(row)
    session.flush()
    return row


def record_read(session: Session, *, connection_id: int, now: datetime) -> bool:
    """Microsoft answered a pass: the connection is read now and no longer refused. True when it
    was refused until now."""
    row = session.get(PartnerConnection, connection_id)
    if row is None:
        return False
    was_refused = row.refused_at is not None
    row.read_at, row.refused_at, row.refused_reason, row.refusal_told_at = now, None, None, None
    session.add(row)
    return was_refused


def record_refusal(session: Session, *, connection_id: int, reason: str, now: datetime) -> bool:
    """Its credentials were refused. True when this starts a refusal (the admins are told once)."""
    row = session.get(PartnerConnection, connection_id)
    if row is None:
        return False
    new = row.refused_at is None
    row.refused_at = row.refused_at or now
    row.refused_reason = reason[:400]
    session.add(row)
    return new


def refusals_to_tell(session: Session, *, limit: int = 50) -> list[PartnerConnection]:
    """Refused connections whose admins have not been told yet."""
    return list(
        session.exec(
            select(PartnerConnection)
            .where(col(PartnerConnection.refused_at).is_not(None))
            .where(col(PartnerConnection.refusal_told_at).is_(None))
            .order_by(col(PartnerConnection.id))
            .limit(limit)
        ).all()
    )


def mark_told(session: Session, *, connection_id: int, since: datetime, now: datetime) -> None:
    """The refusal that began at ``since`` was told (one that ended and began again since is not)."""
    session.execute(
        sa.update(PartnerConnection)
        .where(col(PartnerConnection.id) == connection_id, col(PartnerConnection.refused_at) == since)
        .values(refusal_told_at=now)
        .execution_options(synchronize_session=False)
    )


def reseal_all(session: Session, *, reseal: Callable[[str], str], now: datetime) -> int:
    """Seal every stored secret again (``rotate-key``), in the caller's transaction: all or none."""
    rows = session.exec(select(PartnerConnection).with_for_update()).all()
    for row in rows:
        row.sealed, row.updated_at = reseal(row.sealed), now
        session.add(row)
    return len(rows)

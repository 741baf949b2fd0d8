"""Owners set from Slack (``/offer-status owners``): who gets an offer's DMs besides the addresses of
its status document (``notificationEmails``) or of ``PARTNER_CENTER_NOTIFICATION_EMAILS``. An owner
is set on one offer or on a publisher (``publisher:<id>``: every offer of it), and is a Slack user,
an e-mail address or a user group. The table and every query on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from storage.models import Offer, utc_column
from storage.statuses import OwnerKind, TargetKind, target_key

MAX_OWNERS = 50
"""Owners per offer or publisher: a DM to each is sent on every alert."""


class OfferOwner(SQLModel, table=True):
    __tablename__ = "offer_owner"
    __table_args__ = (
        sa.UniqueConstraint("team_id", "target_key", "owner_kind", "owner"),
        sa.Index("ix_offer_owner_team_id_owner_kind_owner", "team_id", "owner_kind", "owner"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    target_key: str = Field(max_length=220)
    """``offer:<pk>`` or ``publisher:<id>``."""
    offer_pk: int | None = Field(
        default=None, sa_column=sa.Column(sa.ForeignKey("offer.id", ondelete="CASCADE"), nullable=True)
    )
    owner_kind: str = Field(max_length=20)  # OwnerKind
    owner: str = Field(max_length=320)
    """A user id (U…/W…), a lower-cased address, or a user group id (S…)."""
    added_by: str = Field(max_length=32)
    added_at: datetime = utc_column()


@dataclass(frozen=True)
class OwnerRef:
    kind: OwnerKind
    value: str


@dataclass(frozen=True)
class SlackOwners:
    """An offer's owners set from Slack, its own and its publisher's."""

    users: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


def _keys(offer: Offer) -> list[str]:
    return [target_key(TargetKind.OFFER, offer.id), target_key(TargetKind.PUBLISHER, offer.publisher_id)]


def owners_of(session: Session, *, team_id: str, key: str) -> Sequence[OfferOwner]:
    """The owners set on one target (an offer's or a publisher's key), oldest first."""
    stmt = (
        select(OfferOwner)
        .where(OfferOwner.team_id == team_id, OfferOwner.target_key == key)
        .order_by(col(OfferOwner.added_at), col(OfferOwner.id))
    )
    return session.exec(stmt).all()


def slack_owners(session: Session, *, offer: Offer) -> SlackOwners:
    """Everyone set from Slack as an owner of ``offer``, on it or on its publisher."""
    rows = session.exec(
        select(OfferOwner.owner_kind, OfferOwner.owner)
        .where(OfferOwner.team_id == offer.team_id, col(OfferOwner.target_key).in_(_keys(offer)))
        .order_by(col(OfferOwner.id))
    ).all()
    found: dict[str, list[str]] = {k.value: [] for k in OwnerKind}
    for kind, owner in rows:
        if owner not in found[kind]:
            found[kind].append(owner)
    return SlackOwners(
        users=tuple(found[OwnerKind.USER]),
        emails=tuple(found[OwnerKind.EMAIL]),
        groups=tuple(found[OwnerKind.USERGROUP]),
    )


def add_owners(
    session: Session,
    *,
    team_id: str,
    key: str,
    offer_pk: int | None,
    owners: Sequence[OwnerRef],
    added_by: str,
    now: datetime,
) -> list[OwnerRef]:
    """The owners added (those already there are left as they are)."""
    present = {(o.owner_kind, o.owner) for o in owners_of(session, team_id=team_id, key=key)}
    added = []
    for ref in owners:
        if (ref.kind, ref.value) in present:
            continue
        present.add((ref.kind, ref.value))
        session.add(
            OfferOwner(
                team_id=team_id,
                target_key=key,
                offer_pk=offer_pk,
                owner_kind=ref.kind,
                owner=ref.value,
                added_by=added_by,
                added_at=now,
            )
        )
        added.append(ref)
    session.flush()
    return added


def remove_owners(session: Session, *, team_id: str, key: str, owners: Sequence[OwnerRef]) -> list[OwnerRef]:
    """The owners removed (those that were not owners are left out)."""
    removed = []
    for row in owners_of(session, team_id=team_id, key=key):
        ref = OwnerRef(OwnerKind(row.owner_kind), row.owner)
        if ref in owners:
            session.delete(row)
            removed.append(ref)
    session.flush()
    return removed


def owned_offer_keys(session: Session, *, team_id: str, user_id: str, emails: Sequence[str]) -> list[str]:
    """The target keys where this person is an owner set from Slack, by id or by address."""
    ours = (col(OfferOwner.owner_kind) == OwnerKind.USER) & (col(OfferOwner.owner) == user_id)
    if emails:
        ours = ours | ((col(OfferOwner.owner_kind) == OwnerKind.EMAIL) & col(OfferOwner.owner).in_(emails))
    stmt = select(OfferOwner.target_key).where(OfferOwner.team_id == team_id, ours).distinct()
    return list(session.exec(stmt).all())

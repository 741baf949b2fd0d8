"""What a person's Home tab shows: the offers that are theirs (they own them, by a cached look-up of
the offers' notification e-mails, or follow them with ``notify-me``), the ones among them that need
attention or are publishing, their alert settings, and the workspace's totals per status.

An offer is someone's when one of the addresses Slack gave for them (``email_user``) is in its
``notificationEmails``, or a ``notify-me`` of theirs covers it (the offer, its publisher, or all);
``mute-me`` takes it out again, as it does for their direct messages."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.imports.importer import RUNNING_STEPS
from storage.models import EmailUser, Mute, Offer, Step, Subscription
from storage.owners import owned_offer_keys
from storage.statuses import DestinationKind, OfferStatus, TargetKind, parse_target_key

URGENCY = (OfferStatus.FAILED, OfferStatus.SIGNOFF, OfferStatus.DELISTED)
"""Statuses that need someone, most urgent first."""


@dataclass(frozen=True)
class OfferSlice:
    offers: Sequence[Offer]
    total: int


@dataclass(frozen=True)
class UserAlerts:
    notify: Sequence[Subscription]
    mutes: Sequence[Mute]
    channel_subscriptions: Sequence[Subscription]
    """The channel subscriptions this person created."""


def _like(email: str) -> str:
    """``%,address,%``: the address as one whole entry of the comma-separated list."""
    return "%," + re.sub(r"([\\%_])", r"\\\1", email.lower()) + ",%"


def has_address(email: str) -> sa.ColumnElement[bool]:
    """``notificationEmails`` holds exactly ``email`` (not ``jim`` + it, nor it + ``.au``): the
    list is compared with its spaces removed and a comma at each end."""
    listed = sa.literal(",") + sa.func.replace(sa.func.lower(col(Offer.notification_emails)), " ", "") + ","
    return listed.like(_like(email), escape="\\")


def user_scope(session: Session, *, team_id: str, user_id: str) -> sa.ColumnElement[bool] | None:
    """The condition on ``offer`` for "this person's offers"; None when nothing is theirs."""
    emails = session.exec(
        select(EmailUser.email).where(EmailUser.team_id == team_id, EmailUser.user_id == user_id)
    ).all()
    keys = session.exec(
        select(Subscription.target_key).where(
            Subscription.team_id == team_id,
            Subscription.destination_kind == DestinationKind.USER,
            Subscription.destination == user_id,
            col(Subscription.disabled_reason).is_(None),
        )
    ).all()
    covered = covered_by(keys)
    owned = covered_by(owned_offer_keys(session, team_id=team_id, user_id=user_id, emails=emails))
    mine: list[sa.ColumnElement[bool]] = [has_address(e) for e in emails]
    mine += [c for c in (covered, owned) if c is not None]
    if not mine:
        return None
    muted = session.exec(
        select(Mute.target_key).where(Mute.team_id == team_id, Mute.user_id == user_id)
    ).all()
    if "all" in muted:
        return None
    out: list[sa.ColumnElement[bool]] = [col(Offer.team_id) == team_id, sa.or_(*mine)]
    silenced = covered_by(muted)
    if silenced is not None:
        out.append(~silenced)
    return sa.and_(*out)


def covered_by(keys: Sequence[str]) -> sa.ColumnElement[bool] | None:
    """The offers that subscription or mute targets (``all``, ``publisher:<id>``, ``offer:<pk>``)
    cover, within the workspace the caller names; None when ``keys`` is empty."""
    if not keys:
        return None
    parsed = [parse_target_key(k) for k in keys]
    if any(kind is TargetKind.ALL for kind, _ in parsed):
        return sa.true()
    pks = [int(ref) for kind, ref in parsed if kind is TargetKind.OFFER]
    publishers = [ref for kind, ref in parsed if kind is TargetKind.PUBLISHER]
    return sa.or_(col(Offer.id).in_(pks), col(Offer.publisher_id).in_(publishers))


def with_stuck_step() -> sa.ColumnElement[bool]:
    """The offer has a step that became stuck and is still running."""
    stuck = select(Step.offer_pk).where(
        col(Step.stuck_since).is_not(None), col(Step.status).in_(RUNNING_STEPS)
    )
    return col(Offer.id).in_(stuck)


def _slice(session: Session, where: sa.ColumnElement[bool], order: list[Any], limit: int) -> OfferSlice:
    offers = session.exec(select(Offer).where(where).order_by(*order).limit(limit)).all()
    total = int(session.exec(select(sa.func.count()).select_from(Offer).where(where)).one())
    return OfferSlice(offers=offers, total=total)


def needs_attention(session: Session, *, team_id: str, user_id: str, limit: int) -> OfferSlice:
    """This person's offers that failed, await sign-off, have a stuck step or were delisted, in that
    order, then the ones waiting longest."""
    scope = user_scope(session, team_id=team_id, user_id=user_id)
    if scope is None:
        return OfferSlice(offers=[], total=0)
    statuses = [s.value for s in URGENCY]
    order = [OfferStatus.FAILED.value, OfferStatus.SIGNOFF.value, OfferStatus.IN_PROGRESS.value]
    rank = sa.case({s: i for i, s in enumerate(order)}, value=col(Offer.status), else_=len(order))
    urgent = sa.or_(col(Offer.status).in_(statuses), with_stuck_step())
    where = sa.and_(scope, urgent, col(Offer.removed_at).is_(None))
    return _slice(session, where, [rank, col(Offer.status_changed_at), col(Offer.id)], limit)


def publishing(session: Session, *, team_id: str, user_id: str, limit: int) -> OfferSlice:
    """This person's offers in progress (but for those with a stuck step, which need them), the ones
    in progress longest first."""
    scope = user_scope(session, team_id=team_id, user_id=user_id)
    if scope is None:
        return OfferSlice(offers=[], total=0)
    where = sa.and_(
        scope,
        col(Offer.status) == OfferStatus.IN_PROGRESS.value,
        col(Offer.removed_at).is_(None),
        ~with_stuck_step(),  # shown under "Needs you"
    )
    return _slice(session, where, [col(Offer.status_changed_at), col(Offer.id)], limit)


def status_totals(session: Session, *, team_id: str) -> dict[str, int]:
    """The workspace's offers per status (an index-only count on ``(team_id, status, name)``)."""
    rows = session.exec(
        select(Offer.status, sa.func.count()).where(Offer.team_id == team_id).group_by(col(Offer.status))
    ).all()
    return {str(status): int(n) for status, n in rows}


def user_alerts(session: Session, *, team_id: str, user_id: str) -> UserAlerts:
    notify = session.exec(
        select(Subscription)
        .where(
            Subscription.team_id == team_id,
            Subscription.destination_kind == DestinationKind.USER,
            Subscription.destination == user_id,
        )
        .order_by(col(Subscription.id))
    ).all()
    mutes = session.exec(
        select(Mute).where(Mute.team_id == team_id, Mute.user_id == user_id).order_by(col(Mute.id))
    ).all()
    channels = session.exec(
        select(Subscription)
        .where(
            Subscription.team_id == team_id,
            Subscription.destination_kind == DestinationKind.CHANNEL,
            Subscription.created_by == user_id,
        )
        .order_by(col(Subscription.id))
    ).all()
    return UserAlerts(notify=notify, mutes=mutes, channel_subscriptions=channels)


def steps_of_offers(session: Session, *, offer_pks: list[int]) -> dict[int, list[Step]]:
    """The steps of each of these offers, in order (one query for all)."""
    steps: dict[int, list[Step]] = defaultdict(list)
    if offer_pks:
        rows = session.exec(
            select(Step).where(col(Step.offer_pk).in_(offer_pks)).order_by(col(Step.position))
        )
        for step in rows:
            steps[step.offer_pk].append(step)
    return steps

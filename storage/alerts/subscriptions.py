"""Subscriptions (channels and ``notify-me``) and mutes: who wants to hear of which offers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.alerts.policy import EVENTS
from storage.models import Mute, Offer, Subscription
from storage.statuses import DestinationKind, TargetKind, parse_target_key, target_key


@dataclass(frozen=True)
class Target:
    """What a subscription or mute is about: one offer, one publisher's offers, or all offers."""

    kind: str  # a TargetKind
    offer_pk: int | None = None
    publisher_id: str | None = None

    @property
    def key(self) -> str:
        kind = TargetKind(self.kind)
        return target_key(kind, self.offer_pk if kind is TargetKind.OFFER else self.publisher_id)

    @classmethod
    def from_key(cls, key: str) -> Target:
        kind, ref = parse_target_key(key)
        if kind is TargetKind.OFFER:
            return cls(kind=kind, offer_pk=int(ref))
        return cls(kind=kind, publisher_id=ref or None)


def target_keys(offer: Offer) -> list[str]:
    """Every target key that covers ``offer``."""
    return [
        target_key(TargetKind.ALL),
        target_key(TargetKind.PUBLISHER, offer.publisher_id),
        target_key(TargetKind.OFFER, offer.id),
    ]


def events_of(sub: Subscription) -> list[str]:
    flags = (sub.on_failed, sub.on_delisted, sub.on_signoff, sub.on_stuck)
    return [e for e, on in zip(EVENTS, flags, strict=True) if on]


def wants(sub: Subscription, event: str) -> bool:
    return event in events_of(sub)


def find_subscription(
    session: Session, *, team_id: str, destination_kind: str, destination: str, target: Target
) -> Subscription | None:
    return session.exec(
        select(Subscription).where(
            Subscription.team_id == team_id,
            Subscription.destination_kind == destination_kind,
            Subscription.destination == destination,
            Subscription.target_key == target.key,
        )
    ).first()


@dataclass(frozen=True)
class Previous:
    """A subscription's events and disabling before a ``subscribe`` changed them."""

    flags: tuple[bool, bool, bool, bool]
    disabled_reason: str | None
    disabled_at: datetime | None


def subscribe_replacing(
    session: Session,
    *,
    team_id: str,
    destination_kind: str,
    destination: str,
    target: Target,
    events: Iterable[str],
    created_by: str,
    now: datetime,
) -> tuple[Subscription, Previous | None]:
    """Create the subscription, or set the events of an existing one and enable it again (read
    once). Returns it and what it was before (None: it is new)."""
    chosen = set(events) or set(EVENTS)
    sub = find_subscription(
        session, team_id=team_id, destination_kind=destination_kind, destination=destination, target=target
    )
    previous = None
    if sub is None:
        sub = Subscription(
            team_id=team_id,
            destination_kind=destination_kind,
            destination=destination,
            target_kind=target.kind,
            target_key=target.key,
            offer_pk=target.offer_pk,
            publisher_id=target.publisher_id,
            created_by=created_by,
            created_at=now,
        )
    else:
        flags = (sub.on_failed, sub.on_delisted, sub.on_signoff, sub.on_stuck)
        previous = Previous(flags=flags, disabled_reason=sub.disabled_reason, disabled_at=sub.disabled_at)
    sub.on_failed, sub.on_delisted, sub.on_signoff, sub.on_stuck = (e in chosen for e in EVENTS)
    sub.disabled_reason = None
    sub.disabled_at = None
    session.add(sub)
    session.flush()
    return sub, previous


def subscribe(
    session: Session,
    *,
    team_id: str,
    destination_kind: str,
    destination: str,
    target: Target,
    events: Iterable[str],
    created_by: str,
    now: datetime,
) -> tuple[Subscription, bool]:
    """Create the subscription, or set the events of an existing one and enable it again.
    Returns it and whether it is new."""
    sub, previous = subscribe_replacing(
        session,
        team_id=team_id,
        destination_kind=destination_kind,
        destination=destination,
        target=target,
        events=events,
        created_by=created_by,
        now=now,
    )
    return sub, previous is None


def unsubscribe(
    session: Session,
    *,
    team_id: str,
    destination_kind: str,
    destination: str,
    target: Target,
    events: Iterable[str],
) -> tuple[bool, Subscription | None]:
    """Drop the named events (all when none are named). Returns (found, what remains or None)."""
    sub = find_subscription(
        session, team_id=team_id, destination_kind=destination_kind, destination=destination, target=target
    )
    if sub is None:
        return False, None
    dropping = set(events) or set(EVENTS)
    remaining = [e for e in events_of(sub) if e not in dropping]
    if not remaining:
        session.delete(sub)
        session.flush()
        return True, None
    sub.on_failed, sub.on_delisted, sub.on_signoff, sub.on_stuck = (e in remaining for e in EVENTS)
    session.add(sub)
    session.flush()
    return True, sub


def subscriptions_of(
    session: Session, *, team_id: str, destination_kind: str, destination: str
) -> list[tuple[Subscription, Offer | None]]:
    rows = session.exec(
        select(Subscription, Offer)
        .join(Offer, col(Offer.id) == col(Subscription.offer_pk), isouter=True)
        .where(
            Subscription.team_id == team_id,
            Subscription.destination_kind == destination_kind,
            Subscription.destination == destination,
        )
        .order_by(col(Subscription.id))
    ).all()
    return [(sub, offer) for sub, offer in rows]


def disable_subscription(
    session: Session, *, subscription_id: int, reason: str, now: datetime
) -> Subscription | None:
    sub = session.get(Subscription, subscription_id)
    if sub is not None and sub.disabled_reason is None:
        sub.disabled_reason = reason[:200]
        sub.disabled_at = now
        session.add(sub)
        session.flush()
    return sub


def matching_subscriptions(session: Session, *, offer: Offer, event: str) -> list[Subscription]:
    """Enabled subscriptions that want ``event`` for ``offer``: an index lookup on (team, target)."""
    subs = session.exec(
        select(Subscription)
        .where(
            Subscription.team_id == offer.team_id,
            col(Subscription.target_key).in_(target_keys(offer)),
            col(Subscription.disabled_reason).is_(None),
        )
        .order_by(col(Subscription.id))
    ).all()
    return [s for s in subs if wants(s, event)]


# --- mutes -----------------------------------------------------------------------------------


SPECIFICITY = {TargetKind.ALL: 0, TargetKind.PUBLISHER: 1, TargetKind.OFFER: 2}


def specificity(key: str) -> int:
    """How narrow a target is: ``all`` < ``publisher:<id>`` < ``offer:<pk>``."""
    return SPECIFICITY[parse_target_key(key)[0]]


def mute(session: Session, *, team_id: str, user_id: str, target: Target, now: datetime) -> bool:
    """Mute DMs about ``target`` for the user, and drop their ``notify-me`` subscriptions that it
    covers (``all`` covers every one; a publisher covers its offers). True if the mute is new."""
    covered = [col(Subscription.target_key) == target.key]
    if target.kind == TargetKind.ALL:
        covered = [sa.true()]
    elif target.kind == TargetKind.PUBLISHER:
        offers = select(Offer.id).where(Offer.team_id == team_id, Offer.publisher_id == target.publisher_id)
        covered.append(col(Subscription.offer_pk).in_(offers))
    session.execute(
        sa.delete(Subscription).where(
            col(Subscription.team_id) == team_id,
            col(Subscription.destination_kind) == DestinationKind.USER,
            col(Subscription.destination) == user_id,
            sa.or_(*covered),
        )
    )
    exists = session.exec(
        select(Mute).where(Mute.team_id == team_id, Mute.user_id == user_id, Mute.target_key == target.key)
    ).first()
    if exists is not None:
        return False
    session.add(Mute(team_id=team_id, user_id=user_id, target_key=target.key, created_at=now))
    session.flush()
    return True


def unmute(session: Session, *, team_id: str, user_id: str, target: Target) -> None:
    session.execute(
        sa.delete(Mute).where(
            col(Mute.team_id) == team_id, col(Mute.user_id) == user_id, col(Mute.target_key) == target.key
        )
    )


def mute_levels(session: Session, *, offer: Offer) -> dict[str, int]:
    """For each user with a mute covering ``offer``: the specificity of their narrowest such mute.
    A ``notify-me`` narrower than that still reaches them (``mute-me all``, then
    ``notify-me <offer>``); owner DMs and follow-ups do not."""
    levels: dict[str, int] = {}
    rows = session.exec(
        select(Mute.user_id, Mute.target_key).where(
            Mute.team_id == offer.team_id, col(Mute.target_key).in_(target_keys(offer))
        )
    ).all()
    for user, key in rows:
        levels[user] = max(levels.get(user, -1), specificity(key))
    return levels


def user_wants(session: Session, *, offer: Offer, user: str, levels: dict[str, int]) -> bool:
    """Whether ``user`` still wants DMs about ``offer``: no mute covers it, or a narrower
    ``notify-me`` does."""
    if user not in levels:
        return True
    keys = session.exec(
        select(Subscription.target_key).where(
            Subscription.team_id == offer.team_id,
            Subscription.destination_kind == DestinationKind.USER,
            Subscription.destination == user,
            col(Subscription.target_key).in_(target_keys(offer)),
            col(Subscription.disabled_reason).is_(None),
        )
    ).all()
    return any(specificity(k) > levels[user] for k in keys)


# --- channel settings ------------------------------------------------------------------------


# --- users' Slack locales --------------------------------------------------------------------


# --- e-mail lookups --------------------------------------------------------------------------


def delete_subscription(session: Session, *, sub: Subscription) -> None:
    session.delete(sub)


def delete_mute(session: Session, *, mute: Mute) -> None:
    session.delete(mute)


def restore_subscription(session: Session, *, sub: Subscription, previous: Previous) -> None:
    """Put ``sub`` back as it was: its events (failed, delisted, sign-off, stuck) and its disabling."""
    sub.on_failed, sub.on_delisted, sub.on_signoff, sub.on_stuck = previous.flags
    sub.disabled_reason, sub.disabled_at = previous.disabled_reason, previous.disabled_at
    session.add(sub)
    session.flush()


def subscribed_channels(session: Session) -> list[tuple[str, str]]:
    """``(team, channel)`` of every channel with a subscription still enabled."""
    query = (
        select(Subscription.team_id, Subscription.destination)
        .where(
            Subscription.destination_kind == DestinationKind.CHANNEL,
            col(Subscription.disabled_at).is_(None),
        )
        .distinct()
        .order_by(col(Subscription.team_id), col(Subscription.destination))
    )
    return [(str(team), str(channel)) for team, channel in session.exec(query).all()]


def first_followed_offer(session: Session, *, team_id: str, channel: str) -> Offer | None:
    """The first offer this channel's subscriptions cover (an offer, then a publisher's, then any)."""
    subs = subscriptions_of(
        session, team_id=team_id, destination_kind=DestinationKind.CHANNEL, destination=channel
    )
    for sub, offer in subs:
        if sub.target_kind == TargetKind.OFFER and offer is not None:
            return offer
    by_name = select(Offer).where(Offer.team_id == team_id).order_by(col(Offer.name), col(Offer.id))
    for sub, _ in subs:
        if sub.target_kind == TargetKind.PUBLISHER:
            offer = session.exec(by_name.where(Offer.publisher_id == sub.publisher_id).limit(1)).first()
            if offer is not None:
                return offer
    return session.exec(by_name.limit(1)).first()

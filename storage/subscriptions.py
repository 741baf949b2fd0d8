"""Subscriptions (channels and ``notify-me``), mutes, channel settings and cached e-mail lookups."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import ChannelSettings, EmailUser, Mute, Offer, SlackUser, Subscription
from storage.policy import EVENTS

EMAIL_FOUND_TTL = timedelta(days=7)
EMAIL_MISSING_TTL = timedelta(days=1)


@dataclass(frozen=True)
class Target:
    """What a subscription or mute is about: one offer, one publisher's offers, or all offers."""

    kind: str  # offer | publisher | all
    offer_pk: int | None = None
    publisher_id: str | None = None

    @property
    def key(self) -> str:
        if self.kind == "offer":
            return f"offer:{self.offer_pk}"
        if self.kind == "publisher":
            return f"publisher:{self.publisher_id}"
        return "all"


def target_keys(offer: Offer) -> list[str]:
    """Every target key that covers ``offer``."""
    return ["all", f"publisher:{offer.publisher_id}", f"offer:{offer.id}"]


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
    chosen = set(events) or set(EVENTS)
    sub = find_subscription(
        session, team_id=team_id, destination_kind=destination_kind, destination=destination, target=target
    )
    created = sub is None
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
    sub.on_failed, sub.on_delisted, sub.on_signoff, sub.on_stuck = (e in chosen for e in EVENTS)
    sub.disabled_reason = None
    sub.disabled_at = None
    session.add(sub)
    session.flush()
    return sub, created


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


def specificity(target_key: str) -> int:
    """How narrow a target is: ``all`` < ``publisher:<id>`` < ``offer:<pk>``."""
    return {"all": 0, "publisher": 1, "offer": 2}[target_key.split(":", 1)[0]]


def mute(session: Session, *, team_id: str, user_id: str, target: Target, now: datetime) -> bool:
    """Mute DMs about ``target`` for the user, and drop their ``notify-me`` subscriptions that it
    covers (``all`` covers every one; a publisher covers its offers). True if the mute is new."""
    covered = [col(Subscription.target_key) == target.key]
    if target.kind == "all":
        covered = [sa.true()]
    elif target.kind == "publisher":
        offers = select(Offer.id).where(Offer.team_id == team_id, Offer.publisher_id == target.publisher_id)
        covered.append(col(Subscription.offer_pk).in_(offers))
    session.execute(
        sa.delete(Subscription).where(
            col(Subscription.team_id) == team_id,
            col(Subscription.destination_kind) == "user",
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
            Subscription.destination_kind == "user",
            Subscription.destination == user,
            col(Subscription.target_key).in_(target_keys(offer)),
            col(Subscription.disabled_reason).is_(None),
        )
    ).all()
    return any(specificity(k) > levels[user] for k in keys)


# --- channel settings ------------------------------------------------------------------------


def set_threading(session: Session, *, team_id: str, channel: str, threading: bool) -> None:
    row = session.get(ChannelSettings, (team_id, channel))
    if row is None:
        row = ChannelSettings(team_id=team_id, channel=channel, threading=threading)
    row.threading = threading
    session.add(row)
    session.flush()


def threading_for(session: Session, *, team_id: str, channel: str) -> bool:
    row = session.get(ChannelSettings, (team_id, channel))
    return True if row is None else row.threading


def set_language(session: Session, *, team_id: str, channel: str, language: str) -> None:
    row = session.get(ChannelSettings, (team_id, channel))
    if row is None:
        row = ChannelSettings(team_id=team_id, channel=channel)
    row.language = language
    session.add(row)
    session.flush()


def language_for(session: Session, *, team_id: str, channel: str) -> str | None:
    """The language set for a channel's alerts, or None when none was set."""
    row = session.get(ChannelSettings, (team_id, channel))
    return None if row is None else row.language


# --- users' Slack locales --------------------------------------------------------------------

LOCALE_TTL = timedelta(days=1)
"""A user's locale is asked of Slack again at most once a day."""


def cached_time_zone(session: Session, *, team_id: str, user_id: str) -> str | None:
    row = session.get(SlackUser, (team_id, user_id))
    return row.tz if row is not None else None


def cached_locale(session: Session, *, team_id: str, user_id: str, now: datetime) -> tuple[bool, str | None]:
    """``(fresh, locale)``: whether the cached answer is less than a day old, and the locale it holds."""
    row = session.get(SlackUser, (team_id, user_id))
    if row is None:
        return False, None
    return row.looked_up_at + LOCALE_TTL > now, row.locale


@dataclass(frozen=True)
class Profile:
    """What ``users.info`` says of a user that offerbot keeps: the locale and the roles."""

    locale: str | None
    is_admin: bool = False
    is_guest: bool = False
    tz: str | None = None
    """The user's time zone (an IANA name), for the daily digest's default."""


ROLES_TTL = timedelta(minutes=10)
"""Roles decide who may change what: they are asked of Slack again after ten minutes."""


def record_profile(session: Session, *, team_id: str, user_id: str, profile: Profile, now: datetime) -> None:
    """Cache what ``users.info`` said (an upsert: two processes asking at once never collide)."""
    fields = {
        "locale": profile.locale,
        "tz": profile.tz,
        "is_admin": profile.is_admin,
        "is_guest": profile.is_guest,
        "looked_up_at": now,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(SlackUser).values({"team_id": team_id, "user_id": user_id, **fields})
    session.execute(stmt.on_conflict_do_update(index_elements=["team_id", "user_id"], set_=fields))


def cached_roles(session: Session, *, team_id: str, user_id: str, now: datetime) -> Profile | None:
    """The user's roles when read less than ten minutes ago, else None."""
    row = session.get(SlackUser, (team_id, user_id))
    if row is None or row.looked_up_at + ROLES_TTL <= now:
        return None
    return Profile(locale=row.locale, is_admin=row.is_admin, is_guest=row.is_guest)


# --- e-mail lookups --------------------------------------------------------------------------


def owner_emails(offer: Offer) -> list[str]:
    return [e.strip().lower() for e in offer.notification_emails.split(",") if e.strip()]


def cached_users(session: Session, *, team_id: str, emails: Iterable[str]) -> dict[str, EmailUser]:
    wanted = list(set(emails))
    if not wanted:
        return {}
    rows = session.exec(
        select(EmailUser).where(EmailUser.team_id == team_id, col(EmailUser.email).in_(wanted))
    ).all()
    return {r.email: r for r in rows}


def needs_lookup(entry: EmailUser | None, now: datetime) -> bool:
    if entry is None:
        return True
    ttl = EMAIL_FOUND_TTL if entry.user_id else EMAIL_MISSING_TTL
    return entry.looked_up_at + ttl <= now


def record_lookup(session: Session, *, team_id: str, email: str, user_id: str | None, now: datetime) -> None:
    """Cache a look-up; an upsert, so two watchers looking up the same address never collide."""
    values = {"team_id": team_id, "email": email, "user_id": user_id, "looked_up_at": now}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(EmailUser).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["team_id", "email"], set_={"user_id": user_id, "looked_up_at": now}
    )
    session.execute(stmt)

"""What the store remembers of Slack people: the users found for the owners' e-mail addresses, and each
user's locale, time zone and roles, cached for a while so an alert or a command does not ask Slack
again."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import EmailUser, Offer, SlackUser
from storage.owners import SlackOwners, slack_owners

EMAIL_FOUND_TTL = timedelta(days=7)


EMAIL_MISSING_TTL = timedelta(days=1)


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


def owner_emails(offer: Offer) -> list[str]:
    """The owners' addresses its source gives (the document's ``notificationEmails``)."""
    return [e.strip().lower() for e in offer.notification_emails.split(",") if e.strip()]


def all_owner_emails(session: Session, offer: Offer, slack: SlackOwners | None = None) -> list[str]:
    """Those, and the addresses set from Slack (``owners … add a@b.c``) on it or its publisher
    (``slack``: those owners, when the caller has read them already)."""
    found = owner_emails(offer)
    slack = slack if slack is not None else slack_owners(session, offer=offer)
    return found + [e for e in slack.emails if e not in found]


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

"""The digest: ``/offer-status digest`` (the channel's subscriptions, or your offers in a DM), the
daily digest's setting (``settings digest HH:MM [time zone] | off``), and what the daily job posts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from bot.i18n import N_
from storage.errors import UsageError
from storage.reads.digest import DigestData, channel_scope, digest_data, set_digest
from storage.reads.home import user_scope

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class DigestView:
    channel: str | None
    """The channel whose subscriptions it covers; None: the person's own offers."""
    data: DigestData | None
    """None: nothing to cover (a channel without subscriptions, a person with no offers)."""


def digest_for(session: Session, *, team_id: str, channel_id: str, user_id: str, now: datetime) -> DigestView:
    """In a channel, its subscriptions' offers; in a DM (or without a channel), the person's."""
    if channel_id and not channel_id.startswith("D"):
        scope = channel_scope(session, team_id=team_id, channel=channel_id)
        data = digest_data(session, team_id=team_id, scope=scope, now=now) if scope is not None else None
        return DigestView(channel=channel_id, data=data)
    mine = user_scope(session, team_id=team_id, user_id=user_id)
    data = digest_data(session, team_id=team_id, scope=mine, now=now) if mine is not None else None
    return DigestView(channel=None, data=data)


@dataclass(frozen=True)
class DigestSetting:
    at: str | None
    """``HH:MM``, or None: off."""
    tz: str | None


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            N_('unknown time zone "%(tz)s": use a name such as `Europe/Paris` or `America/New_York`.'),
            tz=name[:64],
        ) from None


def set_daily_digest(
    session: Session, *, team_id: str, channel: str, args: list[str], default_tz: str | None
) -> DigestSetting:
    """``off``, ``HH:MM`` (in the time zone of whoever sets it, from Slack) or ``HH:MM <time zone>``."""
    if [a.lower() for a in args] == ["off"]:
        set_digest(session, team_id=team_id, channel=channel, at=None, tz=None)
        return DigestSetting(at=None, tz=None)
    match = _TIME.match(args[0]) if 1 <= len(args) <= 2 else None
    if match is None:
        raise UsageError(
            N_("use `/offer-status settings digest HH:MM [time zone]` (e.g. `09:00 Europe/Paris`) or `off`.")
        )
    at = f"{int(match[1]):02d}:{match[2]}"
    tz = args[1] if len(args) == 2 else (default_tz or "UTC")
    time_zone(tz)
    if channel.startswith("D") or channel_scope(session, team_id=team_id, channel=channel) is None:
        raise UsageError(
            N_(
                "the daily digest sums up a channel's subscriptions: subscribe this channel first "
                "(`/offer-status subscribe <offer | publisher:<id> | all>`), in a channel, not a direct "
                "message."
            )
        )
    set_digest(session, team_id=team_id, channel=channel, at=at, tz=tz)
    return DigestSetting(at=at, tz=tz)


def local_day(now: datetime, *, at: str, tz: str) -> str | None:
    """The local date (``YYYY-MM-DD``) whose digest is due at ``now``, or None before ``at``."""
    try:
        local = now.astimezone(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        local = now
    return local.date().isoformat() if local.strftime("%H:%M") >= at else None

"""The digest: what a channel's subscriptions (or a person's offers) look like today, and the daily
digest's settings and once-a-day claim, as functions over a Session."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.durations import OfferForecast
from storage.imports.importer import RUNNING_STEPS
from storage.models import (
    AlertTaker,
    AlertThread,
    ChannelSettings,
    EmailUser,
    Offer,
    StatusChange,
    Step,
    Subscription,
)
from storage.owners import slack_owners
from storage.people import all_owner_emails
from storage.reads.home import URGENCY, covered_by
from storage.statuses import DestinationKind, OfferStatus

DIGEST_LIMIT = 10


def channel_scope(session: Session, *, team_id: str, channel: str) -> sa.ColumnElement[bool] | None:
    """The offers the channel's enabled subscriptions cover; None when it has none."""
    keys = session.exec(
        select(Subscription.target_key).where(
            Subscription.team_id == team_id,
            Subscription.destination_kind == DestinationKind.CHANNEL,
            Subscription.destination == channel,
            col(Subscription.disabled_reason).is_(None),
        )
    ).all()
    covered = covered_by(keys)
    return sa.and_(col(Offer.team_id) == team_id, covered) if covered is not None else None


@dataclass(frozen=True)
class NeedsWhom:
    offer: Offer
    takers: Sequence[str]
    """Who clicked *I'm on it* on one of its open alerts."""
    owners: Sequence[str]
    """The Slack users its notification e-mails map to."""


@dataclass(frozen=True)
class DigestData:
    totals: dict[str, int]
    needs: list[NeedsWhom]
    needs_total: int
    stuck: list[tuple[Offer, Step]]
    changes: list[tuple[StatusChange, Offer]]
    changes_total: int
    expected: list[tuple[Offer, OfferForecast]] = field(default_factory=list)
    """Offers in progress with a forecast, the soonest likely to be live first."""

    @property
    def quiet(self) -> bool:
        """Nothing changed in the day and nothing needs anyone: the daily digest skips the day."""
        return not (self.needs_total or self.stuck or self.changes_total)


def _needs(session: Session, scope: sa.ColumnElement[bool], team_id: str) -> tuple[list[NeedsWhom], int]:
    statuses = [s.value for s in URGENCY]
    where = sa.and_(scope, col(Offer.status).in_(statuses), col(Offer.removed_at).is_(None))
    rank = sa.case({s: i for i, s in enumerate(statuses)}, value=col(Offer.status))
    offers = session.exec(
        select(Offer).where(where).order_by(rank, col(Offer.status_changed_at)).limit(DIGEST_LIMIT)
    ).all()
    total = int(session.exec(select(sa.func.count()).select_from(Offer).where(where)).one())
    out = []
    for offer in offers:
        takers = session.exec(
            select(AlertTaker.user_id)
            .join(AlertThread, col(AlertThread.id) == col(AlertTaker.thread_id))
            .where(AlertThread.offer_pk == offer.id, col(AlertThread.closed).is_(False))
            .distinct()
        ).all()
        emails = all_owner_emails(session, offer)
        owners = session.exec(
            select(EmailUser.user_id).where(
                EmailUser.team_id == team_id,
                col(EmailUser.email).in_(emails),
                col(EmailUser.user_id).is_not(None),
            )
        ).all()
        owners = [*owners, *slack_owners(session, offer=offer).users]
        out.append(NeedsWhom(offer=offer, takers=sorted(takers), owners=sorted({o for o in owners if o})))
    return out, total


def digest_data(
    session: Session, *, team_id: str, scope: sa.ColumnElement[bool], now: datetime
) -> DigestData:
    """Counts per status, what needs whom, stuck steps and the last 24 hours' changes, for ``scope``."""
    totals = {
        str(status): int(n)
        for status, n in session.exec(
            select(Offer.status, sa.func.count()).where(scope).group_by(col(Offer.status))
        ).all()
    }
    needs, needs_total = _needs(session, scope, team_id)
    stuck = session.exec(
        select(Offer, Step)
        .join(Step, col(Step.offer_pk) == col(Offer.id))
        .where(scope, col(Step.stuck_since).is_not(None), col(Step.status).in_(RUNNING_STEPS))
        .order_by(col(Step.stuck_since))
        .limit(DIGEST_LIMIT)
    ).all()
    since = now - timedelta(hours=24)
    recent = sa.and_(scope, col(StatusChange.changed_at) >= since)
    changes = session.exec(
        select(StatusChange, Offer)
        .join(Offer, col(Offer.id) == col(StatusChange.offer_pk))
        .where(recent)
        .order_by(col(StatusChange.changed_at).desc(), col(StatusChange.id).desc())
        .limit(DIGEST_LIMIT)
    ).all()
    changes_total = int(
        session.exec(
            select(sa.func.count())
            .select_from(StatusChange)
            .join(Offer, col(Offer.id) == col(StatusChange.offer_pk))
            .where(recent)
        ).one()
    )
    return DigestData(
        totals=totals,
        needs=needs,
        needs_total=needs_total,
        stuck=[(o, s) for o, s in stuck],
        changes=[(c, o) for c, o in changes],
        changes_total=changes_total,
        expected=_expected(session, scope),
    )


def _expected(session: Session, scope: sa.ColumnElement[bool]) -> list[tuple[Offer, OfferForecast]]:
    rows = session.exec(
        select(Offer, OfferForecast)
        .join(OfferForecast, col(OfferForecast.offer_pk) == col(Offer.id))
        .where(
            scope, Offer.status == OfferStatus.IN_PROGRESS.value, col(OfferForecast.likely_at).is_not(None)
        )
        .order_by(col(OfferForecast.likely_at), col(Offer.id))
        .limit(DIGEST_LIMIT)
    ).all()
    return [(o, f) for o, f in rows]


# --- the daily digest's settings and its once-a-day claim ---------------------------------------


def set_digest(session: Session, *, team_id: str, channel: str, at: str | None, tz: str | None) -> None:
    row = session.get(ChannelSettings, (team_id, channel)) or ChannelSettings(
        team_id=team_id, channel=channel
    )
    row.digest_at, row.digest_tz = at, tz
    session.add(row)
    session.flush()


def digest_channels(session: Session) -> Sequence[ChannelSettings]:
    """The channels with a daily digest (a few rows: the job reads them every minute)."""
    return session.exec(
        select(ChannelSettings)
        .where(col(ChannelSettings.digest_at).is_not(None))
        .order_by(col(ChannelSettings.team_id), col(ChannelSettings.channel))
    ).all()


def claim_digest(session: Session, *, team_id: str, channel: str, day: str) -> bool:
    """Take the channel's digest of ``day`` (its local date): one UPDATE, so of several processes
    only one gets it. False when it was taken already."""
    t = ChannelSettings.__table__  # type: ignore[attr-defined]
    result = session.execute(
        sa.update(t)
        .where(
            t.c.team_id == team_id,
            t.c.channel == channel,
            t.c.digest_at.is_not(None),
            sa.or_(t.c.digest_sent_on.is_(None), t.c.digest_sent_on != day),
        )
        .values(digest_sent_on=day)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_digest(session: Session, *, team_id: str, channel: str, day: str, before: str | None) -> None:
    """Give the day's digest back (it could not be posted): the next run tries again."""
    t = ChannelSettings.__table__  # type: ignore[attr-defined]
    session.execute(
        sa.update(t)
        .where(t.c.team_id == team_id, t.c.channel == channel, t.c.digest_sent_on == day)
        .values(digest_sent_on=before)
    )

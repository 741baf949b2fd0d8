"""A person's Home tab: what needs them, what is publishing, their alerts, the workspace's totals;
and the Home tab's *Remove* buttons. Typed results, no Slack, no wording."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session

from bot.i18n import N_
from bot.usecases.access import AccessPolicy, Action, Actor, check, check_removal
from bot.usecases.connections import ConnectionsPanel
from bot.usecases.subscriptions import About, about
from bot.usecases.work import OUT_OF_DATE, is_key
from storage.alerts.subscriptions import Target, delete_mute, delete_subscription, events_of
from storage.durations import OfferForecast, forecasts_of
from storage.errors import UsageError
from storage.models import Mute, Offer, Step, Subscription
from storage.reads.home import needs_attention, publishing, status_totals, steps_of_offers, user_alerts
from storage.reads.offers import get_offer
from storage.statuses import DestinationKind, StepState

HOME_LIMIT = 10
"""Offers shown per section; the rest is counted and pointed to (``/offer-status list <status>``)."""


@dataclass(frozen=True)
class HomeOffer:
    offer: Offer
    focus: Step | None
    """The step that failed or waits, else the one in progress."""
    since: datetime
    forecast: OfferForecast | None = None
    """When it will likely be live (offers in progress)."""


class HomeAlertKind(StrEnum):
    """A row of the Home tab's *Your alerts*: your ``notify-me``, your mute, or a channel's
    subscription you may manage."""

    NOTIFY = "notify"
    MUTE = "mute"
    CHANNEL = "channel"


@dataclass(frozen=True)
class HomeAlert:
    kind: HomeAlertKind
    key: str
    """What the *Remove* button carries: ``sub:<id>`` or ``mute:<id>``."""
    about: About
    channel: str | None = None
    events: tuple[str, ...] = ()
    disabled_reason: str | None = None


@dataclass(frozen=True)
class HomeView:
    user_id: str
    needs: list[HomeOffer]
    needs_total: int
    publishing: list[HomeOffer]
    publishing_total: int
    alerts: list[HomeAlert]
    totals: dict[str, int]
    go_live: bool = False
    """*Needs you* rows awaiting sign-off may offer *Go live* (set by the caller: ``OFFERBOT_GO_LIVE``)."""
    connections: ConnectionsPanel | None = None
    """The workspace's Partner Center connections, for those who may change them (set by the caller)."""

    @property
    def owns_nothing(self) -> bool:
        return not (self.needs_total or self.publishing_total or self.alerts)


def _focus(steps: list[Step]) -> Step | None:
    for wanted in (
        lambda s: StepState(s.status).needs_attention,
        lambda s: s.status == StepState.IN_PROGRESS,
    ):
        for step in steps:
            if wanted(step):
                return step
    return None


def _with_steps(session: Session, offers: list[Offer]) -> list[HomeOffer]:
    pks = [o.id for o in offers if o.id is not None]
    steps = steps_of_offers(session, offer_pks=pks)
    forecasts = forecasts_of(session, offer_pks=pks)
    return [
        HomeOffer(
            offer=o,
            focus=_focus(steps[o.id or 0]),
            since=o.status_changed_at,
            forecast=forecasts.get(o.id or 0),
        )
        for o in offers
    ]


def _about(session: Session, team_id: str, target_key: str) -> About:
    target = Target.from_key(target_key)
    if target.offer_pk is not None:
        return about(target, get_offer(session, team_id=team_id, offer_pk=target.offer_pk))
    return about(target, None)


def _alerts(session: Session, team_id: str, user_id: str) -> list[HomeAlert]:
    mine = user_alerts(session, team_id=team_id, user_id=user_id)
    out = [
        HomeAlert(
            kind=HomeAlertKind.NOTIFY,
            key=f"sub:{s.id}",
            about=_about(session, team_id, s.target_key),
            events=tuple(events_of(s)),
            disabled_reason=s.disabled_reason,
        )
        for s in mine.notify
    ]
    out += [
        HomeAlert(kind=HomeAlertKind.MUTE, key=f"mute:{m.id}", about=_about(session, team_id, m.target_key))
        for m in mine.mutes
    ]
    out += [
        HomeAlert(
            kind=HomeAlertKind.CHANNEL,
            key=f"sub:{s.id}",
            about=_about(session, team_id, s.target_key),
            channel=s.destination,
            events=tuple(events_of(s)),
            disabled_reason=s.disabled_reason,
        )
        for s in mine.channel_subscriptions
    ]
    return out


def home_of(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    actor: Actor | None = None,
    policy: AccessPolicy | None = None,
    limit: int = HOME_LIMIT,
) -> HomeView:
    """The person's Home tab; a guest (unless guests may query) is refused, as for commands."""
    if actor is not None and policy is not None:
        check(actor, Action.QUERY, policy)
    needs = needs_attention(session, team_id=team_id, user_id=user_id, limit=limit)
    busy = publishing(session, team_id=team_id, user_id=user_id, limit=limit)
    return HomeView(
        user_id=user_id,
        needs=_with_steps(session, list(needs.offers)),
        needs_total=needs.total,
        publishing=_with_steps(session, list(busy.offers)),
        publishing_total=busy.total,
        alerts=_alerts(session, team_id, user_id),
        totals=status_totals(session, team_id=team_id),
    )


GONE = N_("that alert setting is already gone: the Home tab now shows the ones left.")


def remove_alert(session: Session, *, team_id: str, key: object, actor: Actor, policy: AccessPolicy) -> None:
    """The Home tab's *Remove*: a ``notify-me`` or a mute of the clicker's, or a channel subscription
    they may remove (their own, or as an admin, owner or manager)."""
    check(actor, Action.OWN_ALERTS, policy)
    kind, _, raw = key.partition(":") if isinstance(key, str) else ("", "", "")
    if kind not in ("sub", "mute") or not is_key(raw):
        raise UsageError(OUT_OF_DATE)
    if kind == "mute":
        mute = session.get(Mute, int(raw))
        if mute is None or mute.team_id != team_id or mute.user_id != actor.user_id:
            raise UsageError(GONE)
        delete_mute(session, mute=mute)
        return
    sub = session.get(Subscription, int(raw))
    if sub is None or sub.team_id != team_id:
        raise UsageError(GONE)
    if sub.destination_kind == DestinationKind.USER:
        if sub.destination != actor.user_id:
            raise UsageError(GONE)
    else:
        check_removal(actor, created_by=sub.created_by, policy=policy)
    delete_subscription(session, sub=sub)

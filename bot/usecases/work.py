"""Working on an alert from Slack: *I'm on it*, *Snooze* and, in a direct message, *Mute this offer*.

Each is a use-case over a Session: typed input (which alert, who, when), typed result (the alert as it
should now read), permissions checked here. Guests cannot act on alerts; a click whose offer was
deleted, or whose alert is no longer tracked, gets an explanation, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.i18n import N_
from bot.usecases.access import AccessPolicy, Action, Actor, check
from bot.usecases.subscriptions import AlertRequest, about, mute_me
from storage.alerts.subscriptions import Target
from storage.alerts.threads import open_threads
from storage.alerts.work import MUTE, Handling, find_thread, handling_of, log_action, snooze, take
from storage.errors import UsageError
from storage.models import AlertThread, StatusChange
from storage.reads.offers import OfferCard, get_offer, load_card
from storage.statuses import DestinationKind, TargetKind

SNOOZE_HOURS = {"1h": 1, "4h": 4, "1d": 24, "1w": 168}
OUT_OF_DATE = N_("that button is out of date: run `/offer-status` again.")
GONE = N_("this offer is no longer in offerbot (it was deleted): there is nothing left to do here.")


class OfferGone(UsageError):
    """The alert's offer is no longer stored."""


@dataclass(frozen=True)
class AlertRef:
    """Which alert a click was on: the offer (the button's value), the channel of the message and
    the thread's root ts (the message's own ts for a root, its ``thread_ts`` for a reply)."""

    team_id: str
    offer_pk: int
    channel: str
    ts: str | None


def _nowhere(_channel: str) -> bool:
    return False


@dataclass(frozen=True)
class Clicker:
    actor: Actor
    policy: AccessPolicy
    now: datetime
    member_of: Callable[[str], bool] = _nowhere
    """Whether the clicker is a member of a channel (Slack's ``conversations.members``): acting on
    a channel's alert from the Home tab needs it. By default, of none."""


@dataclass(frozen=True)
class AlertView:
    """An alert as it should now read, and where it is, for the listener to update it in place."""

    card: OfferCard
    channel: str
    ts: str
    direct: bool
    reader: str
    """Whose language the alert is in: the DM's person, or "" for a channel (its own setting)."""
    old_status: str | None
    new_status: str
    current_status: str
    handling: Handling
    changed: bool
    """False when the click changed nothing (the same person clicked *I'm on it* again)."""


def is_key(value: object) -> bool:
    """A row key as our buttons carry it: ASCII digits, within PostgreSQL's integer."""
    return (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= 10
        and int(value) < 2**31
    )


def parse_ref(team_id: str, value: object, *, channel: str, ts: str | None) -> AlertRef:
    """The button's value is the offer's key, as the alert rendered it; anything else is refused.
    ``channel`` is "" for a click on the Home tab (then the offer's open alerts are meant)."""
    if not isinstance(value, str) or not is_key(value):
        raise UsageError(OUT_OF_DATE)
    return AlertRef(team_id=team_id, offer_pk=int(value), channel=channel, ts=ts)


def parse_snooze(value: object) -> tuple[str, str]:
    """A *Snooze* option's value: ``<offer key>:<1h|4h|1d|1w>``."""
    if not isinstance(value, str) or value.count(":") != 1:
        raise UsageError(OUT_OF_DATE)
    pk, choice = value.split(":")
    if choice not in SNOOZE_HOURS:
        raise UsageError(OUT_OF_DATE)
    return pk, choice


def _thread(session: Session, ref: AlertRef) -> tuple[OfferCard, AlertThread]:
    offer = get_offer(session, team_id=ref.team_id, offer_pk=ref.offer_pk)
    if offer is None:
        raise OfferGone(GONE)
    thread = find_thread(session, team_id=ref.team_id, offer_pk=ref.offer_pk, channel=ref.channel, ts=ref.ts)
    if thread is None:
        raise UsageError(
            N_("I do not track this alert any more: run `/offer-status %(offer)s` for the current status."),
            offer=offer.offer_id,
        )
    return load_card(session, offer=offer), thread


def _view(
    session: Session, card: OfferCard, thread: AlertThread, *, now: datetime, changed: bool
) -> AlertView:
    first = session.get(StatusChange, thread.first_change_id)
    return AlertView(
        card=card,
        channel=thread.channel,
        ts=thread.ts,
        direct=thread.destination_kind == DestinationKind.USER,
        reader=thread.destination if thread.destination_kind == DestinationKind.USER else "",
        old_status=first.old_status if first is not None else None,
        new_status=first.new_status if first is not None else thread.status,
        current_status=thread.status,
        handling=handling_of(session, thread=thread).shown(now),
        changed=changed,
    )


def alert_view(session: Session, *, ref: AlertRef, now: datetime) -> AlertView:
    """The alert as it should read now, nothing changed (after a *Go live* request, say)."""
    card, thread = _thread(session, ref)
    return _view(session, card, thread, now=now, changed=True)


def take_alert(session: Session, *, ref: AlertRef, who: Clicker) -> AlertView:
    """*I'm on it*: the clicker is added to the alert's takers and its reminders stop."""
    check(who.actor, Action.OWN_ALERTS, who.policy)
    card, thread = _thread(session, ref)
    changed = take(session, thread=thread, user_id=who.actor.user_id, now=who.now)
    return _view(session, card, thread, now=who.now, changed=changed)


def snooze_alert(session: Session, *, ref: AlertRef, choice: str, who: Clicker) -> AlertView:
    """*Snooze*: no reminder for the alert until the chosen time has passed."""
    check(who.actor, Action.OWN_ALERTS, who.policy)
    if choice not in SNOOZE_HOURS:
        raise UsageError(OUT_OF_DATE)
    card, thread = _thread(session, ref)
    until = who.now + timedelta(hours=SNOOZE_HOURS[choice])
    snooze(session, thread=thread, user_id=who.actor.user_id, until=until, now=who.now)
    return _view(session, card, thread, now=who.now, changed=True)


def _open_threads(session: Session, ref: AlertRef, who: Clicker) -> tuple[OfferCard, list[AlertThread]]:
    """The offer's open alerts the clicker may act on from the Home tab: those in channels they are
    a member of, and those in their own direct messages (never someone else's)."""
    offer = get_offer(session, team_id=ref.team_id, offer_pk=ref.offer_pk)
    if offer is None:
        raise OfferGone(GONE)
    user_id = who.actor.user_id
    every = open_threads(session, offer_pk=ref.offer_pk)
    threads = [
        t
        for t in every
        if (t.destination_kind == DestinationKind.CHANNEL and who.member_of(t.channel))
        or (t.destination_kind == DestinationKind.USER and t.destination == user_id)
    ]
    if not threads and every:
        raise UsageError(
            N_(
                "The open alerts about %(offer)s are in channels you are not a member of: join one to "
                "take or snooze its alert."
            ),
            offer=offer.offer_id,
        )
    if not threads:
        raise UsageError(
            N_("No alert about %(offer)s is open: there is nothing to take or snooze."), offer=offer.offer_id
        )
    return load_card(session, offer=offer), threads


def take_offer(session: Session, *, ref: AlertRef, who: Clicker) -> list[AlertView]:
    """*I'm on it* from the Home tab: the clicker takes every open alert about the offer (in each
    channel and DM it went to)."""
    check(who.actor, Action.OWN_ALERTS, who.policy)
    card, threads = _open_threads(session, ref, who)
    changed = [take(session, thread=t, user_id=who.actor.user_id, now=who.now) for t in threads]
    return [_view(session, card, t, now=who.now, changed=c) for t, c in zip(threads, changed, strict=True)]


def snooze_offer(session: Session, *, ref: AlertRef, choice: str, who: Clicker) -> list[AlertView]:
    """*Snooze* from the Home tab: every open alert about the offer."""
    check(who.actor, Action.OWN_ALERTS, who.policy)
    if choice not in SNOOZE_HOURS:
        raise UsageError(OUT_OF_DATE)
    card, threads = _open_threads(session, ref, who)
    until = who.now + timedelta(hours=SNOOZE_HOURS[choice])
    for thread in threads:
        snooze(session, thread=thread, user_id=who.actor.user_id, until=until, now=who.now)
    return [_view(session, card, t, now=who.now, changed=True) for t in threads]


def mute_from_alert(session: Session, *, ref: AlertRef, who: Clicker) -> AlertRequest:
    """*Mute this offer* in a direct message: the same as ``mute-me <offer>``."""
    check(who.actor, Action.OWN_ALERTS, who.policy)
    offer = get_offer(session, team_id=ref.team_id, offer_pk=ref.offer_pk)
    if offer is None:
        raise OfferGone(GONE)
    target = Target(kind=TargetKind.OFFER, offer_pk=offer.id)
    request = AlertRequest(target=target, events=(), about=about(target, offer))
    user = who.actor.user_id
    mute_me(session, team_id=ref.team_id, user_id=user, request=request, now=who.now)
    log_action(
        session,
        team_id=ref.team_id,
        offer_pk=ref.offer_pk,
        user_id=user,
        action=MUTE,
        channel=ref.channel,
        now=who.now,
    )
    return request

"""The alert use-cases a person runs from Slack: subscribe a channel, unsubscribe it, notify-me,
mute-me, a channel's threading and language settings, and the list of subscriptions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.i18n import N_, Language
from bot.usecases.access import OPEN, OPERATOR, AccessPolicy, Action, Actor, check, check_removal
from storage.alerts.policy import EVENTS
from storage.alerts.subscriptions import (
    Previous,
    Target,
    delete_subscription,
    events_of,
    find_subscription,
    mute,
    restore_subscription,
    subscribe,
    subscribe_replacing,
    subscriptions_of,
    unmute,
    unsubscribe,
)
from storage.channels import set_language, set_threading
from storage.errors import UsageError
from storage.models import Offer, Subscription
from storage.reads.offers import Lookup, find_offers, get_offer
from storage.statuses import DestinationKind, TargetKind


@dataclass(frozen=True)
class About:
    """What a subscription is about, as an answer shows it."""

    kind: str  # a TargetKind
    publisher_id: str | None = None
    offer_name: str | None = None
    offer_id: str | None = None

    @property
    def gone(self) -> bool:
        """An offer subscription whose offer is no longer stored."""
        return self.kind == TargetKind.OFFER and self.offer_id is None


def about(target: Target, offer: Offer | None) -> About:
    if target.kind == TargetKind.OFFER:
        return About(
            kind=TargetKind.OFFER,
            offer_name=offer.name if offer else None,
            offer_id=offer.offer_id if offer else None,
        )
    return About(kind=target.kind, publisher_id=target.publisher_id)


@dataclass(frozen=True)
class AlertRequest:
    """A parsed ``subscribe``-like command: its target, its events, and what it is about."""

    target: Target
    events: tuple[str, ...]
    about: About


@dataclass(frozen=True)
class AlertArgs:
    """An alert command's arguments as typed (the grammar's output): an ``all`` or ``publisher:<id>``
    target, else an offer to look up by ``query`` ("" when none was typed), and the events named.
    ``problem``: the arguments could not be read; raised after the permission check."""

    verb: str
    target: Target | None
    query: str
    events: tuple[str, ...]
    problem: UsageError | None = None


def request_for(session: Session, *, team_id: str, args: AlertArgs) -> AlertRequest | Lookup:
    """The request the arguments name, or the look-up when the offer is not found exactly once."""
    if args.problem is not None:
        raise args.problem
    if args.target is None and not args.query:
        raise UsageError(
            N_(
                "`%(verb)s` needs an offer (its id or part of its name), `publisher:<id>` or `all`, "
                "e.g. `/offer-status %(verb)s contoso-analytics-vm failed`."
            ),
            verb=args.verb,
        )
    return resolve_target(session, team_id=team_id, target=args.target, query=args.query, events=args.events)


def _in_channel(channel: str, verb: str) -> None:
    if not channel:
        raise UsageError(N_("`%(verb)s` works in a Slack channel."), verb=verb)


def check_channel_change(*, channel: str, verb: str, actor: Actor, policy: AccessPolicy) -> None:
    """Whether ``actor`` may change the alerts or settings of the channel the command was typed in."""
    _in_channel(channel, verb)
    check(actor, Action.CHANNEL_CHANGE, policy)


def preview_subscribe(
    session: Session, *, team_id: str, channel: str, actor: Actor, policy: AccessPolicy, args: AlertArgs
) -> AlertRequest | Lookup:
    """What ``subscribe`` would save, resolved and checked (the ack shows it); nothing is written."""
    check(actor, Action.CHANNEL_CHANGE, policy)
    found = request_for(session, team_id=team_id, args=args)
    if isinstance(found, AlertRequest):
        _in_channel(channel, "subscribe")
    return found


def preview_unsubscribe(
    session: Session, *, team_id: str, channel: str, args: AlertArgs
) -> AlertRequest | Lookup:
    """The subscription an ``unsubscribe`` names; who may remove it depends on who made it, which
    :func:`unsubscribe_channel` checks."""
    found = request_for(session, team_id=team_id, args=args)
    if isinstance(found, AlertRequest):
        _in_channel(channel, "unsubscribe")
    return found


def preview_personal(
    session: Session, *, team_id: str, user_id: str, actor: Actor, policy: AccessPolicy, args: AlertArgs
) -> AlertRequest | Lookup:
    """What a ``notify-me`` or ``mute-me`` is about, for a person Slack named."""
    if not user_id:
        raise UsageError(N_("`%(verb)s` works in Slack, where I know who you are."), verb=args.verb)
    check(actor, Action.OWN_ALERTS, policy)
    return request_for(session, team_id=team_id, args=args)


def resolve_target(
    session: Session, *, team_id: str, target: Target | None, query: str, events: tuple[str, ...]
) -> AlertRequest | Lookup:
    """The request for ``target`` (all or a publisher), or for the one offer ``query`` finds; the
    lookup itself when it finds none or several."""
    chosen = tuple(e for e in EVENTS if e in events) or EVENTS
    if target is not None:
        return AlertRequest(target=target, events=chosen, about=about(target, None))
    lookup = find_offers(session, team_id=team_id, query=query)
    if len(lookup.matches) != 1:
        return lookup
    offer = lookup.matches[0]
    found = Target(kind=TargetKind.OFFER, offer_pk=offer.id)
    return AlertRequest(target=found, events=chosen, about=about(found, offer))


def save_subscription(
    session: Session,
    *,
    team_id: str,
    destination_kind: str,
    destination: str,
    user_id: str,
    request: AlertRequest,
    now: datetime,
) -> Subscription:
    """Save a channel's ``subscribe`` or a user's ``notify-me``, created by ``user_id``."""
    sub, _ = subscribe(
        session,
        team_id=team_id,
        destination_kind=destination_kind,
        destination=destination,
        target=request.target,
        events=request.events,
        created_by=user_id,
        now=now,
    )
    return sub


def subscribe_channel(
    session: Session,
    *,
    team_id: str,
    channel: str,
    user_id: str,
    request: AlertRequest,
    now: datetime,
    actor: Actor = OPERATOR,
    policy: AccessPolicy = OPEN,
) -> Previous | None:
    """Save a channel's ``subscribe`` (checked again: the ack's check was another request) and return
    what it replaced (None: it is new), so a confirmation that cannot be posted can put it back
    (:func:`undo_subscribe`)."""
    check_channel_change(channel=channel, verb="subscribe", actor=actor, policy=policy)
    _sub, previous = subscribe_replacing(
        session,
        team_id=team_id,
        destination_kind=DestinationKind.CHANNEL,
        destination=channel,
        target=request.target,
        events=request.events,
        created_by=user_id,
        now=now,
    )
    return previous


def undo_subscribe(
    session: Session, *, team_id: str, channel: str, request: AlertRequest, before: Previous | None
) -> None:
    """Put back the channel's subscription as it was before :func:`subscribe_channel`."""
    sub = find_subscription(
        session,
        team_id=team_id,
        destination_kind=DestinationKind.CHANNEL,
        destination=channel,
        target=request.target,
    )
    if sub is None:
        return
    if before is None:
        delete_subscription(session, sub=sub)
        session.flush()
        return
    restore_subscription(session, sub=sub, previous=before)


@dataclass(frozen=True)
class Unsubscribed:
    about: About
    found: bool
    remaining: tuple[str, ...] | None
    """The events the channel still gets, or None when the subscription is gone."""


def unsubscribe_channel(
    session: Session,
    *,
    team_id: str,
    channel: str,
    request: AlertRequest,
    actor: Actor = OPERATOR,
    policy: AccessPolicy = OPEN,
) -> Unsubscribed:
    """Remove (some events of) a channel's subscription: only its creator, admins and owners, and the
    managers may (:func:`bot.usecases.access.check_removal`)."""
    existing = find_subscription(
        session,
        team_id=team_id,
        destination_kind=DestinationKind.CHANNEL,
        destination=channel,
        target=request.target,
    )
    if existing is not None:
        check_removal(actor, created_by=existing.created_by, policy=policy)
    found, left = unsubscribe(
        session,
        team_id=team_id,
        destination_kind=DestinationKind.CHANNEL,
        destination=channel,
        target=request.target,
        events=request.events if len(request.events) < len(EVENTS) else (),
    )
    remaining = tuple(events_of(left)) if left is not None else None
    return Unsubscribed(about=request.about, found=found, remaining=remaining)


def notify_me(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    request: AlertRequest,
    now: datetime,
    actor: Actor = OPERATOR,
    policy: AccessPolicy = OPEN,
) -> AlertRequest:
    """DM alerts for ``user_id``; a mute of the same target is lifted."""
    check(actor, Action.OWN_ALERTS, policy)
    unmute(session, team_id=team_id, user_id=user_id, target=request.target)
    save_subscription(
        session,
        team_id=team_id,
        destination_kind=DestinationKind.USER,
        destination=user_id,
        user_id=user_id,
        request=request,
        now=now,
    )
    return request


def mute_me(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    request: AlertRequest,
    now: datetime,
    actor: Actor = OPERATOR,
    policy: AccessPolicy = OPEN,
) -> AlertRequest:
    check(actor, Action.OWN_ALERTS, policy)
    mute(session, team_id=team_id, user_id=user_id, target=request.target, now=now)
    return request


def set_channel_threading(session: Session, *, team_id: str, channel: str, on: bool) -> bool:
    set_threading(session, team_id=team_id, channel=channel, threading=on)
    return on


def set_channel_language(session: Session, *, team_id: str, channel: str, language: Language) -> Language:
    """The language of a channel's alerts and confirmations from now on."""
    set_language(session, team_id=team_id, channel=channel, language=language.value)
    return language


@dataclass(frozen=True)
class SubscriptionView:
    about: About
    events: tuple[str, ...]
    disabled_reason: str | None = None


@dataclass(frozen=True)
class Subscriptions:
    channel: tuple[SubscriptionView, ...] | None
    """The channel's subscriptions, or None when the command was not typed in a channel."""
    mine: tuple[SubscriptionView, ...]


def _view(session: Session, team_id: str, sub: Subscription) -> SubscriptionView:
    offer = get_offer(session, team_id=team_id, offer_pk=sub.offer_pk) if sub.offer_pk else None
    target = Target(kind=sub.target_kind, offer_pk=sub.offer_pk, publisher_id=sub.publisher_id)
    return SubscriptionView(
        about=about(target, offer), events=tuple(events_of(sub)), disabled_reason=sub.disabled_reason
    )


def list_subscriptions(session: Session, *, team_id: str, user_id: str, channel_id: str) -> Subscriptions:
    channel = None
    if channel_id:
        subs = subscriptions_of(
            session, team_id=team_id, destination_kind=DestinationKind.CHANNEL, destination=channel_id
        )
        channel = tuple(_view(session, team_id, sub) for sub, _offer in subs)
    mine = (
        subscriptions_of(session, team_id=team_id, destination_kind=DestinationKind.USER, destination=user_id)
        if user_id
        else []
    )
    return Subscriptions(channel=channel, mine=tuple(_view(session, team_id, sub) for sub, _ in mine))

"""What one delivery does, decided before any Web API call: where it goes (the open alert thread, the
channel or the DM) and what it says (drawn later, outside the transaction)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlmodel import Session

from bot.alerting.outcomes import WatcherConfig
from bot.clock import Clock
from bot.i18n import Translator, translator
from bot.render.alerts import (
    render_alert,
    render_disabled_notice,
    render_followup,
    render_reminder,
    render_stuck,
    render_test_alert,
)
from bot.render.blocks import Reply
from bot.slack.people import channel_language, user_language
from bot.usecases.subscriptions import about
from storage.alerts import threads
from storage.alerts.policy import REMINDABLE
from storage.alerts.subscriptions import Target
from storage.alerts.threads import ThreadMove
from storage.alerts.work import Handling, handling_of
from storage.channels import threading_for
from storage.imports.importer import RUNNING_STEPS
from storage.models import AlertThread, Delivery, Offer, StatusChange, Subscription
from storage.reads.offers import OfferCard, load_card
from storage.statuses import ACTIVE_PUBLISH, DeliveryKind, DestinationKind


@dataclass(frozen=True)
class Post:
    """Where and what to post: ``render`` draws the message from data already read, called after
    the transaction that read it (never while it holds the store's write lock)."""

    render: Callable[[], Reply]
    channel: str | None  # None: open the DM with ``dm_user`` first
    dm_user: str | None = None
    thread_ts: str | None = None
    broadcast: bool = False


@dataclass(frozen=True)
class Plan:
    """What one delivery does, decided from a read-only snapshot before any Web API call; no post
    means there is nothing to send any more (the offer moved on), and the row is done."""

    post: Post | None = None
    thread: ThreadMove | None = None
    """How the post moves its alert thread (recorded with the post by ``threads.record_post``)."""
    root: Callable[[], Reply] | None = None
    """Draws the thread's first alert with the current status, for ``chat.update`` after the post."""


@dataclass(frozen=True)
class Route:
    """Where a delivery goes: the open alert thread of its offer and destination, if any; the channel
    (None: the DM with ``dm_user`` is opened first); the thread to reply in, when threading is on."""

    thread: AlertThread | None
    channel: str | None
    dm_user: str | None
    thread_ts: str | None

    def post(self, render: Callable[[], Reply], *, broadcast: bool = False) -> Post:
        return Post(
            render, channel=self.channel, dm_user=self.dm_user, thread_ts=self.thread_ts, broadcast=broadcast
        )


def route_of(row: Delivery, *, thread: AlertThread | None, threading: bool) -> Route:
    """``thread``: the open alert thread of the row's offer and destination; ``threading``: the
    destination's setting (a DM always threads)."""
    channel = row.destination if row.destination_kind == DestinationKind.CHANNEL else None
    threading = channel is None or threading
    where = thread.channel if thread is not None else channel
    thread_ts = thread.ts if thread is not None and threading else None
    return Route(
        thread=thread, channel=where, dm_user=None if where else row.destination, thread_ts=thread_ts
    )


SNAPSHOTS = 256
"""Changes whose card a deliverer keeps while it works (it lives for one pass)."""


@dataclass(frozen=True)
class Snapshot:
    offer: Offer
    change: StatusChange
    change_id: int
    card: OfferCard


@dataclass(frozen=True)
class Facts:
    """Everything a delivery's plan depends on, read in one transaction: the change, its offer and
    card, the destination's threading and language, the open alert thread (with its first change and
    who is on it), the disabled subscription a notice is about, and the time."""

    snapshot: Snapshot
    threading: bool
    tr: Translator
    now: datetime
    thread: AlertThread | None = None
    first: StatusChange | None = None
    handling: Handling | None = None
    subscription: Subscription | None = None


def decide(row: Delivery, facts: Facts) -> Plan:
    """What ``row`` does, from the facts alone (no session, no Slack): a pure function."""
    if row.kind == DeliveryKind.NOTICE:
        return _notice(row, facts)
    if row.kind == DeliveryKind.TEST:  # no thread: it starts none, continues none, reminds of nothing
        card, old, tr = facts.snapshot.card, facts.snapshot.change.old_status, facts.tr
        return Plan(
            post=Post(lambda: render_test_alert(card, old_status=old, tr=tr), channel=row.destination)
        )
    route = route_of(row, thread=facts.thread, threading=facts.threading)
    direct = row.destination_kind == DestinationKind.USER
    if row.kind in (DeliveryKind.STUCK, DeliveryKind.REMINDER):
        return _nudge(row, route, facts, direct=direct)
    card, change, tr, thread = facts.snapshot.card, facts.snapshot.change, facts.tr, facts.thread
    old, new, since = change.old_status, change.new_status, change.changed_at
    if row.kind == DeliveryKind.ALERT:
        reply = lambda: render_alert(card, old_status=old, new_status=new, tr=tr, direct=direct)  # noqa: E731
    else:
        reply = lambda: render_followup(card, old_status=old, new_status=new, since=since, tr=tr)  # noqa: E731
    root = _root(facts, current=new, direct=direct)
    move = ThreadMove(
        change_id=facts.snapshot.change_id,
        new_status=change.new_status,
        thread_id=thread.id if thread is not None else None,
        starts_thread=row.kind == DeliveryKind.ALERT and thread is None,
        updates_root=root is not None,
    )
    broadcast = row.kind == DeliveryKind.ALERT and thread is not None
    return Plan(post=route.post(reply, broadcast=broadcast), thread=move, root=root)


def _nudge(row: Delivery, route: Route, facts: Facts, *, direct: bool) -> Plan:
    """A stuck step's alert or a reminder, or nothing when the offer moved on since."""
    card, thread, tr, now = facts.snapshot.card, route.thread, facts.tr, facts.now
    if row.kind == DeliveryKind.STUCK:
        step = next((s for s in card.steps if s.position == row.step_position), None)
        if step is None or step.status not in RUNNING_STEPS:
            return Plan()  # the step moved on since: nothing to say
        return Plan(post=route.post(lambda: render_stuck(card, step, now=now, tr=tr, direct=direct)))
    if thread is None or thread.status not in REMINDABLE:
        return Plan()  # it moved on: nothing to remind of
    if card.publish is not None and card.publish.state in ACTIVE_PUBLISH:
        return Plan()  # someone asked for it to go live: no reminder while it goes
    status, since = thread.status, facts.snapshot.change.changed_at
    return Plan(
        post=route.post(lambda: render_reminder(card, status=status, since=since, tr=tr, direct=direct))
    )


def _root(facts: Facts, *, current: str, direct: bool) -> Callable[[], Reply] | None:
    """The thread's first alert as it should now read (the current status, who is on it), drawn
    later."""
    first, card, tr, handling = facts.first, facts.snapshot.card, facts.tr, facts.handling
    if first is None or facts.thread is None:
        return None
    old, new = first.old_status, first.new_status
    return lambda: render_alert(
        card,
        old_status=old,
        new_status=new,
        current_status=current,
        tr=tr,
        handling=handling,
        direct=direct,
    )


def _notice(row: Delivery, facts: Facts) -> Plan:
    """The DM to the creator of a subscription that Slack made impossible to deliver."""
    sub, tr = facts.subscription, facts.tr
    if sub is None:
        return Plan()
    target = Target(kind=sub.target_kind, offer_pk=sub.offer_pk, publisher_id=sub.publisher_id)
    seen, reason = about(target, facts.snapshot.offer), sub.disabled_reason or "error"
    return Plan(
        post=Post(
            lambda: render_disabled_notice(sub, about=seen, reason=reason, tr=tr),
            channel=None,
            dm_user=row.destination,
        )
    )


class Planner:
    """Reads the facts of each delivery for one pass, keeping what several deliveries share: a
    change's offer and card (one read for all of its destinations) and each destination's threading
    and language; :func:`decide` then plans from them."""

    def __init__(self, *, clock: Clock, config: WatcherConfig) -> None:
        self.clock, self.config = clock, config
        self._snapshots: dict[int, Snapshot | None] = {}
        self._destinations: dict[tuple[str, str, str], tuple[bool, Translator]] = {}

    def plan(self, session: Session, row: Delivery) -> Plan:
        """What ``row`` does now: its facts read in the caller's transaction, then decided."""
        facts = self.read(session, row)
        return Plan() if facts is None else decide(row, facts)

    def read(self, session: Session, row: Delivery) -> Facts | None:
        """The facts of ``row`` (None: its change or offer is gone), every read here."""
        snapshot = self._snapshot(session, row)
        if snapshot is None:
            return None
        threading, tr = self._destination(session, row)
        now = self.clock()
        if row.kind == DeliveryKind.NOTICE:
            sub = session.get(Subscription, row.subscription_id) if row.subscription_id else None
            return Facts(snapshot, threading, tr, now, subscription=sub)
        if row.kind == DeliveryKind.TEST:
            return Facts(snapshot, threading, tr, now)
        thread = threads.open_thread(
            session, offer_pk=row.offer_pk, destination_kind=row.destination_kind, destination=row.destination
        )
        first = session.get(StatusChange, thread.first_change_id) if thread is not None else None
        handling = handling_of(session, thread=thread).shown(now) if thread is not None and first else None
        return Facts(snapshot, threading, tr, now, thread=thread, first=first, handling=handling)

    def _snapshot(self, session: Session, row: Delivery) -> Snapshot | None:
        """The change, its offer and the offer's card, read once per pass for all the destinations of
        a change (a change to a hundred channels reads them once, not a hundred times)."""
        if row.change_id not in self._snapshots:
            if len(self._snapshots) >= SNAPSHOTS:
                self._snapshots.clear()
            offer = session.get(Offer, row.offer_pk)
            change = session.get(StatusChange, row.change_id)
            self._snapshots[row.change_id] = (
                Snapshot(offer, change, change.id, self._card(session, offer))
                if offer is not None and change is not None and change.id is not None
                else None
            )
        return self._snapshots[row.change_id]

    def _card(self, session: Session, offer: Offer) -> OfferCard:
        return replace(load_card(session, offer=offer), go_live=self.config.go_live)

    def _destination(self, session: Session, row: Delivery) -> tuple[bool, Translator]:
        """A destination's threading and language, read once per pass: the channel's settings, or
        the user's Slack locale (asked of Slack before the pass claimed the row, see
        :func:`refresh_languages`)."""
        key = (row.team_id, row.destination_kind, row.destination)
        if key not in self._destinations:
            if row.destination_kind == DestinationKind.CHANNEL:
                language = channel_language(
                    session, team_id=row.team_id, channel=row.destination, default=self.config.language
                )
                threading = threading_for(session, team_id=row.team_id, channel=row.destination)
            else:
                now = self.clock()
                language = user_language(session, team_id=row.team_id, user_id=row.destination, now=now)
                threading = True
            self._destinations[key] = (threading, translator(language))
        return self._destinations[key]

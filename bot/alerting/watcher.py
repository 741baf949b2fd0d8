"""The alert watcher: one pass turns new status changes into deliveries and sends what is due.

Every function takes a session factory, a Slack ``WebClient`` and a clock, so tests call them
directly and never wait for the scheduler (``bot/jobs/scheduling.py`` runs :func:`run_pass`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.clock import Clock, Sleep
from bot.i18n import DEFAULT, Language, Translator, translator
from bot.metrics import DELIVERIES, SLACK_ERRORS
from bot.render.alerts import (
    render_alert,
    render_disabled_notice,
    render_followup,
    render_reminder,
    render_stuck,
)
from bot.render.offers import Reply
from bot.slack.clients import Clients, OneWorkspace
from bot.slack.errors import NETWORK_ERRORS, SlackFailure, classify
from bot.slack.people import People, channel_language, user_language
from bot.slack.posted import check_history, may_have_reached_slack, metadata_for, posting_client
from bot.usecases.subscriptions import about
from storage import db
from storage.alerts import fanout, outbox, reminders, threads
from storage.alerts.policy import ALERT_EVENTS, CLOSING, REMINDABLE
from storage.alerts.subscriptions import Target, disable_subscription
from storage.alerts.work import handling_of, next_reminder
from storage.channels import threading_for
from storage.errors import TransientError
from storage.imports.importer import RUNNING_STEPS
from storage.models import AlertThread, Delivery, Offer, StatusChange, Subscription
from storage.people import cached_users, needs_lookup, owner_emails, record_lookup
from storage.reads.offers import OfferCard, load_card
from storage.statuses import OfferStatus

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class WatcherConfig:
    remind_after: timedelta = timedelta(hours=24)
    lease: timedelta = timedelta(seconds=30)
    """How long claimed rows stay a process's own without news from it: it renews the lease every
    third of it while it sends, so a process killed mid-batch holds its rows at most this long."""
    batch: int = 50
    channel_interval: float = 1.0
    """Seconds between two messages to the same channel (Slack allows about one a second)."""
    language: Language = DEFAULT
    """The language of channel messages where the channel chose none (``OFFERBOT_LANGUAGE``)."""


@dataclass
class PassReport:
    changes: int = 0
    reminders: int = 0
    stuck: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    stopped: str | None = None
    errors: list[str] = field(default_factory=list)

    def fields(self) -> dict[str, object]:
        """The counts, as structured log fields."""
        return {
            "changes": self.changes,
            "reminders": self.reminders,
            "stuck": self.stuck,
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "stopped": self.stopped,
        }

    def line(self) -> str:
        text = (
            f"{self.changes} change(s) handled, {self.reminders} reminder(s) due, "
            f"{self.sent} message(s) sent, {self.retried} to retry, {self.failed} failed"
        )
        text += f", {self.stuck} stuck step(s)" if self.stuck else ""
        return text + (f" (stopped: {self.stopped})" if self.stopped else "")


class Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"


UNINSTALLED_RETRY = 3600.0
"""Seconds before a delivery to a workspace without an installation is looked at again."""


class Transient(TransientError):
    """Slack or the network failed in a way that may pass: keep the row and try later
    (after ``retry_after`` seconds when Slack said so)."""


class Unknown(Transient):
    """The post may have reached Slack, but its answer was lost: the next attempt looks for it first."""


class Pacer:
    """At most one message per ``interval`` seconds to each channel, waiting with the given sleep.

    The pace lives in the store (``channel_pace``): every process on it takes its slots from the
    same row, so together they keep the pace."""

    def __init__(self, *, clock: Clock, sleep: Sleep, interval: float, factory: db.SessionFactory) -> None:
        self.clock, self.sleep, self.interval, self.factory = clock, sleep, interval, factory

    def wait(self, channel: str) -> None:
        with db.transaction(self.factory) as session:
            slot = outbox.reserve_slot(session, channel=channel, now=self.clock(), interval=self.interval)
        delay = (slot - self.clock()).total_seconds()
        if delay > 0:
            self.sleep(delay)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --- owner e-mails ---------------------------------------------------------------------------


def owner_ref(email: str) -> str:
    """How logs name an owner: a short hash of the address, never the address itself."""
    return "owner#" + hashlib.sha256(email.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class _Wanted:
    offer_id: str
    was_missing: bool


def resolve_owner_emails(*, session_factory: db.SessionFactory, clients: Clients, clock: Clock) -> int:
    """Look up (and cache) the Slack users of the owners of offers whose pending changes alert.
    Raises :class:`Transient` when Slack cannot answer now, so the changes wait for the owners."""
    now = clock()
    wanted: dict[tuple[str, str], _Wanted] = {}
    with session_factory() as session:
        for change in fanout.unhandled_changes(session):
            if OfferStatus(change.new_status) not in ALERT_EVENTS:
                continue
            offer = session.get(Offer, change.offer_pk)
            if offer is None:
                continue
            cache = cached_users(session, team_id=offer.team_id, emails=owner_emails(offer))
            for email in owner_emails(offer):
                entry = cache.get(email)
                if needs_lookup(entry, now):
                    missing = entry is not None and entry.user_id is None
                    wanted[(offer.team_id, email)] = _Wanted(offer.offer_id, missing)
    for (team, email), why in wanted.items():
        client = clients.for_team(team)
        if client is None:
            continue  # the workspace uninstalled the app: its changes wait for a reinstall
        try:
            user: str | None = str(client.users_lookupByEmail(email=email)["user"]["id"])
        except SlackApiError as exc:
            failure = classify(exc)
            error = failure.code
            if failure.transient:
                raise Transient(f"users.lookupByEmail: {error}") from exc
            user = None
            if not why.was_missing:  # logged when first missed
                _log_lookup_failure(why.offer_id, email, error)
        except NETWORK_ERRORS as exc:
            raise Transient(f"users.lookupByEmail: {classify(exc).code}") from exc
        with db.transaction(session_factory) as session:
            record_lookup(session, team_id=team, email=email, user_id=user, now=now)
    return len(wanted)


def _log_lookup_failure(offer_id: str, email: str, error: str) -> None:
    if error == "users_not_found":
        log.warning("offer %s: no Slack user has the address of %s: skipping it", offer_id, owner_ref(email))
    else:
        log.error(
            "offer %s: users.lookupByEmail failed for %s (%s): skipping it for a day",
            offer_id,
            owner_ref(email),
            error,
        )


# --- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Post:
    """Where and what to post: ``render`` draws the message from data already read, called after
    the transaction that read it (never while it holds the store's write lock)."""

    render: Callable[[], Reply]
    channel: str | None  # None: open the DM with ``dm_user`` first
    dm_user: str | None = None
    thread_ts: str | None = None
    broadcast: bool = False


@dataclass(frozen=True)
class _ThreadUpdate:
    """How the post moves the alert thread of its offer and destination."""

    change_id: int
    new_status: str
    thread_id: int | None  # the open thread this continues
    starts_thread: bool
    root: Callable[[], Reply] | None  # draws the first alert with the current status (chat.update)


@dataclass(frozen=True)
class _Plan:
    """What one delivery does, decided from a read-only snapshot before any Web API call; no post
    means there is nothing to send any more (the offer moved on), and the row is done."""

    post: _Post | None = None
    thread: _ThreadUpdate | None = None


@dataclass(frozen=True)
class _Route:
    """Where a delivery goes: the open alert thread of its offer and destination, if any; the channel
    (None: the DM with ``dm_user`` is opened first); the thread to reply in, when threading is on."""

    thread: AlertThread | None
    channel: str | None
    dm_user: str | None
    thread_ts: str | None

    def post(self, render: Callable[[], Reply], *, broadcast: bool = False) -> _Post:
        return _Post(
            render, channel=self.channel, dm_user=self.dm_user, thread_ts=self.thread_ts, broadcast=broadcast
        )


def _route(session: Session, *, row: Delivery, threading: bool) -> _Route:
    """``threading``: the destination's setting (a DM always threads)."""
    channel = row.destination if row.destination_kind == "channel" else None
    thread = threads.open_thread(
        session, offer_pk=row.offer_pk, destination_kind=row.destination_kind, destination=row.destination
    )
    threading = channel is None or threading
    where = thread.channel if thread is not None else channel
    thread_ts = thread.ts if thread is not None and threading else None
    return _Route(
        thread=thread, channel=where, dm_user=None if where else row.destination, thread_ts=thread_ts
    )


SNAPSHOTS = 256
"""Changes whose card a deliverer keeps while it works (it lives for one pass)."""


@dataclass(frozen=True)
class _Snapshot:
    offer: Offer
    change: StatusChange
    change_id: int
    card: OfferCard


class Deliverer:
    """Sends claimed rows one by one. Database work happens in short transactions around, never
    during, the Web API calls."""

    def __init__(
        self,
        *,
        session_factory: db.SessionFactory,
        clients: Clients,
        clock: Clock,
        sleep: Sleep,
        config: WatcherConfig,
        worker: str,
        pacer: Pacer | None = None,
    ) -> None:
        self.factory, self.clients, self.clock = session_factory, clients, clock
        self.config, self.worker = config, worker
        self.pacer = pacer or Pacer(
            clock=clock, sleep=sleep, interval=config.channel_interval, factory=session_factory
        )
        self._posting: dict[str | None, WebClient] = {}
        self._snapshots: dict[int, _Snapshot | None] = {}
        self._destinations: dict[tuple[str, str, str], tuple[bool, Translator]] = {}

    def _poster(self, client: WebClient) -> WebClient:
        if client.token not in self._posting:
            self._posting[client.token] = posting_client(client)
        return self._posting[client.token]

    # --- Web API calls; each raises Transient, or SlackApiError for a permanent error ---------
    @staticmethod
    def _call(method: str, call: Callable[[], T], *, posting: bool = False) -> T:
        try:
            return call()
        except SlackApiError as exc:
            failure = classify(exc)
            SLACK_ERRORS.labels(method=method, code=failure.code).inc()
            if failure.transient:
                raise Transient(f"{method}: {failure.code}", retry_after=failure.retry_after) from exc
            raise
        except NETWORK_ERRORS as exc:
            SLACK_ERRORS.labels(method=method, code=classify(exc).code).inc()
            kind = Unknown if posting and may_have_reached_slack(exc) else Transient
            raise kind(f"{method}: {classify(exc).code}") from exc

    def _post(
        self, post: _Post, reply: Reply, client: WebClient, *, key: int, earlier: datetime | None
    ) -> tuple[str, str]:
        """Post ``post`` with its key as metadata; when an earlier attempt's outcome is unknown, first
        look for it in the channel (or thread), and take the message found instead of posting again."""
        client = self._poster(client)  # no retry of its own: the outbox retries (Retry-After, backoff)
        channel = post.channel
        if channel is None:
            opened = self._call("conversations.open", lambda: client.conversations_open(users=post.dm_user))
            channel = str(opened["channel"]["id"])
        target = channel
        if earlier is not None:
            since, thread = earlier, post.thread_ts
            found = self._call(
                "conversations.history",
                lambda: check_history(client, channel=target, thread_ts=thread, delivery_id=key, since=since),
            )
            if found is not None:
                log.info("delivery %s: the earlier attempt had posted it (%s); not posting again", key, found)
                return channel, found
        self.pacer.wait(channel)
        posted = self._call(
            "chat.postMessage",
            lambda: client.chat_postMessage(
                channel=target,
                text=reply.text,
                blocks=reply.blocks,
                unfurl_links=False,
                unfurl_media=False,
                thread_ts=post.thread_ts,
                reply_broadcast=post.broadcast if post.thread_ts else None,
                metadata=metadata_for(key),
            ),
            posting=True,
        )
        return channel, str(posted["ts"])

    # --- one delivery -------------------------------------------------------------------------
    def deliver(self, delivery_id: int) -> Outcome:
        """Send one claimed row; one log line per attempt, with the row's key and the outcome."""
        started = time.perf_counter()
        outcome = self._deliver(delivery_id)
        log.info(
            "delivery %s: %s",
            delivery_id,
            outcome.value,
            extra={
                "delivery": delivery_id,
                "outcome": outcome.value,
                "worker": self.worker,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return outcome

    def _deliver(self, delivery_id: int) -> Outcome:
        with db.transaction(self.factory) as session:
            row = session.get(Delivery, delivery_id)
            now = self.clock()
            if row is None or not outbox.still_mine(row, worker=self.worker, now=now):
                return Outcome.SKIPPED  # another process took it over after our lease ran out
            row.lease_until = now + self.config.lease  # a fresh lease for this send
            plan = self._plan(session, row)
            client = self.clients.for_team(row.team_id)
            if client is None:  # the workspace uninstalled the app: kept for a reinstall
                outbox.retry_later(row, now=now, error="no installation", delay=UNINSTALLED_RETRY)
                return Outcome.SKIPPED
            earlier = outbox.mark_sending(row, now=now) if plan.post is not None else row.sending_at
        if plan.post is None:
            self._finish(delivery_id, plan, channel=None, ts=None)
            return Outcome.SKIPPED
        reply = plan.post.render()  # outside the transaction: a slow render holds no lock
        try:
            channel, ts = self._post(plan.post, reply, client, key=delivery_id, earlier=earlier)
        except Transient as exc:
            return self._retry(delivery_id, exc, unknown=isinstance(exc, Unknown) or earlier is not None)
        except SlackApiError as exc:
            return self._fail(delivery_id, classify(exc))
        thread = self._finish(delivery_id, plan, channel=channel, ts=ts)
        root = plan.thread.root if plan.thread is not None else None
        if root is not None and thread is not None:
            self._update_root(thread, root(), client)
        return Outcome.SENT

    def _retry(self, delivery_id: int, exc: Transient, *, unknown: bool) -> Outcome:
        """Keep the row for later; ``unknown``: it may have been posted, so look for it first then."""
        log.warning("delivery %s: %s; will retry%s", delivery_id, exc, " (looking first)" if unknown else "")
        with db.transaction(self.factory) as session:
            row = session.get(Delivery, delivery_id)
            if row is not None:
                delay = exc.retry_after
                outbox.retry_later(row, now=self.clock(), error=str(exc), delay=delay, maybe_sent=unknown)
        return Outcome.RETRY

    def _fail(self, delivery_id: int, failure: SlackFailure) -> Outcome:
        with db.transaction(self.factory) as session:
            row = session.get(Delivery, delivery_id)
            if row is not None:
                outbox.mark_failed(row, error=failure.code)
                self._on_permanent(session, row, failure)
        return Outcome.FAILED

    def _update_root(self, thread: tuple[str, str], root: Reply, client: WebClient) -> None:
        """Show the current status on the thread's first alert: best effort, logged when it fails."""
        channel, ts = thread
        poster = self._poster(client)
        try:
            self._call(
                "chat.update",
                lambda: poster.chat_update(channel=channel, ts=ts, text=root.text, blocks=root.blocks),
            )
        except (Transient, SlackApiError) as exc:
            log.warning("could not update the alert %s in %s: %s", ts, channel, exc)

    def _snapshot(self, session: Session, row: Delivery) -> _Snapshot | None:
        """The change, its offer and the offer's card, read once per pass for all the destinations of
        a change (a change to a hundred channels reads them once, not a hundred times)."""
        if row.change_id not in self._snapshots:
            if len(self._snapshots) >= SNAPSHOTS:
                self._snapshots.clear()
            offer = session.get(Offer, row.offer_pk)
            change = session.get(StatusChange, row.change_id)
            self._snapshots[row.change_id] = (
                _Snapshot(offer, change, change.id, load_card(session, offer=offer))
                if offer is not None and change is not None and change.id is not None
                else None
            )
        return self._snapshots[row.change_id]

    def _plan(self, session: Session, row: Delivery) -> _Plan:
        snapshot = self._snapshot(session, row)
        if snapshot is None:
            return _Plan()
        offer, change, card = snapshot.offer, snapshot.change, snapshot.card
        tr = self._reader(session, row)
        if row.kind == "notice":
            return self._notice(session, row, offer, tr)
        route = _route(session, row=row, threading=self._destination(session, row)[0])
        thread = route.thread
        direct = row.destination_kind == "user"
        if row.kind in ("stuck", "reminder"):
            return self._nudge(row, route, snapshot, tr, direct=direct)
        old, new = change.old_status, change.new_status
        since = change.changed_at
        if row.kind == "alert":
            reply = lambda: render_alert(card, old_status=old, new_status=new, tr=tr, direct=direct)  # noqa: E731
        else:
            reply = lambda: render_followup(card, old_status=old, new_status=new, since=since, tr=tr)  # noqa: E731
        root = self._root(session, thread, card, current=new, tr=tr, direct=direct)
        update = _ThreadUpdate(
            change_id=snapshot.change_id,
            new_status=change.new_status,
            thread_id=thread.id if thread is not None else None,
            starts_thread=row.kind == "alert" and thread is None,
            root=root,
        )
        return _Plan(
            post=route.post(reply, broadcast=row.kind == "alert" and thread is not None), thread=update
        )

    def _nudge(
        self, row: Delivery, route: _Route, snapshot: _Snapshot, tr: Translator, *, direct: bool
    ) -> _Plan:
        """A stuck step's alert or a reminder, or nothing when the offer moved on since."""
        card, thread = snapshot.card, route.thread
        if row.kind == "stuck":
            step = next((s for s in card.steps if s.position == row.step_position), None)
            if step is None or step.status not in RUNNING_STEPS:
                return _Plan()  # the step moved on since: nothing to say
            now = self.clock()
            return _Plan(post=route.post(lambda: render_stuck(card, step, now=now, tr=tr, direct=direct)))
        if thread is None or thread.status not in REMINDABLE:
            return _Plan()  # it moved on: nothing to remind of
        status, since = thread.status, snapshot.change.changed_at
        return _Plan(
            post=route.post(lambda: render_reminder(card, status=status, since=since, tr=tr, direct=direct))
        )

    def _root(
        self,
        session: Session,
        thread: AlertThread | None,
        card: OfferCard,
        *,
        current: str,
        tr: Translator,
        direct: bool,
    ) -> Callable[[], Reply] | None:
        """The thread's first alert as it should now read (the current status, who is on it), read
        here and drawn later."""
        first = session.get(StatusChange, thread.first_change_id) if thread is not None else None
        if first is None or thread is None:
            return None
        handling = handling_of(session, thread=thread).shown(self.clock())
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

    def _reader(self, session: Session, row: Delivery) -> Translator:
        return self._destination(session, row)[1]

    def _destination(self, session: Session, row: Delivery) -> tuple[bool, Translator]:
        """A destination's threading and language, read once per pass: the channel's settings, or
        the user's Slack locale (asked of Slack before the pass claimed the row, see
        :func:`refresh_languages`)."""
        key = (row.team_id, row.destination_kind, row.destination)
        if key not in self._destinations:
            if row.destination_kind == "channel":
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

    @staticmethod
    def _notice(session: Session, row: Delivery, offer: Offer, tr: Translator) -> _Plan:
        """The DM to the creator of a subscription that Slack made impossible to deliver."""
        sub = session.get(Subscription, row.subscription_id) if row.subscription_id else None
        if sub is None:
            return _Plan()
        target = Target(kind=sub.target_kind, offer_pk=sub.offer_pk, publisher_id=sub.publisher_id)
        seen, reason = about(target, offer), sub.disabled_reason or "error"
        return _Plan(
            post=_Post(
                lambda: render_disabled_notice(sub, about=seen, reason=reason, tr=tr),
                channel=None,
                dm_user=row.destination,
            )
        )

    def _finish(
        self, delivery_id: int, plan: _Plan, *, channel: str | None, ts: str | None
    ) -> tuple[str, str] | None:
        """Record the post (and the thread it starts or continues) in one transaction.
        Returns the thread's root (channel, ts) when the root message should be updated."""
        now = self.clock()
        with db.transaction(self.factory) as session:
            row = session.get(Delivery, delivery_id)
            if row is None:
                return None
            outbox.mark_sent(row, now=now, channel=channel, ts=ts)
            update = plan.thread
            if update is None or channel is None or ts is None:
                return None
            thread = session.get(AlertThread, update.thread_id) if update.thread_id else None
            if thread is None and not update.starts_thread:
                return None  # a follow-up whose thread has closed starts no thread
            if thread is None:
                thread = AlertThread(
                    team_id=row.team_id,
                    offer_pk=row.offer_pk,
                    destination_kind=row.destination_kind,
                    destination=row.destination,
                    channel=channel,
                    ts=ts,
                    first_change_id=update.change_id,
                    last_change_id=update.change_id,
                    status=update.new_status,
                )
            if thread.status != update.new_status or thread.next_reminder_at is None:
                remindable = update.new_status in REMINDABLE
                at = now + self.config.remind_after
                thread.next_reminder_at = next_reminder(session, thread=thread, remindable=remindable, at=at)
            thread.last_change_id = update.change_id
            thread.status = update.new_status
            thread.closed = update.new_status in CLOSING
            session.add(thread)
            return (thread.channel, thread.ts) if update.root is not None else None

    def _on_permanent(self, session: Session, row: Delivery, failure: SlackFailure) -> None:
        error = failure.code
        log.error(
            "delivery %s to %s %s failed for good: %s", row.id, row.destination_kind, row.destination, error
        )
        sub_id = row.subscription_id
        if not failure.disables or sub_id is None or row.kind == "notice":
            return
        sub = disable_subscription(session, subscription_id=sub_id, reason=error, now=self.clock())
        if sub is None:
            return
        log.warning("subscription %s of %s disabled: %s", sub.id, sub.destination, error)
        outbox.add_notice(session, row=row, creator=sub.created_by, subscription_id=sub_id, now=self.clock())


def refresh_languages(languages: People, *, ids: list[int]) -> None:
    """Ask Slack the locale of each user a claimed delivery goes to, where the cached one is missing
    or a day old; a failure leaves English, never an error."""
    with languages.factory() as session:
        users = {(r.team_id, r.destination) for r in outbox.user_destinations(session, ids=ids)}
    for team, user in sorted(users):
        languages.of_user(team_id=team, user_id=user)


FAN_OUT_BATCH = 200
"""Changes fanned out per transaction; a pass goes on until none is left (a first import of many
offers is handled in one pass, in short transactions, not 200 per interval)."""


def _prepare(
    *,
    session_factory: db.SessionFactory,
    clients: Clients,
    clock: Clock,
    report: PassReport,
    stop: threading.Event,
) -> None:
    """Owners' e-mails, then the fan-out of every new change (which waits while Slack cannot answer
    the look-ups), a batch at a time."""
    try:
        resolve_owner_emails(session_factory=session_factory, clients=clients, clock=clock)
    except Transient as exc:
        report.stopped = str(exc)
        log.warning("watcher: Slack is not answering (%s); changes wait for the next pass", exc)
        return
    while not stop.is_set():
        with db.transaction(session_factory) as session:
            quiet = fanout.handle_quiet(session, now=clock())
        report.changes += quiet
        with db.transaction(session_factory) as session:
            handled = fanout.fan_out(session, now=clock(), limit=FAN_OUT_BATCH)
        report.changes += handled
        if handled < FAN_OUT_BATCH and quiet == 0:
            return


def _send(deliverer: Deliverer, *, ids: list[int], report: PassReport, stop: threading.Event) -> None:
    """Send the claimed rows in order, renewing the lease on those still to send every third of it.
    After the first row that must wait, on shutdown (``stop``) or on an error, the rows not started
    are released at once, so another pass or process takes them without waiting for the lease."""
    lease = deliverer.config.lease
    renewed = deliverer.clock()
    position = 0  # ids[position:] are not started
    try:
        for index, delivery_id in enumerate(ids):
            if stop.is_set():
                report.stopped = "shutting down: the rest is released"
                return
            if deliverer.clock() - renewed >= lease / 3:
                renewed = deliverer.clock()
                with db.transaction(deliverer.factory) as session:
                    outbox.renew(session, ids=ids[index:], worker=deliverer.worker, until=renewed + lease)
            position = index + 1
            if _count(report, deliverer.deliver(delivery_id)) is Outcome.RETRY:
                report.stopped = report.stopped or "Slack did not answer: the rest waits for the next pass"
                return
    finally:
        _release(deliverer, ids[position:])


def _count(report: PassReport, outcome: Outcome) -> Outcome:
    DELIVERIES.labels(outcome=outcome.value).inc()
    if outcome is Outcome.SENT:
        report.sent += 1
    elif outcome is Outcome.FAILED:
        report.failed += 1
    elif outcome is Outcome.RETRY:
        report.retried += 1
    return outcome


def _release(deliverer: Deliverer, ids: list[int]) -> None:
    """Give back rows not started; when the store cannot be told, their lease runs out instead."""
    if not ids:
        return
    try:
        with db.transaction(deliverer.factory) as session:
            outbox.release(session, ids=ids, worker=deliverer.worker)
    except SQLAlchemyError as exc:
        log.warning("could not release %d claimed alert(s) (%s): they wait for their lease", len(ids), exc)


def _drain(deliverer: Deliverer, *, report: PassReport, stop: threading.Event) -> None:
    """Claim and send, a lease's worth at a time, until nothing is due or the pass must stop."""
    config, factory, clock = deliverer.config, deliverer.factory, deliverer.clock
    languages = People(
        session_factory=factory, clients=deliverer.clients, clock=clock, default=config.language
    )
    limit = claim_limit(config)
    while not stop.is_set() and report.stopped is None:
        with db.transaction(factory) as session:
            ids = outbox.claim(session, now=clock(), worker=deliverer.worker, lease=config.lease, limit=limit)
        if not ids:
            return
        refresh_languages(languages, ids=ids)
        _send(deliverer, ids=ids, report=report, stop=stop)


def claim_limit(config: WatcherConfig) -> int:
    """How many rows a pass claims: no more than it can send within one lease at one channel's pace
    (the lease is renewed while it works, but a batch never relies on that alone)."""
    by_pace = int(config.lease.total_seconds() / max(config.channel_interval, 0.001))
    return max(1, min(config.batch, by_pace))


def _queue(
    *,
    session_factory: db.SessionFactory,
    clients: Clients,
    clock: Clock,
    config: WatcherConfig,
    report: PassReport,
    stop: threading.Event,
) -> bool:
    """Turn new changes and due reminders into deliveries, skipping the stages with nothing to do;
    whether anything may be due for sending."""
    with session_factory() as session:
        due = outbox.due(session, now=clock())
    if due.changes:
        _prepare(session_factory=session_factory, clients=clients, clock=clock, report=report, stop=stop)
    if due.reminders:
        with db.transaction(session_factory) as session:
            report.reminders = reminders.schedule_reminders(
                session, now=clock(), remind_after=config.remind_after
            )
    if due.stuck:
        with db.transaction(session_factory) as session:
            report.stuck = reminders.schedule_stuck(session, now=clock())
    return due.deliveries or bool(report.changes or report.reminders or report.stuck)


def run_pass(
    *,
    session_factory: db.SessionFactory,
    client: WebClient | None = None,
    clients: Clients | None = None,
    clock: Clock,
    sleep: Sleep = time.sleep,
    config: WatcherConfig | None = None,
    worker: str | None = None,
    pacer: Pacer | None = None,
    stop: threading.Event | None = None,
) -> PassReport:
    """One watcher pass: owners' e-mails, fan-out of new changes, due reminders, then sending until
    nothing is due (claiming a lease's worth at a time), or Slack asks to wait, or ``stop`` is set
    (then it releases what it holds)."""
    config = config or WatcherConfig()
    worker = worker or new_worker_id()
    report = PassReport()
    if clients is None:
        assert client is not None, "run_pass needs a client or per-workspace clients"
        clients = OneWorkspace(client)
    stop = stop or threading.Event()
    queued = _queue(
        session_factory=session_factory, clients=clients, clock=clock, config=config, report=report, stop=stop
    )
    if not queued:
        return report  # nothing to do: three index reads, no write lock taken
    deliverer = Deliverer(
        session_factory=session_factory,
        clients=clients,
        clock=clock,
        sleep=sleep,
        config=config,
        worker=worker,
        pacer=pacer,
    )
    _drain(deliverer, report=report, stop=stop)
    if report.changes or report.sent or report.retried or report.failed:
        log.info("watcher pass: %s", report.line(), extra=report.fields())
    return report

"""The alert watcher: one pass turns new status changes into deliveries and sends what is due.

Every function takes a session factory, a Slack ``WebClient`` and a clock, so tests call them
directly and never wait for the scheduler (``bot/jobs/scheduling.py`` runs :func:`run_pass`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.alerting.deliver import Deliverer
from bot.alerting.outcomes import Outcome, PassReport, SlackTransient, WatcherConfig
from bot.alerting.owners import resolve_owner_emails, resolve_owner_groups
from bot.alerting.pacer import Pacer
from bot.clock import Clock, Sleep
from bot.metrics import DELIVERIES
from bot.slack.clients import Clients, OneWorkspace
from bot.slack.people import People
from storage import db
from storage.alerts import fanout, outbox, reminders

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --- owner e-mails ---------------------------------------------------------------------------


# --- sending ---------------------------------------------------------------------------------


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
        groups = resolve_owner_groups(session_factory=session_factory, clients=clients)
    except SlackTransient as exc:
        report.stopped = str(exc)
        log.warning("watcher: Slack is not answering (%s); changes wait for the next pass", exc)
        return
    while not stop.is_set():
        with db.transaction(session_factory) as session:
            quiet = fanout.handle_quiet(session, now=clock())
        report.changes += quiet
        with db.transaction(session_factory) as session:
            handled = fanout.fan_out(session, now=clock(), limit=FAN_OUT_BATCH, groups=groups)
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


def _drain(deliverer: Deliverer, *, report: PassReport, stop: threading.Event, people: People | None) -> None:
    """Claim and send, a lease's worth at a time, until nothing is due or the pass must stop."""
    config, factory, clock = deliverer.config, deliverer.factory, deliverer.clock
    languages = people or People(
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
    people: People | None = None,
) -> PassReport:
    """One watcher pass: owners' e-mails, fan-out of new changes, due reminders, then sending until
    nothing is due (claiming a lease's worth at a time), or Slack asks to wait, or ``stop`` is set
    (then it releases what it holds). ``people``: the process's one (a pass without makes its own)."""
    config = config or WatcherConfig()
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
        worker=worker or new_worker_id(),
        pacer=pacer,
    )
    _drain(deliverer, report=report, stop=stop, people=people)
    if report.changes or report.sent or report.retried or report.failed:
        log.info("watcher pass: %s", report.line(), extra=report.fields())
    return report

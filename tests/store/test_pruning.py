"""Pruning what is older than OFFERBOT_KEEP_DAYS, on a real store (SQLite and, where
TEST_DATABASE_URL is set, PostgreSQL): alerts really sent by the watcher into the fake Slack, then
the clock moved on past the keep period and the housekeeping job's prune run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.jobs.scheduling import HousekeepingJob
from storage import db, pruning
from storage.alerts.reminders import schedule_reminders
from storage.alerts.subscriptions import Target, mute, unsubscribe
from storage.alerts.work import log_action
from storage.models import AlertThread, Delivery, EmailUser, Offer, OfferAction, SlackUser, StatusChange
from storage.reads.home import user_scope
from tests.conftest import TEAM
from tests.support.alerts import CHANNEL, OPS, contoso, doc, load, offer_pk, passes, sub_channel
from tests.support.clock import Clock

KEEP = timedelta(days=400)


def _rows(factory: db.SessionFactory, model: type) -> list[Any]:
    with factory() as s:
        return list(s.exec(select(model)).all())  # type: ignore[call-overload]


@pytest.fixture
def history(factory: db.SessionFactory, watch_client: Any, alert_clock: Clock) -> int:
    """contoso failed (alerted in CHANNEL and by DM to its owner), was taken, then went live (both
    threads closed)."""
    load(factory, doc(), alert_clock)
    passes(factory, watch_client, alert_clock)
    pk = offer_pk(factory, "contoso-analytics-vm")
    sub_channel(factory, Target(kind="all"), alert_clock)
    alert_clock.advance(minutes=5)
    load(factory, doc(contoso("failed")), alert_clock)
    passes(factory, watch_client, alert_clock)
    with db.transaction(factory) as s:
        log_action(
            s,
            team_id=TEAM,
            offer_pk=pk,
            user_id="U0USER001",
            action="on_it",
            channel=CHANNEL,
            now=alert_clock(),
        )
    alert_clock.advance(minutes=5)
    load(factory, doc(contoso("succeeded")), alert_clock)
    passes(factory, watch_client, alert_clock)
    return pk


def test_what_is_older_than_the_keep_period_goes_and_what_is_still_needed_stays(
    history: int, factory: db.SessionFactory, alert_clock: Clock
) -> None:
    before = {m: len(_rows(factory, m)) for m in (Delivery, AlertThread, OfferAction, StatusChange)}
    assert before[Delivery] >= 4 and before[OfferAction] == 1 and before[StatusChange] == 8
    with db.transaction(factory) as s:  # the DM's thread as if it were still open (a failed offer)
        dm = s.exec(select(AlertThread).where(AlertThread.destination != CHANNEL)).one()
        dm.closed = False
        s.add(dm)
    job = HousekeepingJob(factory, clock=alert_clock, keep=KEEP)
    alert_clock.advance(days=399)
    early = job.prune(force=True)
    # Only the cached look-ups of a year ago are old enough, not the owner's e-mail that names a user.
    assert early.total == early.cached == 6
    assert [e.user_id for e in _rows(factory, EmailUser)] == ["U0OPS0001"]
    alert_clock.advance(days=2)
    pruned = job.prune(force=True)
    assert pruned.deliveries == before[Delivery] and pruned.actions == 1
    assert _rows(factory, Delivery) == [] and _rows(factory, OfferAction) == []
    threads = _rows(factory, AlertThread)
    assert [t.id for t in threads] == [dm.id]  # the closed one went, the open one stays
    changes = _rows(factory, StatusChange)
    offers = _rows(factory, Offer)
    latest = {o.id: max(c.id for c in changes if c.offer_pk == o.id) for o in offers}
    assert set(latest) == {o.id for o in offers}  # every offer keeps its current change
    named = {t.first_change_id for t in threads} | {t.last_change_id for t in threads}
    assert {c.id for c in changes} == set(latest.values()) | named
    assert pruned.changes == before[StatusChange] - len(changes) > 0
    assert job.prune(force=True).total == 0  # done: a second run finds nothing


def test_a_pending_delivery_keeps_its_change_and_is_never_pruned(
    history: int, factory: db.SessionFactory, alert_clock: Clock
) -> None:
    with db.transaction(factory) as s:
        row = s.exec(select(Delivery).where(Delivery.destination == CHANNEL)).first()
        assert row is not None
        row.state, change_id = "pending", row.change_id  # as a workspace that uninstalled leaves it
        s.add(row)
    alert_clock.advance(days=401)
    HousekeepingJob(factory, clock=alert_clock, keep=KEEP).prune(force=True)
    assert [d.state for d in _rows(factory, Delivery)] == ["pending"]
    assert change_id in {c.id for c in _rows(factory, StatusChange)}


def test_pruning_goes_a_batch_at_a_time(
    history: int, factory: db.SessionFactory, alert_clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pruning, "BATCH", 2)
    alert_clock.advance(days=401)
    with db.transaction(factory) as s:
        first = pruning.prune_once(s, now=alert_clock(), keep=KEEP)
    assert first.deliveries == 2 and first.full()  # one statement deletes one batch, no more
    job = HousekeepingJob(factory, clock=alert_clock, keep=KEEP)
    job.prune(force=True)  # the job goes on, batch after batch, until none is full
    assert _rows(factory, Delivery) == []
    assert job.prune().total == 0 and job.pruned_at == alert_clock()  # hourly, not every minute


def test_cached_look_ups_unused_for_a_month_go_but_an_owners_slack_user_stays(
    factory: db.SessionFactory, alert_clock: Clock
) -> None:
    """An e-mail that names a Slack user is how the Home tab and the digest know whose offers a user
    owns (read with no time to live): pruning it would empty *Your offers* for a quiet offer."""
    now = alert_clock()
    with db.transaction(factory) as s:
        s.add(
            SlackUser(
                team_id=TEAM, user_id="U0OLD0001", locale="fr-FR", looked_up_at=now - timedelta(days=31)
            )
        )
        s.add(
            SlackUser(team_id=TEAM, user_id="U0NEW0001", locale="fr-FR", looked_up_at=now - timedelta(days=2))
        )
        s.add(
            EmailUser(
                team_id=TEAM, email="old@example.com", user_id=None, looked_up_at=now - timedelta(days=40)
            )
        )
        s.add(
            EmailUser(
                team_id=TEAM,
                email="marketplace-ops@contoso.example",
                user_id="U0OPS0001",
                looked_up_at=now - timedelta(days=90),
            )
        )
    HousekeepingJob(factory, clock=alert_clock, keep=KEEP).prune(force=True)
    assert [u.user_id for u in _rows(factory, SlackUser)] == ["U0NEW0001"]
    assert [e.email for e in _rows(factory, EmailUser)] == ["marketplace-ops@contoso.example"]
    load(factory, doc(), alert_clock)
    with factory() as s:
        assert user_scope(s, team_id=TEAM, user_id="U0OPS0001") is not None  # still their offers


def test_a_thread_is_aged_by_when_it_closed_not_by_when_its_change_was_imported(
    history: int, factory: db.SessionFactory, alert_clock: Clock
) -> None:
    with db.transaction(factory) as s:
        threads = s.exec(select(AlertThread)).all()
        assert len(threads) == 2 and all(t.closed and t.closed_at == alert_clock() for t in threads)
        for thread in threads:  # as if the watcher had applied the closing change three days late
            thread.closed_at = alert_clock() + timedelta(days=3)
            s.add(thread)
    job = HousekeepingJob(factory, clock=alert_clock, keep=KEEP)
    alert_clock.advance(days=401)
    job.prune(force=True)
    assert len(_rows(factory, AlertThread)) == 2  # its change is 401 days old, it closed 398 days ago
    alert_clock.advance(days=3)
    job.prune(force=True)
    assert _rows(factory, AlertThread) == []


def test_a_thread_a_mute_closes_long_after_its_alert_is_aged_from_the_mute(
    factory: db.SessionFactory, watch_client: Any, alert_clock: Clock
) -> None:
    """A failed offer nobody handled for 500 days keeps its thread open (reminders); a mute then
    ends the reminders and closes it without a new change: pruning counts from the mute."""
    load(factory, doc(), alert_clock)
    passes(factory, watch_client, alert_clock)
    sub_channel(factory, Target(kind="all"), alert_clock)
    alert_clock.advance(minutes=5)
    load(factory, doc(contoso("failed")), alert_clock)
    passes(factory, watch_client, alert_clock)
    alert_clock.advance(days=500)
    with db.transaction(factory) as s:
        unsubscribe(
            s,
            team_id=TEAM,
            destination_kind="channel",
            destination=CHANNEL,
            target=Target(kind="all"),
            events=(),
        )
        mute(s, team_id=TEAM, user_id=OPS, target=Target(kind="all"), now=alert_clock())
        schedule_reminders(s, now=alert_clock(), remind_after=timedelta(hours=4))
    threads = _rows(factory, AlertThread)
    assert threads and all(t.closed and t.closed_at == alert_clock() for t in threads)
    job = HousekeepingJob(factory, clock=alert_clock, keep=KEEP)
    job.prune(force=True)
    assert len(_rows(factory, AlertThread)) == len(threads)  # closed just now
    alert_clock.advance(days=401)
    job.prune(force=True)
    assert _rows(factory, AlertThread) == []


def test_one_run_reads_each_old_change_once_whatever_it_keeps(
    factory: db.SessionFactory, watch_client: Any, alert_clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every offer keeps its latest change, however old: a run must not read those again in each
    batch (the cursor moves past them), and still delete every change nothing needs."""
    load(factory, doc(), alert_clock)
    for status in ("failed", "succeeded", "failed", "succeeded"):
        alert_clock.advance(minutes=5)
        load(factory, doc(contoso(status)), alert_clock)
    passes(factory, watch_client, alert_clock)  # handled; no subscription, so no delivery or thread
    old = sorted(c.id for c in _rows(factory, StatusChange))
    monkeypatch.setattr(pruning, "BATCH", 2)
    read: list[list[int]] = []
    scan = pruning._old_changes

    def recording(session: Any, **kw: Any) -> list[int]:
        batch = scan(session, **kw)
        read.append(batch)
        return batch

    monkeypatch.setattr(pruning, "_old_changes", recording)
    alert_clock.advance(days=401)
    pruned = HousekeepingJob(factory, clock=alert_clock, keep=KEEP).prune(force=True)
    assert [i for batch in read for i in batch] == old  # each once, in order
    offers = _rows(factory, Offer)
    assert pruned.changes == len(old) - len(offers) == 4
    assert len(_rows(factory, StatusChange)) == len(offers)  # each offer's latest stays


def test_a_delivery_queued_on_an_old_change_while_pruning_runs_is_never_cascaded(
    factory: db.SessionFactory, watch_client: Any, alert_clock: Clock, database_url: str
) -> None:
    """PostgreSQL, two sessions: one queues a delivery on an old change and has not committed yet
    (a test alert or a stuck alert on it); the prune skips that change instead of waiting on it and
    then deleting it with the new delivery by cascade."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: a prune and a queued delivery never overlap")
    load(factory, doc(), alert_clock)
    alert_clock.advance(minutes=5)
    load(factory, doc(contoso("failed")), alert_clock)
    passes(factory, watch_client, alert_clock)
    pk = offer_pk(factory, "contoso-analytics-vm")
    first = min(c.id for c in _rows(factory, StatusChange) if c.offer_pk == pk)
    alert_clock.advance(days=401)
    queuing = factory()
    queuing.add(
        Delivery(
            team_id=TEAM,
            change_id=first,
            offer_pk=pk,
            destination_kind="channel",
            destination=CHANNEL,
            kind="test",
            next_attempt_at=alert_clock(),
            created_at=alert_clock(),
        )
    )
    queuing.flush()  # holds its key-share lock on the change
    try:
        with db.transaction(factory) as s:
            s.execute(sa.text("SET LOCAL lock_timeout = '5s'"))  # a wait would fail, not hang
            pruned = pruning.prune_once(s, now=alert_clock(), keep=KEEP)
        assert pruned.changes == 0
        queuing.commit()
    finally:
        queuing.close()
    assert [d.change_id for d in _rows(factory, Delivery) if d.kind == "test"] == [first]
    HousekeepingJob(factory, clock=alert_clock, keep=KEEP).prune(force=True)
    assert first in {c.id for c in _rows(factory, StatusChange)}  # named by a delivery now: kept


def test_a_run_that_stops_at_its_batch_limit_goes_on_from_there_at_the_next_run(
    factory: db.SessionFactory, watch_client: Any, alert_clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The changes every offer keeps can fill a whole run's batches; the next run must not read them
    again from the oldest, or it never reaches what it can delete."""
    load(factory, doc(), alert_clock)
    for status in ("failed", "succeeded", "failed", "succeeded"):
        alert_clock.advance(minutes=5)
        load(factory, doc(contoso(status)), alert_clock)
    passes(factory, watch_client, alert_clock)
    monkeypatch.setattr(pruning, "BATCH", 2)
    monkeypatch.setattr(HousekeepingJob, "MAX_BATCHES", 2)  # a run reads 4 of the 10 old changes
    alert_clock.advance(days=401)
    job = HousekeepingJob(factory, clock=alert_clock, keep=KEEP)
    runs = [job.prune(force=True).changes for _ in range(4)]
    offers = _rows(factory, Offer)
    assert sum(runs) == 4 and len(_rows(factory, StatusChange)) == len(offers), runs

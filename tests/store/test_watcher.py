"""The alert watcher, called directly with a session factory, the real WebClient pointed at the fake
Slack Web API, and a clock the test moves. Runs on SQLite and, where TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.alerting.deliver import Deliverer
from bot.alerting.outcomes import Outcome, WatcherConfig
from bot.alerting.owners import owner_ref, resolve_owner_emails
from bot.alerting.pacer import Pacer
from bot.alerting.watcher import run_pass
from bot.clock import utc_now
from bot.settings import Settings
from bot.slack.app import make_client
from bot.slack.clients import OneWorkspace
from bot.slack.posted import metadata_for
from storage import db
from storage.alerts import fanout, outbox
from storage.alerts.subscriptions import Target, mute, subscribe, unsubscribe
from storage.channels import set_threading
from storage.models import AlertThread, Delivery, EmailUser, StatusChange, Subscription
from storage.people import record_lookup
from storage.slack_codes import DISABLING_ERRORS
from tests.conftest import NOW, TEAM, samples_text
from tests.support.alerts import (
    CHANNEL,
    CREATOR,
    OPS,
    contoso,
    doc,
    load,
    offer_pk,
    passes,
    posts,
    sub_channel,
)
from tests.support.clock import Clock
from tests.support.fakeslack import FakeSlack


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def client(fake_slack: FakeSlack) -> Any:
    fake_slack.users_by_email["marketplace-ops@contoso.example"] = OPS
    return make_client(Settings(slack_bot_token="xoxb-watch", slack_api_url=fake_slack.url))


@pytest.fixture
def ready(factory: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack) -> db.SessionFactory:
    """Samples imported and their first changes handled; the channel follows contoso-analytics-vm."""
    load(factory, doc(), clock)
    passes(factory, client, clock)
    fake_slack.calls.clear()
    sub_channel(factory, Target(kind="offer", offer_pk=offer_pk(factory, "contoso-analytics-vm")), clock)
    return factory


def test_one_alert_per_change_and_destination(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    clock.advance(hours=1)
    load(ready, doc(contoso("failed")), clock)
    report = passes(ready, client, clock)[0]
    assert (report.changes, report.sent) == (1, 2)
    channel_posts = posts(fake_slack, CHANNEL)
    assert len(channel_posts) == 1
    (opened,) = fake_slack.calls_to("conversations.open")
    assert opened.body["users"] == OPS
    assert len(posts(fake_slack, "D" + OPS)) == 1
    alert = channel_posts[0]
    blob = json.dumps(alert["blocks"])
    assert alert["text"] == "Contoso Analytics VM: Publish failed (was Publish in progress)"
    for part in (
        "Contoso Analytics VM",
        "Virtual machine",
        "contoso",
        "Certification (blocked)",
        "No virtual machine image was found",
        "<https://learn.example/vm|the guide>",
        "Fix the issues listed and publish again",
        "open_offer_status",
        "partner.microsoft.com",
    ):
        assert part in blob, part
    # Later passes, and the same document again, send nothing more.
    passes(ready, client, clock, 2)
    load(ready, doc(contoso("failed")), clock)
    passes(ready, client, clock)
    assert len(posts(fake_slack)) == 2


def test_subscription_events_and_targets(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    sub_channel(
        ready,
        Target(kind="publisher", publisher_id="contoso"),
        clock,
        channel="C0PUBLISH",
        events=("signoff",),
    )
    sub_channel(ready, Target(kind="all"), clock, channel="C0EVERYTH", events=("failed",))
    load(ready, doc(contoso("failed")), clock)
    passes(ready, client, clock)
    assert len(posts(fake_slack, "C0PUBLISH")) == 0  # wants sign-off only
    assert len(posts(fake_slack, "C0EVERYTH")) == 1
    load(ready, doc(contoso("waitingForPublisherReview")), clock)
    passes(ready, client, clock)
    assert len(posts(fake_slack, "C0PUBLISH")) == 1
    assert "Preview the offer and select *Go live*" in json.dumps(posts(fake_slack, "C0PUBLISH")[0]["blocks"])


def test_notify_me_and_mute_me(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    with db.transaction(ready) as s:
        subscribe(
            s,
            team_id=TEAM,
            destination_kind="user",
            destination="U0FAN0001",
            target=Target(kind="all"),
            events=(),
            created_by="U0FAN0001",
            now=clock(),
        )
        mute(
            s, team_id=TEAM, user_id=OPS, target=Target(kind="publisher", publisher_id="contoso"), now=clock()
        )
    load(ready, doc(contoso("failed")), clock)
    passes(ready, client, clock)
    assert [c.body["users"] for c in fake_slack.calls_to("conversations.open")] == ["U0FAN0001"]


def test_owner_lookups_are_cached_and_a_missing_user_logged_once(
    factory: db.SessionFactory,
    client: Any,
    clock: Clock,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        load(factory, doc(), clock)
        passes(factory, client, clock)
        load(factory, doc(lambda d: d["offers"][2]["status"].__setitem__("status", "running")), clock)
        load(factory, doc(), clock)  # woodgrove fails again: its owners are looked up from the cache
        passes(factory, client, clock)
    looked_up = [c.body["email"] for c in fake_slack.calls_to("users.lookupByEmail")]
    assert sorted(looked_up) == sorted(set(looked_up))
    assert "release@woodgrove.example" in looked_up
    # Logged once, by offer and a hash of the address: no e-mail address is ever logged.
    missing = [r for r in caplog.records if owner_ref("release@woodgrove.example") in r.getMessage()]
    assert len(missing) == 1 and "woodgrove-insights-app" in missing[0].getMessage()
    assert not [r for r in caplog.records if "@" in r.getMessage()]


def test_consulting_services(
    factory: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    load(factory, doc(), clock)
    passes(factory, client, clock)
    sub_channel(factory, Target(kind="publisher", publisher_id="fabrikam"), clock)
    fake_slack.calls.clear()

    def fabrikam(status: str, messages: list[Any]) -> Callable[[dict[str, Any]], None]:
        def mutate(d: dict[str, Any]) -> None:
            d["offers"][1]["status"]["status"] = status
            d["offers"][1]["status"]["messages"] = messages

        return mutate

    load(factory, doc(fabrikam("canceled", [])), clock)
    passes(factory, client, clock)
    load(factory, doc(fabrikam("failed", [])), clock)  # failed with no error explaining it: held back
    passes(factory, client, clock, 2)
    assert posts(fake_slack, CHANNEL) == []
    load(factory, doc(fabrikam("running", [])), clock)  # it moved on unexplained: that failure never alerts
    load(factory, doc(), clock)  # failed with the lead management error: alerted, saying it may be normal
    passes(factory, client, clock, 3)
    (alert,) = posts(fake_slack, CHANNEL)
    assert (
        alert["text"]
        == "Fabrikam Cloud Advisory (2-week assessment): Publish failed (was Publish in progress)"
    )
    blob = json.dumps(alert["blocks"])
    assert "can be part of the normal process" in blob
    assert "Fix the lead management settings and publish again" in blob


def test_changes_that_must_wait_do_not_block_the_others(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    """Held changes (consulting failures waiting for an explanation) never fill a pass's window."""
    many = {
        "offers": [
            {
                "publisherId": "quiet",
                "offerId": f"advice-{i}",
                "name": f"Advice {i}",
                "offerType": "consulting-service",
                "status": {"status": "failed", "messages": []},
            }
            for i in range(5)
        ]
    }
    load(ready, json.dumps(many), clock)
    load(ready, doc(contoso("failed")), clock)
    resolve_owner_emails(session_factory=ready, clients=OneWorkspace(client), clock=clock)
    with db.transaction(ready) as s:
        assert fanout.fan_out(s, now=clock(), limit=2) == 1  # pages past the five held failures
    passes(ready, client, clock)
    assert len(posts(fake_slack, CHANNEL)) == 1


def test_each_disabled_subscription_gets_its_own_notice(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    sub_channel(ready, Target(kind="all"), clock, channel="C0SECOND1")
    load(ready, doc(contoso("failed")), clock)
    fake_slack.fail("chat.postMessage", error="is_archived", times=2)  # both channels, same creator
    passes(ready, client, clock, 3)
    notices = posts(fake_slack, "D" + CREATOR)
    assert len(notices) == 2
    assert {"<#C0ALERTS1>" in n["text"] for n in notices} == {True, False}


def test_a_narrower_notify_me_wins_over_a_wider_mute(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    pk = offer_pk(ready, "contoso-analytics-vm")
    with db.transaction(ready) as s:
        subscribe(
            s,
            team_id=TEAM,
            destination_kind="user",
            destination=OPS,
            target=Target(kind="publisher", publisher_id="contoso"),
            events=(),
            created_by=OPS,
            now=clock(),
        )
        mute(
            s, team_id=TEAM, user_id=OPS, target=Target(kind="all"), now=clock()
        )  # drops the publisher notify-me
        assert s.exec(select(Subscription).where(Subscription.destination == OPS)).all() == []
        subscribe(
            s,
            team_id=TEAM,
            destination_kind="user",
            destination=OPS,
            target=Target(kind="offer", offer_pk=pk),
            events=(),
            created_by=OPS,
            now=clock(),
        )
    load(ready, doc(contoso("failed")), clock)
    passes(ready, client, clock)
    assert len(posts(fake_slack, "D" + OPS)) == 1  # the offer notify-me is narrower than "all"


def test_two_watchers_cannot_reorder_an_offers_changes(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    """While one watcher holds an offer's earlier change (uncommitted), another leaves the later one."""
    load(ready, doc(contoso("failed")), clock)
    load(ready, doc(contoso("running")), clock)
    resolve_owner_emails(session_factory=ready, clients=OneWorkspace(client), clock=clock)
    with ready() as s:
        first, second = s.exec(
            select(StatusChange.id).where(StatusChange.handled_at.is_(None)).order_by(StatusChange.id)
        ).all()  # type: ignore[union-attr]
    holder = ready()
    try:
        if holder.get_bind().dialect.name == "postgresql":
            holder.execute(sa.text("SELECT id FROM status_change WHERE id = :i FOR UPDATE"), {"i": first})
            with db.transaction(ready) as s:
                assert fanout.fan_out(s, now=clock()) == 0  # the first is locked, the second must wait
        else:
            pytest.skip("SQLite serializes fan-outs with BEGIN IMMEDIATE: there is no concurrent fan-out")
    finally:
        holder.rollback()
        holder.close()
    with ready() as s:
        assert s.get(StatusChange, second).handled_at is None  # type: ignore[union-attr]
    passes(ready, client, clock, 2)
    texts = [p["text"] for p in posts(fake_slack, CHANNEL)]
    assert texts == [
        "Contoso Analytics VM: Publish failed (was Publish in progress)",
        "Contoso Analytics VM is now Publish in progress (was Publish failed)",
    ]


def test_owner_lookups_are_upserts(factory: db.SessionFactory, clock: Clock) -> None:
    with db.transaction(factory) as s:
        record_lookup(s, team_id=TEAM, email="a@b.example", user_id=None, now=clock())
    with db.transaction(factory) as s:
        record_lookup(s, team_id=TEAM, email="a@b.example", user_id="U0A", now=clock())
    with factory() as s:
        assert s.get(EmailUser, (TEAM, "a@b.example")).user_id == "U0A"  # type: ignore[union-attr]


def test_a_crash_between_claiming_and_sending_loses_nothing(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    load(ready, doc(contoso("failed")), clock)
    resolve_owner_emails(session_factory=ready, clients=OneWorkspace(client), clock=clock)
    with db.transaction(ready) as s:
        fanout.fan_out(s, now=clock())
    with db.transaction(ready) as s:
        claimed = outbox.claim(s, now=clock(), worker="dead-worker", lease=timedelta(minutes=5))
    assert len(claimed) == 2  # the channel and the owner's DM; then the claimer dies
    passes(ready, client, clock)
    assert posts(fake_slack) == []  # the lease still holds
    clock.advance(minutes=6)
    passes(ready, client, clock, 2)
    assert len(posts(fake_slack, CHANNEL)) == 1 and len(posts(fake_slack)) == 2


def test_an_outage_delays_alerts_and_recovery_delivers_in_order(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    fake_slack.outage("chat.postMessage")
    for status in ("failed", "running", "waitingForPublisherReview"):
        load(ready, doc(contoso(status)), clock)
        report = passes(ready, client, clock)[0]
        assert report.sent == 0
        clock.advance(minutes=1)
    with ready() as s:
        assert all(d.state == "pending" for d in s.exec(select(Delivery)))
    assert fake_slack.calls_to("chat.postMessage")  # it did try
    fake_slack.recover()
    fake_slack.calls.clear()
    for _ in range(20):
        clock.advance(minutes=15)
        passes(ready, client, clock)
        with ready() as s:
            if outbox.counts(s).pending == 0:
                break
    channel = posts(fake_slack, CHANNEL)
    assert [p["text"].split(": ", 1)[-1] if "thread_ts" not in p else p["text"] for p in channel] == [
        "Publish failed (was Publish in progress)",
        "Contoso Analytics VM is now Publish in progress (was Publish failed)",
        "Contoso Analytics VM: Awaiting publisher sign-off (was Publish in progress)",
    ]
    assert all(p.get("thread_ts") for p in channel[1:])
    assert len({p["thread_ts"] for p in channel[1:]}) == 1


def test_rate_limit_waits_retry_after_then_retries(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    load(ready, doc(contoso("failed")), clock)
    fake_slack.fail("chat.postMessage", status=429, retry_after=1)
    report = passes(ready, client, clock)[0]
    assert (report.sent, report.retried) == (0, 1)  # the pass yields to Slack's rate limit
    with ready() as s:
        row = s.exec(select(Delivery).where(Delivery.attempts > 0)).one()
        assert row.destination == CHANNEL and row.next_attempt_at == clock() + timedelta(seconds=1)
    passes(ready, client, clock)  # the owner's DM may go; the channel waits for its Retry-After
    assert len(posts(fake_slack, CHANNEL)) == 1
    clock.advance(seconds=1)
    passes(ready, client, clock)
    with ready() as s:
        assert outbox.counts(s).pending == 0
    calls = [c for c in fake_slack.calls_to("chat.postMessage") if c.body["channel"] == CHANNEL]
    assert len(calls) == 2  # the 429, then the retry, a Retry-After later on the outbox's clock


def test_the_watch_job_passes_again_when_a_retry_after_is_due_not_a_whole_interval_later(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    """The outbox is the one retry layer, and the job honours it: a 429 with ``Retry-After: 1``
    costs about a second (a pass at its due time), not the 15-second interval."""
    from bot.jobs.scheduling import WatchJob

    load(ready, doc(contoso("failed")), clock)
    fake_slack.fail("chat.postMessage", status=429, retry_after=1)
    job = WatchJob(
        Settings(slack_bot_token="xoxb-test", offerbot_watch_interval=15), ready, OneWorkspace(client)
    )
    started = time.monotonic()
    report = job()
    took = time.monotonic() - started
    assert report is not None and report.retried == 0 and report.sent >= 1  # the last pass sent it
    assert 0.9 <= took < 10, took  # it waited the Retry-After, not the interval
    with ready() as s:
        counts = outbox.counts(s)
    assert counts.pending == 0
    sent_now = len(fake_slack.calls_to("chat.postMessage")) - 1  # one was the 429
    assert sent_now >= 2 and len(posts(fake_slack, CHANNEL)) >= 1  # the channel's alert and the owner's DM


def test_server_errors_keep_the_row_pending_with_backoff(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    load(ready, doc(contoso("failed")), clock)
    fake_slack.outage("chat.postMessage", status=503)
    report = passes(ready, client, clock)[0]
    assert (report.sent, report.retried) == (0, 1)
    with ready() as s:
        row = s.exec(select(Delivery).where(Delivery.attempts > 0)).one()
        assert row.state == "pending" and row.last_error and row.next_attempt_at > clock()
    fake_slack.recover()
    before = len(posts(fake_slack, CHANNEL))
    passes(ready, client, clock)
    assert len(posts(fake_slack, CHANNEL)) == before  # not due yet: the backoff holds it
    clock.advance(minutes=11)
    passes(ready, client, clock, 2)
    with ready() as s:
        assert outbox.counts(s).pending == 0


@pytest.mark.parametrize("error", sorted(DISABLING_ERRORS))
def test_permanent_errors_disable_the_subscription_and_tell_its_creator(
    error: str, ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    load(ready, doc(contoso("failed")), clock)
    fake_slack.fail("chat.postMessage", error=error)  # the channel's alert comes first
    passes(ready, client, clock, 2)
    with ready() as s:
        sub = s.exec(select(Subscription).where(Subscription.destination == CHANNEL)).one()
        assert sub.disabled_reason == error and sub.disabled_at is not None
        failed = s.exec(select(Delivery).where(Delivery.state == "failed")).one()
        assert failed.destination == CHANNEL and failed.last_error == error
    assert CREATOR in [c.body["users"] for c in fake_slack.calls_to("conversations.open")]
    notice = posts(fake_slack, "D" + CREATOR)
    assert len(notice) == 1 and f"`{error}`" in notice[0]["text"]
    # A disabled subscription gets nothing more, and is still listed (never deleted silently).
    fake_slack.calls.clear()
    load(ready, doc(contoso("running")), clock)
    load(ready, doc(contoso("failed")), clock)
    passes(ready, client, clock)
    assert posts(fake_slack, CHANNEL) == []


def test_pacing_one_message_per_second_per_channel(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    sub_channel(ready, Target(kind="all"), clock)

    def everything_changes(d: dict[str, Any]) -> None:
        for o in d["offers"]:
            o["status"]["status"] = "waitingForPublisherReview"

    load(ready, doc(everything_changes), clock)
    passes(ready, client, clock)
    # Four offers change (Tailspin already awaited sign-off; Adatum stays delisted), all to one channel.
    assert len(posts(fake_slack, CHANNEL)) == 4
    assert sum(clock.slept) >= 3.0 - 1e-6  # four messages to one channel: three one-second gaps


def test_threads_follow_ups_and_root_updates(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    load(ready, doc(contoso("failed")), clock)
    passes(ready, client, clock)
    root = posts(fake_slack, CHANNEL)[0]
    clock.advance(hours=2)
    load(ready, doc(contoso("succeeded")), clock)
    passes(ready, client, clock)
    followup = posts(fake_slack, CHANNEL)[1]
    assert followup["text"] == "Contoso Analytics VM is now Live (was Publish failed)"
    (update,) = [c.body for c in fake_slack.calls_to("chat.update") if c.body["channel"] == CHANNEL]
    assert update["ts"] == followup["thread_ts"]
    assert update["text"].startswith("Contoso Analytics VM: Live")
    # Live closes the thread: the next failure starts a new one.
    load(ready, doc(contoso("failed")), clock)
    passes(ready, client, clock)
    assert "thread_ts" not in posts(fake_slack, CHANNEL)[2]
    assert root["text"] == "Contoso Analytics VM: Publish failed (was Publish in progress)"
    assert posts(fake_slack, CHANNEL)[2]["text"] == "Contoso Analytics VM: Publish failed (was Live)"


def test_threading_off_posts_follow_ups_as_new_messages(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    with db.transaction(ready) as s:
        set_threading(s, team_id=TEAM, channel=CHANNEL, threading=False)
    load(ready, doc(contoso("failed")), clock)
    passes(ready, client, clock)
    load(ready, doc(contoso("running")), clock)
    passes(ready, client, clock)
    channel = posts(fake_slack, CHANNEL)
    assert len(channel) == 2 and all("thread_ts" not in p for p in channel)
    assert sorted(c.body["channel"] for c in fake_slack.calls_to("chat.update")) == [CHANNEL, "D" + OPS]
    assert posts(fake_slack, "D" + OPS)[1].get("thread_ts")  # the setting is the channel's: DMs keep threads


def test_reminders_once_per_period_until_the_offer_moves(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    config = WatcherConfig(remind_after=timedelta(hours=24))
    load(ready, doc(contoso("waitingForPublisherReview")), clock)
    passes(ready, client, clock, config=config)
    clock.advance(hours=23)
    passes(ready, client, clock, config=config)
    assert len(posts(fake_slack, CHANNEL)) == 1
    clock.advance(hours=2)
    passes(ready, client, clock, 3, config=config)
    reminders = [p for p in posts(fake_slack, CHANNEL) if p["text"].startswith("Reminder")]
    assert len(reminders) == 1 and reminders[0]["thread_ts"]
    assert "still Awaiting publisher sign-off" in reminders[0]["text"]
    clock.advance(hours=24)
    passes(ready, client, clock, config=config)
    assert len([p for p in posts(fake_slack, CHANNEL) if p["text"].startswith("Reminder")]) == 2
    load(ready, doc(contoso("succeeded")), clock)
    passes(ready, client, clock, config=config)
    clock.advance(hours=30)
    passes(ready, client, clock, config=config)
    assert len([p for p in posts(fake_slack, CHANNEL) if p["text"].startswith("Reminder")]) == 2


def test_two_watchers_send_no_duplicate(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    """Two watchers (separate clients and workers) race over the same store."""
    sub_channel(ready, Target(kind="all"), clock, channel="C0ALL0001")
    many = {
        "offers": [
            {
                "publisherId": "p",
                "offerId": f"race-{i:02}",
                "name": f"Race {i:02}",
                "offerType": "saas",
                "status": {
                    "status": "running",
                    "steps": [],
                    "notificationEmails": "marketplace-ops@contoso.example",
                },
            }
            for i in range(20)
        ]
    }
    load(ready, json.dumps(many), clock)
    for status in ("failed", "running", "waitingForPublisherReview"):  # three changes per offer
        for o in many["offers"]:
            o["status"]["status"] = status  # type: ignore[index]
        load(ready, json.dumps(many), clock)
    other = make_client(Settings(slack_bot_token="xoxb-watch", slack_api_url=fake_slack.url))
    config = WatcherConfig(channel_interval=0)
    errors: list[BaseException] = []

    def watcher(c: Any, name: str) -> None:
        try:
            for _ in range(12):
                run_pass(
                    session_factory=ready,
                    client=c,
                    clock=clock,
                    sleep=lambda s: None,
                    config=config,
                    worker=name,
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=watcher, args=(c, n)) for c, n in ((client, "w1"), (other, "w2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    for channel in ("C0ALL0001", "D" + OPS):
        texts = [p["text"] for p in posts(fake_slack, channel)]
        assert len(texts) == 60 and len(set(texts)) == 60, channel  # no duplicate
        for i in range(20):  # and each offer's three changes in order
            mine = [t for t in texts if t.startswith(f"Race {i:02}")]
            assert mine == [
                f"Race {i:02}: Publish failed (was Publish in progress)",
                f"Race {i:02} is now Publish in progress (was Publish failed)",
                f"Race {i:02}: Awaiting publisher sign-off (was Publish in progress)",
            ], mine
    with ready() as s:
        assert outbox.counts(s).pending == 0
        assert all(c.handled_at for c in s.exec(select(StatusChange)))


def test_a_change_imported_during_the_owner_look_ups_waits_for_its_owners(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    resolve_owner_emails(
        session_factory=ready, clients=OneWorkspace(client), clock=clock
    )  # a pass looks up owners ...
    load(ready, doc(contoso("failed")), clock)  # ... an import lands ...
    with db.transaction(ready) as s:  # ... and the same pass fans out
        assert fanout.fan_out(s, now=clock()) == 0  # the owner is not looked up yet: the change waits
    passes(ready, client, clock)
    assert len(posts(fake_slack, CHANNEL)) == 1
    assert len(posts(fake_slack, "D" + OPS)) == 1


def test_lookup_errors_other_than_not_found_skip_the_owner_not_the_alert(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("users.lookupByEmail", error="missing_scope")
    load(ready, doc(contoso("failed")), clock)
    passes(ready, client, clock)
    assert len(posts(fake_slack, CHANNEL)) == 1
    assert fake_slack.calls_to("conversations.open") == []


def test_muting_or_unsubscribing_after_an_alert_stops_follow_ups_and_reminders(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    load(ready, doc(contoso("waitingForPublisherReview")), clock)
    passes(ready, client, clock)
    assert len(posts(fake_slack, "D" + OPS)) == 1 and len(posts(fake_slack, CHANNEL)) == 1
    with db.transaction(ready) as s:
        mute(s, team_id=TEAM, user_id=OPS, target=Target(kind="all"), now=clock())
        unsubscribe(
            s,
            team_id=TEAM,
            destination_kind="channel",
            destination=CHANNEL,
            target=Target(kind="offer", offer_pk=offer_pk(ready, "contoso-analytics-vm")),
            events=(),
        )
    clock.advance(hours=25)
    passes(ready, client, clock)
    load(ready, doc(contoso("failed")), clock)
    passes(ready, client, clock)
    assert len(posts(fake_slack, "D" + OPS)) == 1
    assert len(posts(fake_slack, CHANNEL)) == 1


def test_a_consulting_failure_explained_later_alerts_then(
    factory: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    load(factory, doc(), clock)
    passes(factory, client, clock)
    sub_channel(factory, Target(kind="publisher", publisher_id="fabrikam"), clock)
    fake_slack.calls.clear()
    unexplained = doc(lambda d: d["offers"][1]["status"].__setitem__("status", "running"))
    load(factory, unexplained, clock)
    load(
        factory, doc(lambda d: d["offers"][1]["status"].__setitem__("messages", [])), clock
    )  # failed, no error
    passes(factory, client, clock, 2)
    assert posts(fake_slack, CHANNEL) == []
    load(factory, doc(), clock)  # same status, now with the lead management error: no status change
    passes(factory, client, clock)
    (alert,) = posts(fake_slack, CHANNEL)
    assert "lead management" in json.dumps(alert["blocks"])


def test_retry_after_is_kept_when_slack_keeps_rate_limiting(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    load(ready, doc(contoso("failed")), clock)
    fake_slack.fail("chat.postMessage", status=429, retry_after=1, times=3)
    for attempt in range(1, 4):  # the outbox is the one retry layer: each 429 is one attempt
        report = passes(ready, client, clock)[0]
        assert report.retried == 1
        with ready() as s:
            row = s.exec(select(Delivery).where(Delivery.attempts > 0)).one()
            assert row.attempts == attempt
            assert row.next_attempt_at == clock() + timedelta(seconds=1)
        assert len(posts(fake_slack, CHANNEL)) == attempt  # the client itself did not repeat it
        clock.advance(seconds=1)
    passes(ready, client, clock)
    assert len(posts(fake_slack, CHANNEL)) == 4  # three 429s, then the alert


def test_a_server_error_is_retried_by_the_outbox_not_by_the_client(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    load(ready, doc(contoso("failed")), clock)
    fake_slack.fail("chat.postMessage", status=500, times=1)
    report = passes(ready, client, clock)[0]
    assert (report.sent, report.retried) == (0, 1)
    assert len(posts(fake_slack, CHANNEL)) == 1  # one request: no sleeping retry inside slack_sdk
    with ready() as s:
        row = s.exec(select(Delivery).where(Delivery.attempts > 0)).one()
        assert row.state == "pending" and row.next_attempt_at > clock()  # the outbox's backoff
    clock.advance(minutes=11)
    passes(ready, client, clock)
    assert len(posts(fake_slack, CHANNEL)) == 2
    with ready() as s:
        assert outbox.counts(s).pending == 0


def test_upgrading_a_store_with_history_alerts_nobody(
    tmp_path: Any, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    db.migrate(engine, "0001")
    with engine.begin() as conn:  # the store as issue 2's version left it: offers and their history
        conn.exec_driver_sql(
            "INSERT INTO offer (id, team_id, publisher_id, offer_id, name, offer_type, publish_status, listing, "
            "status, notification_emails, preview_links, live_links, status_changed_at, updated_at, content_hash) "
            "VALUES (1, 'T0FAKE001', 'contoso', 'contoso-analytics-vm', 'Contoso Analytics VM', 'virtual-machine', "
            "'failed', 'listed', 'failed', 'marketplace-ops@contoso.example', '[]', '[]', '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00', 'x')"
        )
        conn.exec_driver_sql(
            "INSERT INTO status_change (team_id, offer_pk, old_status, new_status, changed_at, source) "
            "VALUES ('T0FAKE001', 1, 'in_progress', 'failed', '2026-01-01 00:00:00', 'import')"
        )
    db.migrate(engine)
    factory = db.session_factory(engine)
    sub_channel(factory, Target(kind="all"), clock)
    passes(factory, client, clock)
    assert posts(fake_slack) == []


# --- leases: renewed while sending, released on error and on shutdown --------------------------


class HookedPacer(Pacer):
    """Each send takes ``seconds`` of the test's clock, and ``hook(n)`` runs before the n-th send."""

    def __init__(
        self, factory: db.SessionFactory, clock: Clock, seconds: float, hook: Callable[[int], None]
    ) -> None:
        super().__init__(clock=clock, sleep=clock.sleep, interval=0, factory=factory)
        self.test_clock, self.seconds, self.hook, self.sends = clock, seconds, hook, 0

    def wait(self, channel: str) -> None:
        self.sends += 1
        self.test_clock.advance(seconds=self.seconds)
        self.hook(self.sends)


def seven_pending(factory: db.SessionFactory, client: Any, clock: Clock) -> None:
    """Six channels follow everything and the owner gets a DM: one change makes seven deliveries."""
    load(factory, doc(), clock)
    passes(factory, client, clock)
    for n in range(6):
        sub_channel(factory, Target(kind="all"), clock, channel=f"C0LEASE0{n}")
    load(factory, doc(contoso("failed")), clock)
    resolve_owner_emails(session_factory=factory, clients=OneWorkspace(client), clock=clock)
    with db.transaction(factory) as s:
        assert fanout.fan_out(s, now=clock()) == 1


def claim_as_other(factory: db.SessionFactory, clock: Clock) -> list[int]:
    with db.transaction(factory) as s:
        return outbox.claim(s, now=clock(), worker="other", lease=timedelta(seconds=30))


def test_a_long_batch_keeps_its_lease_and_a_dead_claimer_holds_rows_only_one_lease(
    factory: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    seven_pending(factory, client, clock)
    fake_slack.calls.clear()
    stolen: list[int] = []
    # Each send takes 20 s: the batch outlives its 30 s lease by far, and another process tries to
    # claim in the middle of it. Renewed leases leave it nothing.
    pacer = HookedPacer(
        factory, clock, 20, lambda n: stolen.extend(claim_as_other(factory, clock) if n == 5 else [])
    )
    report = run_pass(session_factory=factory, client=client, clock=clock, pacer=pacer, worker="long")
    assert report.sent == 7 and stolen == []
    assert len(posts(fake_slack)) == 7
    # A claimer killed mid-batch holds its rows for one lease (30 s) at most.
    load(factory, doc(contoso("running")), clock)
    with db.transaction(factory) as s:
        fanout.fan_out(s, now=clock())
    with db.transaction(factory) as s:
        held = outbox.claim(s, now=clock(), worker="killed", lease=WatcherConfig().lease)
    assert len(held) == 7
    clock.advance(seconds=29)
    assert claim_as_other(factory, clock) == []
    clock.advance(seconds=2)
    assert sorted(claim_as_other(factory, clock)) == sorted(held)


def test_shutdown_and_errors_release_what_was_not_started(
    factory: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    seven_pending(factory, client, clock)
    stop = threading.Event()
    pacer = HookedPacer(factory, clock, 1, lambda n: stop.set() if n == 2 else None)
    report = run_pass(session_factory=factory, client=client, clock=clock, pacer=pacer, stop=stop, worker="a")
    assert report.sent == 2 and report.stopped == "shutting down: the rest is released"
    # Released, not leased: another process takes the other five at once.
    assert len(claim_as_other(factory, clock)) == 5
    with db.transaction(factory) as s:
        outbox.release(s, ids=[d.id for d in s.exec(select(Delivery))], worker="other")  # type: ignore[misc]

    def explode(n: int) -> None:
        if n == 2:
            raise RuntimeError("the process hit a bug")

    with pytest.raises(RuntimeError):
        run_pass(
            session_factory=factory,
            client=client,
            clock=clock,
            pacer=HookedPacer(factory, clock, 1, explode),
            worker="b",
        )
    # The row being sent keeps its lease (its outcome is unknown); the ones after it are free.
    assert len(claim_as_other(factory, clock)) == 3


def test_two_processes_keep_one_channels_pace_together(
    factory: db.SessionFactory, client: Any, fake_slack: FakeSlack
) -> None:
    """Two watchers (each its own worker and pacer, as two processes would have) send into one channel
    at the same time: the pace lives in the store, so together they post one message per interval."""
    clock = Clock(NOW)

    def ten_vms(status: str) -> str:
        vm = json.loads(samples_text())["offers"][0]
        offers = [
            {**vm, "offerId": f"vm-{n}", "status": {**vm["status"], "status": status}} for n in range(10)
        ]
        return json.dumps({"offers": offers})

    load(factory, ten_vms("running"), clock)
    passes(factory, client, clock)
    sub_channel(factory, Target(kind="all"), clock)
    load(factory, ten_vms("failed"), clock)
    resolve_owner_emails(session_factory=factory, clients=OneWorkspace(client), clock=clock)
    with db.transaction(factory) as s:
        assert fanout.fan_out(s, now=clock()) == 10  # 10 alerts in the channel, 10 DMs to the owner
    claimed = {}
    for name in ("process-0", "process-1"):
        with db.transaction(factory) as s:
            claimed[name] = outbox.claim(s, now=utc_now(), worker=name, lease=timedelta(seconds=30), limit=10)
    fake_slack.calls.clear()
    interval = 0.25
    config = WatcherConfig(channel_interval=interval)

    def process(name: str) -> None:
        deliverer = Deliverer(
            session_factory=factory,
            clients=OneWorkspace(client),
            clock=utc_now,
            sleep=time.sleep,
            config=config,
            worker=name,
        )
        for delivery_id in claimed[name]:
            assert deliverer.deliver(delivery_id) is Outcome.SENT

    workers = [threading.Thread(target=process, args=(name,)) for name in claimed]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    in_channel = [c for c in fake_slack.calls_to("chat.postMessage") if c.body["channel"] == CHANNEL]
    assert len(in_channel) == 10
    times = sorted(c.at for c in in_channel)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Each post has its own slot, one interval after the last: a post that leaves late (a busy CPU,
    # the suite's other workers) shortens the gap after it, never the pace; per-process pacing would
    # post two at once again and again (gaps of ~5 ms).
    short = [g for g in gaps if g < interval * 0.5]
    assert len(short) <= 2 and min(gaps) >= 0.02, gaps
    assert times[-1] - times[0] >= 9 * interval * 0.95, gaps
    with factory() as s:
        rows = list(s.exec(select(Delivery).where(Delivery.destination == CHANNEL)))
    assert {r.state for r in rows} == {"sent"}
    assert {r.claimed_by for r in rows} == {"process-0", "process-1"}  # both sent into the channel


def test_one_pass_sends_everything_due_a_leases_worth_at_a_time(
    factory: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    load(factory, doc(), clock)
    passes(factory, client, clock)
    for n in range(40):
        sub_channel(factory, Target(kind="all"), clock, channel=f"C0MANY{n:03d}")
    load(factory, doc(contoso("failed")), clock)
    fake_slack.calls.clear()
    config = WatcherConfig(lease=timedelta(seconds=10))
    (report,) = passes(factory, client, clock, config=config)
    assert report.sent == 41 and len(posts(fake_slack)) == 41  # 40 channels and the owner's DM
    with factory() as s:
        assert outbox.counts(s).pending == 0


# --- unknown outcomes: a lost answer, a process killed after posting -----------------------------


def pending_rows(factory: db.SessionFactory) -> list[Delivery]:
    with factory() as s:
        return list(s.exec(select(Delivery).where(Delivery.state == "pending")))


def test_a_lost_answer_is_looked_for_before_posting_again(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    load(ready, doc(contoso("failed")), clock)
    fake_slack.lose_answer["chat.postMessage"] = 1  # the first alert is posted, its answer lost
    (report,) = passes(ready, client, clock)
    assert report.retried == 1
    (lost,) = [c.body for c in fake_slack.calls_to("chat.postMessage")]
    assert lost["metadata"]["event_type"] == "offerbot_delivery"
    waiting = [r for r in pending_rows(ready) if r.sending_at is not None]
    assert len(waiting) == 1  # kept for a look, not for a blind repeat
    clock.advance(minutes=15)
    passes(ready, client, clock)
    assert fake_slack.calls_to("conversations.history")
    in_channel = posts(fake_slack, CHANNEL)
    assert len(in_channel) == 1  # found by its key: not posted twice
    with ready() as s:
        row = s.get(Delivery, waiting[0].id)
        assert row is not None and row.state == "sent" and row.sending_at is None
        assert row.ts == fake_slack.messages[row.channel or ""][0]["ts"]
    # A follow-up goes in the alert's thread: its lost answer is looked for among the replies.
    clock.advance(hours=1)
    load(ready, doc(contoso("succeeded")), clock)
    fake_slack.lose_answer["chat.postMessage"] = 1
    passes(ready, client, clock)
    clock.advance(minutes=15)
    passes(ready, client, clock)
    assert fake_slack.calls_to("conversations.replies")
    followups = [p for p in posts(fake_slack, CHANNEL) if p.get("thread_ts")]
    assert len(followups) == 1 and pending_rows(ready) == []


def test_a_row_left_in_flight_by_a_killed_process_is_posted_once(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    load(ready, doc(contoso("failed")), clock)
    resolve_owner_emails(session_factory=ready, clients=OneWorkspace(client), clock=clock)
    with db.transaction(ready) as s:
        fanout.fan_out(s, now=clock())
    with db.transaction(ready) as s:
        ids = outbox.claim(s, now=clock(), worker="killed", lease=timedelta(seconds=30))
        rows = [s.get(Delivery, i) for i in ids]
        for row in rows:
            assert row is not None
            outbox.mark_sending(row, now=clock())
    posted_row = next(r for r in rows if r is not None and r.destination == CHANNEL)
    # The killed process had posted the channel's alert (with its key), not the DM.
    client.chat_postMessage(channel=CHANNEL, text="the alert", metadata=metadata_for(posted_row.id))
    fake_slack.calls.clear()
    clock.advance(seconds=31)
    (report,) = passes(ready, client, clock)
    assert report.sent == 2
    assert posts(fake_slack, CHANNEL) == []  # found in the channel: not posted again
    assert len(posts(fake_slack)) == 1  # the DM, which had not gone out, is posted once
    assert pending_rows(ready) == []


def test_one_pass_fans_out_a_whole_backlog_in_batches(
    factory: db.SessionFactory, client: Any, clock: Clock
) -> None:
    vm = json.loads(samples_text())["offers"][0]
    many = [{**vm, "offerId": f"vm-{n}"} for n in range(450)]
    load(factory, json.dumps({"offers": many}), clock)
    (report,) = passes(factory, client, clock)
    assert report.changes == 450  # more than two batches of 200, in one pass
    with factory() as s:
        assert list(fanout.unhandled_changes(s)) == []


def test_quiet_changes_are_handled_in_bulk_but_never_swallow_a_follow_up(
    ready: db.SessionFactory, client: Any, clock: Clock, fake_slack: FakeSlack
) -> None:
    # Failed, then running again, both before a pass: the second change is quiet (running alerts
    # nobody by itself) but follows an unhandled alert, so it must become the alert's follow-up.
    load(ready, doc(contoso("failed")), clock)
    clock.advance(minutes=5)
    load(ready, doc(contoso("running")), clock)
    with db.transaction(ready) as s:
        assert fanout.handle_quiet(s, now=clock()) == 0
    passes(ready, client, clock)
    texts = [p["text"] for p in posts(fake_slack, CHANNEL)]
    assert texts == [
        "Contoso Analytics VM: Publish failed (was Publish in progress)",
        "Contoso Analytics VM is now Publish in progress (was Publish failed)",
    ]
    # With no thread open and nothing pending, a quiet change is handled in bulk, sending nothing.
    with db.transaction(ready) as s:
        s.execute(sa.update(AlertThread).values(closed=True))
    clock.advance(minutes=5)
    load(ready, doc(contoso("succeeded")), clock)
    with db.transaction(ready) as s:
        assert fanout.handle_quiet(s, now=clock()) == 1
    fake_slack.calls.clear()
    passes(ready, client, clock)
    assert posts(fake_slack) == []


def test_alerts_are_drawn_outside_the_write_transaction(
    sqlite_url: str, client: Any, clock: Clock, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow render must not hold SQLite's write lock: while the watcher draws an alert, another
    writer (a push, a ``notify-me``) gets the lock at once."""
    import sqlite3

    import bot.alerting.plan as planning

    factory = db.session_factory(db.open_database(sqlite_url))
    load(factory, doc(), clock)
    passes(factory, client, clock)
    sub_channel(factory, Target(kind="offer", offer_pk=offer_pk(factory, "contoso-analytics-vm")), clock)
    clock.advance(minutes=5)
    load(factory, doc(contoso("failed")), clock)
    drawn: list[str] = []
    real = planning.render_alert

    def render_while_another_writes(*args: Any, **kwargs: Any) -> Any:
        other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), timeout=0.05, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # 'database is locked' if the watcher held the lock
            other.execute("ROLLBACK")
            drawn.append("free")
        finally:
            other.close()
        return real(*args, **kwargs)

    monkeypatch.setattr(planning, "render_alert", render_while_another_writes)
    passes(factory, client, clock)
    assert drawn and set(drawn) == {"free"}
    assert [c for c in fake_slack.calls_to("chat.postMessage") if c.body["channel"] == CHANNEL]

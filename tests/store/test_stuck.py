"""Stuck steps: the estimate parser over every format the domain documents, business days, the step
times an import keeps, and the ``stuck`` alert through the real watcher into the fake Slack, once per
step and publish attempt. Store tests run on SQLite and, where TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.i18n import ENGLISH
from bot.render.help import render_help
from bot.slack import answers
from storage import db
from storage.alerts.subscriptions import Target, subscribe
from storage.models import Delivery, Step, Subscription
from tests.conftest import NOW, TEAM
from tests.support.alerts import CHANNEL, doc, load, offer_pk, passes, sub_channel
from tests.support.clock import Clock
from tests.support.fakeslack import FakeSlack


def certification(factory: db.SessionFactory) -> Step:
    with factory() as s:
        pk = offer_pk(factory, "contoso-analytics-vm")
        return s.exec(select(Step).where(Step.offer_pk == pk, Step.position == 2)).one()


def test_an_import_keeps_when_a_step_entered_its_state(factory: db.SessionFactory) -> None:
    clock = Clock(NOW)
    load(factory, doc(), clock)
    first = certification(factory)
    assert first.status == "inProgress" and first.status_since == NOW
    assert first.stuck_at == NOW + timedelta(days=6)  # "3 days", twice
    clock.advance(days=1)
    load(factory, doc(lambda d: d["offers"][0].update(name="Contoso Analytics VM 2")), clock)
    kept = certification(factory)
    assert (kept.status_since, kept.stuck_at) == (NOW, NOW + timedelta(days=6))  # same state: kept
    clock.advance(days=1)

    def done(d: dict[str, Any]) -> None:
        d["offers"][0]["status"]["steps"][2]["status"] = "complete"

    load(factory, doc(done), clock)
    moved = certification(factory)
    assert moved.status_since == NOW + timedelta(days=2) and moved.stuck_at is None
    assert moved.took_seconds == 2 * 86400  # seen running from NOW, seen complete two days later
    clock.advance(days=1)
    load(factory, doc(lambda d: (done(d), d["offers"][0].update(name="Contoso VM"))), clock)
    assert certification(factory).took_seconds == 2 * 86400  # kept while it stays complete
    with factory() as s:
        history = answers.handle_command(
            s, team_id=TEAM, text="history contoso-analytics-vm", tr=ENGLISH, now=NOW
        )
    assert (
        "*3. Certification* \u2014 done \u00b7 took 2 days \u00b7 Microsoft estimates _3 days_"
        in json.dumps(history.blocks, ensure_ascii=False)
    )


@pytest.fixture
def stuck_client(fake_slack: FakeSlack) -> Any:
    from bot.settings import Settings
    from bot.slack.app import make_client

    return make_client(Settings(slack_bot_token="xoxb-watch", slack_api_url=fake_slack.url))


def stuck_posts(fake: FakeSlack) -> list[dict[str, Any]]:
    return [c.body for c in fake.calls_to("chat.postMessage") if "has been running" in c.body["text"]]


def test_a_step_past_twice_its_estimate_alerts_once_per_attempt(
    factory: db.SessionFactory, stuck_client: Any, fake_slack: FakeSlack
) -> None:
    clock = Clock(NOW)
    load(factory, doc(), clock)
    passes(factory, stuck_client, clock)
    sub_channel(
        factory,
        Target(kind="offer", offer_pk=offer_pk(factory, "contoso-analytics-vm")),
        clock,
        events=("stuck",),
    )
    clock.advance(days=5, hours=23)
    passes(factory, stuck_client, clock)
    assert stuck_posts(fake_slack) == []  # 5 days 23 hours: not yet twice "3 days"
    clock.advance(hours=2)
    passes(factory, stuck_client, clock)
    (post,) = stuck_posts(fake_slack)
    assert post["channel"] == CHANNEL
    assert (
        "*Certification* of *Contoso Analytics VM* has been running for 6 days; Microsoft estimates 3 days. "
        "Consider opening a support request in Partner Center." in post["text"]
    )
    clock.advance(days=3)
    load(factory, doc(lambda d: d["offers"][0].update(name="Contoso Analytics VM")), clock)  # unchanged
    load(
        factory, doc(lambda d: d["offers"][0].update(previewLinks=["https://p.example/x"])), clock
    )  # changed
    passes(factory, stuck_client, clock, n=2)
    assert len(stuck_posts(fake_slack)) == 1  # the same step, the same attempt: once

    def again(state: str) -> Any:
        def mutate(d: dict[str, Any]) -> None:
            d["offers"][0]["status"]["steps"][2]["status"] = state

        return mutate

    load(factory, doc(again("complete")), clock)
    load(factory, doc(again("inProgress")), clock)  # a new publish attempt reaches Certification again
    clock.advance(days=6, minutes=1)
    passes(factory, stuck_client, clock)
    assert len(stuck_posts(fake_slack)) == 2
    with factory() as s:
        rows = s.exec(select(Delivery).where(Delivery.kind == "stuck")).all()
    assert [(r.destination, r.step_position, r.state) for r in rows] == [(CHANNEL, 2, "sent")] * 2


def test_stuck_is_an_event_to_name_and_all_events_include_it(factory: db.SessionFactory) -> None:
    from tests.conftest import load_samples

    load_samples(factory)
    with db.transaction(factory) as s:
        answers.handle_command(
            s, team_id=TEAM, text="notify-me contoso-analytics-vm stuck", tr=ENGLISH, now=NOW, user_id="U1"
        )
        answers.handle_command(
            s, team_id=TEAM, text="notify-me publisher:contoso", tr=ENGLISH, now=NOW, user_id="U2"
        )
    with factory() as s:
        subs = {sub.destination: sub for sub in s.exec(select(Subscription)).all()}
    assert (subs["U1"].on_failed, subs["U1"].on_stuck) == (False, True)
    assert (subs["U2"].on_failed, subs["U2"].on_delisted, subs["U2"].on_signoff, subs["U2"].on_stuck) == (
        True,
        True,
        True,
        True,
    )
    assert json.dumps(render_help(tr=ENGLISH).text).count("[stuck]") == 1


def test_a_stuck_step_needs_you_on_the_home_tab_and_shows_in_the_history(
    factory: db.SessionFactory, stuck_client: Any, fake_slack: FakeSlack
) -> None:
    from bot.render.home import render_home
    from bot.usecases.home import home_of

    clock = Clock(NOW)
    load(factory, doc(), clock)
    pk = offer_pk(factory, "contoso-analytics-vm")
    with db.transaction(factory) as s:
        subscribe(
            s,
            team_id=TEAM,
            destination_kind="user",
            destination="U0FOLLOW1",
            target=Target(kind="offer", offer_pk=pk),
            events=("stuck",),
            created_by="U0FOLLOW1",
            now=NOW,
        )
    with factory() as s:
        before = home_of(s, team_id=TEAM, user_id="U0FOLLOW1")
    assert (before.needs_total, before.publishing_total) == (0, 1)  # in progress, not stuck yet
    clock.advance(days=6, minutes=1)
    passes(factory, stuck_client, clock)
    with factory() as s:
        after = home_of(s, team_id=TEAM, user_id="U0FOLLOW1")
    assert (after.needs_total, after.publishing_total) == (1, 0)
    shown = json.dumps(render_home(after, tr=ENGLISH)["blocks"])
    assert "Step: Certification, stuck since" in shown
    with factory() as s:
        history = answers.handle_command(
            s, team_id=TEAM, text="history contoso-analytics-vm", tr=ENGLISH, now=NOW
        )
    steps = json.dumps(history.blocks)
    assert "*3. Certification* \\u2014 in progress \\u00b7 since" in steps
    assert "Microsoft estimates _3 days_ \\u00b7 :alarm_clock: stuck since" in steps

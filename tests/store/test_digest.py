"""The digest: ``/offer-status digest`` in a channel and in a DM, ``settings digest``, and the daily job
posting into the fake Slack once a day per channel, across two job instances (two processes), with a
clock the test moves. Runs on SQLite and, where TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.i18n import DEFAULT, ENGLISH
from bot.jobs.digest import DigestJob
from bot.render.textview import blocks_to_text
from bot.settings import Settings
from bot.slack import answers
from bot.slack.app import make_client
from bot.slack.clients import OneWorkspace
from storage import db
from storage.alerts.subscriptions import Target, subscribe
from storage.errors import UsageError
from storage.models import ChannelSettings, EmailUser
from tests.conftest import NOW, TEAM, RunningServer, post, sign, slash_body
from tests.support.alerts import contoso, doc, load
from tests.support.clock import Clock
from tests.support.fakeslack import FakeSlack

CHANNEL, OPS = "C0DIGEST1", "U0OPS0001"


def follow(factory: db.SessionFactory, target: Target, channel: str = CHANNEL) -> None:
    with db.transaction(factory) as s:
        subscribe(
            s,
            team_id=TEAM,
            destination_kind="channel",
            destination=channel,
            target=target,
            events=(),
            created_by="U0USER001",
            now=NOW,
        )


@pytest.fixture
def store(factory: db.SessionFactory) -> db.SessionFactory:
    """The samples at NOW, contoso-analytics-vm failed five minutes later, its owner known to Slack."""
    clock = Clock(NOW)
    load(factory, doc(), clock)
    clock.advance(minutes=5)
    load(factory, doc(contoso("failed")), clock)
    with db.transaction(factory) as s:
        s.add(EmailUser(team_id=TEAM, email="marketplace-ops@contoso.example", user_id=OPS, looked_up_at=NOW))
    return factory


def digest(factory: db.SessionFactory, channel: str, user: str = "U0USER001", when: datetime = NOW) -> str:
    with factory() as s:
        reply = answers.handle_command(
            s,
            team_id=TEAM,
            text="digest",
            tr=ENGLISH,
            now=when + timedelta(hours=1),
            user_id=user,
            channel_id=channel,
        )
    return blocks_to_text(reply.blocks)


def test_a_channels_digest_counts_names_who_and_lists_the_day(store: db.SessionFactory) -> None:
    follow(store, Target(kind="publisher", publisher_id="contoso"))
    shown = digest(store, CHANNEL)
    assert shown.splitlines()[0] == "Digest of this channel's offers"
    assert "Publish failed: 1" in shown
    assert "*Needs attention (1)*" in shown
    assert (
        f"*Contoso Analytics VM* (`contoso-analytics-vm`) — Publish failed · for its owners: <@{OPS}>"
        in shown
    )
    assert "*Last 24 hours (2 changes)*" in shown
    assert (
        "*Contoso Analytics VM* (`contoso-analytics-vm`): *Publish failed* (was Publish in progress)" in shown
    )
    assert "Woodgrove" not in shown  # another publisher: not this channel's


def test_a_dm_digest_covers_your_offers_and_an_empty_channel_says_how_to_start(
    store: db.SessionFactory,
) -> None:
    mine = digest(store, "D0DM00001", user=OPS)
    assert mine.splitlines()[0] == "Digest of your offers" and "Contoso Analytics VM" in mine
    assert "This channel follows no offer" in digest(store, "C0NOTHING")


def test_digest_days_old_changes_are_not_the_last_24_hours(store: db.SessionFactory) -> None:
    follow(store, Target(kind="all"))
    later = digest(store, CHANNEL, when=NOW + timedelta(days=2))
    assert "*Last 24 hours (0 changes)*" in later and "Nothing changed." in later
    assert "*Needs attention (" in later  # still failed: still needs someone


def ask(server: RunningServer, text: str) -> str:
    body = slash_body(text)
    status, raw = post(server.url + "/slack/events", body, sign(body))
    assert status == 200
    return str(json.loads(raw)["text"])


def test_settings_digest_defaults_to_your_time_zone_and_checks_its_words(
    app_server: RunningServer, factory: db.SessionFactory
) -> None:
    assert "subscribe this channel first" in ask(app_server, "settings digest 9:00")  # it follows nothing
    follow(factory, Target(kind="all"), channel="C0CHAN001")
    answer = ask(app_server, "settings digest 9:00")
    assert "every day at 09:00 (Europe/Paris)" in answer  # the fake Slack's users.info says Paris
    with factory() as s:
        row = s.exec(select(ChannelSettings).where(ChannelSettings.channel == "C0CHAN001")).one()
    assert (row.digest_at, row.digest_tz) == ("09:00", "Europe/Paris")
    assert "every day at 17:30 (America/New_York)" in ask(
        app_server, "settings digest 17:30 America/New_York"
    )
    assert 'unknown time zone "Mars/Olympus"' in ask(app_server, "settings digest 09:00 Mars/Olympus")
    assert "settings digest HH:MM [time zone]" in ask(app_server, "settings digest 25:00")
    assert "No more daily digest" in ask(app_server, "settings digest off")
    with factory() as s:
        assert (
            s.exec(select(ChannelSettings).where(ChannelSettings.channel == "C0CHAN001")).one().digest_at
            is None
        )


def test_a_digest_setting_is_announced_in_the_channel_like_every_other_setting(
    app_server: RunningServer, factory: db.SessionFactory, fake_slack: FakeSlack
) -> None:
    follow(factory, Target(kind="all"), channel="C0CHAN001")
    ask(app_server, "settings digest 9:00")
    (note,) = fake_slack.wait_for("chat.postMessage", 1)
    assert note.body["channel"] == "C0CHAN001"
    assert "<@U0USER001> set this channel's daily digest to 09:00 (Europe/Paris)." in note.body["text"]
    ask(app_server, "settings digest off")
    notes = fake_slack.wait_for("chat.postMessage", 2)
    assert "<@U0USER001> turned this channel's daily digest off." in notes[1].body["text"]
    ask(app_server, "settings digest 25:00")  # refused: nothing changed, nothing announced
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


def job(factory: db.SessionFactory, fake: FakeSlack, clock: Clock) -> DigestJob:
    client = make_client(Settings(slack_bot_token="xoxb-digest", slack_api_url=fake.url))
    return DigestJob(factory, OneWorkspace(client), language=DEFAULT, clock=clock)


def set_digest(factory: db.SessionFactory, text: str, channel: str = CHANNEL) -> None:
    with db.transaction(factory) as s:
        answers.handle_command(
            s, team_id=TEAM, text=text, tr=ENGLISH, now=NOW, user_id="U1", channel_id=channel
        )


def digests(fake: FakeSlack) -> list[dict[str, Any]]:
    """The digests Slack accepted, with their channel (a refused post is in no channel's messages)."""
    return [
        {"channel": channel, **m}
        for channel, messages in list(fake.messages.items())
        for m in messages
        if str(m.get("text", "")).startswith("Digest")
    ]


def test_the_daily_digest_is_posted_once_a_day_at_local_time_by_one_of_two_processes(
    store: db.SessionFactory, fake_slack: FakeSlack
) -> None:
    follow(store, Target(kind="all"))
    set_digest(store, "settings digest 09:00 Europe/Paris")
    clock = Clock(datetime(2026, 11, 24, 7, 59, tzinfo=UTC))  # 08:59 in Paris
    first, second = job(store, fake_slack, clock), job(store, fake_slack, clock)
    assert first() == 0 and digests(fake_slack) == []
    clock.advance(minutes=1)  # 09:00 in Paris
    assert first() + second() == 1
    clock.advance(minutes=1)
    assert first() + second() == 0
    (posted,) = digests(fake_slack)
    assert posted["channel"] == CHANNEL
    body = next(c.body for c in fake_slack.calls_to("chat.postMessage") if c.body["channel"] == CHANNEL)
    assert "Needs attention" in json.dumps(body["blocks"])
    clock.advance(days=1)  # the next day: offers still failed, so a digest again
    assert second() + first() == 1


def test_a_quiet_day_is_skipped_a_failed_post_retried_and_a_refused_one_waits_a_day(
    store: db.SessionFactory, fake_slack: FakeSlack
) -> None:
    quiet, failing, refusing = "C0QUIET01", "C0FAILING", "C0REFUSE1"
    follow(store, Target(kind="publisher", publisher_id="northwind"), channel=quiet)  # live, unchanged
    follow(store, Target(kind="all"), channel=failing)
    follow(store, Target(kind="all"), channel=refusing)
    for channel in (quiet, failing, refusing):
        set_digest(store, "settings digest 10:00 UTC", channel=channel)
    fake_slack.fail("chat.postMessage", error="internal_error")  # the first post fails, transiently
    fake_slack.channels_without_bot.add(refusing)  # this one Slack refuses for good
    clock = Clock(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))  # 25 hours after the samples' changes
    runner = job(store, fake_slack, clock)
    assert runner() == 0
    assert digests(fake_slack) == []  # quiet: skipped; failed: given back; refused: kept for the day
    fake_slack.channels_without_bot.discard(refusing)
    clock.advance(minutes=1)
    assert runner() == 1
    assert [d["channel"] for d in digests(fake_slack)] == [failing]  # the refused one waits for tomorrow
    clock.advance(days=1)
    assert runner() == 2
    assert sorted(d["channel"] for d in digests(fake_slack)) == [failing, failing, refusing]


def test_a_digest_time_that_is_not_a_time_is_refused(factory: db.SessionFactory) -> None:
    with factory() as s, pytest.raises(UsageError, match="settings digest HH:MM"):
        answers.handle_command(
            s, team_id=TEAM, text="settings digest 9h", tr=ENGLISH, now=NOW, user_id="U1", channel_id=CHANNEL
        )


def test_the_daily_digest_is_for_channels_not_direct_messages(store: db.SessionFactory) -> None:
    with store() as s, pytest.raises(UsageError, match="not a direct message"):
        answers.handle_command(
            s,
            team_id=TEAM,
            text="settings digest 09:00",
            tr=ENGLISH,
            now=NOW,
            user_id="U1",
            channel_id="D0DM00001",
        )

"""``/offer-status owners``: who owns an offer, set from Slack. Commands are real signed requests with
the text escaped as Slack escapes it (``should_escape: true``: ``<@U…|pat>``,
``<!subteam^S…|@team>``, ``<mailto:…|…>``); alerts are sent by the real watcher into the fake Slack,
whose ``usergroups.users.list`` answers the group's members at send time. SQLite and, where
TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot.http.server import wsgi_app
from bot.slack.app import create_app
from storage import db
from storage.models import Delivery
from storage.owners import OfferOwner
from storage.statuses import DestinationKind
from tests.conftest import NOW, SIGNING_SECRET, RunningServer, post, sign, slash_body
from tests.support.alerts import OPS, contoso, doc, load, passes
from tests.support.clock import Clock
from tests.support.fakeslack import FakeSlack, wait_until
from tests.support.settings import settings_for

PAT, SAM, LEE = "U0USER001", "U0USER002", "U0LEE0001"
HERE = "C0CHAN001"
ADD = (
    "owners contoso-analytics-vm add <@U0USER001|pat> <mailto:lee@contoso.example|lee@contoso.example> "
    "<!subteam^S0TEAM01|@release-team>"
)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def server(
    fake_slack: FakeSlack, factory: db.SessionFactory, database_url: str, clock: Clock
) -> Iterator[RunningServer]:
    load(factory, doc(), clock)
    fake_slack.roles[PAT] = {"is_admin"}
    fake_slack.users_by_email["marketplace-ops@contoso.example"] = OPS
    fake_slack.users_by_email["lee@contoso.example"] = LEE
    fake_slack.usergroups = [
        {"id": "S0TEAM01", "handle": "release-team", "users": ["U0GRP0001", "U0GRP0002"]}
    ]
    app = create_app(settings_for(fake_slack, database_url), session_factory=factory, clock=clock)
    running = RunningServer(wsgi_app(app, factory, signing_secret=SIGNING_SECRET))
    yield running
    running.close()


def command(server: RunningServer, text: str, user: str = PAT, *, whole: bool = False) -> str:
    """The answer's text (``whole``: its blocks too)."""
    body = slash_body(text, user=user, channel=HERE)
    status, raw = post(server.url + "/slack/events", body, sign(body))
    assert status == 200
    answer = json.loads(raw)
    return json.dumps(answer) if whole else str(answer["text"])


def owners(factory: db.SessionFactory) -> list[tuple[str, str, str]]:
    with factory() as session:
        rows = session.exec(select(OfferOwner).order_by(OfferOwner.id)).all()  # type: ignore[arg-type]
        return [(r.target_key.split(":")[0], r.owner_kind, r.owner) for r in rows]


def test_an_admin_sets_owners_with_escaped_mentions_and_the_channel_is_told(
    server: RunningServer, fake_slack: FakeSlack, factory: db.SessionFactory
) -> None:
    said = command(server, ADD)
    assert "<@U0USER001> made <@U0USER001>, lee@contoso.example, <!subteam^S0TEAM01> owners of" in said
    assert owners(factory) == [
        ("offer", "user", PAT),
        ("offer", "email", "lee@contoso.example"),
        ("offer", "usergroup", "S0TEAM01"),
    ]
    note = wait_until(
        lambda: [c.body for c in fake_slack.calls_to("chat.postMessage") if c.body["channel"] == HERE]
    )
    assert "made <@U0USER001>, lee@contoso.example, <!subteam^S0TEAM01> owners" in note[0]["text"]
    again = command(server, "owners contoso-analytics-vm add <@U0USER001|pat>")
    assert "Already owners: <@U0USER001>." in again
    listed = command(server, "owners Contoso Analytics VM", user=SAM)  # anyone may look
    for who in (
        "<@U0USER001>",
        "lee@contoso.example",
        "<!subteam^S0TEAM01>",
        "marketplace-ops@contoso.example",
    ):
        assert who in listed, who
    assert "From its status document (notificationEmails)" in listed
    body = slash_body("history contoso-analytics-vm", user=SAM, channel=HERE)
    history = json.dumps(json.loads(post(server.url + "/slack/events", body, sign(body))[1])["blocks"])
    assert (
        "Owners (they get its direct messages): marketplace-ops@contoso.example, <@U0USER001>, "
        "<!subteam^S0TEAM01>, lee@contoso.example"
    ) in history
    removed = command(
        server, "owners contoso-analytics-vm remove <mailto:lee@contoso.example|lee@contoso.example>"
    )
    assert "removed lee@contoso.example from the owners" in removed
    assert ("offer", "email", "lee@contoso.example") not in owners(factory)


def test_a_member_may_look_but_not_change_and_nothing_is_written(
    server: RunningServer, fake_slack: FakeSlack, factory: db.SessionFactory
) -> None:
    said = command(server, ADD, user=SAM)
    assert "only workspace admins and owners and offerbot's managers may change an offer's owners" in said
    assert owners(factory) == []
    fake_slack.locales["U0USER003"] = "fr-FR"
    french = command(server, "owners contoso-analytics-vm add <@U0USER001|pat>", user="U0USER003")
    assert "peuvent changer les propriétaires d’une offre" in french
    unknown = command(server, "owners contoso-analytics-vm add @pat")
    assert "is not someone Slack knows" in unknown and owners(factory) == []


def dm_destinations(factory: db.SessionFactory) -> set[str]:
    with factory() as session:
        rows = session.exec(
            select(Delivery.destination).where(Delivery.destination_kind == DestinationKind.USER)
        ).all()
    return set(rows)


def test_owners_set_in_slack_get_the_offers_dms_and_a_group_is_read_when_the_alert_is_sent(
    server: RunningServer, fake_slack: FakeSlack, factory: db.SessionFactory, clock: Clock, watch_client: Any
) -> None:
    command(server, ADD)
    command(server, "owners publisher:contoso add <@U0PUB0001|publisher-lead>")
    passes(factory, watch_client, clock)
    clock.advance(minutes=5)
    load(factory, doc(contoso("failed")), clock)
    passes(factory, watch_client, clock)
    expected = {OPS, PAT, LEE, "U0GRP0001", "U0GRP0002", "U0PUB0001"}
    assert dm_destinations(factory) == expected
    assert fake_slack.calls_to("usergroups.users.list"), "the group's members, asked at send time"
    # the group changes: the next alert goes to whoever is in it then
    fake_slack.usergroups[0]["users"] = ["U0GRP0003"]
    clock.advance(minutes=5)
    load(factory, doc(contoso("waitingForPublisherReview")), clock)
    passes(factory, watch_client, clock)
    assert "U0GRP0003" in dm_destinations(factory)


def test_the_home_tab_shows_an_offer_to_whoever_was_made_its_owner(
    server: RunningServer, fake_slack: FakeSlack, factory: db.SessionFactory, clock: Clock
) -> None:
    from tests.e2e.test_home import open_home, published, text_of

    load(factory, doc(contoso("failed")), clock)
    fake_slack.roles["U0NEW0001"] = set()
    open_home(server, "U0NEW0001")
    assert "Contoso Analytics VM" not in text_of(published(fake_slack))
    command(server, "owners publisher:contoso add <@U0NEW0001|new>")
    open_home(server, "U0NEW0001")
    assert "Contoso Analytics VM" in text_of(published(fake_slack, 2))


def test_the_digest_names_owners_set_in_slack_under_needs_whom(
    server: RunningServer, factory: db.SessionFactory, clock: Clock
) -> None:
    from storage.alerts.subscriptions import Target
    from tests.support.alerts import offer_pk, sub_channel

    load(factory, doc(contoso("failed")), clock)
    sub_channel(
        factory, Target(kind="offer", offer_pk=offer_pk(factory, "contoso-analytics-vm")), clock, channel=HERE
    )
    before = command(server, "digest", whole=True)
    assert "<@U0USER001>" not in before
    command(server, "owners contoso-analytics-vm add <@U0USER001|pat>")
    after = command(server, "digest", whole=True)
    assert "for its owners" in after and "<@U0USER001>" in after, after

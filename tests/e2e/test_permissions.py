"""Who may do what, through signed slash commands against the real app and the fake Slack: guests,
members, admins and owners, the managers list (user ids and @usergroup handles), who may remove a
subscription, and what happens when Slack cannot say who someone is."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.http.server import wsgi_app
from bot.settings import Settings
from bot.slack.app import create_app
from bot.usecases.access import AccessPolicy, Action, Actor, PermissionDenied, check, check_removal
from storage import db
from storage.alerts.subscriptions import Target, subscribe
from storage.models import ChannelSettings, Subscription
from tests.conftest import NOW, SIGNING_SECRET, TEAM, RunningServer, load_samples, post, sign, slash_body
from tests.support.fakeslack import FakeSlack, wait_until

Ask = Callable[..., dict[str, Any]]


def ask_as(server: RunningServer) -> Ask:
    def ask(text: str, *, user: str) -> dict[str, Any]:
        body = slash_body(text).replace(b"U0USER001", user.encode())
        status, raw = post(server.url + "/slack/events", body, sign(body))
        assert status == 200
        return dict(json.loads(raw))

    return ask


@pytest.fixture
def make_server(fake_slack: FakeSlack, engine: Engine, database_url: str) -> Iterator[Callable[..., Ask]]:
    servers: list[RunningServer] = []
    factory = db.session_factory(engine)
    load_samples(factory)

    def start(**settings: Any) -> Ask:
        config = Settings(
            slack_bot_token="xoxb-perm",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake_slack.url,
            database_url=database_url,
            **settings,
        )
        app = create_app(config, session_factory=factory)
        servers.append(RunningServer(wsgi_app(app, factory, signing_secret=SIGNING_SECRET)))
        return ask_as(servers[-1])

    yield start
    for server in servers:
        server.close()


def channel_rows(engine: Engine) -> int:
    with db.session_factory(engine)() as s:
        return len(s.exec(select(Subscription)).all()) + len(s.exec(select(ChannelSettings)).all())


def test_rules() -> None:
    member, admin, guest = Actor("U1"), Actor("U2", is_manager=True), Actor("U3", is_guest=True)
    unknown = Actor("U4", known=False)
    closed, open_guests, managed = (
        AccessPolicy(),
        AccessPolicy(allow_guests=True),
        AccessPolicy(managers_only=True),
    )
    for action in Action:
        if action not in (Action.PUBLISH, Action.SET_OWNERS, Action.CONNECTIONS):
            check(member, action, closed)
        check(admin, action, managed)
        with pytest.raises(PermissionDenied):
            check(guest, action, closed)
    check(guest, Action.QUERY, open_guests)
    with pytest.raises(PermissionDenied, match="guests may look offers up"):
        check(guest, Action.OWN_ALERTS, open_guests)
    with pytest.raises(PermissionDenied, match="admins and owners"):
        check(member, Action.CHANNEL_CHANGE, managed)
    for policy in (closed, managed):  # publishing is for admins, owners and managers, list or no list
        with pytest.raises(PermissionDenied, match="may publish an offer from Slack"):
            check(member, Action.PUBLISH, policy)
        with pytest.raises(PermissionDenied, match="may change an offer's owners"):
            check(member, Action.SET_OWNERS, policy)
        with pytest.raises(PermissionDenied, match="may change Partner Center connections"):
            check(member, Action.CONNECTIONS, policy)
    check(admin, Action.PUBLISH, closed)
    check(unknown, Action.QUERY, closed)
    with pytest.raises(PermissionDenied, match="try again"):
        check(unknown, Action.CHANNEL_CHANGE, closed)
    check_removal(member, created_by="U1", policy=closed)
    check_removal(admin, created_by="U1", policy=closed)
    with pytest.raises(PermissionDenied, match="<@U1> made this subscription"):
        check_removal(Actor("U9"), created_by="U1", policy=closed)


def test_guests_are_refused_unless_allowed_and_then_only_query(
    make_server: Callable[..., Ask], fake_slack: FakeSlack, engine: Engine
) -> None:
    fake_slack.roles["U0GUEST"] = {"is_restricted"}
    ask = make_server()
    assert "not open to guests" in ask("woodgrove", user="U0GUEST")["text"]
    assert "not open to guests" in ask("subscribe all", user="U0GUEST")["text"]
    ask = make_server(offerbot_allow_guests=True)
    assert "Woodgrove" in ask("woodgrove", user="U0GUEST")["text"]
    assert "look offers up, nothing more" in ask("notify-me all", user="U0GUEST")["text"]
    assert "look offers up, nothing more" in ask("settings threading off", user="U0GUEST")["text"]
    assert channel_rows(engine) == 0


def test_managers_list_reserves_channel_changes(
    make_server: Callable[..., Ask], fake_slack: FakeSlack, engine: Engine
) -> None:
    fake_slack.roles["U0ADMIN"] = {"is_admin"}
    fake_slack.usergroups = [{"id": "S0REL", "handle": "release-team", "users": ["U0RELEASE"]}]
    ask = make_server(offerbot_managers="U0LISTED, @release-team")
    refused = ask("settings threading off", user="U0MEMBER")["text"]
    assert "only workspace admins and owners and offerbot's managers" in refused
    assert "Woodgrove" in ask("woodgrove", user="U0MEMBER")["text"]  # members still query
    assert "direct message" in ask("notify-me all", user="U0MEMBER")["text"]  # and alert themselves
    for manager in ("U0ADMIN", "U0LISTED", "U0RELEASE"):
        assert "new messages" in ask("settings threading off", user=manager)["text"], manager
    assert "I will confirm in the channel" in ask("subscribe all", user="U0RELEASE")["text"]
    assert "only workspace admins" in ask("subscribe all", user="U0MEMBER")["text"]
    # the settings row, the member's own notify-me, and the one channel subscription (by the manager)
    wait_until(lambda: channel_rows(engine) == 3)
    with db.session_factory(engine)() as s:
        (channel_sub,) = s.exec(select(Subscription).where(Subscription.destination_kind == "channel")).all()
        assert channel_sub.created_by == "U0RELEASE"


def test_only_the_creator_admins_and_managers_remove_a_subscription(
    make_server: Callable[..., Ask], fake_slack: FakeSlack, engine: Engine
) -> None:
    fake_slack.roles["U0OWNER"] = {"is_owner"}
    with db.transaction(db.session_factory(engine)) as s:
        subscribe(
            s,
            team_id=TEAM,
            destination_kind="channel",
            destination="C0CHAN001",
            target=Target(kind="all"),
            events=(),
            created_by="U0CREATOR",
            now=NOW,
        )
    ask = make_server()
    refused = ask("unsubscribe all", user="U0OTHER")["text"]
    assert "<@U0CREATOR> made this subscription" in refused
    assert channel_rows(engine) == 1
    assert fake_slack.calls_to("chat.postMessage") == []  # nothing changed, nothing announced
    assert "no longer gets alerts" in ask("unsubscribe all", user="U0OWNER")["text"]
    assert channel_rows(engine) == 0
    # The change is announced in the channel: who, and what.
    (note,) = fake_slack.wait_for("chat.postMessage")
    assert note.body["channel"] == "C0CHAN001"
    assert note.body["text"] == ":gear: <@U0OWNER> unsubscribed this channel from alerts for all offers."


def test_settings_changes_are_announced_in_the_channels_language(
    make_server: Callable[..., Ask], fake_slack: FakeSlack
) -> None:
    ask = make_server()
    ask("settings language fr", user="U0MEMBER")
    ask("settings threading off", user="U0MEMBER")
    posted = sorted(c.body["text"] for c in fake_slack.wait_for("chat.postMessage", count=2))
    assert posted[0] == ":gear: <@U0MEMBER> a choisi le français pour les alertes de ce canal."
    assert posted[1].startswith(":gear: <@U0MEMBER> a désactivé les fils")


def test_when_slack_cannot_say_who_you_are_changes_wait(
    make_server: Callable[..., Ask], fake_slack: FakeSlack, engine: Engine
) -> None:
    ask = make_server()
    fake_slack.outage("users.info")
    started = time.perf_counter()
    assert "Woodgrove" in ask("woodgrove", user="U0NOBODY")["text"]
    assert "try again in a minute" in ask("settings threading off", user="U0NOBODY")["text"]
    assert time.perf_counter() - started < 2.5
    assert channel_rows(engine) == 0


def test_managers_are_scoped_per_workspace(
    make_server: Callable[..., Ask], fake_slack: FakeSlack, engine: Engine
) -> None:
    """``T...:U...`` and ``T...:@handle`` count in their workspace only: a user group of the same
    handle in another workspace makes nobody a manager here."""
    from bot.slack.roles import Managers

    fake_slack.usergroups = [{"id": "S0REL", "handle": "release-team", "users": ["U0RELEASE"]}]
    ask = make_server(offerbot_managers=f"{TEAM}:U0LISTED, T0OTHER00:@release-team, T0OTHER00:U0ELSEWHERE")
    assert "new messages" in ask("settings threading off", user="U0LISTED")["text"]
    for outsider in ("U0RELEASE", "U0ELSEWHERE"):
        assert "only workspace admins" in ask("settings threading off", user=outsider)["text"], outsider
    managers = Managers.parse(("T0A:U1", "T0A:@Ops", "U2", "@all-hands", "E0GRID:U3"))
    assert managers.users_in("T0A") == {"U1", "U2"} and managers.users_in("T0B") == {"U2"}
    assert managers.handles_in("T0A") == {"ops", "all-hands"} and managers.handles_in("T0B") == {"all-hands"}
    assert managers.users_in("E0GRID") == {"U2", "U3"}


def test_an_unscoped_handle_is_refused_at_start_in_multi_workspace_mode() -> None:
    from bot.settings import Settings
    from storage.errors import ConfigError

    multi = {"slack_client_id": "1.2", "slack_client_secret": "s", "slack_signing_secret": "x"}
    with pytest.raises(ConfigError, match=r"OFFERBOT_MANAGERS: @release-team must name its workspace"):
        Settings(**multi, offerbot_managers="T0A:U1, @release-team").require_slack()
    Settings(**multi, offerbot_managers="T0A:U1, T0A:@release-team, U2").require_slack()
    Settings(
        slack_bot_token="xoxb-1", slack_signing_secret="x", offerbot_managers="@release-team"
    ).require_slack()

"""The Home tab: ``app_home_opened`` as a real signed Events API request, clicks on the tab as signed
``block_actions`` with a ``view`` container, and what the fake Slack received (``views.publish``,
``views.open``, ``chat.update``). Runs on SQLite and, where TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlmodel import select

from bot.i18n import ENGLISH
from bot.render.home import render_home
from bot.usecases.home import home_of
from storage import db
from storage.alerts.subscriptions import Target, subscribe
from storage.alerts.work import handling_of
from storage.models import AlertThread, EmailUser, Offer, Subscription
from tests.conftest import NOW, TEAM, RunningServer, post, sign, trigger_id
from tests.support.alerted import button, snooze_choice
from tests.support.alerts import CHANNEL, OPS, offer_pk
from tests.support.fakeslack import FakeSlack

NOBODY = "U0NOBODY1"


def open_home(server: RunningServer, user: str, tab: str = "home") -> None:
    payload = {
        "token": "legacy",
        "team_id": TEAM,
        "api_app_id": "A0APP0001",
        "type": "event_callback",
        "event_id": f"Ev{time.time_ns()}",
        "event_time": int(time.time()),
        "event": {
            "type": "app_home_opened",
            "user": user,
            "channel": "D0HOME001",
            "tab": tab,
            "event_ts": "1.2",
        },
    }
    body = json.dumps(payload).encode()
    headers = {**sign(body), "Content-Type": "application/json"}
    assert post(server.url + "/slack/events", body, headers)[0] == 200


def home_click(server: RunningServer, action: dict[str, Any], user: str = OPS) -> str:
    """Click on the Home tab; the click's trigger id."""
    trigger = trigger_id()
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "fake"},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A0APP0001",
        "token": "legacy",
        "container": {"type": "view", "view_id": "V0HOME001"},
        "trigger_id": trigger,
        "view": {"id": "V0HOME001", "type": "home", "blocks": []},
        "actions": [{"block_id": "b1", "action_ts": "1.2", **action}],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert post(server.url + "/slack/events", body, sign(body))[0] == 200
    return trigger


def published(fake: FakeSlack, count: int = 1) -> dict[str, Any]:
    call = fake.wait_for("views.publish", count)[-1]
    view = call.body["view"]
    return dict(json.loads(view) if isinstance(view, str) else view)


def text_of(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def test_opening_home_shows_what_needs_you_and_whats_publishing(
    alerted: dict[str, Any], app_server: RunningServer, fake_slack: FakeSlack
) -> None:
    open_home(app_server, OPS)
    view = published(fake_slack)
    assert view["type"] == "home"
    shown = text_of(view)
    assert "Needs you (1)" in shown and "Contoso Analytics VM" in shown and "Publish failed" in shown
    assert "Step: Certification (blocked)" in shown
    needs = [
        b
        for b in view["blocks"]
        if b["type"] == "actions" and b["elements"][0]["action_id"] == "open_offer_status"
    ]
    assert [e["action_id"] for e in needs[0]["elements"]] == [
        "open_offer_status",
        "alert_on_it",
        "alert_snooze",
    ]
    assert "Publishing now (0)" in shown
    assert "No alerts of yours" in shown
    assert "In this workspace: " in shown and "Publish failed: " in shown
    assert view["blocks"][-1]["elements"][0]["action_id"] == "home_refresh"


def test_someone_with_nothing_sees_how_to_start_and_the_messages_tab_publishes_nothing(
    alerted: dict[str, Any], app_server: RunningServer, fake_slack: FakeSlack
) -> None:
    open_home(app_server, NOBODY, tab="messages")
    open_home(app_server, NOBODY)
    (call,) = fake_slack.wait_for("views.publish", 1)
    assert call.body["user_id"] == NOBODY
    shown = text_of(published(fake_slack))
    assert "Nothing here is yours yet" in shown and "notify-me" in shown and "subscribe" in shown


def test_on_it_and_snooze_from_home_act_on_every_open_alert_of_the_offer(
    alerted: dict[str, Any], app_server: RunningServer, fake_slack: FakeSlack, factory: db.SessionFactory
) -> None:
    pk = str(offer_pk(factory, "contoso-analytics-vm"))
    home_click(app_server, button("alert_on_it", pk))
    updated = {c.body["channel"] for c in fake_slack.wait_for("chat.update", 2)}
    assert updated == {CHANNEL, alerted["dm"]}  # the channel's alert and the owner's DM
    assert "Done: the 2 alerts about *Contoso Analytics VM* show it." in text_of(published(fake_slack))
    home_click(app_server, snooze_choice(f"{pk}:4h"))
    assert len(fake_slack.wait_for("chat.update", 4)) == 4
    assert "Snoozed until" in json.dumps(fake_slack.calls_to("chat.update")[-1].body["blocks"])


def test_show_status_from_home_opens_the_card_in_a_modal(
    alerted: dict[str, Any], app_server: RunningServer, fake_slack: FakeSlack, factory: db.SessionFactory
) -> None:
    sent = home_click(app_server, button("open_offer_status", str(offer_pk(factory, "contoso-analytics-vm"))))
    (call,) = fake_slack.wait_for("views.open", 1)
    view = call.body["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert call.body["trigger_id"] == sent and view["type"] == "modal"
    assert "Contoso Analytics VM" in json.dumps(view["blocks"])


def test_remove_from_home_drops_the_setting_and_republishes(
    alerted: dict[str, Any], app_server: RunningServer, fake_slack: FakeSlack, factory: db.SessionFactory
) -> None:
    with db.transaction(factory) as s:
        subscribe(
            s,
            team_id=TEAM,
            destination_kind="user",
            destination=OPS,
            target=Target(kind="publisher", publisher_id="fabrikam"),
            events=(),
            created_by=OPS,
            now=NOW,
        )
    open_home(app_server, OPS)
    view = published(fake_slack)
    (entry,) = [b for b in view["blocks"] if b.get("accessory", {}).get("action_id") == "home_remove_alert"]
    assert "Direct messages about publisher `fabrikam`" in entry["text"]["text"]
    home_click(
        app_server, {"action_id": "home_remove_alert", "type": "button", "value": entry["accessory"]["value"]}
    )
    after = published(fake_slack, 2)
    assert "home_remove_alert" not in text_of(after)
    with factory() as s:
        assert s.exec(select(Subscription).where(Subscription.destination == OPS)).all() == []
    # someone else's setting, or one already gone: explained on the tab, nothing removed
    home_click(
        app_server, {"action_id": "home_remove_alert", "type": "button", "value": entry["accessory"]["value"]}
    )
    assert "already gone" in text_of(published(fake_slack, 3))


def test_a_home_with_500_offers_stays_inside_slacks_limits(factory: db.SessionFactory) -> None:
    """500 offers of one owner (half failed, half in progress, long names): the view keeps to 100
    blocks, 3,000 characters a section, 150 a header, 75 a button's text."""
    from tests.conftest import load_samples

    load_samples(factory)
    with db.transaction(factory) as s:
        template = s.exec(select(Offer).where(Offer.offer_id == "contoso-analytics-vm")).one()
        for i in range(500):
            s.add(
                Offer(
                    team_id=TEAM,
                    publisher_id="bulk",
                    offer_id=f"bulk-{i:04d}",
                    name=f"{'Very long offer name ' * 12}{i}",
                    offer_type=template.offer_type,
                    publish_status="x",
                    listing="listed",
                    status="failed" if i % 2 else "in_progress",
                    notification_emails=f"team@bulk.example, owner{i}@bulk.example",
                    status_changed_at=NOW - timedelta(hours=i),
                    updated_at=NOW,
                    content_hash="x",
                )
            )
        s.add(EmailUser(team_id=TEAM, email="team@bulk.example", user_id="U0BULK001", looked_up_at=NOW))
        for i in range(40):
            subscribe(
                s,
                team_id=TEAM,
                destination_kind="channel",
                destination=f"C{i:08d}",
                target=Target(kind="publisher", publisher_id=f"p{i}"),
                events=(),
                created_by="U0BULK001",
                now=NOW,
            )
    with factory() as s:
        home = home_of(s, team_id=TEAM, user_id="U0BULK001")
    assert home.needs_total == 250 and home.publishing_total == 250
    view = render_home(home, tr=ENGLISH)
    blocks = view["blocks"]
    assert len(blocks) <= 100
    shown = json.dumps(blocks)
    assert "and 240 more: `/offer-status list failed`" in shown
    assert "and 240 more: `/offer-status list in-progress`" in shown
    assert "and 20 more: `/offer-status subscriptions`" in shown
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        for element in block.get("elements", []):
            if element.get("type") == "button":
                assert len(element["text"]["text"]) <= 75
    assert len(json.dumps(view)) < 250_000  # Slack's limit on a view


def test_a_guest_gets_a_home_tab_that_says_why_it_is_empty(
    alerted: dict[str, Any], app_server: RunningServer, fake_slack: FakeSlack
) -> None:
    fake_slack.roles["U0GUEST01"] = {"is_restricted"}
    open_home(app_server, "U0GUEST01")
    shown = text_of(published(fake_slack))
    assert "not open to guests" in shown and "Contoso" not in shown and "In this workspace" not in shown


def test_from_home_someone_else_acts_on_channel_alerts_never_on_anothers_dm(
    alerted: dict[str, Any], app_server: RunningServer, fake_slack: FakeSlack, factory: db.SessionFactory
) -> None:
    pk = str(offer_pk(factory, "contoso-analytics-vm"))
    home_click(app_server, button("alert_on_it", pk), user="U0OTHER01")
    (update,) = fake_slack.wait_for("chat.update", 1)
    assert update.body["channel"] == CHANNEL  # the owner's DM alert is theirs alone
    published(fake_slack)
    assert [c.body["channel"] for c in fake_slack.calls_to("chat.update")] == [CHANNEL]


def test_an_address_inside_another_does_not_make_an_offer_yours(factory: db.SessionFactory) -> None:
    from tests.conftest import load_samples

    load_samples(factory)
    with db.transaction(factory) as s:
        offer = s.exec(select(Offer).where(Offer.offer_id == "contoso-analytics-vm")).one()
        offer.notification_emails = "jimbob@contoso.example, bob@contoso.example.au"
        s.add(offer)
        s.add(EmailUser(team_id=TEAM, email="bob@contoso.example", user_id="U0BOB0001", looked_up_at=NOW))
    with factory() as s:
        assert home_of(s, team_id=TEAM, user_id="U0BOB0001").owns_nothing
    with db.transaction(factory) as s:
        offer = s.exec(select(Offer).where(Offer.offer_id == "contoso-analytics-vm")).one()
        offer.notification_emails = "jimbob@contoso.example,  Bob@Contoso.example"
        s.add(offer)
    with factory() as s:
        assert home_of(s, team_id=TEAM, user_id="U0BOB0001").publishing_total == 1


def test_from_home_nobody_acts_on_a_private_channels_alert_without_being_in_it(
    alerted: dict[str, Any], app_server: RunningServer, fake_slack: FakeSlack, factory: db.SessionFactory
) -> None:
    """A member who is not in a private channel cannot take or snooze its alert (and so stop its
    reminders) from the Home tab; a member of it can."""
    fake_slack.private_channels.add(CHANNEL)
    fake_slack.channel_members[CHANNEL] = ["U0MEMBER"]
    pk = str(offer_pk(factory, "contoso-analytics-vm"))
    home_click(app_server, button("alert_on_it", pk), user="U0OTHER01")
    refused = json.dumps(published(fake_slack))
    assert "are in channels you are not a member of" in refused
    home_click(app_server, snooze_choice(f"{pk}:1w"), user="U0OTHER01")
    published(fake_slack, 2)
    assert fake_slack.calls_to("chat.update") == [], "nothing changed on the channel's alert"
    with factory() as s:
        thread = s.exec(select(AlertThread).where(AlertThread.destination == CHANNEL)).one()
        assert handling_of(s, thread=thread).takers == [] and thread.snoozed_until is None
    home_click(app_server, button("alert_on_it", pk), user="U0MEMBER")
    (update,) = fake_slack.wait_for("chat.update", 1)
    assert update.body["channel"] == CHANNEL

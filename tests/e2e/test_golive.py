"""*Go live* end to end: an offer read from the fake Partner Center awaits sign-off; its alert, posted
by the real watcher into the fake Slack, carries *Go live*; a manager clicks it (a real signed
``block_actions`` request through waitress and Bolt), the modal opens and is filled with the preview
submission read from Microsoft, the manager submits it (a signed ``view_submission``), one
``configure`` request reaches Microsoft however often it is submitted (and after a restart), the
thread says it is on its way and the alert says who asked; the jobs process follows the job on a test
clock and posts the outcome in the thread. A member who is not a manager is told who may."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.alerting.outcomes import WatcherConfig
from bot.http.server import wsgi_app
from bot.i18n import Language
from bot.jobs.golive import GoLiveJob
from bot.settings import Settings
from bot.slack.app import create_app
from bot.slack.clients import OneWorkspace
from bot.sources import build_sources, publishers_for
from bot.usecases.sync import sync_pass
from storage import db
from storage.alerts.subscriptions import Target, subscribe
from storage.models import Offer, OfferAction
from storage.workspaces import bind_default_workspace
from tests.conftest import (
    NOW,
    SIGNING_SECRET,
    TEAM,
    RunningServer,
    post,
    sign,
    slash_body,
    view_submission,
)
from tests.support.alerted import PAT, SAM, button, click, texts
from tests.support.alerts import passes
from tests.support.clock import Clock
from tests.support.fakems import PC, FakeMicrosoft, submission
from tests.support.fakeslack import FakeSlack, wait_until

CHANNEL = "C0GOLIVE1"
CREATED = "2026-11-20T20:07:22.4220588Z"


@pytest.fixture
def fake_ms() -> Iterator[FakeMicrosoft]:
    fake = FakeMicrosoft().start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(fake_ms: FakeMicrosoft, fake_slack: FakeSlack, database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.url,
        database_url=database_url,
        **fake_ms.settings(
            tmp_path,
            partner_center_publisher_id="contoso",
            partner_center_notification_emails="pat@contoso.example",
            offerbot_go_live=True,
        ),
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def app_for(settings: Settings, factory: db.SessionFactory, clock: Clock) -> RunningServer:
    app = create_app(settings, session_factory=factory, clock=clock)
    return RunningServer(wsgi_app(app, factory, signing_secret=SIGNING_SECRET))


@pytest.fixture
def server(settings: Settings, factory: db.SessionFactory, clock: Clock) -> Iterator[RunningServer]:
    running = app_for(settings, factory, clock)
    yield running
    running.close()


@pytest.fixture
def signoff(
    factory: db.SessionFactory,
    fake_ms: FakeMicrosoft,
    fake_slack: FakeSlack,
    settings: Settings,
    clock: Clock,
) -> dict[str, Any]:
    """contoso-saas awaits sign-off; its alert is in CHANNEL, with *Go live*; PAT is an admin."""
    fake_slack.roles[PAT] = {"is_admin"}
    fake_slack.users_by_email["pat@contoso.example"] = PAT
    with db.transaction(factory) as session:
        bind_default_workspace(session, team_id=TEAM, now=NOW)
        subscribe(
            session,
            team_id=TEAM,
            destination_kind="channel",
            destination=CHANNEL,
            target=Target(kind="all"),
            events=(),
            created_by=PAT,
            now=NOW,
        )
    g = fake_ms.add_product(1, "contoso-saas", "Contoso SaaS")
    sources = build_sources(settings)
    sync_pass(session_factory=factory, sources=sources, clock=clock, force=True)
    from bot.slack.app import make_client

    client = make_client(settings)
    passes(factory, client, clock, config=WatcherConfig(go_live=True))
    clock.advance(minutes=5)
    preview = submission(g, 7, "preview", "completed", "succeeded", CREATED)
    fake_ms.set_submissions(g, preview)
    sync_pass(session_factory=factory, sources=sources, clock=clock, force=True)
    passes(factory, client, clock, config=WatcherConfig(go_live=True))
    (alert,) = [c.body for c in fake_slack.calls_to("chat.postMessage") if c.body["channel"] == CHANNEL]
    with factory() as session:
        pk = session.exec(select(Offer.id).where(Offer.offer_id == "contoso-saas")).one()
    return {
        "alert": alert,
        "ts": fake_slack.messages[CHANNEL][0]["ts"],
        "pk": str(pk),
        "preview": preview["id"],
        "client": client,
        "clock": clock,
        "sources": sources,
    }


def view_of(call_body: dict[str, Any]) -> dict[str, Any]:
    view = call_body["view"]
    return json.loads(view) if isinstance(view, str) else view


def submit(
    server: RunningServer, view: dict[str, Any], *, user: str = PAT, view_id: str = "V0GOLIVE1"
) -> dict[str, Any]:
    """A ``view_submission`` as Slack sends it when the confirmation is submitted."""
    return view_submission(
        server.url,
        callback_id=view["callback_id"],
        metadata=view["private_metadata"],
        user=user,
        view_id=view_id,
    )


def configure_posts(fake: FakeMicrosoft) -> list[Any]:
    return [c for c in fake.calls_to(PC + "/configure") if c.method == "POST"]


def confirmation(server: RunningServer, fake_slack: FakeSlack, signoff: dict[str, Any]) -> dict[str, Any]:
    """Click *Go live* on the alert: the waiting modal, then the confirmation in its place."""
    before = len(fake_slack.calls_to("views.update"))
    click(server, fake_slack, button("offer_go_live", signoff["pk"]), channel=CHANNEL, ts=signoff["ts"])
    (opened,) = fake_slack.wait_for("views.open")[-1:]
    update = fake_slack.wait_for("views.update", before + 1)[-1]
    assert update.body["external_id"] == view_of(opened.body)["external_id"], "the same modal, filled in"
    return view_of(update.body)


def test_a_manager_goes_live_from_the_alert_and_the_outcome_is_in_its_thread(
    signoff: dict[str, Any],
    server: RunningServer,
    fake_slack: FakeSlack,
    fake_ms: FakeMicrosoft,
    factory: db.SessionFactory,
    settings: Settings,
) -> None:
    (actions,) = [b for b in signoff["alert"]["blocks"] if b["type"] == "actions"]
    assert "offer_go_live" in [e["action_id"] for e in actions["elements"]], (
        "the sign-off alert carries Go live"
    )
    view = confirmation(server, fake_slack, signoff)
    shown = json.dumps(view)
    assert view["callback_id"] == "offer_go_live_confirm" and view["submit"]["text"] == "Go live"
    assert signoff["preview"] in shown and "Contoso SaaS" in shown and "cannot be undone from Slack" in shown
    assert configure_posts(fake_ms) == []
    answer = submit(server, view)
    assert answer["response_action"] == "update" and "Sending the request" in json.dumps(answer)
    wait_until(lambda: len(configure_posts(fake_ms)) == 1)
    thread_post = wait_until(
        lambda: next(
            (
                c.body
                for c in fake_slack.calls_to("chat.postMessage")
                if c.body.get("thread_ts") == signoff["ts"]
            ),
            None,
        )
    )
    assert f"<@{PAT}> asked Partner Center to publish *Contoso SaaS* live" in thread_post["text"]
    (update,) = fake_slack.wait_for("chat.update", 1)
    assert f"Going live, requested by <@{PAT}>" in texts(update.body["blocks"])
    assert "offer_go_live" not in json.dumps(update.body["blocks"]), "no second button while it goes"
    # a second click on an alert that still shows the button, a double submit, then a restart and a
    # submit again: still one request
    before = len(fake_slack.calls_to("views.update"))
    click(server, fake_slack, button("offer_go_live", signoff["pk"]), channel=CHANNEL, ts=signoff["ts"])
    second = fake_slack.wait_for("views.update", before + 1)[-1]
    assert "already asked to publish" in json.dumps(second.body), "the second click is told, nothing sent"
    submit(server, view)
    restarted = app_for(settings, factory, signoff["clock"])
    try:
        submit(restarted, view)
        refusals = wait_until(
            lambda: (
                [c for c in fake_slack.calls_to("views.update") if "already asked" in json.dumps(c.body)][1:]
                or None
            )
        )
        assert refusals
    finally:
        restarted.close()
    assert len(configure_posts(fake_ms)) == 1, "one request only"
    # the jobs process follows the job on its clock, and says how it ended in the thread
    publishers = publishers_for(settings)
    assert publishers is not None
    clock = signoff["clock"]
    job = GoLiveJob(factory, publishers, OneWorkspace(signoff["client"]), language=Language.EN, clock=clock)
    fake_slack.fail("chat.postMessage", status=503, times=3)  # Slack is down when the job ends

    def replies() -> list[dict[str, Any]]:
        posts = fake_slack.calls_to("chat.postMessage")
        return [c.body for c in posts if c.body.get("thread_ts") == signoff["ts"] and c.body.get("blocks")]

    ended = 0
    for _ in range(10):
        clock.advance(minutes=1)
        ended += job()
    assert ended == 1
    told = [r for r in replies() if "was published live" in r["text"]]
    assert "*Contoso SaaS* was published live" in told[-1]["text"]
    assert len(told) == 4, "three refused (one run, slack_sdk's retries), then told at the next run"
    job()
    assert len([r for r in replies() if "was published live" in r["text"]]) == len(told), "told once"
    with factory() as session:
        actions = [(a.action, a.user_id) for a in session.exec(select(OfferAction)).all()]
    assert actions == [("go_live", PAT), ("go_live_ok", PAT)]


def test_someone_who_is_not_a_manager_is_told_who_may_and_no_modal_opens(
    signoff: dict[str, Any], server: RunningServer, fake_slack: FakeSlack, fake_ms: FakeMicrosoft
) -> None:
    click(
        server,
        fake_slack,
        button("offer_go_live", signoff["pk"]),
        channel=CHANNEL,
        ts=signoff["ts"],
        user=SAM,
    )
    (answer,) = fake_slack.wait_for("response_url")
    assert "only workspace admins and owners and offerbot's managers may publish" in answer.body["text"]
    assert fake_slack.calls_to("views.open") == []
    assert configure_posts(fake_ms) == []


def test_the_card_offers_go_live_and_a_newer_preview_is_confirmed_again(
    signoff: dict[str, Any], server: RunningServer, fake_slack: FakeSlack, fake_ms: FakeMicrosoft
) -> None:
    view = confirmation(server, fake_slack, signoff)
    g = next(iter(fake_ms.products))
    newer = submission(g, 9, "preview", "completed", "succeeded", "2026-11-21T08:00:00Z")
    fake_ms.set_submissions(g, newer)
    before = len(fake_slack.calls_to("views.update"))
    submit(server, view)
    again = view_of(fake_slack.wait_for("views.update", before + 1)[-1].body)
    assert "A newer preview appeared" in json.dumps(again) and newer["id"] in json.dumps(again)
    assert configure_posts(fake_ms) == [], "nothing sent for a preview nobody confirmed"
    submit(server, again)
    wait_until(lambda: len(configure_posts(fake_ms)) == 1)
    assert configure_posts(fake_ms)[0].body["resources"][0]["id"] == newer["id"]
    fake_slack.wait_for("chat.update", 1)  # the lazy listener's last call: the alert drawn again


def test_from_the_home_tab_go_live_asks_the_same_and_tells_the_requester_by_dm(
    signoff: dict[str, Any], server: RunningServer, fake_slack: FakeSlack, fake_ms: FakeMicrosoft
) -> None:
    from tests.e2e.test_home import home_click, open_home, published

    open_home(server, PAT)
    home = published(fake_slack)
    buttons = [e for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {"action_id": "offer_go_live", "value": signoff["pk"]}.items() <= next(
        e for e in buttons if e["action_id"] == "offer_go_live"
    ).items(), "Needs you offers Go live for an offer awaiting sign-off"
    home_click(server, button("offer_go_live", signoff["pk"]), user=PAT)
    view = view_of(fake_slack.wait_for("views.update", 1)[-1].body)
    assert view["callback_id"] == "offer_go_live_confirm"
    assert json.loads(view["private_metadata"])["c"] == "", "from the Home tab: no alert thread"
    submit(server, view)
    dm = wait_until(
        lambda: next(
            (c.body for c in fake_slack.calls_to("chat.postMessage") if c.body["channel"] == PAT), None
        )
    )
    assert "asked Partner Center to publish *Contoso SaaS* live" in dm["text"]
    assert len(configure_posts(fake_ms)) == 1


def test_cancel_publish_from_the_alert_while_offerbots_publish_runs(
    signoff: dict[str, Any], server: RunningServer, fake_slack: FakeSlack, fake_ms: FakeMicrosoft
) -> None:
    view = confirmation(server, fake_slack, signoff)
    submit(server, view)
    (update,) = fake_slack.wait_for("chat.update", 1)
    buttons = [e["action_id"] for b in update.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "offer_cancel_publish" in buttons and "offer_go_live" not in buttons
    click(
        server,
        fake_slack,
        button("offer_cancel_publish", signoff["pk"]),
        channel=CHANNEL,
        ts=signoff["ts"],
        user=SAM,
    )
    (refused,) = fake_slack.wait_for("response_url")
    assert "may publish an offer from Slack" in refused.body["text"], "the same people as Go live"
    opened_before = len(fake_slack.calls_to("views.open"))
    click(
        server, fake_slack, button("offer_cancel_publish", signoff["pk"]), channel=CHANNEL, ts=signoff["ts"]
    )
    modal = view_of(fake_slack.wait_for("views.open", opened_before + 1)[-1].body)
    assert modal[
        "callback_id"
    ] == "offer_cancel_publish_confirm" and "Cancel publishing *Contoso SaaS*" in json.dumps(modal)
    submit(server, modal, view_id="V0CANCEL1")
    (job,) = fake_ms.jobs
    wait_until(lambda: [c for c in fake_ms.calls if c.path == f"{PC}/configure/{job}/cancel"])
    told = wait_until(
        lambda: [
            c.body
            for c in fake_slack.calls_to("chat.postMessage")
            if c.body.get("thread_ts") == signoff["ts"] and "cancel the publish" in c.body["text"]
        ]
    )
    assert f"<@{PAT}> asked Microsoft to cancel the publish of *Contoso SaaS*" in told[0]["text"]
    redrawn = fake_slack.wait_for("chat.update", 2)[-1]  # the alert drawn again, with who asked to cancel
    assert f"<@{PAT}> asked to cancel it." in texts(redrawn.body["blocks"])


def test_go_live_from_a_card_in_a_channel_without_the_alert_is_told_by_dm(
    signoff: dict[str, Any], server: RunningServer, fake_slack: FakeSlack, fake_ms: FakeMicrosoft
) -> None:
    """A card is ephemeral: its message is no thread, so the news goes to the DM of who asked."""
    body = slash_body("contoso-saas", user=PAT, channel="C0OTHER01")
    card = json.loads(post(server.url + "/slack/events", body, sign(body))[1])
    (go,) = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert go["action_id"] == "offer_go_live"
    before = len(fake_slack.calls_to("views.update"))
    click(
        server,
        fake_slack,
        button("offer_go_live", signoff["pk"]),
        channel="C0OTHER01",
        ts="1764000000.000900",
    )
    view = view_of(fake_slack.wait_for("views.update", before + 1)[-1].body)
    assert json.loads(view["private_metadata"])["c"] == "C0OTHER01"
    submit(server, view)
    dm = wait_until(
        lambda: next(
            (c.body for c in fake_slack.calls_to("chat.postMessage") if c.body["channel"] == PAT), None
        )
    )
    assert "asked Partner Center to publish *Contoso SaaS* live" in dm["text"]
    assert not [c for c in fake_slack.calls_to("chat.postMessage") if c.body["channel"] == "C0OTHER01"]

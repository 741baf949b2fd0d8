"""Slash commands and button clicks as real signed HTTP requests through waitress and the real Bolt app.
Web API calls go to the fake Slack server on loopback."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.http.server import wsgi_app
from bot.render.lists import LIST_PAGE_ACTION
from bot.settings import Settings
from bot.slack.app import SORRY, create_app
from storage import db
from storage.channels import threading_for
from storage.models import Mute, Offer, SeenRequest, Subscription
from tests.conftest import (
    NOW,
    SIGNING_SECRET,
    RunningServer,
    action_body,
    get,
    load_samples,
    post,
    sign,
    slash_body,
)
from tests.support.fakeslack import FakeSlack, wait_until
from tests.support.settings import settings_for


@pytest.fixture
def server(fake_slack: FakeSlack, engine: Engine, database_url: str) -> Iterator[RunningServer]:
    factory = db.session_factory(engine)
    load_samples(factory)
    app = create_app(settings_for(fake_slack, database_url), session_factory=factory)
    running = RunningServer(wsgi_app(app, factory, signing_secret=SIGNING_SECRET))
    yield running
    running.close()


def command(server: RunningServer, text: str, **kw: Any) -> tuple[int, dict[str, Any], float]:
    body = slash_body(text, **kw)
    started = time.perf_counter()
    status, raw = post(server.url + "/slack/events", body, sign(body))
    elapsed = time.perf_counter() - started
    return status, (json.loads(raw) if raw else {}), elapsed


def test_offer_card_is_the_ack_itself(server: RunningServer, fake_slack: FakeSlack) -> None:
    status, answer, elapsed = command(server, "contoso-analytics-vm")
    assert status == 200 and elapsed < 3
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Contoso Analytics VM (contoso-analytics-vm): Publish in progress")
    steps = next(
        b for b in answer["blocks"] if b.get("text", {}).get("text", "").startswith("*Publishing steps*")
    )
    lines = steps["text"]["text"].splitlines()[1:]
    assert len(lines) == 8
    assert "done" in lines[0] and "in progress" in lines[2] and "not started" in lines[7]
    # The answer needed no Web API call beyond the auth.test at start and the user's locale (asked
    # once, then cached): it never depends on response_url.
    assert [c.method for c in fake_slack.calls] == ["auth.test", "users.info"]
    assert fake_slack.calls[1].body["include_locale"] in (True, "true", "1")


def test_partial_name_shows_review_issue_with_link(server: RunningServer) -> None:
    _, answer, _ = command(server, "woodgrove")
    blob = json.dumps(answer["blocks"])
    assert "Microsoft review" in blob and "rejected" in blob
    assert (
        "<https://solutiontemplates.visualstudio.com/marketplacesolutions/_git/woodgrove/pullrequest/4711|pull request 4711>"
        in blob
    )


def test_list_help_unknown_and_bad_arguments_always_answer(server: RunningServer) -> None:
    _, listing, _ = command(server, "")
    assert "1\u20136 of 6" in json.dumps(listing["blocks"], ensure_ascii=False)
    _, failed, _ = command(server, "list failed")
    assert failed["text"] == "Offers: Publish failed: 1\u20132 of 2"
    _, helped, _ = command(server, "help")
    assert "subscribe" in helped["text"]
    _, bad, _ = command(server, "list whatever")
    assert bad["response_type"] == "ephemeral" and 'unknown status "whatever"' in bad["text"]
    _, missing, _ = command(server, "no such offer at all")
    assert "No offer matches" in missing["text"]
    _, other_team, _ = command(server, "contoso-analytics-vm", team="T0OTHER01")
    assert "No offer" in other_team["text"]


def test_forged_and_stale_requests_get_401(server: RunningServer) -> None:
    body = slash_body("contoso-analytics-vm")
    assert post(server.url + "/slack/events", body, sign(body, secret="wrong"))[0] == 401
    old = int(time.time()) - 6 * 60
    assert post(server.url + "/slack/events", body, sign(body, timestamp=old))[0] == 401
    assert post(server.url + "/slack/events", body, {})[0] == 401
    tampered = slash_body("woodgrove")
    assert post(server.url + "/slack/events", tampered, sign(body))[0] == 401


def test_healthz(server: RunningServer) -> None:
    status, raw = get(server.url + "/healthz")
    assert status == 200 and json.loads(raw) == {"ok": True}
    assert get(server.url + "/nope")[0] == 404


def test_next_page_button_replaces_the_list_through_response_url(
    fake_slack: FakeSlack, engine: Engine, database_url: str
) -> None:
    factory = db.session_factory(engine)
    many = {
        "offers": [
            {
                "publisherId": "p",
                "offerId": f"offer-{i:02}",
                "name": f"Offer {i:02}",
                "offerType": "saas",
                "status": {"status": "failed" if i % 2 else "running", "steps": []},
            }
            for i in range(45)
        ]
    }
    load_samples(factory, text=json.dumps(many))
    app = create_app(settings_for(fake_slack, database_url), session_factory=factory)
    running = RunningServer(wsgi_app(app, factory, signing_secret=SIGNING_SECRET))
    try:
        _, first, _ = command(running, "list")
        buttons = first["blocks"][-1]["elements"]
        assert [b["text"]["text"] for b in buttons] == ["Next"]
        body = action_body(buttons[0]["value"], buttons[0]["action_id"], response_url=fake_slack.response_url)
        status, _ = post(running.url + "/slack/events", body, sign(body))
        assert status == 200
        (call,) = fake_slack.wait_for("response_url")
        assert call.body["replace_original"] is True
        assert call.body["text"] == "Offers: 21\u201340 of 45"
        assert [b["text"]["text"] for b in call.body["blocks"][-1]["elements"]] == ["Previous", "Next"]
        stale = action_body("{broken", f"{LIST_PAGE_ACTION}:20", response_url=fake_slack.response_url)
        post(running.url + "/slack/events", stale, sign(stale))
        calls = fake_slack.wait_for("response_url", 2)
        assert "out of date" in calls[1].body["text"]
    finally:
        running.close()


def test_unexpected_errors_are_logged_and_answered_without_a_trace(
    fake_slack: FakeSlack, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_factory() -> Any:
        raise RuntimeError("database exploded")

    app = create_app(settings_for(fake_slack, database_url), session_factory=broken_factory)
    running = RunningServer(wsgi_app(app, broken_factory, signing_secret=SIGNING_SECRET))
    try:
        with caplog.at_level(logging.ERROR):
            status, answer, _ = command(running, "contoso")
        assert status == 200
        assert answer == {"response_type": "ephemeral", "text": f":warning: {SORRY}"}
        assert "Traceback" not in json.dumps(answer)
        assert any(r.exc_info and "database exploded" in str(r.exc_info[1]) for r in caplog.records)
        assert get(running.url + "/healthz")[0] == 503
    finally:
        running.close()


# --- alerts: subscribe and friends, through the real app ----------------------------------------


def test_subscribe_saves_then_confirms_in_the_channel(
    server: RunningServer, fake_slack: FakeSlack, engine: Engine
) -> None:
    _, answer, _ = command(server, "subscribe contoso-analytics-vm failed signoff")
    assert answer["response_type"] == "ephemeral"
    assert (
        "Subscribing this channel to *Contoso Analytics VM* (`contoso-analytics-vm`) (`failed`, `signoff`)"
        in answer["text"]
    )
    (post_call,) = fake_slack.wait_for("chat.postMessage")
    assert post_call.body["channel"] == "C0CHAN001"
    assert "<@U0USER001> subscribed this channel" in post_call.body["text"]

    def saved() -> list[Subscription]:
        with db.session_factory(engine)() as s:
            return list(s.exec(select(Subscription)).all())

    (sub,) = wait_until(saved)
    assert (sub.destination, sub.created_by, sub.on_failed, sub.on_delisted, sub.on_signoff) == (
        "C0CHAN001",
        "U0USER001",
        True,
        False,
        True,
    )
    _, listed, _ = command(server, "subscriptions")
    assert "*Contoso Analytics VM* (`contoso-analytics-vm`): `failed`, `signoff`" in listed["text"]
    _, gone, _ = command(server, "unsubscribe contoso-analytics-vm")
    assert "no longer gets alerts" in gone["text"]
    assert saved() == []


def test_subscribe_where_the_bot_cannot_post_says_how_to_fix_it(
    server: RunningServer, fake_slack: FakeSlack, engine: Engine
) -> None:
    fake_slack.channels_without_bot.add("C0CHAN001")
    _, answer, _ = command(server, "subscribe all", response_url=fake_slack.response_url)
    assert "Subscribing this channel to all offers" in answer["text"]
    (respond,) = fake_slack.wait_for("response_url")
    assert "Invite me with `/invite @offerbot`" in respond.body["text"]
    assert respond.body["response_type"] == "ephemeral"
    with db.session_factory(engine)() as s:
        assert s.exec(select(Subscription)).all() == []


def test_subscribe_to_an_ambiguous_offer_lists_candidates(
    server: RunningServer, fake_slack: FakeSlack
) -> None:
    _, answer, _ = command(server, "subscribe zzzz-nothing")
    assert "No offer matches" in answer["text"]
    _, bad, _ = command(server, "subscribe")
    assert "`subscribe` needs an offer" in bad["text"]


def test_notify_me_mute_me_and_settings(server: RunningServer, engine: Engine) -> None:
    _, notify, _ = command(server, "notify-me publisher:contoso")
    assert (
        "I will send you a direct message about publisher `contoso` on: `failed`, `delisted`, `signoff`, `stuck`."
        in notify["text"]
    )
    _, mine, _ = command(server, "subscriptions")
    assert "*Your direct-message alerts*" in mine["text"]
    _, muted, _ = command(server, "mute-me publisher:contoso")
    assert "No more direct messages to you about publisher `contoso`" in muted["text"]
    with db.session_factory(engine)() as s:
        assert s.exec(select(Subscription)).all() == []  # mute-me dropped the notify-me
        assert len(s.exec(select(Mute)).all()) == 1
    _, off, _ = command(server, "settings threading off")
    assert "posted as new messages" in off["text"]
    with db.session_factory(engine)() as s:
        assert threading_for(s, team_id="T0FAKE001", channel="C0CHAN001") is False


def test_show_status_button_answers_with_the_card(
    server: RunningServer, fake_slack: FakeSlack, engine: Engine
) -> None:
    with db.session_factory(engine)() as s:
        pk = s.exec(select(Offer.id).where(Offer.offer_id == "woodgrove-insights-app")).one()
    body = action_body(str(pk), "open_offer_status", response_url=fake_slack.response_url)
    assert post(server.url + "/slack/events", body, sign(body))[0] == 200
    (call,) = fake_slack.wait_for("response_url")
    assert call.body["text"].startswith(
        "Woodgrove Insights &amp; Reporting (woodgrove-insights-app): Publish failed"
    )
    assert call.body["replace_original"] is False
    link = action_body("", "open_partner_center", response_url=fake_slack.response_url)
    assert post(server.url + "/slack/events", link, sign(link))[0] == 200


def test_answers_do_not_wait_for_a_writer(server: RunningServer, engine: Engine) -> None:
    """A long import holding SQLite's write lock must not hold up read-only answers."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL readers never wait for writers")
    import sqlite3

    writer = sqlite3.connect(engine.url.database or "", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        status, answer, elapsed = command(server, "contoso-analytics-vm")
        assert status == 200 and answer["text"].startswith("Contoso Analytics VM")
        assert elapsed < 1.0  # the busy timeout is 10 s: a reader that queued would take that long
    finally:
        writer.execute("ROLLBACK")
        writer.close()


# --- replays and floods (issue 18) -----------------------------------------------------------


def test_a_replayed_signed_request_is_answered_without_acting_again(
    server: RunningServer, fake_slack: FakeSlack, engine: Engine
) -> None:
    """Ten replays, within Slack's five minutes, of one signed ``subscribe all``: one subscription,
    one confirmation in the channel."""
    body = slash_body("subscribe all")
    headers = sign(body)
    answers = [post(server.url + "/slack/events", body, headers) for _ in range(11)]
    assert [status for status, _ in answers] == [200] * 11
    assert "Subscribing this channel" in json.loads(answers[0][1])["text"]
    assert all(raw == b"" for _, raw in answers[1:]), "a replay gets an empty acknowledgement"
    fake_slack.wait_for(
        "chat.postMessage"
    )  # the one confirmation (replays never reached Bolt: empty answers)
    posted = [
        c for c in fake_slack.calls_to("chat.postMessage") if "subscribed this channel" in c.body["text"]
    ]
    assert len(posted) == 1
    with db.session_factory(engine)() as s:
        assert len(s.exec(select(Subscription)).all()) == 1

    def remembered() -> int:  # written behind the answer, for the other processes
        with db.session_factory(engine)() as s:
            return len(s.exec(select(SeenRequest)).all())

    assert wait_until(lambda: remembered() == 1)
    # The same command typed again is a new request (Slack signs each anew): it is answered.
    _, again, _ = command(server, "subscribe all")
    assert "already" in again["text"] or "Subscribing" in again["text"]


def test_a_flood_of_install_page_visits_is_rate_limited_and_cleaned_up(
    fake_slack: FakeSlack, engine: Engine, database_url: str
) -> None:
    import io

    from bot.http.edge import RateLimit
    from bot.jobs.scheduling import HousekeepingJob
    from storage.housekeeping import count_oauth_states

    factory = db.session_factory(engine)
    settings = Settings(
        slack_client_id="1234.5678",
        slack_client_secret="client-secret",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.url,
        database_url=database_url,
    )
    application = wsgi_app(
        create_app(settings, session_factory=factory),
        factory,
        signing_secret=SIGNING_SECRET,
        install_limit=RateLimit(limit=5, window=60),
    )

    def visit(address: str) -> str:
        status: list[str] = []
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/slack/install",
            "QUERY_STRING": "",
            "REMOTE_ADDR": address,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
        }
        b"".join(application(environ, lambda s, _h: status.append(s)))  # type: ignore[arg-type]
        return status[0]

    flood = [visit("203.0.113.9") for _ in range(40)]
    assert flood[:5] == ["200 OK"] * 5 and set(flood[5:]) == {"429 Too Many Requests"}
    assert visit("198.51.100.7") == "200 OK", "another address installs during the flood"
    with factory() as s:
        assert count_oauth_states(s) == 6
    # Expired states are deleted by the housekeeping job (slack_sdk's states live 10 minutes).
    job = HousekeepingJob(factory, clock=lambda: datetime.now(UTC) + timedelta(minutes=11))
    assert job() == (0, 6)
    with factory() as s:
        assert count_oauth_states(s) == 0


def test_replays_are_known_to_every_process_through_the_store(factory: db.SessionFactory) -> None:
    from bot.http.replays import Replays

    by_hand = {"start": lambda _loop: None}  # the worker's exchanges made by the test, not a thread
    one, other = Replays(factory, lambda: NOW, **by_hand), Replays(factory, lambda: NOW, **by_hand)
    assert not one.is_replay("v0=abc")
    assert one.is_replay("v0=abc"), "this process remembers it at once"
    one.exchange()  # written to the store
    other.exchange()  # and read back by another process
    assert other.is_replay("v0=abc"), "another process finds it through the store"
    assert not other.is_replay("v0=def")
    other.exchange()
    later = Replays(factory, lambda: NOW + timedelta(minutes=11), **by_hand)  # after the window
    later.exchange()
    assert not later.is_replay("v0=abc"), (
        "past its window, a signature is no replay (Slack refuses it anyway)"
    )
    restarted = Replays(factory, lambda: NOW + timedelta(minutes=1), **by_hand)
    restarted.exchange()  # a process started within the window reads the last ten minutes back
    assert restarted.is_replay("v0=def")


def test_escaped_command_text_reads_as_the_user_typed_it(server: RunningServer) -> None:
    """The manifest sets ``should_escape: true``: ``&`` arrives as ``&amp;`` and an id Slack took for
    a domain as a link; both still name the offer."""
    status, answer, _ = command(server, "Woodgrove Insights &amp; Reporting")
    assert status == 200 and "Woodgrove Insights & Reporting" in json.dumps(answer, ensure_ascii=False)
    assert "Publish failed" in json.dumps(answer)
    status, answer, _ = command(server, "<http://woodgrove-insights-app|woodgrove-insights-app>")
    assert status == 200 and "Microsoft review" in json.dumps(answer)
    status, answer, _ = command(server, "list <@U0PAT0001|pat>")  # a mention where none is taken
    said = json.dumps(answer)
    assert status == 200 and 'unknown status \\"&lt;@U0PAT0001&gt;\\"' in said, said  # named, not pinged

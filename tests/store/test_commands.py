"""Parsing of /offer-status text, on a real SQLite store."""

import re

import pytest

from bot.i18n import ENGLISH
from bot.slack.answers import handle_command, handle_page_action
from storage import db
from storage.errors import UsageError
from tests.conftest import NOW, TEAM, load_samples


@pytest.fixture
def session(sqlite_url: str):  # type: ignore[no-untyped-def]
    engine = db.make_engine(sqlite_url)
    db.migrate(engine)
    factory = db.session_factory(engine)
    load_samples(factory)
    with factory() as s:
        yield s


def test_verbs(session) -> None:  # type: ignore[no-untyped-def]
    assert handle_command(session, tr=ENGLISH, now=NOW, team_id=TEAM, text="").text == "Offers: 1\u20136 of 6"
    assert (
        handle_command(session, tr=ENGLISH, now=NOW, team_id=TEAM, text="  LIST   Sign-Off ").text
        == "Offers: Awaiting publisher sign-off: 1\u20131 of 1"
    )
    assert handle_command(
        session, tr=ENGLISH, now=NOW, team_id=TEAM, text="list in-progress"
    ).text.startswith("Offers: Publish in progress")
    assert (
        handle_command(session, tr=ENGLISH, now=NOW, team_id=TEAM, text="list page 1").text
        == "Offers: 1\u20136 of 6"
    )
    assert (
        "Page out of range"
        in handle_command(session, tr=ENGLISH, now=NOW, team_id=TEAM, text="list page 9").text
    )
    assert (
        "/offer-status &lt;offer&gt;"  # escaped: Slack would read <offer> as a control sequence
        in handle_command(session, tr=ENGLISH, now=NOW, team_id=TEAM, text="help").text
    )
    assert handle_command(
        session, tr=ENGLISH, now=NOW, team_id=TEAM, text='"Tailspin Flight"'
    ).text.startswith("Tailspin Flight Ops SaaS")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("list bogus", 'unknown status "bogus"'),
        ("list failed live", "`list` takes one status, one `publisher:<id>` and a page at most"),
        ("list publisher:a publisher:b", "`list` takes one status, one `publisher:<id>` and a page at most"),
        ("list publisher:", "write the publisher as `publisher:<id>`"),
        ("list page zero", '"page" takes a page number from 1, got "zero"'),
        ("subscribe all", "`subscribe` works in a Slack channel"),
        ("notify-me all", "`notify-me` works in Slack"),
        ("subscribe publisher:", "write the publisher as `publisher:<id>`"),
        ("settings threading maybe", "`settings` works in a Slack channel"),
        ("x" * 600, "at most a few hundred"),
    ],
)
def test_bad_arguments_raise_usage_errors(session, text: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match=message):
        handle_command(session, tr=ENGLISH, now=NOW, team_id=TEAM, text=text)


def test_list_keeps_one_publisher_alone_or_with_a_status_in_either_order(session) -> None:  # type: ignore[no-untyped-def]
    def answer(text: str) -> str:
        return str(handle_command(session, tr=ENGLISH, now=NOW, team_id=TEAM, text=text).text)

    assert answer("list publisher:woodgrove") == "Offers of woodgrove: 1\u20131 of 1"
    assert answer("list failed publisher:woodgrove") == "Offers of woodgrove: Publish failed: 1\u20131 of 1"
    assert answer("list publisher:woodgrove failed page 1") == answer("list failed publisher:woodgrove")
    assert "No offer of the publisher `woodgrove` has the status *Live*" in answer(
        "list publisher:woodgrove live"
    )
    assert "No offer of the publisher `Woodgrove` is stored" in answer("list publisher:Woodgrove")
    # A Next button of a publisher's list stays on that publisher.
    paged = handle_page_action(session, tr=ENGLISH, team_id=TEAM, value='{"s":null,"o":0,"p":"contoso"}')
    assert paged.text == "Offers of contoso: 1\u20131 of 1"
    with pytest.raises(UsageError, match="out of date"):
        handle_page_action(session, tr=ENGLISH, team_id=TEAM, value='{"s":null,"o":0,"p":7}')


def test_page_action_value(session) -> None:  # type: ignore[no-untyped-def]
    assert (
        handle_page_action(session, tr=ENGLISH, team_id=TEAM, value='{"s":"failed","o":1}').text
        == "Offers: Publish failed: 2\u20132 of 2"
    )
    with pytest.raises(UsageError):
        handle_page_action(session, tr=ENGLISH, team_id=TEAM, value='{"s":"nope","o":1}')


def test_alert_verbs_with_a_user_and_channel(session) -> None:  # type: ignore[no-untyped-def]
    ctx = {"team_id": TEAM, "user_id": "U1", "channel_id": "C1"}
    assert "needs an offer" in _usage(session, "notify-me", ctx)
    assert (
        "Subscribing this channel to all offers (`failed`, `delisted`, `signoff`, `stuck`)"
        in handle_command(session, tr=ENGLISH, now=NOW, text="subscribe all", **ctx).text
    )
    assert (
        "(`signoff`)"
        in handle_command(
            session, tr=ENGLISH, now=NOW, text="subscribe publisher:tailspin sign-off", **ctx
        ).text
    )
    assert (
        "to *Contoso Analytics VM* (`contoso-analytics-vm`)"
        in handle_command(session, tr=ENGLISH, now=NOW, text="subscribe ana", **ctx).text
    )
    assert (
        "at least 3 characters"
        in handle_command(session, tr=ENGLISH, now=NOW, text="subscribe an", **ctx).text
    )
    assert (
        "no subscription for all offers"
        in handle_command(session, tr=ENGLISH, now=NOW, text="unsubscribe all", **ctx).text
    )


def _usage(session, verb: str, ctx: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as info:
        handle_command(session, tr=ENGLISH, now=NOW, text=verb, **ctx)
    return str(info.value)


def test_a_mistyped_command_is_suggested_not_an_offer(factory: db.SessionFactory) -> None:
    load_samples(factory)
    for typed, suggested in (
        ("hlep", "help"),
        ("subscibe woodgrove", "subscribe woodgrove"),
        ("lsit", "list"),
    ):
        with factory() as session, pytest.raises(UsageError, match=re.escape(f"`/offer-status {suggested}`")):
            handle_command(session, team_id=TEAM, text=typed, tr=ENGLISH, now=NOW)
    with factory() as session:  # an offer's own name still finds it, even close to a verb
        card = handle_command(session, team_id=TEAM, text="woodgrove", tr=ENGLISH, now=NOW)
    assert "Woodgrove" in card.text


@pytest.mark.parametrize("text", ["help me", "digest today", "subscriptions all", "-h please"])
def test_verbs_without_arguments_refuse_extra_words_like_list_does(
    text: str, factory: db.SessionFactory
) -> None:
    load_samples(factory)
    with factory() as session, pytest.raises(UsageError, match="takes nothing after it, got: "):
        handle_command(session, team_id=TEAM, text=text, tr=ENGLISH, now=NOW)
    with factory() as session, pytest.raises(UsageError, match="takes one status, one `publisher:<id>`"):
        handle_command(session, team_id=TEAM, text="list failed live", tr=ENGLISH, now=NOW)

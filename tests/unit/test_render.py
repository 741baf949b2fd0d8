"""Render functions, tested on their output: structure, limits, and escaping of everything from data."""

import json
from datetime import UTC, datetime
from typing import Any

from bot.i18n import ENGLISH, Language, translator
from bot.render.blocks import MAX_BLOCKS, MAX_SECTION, esc
from bot.render.help import render_help
from bot.render.lists import LIST_PAGE_ACTION, render_list, render_lookup
from bot.render.offers import render_card
from bot.render.textview import blocks_to_text
from storage.models import Message, Offer, Step
from storage.reads.offers import Lookup, OfferCard, OfferPage
from storage.safetext import from_html
from storage.statuses import OfferStatus

FRENCH = translator(Language.FR)

WHEN = datetime(2026, 11, 22, 8, 30, tzinfo=UTC)


def offer(**kw: Any) -> Offer:
    data: dict[str, Any] = dict(
        id=1,
        team_id="T1",
        publisher_id="woodgrove",
        offer_id="woodgrove-insights-app",
        name="Woodgrove Insights & Reporting",
        offer_type="azure-application",
        publish_status="failed",
        listing="listed",
        status="failed",
        notification_emails="",
        preview_links=[],
        live_links=[],
        status_changed_at=WHEN,
        updated_at=WHEN,
        content_hash="x",
    )
    data.update(kw)
    return Offer(**data)


def step(pos: int, name: str, status: str, **kw: Any) -> Step:
    return Step(offer_pk=1, position=pos, step_id=f"s{pos}", name=name, status=status, **kw)


def all_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks)


def check_limits(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= MAX_BLOCKS
    for b in blocks:
        if b["type"] == "section" and "text" in b:
            assert len(b["text"]["text"]) <= MAX_SECTION
        if b["type"] == "header":
            assert len(b["text"]["text"]) <= 150


def test_card_shows_status_steps_issues_and_links() -> None:
    steps = [
        step(0, "Validate prerequisites", "complete", estimated_time="15 minutes"),
        step(1, "Certification", "inProgress", progress=40, estimated_time="3 days"),
        step(2, "Publisher sign-off", "waitingForPublisherReview"),
        step(3, "Microsoft review", "rejected"),
        step(4, "Provisioning", "blocked"),
        step(5, "Live", "notStarted"),
    ]
    msg = Message(
        offer_pk=1,
        step_position=3,
        level="error",
        timestamp=WHEN,
        text=from_html('Critical issue, see <a href="https://dev.example/pr/4711">pull request 4711</a>'),
    )
    info = Message(offer_pk=1, step_position=0, level="information", timestamp=WHEN, text="Step completed.")
    warn = Message(offer_pk=1, step_position=None, level="warning", timestamp=WHEN, text="Check your logo.")
    card = OfferCard(
        offer=offer(preview_links=["https://preview.example/x"], live_links=["https://live.example/x"]),
        steps=steps,
        messages=[info, warn, msg],
    )
    reply = render_card(card, tr=ENGLISH)
    check_limits(reply.blocks)
    assert reply.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Woodgrove Insights & Reporting", "emoji": True},
    }
    text = all_text(reply.blocks)
    assert ":x: Publish failed" in text
    assert "Azure application" in text and "woodgrove" in text
    assert "<!date^1795336200^{date_short_pretty} at {time}|2026-11-22 08:30 UTC>" in text
    for label in (
        "1. Validate prerequisites* \\u2014 done",
        "in progress \\u00b7 40% \\u00b7 _3 days_",
        "waiting for you",
        "rejected",
        "blocked",
        "6. Live* \\u2014 not started",
    ):
        assert label in text
    assert "<https://dev.example/pr/4711|pull request 4711>" in text
    assert "*Unresolved issues (2)*" in text
    assert "Step completed" not in text  # information messages are not issues
    issues = next(b for b in reply.blocks if "Unresolved" in b.get("text", {}).get("text", ""))["text"][
        "text"
    ]
    assert issues.index("Critical issue") < issues.index("Check your logo")  # errors first
    assert "<https://preview.example/x|Preview>" in text and "<https://live.example/x|Live>" in text
    assert (
        reply.text
        == "Woodgrove Insights &amp; Reporting (woodgrove-insights-app): Publish failed, 2 unresolved issues"
    )


def test_data_cannot_mention_or_inject_links() -> None:
    evil = offer(
        name="<!channel> @here <https://evil.example|click> & co",
        publisher_id="<@U123>",
        offer_id="@everyone",
    )
    msg = Message(
        offer_pk=1,
        step_position=None,
        level="error",
        timestamp=WHEN,
        text=from_html("<!here> @channel <a href='javascript:x()'>js</a>"),
    )
    card = OfferCard(offer=evil, steps=[step(0, "<!subteam^S1> step", "blocked")], messages=[msg])
    reply = render_card(card, tr=ENGLISH)
    head, *rest = reply.blocks
    assert head["text"]["type"] == "plain_text"  # never parsed for mentions or links
    assert "@here" not in head["text"]["text"]
    blob = all_text(rest) + reply.text
    for bad in ("<!channel>", "<!here>", "<@U123>", "<https://evil", "<!subteam", "javascript:"):
        assert bad not in blob, bad
    assert "@here" not in blob and "@channel" not in blob and "@everyone" not in blob
    assert "&lt;!channel&gt;" in blob and "&amp; co" in blob
    assert all(
        el.get("verbatim")
        for b in reply.blocks
        if b["type"] == "section" and "text" in b
        for el in [b["text"]]
    )


def test_esc() -> None:
    assert esc("a<b>&c @here") == "a&lt;b&gt;&amp;c @\u2060here"


def test_card_stays_within_block_kit_limits_with_huge_data() -> None:
    steps = [step(i, f"Step {i} " + "x" * 300, "inProgress", progress=50) for i in range(200)]
    msgs = [
        Message(
            offer_pk=1, step_position=i % 200, level="error", timestamp=WHEN, text="problem " + "y" * 2500
        )
        for i in range(120)
    ]
    reply = render_card(OfferCard(offer=offer(name="N" * 400), steps=steps, messages=msgs), tr=ENGLISH)
    check_limits(reply.blocks)
    assert reply.blocks[-1]["type"] == "context"


def test_consulting_service_without_steps_says_why() -> None:
    card = OfferCard(offer=offer(offer_type="consulting-service"), steps=[], messages=[])
    assert "Consulting services have no step list" in all_text(render_card(card, tr=ENGLISH).blocks)


def test_list_pages_with_buttons() -> None:
    offers = [offer(id=i, name=f"Offer {i:03}", offer_id=f"o{i}") for i in range(20)]
    reply = render_list(
        OfferPage(offers=offers, total=45, offset=20, limit=20, status=OfferStatus.FAILED), tr=ENGLISH
    )
    check_limits(reply.blocks)
    text = all_text(reply.blocks)
    assert "Offers: Publish failed" in text
    assert (
        "21\\u201340 of 45" in text and "page 2 of 3" in text and "/offer-status list failed page N" in text
    )
    buttons = reply.blocks[-1]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Previous", "Next"]
    assert all(b["action_id"].startswith(LIST_PAGE_ACTION) for b in buttons)
    assert json.loads(buttons[1]["value"]) == {"s": "failed", "o": 40}
    assert reply.text == "Offers: Publish failed: 21\u201340 of 45"


def test_a_publishers_list_keeps_its_publisher_on_its_buttons_and_in_its_hint() -> None:
    offers = [offer(id=i, name=f"Offer {i:03}", offer_id=f"o{i}") for i in range(20)]
    page = OfferPage(offers=offers, total=45, offset=0, limit=20, publisher="contoso")
    reply = render_list(page, tr=ENGLISH)
    text = all_text(reply.blocks)
    assert reply.blocks[0]["text"]["text"] == "Offers of contoso"
    assert "/offer-status list publisher:contoso page N" in text
    assert json.loads(reply.blocks[-1]["elements"][0]["value"]) == {"s": None, "o": 20, "p": "contoso"}
    both = render_list(
        OfferPage(offers, 45, 0, 20, status=OfferStatus.FAILED, publisher="contoso"), tr=FRENCH
    )
    assert both.blocks[0]["text"]["text"] == "Offres de contoso\u00a0: Échec de la publication"
    assert "/offer-status list publisher:contoso failed page N" in all_text(both.blocks)


def test_empty_lists_say_so() -> None:
    assert "No offers are stored yet" in render_list(OfferPage([], 0, 0, 20), tr=ENGLISH).text
    assert (
        "No offer has the status *Publish failed*."
        in render_list(OfferPage([], 0, 0, 20, status=OfferStatus.FAILED), tr=ENGLISH).text
    )
    none = render_list(OfferPage([], 0, 0, 20, publisher="Contoso"), tr=ENGLISH).text
    assert "No offer of the publisher `Contoso` is stored" in none and "case-sensitive" in none


def test_lookup_answers() -> None:
    many = [offer(id=i, name=f"Contoso {i}", offer_id=f"contoso-{i}") for i in range(3)]
    assert "Several offers match *contoso*" in all_text(
        render_lookup(Lookup(query="contoso", matches=many), tr=ENGLISH).blocks
    )
    suggestion = render_lookup(Lookup(query="contosso", suggestions=many[:1]), tr=ENGLISH)
    assert "Did you mean *Contoso 0* (`contoso-0`)?" in suggestion.text
    assert "at least 3 characters" in render_lookup(Lookup(query="ab", too_short=True), tr=ENGLISH).text
    assert "<!channel>" not in render_lookup(Lookup(query="<!channel>"), tr=ENGLISH).text


def test_help_lists_commands_including_subscribe() -> None:
    text = render_help(tr=ENGLISH).text
    for word in ("/offer-status &lt;offer&gt;", "list [status]", "subscribe", "help", "signoff"):
        assert word in text


def test_textview_renders_for_the_shell() -> None:
    msg = Message(
        offer_pk=1,
        step_position=None,
        level="error",
        timestamp=WHEN,
        text=from_html('A &amp; B <a href="https://x.example/pr">PR</a>'),
    )
    out = blocks_to_text(render_card(OfferCard(offer=offer(), steps=[], messages=[msg]), tr=ENGLISH).blocks)
    assert "Woodgrove Insights & Reporting" in out
    assert "A & B PR (https://x.example/pr)" in out
    assert "2026-11-22 08:30 UTC" in out


def test_worst_cases_stay_inside_slacks_limits_and_show_everything() -> None:
    """20 offers whose 120-character names are full of &<> (escaped, each grows fivefold), and 60
    subscriptions: every offer and subscription is shown, within 50 blocks and 3,000 characters."""
    from bot.render.subscriptions import render_subscriptions
    from bot.usecases.subscriptions import About, Subscriptions, SubscriptionView

    nasty = ("&<>" * 40)[:120]
    offers = [offer(id=i, offer_id=f"offer-{i:02}", name=nasty) for i in range(20)]
    page = render_list(OfferPage(offers=offers, total=20, offset=0, limit=20), tr=ENGLISH)
    check_limits(page.blocks)
    shown = all_text(page.blocks)
    assert all(f"offer-{i:02}" in shown for i in range(20))
    views = tuple(
        SubscriptionView(
            about=About(kind="offer", offer_name=nasty, offer_id=f"sub-{i:02}"), events=("failed",)
        )
        for i in range(60)
    )
    subs = render_subscriptions(Subscriptions(channel=views, mine=views), tr=ENGLISH)
    check_limits(subs.blocks)
    listed = all_text(subs.blocks)
    assert all(listed.count(f"sub-{i:02}") == 2 for i in range(60))

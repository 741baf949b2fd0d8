"""Every message and view offerbot renders is Block Kit that Slack takes and shows as meant, with the
longest and most hostile data the limits allow: each payload parsed and validated by slack_sdk's own
block models (``Block.parse(...).validate_json()``, ``View``), plus what slack_sdk does not check:
blocks per message and per view, text lengths, and mrkdwn in which every ``<`` opens a whole
control sequence (a link, a mention, a date) and nothing else."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.i18n import Language, translator
from bot.render.blocks import MAX_BLOCKS, MAX_VIEW_BLOCKS, Reply, card_modal
from bot.render.history import render_history
from bot.render.offers import render_card
from bot.usecases.history import HistoryPage
from storage import limits, safetext
from storage.models import Message, Offer, Step
from storage.reads.history import StatusEntry
from storage.reads.offers import OfferCard
from tests.conftest import NOW, TEAM
from tests.support.answers import every_answer, home_answers

HOSTILE = (
    "<!channel> <@U0EVIL> *bold* `code` _it_ ~strike~ <https://evil.example|click> &amp; &lt; > "
    "\u202eevil\u202c zero\u200bwidth @here line\nbreak "
)


def hostile(length: int) -> str:
    return (HOSTILE * (length // len(HOSTILE) + 1))[:length]


def _message_text(i: int) -> str:
    """A message as stored: safe text from Microsoft's HTML, with links and escapes throughout."""
    html = (
        f'<p>Problem {i}: see <a href="https://learn.example/doc/{i}?a=1&b=2">the guide &amp; more</a> '
        "&lt;script&gt; <b>now</b></p>"
    )
    text = safetext.from_html(html * 60)
    return text[: limits.MAX_MESSAGE_TEXT]


def hostile_card(*, feed: str | None = None) -> OfferCard:
    offer = Offer(
        id=7,
        team_id=TEAM,
        publisher_id=hostile(200),
        offer_id=hostile(200),
        name=hostile(500),
        offer_type="consulting-service" if feed is None else "saas",
        publish_status="failed",
        listing="listed",
        status="failed",
        status_changed_at=NOW,
        updated_at=NOW,
        content_hash="x",
        preview_links=[f"https://preview.example/{'p' * 1900}?q={i}" for i in range(20)],
        live_links=[f"https://live.example/{'l' * 1900}?q={i}" for i in range(20)],
        feed=feed,
        feed_key="0f4a3b5c-1d2e-4f60-8a9b-0c1d2e3f4a5b" if feed else None,
        observed_at=NOW if feed else None,
        details_unread=hostile(300) if feed else None,
    )
    steps = [
        Step(
            offer_pk=7,
            position=i,
            step_id=hostile(200),
            name=hostile(500),
            description=hostile(4000),
            status=("rejected", "inProgress", "blocked", "waitingForPublisherReview")[i % 4],
            estimated_time=hostile(200),
            progress=42,
            status_since=NOW - timedelta(days=30),
            stuck_since=NOW - timedelta(days=3),
        )
        for i in range(limits.MAX_STEPS_PER_OFFER)
    ]
    per_step = limits.MAX_MESSAGES_PER_OFFER // limits.MAX_STEPS_PER_OFFER
    messages = [
        Message(
            offer_pk=7,
            step_position=(None if i < per_step else i // per_step),
            level=("error", "warning")[i % 2],
            text=_message_text(i),
            timestamp=NOW,
        )
        for i in range(limits.MAX_MESSAGES_PER_OFFER)
    ]
    return OfferCard(offer=offer, steps=steps, messages=messages)


_CONTROL = re.compile(
    r"<(?:@[A-Z0-9]+|#[CG][A-Z0-9]+(?:\|[^<>]*)?|!date\^\d+\^[^|<>]*\|[^<>]*|!subteam\^[A-Z0-9]+|"
    r"https?://[^|<>\s]+(?:\|[^<>]*)?)>"
)
_MASS = re.compile(r"<!(?:channel|here|everyone)>")


def mrkdwn_problems(text: str) -> list[str]:
    """What is wrong with one mrkdwn text: a mass mention, a link or escape cut open, a stray ``<``."""
    problems = []
    if _MASS.search(text):
        problems.append("a mass mention")
    rest = _CONTROL.sub("", text)
    if "<" in rest or ">" in rest:
        at = max(rest.find("<"), rest.find(">"))
        problems.append(f"a bare < or > (a control sequence cut open?): …{rest[max(at - 40, 0) : at + 40]}…")
    if re.search(r"&(?!amp;|lt;|gt;)[a-z#]*", rest.replace("&#", "")):
        problems.append("an escape cut open")
    return problems


def texts(node: Any) -> list[tuple[str, str]]:
    """Every (type, text) of a block tree."""
    found = []
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            found.append((node["type"], node["text"]))
        for value in node.values():
            found += texts(value)
    elif isinstance(node, list):
        for value in node:
            found += texts(value)
    return found


def limit_problems(block: dict[str, Any]) -> list[str]:
    """Slack's documented limits that slack_sdk's models leave unchecked."""
    problems = []
    for element in block.get("elements", []) if block.get("type") == "actions" else []:
        label = element.get("text", {}).get("text", "")
        if len(label) > 75:
            problems.append(f"a button label of {len(label)} characters (75 at most)")
        if len(element.get("value", "")) > 2000 or len(element.get("url", "")) > 3000:
            problems.append("a button value or url over its limit")
    if block.get("type") == "context" and len(block.get("elements", [])) > 10:
        problems.append("a context with more than 10 elements")
    return problems


def check(reply: Reply, *, view: str | None = None) -> list[str]:
    where = (reply.text or "")[:60]
    problems = [f"{where}: {p}" for p in mrkdwn_problems(reply.text)]
    if len(reply.text) > 40_000:
        problems.append(f"{where}: a fallback text of {len(reply.text)} characters")
    most = MAX_VIEW_BLOCKS if view else MAX_BLOCKS
    if not 0 < len(reply.blocks) <= most:
        problems.append(f"{where}: {len(reply.blocks)} blocks ({most} at most)")
    for raw in reply.blocks:
        parsed = Block.parse(raw)
        if parsed is None:
            problems.append(f"{where}: a block slack_sdk does not know: {raw.get('type')}")
            continue
        try:
            parsed.validate_json()
        except Exception as exc:
            problems.append(f"{where}: slack_sdk refuses a {raw.get('type')} block: {exc}")
        problems += [f"{where}: {p}" for p in limit_problems(raw)]
        for kind, text in texts(raw):  # plain text is never parsed: what it holds is shown as it is
            if kind == "mrkdwn":
                problems += [f"{where}: {p}" for p in mrkdwn_problems(text)]
    if view is not None:
        try:
            View(
                type=view,
                blocks=reply.blocks,
                title={"type": "plain_text", "text": "offerbot"} if view == "modal" else None,
            ).validate_json()
        except Exception as exc:
            problems.append(f"{where}: slack_sdk refuses the {view} view: {exc}")
    return problems


@pytest.mark.parametrize("language", [Language.EN, Language.FR])
def test_every_surface_with_hostile_data_is_block_kit_slack_takes(language: Language) -> None:
    tr = translator(language)
    cards = [hostile_card(), hostile_card(feed="partner-center"), hostile_card(feed="cloud-partner-portal")]
    replies = every_answer(cards, tr)
    entries = [StatusEntry(NOW, "in_progress", "failed", hostile(40)) for _ in range(20)]
    replies += [
        render_history(HistoryPage(card=card, entries=entries, total=500, offset=20, limit=20), tr=tr)
        for card in cards
    ]
    problems = [p for reply in replies for p in check(reply)]
    views = [(r, "home") for r in home_answers(cards, tr)]
    views += [
        (Reply(text="card", blocks=card_modal(render_card(c, tr=tr))["blocks"]), "modal") for c in cards
    ]
    problems += [p for reply, kind in views for p in check(reply, view=kind)]
    assert not problems, "\n".join(problems[:30])
    assert len(replies) > 300


def test_the_checks_would_catch_what_issue_18_found() -> None:
    cut_link = "see <https://learn.example/doc|the gu"
    assert mrkdwn_problems(cut_link) and mrkdwn_problems("stuck for 3 days &l")
    assert mrkdwn_problems("`/offer-status <offer>`") and not mrkdwn_problems("`/offer-status &lt;offer&gt;`")
    assert mrkdwn_problems("<!channel> hi") and not mrkdwn_problems("<@U0USER001> and <https://x.example|x>")
    sixty = OfferCard(offer=hostile_card().offer, steps=hostile_card().steps[:1] * 60, messages=[])
    page = HistoryPage(card=sixty, entries=[], total=0, offset=0, limit=20)
    assert not check(render_history(page, tr=translator(Language.EN)))
    assert json.dumps(render_history(page, tr=translator(Language.EN)).blocks).count('"type": "section"') < 50


def publishing_cards() -> list[OfferCard]:
    """Hostile cards as *Go live* and the forecasts draw them: awaiting sign-off with the button, a
    request on its way with *Cancel publish*, a failed request with 500 hostile errors, and an offer
    in progress with its forecast."""
    from storage.durations import OfferForecast
    from storage.publishing import PublishRequest

    base = hostile_card(feed="partner-center")
    signoff = base.offer.model_copy(update={"status": "signoff"})
    moving = base.offer.model_copy(update={"status": "in_progress"})

    def request(state: str, errors: list[str]) -> PublishRequest:
        return PublishRequest(
            id=1,
            team_id=TEAM,
            offer_pk=7,
            api="partner-center",
            kind="go_live",
            submission_id="s",
            job="0f4a3b5c-job",
            state=state,
            requested_by="U0PAT0001",
            requested_at=NOW,
            finished_at=NOW + timedelta(hours=1),
            errors=errors,
            cancel_by="U0SAM0001",
        )

    forecast = OfferForecast(
        offer_pk=7,
        team_id=TEAM,
        likely_at=NOW + timedelta(days=3),
        late_at=NOW + timedelta(days=9),
        basis="both",
        similar=12,
        unknown=1,
        computed_at=NOW,
        for_updated_at=NOW,
    )
    return [
        OfferCard(signoff, base.steps, base.messages, go_live=True),
        OfferCard(moving, base.steps, base.messages, publish=request("running", []), go_live=True),
        OfferCard(
            signoff, base.steps, base.messages, publish=request("failed", [hostile(500)] * 500), go_live=True
        ),
        OfferCard(moving, base.steps, base.messages, forecast=forecast),
    ]


@pytest.mark.parametrize("language", [Language.EN, Language.FR])
def test_go_live_its_modals_and_forecasts_are_block_kit_slack_takes(language: Language) -> None:
    """The Go live and Cancel publish buttons, the lines under an offer, the forecast, and every
    modal of the two confirmations, validated by slack_sdk's block and view models."""
    from bot.render.alerts import render_alert
    from bot.render.golive import (
        render_cancel_modal,
        render_confirm_modal,
        render_message_modal,
        render_waiting_modal,
    )
    from bot.sources.publishing import Preview
    from bot.usecases.cancel import CancelTarget
    from bot.usecases.golive import GoLiveTarget
    from storage.statuses import PublishApi

    tr = translator(language)
    cards = publishing_cards()
    replies = [render_card(c, tr=tr) for c in cards]
    replies += [render_alert(c, old_status="in_progress", new_status=c.offer.status, tr=tr) for c in cards]
    problems = [p for reply in replies for p in check(reply)]
    ids = json.dumps([r.blocks for r in replies])
    assert "offer_go_live" in ids and "offer_cancel_publish" in ids
    target = GoLiveTarget(card=cards[0], api=PublishApi.PARTNER_CENTER, preview=Preview(hostile(300), NOW))
    views = [
        render_confirm_modal(target, tr=tr, channel="C0ALERTS1", ts="1.2", newer=True),
        render_cancel_modal(CancelTarget(card=cards[1], request=cards[1].publish), tr=tr, channel="", ts=""),
        render_waiting_modal(tr=tr),
        render_waiting_modal(tr=tr, sending=True),
        render_message_modal(replies[2], tr=tr),
    ]
    for view in views:
        try:
            View(**view).validate_json()
        except Exception as exc:
            problems.append(f"slack_sdk refuses the {view['title']['text']} modal: {exc}")
        reply = Reply(text=view["title"]["text"], blocks=view["blocks"])
        problems += check(reply, view="modal")
    assert not problems, "\n".join(problems[:30])


@pytest.mark.parametrize("language", [Language.EN, Language.FR])
def test_connections_on_home_their_modals_and_the_refusal_dm_are_block_kit_slack_takes(
    language: Language,
) -> None:
    """The Home tab's connections (20, the most a workspace holds, with hostile reasons), the add
    form with and without certificates, the test's waiting and result modals, the removal's
    confirmation and the refusal DM, validated by slack_sdk's models; and a card of a refused
    connection's offer."""
    from dataclasses import replace

    from bot.render import connections as render
    from bot.usecases.connections import (
        ConnectionsPanel,
        ConnectionTest,
        ConnectionView,
        Refusal,
        SourceCheck,
    )
    from storage.reads.offers import Refused

    tr = translator(language)
    items = [
        ConnectionView(
            name=f"c{i}-" + "x" * 30,
            tenant_id=hostile(100),
            client_id="00000000-0000-0000-0000-000000000000",
            credential="client certificate" if i % 2 else "client secret",
            thumbprint="AB" * 20 if i % 2 else None,
            publisher_id=hostile(100),
            cloud_partner_publishers=tuple(hostile(100) for _ in range(12)),
            read_at=NOW if i % 3 == 0 else None,
            refused_at=NOW if i % 3 == 1 else None,
            refused_reason=hostile(2000),
        )
        for i in range(20)
    ]
    panel = ConnectionsPanel(items, can_add=True, certificates=tuple(f"{i}.pem" for i in range(100)))
    home = publishing_cards()[:1]
    problems = check(Reply(text="home", blocks=render.connection_blocks(panel, tr)), view="home")
    problems += check(Reply(text="home", blocks=render.connection_blocks(replace(panel, can_add=False), tr)))
    result = ConnectionTest(
        name=items[0].name,
        credential="client secret",
        checks=(
            SourceCheck(hostile(40), True, products=3),
            SourceCheck(hostile(40), False, problem=hostile(900)),
        ),
    )
    views = [
        render.render_add_modal(certificates=panel.certificates, tr=tr),
        render.render_add_modal(certificates=(), tr=tr),
        render.render_testing_modal(items[0].name, tr=tr),
        render.render_test(result, tr=tr),
        render.render_remove_modal(items[0].name, tr=tr),
        render.render_replace_modal(items[0].name, certificates=panel.certificates, tr=tr),
        render.render_replace_modal(items[0].name, certificates=(), tr=tr),
        render.render_text_modal(render.render_removed(items[0].name, 3, tr=tr), title="Remove", tr=tr),
    ]
    for view in views:
        try:
            View(**view).validate_json()
        except Exception as exc:
            problems.append(f"slack_sdk refuses the {view['title']['text']} modal: {exc}")
        problems += check(Reply(text=view["title"]["text"], blocks=view["blocks"]), view="modal")
    refusal = Refusal(1, "T1", items[1].name, hostile(3000), "U1", NOW)
    problems += check(render.render_refusal(refusal, tr=tr))
    card = replace(home[0], refused=Refused(connection=hostile(40), since=NOW))
    rendered = render_card(card, tr=tr)
    problems += check(rendered)
    assert "<!date^" in json.dumps(rendered.blocks)
    assert not problems, "\n".join(problems[:30])

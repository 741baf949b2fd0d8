"""Every answer offerbot renders, drawn from sample cards: for the language and Block Kit checks."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.i18n import Language, Translator
from bot.render.alerts import (
    render_alert,
    render_already_on_it,
    render_disabled_notice,
    render_followup,
    render_reminder,
    render_stuck,
    render_test_alert,
    render_test_click,
)
from bot.render.blocks import Reply
from bot.render.digest import render_digest, render_digest_setting
from bot.render.help import render_cannot_post, render_help
from bot.render.history import render_history
from bot.render.home import render_done, render_home
from bot.render.lists import render_list, render_lookup
from bot.render.offers import render_card
from bot.render.subscriptions import (
    render_language,
    render_muted,
    render_notify_me,
    render_subscribe_pending,
    render_subscription_confirmation,
    render_subscriptions,
    render_test_queued,
    render_threading,
    render_unsubscribed,
)
from bot.usecases.digest import DigestSetting, DigestView
from bot.usecases.history import HistoryPage
from bot.usecases.home import HomeAlert, HomeOffer, HomeView
from bot.usecases.subscriptions import About, AlertRequest, Subscriptions, SubscriptionView, Unsubscribed
from bot.usecases.testalert import QueuedTestAlert
from storage.alerts.subscriptions import Target
from storage.alerts.work import Handling
from storage.models import AlertTaker, StatusChange, Step, Subscription
from storage.reads.digest import DigestData, NeedsWhom
from storage.reads.history import ActionEntry, DeliveryEntry, Entry, StatusEntry
from storage.reads.offers import Lookup, OfferCard, OfferPage
from storage.slack_codes import ERRORS
from storage.statuses import OfferStatus
from tests.conftest import NOW, TEAM


def _reply_text(reply: Reply) -> str:
    return reply.text + "\n" + json.dumps(reply.blocks, ensure_ascii=False)


def home_answers(cards: list[OfferCard], tr: Translator) -> list[Reply]:
    """The Home tab, full and empty, as replies (its blocks are what the test reads)."""
    offers = [HomeOffer(offer=c.offer, focus=(c.steps or [None])[0], since=NOW) for c in cards]
    alerts = [
        HomeAlert(kind="notify", key="sub:1", about=About(kind="all"), events=("failed",)),
        HomeAlert(kind="mute", key="mute:1", about=About(kind="publisher", publisher_id="contoso")),
        HomeAlert(
            kind="channel",
            key="sub:2",
            about=About(kind="all"),
            channel="C1",
            events=("failed",),
            disabled_reason="x",
        ),
    ]
    stuck = Step(
        offer_pk=1, position=2, step_id="s", name="Certification", status="inProgress", stuck_since=NOW
    )
    offers.append(HomeOffer(offer=cards[0].offer, focus=stuck, since=NOW))
    full = HomeView("U1", offers, 40, offers, 40, alerts * 8, {"failed": 2, "live": 3})
    empty = HomeView("U1", [], 0, [], 0, [], {})
    mixed = HomeView("U1", [], 0, [], 0, alerts, {})
    views = [render_home(full, tr=tr, notice="x"), render_home(empty, tr=tr), render_home(mixed, tr=tr)]
    done = render_done([], tr=tr)
    return [Reply(text=done or "x", blocks=v["blocks"]) for v in views]


def digest_answers(cards: list[OfferCard], tr: Translator) -> list[Reply]:
    """Digests full, empty and quiet, and the daily digest's settings."""
    offers = [c.offer for c in cards]
    step = Step(
        offer_pk=1, position=0, step_id="s", name="Certification", status="inProgress", stuck_since=NOW
    )
    change = StatusChange(
        team_id="T", offer_pk=1, old_status="in_progress", new_status="failed", changed_at=NOW, source="x"
    )
    first = StatusChange(
        team_id="T", offer_pk=1, old_status=None, new_status="failed", changed_at=NOW, source="x"
    )
    needs = [
        NeedsWhom(offer=offers[0], takers=["U1"], owners=[]),
        NeedsWhom(offer=offers[1], takers=[], owners=["U2"]),
        NeedsWhom(offer=offers[2], takers=[], owners=[]),
    ]
    full = DigestData(
        {"failed": 3, "live": 1},
        needs,
        20,
        [(offers[0], step)],
        [(change, offers[0]), (first, offers[1])],
        30,
    )
    quiet = DigestData({}, [], 0, [], [], 0)
    views = [
        DigestView("C1", full),
        DigestView(None, full),
        DigestView("C1", quiet),
        DigestView("C1", None),
        DigestView(None, None),
    ]
    settings = [DigestSetting(at="09:00", tz="Europe/Paris"), DigestSetting(at=None, tz=None)]
    return [render_digest(v, tr=tr) for v in views] + [render_digest_setting(s, tr=tr) for s in settings]


def every_answer(cards: list[OfferCard], tr: Translator) -> list[Reply]:
    """Every card, list, alert, follow-up, reminder, notice and confirmation offerbot renders."""
    replies: list[Reply] = [render_help(tr=tr)]
    offers = [c.offer for c in cards]
    for card in cards:
        replies.append(render_card(card, tr=tr))
        for status in OfferStatus:
            replies += [
                render_alert(card, old_status=None, new_status=status.value, tr=tr),
                render_alert(
                    card, old_status="in_progress", new_status="failed", current_status=status.value, tr=tr
                ),
                render_followup(card, old_status="failed", new_status=status.value, since=NOW, tr=tr),
                render_reminder(card, status=status.value, since=NOW, tr=tr, direct=True),
            ]
        taken = Handling(
            takers=[AlertTaker(thread_id=1, user_id="U0USER001", since=NOW)],
            snoozed_until=NOW,
            snoozed_by="U0USER002",
        )
        replies.append(
            render_alert(card, old_status=None, new_status="failed", tr=tr, handling=taken, direct=True)
        )
    replies.append(render_already_on_it(tr=tr))
    replies += [render_test_alert(card, old_status="in_progress", tr=tr) for card in cards]
    replies += [render_test_click(a, tr=tr) for a in ("alert_on_it", "alert_snooze")]
    queued = QueuedTestAlert(
        offer_name=offers[0].name, offer_id=offers[0].offer_id, channel="C1", delivery_id=1
    )
    replies.append(render_test_queued(queued, tr=tr))
    for card in cards:
        for step in card.steps:
            for status in ("inProgress", "waitingForApproval"):
                running = Step(
                    **{**step.model_dump(), "status": status, "status_since": NOW - timedelta(days=6)}
                )
                replies.append(render_stuck(card, running, now=NOW, tr=tr, direct=True))
        break
    entries: list[Entry] = [
        StatusEntry(NOW, None, "in_progress", "import"),
        StatusEntry(NOW, "in_progress", "failed", "Partner Center"),
        StatusEntry(NOW, "failed", "signoff", "Cloud Partner Portal"),
        ActionEntry(NOW, "U0USER001", "on_it", "C0CHAN001", None),
        ActionEntry(NOW, "U0USER001", "snooze", "D0DM00001", NOW),
        ActionEntry(NOW, "U0USER001", "mute", "D0DM00001", None),
        *(
            DeliveryEntry(NOW, kind, dest_kind, "C0CHAN001", state, "not_in_channel")
            for kind in ("alert", "followup", "reminder", "notice")
            for dest_kind in ("channel", "user")
            for state in ("sent", "pending", "failed")
        ),
    ]
    replies += home_answers(cards, tr)
    replies += digest_answers(cards, tr)
    for total, offset, shown in ((0, 0, []), (len(entries), 0, entries), (45, 60, []), (45, 20, entries[:3])):
        page = HistoryPage(card=cards[0], entries=shown, total=total, offset=offset, limit=20)
        replies.append(render_history(page, tr=tr))
    for status, publisher in [(s, None) for s in (None, *OfferStatus)] + [
        (None, "p" * 200),
        *[(s, "contoso") for s in OfferStatus],
    ]:
        replies += [
            render_list(OfferPage(offers, 45, 20, 20, status=status, publisher=publisher), tr=tr),
            render_list(OfferPage([], 0, 0, 20, status=status, publisher=publisher), tr=tr),
            render_list(OfferPage([], 3, 40, 20, status=status, publisher=publisher), tr=tr),
        ]
    replies += [
        render_lookup(Lookup(query="ab", too_short=True), tr=tr),
        render_lookup(Lookup(query="o", matches=offers * 3), tr=tr),
        render_lookup(Lookup(query="x", matches=offers[:2]), tr=tr),
        render_lookup(Lookup(query="contosso", suggestions=offers[:2]), tr=tr),
        render_lookup(Lookup(query="qqq"), tr=tr),
    ]
    abouts = [
        About(kind="all"),
        About(kind="publisher", publisher_id="contoso"),
        About(kind="offer"),
        About(kind="offer", offer_name=offers[0].name, offer_id=offers[0].offer_id),
    ]
    for about in abouts:
        request = AlertRequest(target=Target(kind="all"), events=("failed", "signoff"), about=about)
        replies += [
            render_subscribe_pending(request, tr=tr),
            render_subscription_confirmation(request, user_id="U0USER001", tr=tr),
            render_notify_me(request, tr=tr),
            render_muted(request, tr=tr),
            render_unsubscribed(Unsubscribed(about=about, found=False, remaining=None), tr=tr),
            render_unsubscribed(Unsubscribed(about=about, found=True, remaining=None), tr=tr),
            render_unsubscribed(Unsubscribed(about=about, found=True, remaining=("failed",)), tr=tr),
        ]
    views = tuple(
        SubscriptionView(about=a, events=("failed",), disabled_reason="not_in_channel") for a in abouts
    )
    replies += [
        render_subscriptions(Subscriptions(channel=views, mine=views), tr=tr),
        render_subscriptions(Subscriptions(channel=(), mine=()), tr=tr),
        render_threading(True, tr=tr),
        render_threading(False, tr=tr),
        render_language(Language.FR, tr=tr),
        render_language(Language.EN, tr=tr),
    ]
    for kind, destination in (("channel", "C0ALERTS1"), ("user", "U0USER001")):
        sub = Subscription(team_id=TEAM, destination_kind=kind, destination=destination, target_kind="all")
        for error in (*ERRORS, "something_new"):
            for about in abouts:
                replies.append(render_disabled_notice(sub, about=about, reason=error, tr=tr))
            replies.append(render_cannot_post(error, tr=tr))
    return replies

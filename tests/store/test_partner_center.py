"""Partner Center as Microsoft really sends it.

The status rule (``bot.sources.submissions``) is a pure table, with Microsoft's own published
examples and the fixtures of a production publishing client in it, each written here from its
shape and values and named beside it; then the paging shapes, the details that cannot be read and
the validations of a failed submission, against the fake over real HTTPS (tests/support/fakems.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.alerting.watcher import run_pass
from bot.i18n import translator
from bot.render.offers import render_card
from bot.settings import Settings
from bot.slack.app import make_client
from bot.sources import build_sources
from bot.sources.base import OfferSource
from bot.sources.http import RetryPolicy
from bot.sources.submissions import Submission, read_submissions
from bot.sources.validations import Validation, validation_messages
from bot.usecases.sync import sync_pass
from storage import db, limits
from storage.alerts.subscriptions import Target, subscribe
from storage.models import Message, Offer
from storage.reads.offers import load_card
from storage.statuses import MessageLevel, OfferStatus, StepState
from storage.workspaces import bind_default_workspace
from tests.conftest import NOW, TEAM
from tests.support.fakems import PC, FakeMicrosoft, Scripted, submission
from tests.support.fakeslack import FakeSlack

FAST = RetryPolicy(attempts=2, timeout=10, wait_initial=0.01, wait_max=0.02, wait_jitter=0.0)
CHANNEL = "C0PCREAL1"

# Learn's "Querying your submissions" (MicrosoftDocs/azure-docs,
# articles/marketplace/product-ingestion-api.md): its product id "12345678-abcd-efgh-1234-12345678901"
# is a placeholder, not a GUID, so a valid GUID stands in for it.
LEARN_PRODUCT = "12345678-abcd-4ef0-9234-123456789010"
LEARN_SCHEMA = "https://product-ingestion.azureedge.net/schema/submission/2022-03-01-preview2"
LEARN_LIVE_ID = f"submission/{LEARN_PRODUCT}/1152921515689847470"
LEARN_PREVIEW_ID = f"submission/{LEARN_PRODUCT}/1152921515689848683"
LEARN_LIVE_AT = "2022-01-25T07:13:06.4408032Z"
LEARN_PREVIEW_AT = "2022-02-04T20:07:22.4220588Z"

# release-engineering/cloudpub, tests/ms_azure/ (test_service.py: test_ensure_can_publish_*,
# test_is_submission_in_preview, test_publish_live_when_state_is_preview): product ffffffff-...,
# submission ".../0" under both targets with the same created.
CLOUDPUB_PRODUCT = "ffffffff-ffff-ffff-ffff-ffffffffffff"
CLOUDPUB_AT = "2024-07-04T22:06:16.2895521Z"


def entry(
    sub_id: str,
    target: str,
    status: str | None = "completed",
    result: str | None = "succeeded",
    created: str | None = LEARN_PREVIEW_AT,
    **extra: Any,
) -> dict[str, Any]:
    product = sub_id.split("/")[1]
    raw: dict[str, Any] = {
        "$schema": LEARN_SCHEMA,
        "id": sub_id,
        "product": f"product/{product}",
        "target": {"targetType": target},
    }
    for key, value in (("status", status), ("result", result), ("created", created)):
        if value is not None:
            raw[key] = value
    return raw | extra


def draft(product: str) -> dict[str, Any]:
    return {
        "$schema": LEARN_SCHEMA,
        "id": f"submission/{product}/0",
        "product": f"product/{product}",
        "target": {"targetType": "draft"},
    }


def cp(target: str, status: str, result: str, n: str = "0") -> dict[str, Any]:
    """A cloudpub fixture submission (lifecycleState generallyAvailable, as its fixtures carry)."""
    return entry(
        f"submission/{CLOUDPUB_PRODUCT}/{n}",
        target,
        status,
        result,
        CLOUDPUB_AT,
        lifecycleState="generallyAvailable",
    )


LEARN_SAMPLE = [
    draft(LEARN_PRODUCT),
    entry(LEARN_LIVE_ID, "live", created=LEARN_LIVE_AT),
    entry(LEARN_PREVIEW_ID, "preview", created=LEARN_PREVIEW_AT),
]
# The same product on 2022-01-25, once the preview went live: one submission under both targets
# ("it represented both preview and live until a new preview submission was created").
LEARN_GONE_LIVE = [
    draft(LEARN_PRODUCT),
    entry(LEARN_LIVE_ID, "preview", created=LEARN_LIVE_AT),
    entry(LEARN_LIVE_ID, "live", created=LEARN_LIVE_AT),
]

RULE_TABLE: list[tuple[str, list[dict[str, Any]], OfferStatus]] = [
    ("only the draft", [draft(LEARN_PRODUCT)], OfferStatus.NOT_STARTED),
    ("Learn: a live submission and a newer, different, completed preview", LEARN_SAMPLE, OfferStatus.SIGNOFF),
    ("Learn: the same, listed in another order", LEARN_SAMPLE[::-1], OfferStatus.SIGNOFF),
    ("Learn: the preview that went live, under both targets", LEARN_GONE_LIVE, OfferStatus.LIVE),
    ("Learn: the same, live listed first", [LEARN_GONE_LIVE[0], *LEARN_GONE_LIVE[:0:-1]], OfferStatus.LIVE),
    (
        "cloudpub test_publish_live_when_state_is_preview: one id under both targets",
        [cp("preview", "completed", "succeeded"), cp("live", "completed", "succeeded")],
        OfferStatus.LIVE,
    ),
    (
        "cloudpub ensure_can_publish: a preview running beside the live one (same id)",
        [cp("preview", "running", "pending"), cp("live", "completed", "succeeded")],
        OfferStatus.IN_PROGRESS,
    ),
    (
        "cloudpub ensure_can_publish: the same, live listed first",
        [cp("live", "completed", "succeeded"), cp("preview", "running", "pending")],
        OfferStatus.IN_PROGRESS,
    ),
    (
        "cloudpub ensure_can_publish: live running beside a completed preview",
        [cp("preview", "completed", "succeeded"), cp("live", "running", "pending")],
        OfferStatus.IN_PROGRESS,
    ),
    (
        "cloudpub ensure_can_publish: notStarted counts as in progress",
        [cp("live", "completed", "succeeded"), cp("preview", "notStarted", "pending", n="1")],
        OfferStatus.IN_PROGRESS,
    ),
    (
        "cloudpub test_ensure_can_publish_success: a completed preview alone",
        [cp("preview", "completed", "succeeded")],
        OfferStatus.SIGNOFF,
    ),
    (
        "cloudpub test_ensure_can_publish_success: a completed live alone",
        [cp("live", "completed", "succeeded")],
        OfferStatus.LIVE,
    ),
    (
        "cloudpub test_is_submission_in_preview: preview 1234 is live 1234",
        [cp("preview", "completed", "succeeded", "1234"), cp("live", "completed", "succeeded", "1234")],
        OfferStatus.LIVE,
    ),
    (
        "cloudpub test_is_submission_in_preview: preview 4321, live 1234, same created: the larger id is newer",
        [cp("live", "completed", "succeeded", "1234"), cp("preview", "completed", "succeeded", "4321")],
        OfferStatus.SIGNOFF,
    ),
    (
        "ties on created: preview 1234 is older than live 4321, whatever the list order",
        [cp("preview", "completed", "succeeded", "1234"), cp("live", "completed", "succeeded", "4321")],
        OfferStatus.LIVE,
    ),
    (
        "ids compare as numbers: 1000 is newer than 999",
        [cp("preview", "completed", "succeeded", "1000"), cp("live", "completed", "succeeded", "999")],
        OfferStatus.SIGNOFF,
    ),
    (
        "a failed preview newer than the live one",
        [
            entry(LEARN_LIVE_ID, "live", created=LEARN_LIVE_AT),
            entry(LEARN_PREVIEW_ID, "preview", "completed", "failed"),
        ],
        OfferStatus.FAILED,
    ),
    (
        "a failed preview older than the live one",
        [
            entry(LEARN_PREVIEW_ID, "preview", "completed", "failed", created=LEARN_LIVE_AT),
            entry(LEARN_LIVE_ID, "live", created=LEARN_PREVIEW_AT),
        ],
        OfferStatus.LIVE,
    ),
    (
        "a failed preview with no live one",
        [entry(LEARN_PREVIEW_ID, "preview", "completed", "failed")],
        OfferStatus.FAILED,
    ),
    (
        "going live failed (the preview's id under live, failed)",
        [entry(LEARN_PREVIEW_ID, "preview"), entry(LEARN_PREVIEW_ID, "live", "completed", "failed")],
        OfferStatus.FAILED,
    ),
    (
        "a cancelled publish (a result the table does not name) is a canceled publish",
        [
            entry(LEARN_LIVE_ID, "live", created=LEARN_LIVE_AT),
            entry(LEARN_PREVIEW_ID, "preview", result="cancelled"),
        ],
        OfferStatus.CANCELED,
    ),
    (
        "flight, sandbox, certification, retail and unknown targets do not decide",
        [
            entry(LEARN_LIVE_ID, "live", created=LEARN_LIVE_AT),
            *(
                entry(f"submission/{LEARN_PRODUCT}/{9000 + i}", target, "running", "pending")
                for i, target in enumerate(("flight", "sandbox", "certification", "retail", "quantum"))
            ),
        ],
        OfferStatus.LIVE,
    ),
    (
        "a status nobody documents is kept out of the decision",
        [entry(LEARN_LIVE_ID, "live", created=LEARN_LIVE_AT), entry(LEARN_PREVIEW_ID, "preview", "exploded")],
        OfferStatus.LIVE,
    ),
]


def parsed(rows: list[dict[str, Any]]) -> list[Submission]:
    return [Submission.model_validate(r) for r in rows]


@pytest.mark.parametrize(("case", "rows", "status"), RULE_TABLE, ids=[r[0] for r in RULE_TABLE])
def test_the_status_rule(case: str, rows: list[dict[str, Any]], status: OfferStatus) -> None:
    assert read_submissions(parsed(rows)).status is status, case


def test_the_steps_of_the_learn_sample_and_of_a_preview_gone_live() -> None:
    signoff = read_submissions(parsed(LEARN_SAMPLE))
    assert (signoff.preview.state, signoff.signoff.state, signoff.live.state) == (
        StepState.COMPLETE,
        StepState.WAITING_FOR_PUBLISHER_REVIEW,
        StepState.NOT_STARTED,
    )
    assert signoff.target == "preview" and signoff.preview.submission is not None
    assert signoff.preview.submission.number == "1152921515689848683"
    live = read_submissions(parsed(LEARN_GONE_LIVE))
    assert (live.preview.state, live.signoff.state, live.live.state) == (StepState.COMPLETE,) * 3
    assert live.target == "live"
    running = read_submissions(
        parsed([cp("preview", "running", "pending"), cp("live", "completed", "succeeded")])
    )
    assert (running.preview.state, running.signoff.state) == (StepState.IN_PROGRESS, StepState.NOT_STARTED)
    assert running.target == "preview"
    failed_live = read_submissions(
        parsed([entry(LEARN_PREVIEW_ID, "preview"), entry(LEARN_PREVIEW_ID, "live", "completed", "failed")])
    )
    assert (failed_live.live.state, failed_live.target) == (StepState.REJECTED, "live")


def test_unknown_values_are_named_and_known_ones_are_not() -> None:
    rows = [
        draft(LEARN_PRODUCT),
        entry(f"submission/{LEARN_PRODUCT}/5", "flight", "running", "pending"),
        entry(f"submission/{LEARN_PRODUCT}/6", "quantum", "running", "pending"),
        entry(f"submission/{LEARN_PRODUCT}/7", "preview", "exploded", "pending"),
        entry(f"submission/{LEARN_PRODUCT}/8", "preview", "completed", "superseded"),
        entry(f"submission/{LEARN_PRODUCT}/9", "live", None, None),
    ]
    reading = read_submissions(parsed(rows))
    assert reading.unknown == {
        ("targetType", "quantum"),
        ("status", "exploded"),
        ("result", "superseded"),
        ("status", "(missing)"),
    }
    assert reading.status is OfferStatus.NOT_STARTED


def test_a_deprecated_live_submission_or_product_is_delisted() -> None:
    rows = [entry(LEARN_LIVE_ID, "live", created=LEARN_LIVE_AT, lifecycleState="deprecated")]
    assert read_submissions(parsed(rows)).deprecated
    assert not read_submissions(parsed(LEARN_SAMPLE)).deprecated
    assert read_submissions(parsed(LEARN_SAMPLE), product_deprecated=True).deprecated


# --- validations, pure ---------------------------------------------------------------------------


def test_a_failed_submission_shows_every_validation_most_severe_first() -> None:
    validations = [
        Validation.model_validate(v)
        for v in (
            {"code": "invalidState", "level": "informational", "message": "Certification failed."},
            {"code": "businessValidationError", "level": "warning", "message": "Landing page 404."},
            {"code": "newCode", "level": "critical", "message": "Something new."},
        )
    ]
    failed = validation_messages(validations, when=NOW, failed=True)
    assert [(m.level, m.text) for m in failed] == [
        (MessageLevel.WARNING, "Landing page 404. (businessValidationError)"),
        (MessageLevel.WARNING, "[critical] Something new. (newCode)"),
        (MessageLevel.WARNING, "[informational] Certification failed. (invalidState)"),
    ]
    # On a submission that did not fail, an informational validation stays information (not shown).
    live = validation_messages(validations, when=NOW, failed=False)
    assert live[-1].level is MessageLevel.INFORMATION and live[-1].text.startswith("Certification")


def test_very_many_validations_are_kept_up_to_the_limit_then_counted() -> None:
    many = [Validation(code="c", level="informational", message=f"problem {i}") for i in range(250)]
    messages = validation_messages(many, when=NOW, failed=True)
    assert len(messages) == limits.MAX_STEP_MESSAGES
    assert messages[-1].text == "… and 151 more validation(s): see the offer in Partner Center."
    assert messages[-1].level is MessageLevel.WARNING
    long = Validation.model_validate({"level": "warning", "message": "x" * 50_000})
    assert len(long.message) == limits.MAX_MESSAGE_TEXT and long.message.endswith("…")


# --- against the fake, over HTTPS ------------------------------------------------------------


@pytest.fixture
def fake_ms() -> Iterator[FakeMicrosoft]:
    fake = FakeMicrosoft().start()
    yield fake
    fake.stop()


@pytest.fixture
def sources(fake_ms: FakeMicrosoft, tmp_path: Path) -> list[OfferSource]:
    settings = Settings(**fake_ms.settings(tmp_path, partner_center_publisher_id="contoso"))
    return build_sources(settings, policy=FAST)


@pytest.fixture
def bound(factory: db.SessionFactory) -> db.SessionFactory:
    with db.transaction(factory) as session:
        bind_default_workspace(session, team_id=TEAM, now=NOW)
    return factory


def run(factory: db.SessionFactory, sources: list[OfferSource]) -> Any:
    return sync_pass(session_factory=factory, sources=sources, clock=lambda: NOW, force=True)


def offer(factory: db.SessionFactory, offer_id: str) -> Offer:
    with factory() as s:
        return s.exec(select(Offer).where(Offer.offer_id == offer_id)).one()


def card_text(factory: db.SessionFactory, offer_id: str, lang: str = "en") -> str:
    with factory() as s:
        card = load_card(s, offer=offer(factory, offer_id))
        return json.dumps(render_card(card, tr=translator(lang)).blocks, ensure_ascii=False)


LIVE = ("live", "completed", "succeeded", "2026-10-02T07:13:06.4408032Z")


def products(fake: FakeMicrosoft, count: int) -> list[str]:
    made = []
    for n in range(1, count + 1):
        g = fake.add_product(n, f"offer-{n}", f"Offer {n}")
        fake.set_submissions(g, submission(g, n, *LIVE))
        made.append(g)
    return made


PAGED_PRODUCTS = {
    "absolute": [
        f"{PC}/product?$version=2022-07-01",
        f"{PC}/product?$version=2022-07-01&skipToken=2",
        f"{PC}/product?$version=2022-07-01&skipToken=4",
    ],
    "relative": [
        f"{PC}/product?$version=2022-07-01",
        f"{PC}/product?$skipToken=2&$version=2022-07-01",
        f"{PC}/product?$skipToken=4&$version=2022-07-01",
    ],
    "rooted": [
        f"{PC}/product?$version=2022-07-01",
        f"{PC}/product?$skipToken=2&$version=2022-07-01",
        f"{PC}/product?$skipToken=4&$version=2022-07-01",
    ],
    "token": [
        f"{PC}/product?$version=2022-07-01",
        f"{PC}/product?$version=2022-07-01&continuationToken=c3RhcnQ9Mg==",
        f"{PC}/product?$version=2022-07-01&continuationToken=c3RhcnQ9NA==",
    ],
}


@pytest.mark.parametrize("paging", sorted(PAGED_PRODUCTS))
def test_every_paging_shape_is_read_to_its_end_for_products_and_submissions(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], paging: str
) -> None:
    fake_ms.paging, fake_ms.page_size = paging, 2
    made = products(fake_ms, 5)
    # One product's submissions on three pages of one: the live one is on the last.
    fake_ms.submission_page_size = 1
    g = made[0]
    fake_ms.set_submissions(
        g, submission(g, 7, "preview", "completed", "succeeded", LIVE[3]), submission(g, 7, *LIVE)
    )
    report = run(bound, sources)
    (pc,) = report.sources
    assert report.ok and (pc.seen, pc.new, pc.failed, pc.stopped) == (5, 5, 0, None), pc.line()
    assert [c.target for c in fake_ms.calls_to(PC + "/product")] == PAGED_PRODUCTS[paging]
    asked = [c.target for c in fake_ms.calls_to(f"{PC}/submission/{g}")]
    assert len(asked) == 3 and asked[0] == f"{PC}/submission/{g}?$version=2022-07-01"
    assert offer(bound, "offer-1").status == "live"  # read from the submissions' last page
    assert {offer(bound, f"offer-{n}").status for n in range(1, 6)} == {"live"}


@pytest.mark.parametrize("paging", ["self", "repeat-token"])
def test_a_list_that_loops_stops_with_a_clear_error_and_counts_nobody_missing(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], paging: str
) -> None:
    made = products(fake_ms, 4)
    run(bound, sources)  # all four known, read to the end
    fake_ms.paging, fake_ms.page_size = paging, 2
    fake_ms.calls.clear()
    for _ in range(3):
        report = run(bound, sources)
        (pc,) = report.sources
        assert report.ok and pc.stopped is not None and "stopped" in pc.stopped
        assert (
            "links to a page already read" if paging == "self" else "repeats a continuationToken"
        ) in pc.stopped
        assert "listing incomplete, nobody counted missing" in pc.line()
    # A link to a page already read is not asked again; a repeated token is seen on the page it is on.
    assert len(fake_ms.calls_to(PC + "/product")) == (3 if paging == "self" else 6)
    with bound() as s:
        assert s.exec(select(Offer.missing_passes, Offer.removed_at)).all() == [(0, None)] * len(made)


def test_a_failing_later_page_keeps_what_was_read_and_counts_nobody_missing(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource]
) -> None:
    products(fake_ms, 4)
    run(bound, sources)
    first_page = {
        "value": list(fake_ms.products.values())[:2],
        "@nextLink": f"{fake_ms.url}{PC}/product?skipToken=2",
    }
    for _ in range(3):  # three listings in a row would mark the unlisted ones removed
        fake_ms.script(PC + "/product", Scripted(200, first_page))
        fake_ms.script(PC + "/product", *[Scripted(503, {"error": {"code": "Unavailable"}})] * FAST.attempts)
        report = run(bound, sources)
        (pc,) = report.sources
        assert report.ok and pc.stopped and "after page 1" in pc.stopped and pc.seen == 2
    with bound() as s:
        assert {m for m, _ in s.exec(select(Offer.missing_passes, Offer.removed_at)).all()} == {0}


def test_a_link_to_another_host_is_never_followed(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource]
) -> None:
    products(fake_ms, 1)
    fake_ms.script(PC + "/product", Scripted(200, {"value": [], "nextLink": "https://evil.example/product"}))
    report = run(bound, sources)
    (pc,) = report.sources
    assert pc.stopped and "points outside Partner Center" in pc.stopped
    assert all("evil" not in c.path for c in fake_ms.calls)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (
            Scripted(400, {"error": {"code": "badRequest", "message": "not supported for this type"}}),
            "HTTP 400",
        ),
        (Scripted(404, {"error": {"code": "notFound", "message": "no tree"}}), "HTTP 404"),
        (Scripted(200, {"resources": "nope"}), "resource tree: resources"),
        (Scripted(200, raw="{broken"), "invalid JSON"),
    ],
)
def test_a_resource_tree_that_cannot_be_read_leaves_the_status_from_the_submissions(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], answer: Scripted, why: str
) -> None:
    g = fake_ms.add_product(1, "contoso-failed", "Contoso Failed")
    fake_ms.set_submissions(g, submission(g, 1, "preview", "completed", "failed", LIVE[3]))
    fake_ms.script(PC + f"/resource-tree/product/{g}", answer)
    report = run(bound, sources)
    (pc,) = report.sources
    assert (pc.new, pc.failed, pc.details_unread) == (1, 0, 1)
    assert "1 without Microsoft's details" in pc.line() and "0 failed to read" in pc.line()
    stored = offer(bound, "contoso-failed")
    assert stored.status == "failed" and stored.details_unread and why in stored.details_unread
    text = card_text(bound, "contoso-failed")
    assert "Microsoft's details of this offer could not be read" in text
    assert f"commercial-marketplace/offers/{g}/overview|Partner Center" in text
    assert "Les détails de Microsoft" in card_text(bound, "contoso-failed", "fr")
    # Read again with the tree back: the note is gone.
    run(bound, sources)
    assert offer(bound, "contoso-failed").details_unread is None
    assert "could not be read" not in card_text(bound, "contoso-failed")


def test_a_failed_submission_without_validations_says_so_and_links_to_partner_center(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource]
) -> None:
    g = fake_ms.add_product(1, "contoso-failed", "Contoso Failed")
    fake_ms.set_submissions(g, submission(g, 1, "preview", "completed", "failed", LIVE[3]))
    run(bound, sources)
    text = card_text(bound, "contoso-failed")
    assert "Microsoft's API gave no reason for this failure" in text and "None." not in text
    assert f"commercial-marketplace/offers/{g}/overview|Partner Center" in text


def test_unknown_values_are_logged_once_per_value_not_per_product_and_pass(
    bound: db.SessionFactory,
    fake_ms: FakeMicrosoft,
    sources: list[OfferSource],
    caplog: pytest.LogCaptureFixture,
) -> None:
    for n in range(1, 4):
        g = fake_ms.add_product(n, f"offer-{n}", f"Offer {n}")
        fake_ms.set_submissions(
            g,
            submission(g, n, *LIVE),
            submission(g, n + 10, "quantum", "running", "pending", LIVE[3]),
            submission(g, n + 20, "preview", "exploded", "pending", LIVE[3]),
        )
        fake_ms.validations[(g, "live")] = [{"level": "critical", "message": "new"}]
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            report = run(bound, sources)
    assert report.ok and report.sources[0].failed == 0
    named = [r.getMessage() for r in caplog.records if "unknown" in r.getMessage()]
    assert len(named) == 3, named
    assert any("'quantum'" in m for m in named) and any("'exploded'" in m for m in named)
    assert any("validation level 'critical'" in m for m in named)
    assert {offer(bound, f"offer-{n}").status for n in range(1, 4)} == {"live"}


def test_end_to_end_a_live_offer_never_alerts_and_a_failed_ones_alert_carries_its_informational_reason(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], fake_slack: FakeSlack
) -> None:
    """Modelled on Learn and cloudpub: a preview gone live (one id, both targets, the same created,
    preview listed first), a failed preview explained only by an informational validation, on the
    second page of a relative-link listing."""
    from tests.support.clock import Clock

    clock = Clock(NOW)
    fake_ms.paging, fake_ms.page_size = "relative", 1
    live = fake_ms.add_product(1, "contoso-live", "Contoso Live")
    failed = fake_ms.add_product(2, "contoso-failed", "Contoso Failed")
    with db.transaction(bound) as s:
        subscribe(
            s,
            team_id=TEAM,
            destination_kind="channel",
            destination=CHANNEL,
            target=Target(kind="all"),
            events=(),
            created_by="U0CREATOR",
            now=clock(),
        )
    client = make_client(Settings(slack_bot_token="xoxb-pc", slack_api_url=fake_slack.url))
    sync_pass(session_factory=bound, sources=sources, clock=clock, force=True)  # drafts only
    run_pass(session_factory=bound, client=client, clock=clock, sleep=lambda _s: None)
    clock.advance(minutes=10)
    went_live = submission(live, 5, "preview", "completed", "succeeded", LIVE[3])
    fake_ms.set_submissions(live, went_live, {**went_live, "target": {"targetType": "live"}})
    fake_ms.set_submissions(failed, submission(failed, 6, "preview", "completed", "failed", LIVE[3]))
    fake_ms.validations[(failed, "preview")] = [
        {
            "code": "invalidState",
            "level": "informational",
            "message": "Issues found during Certification.",
            "resourceId": f"product/{failed}",
        }
    ]
    fake_ms.calls.clear()
    report = sync_pass(session_factory=bound, sources=sources, clock=clock, force=True)
    assert report.ok and report.status_changes == 2
    assert [c.target for c in fake_ms.calls_to(PC + "/product")] == [
        f"{PC}/product?$version=2022-07-01",
        f"{PC}/product?$skipToken=1&$version=2022-07-01",
    ], "the second page, through a relative nextLink"
    assert offer(bound, "contoso-live").status == "live"
    run_pass(session_factory=bound, client=client, clock=clock, sleep=lambda _s: None)
    for _ in range(3):  # days later: reminders are due for what waits, never for a live offer
        clock.advance(hours=25)
        sync_pass(session_factory=bound, sources=sources, clock=clock, force=True)
        run_pass(session_factory=bound, client=client, clock=clock, sleep=lambda _s: None)
    posts = [c.body for c in fake_slack.calls_to("chat.postMessage") if c.body["channel"] == CHANNEL]
    blobs = [json.dumps(p) for p in posts]
    assert not [b for b in blobs if "Contoso Live" in b], "a live offer never alerts or reminds"
    first = next(b for b in blobs if "Contoso Failed" in b)
    assert "[informational] Issues found during Certification. (invalidState)" in first
    with bound() as s:
        levels = s.exec(select(Message.level)).all()
    assert levels == [MessageLevel.WARNING.value]

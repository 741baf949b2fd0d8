"""The Partner Center / Cloud Partner Portal sync against a fake of Microsoft's side over real HTTPS
(tests/support/fakems.py): tokens, paging, $version, retries, bad products, every row of the status mapping
through the watcher to Slack (the fake Slack), removal, and sync vs import. Store tests run on SQLite
and, where TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.alerting.watcher import run_pass
from bot.i18n import ENGLISH
from bot.render.labels import status_label
from bot.settings import Settings
from bot.slack.app import make_client
from bot.sources import build_sources
from bot.sources.base import OfferSource
from bot.sources.http import RetryPolicy, retry_after_seconds
from bot.sources.submissions import Submission, status_of
from bot.usecases.sync import SyncConfig, sync_pass
from storage import db
from storage.alerts.subscriptions import Target, subscribe
from storage.imports.documents import parse_document
from storage.imports.importer import import_offers
from storage.models import Message, Offer, StatusChange, Step
from storage.statuses import OfferStatus
from storage.workspaces import bind_default_workspace
from tests.conftest import NOW, TEAM, samples_text
from tests.support.clock import Clock
from tests.support.fakems import (
    CLIENT_SECRET,
    CPP_SCOPE,
    GRAPH_SCOPE,
    PC,
    FakeMicrosoft,
    Scripted,
    submission,
)
from tests.support.fakeslack import FakeSlack

FAST = RetryPolicy(attempts=4, timeout=20, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01)
CHANNEL = "C0SYNCED1"
PREVIEW_AT = "2026-11-20T20:07:22.4220588Z"
LIVE_BEFORE = "2026-10-02T07:13:06.4408032Z"
LIVE_AFTER = "2026-11-22T10:00:00Z"


@pytest.fixture
def fake_ms() -> Iterator[FakeMicrosoft]:
    fake = FakeMicrosoft().start()
    yield fake
    fake.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def settings_for(fake: FakeMicrosoft, tmp_path: Path, **extra: Any) -> Settings:
    values = fake.settings(tmp_path, partner_center_publisher_id="contoso") | extra
    return Settings(**values)


@pytest.fixture
def ms_settings(fake_ms: FakeMicrosoft, tmp_path: Path) -> Settings:
    return settings_for(fake_ms, tmp_path, partner_center_notification_emails="ops@contoso.example")


@pytest.fixture
def sources(ms_settings: Settings) -> list[OfferSource]:
    return build_sources(ms_settings, policy=FAST)


@pytest.fixture
def bound(factory: db.SessionFactory) -> db.SessionFactory:
    """The store, bound to the fake Slack workspace (as ``serve`` does at start)."""
    with db.transaction(factory) as session:
        bind_default_workspace(session, team_id=TEAM, now=NOW)
    return factory


def run(factory: db.SessionFactory, sources: list[OfferSource], clock: Clock, **kw: Any) -> Any:
    kw.setdefault("force", True)
    return sync_pass(session_factory=factory, sources=sources, clock=clock, **kw)


def offer(factory: db.SessionFactory, offer_id: str) -> Offer:
    with factory() as s:
        return s.exec(select(Offer).where(Offer.offer_id == offer_id)).one()


def three_products(fake: FakeMicrosoft) -> list[str]:
    a = fake.add_product(1, "contoso-analytics-saas", "Contoso Analytics")
    b = fake.add_product(2, "contoso-vm", "Contoso VM", type_="azureVirtualMachine", old_spelling=True)
    c = fake.add_product(3, "contoso-bi", "Contoso BI", type_="powerBiApp")
    fake.set_submissions(a, submission(a, 1, "preview", "running", "pending", PREVIEW_AT))
    fake.set_submissions(b, submission(b, 2, "live", "completed", "succeeded", LIVE_BEFORE))
    return [a, b, c]


# --- the pure mapping ---------------------------------------------------------------------------


def subs(*rows: tuple[str, str, str, str]) -> list[Submission]:
    return [
        Submission.model_validate(submission("g", i, t, st, res, created))
        for i, (t, st, res, created) in enumerate(rows)
    ]


def test_status_from_submissions_follows_the_newest_preview_or_live_one() -> None:
    assert status_of([]) is OfferStatus.NOT_STARTED
    assert status_of(subs(("preview", "notStarted", "pending", PREVIEW_AT))) is OfferStatus.IN_PROGRESS
    assert status_of(subs(("preview", "running", "pending", PREVIEW_AT))) is OfferStatus.IN_PROGRESS
    assert status_of(subs(("preview", "completed", "failed", PREVIEW_AT))) is OfferStatus.FAILED
    assert status_of(subs(("preview", "completed", "succeeded", PREVIEW_AT))) is OfferStatus.SIGNOFF
    # A live submission older than the preview: the new round awaits its sign-off.
    both = subs(
        ("live", "completed", "succeeded", LIVE_BEFORE), ("preview", "completed", "succeeded", PREVIEW_AT)
    )
    assert status_of(both) is OfferStatus.SIGNOFF
    gone_live = subs(
        ("preview", "completed", "succeeded", PREVIEW_AT), ("live", "completed", "succeeded", LIVE_AFTER)
    )
    assert status_of(gone_live) is OfferStatus.LIVE
    live_failed = subs(
        ("preview", "completed", "succeeded", PREVIEW_AT), ("live", "completed", "failed", LIVE_AFTER)
    )
    assert status_of(live_failed) is OfferStatus.FAILED


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# --- one pass against the fake -------------------------------------------------------------------


def test_a_pass_pages_carries_version_and_reuses_one_token_per_scope(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], clock: Clock
) -> None:
    three_products(fake_ms)
    fake_ms.page_size = 2  # three products: two pages, the second through @nextLink
    report = run(bound, sources, clock)
    assert report.ok, report.line()
    (pc,) = report.sources
    assert (pc.seen, pc.new, pc.changed, pc.failed, pc.status_changes) == (3, 3, 0, 0, 3)
    listing = fake_ms.calls_to(PC + "/product")
    assert [c.args.get("skipToken") for c in listing] == [None, "2"]
    api = fake_ms.api_calls()
    assert api and all(c.args.get("$version") == "2022-07-01" for c in api)
    # Submissions for each product; a resource tree only where a preview/live submission exists.
    assert len(fake_ms.calls_to(PC + "/submission/")) == 3
    trees = fake_ms.calls_to(PC + "/resource-tree/")
    assert sorted(c.args["targetType"] for c in trees) == ["live", "preview"]
    assert pc.requests == len(api) == 2 + 3 + 2
    # A custom authority host: discovery from its own OpenID configuration, one token.
    assert fake_ms.calls_to("/contoso-tenant/v2.0/.well-known/openid-configuration")
    assert dict(fake_ms.tokens) == {GRAPH_SCOPE: 1}
    clock.advance(minutes=2)
    second = run(bound, sources, clock)
    assert second.sources[0].unchanged == 3 and second.status_changes == 0
    assert dict(fake_ms.tokens) == {GRAPH_SCOPE: 1}, "the token is reused, not fetched per pass"
    saas, vm, bi = (offer(bound, i) for i in ("contoso-analytics-saas", "contoso-vm", "contoso-bi"))
    assert (saas.status, saas.offer_type, saas.publisher_id) == ("in_progress", "saas", "contoso")
    assert (vm.status, vm.offer_type) == ("live", "virtual-machine")  # the older "externalID" spelling
    assert (bi.status, bi.offer_type) == ("not_started", "powerBiApp")  # unknown types kept as named
    assert saas.feed == "partner-center" and saas.feed_key and saas.observed_at == clock.now
    assert saas.notification_emails == "ops@contoso.example"


def test_429_waits_retry_after_and_5xx_backs_off(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], clock: Clock
) -> None:
    three_products(fake_ms)
    fake_ms.script(
        PC + "/product", Scripted(429, {"error": {"code": "TooManyRequests"}}, {"Retry-After": "1"})
    )
    fake_ms.script(PC + "/submission/", Scripted(500, {"error": {"code": "InternalError"}}), Scripted(503))
    report = run(bound, sources, clock)
    assert report.ok and report.sources[0].new == 3 and report.sources[0].failed == 0
    first, second = fake_ms.calls_to(PC + "/product")[:2]
    gap = second.at - first.at
    assert gap >= 0.95, f"waited {gap:.2f} s, Retry-After said 1"


def test_401_from_the_api_is_one_clear_line(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], clock: Clock
) -> None:
    three_products(fake_ms)
    fake_ms.script(PC + "/product", Scripted(401, {"error": {"code": "Unauthorized", "message": "no"}}))
    report = run(bound, sources, clock)
    assert not report.ok
    line = report.line()
    assert "HTTP 401" in line and "Manager role" in line and "\n" not in line
    assert len(fake_ms.calls_to(PC + "/product")) == 1, "401 is not retried"
    with bound() as s:
        assert s.exec(select(Offer)).all() == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (None, "AADSTS7000215"),  # the wrong secret
        (
            {
                "error": "invalid_client",
                "error_description": "AADSTS7000222: The provided client secret keys are expired.",
            },
            "has expired",
        ),
        (
            {
                "error": "unauthorized_client",
                "error_description": "AADSTS700016: Application with identifier 'x' was not found in the directory.",
            },
            "no application with AZURE_CLIENT_ID",
        ),
    ],
)
def test_token_errors_name_what_to_check(
    sqlite_url: str,
    fake_ms: FakeMicrosoft,
    tmp_path: Path,
    error: dict[str, str] | None,
    expected: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if error is None:
        fake_ms.secret = "another-secret"
    else:
        fake_ms.token_error = error
    factory = db.session_factory(db.open_database(sqlite_url))
    with caplog.at_level(logging.DEBUG):
        report = run(factory, build_sources(settings_for(fake_ms, tmp_path), policy=FAST), Clock(NOW))
    assert not report.ok and report.sources[0].auth_failed
    assert expected in report.line()
    assert fake_ms.api_calls() == []
    assert CLIENT_SECRET not in caplog.text and CLIENT_SECRET not in report.line()


def test_one_bad_product_is_skipped_and_counted(
    bound: db.SessionFactory,
    fake_ms: FakeMicrosoft,
    sources: list[OfferSource],
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _a, _b, c = three_products(fake_ms)
    d = fake_ms.add_product(4, "contoso-unknown", "Unknown enum")
    e = fake_ms.add_product(5, "contoso-missing", "Missing field")
    f = fake_ms.add_product(6, "contoso-json", "Not JSON")
    fake_ms.set_submissions(d, submission(d, 1, "preview", "exploded", "pending", PREVIEW_AT))
    fake_ms.set_submissions(
        e, {"id": f"submission/{e}/1", "target": {"targetType": "live"}, "status": "running"}
    )
    fake_ms.script(PC + f"/submission/{f}", Scripted(200, raw="{not json"))
    fake_ms.script(PC + f"/submission/{c}", Scripted(404, {"error": {"code": "NotFound", "message": "gone"}}))
    fake_ms.products["0f6c2f7e-0000-4000-8000-000000000099"] = {
        "id": "product/0f6c2f7e-0000-4000-8000-000000000099",
        "type": "saas",
    }
    with caplog.at_level(logging.WARNING):
        report = run(bound, sources, clock)
    (pc,) = report.sources
    assert report.ok
    # An unknown enum value or a submission without its result no longer makes a product unreadable
    # (the submission is kept out of the status, the value named in the log); 404s, bodies that are
    # not JSON and listing entries without their fields still are.
    assert (pc.seen, pc.new, pc.failed) == (7, 4, 3)
    for needle in (f, c, "000000000099", "unknown status 'exploded'", "invalid JSON", "404"):
        assert needle in caplog.text, needle
    with bound() as s:
        assert set(s.exec(select(Offer.offer_id)).all()) == {
            "contoso-analytics-saas",
            "contoso-vm",
            "contoso-unknown",
            "contoso-missing",
        }
    assert offer(bound, "contoso-unknown").status == "not_started"
    assert offer(bound, "contoso-missing").status == "in_progress"  # running, without result or created


def test_requests_in_flight_are_bounded(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, tmp_path: Path, clock: Clock
) -> None:
    fake_ms.latency = 0.02
    fake_ms.page_size = 100
    for n in range(24):
        g = fake_ms.add_product(n + 1, f"offer-{n}", f"Offer {n}")
        fake_ms.set_submissions(g, submission(g, n, "preview", "running", "pending", PREVIEW_AT))
    settings = settings_for(fake_ms, tmp_path, offerbot_sync_concurrency=3)
    report = run(bound, build_sources(settings, policy=FAST), clock, config=SyncConfig(concurrency=3))
    assert report.sources[0].new == 24
    assert 1 < fake_ms.max_in_flight <= 3


# --- every row of the mapping, through the watcher, to Slack -------------------------------------

MAPPING_ROWS = [
    # (rows of submissions, product lifecycle, status, alerted?)
    ([], None, "not_started", False),
    ([("preview", "running", "pending", PREVIEW_AT)], None, "in_progress", False),
    ([("preview", "notStarted", "pending", PREVIEW_AT)], None, "in_progress", False),
    ([("preview", "completed", "failed", PREVIEW_AT)], None, "failed", True),
    (
        [("live", "completed", "succeeded", LIVE_BEFORE), ("preview", "completed", "succeeded", PREVIEW_AT)],
        None,
        "signoff",
        True,
    ),
    (
        [("preview", "completed", "succeeded", PREVIEW_AT), ("live", "completed", "succeeded", LIVE_AFTER)],
        None,
        "live",
        False,
    ),
    (
        [
            ("preview", "completed", "succeeded", PREVIEW_AT),
            ("live", "completed", "succeeded", LIVE_AFTER, "deprecated"),
        ],
        None,
        "delisted",
        True,
    ),
    ([("live", "completed", "succeeded", LIVE_BEFORE)], "deprecated", "delisted", True),
]


@pytest.mark.parametrize(("rows", "lifecycle", "status", "alerted"), MAPPING_ROWS)
def test_each_mapping_row_reaches_slack_through_the_watcher(
    bound: db.SessionFactory,
    fake_ms: FakeMicrosoft,
    sources: list[OfferSource],
    clock: Clock,
    fake_slack: FakeSlack,
    rows: list[tuple[str, ...]],
    lifecycle: str | None,
    status: str,
    alerted: bool,
) -> None:
    g = fake_ms.add_product(1, "contoso-analytics-saas", "Contoso Analytics")
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
    run(bound, sources, clock)  # first seen: only a draft
    client = make_client(Settings(slack_bot_token="xoxb-sync", slack_api_url=fake_slack.url))
    run_pass(session_factory=bound, client=client, clock=clock, sleep=lambda _s: None)
    fake_slack.calls.clear()
    clock.advance(minutes=10)
    built = []
    for i, row in enumerate(rows):
        target, st, res, created = row[:4]
        extra = {"lifecycleState": row[4]} if len(row) > 4 else {}
        built.append(submission(g, i, target, st, res, created, **extra))
    fake_ms.set_submissions(g, *built)
    if lifecycle:
        fake_ms.products[g]["lifecycleState"] = lifecycle
    if status == "failed":
        fake_ms.validations[(g, "preview")] = [
            {
                "code": "businessValidationError",
                "level": "error",
                "message": "The landing page URL returned HTTP 404 <b>now</b>.",
                "resourceId": f"plan/{g}/5d1c",
            },
            {"code": "newCode", "level": "critical", "message": "Something new."},
        ]
    report = run(bound, sources, clock)
    assert report.status_changes == (0 if status == "not_started" else 1)
    assert offer(bound, "contoso-analytics-saas").status == status
    run_pass(session_factory=bound, client=client, clock=clock, sleep=lambda _s: None)
    posted = [c.body for c in fake_slack.calls_to("chat.postMessage") if c.body["channel"] == CHANNEL]
    assert len(posted) == (1 if alerted else 0)
    if alerted:
        blob = json.dumps(posted[0]["blocks"])
        assert status_label(status, ENGLISH) in posted[0]["text"]
        assert f"commercial-marketplace/offers/{g}/overview" in blob
    if status == "failed":
        blob = json.dumps(posted[0]["blocks"])
        assert (
            "The landing page URL returned HTTP 404 &lt;b&gt;now&lt;/b&gt;. (businessValidationError)" in blob
        )
        assert "Publish to preview" in blob
        assert "[critical] Something new. (newCode)" in blob  # an unknown level is text, shown as a warning


def test_steps_show_what_the_api_tells_with_times(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], clock: Clock
) -> None:
    g = fake_ms.add_product(1, "contoso-analytics-saas", "Contoso Analytics")
    fake_ms.set_submissions(
        g,
        submission(g, 1, "live", "completed", "succeeded", LIVE_BEFORE),
        submission(g, 2, "preview", "completed", "succeeded", PREVIEW_AT),
    )
    run(bound, sources, clock)
    with bound() as s:
        steps = s.exec(select(Step).order_by(col(Step.position))).all()
    assert [(st.name, st.status, st.estimated_time) for st in steps] == [
        ("Publish to preview", "complete", "submitted 2026-11-20 20:07 UTC"),
        ("Publisher sign-off", "waitingForPublisherReview", "submitted 2026-11-20 20:07 UTC"),
        ("Publish to live", "notStarted", ""),
    ]


# --- removal, and sync vs import -----------------------------------------------------------------


def test_removed_offers_are_marked_never_dropped(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], clock: Clock
) -> None:
    _a, b, c = three_products(fake_ms)
    run(bound, sources, clock)
    fake_ms.products[c]["lifecycleState"] = "deleted"
    del fake_ms.products[b]  # missing from the listing from now on
    for passes_missing in (1, 2, 3):
        clock.advance(minutes=20)
        report = run(bound, sources, clock)
        vm = offer(bound, "contoso-vm")
        if passes_missing < 3:
            assert vm.removed_at is None and vm.missing_passes == passes_missing
    assert report.sources[0].removed == 1
    assert vm.removed_at == clock.now and vm.status == "live"
    bi = offer(bound, "contoso-bi")
    assert bi.removed_at is not None
    with bound() as s:
        assert len(s.exec(select(StatusChange).where(StatusChange.offer_pk == vm.id)).all()) == 1
    # Back in the listing: no longer removed.
    fake_ms.add_product(2, "contoso-vm", "Contoso VM", type_="azureVirtualMachine")
    clock.advance(minutes=20)
    run(bound, sources, clock)
    assert offer(bound, "contoso-vm").removed_at is None


def test_the_newest_observation_wins_and_history_shows_both(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], clock: Clock
) -> None:
    g = fake_ms.add_product(1, "contoso-analytics-vm", "Contoso Analytics VM", type_="azureVirtualMachine")
    fake_ms.set_submissions(g, submission(g, 1, "preview", "completed", "failed", PREVIEW_AT))
    fake_ms.validations[(g, "preview")] = [
        {"code": "invalidResource", "level": "error", "message": "No image."}
    ]
    sync_started = clock.now
    clock.advance(minutes=1)
    # A hand import lands while the sync is reading (after the sync read the product).
    doc = json.loads(samples_text())
    doc["offers"] = [o for o in doc["offers"] if o["offerId"] == "contoso-analytics-vm"]
    with db.transaction(bound) as s:
        import_offers(s, team_id=TEAM, offers=parse_document(json.dumps(doc)), now=clock.now)
    # The sync's observation is older: it does not overwrite the import.
    report = run(bound, sources, Clock(sync_started))
    assert report.sources[0].stale == 1
    assert offer(bound, "contoso-analytics-vm").status == "in_progress"
    # The next sync reads newer data: it wins, and history holds both sources.
    clock.advance(minutes=5)
    run(bound, sources, clock)
    vm = offer(bound, "contoso-analytics-vm")
    assert vm.status == "failed" and vm.feed == "partner-center"
    with bound() as s:
        history = s.exec(
            select(StatusChange.source, StatusChange.new_status).order_by(col(StatusChange.id))
        ).all()
        assert list(history) == [("import", "in_progress"), ("partner-center", "failed")]
        assert s.exec(select(Message)).all(), "the validation became a message"


# --- the Cloud Partner Portal API ---------------------------------------------------------------


def test_cloud_partner_portal_reads_status_documents_with_the_import_validation(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, tmp_path: Path, clock: Clock
) -> None:
    sample = json.loads(samples_text())["offers"]
    vm, consulting = sample[0], sample[1]
    fake_ms.cpp_offers["contoso"] = [
        {
            "offerTypeId": "microsoft-azure-virtualmachines",
            "publisherId": "contoso",
            "id": vm["offerId"],
            "version": 3,
            "definition": {"displayText": vm["name"]},
            "changedTime": "2026-11-20T09:00:00Z",
        },
        {
            "offerTypeId": "microsoft-azure-newkind",
            "publisherId": "contoso",
            "id": "contoso-bad",
            "version": 1,
        },
    ]
    fake_ms.cpp_offers["fabrikam"] = [
        {
            "offerTypeId": "microsoft-consulting",
            "publisherId": "fabrikam",
            "id": consulting["offerId"],
            "definition": {"displayText": consulting["name"]},
        },
    ]
    fake_ms.cpp_status[("contoso", vm["offerId"])] = vm["status"]
    fake_ms.cpp_status[("fabrikam", consulting["offerId"])] = consulting["status"]
    bad = json.loads(json.dumps(vm["status"]))
    bad["steps"][0]["status"] = "done"
    fake_ms.cpp_status[("contoso", "contoso-bad")] = bad
    settings = Settings(**fake_ms.settings(tmp_path, cloud_partner_publishers="contoso, fabrikam"))
    sources = build_sources(settings, policy=FAST)
    assert [s.name for s in sources] == ["cloud-partner-portal"]
    report = run(bound, sources, clock)
    (cpp,) = report.sources
    assert (cpp.seen, cpp.new, cpp.failed) == (3, 2, 1)
    assert 'status.steps[0].status: unknown step status "done"' in cpp.failures[0]
    assert dict(fake_ms.tokens) == {CPP_SCOPE: 1}
    assert all(c.args.get("api-version") == "2017-10-31" for c in fake_ms.api_calls())
    stored = offer(bound, vm["offerId"])
    assert (stored.status, stored.offer_type, stored.publisher_id) == (
        "in_progress",
        "virtual-machine",
        "contoso",
    )
    assert offer(bound, consulting["offerId"]).offer_type == "consulting-service"


# --- the scheduled job ----------------------------------------------------------------------------


def test_the_scheduled_job_asks_in_progress_offers_every_5_minutes_and_wakes_the_watcher(
    bound: db.SessionFactory,
    fake_ms: FakeMicrosoft,
    ms_settings: Settings,
    sources: list[OfferSource],
    clock: Clock,
) -> None:
    from bot.jobs.digest import DIGEST_JOB_ID
    from bot.jobs.forecast import FORECAST_JOB_ID
    from bot.jobs.scheduling import (
        HOUSEKEEPING_JOB_ID,
        JOB_ID,
        PROBE_JOB_ID,
        SYNC_JOB_ID,
        SyncJob,
        background_scheduler,
        registry,
    )

    a, _b, _c = three_products(fake_ms)  # a in progress, b live, c never published
    client = make_client(Settings(slack_bot_token="xoxb-x", slack_api_url="http://127.0.0.1:9/api/"))
    jobs = registry(ms_settings, bound, client=client, sources=sources)
    ids = [JOB_ID, PROBE_JOB_ID, DIGEST_JOB_ID, SYNC_JOB_ID, FORECAST_JOB_ID, HOUSEKEEPING_JOB_ID]
    assert [j.id for j in jobs] == ids
    scheduler = background_scheduler(jobs)
    sync_entry = scheduler.get_job(SYNC_JOB_ID)
    assert sync_entry.trigger.interval.total_seconds() == 60 and sync_entry.max_instances == 1
    job = jobs[3].func
    assert isinstance(job, SyncJob) and job.on_changes is not None
    job.clock = clock
    woken: list[datetime] = []
    job.on_changes = lambda: woken.append(clock.now)
    first = job()
    assert first is not None and first.sources[0].full and first.sources[0].new == 3
    assert woken == [clock.now]
    calls = len(fake_ms.api_calls())
    clock.advance(seconds=30)  # a run within the minute: nothing is due
    job()
    assert len(fake_ms.api_calls()) == calls
    clock.advance(minutes=5)  # the offer in progress is due; the others wait for the full pass
    fake_ms.set_submissions(a, submission(a, 1, "preview", "completed", "failed", PREVIEW_AT))
    due = job()
    assert due is not None and not due.sources[0].full and due.sources[0].seen == 1
    new_calls = fake_ms.api_calls()[calls:]
    assert {c.path.rsplit("/", 1)[-1] for c in new_calls} == {a}
    assert offer(bound, "contoso-analytics-saas").status == "failed"
    assert len(woken) == 2
    clock.advance(minutes=15)
    full = job()
    assert full is not None and full.sources[0].full and full.sources[0].seen == 3
    # wake() moves the watcher's next run to now.
    before = scheduler.get_job(JOB_ID).next_run_time
    scheduler.start(paused=True)
    try:
        from bot.jobs.scheduling import wake

        scheduler.get_job(JOB_ID).modify(next_run_time=datetime.now(UTC) + timedelta(hours=1))
        wake(scheduler, JOB_ID)
        assert scheduler.get_job(JOB_ID).next_run_time <= datetime.now(UTC) + timedelta(seconds=1)
    finally:
        scheduler.shutdown(wait=False)
    assert before is not None


def test_a_credentials_failure_waits_for_the_next_full_pass(
    bound: db.SessionFactory,
    fake_ms: FakeMicrosoft,
    ms_settings: Settings,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.jobs.scheduling import SyncJob

    fake_ms.secret = "rotated"
    job = SyncJob(ms_settings, bound, build_sources(ms_settings, policy=FAST), clock=clock)
    with caplog.at_level(logging.ERROR):
        report = job()
    assert report is not None and not report.ok
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is None and "AADSTS7000215" in errors[0].getMessage()
    assert job.next_full == {(None, "partner-center"): clock.now + timedelta(minutes=15)}


def test_sync_settings() -> None:
    assert Settings(offerbot_sync_interval="2h").offerbot_sync_interval == timedelta(hours=2)
    with pytest.raises(ValueError, match="at least 60 seconds"):
        Settings(offerbot_sync_interval="30")
    assert Settings(cloud_partner_publishers=" a, b ,,").cloud_partner_publisher_ids == ["a", "b"]
    assert not Settings().sync_configured
    with pytest.raises(ValueError, match="https"):
        Settings(partner_center_api_url="http://graph.example/rp/product-ingestion")
    secret = Settings(azure_client_secret="top-secret")
    assert "top-secret" not in repr(secret) and "top-secret" not in str(secret.model_dump())


# --- faults found in review -----------------------------------------------------------------------


def test_a_product_listed_twice_is_stored_once(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], clock: Clock
) -> None:
    three_products(fake_ms)
    twin = fake_ms.add_product(4, "contoso-analytics-saas", "Contoso Analytics (twin)")
    fake_ms.set_submissions(twin, submission(twin, 9, "preview", "completed", "failed", PREVIEW_AT))
    report = run(bound, sources, clock)
    assert report.ok, report.line()
    with bound() as s:
        assert len(s.exec(select(Offer).where(Offer.offer_id == "contoso-analytics-saas")).all()) == 1


def test_a_failing_token_endpoint_is_one_line(
    sqlite_url: str, fake_ms: FakeMicrosoft, tmp_path: Path
) -> None:
    fake_ms.script("/contoso-tenant/oauth2/v2.0/token", *[Scripted(503, raw="")] * 3)
    factory = db.session_factory(db.open_database(sqlite_url))
    report = run(factory, build_sources(settings_for(fake_ms, tmp_path), policy=FAST), Clock(NOW))
    (pc,) = report.sources
    assert not report.ok and not pc.auth_failed
    assert "token endpoint failed" in pc.line() and "\n" not in pc.line()


def test_a_body_that_cannot_be_decoded_fails_only_its_product(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], clock: Clock
) -> None:
    a, _b, _c = three_products(fake_ms)
    broken = Scripted(200, raw="definitely not gzip", headers={"Content-Encoding": "gzip"})
    fake_ms.script(PC + f"/submission/{a}", *[broken] * FAST.attempts)
    report = run(bound, sources, clock)
    assert report.ok and (report.sources[0].new, report.sources[0].failed) == (2, 1)


def test_missing_counts_need_three_absent_listings_in_a_row(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], clock: Clock
) -> None:
    _a, b, _c = three_products(fake_ms)
    run(bound, sources, clock)
    product = fake_ms.products.pop(b)
    for _ in range(2):
        clock.advance(minutes=20)
        run(bound, sources, clock)
    assert offer(bound, "contoso-vm").missing_passes == 2
    # Listed again, but its entry cannot be read: listed all the same, and the count restarts.
    fake_ms.products[b] = {**product, "type": "x" * 100}
    clock.advance(minutes=20)
    report = run(bound, sources, clock)
    assert report.sources[0].failed == 1
    assert offer(bound, "contoso-vm").missing_passes == 0
    del fake_ms.products[b]
    clock.advance(minutes=20)
    run(bound, sources, clock)
    vm = offer(bound, "contoso-vm")
    assert vm.missing_passes == 1 and vm.removed_at is None


def test_a_deleted_product_without_submissions_is_marked_removed(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], clock: Clock
) -> None:
    g = fake_ms.add_product(1, "contoso-draft", "Draft", lifecycle="deleted")
    del fake_ms.submissions[g]
    report = run(bound, sources, clock)
    assert report.ok and report.sources[0].failed == 0
    assert offer(bound, "contoso-draft").removed_at == clock.now


def test_a_publisher_that_cannot_be_listed_does_not_stop_the_others(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, tmp_path: Path, clock: Clock
) -> None:
    vm = json.loads(samples_text())["offers"][0]
    fake_ms.cpp_offers["contoso"] = [{"offerTypeId": "microsoft-azure-virtualmachines", "id": vm["offerId"]}]
    fake_ms.cpp_status[("contoso", vm["offerId"])] = vm["status"]
    settings = Settings(**fake_ms.settings(tmp_path, cloud_partner_publishers="contoso,contoso"))
    sources = build_sources(settings, policy=FAST)
    run(bound, sources, clock)
    # A publisher typed wrong (404) next to the good one: the good one is synced, and nothing the
    # failed listing would have had is counted missing.
    settings = Settings(**fake_ms.settings(tmp_path, cloud_partner_publishers="contso,contoso"))
    sources = build_sources(settings, policy=FAST)
    for _ in range(3):
        clock.advance(minutes=20)
        report = run(bound, sources, clock)
        (cpp,) = report.sources
        assert report.ok and cpp.failed == 1 and cpp.unchanged == 1
    assert "publisher contso" in cpp.failures[0]
    assert len(fake_ms.calls_to("/api/publishers/contoso/offers/")) == 4, "contoso listed once per pass"
    with bound() as s:
        assert s.exec(select(Offer.missing_passes, Offer.removed_at)).all() == [(0, None)]


class DownSource:
    """A source that is down: its listing always fails."""

    name = "down"
    label = "Down"
    requests = 0

    def prepare(self) -> None:
        pass

    def list_products(self) -> Any:
        from bot.sources.base import SourceUnavailable

        raise SourceUnavailable("503 all day")

    def ref_for(self, known: Any) -> Any:
        raise AssertionError("nothing is known")

    def read(self, ref: Any, *, observed_at: datetime) -> Any:
        raise AssertionError("nothing is listed")


def test_one_source_down_does_not_make_the_others_list_every_minute(
    bound: db.SessionFactory,
    fake_ms: FakeMicrosoft,
    ms_settings: Settings,
    sources: list[OfferSource],
    clock: Clock,
) -> None:
    from bot.jobs.scheduling import SyncJob

    three_products(fake_ms)
    job = SyncJob(ms_settings, bound, [*sources, DownSource()], clock=clock)  # type: ignore[list-item]
    first = job()
    assert first is not None and [r.full for r in first.sources] == [True, True]
    assert first.sources[1].error and "503 all day" in first.sources[1].error
    clock.advance(seconds=61)
    second = job()
    assert second is not None and [r.full for r in second.sources] == [False, True]
    first_pages = [c for c in fake_ms.calls_to(PC + "/product") if "skipToken" not in c.args]
    assert len(first_pages) == 1, "Partner Center was listed once, not again a minute later"


def test_a_scheduled_full_pass_skips_products_read_within_the_minute(
    bound: db.SessionFactory,
    fake_ms: FakeMicrosoft,
    ms_settings: Settings,
    sources: list[OfferSource],
    clock: Clock,
) -> None:
    from bot.jobs.scheduling import SyncJob

    a, _b, _c = three_products(fake_ms)
    job = SyncJob(ms_settings, bound, sources, clock=clock)
    job()
    clock.advance(minutes=5)
    job()  # the offer in progress is read again now
    clock.advance(seconds=30)
    job.next_full = {}  # a full pass is due 30 s after that read
    before = len(fake_ms.calls_to(PC + "/submission/"))
    report = job()
    assert report is not None and report.sources[0].full and report.sources[0].asked == 2
    asked = {c.path.rsplit("/", 1)[-1] for c in fake_ms.calls_to(PC + "/submission/")[before:]}
    assert a not in asked and len(asked) == 2


def test_a_long_pass_stores_what_it_read_every_second_not_only_at_its_end(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], clock: Clock
) -> None:
    """A batch waits for at most ``write_every`` seconds of the pass's clock: changes read early reach
    the store (and the watcher) while the pass goes on."""
    import sqlalchemy as sa

    fake_ms.page_size = 100
    for n in range(6):
        g = fake_ms.add_product(n + 1, f"offer-{n}", f"Offer {n}")
        fake_ms.set_submissions(g, submission(g, n, "preview", "running", "pending", PREVIEW_AT))
    commits = []
    sa.event.listen(db.engine_of(bound), "commit", lambda _conn: commits.append(1))
    run(bound, sources, clock, config=SyncConfig(concurrency=1, write_every=1e9))
    whole = len(commits)
    ticks = iter(range(1000))
    clock.advance(minutes=5)
    commits.clear()
    config = SyncConfig(concurrency=1, write_every=1.0, monotonic=lambda: next(ticks) * 0.5)
    report = run(bound, sources, clock, config=config)
    assert report.sources[0].unchanged == 6
    assert len(commits) == whole + 2  # three batches of two instead of one of six


def test_sync_once_honours_the_concurrency_setting(fake_ms: FakeMicrosoft, tmp_path: Path) -> None:
    from bot.runtime.serve import sync

    fake_ms.latency = 0.02
    fake_ms.page_size = 100
    for n in range(12):
        g = fake_ms.add_product(n + 1, f"offer-{n}", f"Offer {n}")
        fake_ms.set_submissions(g, submission(g, n, "preview", "running", "pending", PREVIEW_AT))
    settings = settings_for(
        fake_ms, tmp_path, offerbot_sync_concurrency=2, database_url=f"sqlite:///{tmp_path / 'once.db'}"
    )
    report = sync(settings, once=True)
    assert report is not None and report.ok and report.sources[0].new == 12
    assert fake_ms.max_in_flight == 2


def test_nul_characters_and_deep_nesting_fail_only_their_product(
    bound: db.SessionFactory, fake_ms: FakeMicrosoft, sources: list[OfferSource], clock: Clock
) -> None:
    a, b, _c = three_products(fake_ms)
    fake_ms.products[a]["alias"] = "Contoso\x00Analytics"  # PostgreSQL could not store it
    deep = '{"value": ' + "[" * 3000 + "]" * 3000 + "}"
    fake_ms.script(PC + f"/submission/{b}", Scripted(200, raw=deep))
    report = run(bound, sources, clock)
    (pc,) = report.sources
    assert report.ok and (pc.seen, pc.new, pc.failed) == (3, 1, 2)
    assert any("contains a NUL character" in f for f in pc.failures)
    assert any("nested deeper than 32 levels" in f for f in pc.failures)

"""*Go live* from Slack, below Slack: the use-cases against the fake Microsoft over real HTTPS
(``configure``, its job's status and summary, the Cloud Partner Portal's ``golive`` and its
operation), on a real store (SQLite and, where TEST_DATABASE_URL is set, PostgreSQL). The request
body is the one Learn's "Publishing to live" gives; the failed job's errors nest as cloudpub's
fixtures do (tests/support/fakems.py). Time is a test clock: no test waits a real minute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.settings import Settings
from bot.sources import build_sources, publishers_for
from bot.sources.publishing import Publishers, flatten_errors
from bot.usecases.access import Actor, PermissionDenied
from bot.usecases.golive import (
    AlreadyRequested,
    GoLiveAsk,
    GoLiveTarget,
    Requested,
    follow_requests,
    go_live_target,
    request_go_live,
)
from bot.usecases.sync import sync_pass
from storage import db
from storage.errors import UsageError
from storage.models import Offer, OfferAction
from storage.publishing import PublishRequest, active_request
from storage.statuses import PublishState
from storage.workspaces import bind_default_workspace
from tests.conftest import NOW, TEAM
from tests.support.clock import Clock
from tests.support.fakems import CERTIFICATION_FAILED, PC, FakeMicrosoft, Scripted, submission

PAT = "U0PAT0001"
MANAGER = Actor(user_id=PAT, is_manager=True)
CREATED = "2026-11-20T20:07:22.4220588Z"


def test_nested_errors_are_flattened_most_specific_first() -> None:
    # cloudpub's certification failure (release-engineering/cloudpub, tests/ms_azure fixtures)
    assert flatten_errors(CERTIFICATION_FAILED) == [
        "invalidState: Issues found during Certification.",
        "invalidState: Certification",
        "internalServerError: Operation failed",
    ]
    assert flatten_errors(["plain text", "plain text", {"message": "only a message"}, 3, None]) == [
        "plain text",
        "only a message",
    ]
    deep: dict[str, Any] = {"code": "c", "message": "m"}
    for _ in range(50):
        deep = {"code": "c", "message": "outer", "details": [deep]}
    assert flatten_errors([deep]) == ["c: outer"], "a nesting deeper than ten is cut, not followed"
    assert flatten_errors("not a list") == []


@pytest.fixture
def fake_ms() -> Iterator[FakeMicrosoft]:
    fake = FakeMicrosoft().start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(fake_ms: FakeMicrosoft, tmp_path: Path) -> Settings:
    return Settings(
        **fake_ms.settings(tmp_path, partner_center_publisher_id="contoso", offerbot_go_live=True)
    )


@pytest.fixture
def publishers(settings: Settings) -> Publishers:
    found = publishers_for(settings)
    assert found is not None
    return found


@pytest.fixture
def awaiting(factory: db.SessionFactory, fake_ms: FakeMicrosoft, settings: Settings) -> dict[str, Any]:
    """contoso-saas awaits sign-off: its preview submission succeeded, nothing is live yet."""
    with db.transaction(factory) as session:
        bind_default_workspace(session, team_id=TEAM, now=NOW)
    g = fake_ms.add_product(1, "contoso-saas", "Contoso SaaS")
    preview = submission(g, 7, "preview", "completed", "succeeded", CREATED)
    fake_ms.set_submissions(g, preview)
    sources = build_sources(settings)
    report = sync_pass(session_factory=factory, sources=sources, clock=lambda: NOW, force=True)
    assert report.ok
    with factory() as session:
        offer = session.exec(select(Offer).where(Offer.offer_id == "contoso-saas")).one()
    assert offer.status == "signoff"
    return {"g": g, "pk": offer.id, "preview": preview["id"], "sources": sources}


def ask(pk: int, actor: Actor = MANAGER) -> GoLiveAsk:
    from bot.usecases.access import AccessPolicy

    return GoLiveAsk(
        team_id=TEAM, offer_pk=pk, actor=actor, policy=AccessPolicy(), channel="C0ALERTS1", ts="1.0"
    )


def configure_posts(fake: FakeMicrosoft) -> list[Any]:
    return [c.body for c in fake.calls_to(PC + "/configure") if c.method == "POST"]


def history(factory: db.SessionFactory) -> list[str]:
    with factory() as session:
        return [a.action for a in session.exec(select(OfferAction).order_by(OfferAction.id)).all()]  # type: ignore[arg-type]


def test_go_live_sends_one_configure_and_follows_its_job_once_a_minute_until_live(
    factory: db.SessionFactory, fake_ms: FakeMicrosoft, publishers: Publishers, awaiting: dict[str, Any]
) -> None:
    clock = Clock(NOW)
    target = go_live_target(factory, publishers, ask(awaiting["pk"]))
    assert target.preview is not None and target.submission_id == awaiting["preview"]
    assert target.preview.created is not None and target.preview.created.isoformat().startswith(
        "2026-11-20T20:07"
    )
    assert configure_posts(fake_ms) == [], "the modal's look sends nothing"
    done = request_go_live(
        factory, publishers, ask(awaiting["pk"]), confirmed=awaiting["preview"], now=clock()
    )
    assert isinstance(done, Requested) and done.request.state == PublishState.RUNNING
    (body,) = configure_posts(fake_ms)
    assert body["$schema"].endswith("/schema/configure/2022-07-01")
    (resource,) = body["resources"]
    assert resource["id"] == awaiting["preview"] and resource["target"] == {"targetType": "live"}
    assert resource["product"] == f"product/{awaiting['g']}"
    with pytest.raises(AlreadyRequested, match="already asked"):  # a second click, even confirmed
        request_go_live(factory, publishers, ask(awaiting["pk"]), confirmed=awaiting["preview"], now=clock())
    with pytest.raises(AlreadyRequested):
        go_live_target(factory, publishers, ask(awaiting["pk"]))
    assert len(configure_posts(fake_ms)) == 1, "never a second request"
    ended = []
    for _ in range(30):  # runs 20 s apart, as the scheduler runs the job
        clock.advance(seconds=20)
        ended = follow_requests(factory, publishers, now=clock())
        if ended:
            break
    assert clock() - NOW == timedelta(minutes=3), "looked at after 1, 2 and 3 minutes"
    status_reads = [c for c in fake_ms.calls_to(PC + "/configure/") if c.path.endswith("/status")]
    assert len(status_reads) == 3, "two answers of running, then completed"
    summaries = [c for c in fake_ms.calls_to(PC + "/configure/") if not c.path.endswith("/status")]
    assert len(summaries) == 1, "the summary once, after it completed"
    with factory() as session:
        request = session.exec(select(PublishRequest)).one()
    assert request.state == PublishState.SUCCEEDED and request.polls == 2, "two looks found it running"
    assert request.finished_at is not None and request.finished_at - request.requested_at >= timedelta(
        minutes=3
    )
    assert history(factory) == ["go_live", "go_live_ok"]
    report = sync_pass(session_factory=factory, sources=awaiting["sources"], clock=clock, force=True)
    assert report.ok
    with factory() as session:
        assert session.get(Offer, awaiting["pk"]).status == "live"  # type: ignore[union-attr]


def test_the_job_is_never_asked_about_sooner_than_a_minute_apart(
    factory: db.SessionFactory, fake_ms: FakeMicrosoft, publishers: Publishers, awaiting: dict[str, Any]
) -> None:
    clock = Clock(NOW)
    fake_ms.job_polls = 100
    request_go_live(factory, publishers, ask(awaiting["pk"]), confirmed=awaiting["preview"], now=clock())
    for _ in range(30):  # ten minutes in runs 20 s apart (0 s to 9 min 40 s)
        follow_requests(factory, publishers, now=clock())
        clock.advance(seconds=20)
    reads = [c for c in fake_ms.calls_to(PC + "/configure/") if c.path.endswith("/status")]
    assert len(reads) == 9, "at 1, 2, ... 9 minutes, never sooner"


def test_a_failed_job_reports_its_nested_errors_and_the_card_says_so(
    factory: db.SessionFactory, fake_ms: FakeMicrosoft, publishers: Publishers, awaiting: dict[str, Any]
) -> None:
    from bot.i18n import translator
    from bot.render.offers import render_card
    from storage.reads.offers import load_card

    clock = Clock(NOW)
    fake_ms.job_outcome, fake_ms.job_polls = "failed", 0
    request_go_live(factory, publishers, ask(awaiting["pk"]), confirmed=awaiting["preview"], now=clock())
    clock.advance(minutes=1)
    (outcome,) = follow_requests(factory, publishers, now=clock())
    assert outcome.request.state == PublishState.FAILED
    assert outcome.request.errors[0] == "invalidState: Issues found during Certification."
    assert history(factory) == ["go_live", "go_live_failed"]
    with factory() as session:
        card = load_card(session, offer=session.get(Offer, awaiting["pk"]))  # type: ignore[arg-type]
    for language, words, title in (
        ("en", "did not publish the offer", "Unresolved issues (3)"),
        ("fr", "n’a pas publié l’offre", "Problèmes non résolus (3)"),
    ):
        text = str(render_card(card, tr=translator(language)).blocks)
        assert words in text and title in text, text
        assert ":red_circle: *" in text and "Issues found during Certification." in text


def test_a_newer_preview_since_the_modal_is_shown_again_and_nothing_is_sent(
    factory: db.SessionFactory, fake_ms: FakeMicrosoft, publishers: Publishers, awaiting: dict[str, Any]
) -> None:
    newer = submission(awaiting["g"], 9, "preview", "completed", "succeeded", "2026-11-21T08:00:00Z")
    fake_ms.set_submissions(awaiting["g"], newer)
    done = request_go_live(factory, publishers, ask(awaiting["pk"]), confirmed=awaiting["preview"], now=NOW)
    assert isinstance(done, GoLiveTarget) and done.submission_id == newer["id"]
    assert configure_posts(fake_ms) == []
    with factory() as session:
        assert active_request(session, offer_pk=awaiting["pk"]) is None


@pytest.mark.parametrize(
    "answer",
    [
        Scripted(
            400, {"error": {"code": "invalidState", "message": "A job is already running.", "details": []}}
        ),
        Scripted(404, {"error": {"code": "notFound", "message": "No such submission.", "details": []}}),
    ],
)
def test_a_request_microsoft_refuses_at_once_is_explained_and_nothing_is_recorded(
    factory: db.SessionFactory,
    fake_ms: FakeMicrosoft,
    publishers: Publishers,
    awaiting: dict[str, Any],
    answer: Scripted,
) -> None:
    fake_ms.script(PC + "/configure", answer)
    with pytest.raises(UsageError, match="Nothing was requested") as raised:
        request_go_live(factory, publishers, ask(awaiting["pk"]), confirmed=awaiting["preview"], now=NOW)
    assert answer.body["error"]["message"] in str(raised.value)
    with factory() as session:
        assert session.exec(select(PublishRequest)).all() == []
    assert history(factory) == []
    # and once Microsoft accepts, it can be asked again
    done = request_go_live(factory, publishers, ask(awaiting["pk"]), confirmed=awaiting["preview"], now=NOW)
    assert isinstance(done, Requested)


def test_a_request_whose_answer_is_lost_is_kept_as_failed_and_never_sent_again_blindly(
    factory: db.SessionFactory, fake_ms: FakeMicrosoft, publishers: Publishers, awaiting: dict[str, Any]
) -> None:
    fake_ms.script(PC + "/configure", Scripted(503, {}))
    with pytest.raises(UsageError, match="unknown"):
        request_go_live(factory, publishers, ask(awaiting["pk"]), confirmed=awaiting["preview"], now=NOW)
    assert len(configure_posts(fake_ms)) == 1, "a POST is never retried"
    with factory() as session:
        (request,) = session.exec(select(PublishRequest)).all()
    assert request.state == PublishState.FAILED and request.job == ""
    assert history(factory) == ["go_live_unknown"]
    from bot.i18n import translator
    from bot.render.offers import render_card
    from storage.reads.offers import load_card

    with factory() as session:
        card = load_card(session, offer=session.get(Offer, awaiting["pk"]))  # type: ignore[arg-type]
    text = str(render_card(card, tr=translator("en")).blocks)
    assert "whether Microsoft got it is unknown" in text and "did not publish" not in text


def test_a_2xx_that_cannot_be_read_is_kept_as_unknown_never_as_nothing_requested(
    factory: db.SessionFactory, fake_ms: FakeMicrosoft, publishers: Publishers, awaiting: dict[str, Any]
) -> None:
    fake_ms.script(PC + "/configure", Scripted(202, {"jobStatus": "notStarted"}))  # no jobId
    with pytest.raises(UsageError, match="whether it started publishing is unknown"):
        request_go_live(factory, publishers, ask(awaiting["pk"]), confirmed=awaiting["preview"], now=NOW)
    with factory() as session:
        (request,) = session.exec(select(PublishRequest)).all()
    assert request.state == PublishState.FAILED and request.job == "", "kept: it may have started"


def test_one_active_request_per_offer_is_kept_by_the_store_itself(
    factory: db.SessionFactory, awaiting: dict[str, Any]
) -> None:
    """Two processes that both passed the check: the unique index lets one reserve the offer."""
    from storage.publishing import finish, reserve

    def one(session: Any) -> Any:
        return reserve(
            session,
            team_id=TEAM,
            offer_pk=awaiting["pk"],
            api="partner-center",
            submission_id=awaiting["preview"],
            submitted_at=None,
            user_id=PAT,
            now=NOW,
        )

    with db.transaction(factory) as session:
        first = one(session)
        assert first is not None and one(session) is None
        assert first.id is not None
        finish(session, request_id=first.id, state=PublishState.FAILED, errors=[], now=NOW)
    with db.transaction(factory) as session:
        assert one(session) is not None, "once it ended, the offer may be asked again"


def test_only_admins_owners_and_managers_may_go_live(
    factory: db.SessionFactory, fake_ms: FakeMicrosoft, publishers: Publishers, awaiting: dict[str, Any]
) -> None:
    member = Actor(user_id="U0MEMBER1")
    fake_ms.calls.clear()
    with pytest.raises(PermissionDenied, match="admins and owners"):
        go_live_target(factory, publishers, ask(awaiting["pk"], member))
    with pytest.raises(PermissionDenied):
        request_go_live(
            factory, publishers, ask(awaiting["pk"], member), confirmed=awaiting["preview"], now=NOW
        )
    assert fake_ms.api_calls() == []


def test_a_restarted_process_goes_on_with_the_stored_job(
    factory: db.SessionFactory, fake_ms: FakeMicrosoft, settings: Settings, awaiting: dict[str, Any]
) -> None:
    clock = Clock(NOW)
    first = publishers_for(settings)
    assert first is not None
    request_go_live(factory, first, ask(awaiting["pk"]), confirmed=awaiting["preview"], now=clock())
    (job,) = fake_ms.jobs
    again = publishers_for(settings)  # a new process: nothing in memory but the store
    assert again is not None
    ended = []
    for _ in range(5):
        clock.advance(minutes=1)
        ended += follow_requests(factory, again, now=clock())
    (outcome,) = ended
    assert outcome.request.job == job and outcome.request.state == PublishState.SUCCEEDED


def cpp_offer(
    factory: db.SessionFactory, fake_ms: FakeMicrosoft, tmp_path: Path, status: str
) -> tuple[Offer, Publishers]:
    """contoso-vm read from the fake Cloud Partner Portal with ``status``, synced into the workspace,
    and *Go live*'s way to Microsoft."""
    settings = Settings(
        **fake_ms.settings(tmp_path, cloud_partner_publishers="contoso", offerbot_go_live=True)
    )
    with db.transaction(factory) as session:
        bind_default_workspace(session, team_id=TEAM, now=NOW)
    fake_ms.cpp_offers["contoso"] = [
        {
            "offerTypeId": "microsoft-azure-virtualmachines",
            "publisherId": "contoso",
            "id": "contoso-vm",
            "version": 3,
            "definition": {"displayText": "Contoso VM"},
            "changedTime": "2026-11-20T10:00:00Z",
        }
    ]
    fake_ms.cpp_status[("contoso", "contoso-vm")] = {
        "status": status,
        "messages": [],
        "steps": [],
        "previewLinks": [],
        "liveLinks": [],
        "notificationEmails": None,
    }
    report = sync_pass(
        session_factory=factory, sources=build_sources(settings), clock=lambda: NOW, force=True
    )
    assert report.ok, report.line()
    with factory() as session:
        offer = session.exec(select(Offer).where(Offer.offer_id == "contoso-vm")).one()
    publishers = publishers_for(settings)
    assert publishers is not None
    return offer, publishers


def test_the_cloud_partner_portal_goes_live_through_its_operation(
    factory: db.SessionFactory, fake_ms: FakeMicrosoft, tmp_path: Path
) -> None:
    offer, publishers = cpp_offer(factory, fake_ms, tmp_path, "waitingForPublisherReview")
    assert offer.status == "signoff", offer.status
    target = go_live_target(factory, publishers, ask(offer.id or 0))
    assert target.preview is None
    done = request_go_live(factory, publishers, ask(offer.id or 0), confirmed=target.submission_id, now=NOW)
    assert isinstance(done, Requested)
    (post,) = [c for c in fake_ms.calls if c.method == "POST" and c.path.endswith("/golive")]
    assert post.path == "/api/publishers/contoso/offers/contoso-vm/golive"
    assert done.request.job.startswith(fake_ms.url + "/api/publishers/contoso/offers/contoso-vm/operations/")
    clock = Clock(NOW)
    ended = []
    for _ in range(4):
        clock.advance(minutes=1)
        ended += follow_requests(factory, publishers, now=clock())
    (outcome,) = ended
    assert outcome.request.state == PublishState.SUCCEEDED


def test_cancel_publish_cancels_offerbots_own_job_and_the_job_ends_cancelled(
    factory: db.SessionFactory, fake_ms: FakeMicrosoft, publishers: Publishers, awaiting: dict[str, Any]
) -> None:
    from bot.usecases.cancel import cancel_publish, cancel_target

    clock = Clock(NOW)
    fake_ms.job_polls = 100
    with pytest.raises(UsageError, match="Nothing offerbot can cancel"):
        cancel_target(factory, ask(awaiting["pk"]))  # awaiting sign-off: nothing runs
    request_go_live(factory, publishers, ask(awaiting["pk"]), confirmed=awaiting["preview"], now=clock())
    with pytest.raises(PermissionDenied):
        cancel_publish(factory, publishers, ask(awaiting["pk"], Actor(user_id="U0MEMBER1")), now=clock())
    assert cancel_target(factory, ask(awaiting["pk"])).request is not None
    sam = Actor(user_id="U0SAM0001", is_manager=True)
    asked = cancel_publish(factory, publishers, ask(awaiting["pk"], sam), now=clock())
    (job,) = fake_ms.jobs
    cancels = [c for c in fake_ms.calls if c.method == "POST" and c.path.endswith("/cancel")]
    assert [c.path for c in cancels] == [f"{PC}/configure/{job}/cancel"]
    assert asked.request.cancel_by == "U0SAM0001"
    clock.advance(minutes=1)
    (outcome,) = follow_requests(factory, publishers, now=clock())
    assert outcome.request.state == PublishState.CANCELLED
    with factory() as session:
        rows = [
            (a.action, a.user_id) for a in session.exec(select(OfferAction).order_by(OfferAction.id)).all()
        ]  # type: ignore[arg-type]
    assert rows == [("go_live", PAT), ("cancel", "U0SAM0001"), ("cancelled", "U0SAM0001")]
    with pytest.raises(UsageError, match="Nothing offerbot can cancel"):
        cancel_target(factory, ask(awaiting["pk"]))


def test_a_cancel_microsoft_refuses_is_explained_and_not_recorded(
    factory: db.SessionFactory, fake_ms: FakeMicrosoft, publishers: Publishers, awaiting: dict[str, Any]
) -> None:
    from bot.usecases.cancel import cancel_publish

    request_go_live(factory, publishers, ask(awaiting["pk"]), confirmed=awaiting["preview"], now=NOW)
    (job,) = fake_ms.jobs
    refusal = {"error": {"code": "badRequest", "message": "The job cannot be cancelled.", "details": []}}
    fake_ms.script(f"{PC}/configure/{job}/cancel", Scripted(400, refusal))
    with pytest.raises(UsageError, match="The job cannot be cancelled"):
        cancel_publish(factory, publishers, ask(awaiting["pk"]), now=NOW)
    with factory() as session:
        assert session.exec(select(PublishRequest)).one().cancel_by == ""
    assert history(factory) == ["go_live"]


def test_a_cloud_partner_portal_publish_offerbot_did_not_start_can_be_cancelled(
    factory: db.SessionFactory, fake_ms: FakeMicrosoft, tmp_path: Path
) -> None:
    from bot.usecases.cancel import cancel_publish

    fake_ms.cpp_publishing.add("contoso/contoso-vm")
    offer, publishers = cpp_offer(factory, fake_ms, tmp_path, "running")
    assert offer.status == "in_progress"
    asked = cancel_publish(factory, publishers, ask(offer.id or 0), now=NOW)
    assert asked.request.kind == "cancel" and "/operations/" in asked.request.job
    (post,) = [c for c in fake_ms.api_calls() if c.method == "POST"]
    assert post.path == "/api/publishers/contoso/offers/contoso-vm/cancel"
    clock = Clock(NOW)
    ended = []
    for _ in range(4):
        clock.advance(minutes=1)
        ended += follow_requests(factory, publishers, now=clock())
    (outcome,) = ended
    assert outcome.request.state == PublishState.SUCCEEDED and outcome.request.kind == "cancel"
    assert history(factory) == ["cancel", "cancelled"]


def test_two_followers_at_once_look_at_a_job_once_and_a_cut_off_request_ends_once(
    factory: db.SessionFactory, fake_ms: FakeMicrosoft, publishers: Publishers, awaiting: dict[str, Any]
) -> None:
    """Two jobs processes (or two runs) at the same moment: the first claims the job for a few
    minutes, so the second neither asks Microsoft nor ends the request again."""
    from storage.publishing import claim_due, reserve

    clock = Clock(NOW)
    fake_ms.job_polls = 100
    request_go_live(factory, publishers, ask(awaiting["pk"]), confirmed=awaiting["preview"], now=clock())
    clock.advance(minutes=1)
    with db.transaction(factory) as session:
        running, _ = claim_due(session, now=clock(), lease=timedelta(minutes=5))
    assert len(running) == 1
    assert follow_requests(factory, publishers, now=clock()) == []  # the other process: claimed
    assert [c for c in fake_ms.calls_to(PC + "/configure/") if c.path.endswith("/status")] == []
    # a request cut off while sending: ended by one follower only, told once
    g = fake_ms.add_product(2, "contoso-other", "Contoso Other")
    sync_pass(session_factory=factory, sources=awaiting["sources"], clock=clock, force=True)
    with factory() as session:
        other = session.exec(select(Offer).where(Offer.offer_id == "contoso-other")).one()
    with db.transaction(factory) as session:
        reserve(
            session,
            team_id=TEAM,
            offer_pk=other.id or 0,
            api="partner-center",
            submission_id=f"submission/{g}/1",
            submitted_at=None,
            user_id=PAT,
            now=clock(),
        )
    clock.advance(minutes=11)
    first = follow_requests(factory, publishers, now=clock())
    second = follow_requests(factory, publishers, now=clock())
    cut = [o for o in first if o.card.offer.offer_id == "contoso-other"]
    assert len(cut) == 1 and cut[0].request.job == "" and cut[0].request.state == PublishState.FAILED
    assert not [o for o in second if o.card.offer.offer_id == "contoso-other"]

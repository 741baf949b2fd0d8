"""Partner Center connections from the Home tab: an admin adds one with a client secret and one with
a certificate from ``OFFERBOT_CERTIFICATE_DIR`` (signed ``view_submission`` requests, a wrong field
marked in the form), tests one against the fake Microsoft (one token, one API request) and removes
one; someone who is not an admin sees none of it; no secret reaches Slack. A refused connection's
admins are told once, by direct message, in their language. Real store, real HTTP to the fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.http.server import wsgi_app
from bot.i18n import ENGLISH
from bot.jobs.refusals import RefusalJob
from bot.jobs.sync import SyncJob
from bot.render.offers import render_card
from bot.settings import Settings
from bot.slack.app import create_app, make_client
from bot.slack.clients import OneWorkspace
from bot.usecases.connections import ConnectionFeeds
from bot.usecases.offers import card_of
from storage import db
from storage.connections import PartnerConnection
from storage.models import Offer
from storage.sealing import new_key
from tests.conftest import NOW, SIGNING_SECRET, TEAM, RunningServer, load_samples, view_submission
from tests.e2e.test_home import home_click, open_home, published, text_of
from tests.store.test_connections import secret_input
from tests.store.test_credentials import pem_file
from tests.support.fakems import (
    CLIENT_ID,
    CLIENT_SECRET,
    OTHER_CLIENT_ID,
    OTHER_TENANT,
    TENANT,
    FakeMicrosoft,
)
from tests.support.fakeslack import FakeSlack, wait_until

ADMIN, MEMBER, MANAGER = "U0ADMIN01", "U0MEMBER1", "U0MANAGE1"


@pytest.fixture
def fake_ms() -> Iterator[FakeMicrosoft]:
    fake = FakeMicrosoft().start()
    fake.add_product(1, "contoso-saas", "Contoso SaaS")
    yield fake
    fake.stop()


@pytest.fixture
def settings(fake_ms: FakeMicrosoft, fake_slack: FakeSlack, database_url: str, tmp_path: Path) -> Settings:
    base = fake_ms.settings(tmp_path)
    for name in ("azure_tenant_id", "azure_client_id", "azure_client_secret"):
        base.pop(name)
    certificates = tmp_path / "certificates"  # each workspace's PEM files in a folder of its own
    (certificates / TEAM).mkdir(parents=True)
    _, fake_ms.client_certificate = pem_file(certificates / TEAM)
    fake_slack.roles[ADMIN] = {"is_admin"}
    fake_slack.roles[MEMBER] = set()
    return Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.url,
        database_url=database_url,
        offerbot_secret_key=new_key(),
        offerbot_certificate_dir=certificates,
        offerbot_managers=MANAGER,
        **base,
    )


@pytest.fixture
def server(settings: Settings, factory: db.SessionFactory) -> Iterator[RunningServer]:
    app = create_app(settings, session_factory=factory)
    running = RunningServer(wsgi_app(app, factory, signing_secret=SIGNING_SECRET))
    yield running
    running.close()


def submit(
    server: RunningServer,
    callback: str,
    values: dict[str, str],
    *,
    metadata: str = "",
    team: str = TEAM,
    user: str = ADMIN,
) -> Any:
    """The form submitted as Slack sends it: each value under its block and action id."""
    state = {
        block: {block: {"type": "static_select", "selected_option": {"value": value}}}
        if block == "certificate"
        else {block: {"type": "plain_text_input", "value": value}}
        for block, value in values.items()
    }
    return view_submission(
        server.url,
        callback_id=callback,
        user=user,
        metadata=metadata,
        values=state,
        team=team,
        view_id="V0CONNECT",
    )


def opened(fake: FakeSlack, count: int) -> dict[str, Any]:
    view = fake.wait_for("views.open", count)[-1].body["view"]
    return dict(json.loads(view) if isinstance(view, str) else view)


def menu(value: str) -> dict[str, Any]:
    return {
        "action_id": "connection_menu",
        "type": "overflow",
        "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
    }


FORM = {"tenant": TENANT, "client": CLIENT_ID, "publisher": "contoso"}


def test_an_admin_adds_tests_and_removes_connections_from_the_home_tab(
    server: RunningServer,
    fake_slack: FakeSlack,
    fake_ms: FakeMicrosoft,
    factory: db.SessionFactory,
    settings: Settings,
) -> None:
    open_home(server, MEMBER)
    assert "connection" not in text_of(published(fake_slack)).lower(), "members see no connections"
    open_home(server, ADMIN)
    home = published(fake_slack, 2)
    assert "Partner Center connections (0)" in text_of(home) and "connection_add" in text_of(home)

    home_click(server, {"action_id": "connection_add", "type": "button", "value": "add"}, user=ADMIN)
    form = opened(fake_slack, 1)
    ids = [b.get("block_id") for b in form["blocks"]]
    assert ids[:6] == ["name", "tenant", "client", "publisher", "portal", "secret"]
    (select_block,) = [b for b in form["blocks"] if b.get("block_id") == "certificate"]
    assert [o["value"] for o in select_block["element"]["options"]] == ["offerbot-client.pem"]

    wrong = submit(server, "connection_add_submit", {**FORM, "name": "contoso-pc", "client": "nope"})
    assert wrong["response_action"] == "errors" and "Application (client) ID" in wrong["errors"]["client"]
    answer = submit(server, "connection_add_submit", {**FORM, "name": "contoso-pc", "secret": CLIENT_SECRET})
    assert answer["response_action"] == "update" and "contoso-pc" in json.dumps(answer["view"])
    again = submit(server, "connection_add_submit", {**FORM, "name": "contoso-pc", "secret": "x"})
    assert "already has a connection" in again["errors"]["name"]
    both = {**FORM, "name": "cert-pc", "secret": "x", "certificate": "offerbot-client.pem"}
    assert "not both" in submit(server, "connection_add_submit", both)["errors"]["secret"]
    cert = {**FORM, "name": "cert-pc", "certificate": "offerbot-client.pem"}
    assert submit(server, "connection_add_submit", cert)["response_action"] == "update"
    outside = {**FORM, "name": "evil", "certificate": "../../etc/passwd"}
    assert (
        "OFFERBOT_CERTIFICATE_DIR"
        in submit(server, "connection_add_submit", outside)["errors"]["certificate"]
    )
    folder = settings.offerbot_certificate_dir
    assert folder is not None
    (folder / TEAM / "link.pem").symlink_to("/etc/hostname")  # a link out of the folder
    linked = {**FORM, "name": "evil", "certificate": "link.pem"}
    assert (
        "OFFERBOT_CERTIFICATE_DIR" in submit(server, "connection_add_submit", linked)["errors"]["certificate"]
    )

    home = wait_until(lambda: "cert-pc" in text_of(published(fake_slack)) and published(fake_slack))
    assert "contoso-pc" in text_of(home) and "client certificate" in text_of(home)
    with factory() as session:
        rows = session.exec(select(PartnerConnection)).all()
    assert sorted(r.name for r in rows) == ["cert-pc", "contoso-pc"]

    before = len(fake_slack.calls_to("views.open"))
    home_click(server, menu("test:contoso-pc"), user=ADMIN)
    waiting = opened(fake_slack, before + 1)
    assert "Testing" in json.dumps(waiting)
    update = fake_slack.wait_for("views.update", 1, timeout=20)[-1]
    assert update.body["external_id"] == waiting["external_id"]
    assert "1 product on its first page" in json.dumps(update.body["view"])
    home_click(server, menu("test:cert-pc"), user=ADMIN)
    update = fake_slack.wait_for("views.update", 2, timeout=20)[-1]
    assert "client certificate" in json.dumps(update.body["view"]) and ":x:" not in json.dumps(update.body)

    home_click(server, menu("remove:contoso-pc"), user=ADMIN)
    confirm = opened(fake_slack, before + 3)
    done = submit(server, confirm["callback_id"], {}, metadata=confirm["private_metadata"])
    assert "removed" in json.dumps(done["view"])
    with factory() as session:
        assert [r.name for r in session.exec(select(PartnerConnection)).all()] == ["cert-pc"]

    sent = json.dumps([c.body for c in fake_slack.calls])
    assert CLIENT_SECRET not in sent and "PRIVATE KEY" not in sent


def test_a_member_cannot_add_a_connection_by_forging_the_submission(
    server: RunningServer, fake_slack: FakeSlack, factory: db.SessionFactory
) -> None:
    forged = submit(
        server, "connection_add_submit", {**FORM, "name": "forged", "secret": CLIENT_SECRET}, user=MEMBER
    )
    assert forged["response_action"] == "errors"
    with factory() as session:
        assert session.exec(select(PartnerConnection)).all() == []


def test_a_refused_connection_tells_its_admins_once_and_its_cards_say_since_when(
    settings: Settings,
    fake_slack: FakeSlack,
    fake_ms: FakeMicrosoft,
    factory: db.SessionFactory,
    server: RunningServer,
) -> None:
    answer = submit(server, "connection_add_submit", {**FORM, "name": "contoso-pc", "secret": CLIENT_SECRET})
    assert answer["response_action"] == "update"
    sealer = settings.require_sealer()
    SyncJob(settings, factory, [], clock=lambda: NOW, connections=ConnectionFeeds(settings, sealer))()
    fake_ms.secret = "rotated-in-entra"  # the secret was rotated in Entra ID, not here
    later = NOW + timedelta(hours=1)
    SyncJob(settings, factory, [], clock=lambda: later, connections=ConnectionFeeds(settings, sealer))()

    client = make_client(settings)
    job = RefusalJob(factory, OneWorkspace(client), managers=settings.managers, clock=lambda: later)
    fake_slack.fail("users.list", error="internal_error")
    fake_slack.locales[MANAGER] = "fr-FR"  # each is told in their own language
    before = len(fake_slack.calls_to("chat.postMessage"))
    assert job() == 0, "who the admins are is not known yet: nobody is told, the next run asks again"
    assert job() == 2  # the admin (who also added it) and the manager
    posts = fake_slack.calls_to("chat.postMessage")[before:]
    assert sorted(p.body["channel"] for p in posts) == [ADMIN, MANAGER]
    to_admin = next(p.body["text"] for p in posts if p.body["channel"] == ADMIN)
    assert "contoso-pc" in to_admin and "AADSTS7000215" in to_admin and CLIENT_SECRET not in to_admin
    to_manager = next(p.body["text"] for p in posts if p.body["channel"] == MANAGER)
    assert "Microsoft refuse la connexion à l’Espace partenaires *contoso-pc*" in to_manager
    assert job() == 0, "told once"
    SyncJob(settings, factory, [], clock=lambda: later, connections=ConnectionFeeds(settings, sealer))()
    assert job() == 0, "still refused: not told again"

    with factory() as session:
        (offer,) = session.exec(select(Offer)).all()
        card = card_of(session, team_id=TEAM, offer_pk=offer.id or 0)
    note = json.dumps(render_card(card, tr=ENGLISH).blocks)
    assert f"Not read since <!date^{int(NOW.timestamp())}^" in note and "*contoso-pc*" in note
    open_home(server, ADMIN)
    assert "refused since" in text_of(published(fake_slack))

    # The admin gives it the new secret from the Home tab's menu; the next run reads with it.
    feeds = ConnectionFeeds(settings, sealer)
    sync = SyncJob(settings, factory, [], clock=lambda: later, connections=feeds)
    sync()
    opens = len(fake_slack.calls_to("views.open"))
    home_click(server, menu("replace:contoso-pc"), user=ADMIN)
    form = opened(fake_slack, opens + 1)
    assert [b.get("block_id") for b in form["blocks"]][1] == "secret"
    meta = form["private_metadata"]
    wrong = submit(server, form["callback_id"], {"secret": "a\nb"}, metadata=meta)
    assert wrong["response_action"] == "errors" and "on one line" in wrong["errors"]["secret"]
    done = submit(server, form["callback_id"], {"secret": "rotated-in-entra"}, metadata=meta)
    assert "signs in with its new client secret" in json.dumps(done["view"])
    report = sync()  # the same job: the changed connection is signed in again and read at once
    assert report is not None and report.ok, report and report.line()
    with factory() as session:
        (row,) = session.exec(select(PartnerConnection)).all()
        card = card_of(session, team_id=TEAM, offer_pk=offer.id or 0)
    assert row.refused_at is None and row.read_at == later
    assert "Not read since" not in json.dumps(render_card(card, tr=ENGLISH).blocks)
    assert "rotated-in-entra" not in json.dumps([c.body for c in fake_slack.calls])


def test_two_workspaces_each_connect_their_own_account_from_the_home_tab_and_see_only_theirs(
    settings: Settings, fake_slack: FakeSlack, fake_ms: FakeMicrosoft, engine: Engine
) -> None:
    """Multi-workspace mode: two Partner Center accounts (two tenants, each its own application
    and products in the fake Microsoft). A connects with a client secret, B with a certificate from
    OFFERBOT_CERTIFICATE_DIR; one sync run reads each into its own workspace, and each workspace's
    commands see only their own offers."""
    from tests.e2e.test_workspaces import A, B, command, install

    fake_ms.other_certificate, fake_ms.client_certificate = fake_ms.client_certificate, None
    folders = settings.offerbot_certificate_dir
    assert folders is not None
    (folders / B).mkdir()
    (folders / TEAM / "offerbot-client.pem").rename(folders / B / "offerbot-client.pem")
    fake_ms.add_product(2, "fabrikam-saas", "Fabrikam SaaS", tenant=OTHER_TENANT)
    multi = Settings(
        **{
            **settings.model_dump(),
            "slack_bot_token": None,
            "slack_client_id": "1234.5678",
            "slack_client_secret": "client-secret",
        }
    )
    factory = db.session_factory(engine)
    running = RunningServer(
        wsgi_app(create_app(multi, session_factory=factory), factory, signing_secret=SIGNING_SECRET)
    )
    try:
        install(running, fake_slack, A)
        install(running, fake_slack, B)
        fake_slack.roles["U0ADMINA1"] = {"is_admin"}
        fake_slack.roles["U0OWNERB1"] = {"is_owner"}
        secret = {**FORM, "name": "contoso-pc", "secret": CLIENT_SECRET}
        done = submit(running, "connection_add_submit", secret, team=A, user="U0ADMINA1")
        assert done["response_action"] == "update", done
        cert = {
            "tenant": OTHER_TENANT,
            "client": OTHER_CLIENT_ID,
            "publisher": "fabrikam",
            "name": "fabrikam",
        }
        cert["certificate"] = "offerbot-client.pem"
        taken = submit(running, "connection_add_submit", cert, team=A, user="U0ADMINA1")
        assert "OFFERBOT_CERTIFICATE_DIR" in taken["errors"]["secret"], (
            "B's file is not A's to name (A has none)"
        )
        done = submit(running, "connection_add_submit", cert, team=B, user="U0OWNERB1")
        assert done["response_action"] == "update", done

        feeds = ConnectionFeeds(multi, multi.require_sealer())
        report = SyncJob(multi, factory, [], clock=lambda: NOW, connections=feeds)()
        assert report is not None and report.ok, report and report.line()
        with factory() as session:
            offers = {(o.team_id, o.offer_id) for o in session.exec(select(Offer)).all()}
        assert offers == {(A, "contoso-saas"), (B, "fabrikam-saas")}
        assert command(running, "contoso-saas", A).startswith("Contoso SaaS")
        assert command(running, "fabrikam-saas", B).startswith("Fabrikam SaaS")
        assert "No offer matches" in command(running, "contoso-saas", B)
        assert "No offer matches" in command(running, "fabrikam-saas", A)
        tokens = [c for c in fake_ms.calls if c.path.endswith("/oauth2/v2.0/token")]
        assert {c.path.split("/")[1] for c in tokens} == {TENANT, OTHER_TENANT}
    finally:
        running.close()


def test_go_live_publishes_an_offer_of_a_stored_connection_with_that_connections_credential(
    settings: Settings, fake_ms: FakeMicrosoft, factory: db.SessionFactory
) -> None:
    """With no connection in the environment, Go live reaches Microsoft through the stored
    connection that reads the offer: the configure request carries a token of that connection's
    tenant, and the jobs process follows the job with it to the end."""
    from bot.usecases.access import AccessPolicy, Actor
    from bot.usecases.connections import add_connection, remove_connection
    from bot.usecases.golive import GoLiveAsk, follow_requests, go_live_target, request_go_live
    from bot.usecases.stored_publishers import go_live_publishers
    from storage.errors import UsageError
    from storage.statuses import OfferStatus
    from tests.support.fakems import OTHER_SECRET, PC, submission

    on = Settings(**{**settings.model_dump(), "offerbot_go_live": True})
    sealer = on.require_sealer()
    manager = Actor(user_id=ADMIN, is_manager=True)
    g = fake_ms.add_product(2, "fabrikam-saas", "Fabrikam SaaS", tenant=OTHER_TENANT)
    data = secret_input(
        TEAM,
        "fabrikam",
        tenant=OTHER_TENANT,
        client=OTHER_CLIENT_ID,
        publisher="fabrikam",
        secret=OTHER_SECRET,
    )
    add_connection(factory, actor=manager, data=data, sealer=sealer, now=NOW)
    feeds = ConnectionFeeds(on, sealer)
    SyncJob(on, factory, [], clock=lambda: NOW, connections=feeds)()
    fake_ms.set_submissions(g, submission(g, 7, "preview", "completed", "succeeded", "2026-11-20T20:07:22Z"))
    SyncJob(on, factory, [], clock=lambda: NOW + timedelta(hours=1), connections=feeds)()
    with factory() as session:
        (offer,) = session.exec(select(Offer)).all()
    assert offer.status == OfferStatus.SIGNOFF and offer.connection_id is not None

    publishers = go_live_publishers(on, factory)
    assert publishers is not None and publishers.partner_center is None  # nothing in the environment
    ask = GoLiveAsk(team_id=TEAM, offer_pk=offer.id or 0, actor=manager, policy=AccessPolicy())
    target = go_live_target(factory, publishers, ask)
    assert target.submission_id == fake_ms.submissions[g][-1]["id"]
    request_go_live(factory, publishers, ask, confirmed=target.submission_id, now=NOW)
    (configure,) = [c for c in fake_ms.calls_to(PC + "/configure") if c.method == "POST"]
    bearer = configure.headers["Authorization"].removeprefix("Bearer ")
    assert fake_ms._token_tenant[bearer] == OTHER_TENANT
    # Its job is followed with its connection: that one cannot be removed meanwhile, and another
    # connection reading the offer now does not take the job over.
    with pytest.raises(UsageError, match="being published with this connection"):
        remove_connection(factory, actor=manager, team_id=TEAM, name="fabrikam", now=NOW)
    _set_connection(factory, offer.id or 0, None)
    polls_before = len(fake_ms.calls)
    ended = [
        o for i in range(1, 5) for o in follow_requests(factory, publishers, now=NOW + timedelta(minutes=i))
    ]
    assert [o.request.state for o in ended] == ["succeeded"]
    polls = [
        c for c in fake_ms.calls[polls_before:] if c.headers.get("Authorization", "").startswith("Bearer ")
    ]
    assert polls and {fake_ms._token_tenant[c.headers["Authorization"][7:]] for c in polls} == {OTHER_TENANT}
    _set_connection(factory, offer.id or 0, offer.connection_id)
    assert remove_connection(factory, actor=manager, team_id=TEAM, name="fabrikam", now=NOW) == 1
    with pytest.raises(UsageError, match="was removed from what offerbot reads"):  # never the environment's
        go_live_target(factory, publishers, ask)


def _set_connection(factory: db.SessionFactory, offer_pk: int, connection_id: int | None) -> None:
    with db.transaction(factory) as session:
        offer = session.get(Offer, offer_pk)
        assert offer is not None
        offer.connection_id = connection_id
        session.add(offer)


def test_a_connection_refused_by_the_api_stays_refused_between_full_passes_and_is_told_once(
    settings: Settings, fake_slack: FakeSlack, fake_ms: FakeMicrosoft, factory: db.SessionFactory
) -> None:
    """Microsoft gives the token but the API answers 403 (the application lost its role): the runs
    between full passes ask nothing, so they must not count as a read that ends the refusal (which
    would tell the admins again at every full pass)."""
    from bot.usecases.access import Actor
    from bot.usecases.connections import NewCredential, add_connection, replace_credential
    from tests.support.fakems import PC, Scripted

    sealer = settings.require_sealer()
    data = secret_input(TEAM, "contoso-pc")
    add_connection(factory, actor=Actor(user_id=ADMIN, is_manager=True), data=data, sealer=sealer, now=NOW)
    forbidden = Scripted(403, {"error": {"code": "Forbidden", "message": "no role"}})
    fake_ms.script(PC + "/product", *[forbidden] * 3)  # the full passes at 0, 16 and 32 minutes
    now = [NOW]
    sync = SyncJob(settings, factory, [], clock=lambda: now[0], connections=ConnectionFeeds(settings, sealer))
    refusals = RefusalJob(factory, OneWorkspace(make_client(settings)), clock=lambda: now[0])
    told = []
    for minutes in (0, 2, 4, 16, 18, 32):
        now[0] = NOW + timedelta(minutes=minutes)
        sync()
        told.append(refusals())
    assert told == [1, 0, 0, 0, 0, 0], "the admin is told once"
    with factory() as session:
        (row,) = session.exec(select(PartnerConnection)).all()
    assert row.refused_at == NOW and row.read_at is None
    # A new credential (the role given back, a new secret): the next run reads all of it at once,
    # not at the next full pass 16 minutes on.
    now[0] = NOW + timedelta(minutes=33)
    new = NewCredential(secret=SecretStr(CLIENT_SECRET))
    admin = Actor(user_id=ADMIN, is_manager=True)
    replace_credential(
        factory, actor=admin, team_id=TEAM, name="contoso-pc", credential=new, sealer=sealer, now=now[0]
    )
    now[0] = NOW + timedelta(minutes=34)
    report = sync()
    assert report is not None and report.ok and report.sources[0].full, report and report.line()
    with factory() as session:
        (row,) = session.exec(select(PartnerConnection)).all()
    assert row.refused_at is None and row.read_at == now[0]


def test_a_job_whose_connection_can_no_longer_sign_in_ends_failed_instead_of_being_looked_at_forever(
    settings: Settings, factory: db.SessionFactory
) -> None:
    from bot.usecases.golive import NO_WAY, follow_requests
    from bot.usecases.stored_publishers import go_live_publishers
    from storage.publishing import reserve, started

    load_samples(factory)
    with factory() as session:
        offer = session.exec(select(Offer)).first()
    assert offer is not None and offer.id is not None
    with db.transaction(factory) as session:
        request = reserve(
            session,
            team_id=offer.team_id,
            offer_pk=offer.id,
            api="partner-center",
            submission_id="submission/x/1",
            submitted_at=None,
            user_id=ADMIN,
            now=NOW,
            connection_id=12345,  # a stored connection that is not there any more
        )
        assert request is not None and request.id is not None
        started(session, request_id=request.id, job="job-1", next_poll_at=NOW)
    publishers = go_live_publishers(Settings(**{**settings.model_dump(), "offerbot_go_live": True}), factory)
    assert publishers is not None
    (ended,) = follow_requests(factory, publishers, now=NOW + timedelta(minutes=1))
    assert ended.request.state == "failed" and list(ended.request.errors) == [NO_WAY]

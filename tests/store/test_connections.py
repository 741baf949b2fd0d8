"""Partner Center connections stored per workspace: sealed at rest, read by the sync job into their
own workspace only, one with a client secret and one with a certificate (the fake Entra ID checks
the certificate's signed assertion), a refused one marked and its offers kept; the CLI adds, lists,
tests and removes them and rotates the key. Real store, real HTTPS to the fake Microsoft."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlmodel import select

from bot.cli import build_parser
from bot.jobs.sync import SyncJob
from bot.logs import REDACT
from bot.runtime import connection_cmd
from bot.settings import Settings
from bot.usecases.connections import ConnectionFeeds, ConnectionInput, refusals_to_tell
from storage import db
from storage.connections import PartnerConnection
from storage.errors import ConfigError, UsageError
from storage.models import Offer
from storage.sealing import Sealer, new_key
from tests.store.test_credentials import pem_file
from tests.support.fakems import CLIENT_ID, CLIENT_SECRET, TENANT, FakeMicrosoft

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
TEAM_A, TEAM_B = "TAAAAAAAA", "TBBBBBBBB"


@pytest.fixture
def fake_ms() -> Iterator[FakeMicrosoft]:
    fake = FakeMicrosoft().start()
    fake.add_product(1, "contoso-saas", "Contoso SaaS")
    fake.cpp_offers["fabrikam"] = [
        {
            "offerTypeId": "microsoft-azure-virtualmachines",
            "publisherId": "fabrikam",
            "id": "fabrikam-vm",
            "version": 1,
            "definition": {"displayText": "Fabrikam VM"},
        }
    ]
    fake.cpp_status[("fabrikam", "fabrikam-vm")] = {
        "status": "running",
        "steps": [],
        "previewLinks": [],
        "liveLinks": [],
        "notificationEmails": "",
    }
    yield fake
    fake.stop()


def cli(settings: Settings, *argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = connection_cmd.run(
        settings, build_parser().parse_args(["connection", *argv]), stdin=io.StringIO(stdin), out=out
    )
    return code, out.getvalue()


def add_secret(settings: Settings, name: str, team: str, secret: str = CLIENT_SECRET) -> tuple[int, str]:
    """``connection add`` of a Partner Center connection with a client secret typed on stdin."""
    ids = ["--team", team, "--tenant", TENANT, "--client-id", CLIENT_ID, "--publisher-id", "contoso"]
    return cli(settings, "add", name, *ids, "--secret-file", "-", stdin=secret)


def secret_input(
    team: str,
    name: str,
    *,
    tenant: str = TENANT,
    client: str = CLIENT_ID,
    publisher: str = "contoso",
    secret: str = CLIENT_SECRET,
) -> ConnectionInput:
    """A Partner Center connection with a client secret, as the use-case takes it."""
    return ConnectionInput(
        team_id=team,
        name=name,
        tenant_id=tenant,
        client_id=client,
        publisher_id=publisher,
        secret=SecretStr(secret),
    )


def settings_for(fake: FakeMicrosoft, folder: Path, url: str, key: str) -> Settings:
    base = fake.settings(folder)
    for name in ("azure_tenant_id", "azure_client_id", "azure_client_secret"):
        base.pop(name)
    return Settings(**base, database_url=url, offerbot_secret_key=key)


def test_sealing_opens_with_any_key_and_rotates_to_the_first() -> None:
    old, new = new_key(), new_key()
    token = Sealer([old]).seal("s3cr3t-value")
    assert "s3cr3t" not in token
    both = Sealer([new, old])
    assert both.open(token) == "s3cr3t-value"
    rotated = both.rotate(token)
    assert Sealer([new]).open(rotated) == "s3cr3t-value"
    with pytest.raises(ConfigError, match="does not open"):
        Sealer([new]).open(token)
    with pytest.raises(ConfigError, match="key 1 is not a Fernet key"):
        Sealer(["not-a-key"])


def test_two_workspaces_each_read_their_own_connection_secret_and_certificate(
    fake_ms: FakeMicrosoft, tmp_path: Path, migrated_sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(fake_ms, tmp_path, migrated_sqlite_url, new_key())
    pem, public = pem_file(tmp_path)
    fake_ms.client_certificate = public
    code, out = add_secret(settings, "contoso-pc", TEAM_A, CLIENT_SECRET + "\n")
    assert code == 0 and "client secret" in out and CLIENT_SECRET not in out
    code, out = cli(
        settings,
        "add",
        "fabrikam-cpp",
        "--team",
        TEAM_B,
        "--tenant",
        TENANT,
        "--client-id",
        CLIENT_ID,
        "--cloud-partner-publishers",
        "fabrikam",
        "--certificate",
        str(pem),
    )
    assert code == 0 and "client certificate (thumbprint " in out
    factory = db.session_factory(db.open_database(migrated_sqlite_url))
    with factory() as session:
        sealed = [row.sealed for row in session.exec(select(PartnerConnection)).all()]
    assert all(CLIENT_SECRET not in s and "PRIVATE KEY" not in s for s in sealed)

    code, out = cli(settings, "test", "contoso-pc", "--team", TEAM_A)
    assert code == 0 and "credential: client secret" in out and "1 product(s) on the first page" in out
    code, out = cli(settings, "test", "fabrikam-cpp", "--team", TEAM_B)
    assert code == 0 and "client certificate" in out and "Cloud Partner Portal: a token" in out

    sealer = settings.require_sealer()
    job = SyncJob(settings, factory, [], clock=lambda: NOW, connections=ConnectionFeeds(settings, sealer))
    with caplog.at_level(logging.INFO):
        report = job()
    assert report is not None and report.ok, report and report.line()
    with factory() as session:
        offers = {(o.team_id, o.offer_id) for o in session.exec(select(Offer)).all()}
    assert offers == {(TEAM_A, "contoso-saas"), (TEAM_B, "fabrikam-vm")}
    assert CLIENT_SECRET not in caplog.text
    assert REDACT(f"x {CLIENT_SECRET} y") == "x [secret] y"

    code, out = cli(settings, "list", "--team", TEAM_A)
    assert "contoso-pc" in out and "fabrikam" not in out and "read 2026-12-02 12:00 UTC" in out


def test_a_refused_connection_is_marked_once_and_the_other_goes_on(
    fake_ms: FakeMicrosoft, tmp_path: Path, migrated_sqlite_url: str
) -> None:
    settings = settings_for(fake_ms, tmp_path, migrated_sqlite_url, new_key())
    for team, name, secret in ((TEAM_A, "good", CLIENT_SECRET), (TEAM_B, "bad", "wrong-secret")):
        code, _ = add_secret(settings, name, team, secret)
        assert code == 0
    factory = db.session_factory(db.open_database(migrated_sqlite_url))
    job = SyncJob(
        settings,
        factory,
        [],
        clock=lambda: NOW,
        connections=ConnectionFeeds(settings, settings.require_sealer()),
    )
    job()
    (refusal,) = refusals_to_tell(factory)
    assert refusal.name == "bad" and "AADSTS7000215" in refusal.reason
    with factory() as session:
        assert {o.team_id for o in session.exec(select(Offer)).all()} == {TEAM_A}
    code, out = cli(settings, "list", "--team", TEAM_B)
    assert "REFUSED since 2026-12-02 12:00 UTC" in out
    code, out = cli(settings, "test", "bad", "--team", TEAM_B)
    assert code == 1 and "AADSTS7000215" in out


def test_bad_input_names_the_field_and_writes_nothing(
    fake_ms: FakeMicrosoft, tmp_path: Path, migrated_sqlite_url: str
) -> None:
    settings = settings_for(fake_ms, tmp_path, migrated_sqlite_url, new_key())
    base = ["add", "x", "--team", TEAM_A, "--tenant", TENANT, "--client-id", CLIENT_ID, "--secret-file", "-"]
    from bot.usecases.connections import ConnectionInputError

    with pytest.raises(ConnectionInputError) as err:
        cli(settings, *base, stdin="s")
    assert err.value.field == "publisher"
    with pytest.raises(ConnectionInputError) as err:
        cli(
            settings,
            *base[:6],
            "--client-id",
            "not-a-guid",
            "--publisher-id",
            "p",
            "--secret-file",
            "-",
            stdin="s",
        )
    assert err.value.field == "client"
    _, out = cli(settings, "list", "--team", TEAM_A)
    assert out == ""


def test_rotate_key_seals_every_secret_with_the_new_key(
    fake_ms: FakeMicrosoft, tmp_path: Path, migrated_sqlite_url: str
) -> None:
    old, new = new_key(), new_key()
    settings = settings_for(fake_ms, tmp_path, migrated_sqlite_url, old)
    add_secret(settings, "c", TEAM_A, CLIENT_SECRET)
    both = settings_for(fake_ms, tmp_path, migrated_sqlite_url, f"{new},{old}")
    code, out = cli(both, "rotate-key")
    assert code == 0 and out.startswith("1 secret(s)")
    only_new = settings_for(fake_ms, tmp_path, migrated_sqlite_url, new)
    code, out = cli(only_new, "test", "c", "--team", TEAM_A)
    assert code == 0, out
    code, out = cli(only_new, "remove", "c", "--team", TEAM_A)
    assert code == 0 and cli(only_new, "list", "--team", TEAM_A)[1] == ""


def test_doctor_says_of_each_stored_connection_whether_its_key_opens_it_and_if_it_is_refused(
    fake_ms: FakeMicrosoft, tmp_path: Path, migrated_sqlite_url: str
) -> None:
    from bot.usecases.doctor import Verdict, check_connections

    settings = settings_for(fake_ms, tmp_path, migrated_sqlite_url, new_key())
    for team, name, secret in ((TEAM_A, "good", CLIENT_SECRET), (TEAM_B, "bad", "wrong-secret")):
        assert add_secret(settings, name, team, secret)[0] == 0
    factory = db.session_factory(db.open_database(migrated_sqlite_url))
    feeds = ConnectionFeeds(settings, settings.require_sealer())
    SyncJob(settings, factory, [], clock=lambda: NOW, connections=feeds)()
    checks = {c.name: c for c in check_connections(settings)}
    good, bad = checks[f"connection {TEAM_A}/good"], checks[f"connection {TEAM_B}/bad"]
    assert good.verdict is Verdict.OK and "read 2026-12-02 12:00 UTC" in good.found
    assert bad.verdict is Verdict.FAIL and "refused since 2026-12-02 12:00 UTC" in bad.found
    assert "AADSTS7000215" in bad.found and "wrong-secret" not in bad.found
    other = Settings(**{**settings.model_dump(), "offerbot_secret_key": new_key()})
    assert all(c.verdict is Verdict.FAIL and "OFFERBOT_SECRET_KEY" in c.fix for c in check_connections(other))


def test_sync_once_reads_the_stored_connections_with_no_connection_in_the_environment(
    fake_ms: FakeMicrosoft, tmp_path: Path, migrated_sqlite_url: str
) -> None:
    from bot.runtime.serve import sync

    settings = settings_for(fake_ms, tmp_path, migrated_sqlite_url, new_key())
    assert not settings.sync_configured
    assert sync(settings, once=True) is not None  # nothing stored yet: a report of no source
    assert add_secret(settings, "contoso-pc", TEAM_A)[0] == 0
    report = sync(settings, once=True)
    assert report is not None and report.ok and "Partner Center" in report.line(), report
    factory = db.session_factory(db.open_database(migrated_sqlite_url))
    with factory() as session:
        assert [(o.team_id, o.offer_id) for o in session.exec(select(Offer)).all()] == [
            (TEAM_A, "contoso-saas")
        ]


def test_an_add_or_remove_whose_answer_came_too_late_is_not_committed(
    fake_ms: FakeMicrosoft, tmp_path: Path, migrated_sqlite_url: str
) -> None:
    """The Home tab's form is answered "try again in a minute" when the store is slower than
    Slack's 3 seconds: what the user was told did not happen must not be saved."""

    from bot.guard import StoreUnavailable
    from bot.usecases.access import OPERATOR
    from bot.usecases.connections import add_connection, remove_connection

    settings = settings_for(fake_ms, tmp_path, migrated_sqlite_url, new_key())
    factory = db.session_factory(db.open_database(migrated_sqlite_url))
    data = secret_input(TEAM_A, "late")
    sealer = settings.require_sealer()
    with pytest.raises(StoreUnavailable):
        add_connection(factory, actor=OPERATOR, data=data, sealer=sealer, now=NOW, expired=lambda: True)
    with factory() as session:
        assert session.exec(select(PartnerConnection)).all() == []
    add_connection(factory, actor=OPERATOR, data=data, sealer=sealer, now=NOW)
    with pytest.raises(StoreUnavailable):
        remove_connection(factory, actor=OPERATOR, team_id=TEAM_A, name="late", now=NOW, expired=lambda: True)
    with factory() as session:
        assert [r.name for r in session.exec(select(PartnerConnection)).all()] == ["late"]


def test_replace_gives_a_connection_a_new_secret_or_certificate_and_says_which(
    fake_ms: FakeMicrosoft, tmp_path: Path, migrated_sqlite_url: str
) -> None:
    settings = settings_for(fake_ms, tmp_path, migrated_sqlite_url, new_key())
    assert add_secret(settings, "contoso-pc", TEAM_A, "old-secret")[0] == 0
    code, out = cli(settings, "test", "contoso-pc", "--team", TEAM_A)
    assert code == 1 and "AADSTS7000215" in out
    code, out = cli(
        settings, "replace", "contoso-pc", "--team", TEAM_A, "--secret-file", "-", stdin=CLIENT_SECRET
    )
    assert code == 0 and "replaced the credential" in out and CLIENT_SECRET not in out
    assert cli(settings, "test", "contoso-pc", "--team", TEAM_A)[0] == 0
    pem, fake_ms.client_certificate = pem_file(tmp_path)
    code, out = cli(settings, "replace", "contoso-pc", "--team", TEAM_A, "--certificate", str(pem))
    assert code == 0 and "client certificate (thumbprint " in out
    code, out = cli(settings, "test", "contoso-pc", "--team", TEAM_A)
    assert code == 0 and "credential: client certificate" in out
    with pytest.raises(UsageError, match="no connection named"):
        cli(settings, "replace", "nope", "--team", TEAM_A, "--secret-file", "-", stdin="x")

"""``offerbot sync`` and ``offerbot serve`` with the sync, as an operator runs them: real processes,
the fake Microsoft APIs over HTTPS and the fake Slack Web API on loopback."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SIGNING_SECRET, Processes
from tests.support.fakems import CLIENT_ID, CLIENT_SECRET, PC, TENANT, FakeMicrosoft, submission
from tests.support.fakeslack import FakeSlack
from tests.support.processes import offerbot, start_serve

OWNER = "U0OWNER01"


@pytest.fixture
def fake_ms() -> Iterator[FakeMicrosoft]:
    fake = FakeMicrosoft().start()
    g = fake.add_product(1, "contoso-analytics-saas", "Contoso Analytics")
    fake.set_submissions(g, submission(g, 1, "preview", "completed", "failed", "2026-11-20T20:07:22Z"))
    fake.validations[(g, "preview")] = [
        {
            "code": "businessValidationError",
            "level": "error",
            "message": "The landing page URL returned HTTP 404.",
        }
    ]
    fake.add_product(2, "contoso-vm", "Contoso VM", type_="azureVirtualMachine")
    yield fake
    fake.stop()


def ms_env(fake: FakeMicrosoft, tmp_path: Path) -> dict[str, str]:
    """The four variables of the README, plus where the fake is and the CA it is signed by."""
    ca = fake.ca_file(tmp_path)
    return {
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_CLIENT_SECRET": CLIENT_SECRET,
        "PARTNER_CENTER_PUBLISHER_ID": "contoso",
        "AZURE_AUTHORITY_HOST": fake.url,
        "PARTNER_CENTER_API_URL": fake.url + PC,
        "SSL_CERT_FILE": ca,
        "REQUESTS_CA_BUNDLE": ca,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'offerbot.db'}",
    }


def test_sync_once_prints_one_summary_line(fake_ms: FakeMicrosoft, tmp_path: Path) -> None:
    env = ms_env(fake_ms, tmp_path)
    result = offerbot("sync", "--once", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == [
        "sync: Partner Center: 2 offer(s) seen, 2 new, 0 changed, 0 unchanged, 0 failed to read; "
        "2 status change(s); 4 request(s)"
    ]
    # --once asks every product again, however recently it was asked.
    again = offerbot("sync", "--once", env=env)
    assert "0 new, 0 changed, 2 unchanged" in again.stdout
    assert len(fake_ms.calls_to(PC + "/submission/")) == 4
    shell = offerbot("shell", env={"DATABASE_URL": env["DATABASE_URL"]}, stdin="contoso-analytics-saas\n")
    assert "Publish failed" in shell.stdout
    assert "The landing page URL returned HTTP 404. (businessValidationError)" in shell.stdout
    assert "Synced from Partner Center" in shell.stdout


def test_sync_once_fails_in_one_line(fake_ms: FakeMicrosoft, tmp_path: Path) -> None:
    env = ms_env(fake_ms, tmp_path)
    wrong = offerbot("sync", "--once", env={**env, "AZURE_CLIENT_SECRET": "an-old-secret"})
    assert wrong.returncode == 1
    assert wrong.stderr.strip().count("\n") == 0 and "Traceback" not in wrong.stderr
    assert "AADSTS7000215" in wrong.stderr and "AZURE_CLIENT_SECRET" in wrong.stderr
    assert "an-old-secret" not in wrong.stderr + wrong.stdout
    missing = offerbot("sync", "--once", env={k: v for k, v in env.items() if k != "AZURE_CLIENT_ID"})
    assert missing.returncode == 78 and "AZURE_CLIENT_ID is not set" in missing.stderr
    nothing = offerbot(
        "sync", "--once", env={k: v for k, v in env.items() if k != "PARTNER_CENTER_PUBLISHER_ID"}
    )
    assert nothing.returncode == 78 and "PARTNER_CENTER_PUBLISHER_ID" in nothing.stderr


def test_serve_syncs_partner_center_and_alerts_owners(
    fake_ms: FakeMicrosoft, fake_slack: FakeSlack, tmp_path: Path, processes: Processes
) -> None:
    """The issue's "done means": four variables, ``offerbot serve``, an alert with no file written."""
    fake_slack.users_by_email["ops@contoso.example"] = OWNER
    env = {
        **ms_env(fake_ms, tmp_path),
        "PARTNER_CENTER_NOTIFICATION_EMAILS": "ops@contoso.example",
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.url,
        "OFFERBOT_WATCH_INTERVAL": "3600",  # only the sync's wake-up can make the watcher run soon
    }
    proc, _port = start_serve(processes, env, tmp_path / "serve.log")
    deadline = time.monotonic() + 30
    dms: list[dict[str, object]] = []
    while time.monotonic() < deadline and not dms:
        dms = [c.body for c in fake_slack.calls_to("chat.postMessage") if c.body["channel"] == "D" + OWNER]
        time.sleep(0.05)
    assert dms, (tmp_path / "serve.log").read_text()
    assert dms[0]["text"] == "Contoso Analytics: Publish failed (was new)"
    assert "The landing page URL returned HTTP 404." in json.dumps(dms[0]["blocks"])
    proc.terminate()
    proc.wait(timeout=10)
    log = (tmp_path / "serve.log").read_text()
    assert "sync: Partner Center" in log
    # A full run (serve, sync, owner look-ups, deliveries) logs no secret and no e-mail address.
    for secret in (CLIENT_SECRET, "xoxb-test", SIGNING_SECRET, "ops@contoso.example"):
        assert secret not in log, secret
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", log), "an e-mail address reached the log"


def test_serve_with_a_source_but_no_credentials_names_the_variable(
    fake_ms: FakeMicrosoft, tmp_path: Path
) -> None:
    env = {k: v for k, v in ms_env(fake_ms, tmp_path).items() if k != "AZURE_CLIENT_SECRET"}
    result = offerbot(
        "serve", env={**env, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    )
    assert result.returncode == 78
    assert "the sync has no credential: set AZURE_CLIENT_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_sync_once_into_a_named_workspace(fake_ms: FakeMicrosoft, tmp_path: Path) -> None:
    env = ms_env(fake_ms, tmp_path)
    result = offerbot("sync", "--once", "--team", "T0SYNCED1", env=env)
    assert result.returncode == 0, result.stderr
    from sqlmodel import select

    from storage import db
    from storage.models import Offer

    with db.session_factory(db.open_database(env["DATABASE_URL"]))() as s:
        teams = {o.team_id for o in s.exec(select(Offer)).all()}
    assert teams == {"T0SYNCED1"}


def test_multi_workspace_mode_needs_the_workspace_for_sync_and_import(
    fake_ms: FakeMicrosoft, tmp_path: Path
) -> None:
    env = {**ms_env(fake_ms, tmp_path), "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s"}
    synced = offerbot("sync", "--once", env=env)
    assert synced.returncode == 78 and "OFFERBOT_SYNC_TEAM" in synced.stderr
    imported = offerbot("import", "-", env=env, stdin='{"offers": []}')
    assert imported.returncode == 78 and "--team" in imported.stderr

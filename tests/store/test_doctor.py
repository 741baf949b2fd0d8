"""``offerbot doctor`` against the fakes on the wire and real stores: one line per check with its
fix, and exit 0 only when nothing failed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.runtime.doctor import doctor, run_checks
from bot.settings import Settings
from bot.usecases.doctor import Verdict
from storage import db
from storage.alerts.subscriptions import Target, subscribe
from tests.conftest import NOW, SIGNING_SECRET, TEAM
from tests.support.fakems import FakeMicrosoft
from tests.support.fakeslack import FakeSlack
from tests.support.processes import offerbot


@pytest.fixture
def fake_ms() -> Iterator[FakeMicrosoft]:
    fake = FakeMicrosoft().start()
    yield fake
    fake.stop()


def settings_for(fake: FakeSlack, url: str, **extra: Any) -> Settings:
    return Settings(
        slack_bot_token="xoxb-doctor",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.url,
        database_url=url,
        **extra,
    )


def verdicts(settings: Settings) -> dict[str, Verdict]:
    return {c.name: c.verdict for c in run_checks(settings)}


def test_a_working_setup_passes_every_check(
    engine: Any, database_url: str, fake_slack: FakeSlack, fake_ms: FakeMicrosoft, tmp_path: Path
) -> None:
    fake_ms.add_product(1, "contoso-vm", "Contoso VM")
    settings = settings_for(
        fake_slack, database_url, **fake_ms.settings(tmp_path, partner_center_publisher_id="contoso")
    )
    lines: list[str] = []
    assert doctor(settings, out=lines.append) == 0, lines
    assert lines[-1] == "all checks passed"
    assert verdicts(settings) == {
        "store": Verdict.OK,
        "slack token": Verdict.OK,
        "connection": Verdict.OK,
        "channels": Verdict.OK,
        "Partner Center": Verdict.OK,
    }
    assert any("a token (client secret), and 1 product(s) listed" in line for line in lines), lines


def test_each_failure_names_its_fix(
    engine: Any, database_url: str, fake_slack: FakeSlack, fake_ms: FakeMicrosoft, tmp_path: Path
) -> None:
    factory = db.session_factory(engine)
    with db.transaction(factory) as s:
        subscribe(
            s,
            team_id=TEAM,
            destination_kind="channel",
            destination="C0OUTSIDE",
            target=Target(kind="all"),
            events=(),
            created_by="U0ME",
            now=NOW,
        )
    fake_slack.channels_without_bot.add("C0OUTSIDE")
    fake_slack.scopes.remove("users:read.email")
    settings = settings_for(
        fake_slack,
        database_url,
        **fake_ms.settings(tmp_path, partner_center_publisher_id="contoso", azure_client_secret="wrong"),
    )
    lines: list[str] = []
    assert doctor(settings, out=lines.append) == 1
    text = "\n".join(lines)
    assert "FAIL  slack token: Fake Team (T0FAKE001) as offerbot; missing scopes: users:read.email" in text
    assert "reinstall the app from manifest.yml" in text
    assert "FAIL  channels: not in 1 of 1: C0OUTSIDE" in text and "/invite @offerbot in <#C0OUTSIDE>" in text
    assert "FAIL  Partner Center:" in text and "AADSTS7000215" in text
    assert "wrong" not in text.replace("is wrong", "")  # the secret itself is never printed
    assert lines[-1] == "3 check(s) failed"


def test_without_slack_or_sources_it_says_what_to_set(sqlite_url: str) -> None:
    checks = {c.name: c for c in run_checks(Settings(database_url=sqlite_url))}  # no file yet
    assert checks["slack token"].verdict is Verdict.FAIL and "SLACK_BOT_TOKEN" in checks["slack token"].fix
    assert checks["partner center"].verdict is Verdict.SKIP  # optional: it fails nothing
    assert checks["store"].verdict is Verdict.OK and "not created yet" in checks["store"].found


def test_a_postgres_store_not_migrated_says_run_migrate(database_url: str, fake_slack: FakeSlack) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the embedded store migrates itself: its case is tested above")
    store = {c.name: c for c in run_checks(settings_for(fake_slack, database_url))}["store"]
    assert store.verdict is Verdict.FAIL and store.fix == "run `offerbot migrate`"
    assert store.found.endswith(": not migrated")


def test_the_command_exits_1_and_prints_a_line_a_check(tmp_path: Path) -> None:
    result = offerbot("doctor", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "FAIL  slack token: SLACK_BOT_TOKEN is not set" in result.stdout
    assert "skip  partner center: no source configured" in result.stdout

"""``offerbot shell`` with alerts: the console as a local user in a local channel, the real watcher
run after each line against the in-process Slack, and ``import FILE`` at the prompt. On a real
store; the clock is the tests' own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.cli import import_file
from bot.i18n import Language, translator
from bot.runtime.console import Console
from bot.settings import Settings
from storage import db
from storage.alerts.subscriptions import Target
from storage.errors import DocumentError
from storage.imports.importer import ImportSummary
from storage.models import (
    LOCAL_TEAM,
    SLACK_BOTS,
    AlertThread,
    Delivery,
    EmailUser,
    Offer,
    SlackUser,
    StatusChange,
    Subscription,
)
from storage.workspaces import bind_default_workspace, is_local_store
from tests.conftest import NOW, TEAM, load_samples, samples_text
from tests.support.alerts import contoso, doc, load, offer_pk, sub_channel
from tests.support.clock import Clock


def _failing(tmp_path: Path, offer_id: str = "contoso-analytics-vm") -> Path:
    doc = json.loads(samples_text())
    (offer,) = [o for o in doc["offers"] if o["offerId"] == offer_id]
    offer["status"]["status"] = "failed"
    path = tmp_path / "failing.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def console(factory: db.SessionFactory, database_url: str) -> Console:
    load_samples(factory, team=LOCAL_TEAM)
    settings = Settings(database_url=database_url)

    def importer(path: str) -> ImportSummary:
        import sys

        return import_file(settings, path, stdin=sys.stdin)

    shell = Console(factory, import_file=importer, user="U0ME00001", channel="C0HERE001", clock=Clock(NOW))
    shell.start()
    return shell


def test_alerts_and_dms_a_change_causes_are_printed_as_they_would_be_posted(
    console: Console, tmp_path: Path
) -> None:
    said = console.run_line("/offer-status subscribe contoso-analytics-vm failed")
    assert "Subscribing this channel to *Contoso Analytics VM*" in said
    assert "--- #C0HERE001 ---\n🔔 <@U0ME00001> subscribed this channel" in said
    assert "I will send you a direct message" in console.run_line("notify-me contoso-analytics-vm")
    imported = console.run_line(f"import {_failing(tmp_path)}")
    assert imported.startswith("import: 0 offer(s) created, 1 updated, 5 unchanged, 1 status change(s)")
    posts = imported.split("\n--- ")[1:]
    heads = sorted(p.split(" ---", 1)[0] for p in posts)
    assert heads == [
        "#C0HERE001",
        "direct message to marketplace-ops@contoso.example",
        "direct message to you",
    ]
    assert all("*Contoso Analytics VM*: Publish failed" in p for p in posts)
    assert "[I'm on it]" in posts[0]
    # Nothing is posted twice: the next line's pass finds nothing new.
    assert "--- " not in console.run_line("list")


def test_settings_test_alert_and_mute_work_for_the_local_user(console: Console) -> None:
    changed = console.run_line("settings language fr")
    assert "--- #C0HERE001 ---" in changed  # announced in the channel, as in Slack
    tested = console.run_line("test-alert tailspin")
    assert "A test alert about *Tailspin Flight Ops SaaS*" in tested
    assert "--- #C0HERE001 ---\n🧪 *Alerte de test*" in tested  # the channel's language
    assert console.run_line("mute-me all").startswith("No more direct messages to you about all offers")


def test_bad_lines_are_answered_and_change_nothing(console: Console, tmp_path: Path) -> None:
    assert "Type `import FILE`" in console.run_line("import")
    assert "no such file" in console.run_line(f"import {tmp_path / 'nope.json'}")
    (tmp_path / "bad.json").write_text("{")
    assert "import" not in console.run_line(f"import {tmp_path / 'bad.json'}").split("\n")[0][:7]
    assert "Unknown command /other" in console.run_line("/other thing")
    assert "`subscibe` is not a command" in console.run_line("subscibe woodgrove")


def test_the_console_speaks_french(factory: db.SessionFactory, database_url: str, tmp_path: Path) -> None:
    load_samples(factory, team=LOCAL_TEAM)

    def importer(path: str) -> ImportSummary:
        raise DocumentError(f"{path}: no such file")

    shell = Console(factory, import_file=importer, tr=translator(Language.FR), clock=Clock(NOW))
    shell.start()
    assert shell.run_line("import").startswith("Tapez `import FICHIER`")
    subscribed = shell.run_line("subscribe all")
    assert "--- #C0SHELL01 ---\n🔔 <@U0SHELL01> a abonné ce canal" in subscribed, subscribed
    dm = shell.run_line("test-alert")
    assert "Alerte de test" in dm


def _quiet_importer(path: str) -> ImportSummary:
    raise DocumentError(f"{path}: not imported in this test")


def _counts(factory: db.SessionFactory) -> dict[str, int]:
    tables = (Delivery, Subscription, SlackUser, EmailUser, AlertThread)
    with factory() as session:
        return {t.__name__: len(session.exec(select(t)).all()) for t in tables}


def test_on_a_store_that_serves_a_workspace_the_shell_runs_no_alerts_and_writes_nothing(
    factory: db.SessionFactory,
) -> None:
    """A real workspace's pending alert is the service's to send: the shell must not mark it sent to
    its in-process Slack, open a thread with a made-up ts, or cache made-up users."""
    clock = Clock(NOW)
    load_samples(factory, team=TEAM)
    with db.transaction(factory) as session:
        bind_default_workspace(session, team_id=TEAM, now=NOW)
    sub_channel(factory, Target(kind="offer", offer_pk=offer_pk(factory, "contoso-analytics-vm")), clock)
    load(factory, doc(contoso("failed")), clock)  # a change the service has not fanned out yet
    before = _counts(factory)
    shell = Console(factory, import_file=_quiet_importer, clock=clock)
    assert not shell.alerts
    assert shell.start() == 0
    assert "Publish failed" in shell.run_line("contoso-analytics-vm")  # reads still answer
    for line in ("subscribe all", "test-alert", "notify-me all", "settings language fr", "unsubscribe all"):
        assert "The shell only reads this store" in shell.run_line(line), line
    assert "Import with `offerbot import FILE`" in shell.run_line("import /no/such/file.json")
    assert _counts(factory) == before
    with factory() as session:
        assert session.exec(select(StatusChange).where(StatusChange.handled_at.is_not(None))).all() == []  # type: ignore[union-attr]


def test_with_slack_tokens_set_the_shell_runs_no_alerts_even_on_a_local_store(
    factory: db.SessionFactory,
) -> None:
    load_samples(factory, team=LOCAL_TEAM)
    shell = Console(factory, import_file=_quiet_importer, clock=Clock(NOW), slack_configured=True)
    assert not shell.alerts
    assert "The shell only reads this store" in shell.run_line("subscribe all")
    with factory() as session:
        assert session.exec(select(Subscription)).all() == []


def test_the_shells_local_user_is_no_workspace_admin(console: Console) -> None:
    console.run_line("/offer-status subscribe contoso-analytics-vm failed")
    console.run_line("notify-me contoso-analytics-vm")
    with console.factory() as session:
        rows = session.exec(select(SlackUser)).all()
    assert rows and all(not u.is_admin for u in rows)


def test_a_store_with_an_installation_or_another_teams_offers_is_no_shells(
    factory: db.SessionFactory,
) -> None:
    with factory() as session:
        assert is_local_store(session)  # empty: the shell's own
    load_samples(factory, team="T0OTHER01")  # imported with --team for a workspace
    with factory() as session:
        assert not is_local_store(session)
    with db.transaction(factory) as session:
        session.execute(sa.delete(Offer))
        session.execute(
            sa.insert(SLACK_BOTS).values(
                client_id="1.2",
                app_id="A0APP0001",
                team_id="T0INSTALL",
                bot_token="xoxb-installed",
                bot_id="B0BOT0001",
                bot_user_id="U0BOT0001",
                installed_at=NOW,
            )
        )
    with factory() as session:
        assert not is_local_store(session)  # a multi-workspace install, no default bound


def test_a_workspace_bound_while_the_shell_is_open_stops_its_alerts(factory: db.SessionFactory) -> None:
    load_samples(factory, team=LOCAL_TEAM)
    shell = Console(factory, import_file=_quiet_importer, clock=Clock(NOW))
    assert shell.alerts
    shell.start()  # the samples' first messages, posted to the shell's Slack
    with db.transaction(factory) as session:  # the service starts with a token on the same store
        bind_default_workspace(session, team_id=TEAM, now=NOW)
    sub_channel(factory, Target(kind="offer", offer_pk=offer_pk(factory, "contoso-analytics-vm")), Clock(NOW))
    load(factory, doc(contoso("failed")), Clock(NOW))
    assert "--- " not in shell.run_line("list") and not shell.alerts
    assert "The shell only reads this store" in shell.run_line("subscribe all")
    with factory() as session:  # the new change is the service's to fan out and send
        assert session.exec(select(StatusChange).where(StatusChange.handled_at.is_(None))).all()  # type: ignore[union-attr]


def test_the_shell_forecasts_the_offers_in_progress_as_the_jobs_process_would(console: Console) -> None:
    """The demo's card of an offer in progress says when it will likely be live, and why."""
    card = console.run_line("/offer-status contoso-analytics-vm")
    assert "🔮 Expected live: " in card and "based on Microsoft's estimates" in card, card
    assert ":crystal_ball:" not in card

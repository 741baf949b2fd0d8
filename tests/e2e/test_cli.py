"""The CLI as a user runs it: real processes, real files, the fake Slack Web API on loopback."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from storage import db
from storage.alerts.subscriptions import Target, subscribe
from storage.models import Delivery, Offer
from storage.reads.offers import list_offers
from tests.conftest import NOW, SIGNING_SECRET, Processes, get, post, samples_text, sign, slash_body
from tests.support.fakeslack import TEAM_ID, FakeSlack, wait_until
from tests.support.processes import CLEAN_ENV, offerbot, start_serve


@pytest.fixture
def sample_file(tmp_path: Path) -> Path:
    path = tmp_path / "offers.json"
    path.write_text(samples_text())
    return path


def test_import_prints_one_summary_line_and_is_idempotent(database_url: str, sample_file: Path) -> None:
    env = {"DATABASE_URL": database_url}
    if database_url.startswith("postgresql"):
        assert offerbot("migrate", env=env).returncode == 0
    first = offerbot("import", str(sample_file), env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines() == [
        f"imported {sample_file}: 6 offer(s) created, 0 updated, 0 unchanged, 6 status change(s)"
    ]
    again = offerbot("import", "-", env=env, stdin=sample_file.read_text())
    assert (
        again.stdout.strip()
        == "imported <stdin>: 0 offer(s) created, 0 updated, 6 unchanged, 0 status change(s)"
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"offers": [}', "invalid JSON at line 1, column 13"),
        ("[]", 'expected an object with an "offers" array'),
        (None, 'offers[2] (woodgrove-insights-app): status.steps[4].status: unknown step status "done"'),
    ],
)
def test_an_invalid_file_changes_nothing_and_says_why(
    sqlite_url: str, sample_file: Path, tmp_path: Path, content: str | None, expected: str
) -> None:
    env = {"DATABASE_URL": sqlite_url}
    assert offerbot("import", str(sample_file), env=env).returncode == 0
    engine = db.make_engine(sqlite_url)
    before = _dump(engine)
    doc = json.loads(samples_text())
    doc["offers"][0]["status"]["status"] = "failed"  # a valid change that must not land
    doc["offers"][2]["status"]["steps"][4]["status"] = "done"
    bad = tmp_path / "bad.json"
    bad.write_text(content if content is not None else json.dumps(doc))
    result = offerbot("import", str(bad), env=env)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert _dump(engine) == before


def _dump(engine: Any) -> list[Any]:
    with engine.connect() as conn:
        return [
            conn.exec_driver_sql(f"SELECT * FROM {t} ORDER BY 1").all()
            for t in ("offer", "step", "message", "status_change")
        ]


def test_missing_file_and_unreachable_database_have_no_traceback(
    sqlite_url: str, tmp_path: Path, sample_file: Path
) -> None:
    missing = offerbot("import", str(tmp_path / "nope.json"), env={"DATABASE_URL": sqlite_url})
    assert missing.returncode == 1 and "nope.json: no such file" in missing.stderr
    down = offerbot(
        "import",
        str(sample_file),
        env={"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"},
    )
    assert down.returncode == 1 and "Traceback" not in down.stderr and "database error" in down.stderr


def test_serve_without_token_names_the_variable(sqlite_url: str) -> None:
    result = offerbot("serve", env={"DATABASE_URL": sqlite_url})
    assert result.returncode == 78
    assert "SLACK_BOT_TOKEN is not set" in result.stderr and "Traceback" not in result.stderr
    result = offerbot("serve", env={"DATABASE_URL": sqlite_url, "SLACK_BOT_TOKEN": "xoxb-1"})
    assert "SLACK_SIGNING_SECRET is not set" in result.stderr


def test_shell_answers_without_slack(sqlite_url: str, sample_file: Path) -> None:
    env = {"DATABASE_URL": sqlite_url}
    offerbot("import", str(sample_file), env=env)
    result = offerbot(
        "shell", env=env, stdin="/offer-status contoso-analytics-vm\nlist signoff\n/other\nlist nope\n"
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Contoso Analytics VM\n====" in out and "8. Live* — not started" in out
    assert "Tailspin Flight Ops SaaS" in out
    assert "Unknown command /other" in out
    assert 'unknown status "nope"' in out


def test_with_a_slack_token_set_the_shell_only_reads(sqlite_url: str, sample_file: Path) -> None:
    """The store then serves a real workspace: the shell must not send its alerts to the terminal."""
    env = {"DATABASE_URL": sqlite_url, "SLACK_BOT_TOKEN": "xoxb-real"}
    offerbot("import", str(sample_file), env=env)
    result = offerbot("shell", env=env, stdin="subscribe all\nlist\n")
    assert result.returncode == 0, result.stderr
    assert "(This store belongs to a Slack workspace: the shell answers commands" in result.stdout
    assert "The shell only reads this store" in result.stdout
    assert "Tailspin Flight Ops SaaS" in result.stdout  # reads still answer


def test_the_shell_prints_the_alerts_an_import_at_its_prompt_causes(
    sqlite_url: str, sample_file: Path, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": sqlite_url}
    offerbot("import", str(sample_file), env=env)
    doc = json.loads(sample_file.read_text())
    doc["offers"][0]["status"]["status"] = "failed"
    failing = tmp_path / "failing.json"
    failing.write_text(json.dumps(doc))
    lines = f"subscribe contoso-analytics-vm\nimport {failing}\nexit\nlist\n"
    result = offerbot("shell", "--user", "U0ME00001", "--channel", "C0HERE001", env=env, stdin=lines)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "--- #C0HERE001 ---\n🔔 <@U0ME00001> subscribed this channel" in out
    assert "import: 0 offer(s) created, 1 updated, 5 unchanged, 1 status change(s)" in out
    assert (
        "--- direct message to marketplace-ops@contoso.example ---\n✗ *Contoso Analytics VM*: Publish failed"
        in out
    )
    assert "Offers: " not in out  # exit ended the session
    assert "Slack API server" not in result.stderr and "info" not in result.stderr  # nothing left the process


def test_up_loads_the_samples_and_opens_the_shell(tmp_path: Path) -> None:
    result = offerbot("up", env={}, stdin="woodgrove\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "imported the sample offers: 6 offer(s) created" in result.stdout
    assert "pull request 4711 (https://solutiontemplates.visualstudio.com" in result.stdout
    assert (tmp_path / "offerbot.db").exists()
    again = offerbot("up", env={}, stdin="", cwd=tmp_path)
    assert "imported the sample offers" not in again.stdout


def test_up_with_slack_tokens_never_writes_sample_data(tmp_path: Path) -> None:
    """A store the shell filled with the samples is emptied of them before ``up`` serves a real
    workspace (the binding would otherwise move them into Slack), and an empty store stays empty."""
    from bot.cli import prepare_up
    from bot.settings import Settings

    url = f"sqlite:///{tmp_path / 'offerbot.db'}"
    local = Settings(database_url=url)
    assert (prepare_up(local) or "").startswith("imported the sample offers: 6 offer(s) created")
    real = Settings(database_url=url, slack_bot_token="xoxb-test", slack_signing_secret=SIGNING_SECRET)
    assert prepare_up(real) == "removed 6 sample offer(s) the local shell had loaded"
    assert prepare_up(real) is None
    factory = db.session_factory(db.open_database(url))
    with factory() as session:
        assert session.exec(select(Offer)).all() == []


def test_demo_reset_removes_the_sample_offers_wherever_they_are(tmp_path: Path, sample_file: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'offerbot.db'}"}
    assert offerbot("import", str(sample_file), "--team", "T0REAL0001", env=env).returncode == 0
    mine = tmp_path / "mine.json"
    mine.write_text(
        json.dumps(
            {
                "offers": [
                    {
                        "publisherId": "acme",
                        "offerId": "acme-vm",
                        "name": "Acme VM",
                        "offerType": "virtual-machine",
                        "status": {"status": "running", "steps": [], "messages": []},
                    }
                ]
            }
        )
    )
    assert offerbot("import", str(mine), "--team", "T0REAL0001", env=env).returncode == 0
    reset = offerbot("demo", "reset", env=env)
    assert reset.returncode == 0 and reset.stdout.strip() == "removed 6 sample offer(s)", reset.stderr
    again = offerbot("demo", "reset", env=env)
    assert again.stdout.strip() == "no sample offers in this store"
    factory = db.session_factory(db.open_database(env["DATABASE_URL"]))
    with factory() as session:  # the workspace's own offer stays
        assert [o.offer_id for o in session.exec(select(Offer)).all()] == ["acme-vm"]


def test_every_command_says_which_store_it_opened_and_keeps_an_old_one(tmp_path: Path) -> None:
    data = tmp_path / "data"
    fresh = offerbot("demo", "reset", env={"OFFERBOT_DATA_DIR": str(data)}, cwd=tmp_path)
    assert f"offerbot: store sqlite:///{data / 'offerbot.db'}" in fresh.stderr
    assert (data / "offerbot.db").exists()  # the folder was made on first use
    (data / "offerbot.db").rename(tmp_path / "offerbot.db")  # as an earlier version left it
    old = offerbot("demo", "reset", env={"OFFERBOT_DATA_DIR": str(data)}, cwd=tmp_path)
    assert "offerbot: store sqlite:///offerbot.db" in old.stderr
    assert "using ./offerbot.db from an earlier version" in old.stderr
    hidden = offerbot("demo", "reset", env={"DATABASE_URL": "postgresql+psycopg://u:s3cret@127.0.0.1:1/x"})
    assert "offerbot: store postgresql+psycopg://u:***@127.0.0.1:1/x" in hidden.stderr
    assert "s3cret" not in hidden.stderr + hidden.stdout


def test_postgres_store_must_be_migrated_first(database_url: str, sample_file: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the embedded SQLite store migrates itself")
    result = offerbot("import", str(sample_file), env={"DATABASE_URL": database_url})
    assert result.returncode == 78 and "run `offerbot migrate` first" in result.stderr


def test_serve_end_to_end_over_signed_http(
    tmp_path: Path, sample_file: Path, fake_slack: FakeSlack, processes: Processes
) -> None:
    """The issue's "done means": import, serve, a signed /offer-status answered within 3 s with 8 steps."""
    url = f"sqlite:///{tmp_path / 'offerbot.db'}"
    env = {
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.url,
    }
    assert offerbot("import", str(sample_file), env={"DATABASE_URL": url}).returncode == 0
    proc, port = start_serve(processes, env, tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    assert get(base + "/healthz")[0] == 200
    body = slash_body("contoso-analytics-vm", team=TEAM_ID)
    started = time.perf_counter()
    status, raw = post(base + "/slack/events", body, sign(body))
    assert time.perf_counter() - started < 3
    assert status == 200
    answer = json.loads(raw)
    steps = next(
        b for b in answer["blocks"] if b.get("text", {}).get("text", "").startswith("*Publishing steps*")
    )
    assert len(steps["text"]["text"].splitlines()) == 9
    forged = post(base + "/slack/events", body, sign(body, secret="nope"))
    assert forged[0] == 401
    assert fake_slack.calls_to("auth.test")
    assert fake_slack.calls[0].headers.get("Authorization") == "Bearer xoxb-test"
    assert "xoxb-test" not in (tmp_path / "serve.log").read_text()  # the token never reaches the log
    proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    assert proc.wait(timeout=10) == 0, (tmp_path / "serve.log").read_text()
    assert time.monotonic() - signalled < 10
    assert "SIGTERM: stopped in" in (tmp_path / "serve.log").read_text()
    # The offers imported before the bot knew its workspace now belong to it.
    with db.session_factory(db.make_engine(url))() as session:
        assert list_offers(session, team_id=TEAM_ID).total == 6


@pytest.mark.parametrize("jobs", ["process", "thread"])
def test_alerts_end_to_end_with_serve(
    tmp_path: Path, sample_file: Path, fake_slack: FakeSlack, jobs: str, processes: Processes
) -> None:
    """Issue 3's "done means": subscribe in a channel, import a document that fails the offer: one alert
    in the channel and one DM to the owner within 3 s with the default settings (the import is another
    process: the probe notices its change within a second and wakes the watcher, whose own interval is
    15 s); the same import again sends nothing."""
    fake_slack.users_by_email["marketplace-ops@contoso.example"] = "U0OPS0001"
    url = f"sqlite:///{tmp_path / 'offerbot.db'}"
    env = {
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.url,
        "OFFERBOT_JOBS": jobs,
    }
    assert offerbot("import", str(sample_file), env={"DATABASE_URL": url}).returncode == 0
    _proc, port = start_serve(processes, env, tmp_path / "serve.log")
    body = slash_body("subscribe contoso-analytics-vm", team=TEAM_ID)
    status, raw = post(f"http://127.0.0.1:{port}/slack/events", body, sign(body))
    assert status == 200 and "Subscribing this channel" in json.loads(raw)["text"]
    fake_slack.wait_for("chat.postMessage", 1)  # the public confirmation
    doc = json.loads(sample_file.read_text())
    doc["offers"][0]["status"]["status"] = "failed"
    failing = tmp_path / "failing.json"
    failing.write_text(json.dumps(doc))
    assert offerbot("import", str(failing), env={"DATABASE_URL": url}).returncode == 0
    imported = time.monotonic()
    try:
        calls = fake_slack.wait_for("chat.postMessage", 3, timeout=1 + 2)
    except AssertionError:
        print((tmp_path / "serve.log").read_text())  # what the bot logged, for the failure report
        raise
    assert time.monotonic() - imported <= 3
    alerts = [c.body for c in calls[1:]]
    assert sorted(a["channel"] for a in alerts) == ["C0CHAN001", "DU0OPS0001"]
    assert all(a["text"] == "Contoso Analytics VM: Publish failed (was Publish in progress)" for a in alerts)
    assert offerbot("import", str(failing), env={"DATABASE_URL": url}).returncode == 0
    deadline = time.monotonic() + 2.5  # more than two watcher passes
    while time.monotonic() < deadline:
        assert len(fake_slack.calls_to("chat.postMessage")) == 3
        time.sleep(0.05)
    # The watcher runs in serve's jobs process; serve's /metrics shows its deliveries too.
    status, text = get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    sent = f'offerbot_deliveries_total{{outcome="sent",process="{"jobs" if jobs == "process" else "serve"}"}} 2.0'
    assert sent in text.decode(), text.decode()[:3000]
    assert 'offerbot_commands_total{outcome="answered",process="serve"} 1.0' in text.decode()


def test_watch_once_does_one_pass(tmp_path: Path, sample_file: Path, fake_slack: FakeSlack) -> None:
    url = f"sqlite:///{tmp_path / 'offerbot.db'}"
    assert offerbot("import", str(sample_file), env={"DATABASE_URL": url}).returncode == 0
    env = {"DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": fake_slack.url}
    result = offerbot("watch", "--once", env=env)
    assert result.returncode == 0, result.stderr
    assert "watcher pass: 6 change(s) handled" in result.stdout
    # Off a terminal the log is one JSON object per line; the pass's counts are fields.
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    (summary,) = [line for line in lines if line["event"].startswith("watcher pass:")]
    assert summary["changes"] == 6 and summary["level"] == "info"
    again = offerbot("watch", "--once", env=env)
    assert "watcher pass: 0 change(s) handled" in again.stdout
    bad = offerbot(
        "watch",
        "--once",
        env={"DATABASE_URL": url, "OFFERBOT_WATCH_INTERVAL": "-1", "SLACK_BOT_TOKEN": "xoxb-test"},
    )
    assert bad.returncode == 78 and "OFFERBOT_WATCH_INTERVAL: Value error, must be a positive" in bad.stderr


def test_alert_test_queues_a_test_alert_that_the_watcher_posts(
    tmp_path: Path, sample_file: Path, fake_slack: FakeSlack
) -> None:
    url = f"sqlite:///{tmp_path / 'offerbot.db'}"
    assert offerbot("import", str(sample_file), env={"DATABASE_URL": url}).returncode == 0
    queued = offerbot(
        "alert",
        "test",
        "--channel",
        "C0CHAN001",
        "--offer",
        "tailspin",
        "--wait",
        "0",
        env={"DATABASE_URL": url},
    )
    assert queued.returncode == 0, queued.stderr
    assert (
        "test alert about Tailspin Flight Ops SaaS (tailspin-flight-ops) queued for C0CHAN001"
        in queued.stdout
    )
    assert "not sent yet" in queued.stdout
    env = {"DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": fake_slack.url}
    assert offerbot("watch", "--once", env=env).returncode == 0
    tests = [
        c.body for c in fake_slack.calls_to("chat.postMessage") if c.body["text"].startswith("Test alert")
    ]
    assert [t["channel"] for t in tests] == ["C0CHAN001"]
    bad = offerbot("alert", "test", "--channel", "general", env={"DATABASE_URL": url})
    assert bad.returncode == 1 and "--channel takes a channel id" in bad.stderr


def test_an_import_too_large_is_refused_before_it_is_read(sqlite_url: str, tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as f:  # sparse: the size is there, the bytes are not
        f.truncate(100 * 1024 * 1024 + 1)
    result = offerbot("import", str(big), env={"DATABASE_URL": sqlite_url})
    assert result.returncode == 1 and "larger than 100 MB" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_into_a_named_workspace(sqlite_url: str, sample_file: Path) -> None:
    env = {"DATABASE_URL": sqlite_url}
    result = offerbot("import", "--team", "T0OTHER01", str(sample_file), env=env)
    assert result.returncode == 0, result.stderr
    from sqlmodel import select

    from storage import db
    from storage.models import Offer

    with db.session_factory(db.open_database(sqlite_url))() as s:
        assert {o.team_id for o in s.exec(select(Offer)).all()} == {"T0OTHER01"}
    # The shell answers for the default workspace: it does not see the other workspace's offers.
    assert "No offers are stored yet" in offerbot("shell", env=env, stdin="list\n").stdout


def test_sigterm_stops_watch_at_once_and_releases_its_claims(
    tmp_path: Path, sample_file: Path, fake_slack: FakeSlack, processes: Processes
) -> None:
    """Issue 10: SIGTERM lets the send in flight finish, releases the rest (no 30 s lease to wait
    out) and exits 0 within 10 s; the next process delivers the rest, none twice."""
    url = f"sqlite:///{tmp_path / 'offerbot.db'}"
    assert offerbot("import", str(sample_file), env={"DATABASE_URL": url}).returncode == 0
    engine = db.make_engine(url)
    with db.transaction(db.session_factory(engine)) as s:
        for n in range(12):
            subscribe(
                s,
                team_id=TEAM_ID,
                destination_kind="channel",
                destination=f"C0TERM{n:03d}",
                target=Target(kind="all"),
                events=(),
                created_by="U0USER001",
                now=NOW,
            )
    doc = json.loads(sample_file.read_text())
    doc["offers"][0]["status"]["status"] = "failed"
    failing = tmp_path / "failing.json"
    failing.write_text(json.dumps(doc))
    assert offerbot("import", str(failing), env={"DATABASE_URL": url}).returncode == 0
    fake_slack.latency["chat.postMessage"] = 0.3  # a slow Slack: the batch takes seconds
    env = {"DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": fake_slack.url}
    log_path = tmp_path / "watch.log"
    with log_path.open("wb") as log_file:
        proc = processes.popen(
            [sys.executable, "-m", "bot.cli", "watch"],
            env={**CLEAN_ENV, **env, "OFFERBOT_WATCH_INTERVAL": "1"},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    fake_slack.wait_for("chat.postMessage", 3, timeout=20)
    proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    assert proc.wait(timeout=10) == 0, log_path.read_text()
    assert time.monotonic() - signalled < 10
    assert "SIGTERM: stopped in" in log_path.read_text()
    with db.session_factory(engine)() as s:
        rows = list(s.exec(select(Delivery)))
    pending = [r for r in rows if r.state == "pending"]
    assert pending and all(r.lease_until is None for r in pending), log_path.read_text()
    sent_before = len(fake_slack.calls_to("chat.postMessage"))
    fake_slack.latency.clear()
    rest = offerbot("watch", "--once", env=env)
    assert rest.returncode == 0
    # One JSON log line per delivery attempt, with the outbox row and the outcome.
    attempts = [line for line in map(json.loads, rest.stderr.splitlines()) if "delivery" in line]
    assert len(attempts) == len(pending) and {a["outcome"] for a in attempts} == {"sent"}
    for _ in range(2):  # more passes must send nothing twice
        assert offerbot("watch", "--once", env=env).returncode == 0
    with db.session_factory(engine)() as s:
        assert {r.state for r in s.exec(select(Delivery))} == {"sent"}
        total = len(s.exec(select(Delivery)).all())
    posted = fake_slack.calls_to("chat.postMessage")
    assert len(posted) == total > sent_before  # every alert once: none lost, none twice
    assert len({(c.body["channel"], c.body["text"]) for c in posted}) == total


# --- Slack down at start ------------------------------------------------------------------------


def test_watch_once_waits_for_slack_and_blames_the_token_only_when_slack_says_so(
    tmp_path: Path, sample_file: Path, fake_slack: FakeSlack, processes: Processes
) -> None:
    url = f"sqlite:///{tmp_path / 'offerbot.db'}"
    assert offerbot("import", str(sample_file), env={"DATABASE_URL": url}).returncode == 0
    env = {"DATABASE_URL": url, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": fake_slack.url}
    fake_slack.outage("auth.test", status=503)
    proc = processes.popen(
        [sys.executable, "-m", "bot.cli", "watch", "--once"],
        env={**CLEAN_ENV, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    fake_slack.wait_for("auth.test", 4, timeout=20)  # asked again, with backoff
    fake_slack.recover()
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Slack is unreachable (service_unavailable): asking again with backoff" in out
    assert "Slack answers again after" in out and "watcher pass: 6 change(s) handled" in out
    assert "SLACK_BOT_TOKEN" not in out
    fake_slack.fail("auth.test", error="invalid_auth")
    refused = offerbot("watch", "--once", env=env)
    assert refused.returncode == 78
    assert "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in refused.stderr


def test_serve_answers_healthz_degraded_while_slack_is_down(
    tmp_path: Path, sample_file: Path, fake_slack: FakeSlack, processes: Processes
) -> None:
    url = f"sqlite:///{tmp_path / 'offerbot.db'}"
    env = {
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.url,
    }
    fake_slack.outage("auth.test", status=503)
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log_file:
        proc = processes.popen(
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
            env={**CLEAN_ENV, **env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    port = int(
        wait_until(lambda: re.search(r"listening on http://127\.0\.0\.1:(\d+)", log_path.read_text()), 30)[1]
    )
    wait_until(lambda: "Slack is unreachable" in log_path.read_text(), 20)
    status, body = get(f"http://127.0.0.1:{port}/healthz")
    assert status == 503 and json.loads(body) == {
        "ok": False,
        "status": "degraded",
        "error": "Slack unreachable: service_unavailable",
    }
    assert proc.poll() is None  # waiting, not dead
    fake_slack.recover()
    wait_until(lambda: "ready: answering Slack" in log_path.read_text(), 30)
    assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    assert "Traceback" not in log_path.read_text()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_serve_restarts_its_jobs_process_and_the_jobs_follow_serve_out(
    tmp_path: Path, sample_file: Path, fake_slack: FakeSlack, processes: Processes
) -> None:
    url = f"sqlite:///{tmp_path / 'offerbot.db'}"
    env = {
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.url,
    }
    log_path = tmp_path / "serve.log"
    proc, _port = start_serve(processes, env, log_path)

    def children() -> list[int]:
        return [int(p) for p in re.findall(r"run in process (\d+)", log_path.read_text())]

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        status = Path(f"/proc/{pid}/stat")
        return not (status.exists() and status.read_text().split()[2] == "Z")

    (first,) = wait_until(children, 20)
    # the jobs yield the CPU to the answers (OFFERBOT_JOBS_NICE, default 10)
    assert wait_until(lambda: "running at nice +10" in log_path.read_text(), 20)
    serving = os.getpriority(os.PRIO_PROCESS, proc.pid)
    assert os.getpriority(os.PRIO_PROCESS, first) == min(19, serving + 10)
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: len(children()) == 2, 20)  # started again
    assert "jobs: process exited with -9; starting it again" in log_path.read_text()
    second = children()[1]
    assert alive(second)
    proc.kill()  # serve dies without a word: its jobs process notices and stops
    proc.wait(timeout=10)
    assert wait_until(lambda: not alive(second), 10)

"""Benchmarks: `/offer-status` acknowledgement time and watcher pass cost, at several store sizes.

    python -m benchmark.bench [--sizes 1000,100000] [--runs 200] [--database-url URL]

Every figure comes with its baseline measured in the same run:
- slash commands are timed through ``App.dispatch`` with real signed requests, against a bare
  default Bolt app (a listener that only acks; Bolt's default runner polls for ``ack()`` every
  10 ms) and a bare Bolt app with ``process_before_response=True``;
- a watcher pass with k new status changes is timed at each store size, against the same pass on
  the smallest store, to show that its cost follows the changes, not the offers.
Web API calls go to the tests' fake Slack server on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from slack_bolt import App, BoltRequest

from bot.alerting.outcomes import WatcherConfig
from bot.alerting.watcher import run_pass
from bot.settings import Settings
from bot.slack.app import create_app, make_client
from storage import db
from storage.alerts.subscriptions import Target, subscribe
from storage.models import Offer, StatusChange, Step
from tests.support.fakeslack import TEAM_ID, FakeSlack

SECRET = "bench-secret"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
STATUSES = ["in_progress", "live", "failed", "signoff", "not_started", "canceled", "delisted"]
WORDS = [
    "Contoso",
    "Fabrikam",
    "Woodgrove",
    "Tailspin",
    "Northwind",
    "Adatum",
    "Litware",
    "Proseware",
    "Analytics",
    "Gateway",
    "Registry",
    "Insights",
    "Advisory",
    "Flight",
    "Edge",
    "Secure",
    "Cloud",
    "Data",
]
STEP_NAMES = [
    "Validate prerequisites",
    "Test Drive validation",
    "Certification",
    "Provisioning",
    "Packaging and lead generation registration",
    "Publisher signoff",
    "Provisioning",
    "Live",
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def fill(engine: sa.Engine, n: int) -> None:
    """``n`` offers of 200 publishers, 8 steps each, statuses mixed, in one transaction."""
    offers, steps = Offer.__table__, Step.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        for start in range(0, n, 5000):
            rows = []
            for i in range(start, min(n, start + 5000)):
                name = f"{WORDS[i % 18]} {WORDS[(i // 18) % 18]} {WORDS[(i // 324) % 18]} {i}"
                status = STATUSES[i % len(STATUSES)]
                rows.append(
                    dict(
                        id=i + 1,
                        team_id=TEAM_ID,
                        publisher_id=f"pub{i % 200}",
                        offer_id=f"offer-{i:07d}",
                        name=name,
                        offer_type="virtual-machine",
                        publish_status=status,
                        listing="listed",
                        status=status,
                        notification_emails="",
                        preview_links=[],
                        live_links=[],
                        status_changed_at=NOW,
                        updated_at=NOW,
                        content_hash="x",
                    )
                )
            conn.execute(offers.insert(), rows)
            conn.execute(
                steps.insert(),
                [
                    dict(
                        offer_pk=r["id"],
                        position=p,
                        step_id=f"s{p}",
                        name=STEP_NAMES[p],
                        description="",
                        status="complete" if p < 3 else "notStarted",
                        estimated_time="4 days",
                        progress=0,
                    )
                    for r in rows
                    for p in range(8)
                ],
            )
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            # the offers were given their ids: move the sequence past them, or the next offer stored
            # (by a sync, an import) would collide with the first
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('offer', 'id'), (SELECT max(id) FROM offer))"
            )
            conn.exec_driver_sql("ANALYZE")


_TRIGGERS = itertools.count(1)


def signed(text: str) -> BoltRequest:
    body = urlencode(
        {
            "token": "x",
            "team_id": TEAM_ID,
            "channel_id": "C1",
            "user_id": "U1",
            "command": "/offer-status",
            "text": text,
            "response_url": "https://hooks.slack.com/x",
            "trigger_id": f"1.{next(_TRIGGERS)}",
        }
    )
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return BoltRequest(
        body=body,
        headers={
            "content-type": ["application/x-www-form-urlencoded"],
            "x-slack-request-timestamp": [ts],
            "x-slack-signature": [sig],
        },
    )


def timed(app: App, text: str, runs: int) -> list[float]:
    out = []
    app.dispatch(signed(text))  # warm up
    for _ in range(runs):
        req = signed(text)
        started = time.perf_counter()
        resp = app.dispatch(req)
        out.append((time.perf_counter() - started) * 1000)
        assert resp.status == 200, resp.body
    return out


def bare_app(settings: Settings, *, before_response: bool) -> App:
    app = App(client=make_client(settings), signing_secret=SECRET, process_before_response=before_response)
    app.command("/offer-status")(lambda ack: ack(text="ok"))
    return app


def fmt(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95) - 1]


def bench_commands(url: str, fake: FakeSlack, sizes: list[int], runs: int) -> list[str]:
    settings = Settings(
        slack_bot_token="xoxb-bench", slack_signing_secret=SECRET, slack_api_url=fake.url, database_url=url
    )
    lines = [
        "| store | command | median ms | p95 ms | median vs bare Bolt (process_before_response) |",
        "| --- | --- | --- | --- | --- |",
    ]
    base_default = fmt(timed(bare_app(settings, before_response=False), "x", runs))
    base_fast = fmt(timed(bare_app(settings, before_response=True), "x", runs))
    lines.append(
        f"| - | bare default Bolt app (ack only) | {base_default[0]:.2f} | {base_default[1]:.2f} | "
        f"{base_default[0] / base_fast[0]:.1f}x |"
    )
    lines.append(
        f"| - | bare Bolt app, process_before_response (ack only) | {base_fast[0]:.2f} | "
        f"{base_fast[1]:.2f} | 1.0x |"
    )
    for n in sizes:
        engine = fresh(url)
        fill(engine, n)
        app = create_app(
            settings.model_copy(update={"database_url": url}), session_factory=db.session_factory(engine)
        )
        probe = n // 2
        cases = [
            (f"offer-{probe:07d}", "exact offer id"),
            (
                f"{WORDS[probe % 18]} {WORDS[(probe // 18) % 18]} {WORDS[(probe // 324) % 18]} {probe}",
                "part of a name (one match)",
            ),
            ("list failed", "list failed (page 1)"),
            ("zqxw-nothing", "no match, nothing alike"),
            ("Contosso Analytcs", "misspelt name: suggestions"),
        ]
        for text, label in cases:
            med, p95 = fmt(timed(app, text, runs))
            lines.append(f"| {n:,} offers | {label} | {med:.2f} | {p95:.2f} | {med / base_fast[0]:.1f}x |")
        engine.dispose()
    return lines


def fresh(url: str) -> sa.Engine:
    """An empty, migrated store at ``url`` (a SQLite file is deleted first; PostgreSQL's schema dropped)."""
    if sa.make_url(url).get_backend_name() == "sqlite":
        path = Path(sa.make_url(url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = db.make_engine(url)
    if engine.dialect.name == "sqlite":
        db.migrate(engine)
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        db.migrate(engine)
    return engine


def bench_watcher(url: str, fake: FakeSlack, sizes: list[int], changes: list[int]) -> list[str]:
    lines = ["| store | new status changes | pass ms | vs the smallest store |", "| --- | --- | --- | --- |"]
    first: dict[int, float] = {}
    client = make_client(Settings(slack_bot_token="xoxb-bench", slack_api_url=fake.url))
    for n in sizes:
        engine = fresh(url)
        fill(engine, n)
        factory = db.session_factory(engine)
        with db.transaction(factory) as s:
            subscribe(
                s,
                team_id=TEAM_ID,
                destination_kind="channel",
                destination="C0BENCH",
                target=Target("all"),
                events=(),
                created_by="U1",
                now=NOW,
            )
        now = NOW
        for k in changes:
            with db.transaction(factory) as s:
                for j in range(k):
                    pk = (j * 7919) % n + 1
                    s.add(
                        StatusChange(
                            team_id=TEAM_ID,
                            offer_pk=pk,
                            old_status="in_progress",
                            new_status="failed",
                            changed_at=now,
                            source="bench",
                        )
                    )
            started = time.perf_counter()
            report = run_pass(
                session_factory=factory,
                client=client,
                clock=lambda: now,  # noqa: B023  (called within this iteration)
                sleep=lambda s: None,
                config=WatcherConfig(channel_interval=0, batch=max(50, k)),
            )
            ms = (time.perf_counter() - started) * 1000
            assert report.changes == k, report
            first.setdefault(k, ms)
            lines.append(f"| {n:,} offers | {k} | {ms:.1f} | {ms / first[k]:.2f}x |")
            now += timedelta(minutes=1)
        engine.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--changes", default="0,10,100")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    changes = [int(x) for x in args.changes.split(",")]
    fake = FakeSlack().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/bench.db"
            kind = sa.make_url(url).get_backend_name()
            print(f"machine: {machine()}; store: {kind}\n")
            print("/offer-status, timed through App.dispatch with signed requests:\n")
            print("\n".join(bench_commands(url, fake, sizes, args.runs)))
            print("\nwatcher pass (owner look-ups, fan-out, claim, send to the fake Slack on loopback):\n")
            print("\n".join(bench_watcher(url, fake, sizes, changes)))
    finally:
        fake.stop()


if __name__ == "__main__":
    main()

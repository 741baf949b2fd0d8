"""The sync half of ``python -m benchmark.load --only sync``: answers while a Partner Center sync pass
runs, and the latency from a sync's stored change to its alert.

Partner Center is the tests' fake (tests/support/fakems.py) over HTTPS on loopback, each request answered
after 20 ms; each product has a draft, a live and a preview submission, so a pass reads three
requests per product and the preview's validations when it failed.

- commands while a sync pass runs: ``offerbot serve`` on a store of ``--offers`` offers (handled,
  as after a day's work) whose jobs process starts a full sync pass over 2,000 new products; the
  requests, 25 ms apart, go on until the pass is logged and the watcher has handled the changes it
  stored; then the same rounds on the same server, idle, are the baseline of the same run.
- sync to alert: 200 products synced once (in progress), one channel subscribed to each; then they
  fail on Partner Center, all 200 before one ``offerbot sync --once`` (a burst), or 10 before each of
  20 (as the import benchmark brings its changes), each pass another process, while ``offerbot
  watch`` runs with its default settings. A thread of this process looks for the new status changes
  every 20 ms; the latency is from the moment a change is seen stored to its ``chat.postMessage``.
"""

from __future__ import annotations

import re
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmark.bench import fill
from benchmark.fake_ms_proc import LATENCY, FakeProcess, fill_products, set_state
from benchmark.load import (
    Proc,
    bot_env,
    command_cases,
    measure,
    pct,
    store,
    subscribe_channels,
    unhandled,
    wait_until,
)
from storage import db
from storage.alerts.subscriptions import Target
from tests.support.fakems import FakeMicrosoft
from tests.support.fakeslack import TEAM_ID, FakeSlack

PAUSE = 0.025
"""Seconds between two requests (``--pause``): 40 lookups a second, far more than a workspace's slash
commands, and room on two cores for the jobs process and the fake, which run at nice 10."""
PASS_LOGGED = re.compile(r"sync: Partner Center: \d+ offer\(s\) seen")
PRODUCTS = 2000


def fake_microsoft(products: int, prefix: str, state: tuple[str, str]) -> FakeMicrosoft:
    fake = FakeMicrosoft(latency=LATENCY, page_size=100, keep_alive=True).start()
    fill_products(fake, products, prefix, state)
    return fake


def sync_env(settings: dict[str, Any]) -> dict[str, str]:
    values = {**settings, "partner_center_publisher_id": "bench", "offerbot_sync_team": TEAM_ID}
    return {key.upper(): str(value) for key, value in values.items()}


def bench_sync_commands(
    admin_url: str | None, n: int, rounds: int, tmp: Path, pause: float = PAUSE
) -> list[str]:
    slack = FakeSlack().start()
    ms = FakeProcess(PRODUCTS, "sync", tmp)
    lines = []
    try:
        with store(admin_url) as url:
            kind = sa.make_url(url).get_backend_name()
            fill(db.make_engine(url), n)
            proc = Proc(
                ["-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
                bot_env(url, slack, **sync_env(ms.settings)),
                tmp / "serve-sync.log",
            )
            try:
                port = int(proc.wait_for(r"listening on http://127\.0\.0\.1:(\d+)")[1])
                proc.wait_for("ready: answering Slack")
                started = time.monotonic()
                busy = measure(
                    port,
                    "/slack/events",
                    command_cases(n),
                    rounds,
                    until=lambda: (
                        bool(PASS_LOGGED.search(proc.log.read_text(errors="replace"))) and unhandled(url) == 0
                    ),
                    pause=pause,
                )
                took = time.monotonic() - started
                idle = measure(port, "/slack/events", command_cases(n), rounds, pause=pause)  # the baseline
            finally:
                proc.stop()
            window = f"a sync pass over {PRODUCTS:,} new products ({took:.0f} s)"
            for (label, samples), base in zip(busy.items(), idle.values(), strict=True):
                for where, got in ((window, samples), ("after it, idle (baseline)", base)):
                    lines.append(
                        f"| {kind}, {n:,} offers | {where} | {label} | {statistics.median(got):.2f} | "
                        f"{pct(got, 0.99):.2f} | {max(got):.2f} | {pct(got, 0.99) / pct(base, 0.99):.1f}x |"
                    )
    finally:
        ms.stop()
        slack.stop()
    return lines


class ChangeWatch(threading.Thread):
    """Notes when each offer's status change to ``failed`` is first seen in the store."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = db.make_engine(url)
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        query = sa.text("SELECT DISTINCT offer_pk FROM status_change WHERE new_status = 'failed'")
        while not self.stop.wait(0.02):
            with self.engine.connect() as conn:
                found = conn.execute(query).scalars().all()
            now = time.monotonic()
            for pk in found:
                self.seen.setdefault(int(pk), now)


def bench_sync_latency(admin_url: str | None, tmp: Path, changes: int = 200, per_pass: int = 200) -> str:
    """``changes`` offers fail on Partner Center, ``per_pass`` before each ``sync --once`` (all 200
    in one pass: a burst; 10 a pass: as the import benchmark brings them)."""
    slack = FakeSlack().start()
    ms = fake_microsoft(changes, "lat", ("running", "pending"))
    try:
        with store(admin_url) as url:
            kind = sa.make_url(url).get_backend_name()
            env = bot_env(url, slack, **sync_env(ms.settings(tmp)))
            Proc(["-m", "bot.cli", "sync", "--once"], env, tmp / "sync-first.log").popen.wait(timeout=120)
            engine = db.make_engine(url)
            with engine.connect() as conn:
                pks = [r[0] for r in conn.exec_driver_sql("SELECT id FROM offer ORDER BY offer_id").all()]
            engine.dispose()
            if len(pks) != changes:
                raise RuntimeError(f"the first sync stored {len(pks)} offers, not {changes}")
            channels = [f"CS{i:04d}" for i in range(changes)]
            subscribe_channels(url, channels, lambda i: Target(kind="offer", offer_pk=pks[i]))
            watch = Proc(["-m", "bot.cli", "watch"], env, tmp / f"sync-latency-{kind}.log")
            seen = ChangeWatch(url)
            try:
                watch.wait_for("watcher pass:")  # the first sync's changes are handled (they alert nobody)
                seen.start()
                guids, passes = list(ms.products), []
                for start in range(0, changes, per_pass):
                    set_state(ms, guids[start : start + per_pass], ("completed", "failed"))
                    started = time.monotonic()
                    sync = Proc(["-m", "bot.cli", "sync", "--once"], env, tmp / f"sync-{start}.log")
                    sync.popen.wait(timeout=120)
                    passes.append(time.monotonic() - started)
                pass_s = statistics.mean(passes)
                wait_until(lambda: len(slack.calls_to("chat.postMessage")) >= changes, timeout=120)
            finally:
                seen.stop.set()
                watch.stop()
            first_post: dict[str, float] = {}
            for call in slack.calls_to("chat.postMessage"):
                first_post.setdefault(str(call.body["channel"]), call.at)
            latencies = [
                first_post[channels[i]] - seen.seen[pk]
                for i, pk in enumerate(pks)
                if channels[i] in first_post and pk in seen.seen
            ]
            lost = changes - len(latencies)
            return (
                f"| {kind} | {changes} | {per_pass} | {pass_s:.1f} s | {statistics.median(latencies):.2f} s | "
                f"{pct(latencies, 0.99):.2f} s | {max(latencies):.2f} s | {lost} |"
            )
    finally:
        ms.stop()
        slack.stop()

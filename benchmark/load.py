"""Speed under load, against real offerbot processes and the fake Slack Web API on loopback.

    python -m benchmark.load [--only commands,delivery,latency,scale,sync] [--database-url URL] [--offers 100000]

- commands: ``/offer-status`` over signed HTTP, a new connection per request, against ``offerbot
  serve`` on a store of ``--offers`` offers whose first import (one status change per offer, none
  handled) the watcher works through while the requests arrive; then again once it is done. The
  baselines are bare Bolt apps served the same way (waitress, a new connection per request): the
  default one and one with ``process_before_response``.
- delivery: 2,000 alerts to 100 channels (20 each) through a fake Slack that answers 429
  (``Retry-After: 1``) to a second message within 0.9 s in a channel; one ``offerbot watch`` process,
  then two on one PostgreSQL store. The floor is 19 s (20 messages a channel, one a second).
- latency: 200 status changes, 10 at a time, each alerting its own channel, imported by this process
  (the same ``import_offers`` that ``offerbot import`` runs, another process than the watcher) while
  ``offerbot watch`` runs with its default settings; from each import's commit to its
  ``chat.postMessage``.
- scale: a watcher pass with no change (in this process), and the resident memory of ``offerbot
  serve`` and of its jobs process, at 10,000, 100,000 and 1,000,000 offers.

``--database-url`` names a PostgreSQL server's admin database (a fresh database is made for each
run and dropped after); without it the store is a SQLite file. Everything is printed as markdown
with the machine.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

from benchmark.bench import NOW, SECRET, WORDS, fill, machine
from bot.alerting.watcher import run_pass
from bot.settings import Settings
from bot.slack.app import make_client
from storage import db
from storage.alerts.outbox import counts
from storage.alerts.subscriptions import Target, subscribe
from storage.imports.documents import parse_document
from storage.imports.importer import import_offers
from storage.models import StatusChange
from tests.conftest import samples_text, sign
from tests.support.fakeslack import TEAM_ID, FakeSlack

ROOT = Path(__file__).resolve().parent.parent
CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(
        ("SLACK_", "DATABASE_URL", "OFFERBOT_", "AZURE_", "PARTNER_CENTER_", "CLOUD_PARTNER_")
    )
}


# --- stores and processes -----------------------------------------------------------------------


@contextlib.contextmanager
def store(admin_url: str | None) -> Iterator[str]:
    """A fresh, migrated store: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if admin_url is None:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/offerbot.db"
            db.migrate(db.make_engine(url))
            yield url
        return
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"offerbot_load_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        engine = db.make_engine(url)
        db.migrate(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class Proc:
    """A child process with its output in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.popen = subprocess.Popen(  # noqa: S603  (our own CLI, our arguments)
                [sys.executable, *args],
                env={**CLEAN_ENV, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log.read_text(errors="replace"))
            if match:
                return match
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.popen.args} exited:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.02)
        raise TimeoutError(f"no {pattern!r} in {self.log}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def bot_env(url: str, fake: FakeSlack, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": "xoxb-load",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.url,
        "OFFERBOT_LOG_FORMAT": "json",
        **extra,
    }


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


# --- commands under load ------------------------------------------------------------------------


_TRIGGERS = itertools.count(1)


def signed_body(text: str) -> tuple[bytes, dict[str, str]]:
    """A slash command as Slack signs it; each carries its own trigger id, as Slack's do (two
    requests are never the same body, so none is taken for a replay)."""
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
    ).encode()
    return body, {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret=SECRET)}


def ask(port: int, path: str, text: str) -> float:
    """One signed request on a new connection; milliseconds until the whole answer is read."""
    body, headers = signed_body(text)
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}")
    return elapsed


def first_import(url: str, n: int) -> None:
    """``n`` offers as a first import leaves them: stored, one status change each, none handled."""
    engine = db.make_engine(url)
    fill(engine, n)
    table = StatusChange.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        for start in range(0, n, 5000):
            conn.execute(
                table.insert(),
                [
                    dict(
                        team_id=TEAM_ID,
                        offer_pk=i + 1,
                        old_status=None,
                        new_status="in_progress",
                        changed_at=NOW,
                        source="import",
                    )
                    for i in range(start, min(n, start + 5000))
                ],
            )
    engine.dispose()


def unhandled(url: str) -> int:
    engine = db.make_engine(url)
    with engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT count(*) FROM status_change WHERE handled_at IS NULL"
        ).scalar_one()
    engine.dispose()
    return int(found)


def command_cases(n: int) -> list[tuple[str, str]]:
    probe = n // 2
    name = f"{WORDS[probe % 18]} {WORDS[(probe // 18) % 18]} {WORDS[(probe // 324) % 18]} {probe}"
    return [
        ("exact offer id", f"offer-{probe:07d}"),
        ("part of a name (one match)", name),
        ("no match, nothing alike", "zqxw-nothing"),
        ("misspelt name: suggestions", "Contosso Analytcs"),
    ]


def measure(
    port: int,
    path: str,
    cases: list[tuple[str, str]],
    rounds: int,
    until: Callable[[], bool] | None = None,
    pause: float = 0.0,
) -> dict[str, list[float]]:
    """``rounds`` rounds of every case; with ``until``, rounds go on (checked every 10) until it is
    true, so the window covers all of the work it waits for; ``pause`` seconds between requests."""
    out: dict[str, list[float]] = {label: [] for label, _ in cases}
    for _label, text in cases:  # warm up
        ask(port, path, text)
    for done in itertools.count(1):
        for label, text in cases:
            out[label].append(ask(port, path, text))
            if pause:
                time.sleep(pause)
        if done >= rounds and (until is None or (done % 10 == 0 and until())):
            return out
    return out


def baseline(fake: FakeSlack, tmp: Path, rounds: int, before_response: bool) -> list[float]:
    args = ["-m", "benchmark.bare", "--port", "0", "--api-url", fake.url]
    args += ["--process-before-response"] if before_response else []
    proc = Proc(args, {}, tmp / f"bare-{before_response}.log")
    try:
        port = int(proc.wait_for(r"listening on (\d+)")[1])
        return measure(port, "/slack/events", [("bare", "x")], rounds)["bare"]
    finally:
        proc.stop()


def bench_commands(admin_url: str | None, fake: FakeSlack, n: int, rounds: int, tmp: Path) -> list[str]:
    lines = [
        "| store | while | command | p50 ms | p99 ms | max ms | p50 vs bare Bolt (process_before_response) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    default, fast = baseline(fake, tmp, rounds * 4, False), baseline(fake, tmp, rounds * 4, True)
    base = statistics.median(fast)
    for label, samples in (
        ("bare default Bolt app", default),
        ("bare Bolt app, process_before_response", fast),
    ):
        lines.append(
            f"| - | - | {label} | {statistics.median(samples):.2f} | {pct(samples, 0.99):.2f} | "
            f"{max(samples):.2f} | {statistics.median(samples) / base:.1f}x |"
        )
    with store(admin_url) as url:
        kind = sa.make_url(url).get_backend_name()
        first_import(url, n)
        proc = Proc(
            ["-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
            bot_env(url, fake),
            tmp / "serve.log",
        )
        try:
            port = int(proc.wait_for(r"listening on http://127\.0\.0\.1:(\d+)")[1])
            proc.wait_for("ready: answering Slack")
            backlog = unhandled(url)
            started = time.monotonic()
            busy = measure(port, "/slack/events", command_cases(n), rounds, until=lambda: unhandled(url) == 0)
            took = time.monotonic() - started
            print(f"commands: a backlog of {backlog} handled in {took:.0f} s", file=sys.stderr)
            quiet = measure(port, "/slack/events", command_cases(n), rounds)
        finally:
            proc.stop()
        during = f"the watcher handles a first import ({backlog:,} changes, {took:.0f} s)"
        for window, results in ((during, busy), ("idle", quiet)):
            for label, samples in results.items():
                p50 = statistics.median(samples)
                lines.append(
                    f"| {kind}, {n:,} offers | {window} | {label} | {p50:.2f} | {pct(samples, 0.99):.2f} | "
                    f"{max(samples):.2f} | {p50 / base:.1f}x |"
                )
    return lines


# --- delivery -----------------------------------------------------------------------------------


def vm_doc(count: int, status: str, prefix: str = "vm") -> str:
    vm = json.loads(samples_text())["offers"][0]
    vm["notificationEmails"] = ""  # no owner DMs: only the channels count
    offers = [
        {
            **vm,
            "offerId": f"{prefix}-{i:04d}",
            "name": f"Load VM {i}",
            "status": {**vm["status"], "status": status},
        }
        for i in range(count)
    ]
    return json.dumps({"offers": offers})


def load_doc(url: str, text: str, when: datetime) -> None:
    engine = db.make_engine(url)
    with db.transaction(db.session_factory(engine)) as session:
        import_offers(session, team_id=TEAM_ID, offers=parse_document(text), now=when)
    engine.dispose()


def subscribe_channels(url: str, channels: list[str], target: Callable[[int], Target]) -> None:
    engine = db.make_engine(url)
    with db.transaction(db.session_factory(engine)) as session:
        for i, channel in enumerate(channels):
            subscribe(
                session,
                team_id=TEAM_ID,
                destination_kind="channel",
                destination=channel,
                target=target(i),
                events=(),
                created_by="U1",
                now=NOW,
            )
    engine.dispose()


def delivered(url: str) -> tuple[int, int]:
    engine = db.make_engine(url)
    with db.session_factory(engine)() as session:
        c = counts(session)
    engine.dispose()
    return c.sent, c.pending


def duplicates(fake: FakeSlack) -> int:
    keys = Counter(
        m["metadata"]["event_payload"]["delivery"]
        for messages in list(fake.messages.values())
        for m in list(messages)
        if m.get("metadata")
    )
    return sum(n - 1 for n in keys.values() if n > 1)


def bench_delivery(admin_url: str | None, processes: int, tmp: Path) -> str:
    fake = FakeSlack().start()
    fake.channel_gap = 0.9
    try:
        with store(admin_url) as url:
            kind = sa.make_url(url).get_backend_name()
            load_doc(url, vm_doc(20, "running"), NOW)
            engine = db.make_engine(url)
            with db.transaction(db.session_factory(engine)) as s:  # the first import alerts nobody
                s.execute(sa.update(StatusChange).values(handled_at=NOW))
            engine.dispose()
            subscribe_channels(url, [f"C{i:04d}" for i in range(100)], lambda _i: Target(kind="all"))
            load_doc(url, vm_doc(20, "failed"), NOW)
            procs = [
                Proc(["-m", "bot.cli", "watch"], bot_env(url, fake), tmp / f"watch-{kind}-{p}.log")
                for p in range(processes)
            ]
            started = time.monotonic()
            try:
                wait_until(lambda: delivered(url)[0] >= 2000, timeout=300, interval=0.25)
            finally:
                for proc in procs:
                    proc.stop()
            posts = [c.at for c in fake.calls_to("chat.postMessage")]  # 429s included: Slack saw them
            ok = sum(len(m) for m in fake.messages.values())
            _sent, pending = delivered(url)
            span = max(c for c in posts) - min(posts) if posts else float("nan")
            total = max(posts) - started if posts else float("nan")
            return (
                f"| {kind} | {processes} | {ok:,} | {pending} | {duplicates(fake)} | {fake.rate_limited} | "
                f"{span:.1f} s | {span / 19:.2f}x | {total:.1f} s |"
            )
    finally:
        fake.stop()


# --- alert latency ------------------------------------------------------------------------------


def bench_latency(admin_url: str | None, tmp: Path, changes: int = 200, per_import: int = 10) -> str:
    fake = FakeSlack().start()
    try:
        with store(admin_url) as url:
            kind = sa.make_url(url).get_backend_name()
            load_doc(url, vm_doc(changes, "running", prefix="lat"), NOW)
            engine = db.make_engine(url)
            with engine.connect() as conn:
                pks = [r[0] for r in conn.exec_driver_sql("SELECT id FROM offer ORDER BY offer_id").all()]
            engine.dispose()
            subscribe_channels(
                url, [f"CL{i:04d}" for i in range(changes)], lambda i: Target(kind="offer", offer_pk=pks[i])
            )
            proc = Proc(["-m", "bot.cli", "watch"], bot_env(url, fake), tmp / f"latency-{kind}.log")
            try:
                proc.wait_for("watcher pass:")  # the first import's changes are handled (they alert nobody)
                committed: dict[str, float] = {}
                vm = json.loads(vm_doc(changes, "failed", prefix="lat"))["offers"]
                for start in range(0, changes, per_import):
                    batch = vm[start : start + per_import]
                    load_doc(url, json.dumps({"offers": batch}), datetime.now(UTC))
                    now = time.monotonic()
                    for i in range(start, start + len(batch)):
                        committed[f"CL{i:04d}"] = now
                    time.sleep(0.5)  # imports arrive one after the other, as from a pipeline
                wait_until(lambda: len(fake.calls_to("chat.postMessage")) >= changes, timeout=120)
            finally:
                proc.stop()
            first_post: dict[str, float] = {}
            for call in fake.calls_to("chat.postMessage"):
                first_post.setdefault(str(call.body["channel"]), call.at)
            latencies = [first_post[c] - t for c, t in committed.items() if c in first_post]
            lost = changes - len(latencies)
            return (
                f"| {kind} | {changes} | {statistics.median(latencies):.2f} s | {pct(latencies, 0.99):.2f} s | "
                f"{max(latencies):.2f} s | {lost} |"
            )
    finally:
        fake.stop()


# --- scale ----------------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def idle_pass_ms(url: str, fake: FakeSlack, passes: int = 20) -> tuple[float, float]:
    """A watcher pass with no change, median and max over ``passes``, in this process."""
    engine = db.make_engine(url)
    factory = db.session_factory(engine)
    client = make_client(Settings(slack_bot_token="xoxb-load", slack_api_url=fake.url))
    times = []
    for _ in range(passes + 1):
        started = time.perf_counter()
        run_pass(
            session_factory=factory, client=client, clock=lambda: datetime.now(UTC), sleep=lambda _s: None
        )
        times.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return statistics.median(times[1:]), max(times[1:])


def bench_scale(admin_url: str | None, sizes: list[int], tmp: Path) -> list[str]:
    lines = [
        "| store | offers | idle watcher pass p50 ms | max ms | serve RSS MB | jobs process RSS MB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for n in sizes:
        fake = FakeSlack().start()
        try:
            with store(admin_url) as url:
                kind = sa.make_url(url).get_backend_name()
                fill(db.make_engine(url), n)
                p50, worst = idle_pass_ms(url, fake)
                proc = Proc(
                    ["-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
                    bot_env(url, fake),
                    tmp / f"scale-{n}.log",
                )
                try:
                    port = int(proc.wait_for(r"listening on http://127\.0\.0\.1:(\d+)")[1])
                    proc.wait_for("ready: answering Slack")
                    child = int(proc.wait_for(r"run in process (\d+)")[1])
                    measure(port, "/slack/events", command_cases(n), 25)
                    time.sleep(2)  # a few watcher and probe runs in the jobs process
                    serve_mb, jobs_mb = rss_mb(proc.popen.pid), rss_mb(child)
                finally:
                    proc.stop()
                lines.append(f"| {kind} | {n:,} | {p50:.1f} | {worst:.1f} | {serve_mb:.0f} | {jobs_mb:.0f} |")
                print(lines[-1], file=sys.stderr, flush=True)
        finally:
            fake.stop()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="commands,delivery,latency,scale,sync")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL admin URL; default: SQLite")
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=100, help="requests per command kind and window")
    parser.add_argument("--scale-sizes", default="10000,100000,1000000")
    parser.add_argument(
        "--pause",
        type=float,
        default=0.025,
        help="seconds between requests while a sync runs (--only sync); default 0.025",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    print(f"machine: {machine()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        if "commands" in only:
            fake = FakeSlack().start()
            try:
                lines = bench_commands(args.database_url, fake, args.offers, args.rounds, Path(tmp))
            finally:
                fake.stop()
            print("/offer-status over signed HTTP, a new connection per request:\n")
            print("\n".join(lines) + "\n")
        if "delivery" in only:
            print("delivery of 2,000 alerts to 100 channels, Slack pacing each channel (floor 19 s):\n")
            print(
                "| store | processes | delivered | pending | duplicated | 429s | first to last post | vs floor | start to last |"
            )
            print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            for processes in (1, 2) if args.database_url else (1,):
                print(bench_delivery(args.database_url, processes, Path(tmp)), flush=True)
            print()
        if "scale" in only:
            sizes = [int(s) for s in args.scale_sizes.split(",")]
            print("scale: a watcher pass with no change, and resident memory with the store's offers:\n")
            print("\n".join(bench_scale(args.database_url, sizes, Path(tmp))) + "\n")
        if "latency" in only:
            print("alert latency, from an import's commit to its chat.postMessage (default settings):\n")
            print("| store | changes | p50 | p99 | max | lost |")
            print("| --- | --- | --- | --- | --- | --- |")
            print(bench_latency(args.database_url, Path(tmp)))
        if "sync" in only:
            bench_sync(args, Path(tmp))


def bench_sync(args: argparse.Namespace, tmp: Path) -> None:
    from benchmark.sync_load import bench_sync_commands, bench_sync_latency

    print("/offer-status while a Partner Center sync pass runs (20 ms per request to the fake):\n")
    print(f"requests {args.pause * 1000:.0f} ms apart\n")
    print("| store | while | command | p50 ms | p99 ms | max ms | p99 vs idle |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    lines = bench_sync_commands(args.database_url, args.offers, args.rounds, tmp, pause=args.pause)
    print("\n".join(lines) + "\n")
    print("alert latency, from a sync's stored change to its chat.postMessage (default settings):\n")
    print("| store | changes | changes per pass | sync pass (mean) | p50 | p99 | max | lost |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for per_pass in (200, 10):
        print(bench_sync_latency(args.database_url, tmp, per_pass=per_pass), flush=True)


if __name__ == "__main__":
    main()

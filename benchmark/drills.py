"""Fault drills against real offerbot processes: kill, stop, hang, refuse, Slack down, two watchers.

    python -m benchmark.drills [--store sqlite|postgresql|both] [--repeat N] [--only NAME]

Every drill starts ``offerbot watch`` or ``offerbot serve`` as child processes (``python -m bot.cli``)
against the tests' fake Slack Web API on 127.0.0.1 and a fresh store (a SQLite file, or a new
PostgreSQL database migrated with ``offerbot migrate``), breaks something, and measures what the
issue asks: alerts delivered, lost (a row not sent, or marked sent with no message in Slack),
duplicated (a message whose ``offerbot_delivery`` metadata key was posted more than once), and how
long the bot takes to recover. The watcher runs with its default interval (15 s) everywhere.

Drills (``--only``): ``kill9``, ``sigterm``, ``hang``, ``refuse``, ``slackdown``, ``twowatchers``,
``stopanywhere`` (``--tries`` SIGTERMs at spread points of a loaded start).
Repeats of ``kill9`` run ``--parallel`` at a time (each waits out the killed process's 30 s lease,
idle). Progress goes to stderr; the markdown table, the targets missed and the machine to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import itertools
import json
import os
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from benchmark.bench import machine
from bot.clock import utc_now
from bot.usecases.imports import import_document
from storage import db
from storage.alerts.outbox import counts
from storage.alerts.subscriptions import Target, subscribe
from storage.models import Delivery, Offer, Subscription
from tests.conftest import SIGNING_SECRET, get, post, samples_text, sign, slash_body
from tests.support.fakeslack import TEAM_ID, FakeSlack
from tests.support.tcpproxy import TcpProxy

T = TypeVar("T")
Kind = Literal["sqlite", "postgresql"]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(
        ("SLACK_", "DATABASE_URL", "OFFERBOT_", "AZURE_", "PARTNER_CENTER_", "CLOUD_PARTNER_")
    )
}
UNAVAILABLE = "The offer store is unavailable right now: try again in a minute."
LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
READY = "ready: answering Slack"
FOUND_EARLIER = "the earlier attempt had posted it"

# --- sizes and targets ---------------------------------------------------------------------------
CHANNELS, OFFERS = 12, 3
"""kill9 and sigterm: 12 channels subscribed to ``all``, 3 offers failing: 36 alerts, 30 claimed by
the first pass (a lease's worth at one message a second), 6 left for the next claim."""
POST_LATENCY = 0.2
KILL_AFTER = (3, 5, 7, 4, 6, 8)
"""Posts seen by Slack before the signal, per repeat."""
KILL_DELAY = (0.0, 0.1, 0.25, 0.05, 0.15)
"""Seconds from Slack receiving that post to the signal, per repeat: 0 and 0.1 fall while Slack takes
0.2 s to answer (the post's outcome is unknown to the bot), 0.25 after the answer came."""
RECOVERY_TARGET, RECOVERY_LIMIT = 60.0, 150.0
LEASE = 30.0
"""The watcher's lease on claimed rows (bot.alerting.watcher.WatcherConfig)."""
EXIT_TARGET = 10.0
OUTAGE = 30.0
"""Seconds the store stays hung in the ``hang`` drill."""
ANSWER_TARGET, HEALTH_TARGET = 2.5, 2.0
BACKGROUND_LINES = 10
"""At most this many lines from the bot's own jobs in the 30 s outage: "a few, not thousands"."""
WATCH_INTERVAL = 15.0
"""The watcher's default interval: the drills leave OFFERBOT_WATCH_INTERVAL unset."""
SLACK_DOWN = 5.0
PACE_ALERTS, PACE_TARGET = 40, 0.95
HANG_CHANNEL, PACE_CHANNEL, COMMAND_CHANNEL = "C0HANG001", "C0PACE001", "C0CHAN001"

_started = time.monotonic()
_print_lock = threading.Lock()
MIGRATING = threading.Lock()
STOPPING = threading.Event()
"""Set by SIGINT or SIGTERM: every drill's waits end at once, so its processes and databases go."""


class Interrupted(Exception):
    """Raised in a drill's wait once the run is interrupted."""


def pause(seconds: float) -> None:
    if STOPPING.wait(max(0.0, seconds)):
        raise Interrupted("interrupted")


def say(message: str) -> None:
    with _print_lock:
        print(f"[{time.monotonic() - _started:6.1f}s] {message}", file=sys.stderr, flush=True)


def poll(predicate: Callable[[], T], timeout: float, interval: float = 0.05) -> T:
    """``predicate()`` once it is truthy, or its last (falsy) value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        pause(interval)


def sleep_until(moment: float) -> None:
    """Wait for a fixed point of a drill's schedule (an outage's planned length)."""
    pause(moment - time.monotonic())


# --- child processes -----------------------------------------------------------------------------


class Processes:
    """Every offerbot process a drill starts, each in a process group of its own (``serve`` starts an
    ``offerbot jobs`` child); whatever still runs of those groups at the end is killed."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()

    def start(self, args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
        """``offerbot ARGS`` with its stdout and stderr appended to ``log_path`` (a file: a pipe nobody
        reads could fill and block it)."""
        with log_path.open("ab") as log:
            proc = subprocess.Popen(  # noqa: S603  (our own interpreter and module, fixed arguments)
                [sys.executable, "-m", "bot.cli", *args],
                env={**CLEAN_ENV, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )
        with self._lock:
            self._procs.append(proc)
        return proc

    def kill_all(self) -> None:
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group of a process started here: its children
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)

    def leftovers(self) -> list[int]:
        """Processes still alive in the groups started here (a child that outlived its parent)."""
        with self._lock:
            groups = {proc.pid for proc in self._procs}
        alive = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if os.getpgid(int(entry.name)) in groups:
                        alive.append(int(entry.name))
        return alive


PROCS = Processes()


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> tuple[int | None, float]:
    """SIGTERM, then wait: (exit code, seconds to exit); killed (code None) when it outlives ``timeout``."""
    if proc.poll() is not None:
        return proc.returncode, 0.0
    proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    try:
        code: int | None = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        code = None
    return code, time.monotonic() - signalled


def run_offerbot(args: list[str], env: dict[str, str], log_path: Path) -> int:
    proc = PROCS.start(args, env, log_path)
    try:
        return proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        return -9


def bot_env(url: str, fake: FakeSlack) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": "xoxb-drill",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url,
        "OFFERBOT_LOG_FORMAT": "json",
    }


def log_text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def log_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def log_lines_since(path: Path, start: int, end: int | None = None) -> list[str]:
    data = path.read_bytes()[start:end]
    return [line for line in data.decode(errors="replace").splitlines() if line.strip()]


def log_field(line: str, name: str) -> object:
    """A field of a JSON log line (None when the line is not a JSON object)."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record.get(name) if isinstance(record, dict) else None


def top_events(lines: list[str], n: int = 2) -> str:
    """The commonest log events (numbers blanked), for a note: ``12× the store is unavailable...``."""
    events: Counter[str] = Counter()
    for line in lines:
        event = str(log_field(line, "event") or line)
        events[re.sub(r"\d+(\.\d+)?", "N", event)[:70]] += 1
    return "; ".join(f"{count}× '{event}'" for event, count in events.most_common(n))


REQUEST_LOGGERS = (
    "bot.slack.listeners",
    "bot.guard",
    "bot.slack.people",
    "bot.slack.grammar",
    "bot.http.server",
    "bot.http.edge",
)
"""Loggers that write because a request came (a drill's command or health check), not on their own."""


def split_log(lines: list[str]) -> tuple[list[str], list[str]]:
    """(lines written for a request, lines the bot's jobs wrote on their own)."""
    asked: list[str] = []
    background: list[str] = []
    for line in lines:
        logger = str(log_field(line, "logger") or "")
        (asked if logger.startswith(REQUEST_LOGGERS) else background).append(line)
    return asked, background


def start_serve(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``offerbot serve`` on a free port; returns once it listens (not necessarily ready)."""
    proc = PROCS.start(["serve", "--host", "127.0.0.1", "--port", "0"], env, log_path)
    match = poll(lambda: LISTENING.search(log_text(log_path)) or proc.poll() is not None, 60)
    if not isinstance(match, re.Match):
        stop(proc)
        raise RuntimeError("serve did not listen:\n" + log_text(log_path)[-2000:])
    return proc, int(match.group(1))


# --- stores --------------------------------------------------------------------------------------


@dataclass
class Store:
    kind: Kind
    url: str
    """The direct way to the database (the drill's own, and the bot's unless a proxy is in front)."""
    engine: Engine

    @property
    def factory(self) -> db.SessionFactory:
        return db.session_factory(self.engine)

    def through(self, port: int) -> str:
        """The URL of this PostgreSQL database through a proxy listening on ``port``."""
        return sa.make_url(self.url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)

    @property
    def path(self) -> str:
        return sa.make_url(self.url).database or ""

    def deliveries(self) -> list[Delivery]:
        with self.factory() as session:
            return list(session.exec(select(Delivery)).all())

    def pending(self) -> int:
        with self.factory() as session:
            return counts(session).pending

    def all_done(self, expected: int) -> bool:
        """Every one of at least ``expected`` rows is sent or failed for good."""
        with self.factory() as session:
            c = counts(session)
        return c.pending == 0 and c.sent + c.failed >= expected

    def subscriptions(self, kind: str | None = None) -> int:
        with self.factory() as session:
            query = select(Subscription)
            if kind is not None:
                query = query.where(Subscription.destination_kind == kind)
            return len(session.exec(query).all())

    def offer_pk(self, offer_id: str) -> int:
        with self.factory() as session:
            offer = session.exec(select(Offer).where(col(Offer.offer_id) == offer_id)).one()
        assert offer.id is not None
        return offer.id


@dataclass
class Ctx:
    workdir: Path
    pg_url: str | None
    """None: PostgreSQL is unreachable and its drills are skipped."""
    repeat: int
    parallel: int
    tries: int = 50
    """SIGTERMs sent by the ``stopanywhere`` drill."""


@contextlib.contextmanager
def open_store(ctx: Ctx, kind: Kind, name: str) -> Iterator[Store]:
    """A fresh, migrated store: a SQLite file in the work directory (it migrates itself), or a new
    PostgreSQL database migrated by ``offerbot migrate`` and dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{ctx.workdir / name}.db"
        lite = db.make_engine(url)
        with MIGRATING:  # Alembic's context is global to the process: one migration at a time
            db.migrate(lite)
        try:
            yield Store(kind, url, lite)
        finally:
            lite.dispose()
        return
    assert ctx.pg_url is not None
    database = f"offerbot_drill_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(ctx.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
    url = sa.make_url(ctx.pg_url).set(database=database).render_as_string(hide_password=False)
    engine: Engine | None = None
    try:
        code = run_offerbot(["migrate"], {"DATABASE_URL": url}, ctx.workdir / f"{name}-migrate.log")
        if code != 0:
            raise RuntimeError(
                f"offerbot migrate exited {code}: {log_text(ctx.workdir / f'{name}-migrate.log')}"
            )
        engine = db.make_engine(url)
        yield Store(kind, url, engine)
    finally:
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.dispose()


@contextlib.contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    """The tests' fake Slack; a client that went away mid-answer (a killed bot) is not an error here."""
    fake = FakeSlack().start()
    server = fake.server

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            ThreadingHTTPServer.handle_error(server, request, client_address)

    server.handle_error = handle_error  # type: ignore[method-assign]
    try:
        yield fake
    finally:
        fake.stop()


@contextlib.contextmanager
def proxy_for(store: Store) -> Iterator[TcpProxy]:
    parsed = sa.make_url(store.url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    try:
        yield proxy
    finally:
        proxy.restore()
        proxy.close()


def pg_reachable(url: str) -> str | None:
    """None when the server answers, else why not."""
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return None
    except sa.exc.SQLAlchemyError as exc:
        return str(exc).splitlines()[0][:120]
    finally:
        engine.dispose()


# --- offers, subscriptions, outcomes ---------------------------------------------------------------


def offers_doc(n: int, status: str) -> str:
    """``n`` copies of the first sample offer (a virtual machine) with distinct ids, in ``status``."""
    base = json.loads(samples_text())["offers"][0]
    offers = []
    for i in range(n):
        offer = copy.deepcopy(base)
        offer["offerId"], offer["name"] = f"drill-offer-{i:03d}", f"Drill offer {i:03d}"
        offer["status"]["status"] = status
        offers.append(offer)
    return json.dumps({"offers": offers})


def import_text(store: Store, text: str) -> None:
    import_document(store.factory, text=text, source="drill", now=utc_now(), team_id=TEAM_ID)


def subscribe_channels(store: Store, channels: list[str], target: Target | None = None) -> None:
    with db.transaction(store.factory) as session:
        for channel in channels:
            subscribe(
                session,
                team_id=TEAM_ID,
                destination_kind="channel",
                destination=channel,
                target=target or Target(kind="all"),
                events=(),
                created_by="U0DRILL01",
                now=utc_now(),
            )


def seed_alerts(store: Store, *, offers: int, channels: list[str]) -> int:
    """Offers imported running, channels subscribed to ``all``, the offers imported failed: one alert
    per offer and channel once a watcher fans the changes out. Returns that number."""
    import_text(store, offers_doc(offers, "running"))
    subscribe_channels(store, channels)
    import_text(store, offers_doc(offers, "failed"))
    return offers * len(channels)


def delivery_key(message: dict[str, Any]) -> str | None:
    """The outbox row a posted message carries in its metadata, if any."""
    meta = message.get("metadata")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError:
            return None
    if not isinstance(meta, dict) or meta.get("event_type") != "offerbot_delivery":
        return None
    payload = meta.get("event_payload")
    return str(payload.get("delivery")) if isinstance(payload, dict) else None


def posted_messages(fake: FakeSlack) -> list[tuple[str, dict[str, Any]]]:
    with fake._lock:
        return [(channel, dict(m)) for channel, messages in fake.messages.items() for m in messages]


@dataclass
class Tally:
    alerts: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.alerts + other.alerts,
            self.delivered + other.delivered,
            self.lost + other.lost,
            self.duplicated + other.duplicated,
        )


def tally(store: Store, fake: FakeSlack) -> Tally:
    """Rows in the outbox; delivered: sent and found in Slack; lost: the rest; duplicated: extra
    messages carrying a key already posted."""
    rows = store.deliveries()
    keys = Counter(k for _, m in posted_messages(fake) if (k := delivery_key(m)) is not None)
    delivered = sum(1 for r in rows if r.state == "sent" and keys[str(r.id)] > 0)
    duplicated = sum(n - 1 for n in keys.values() if n > 1)
    return Tally(len(rows), delivered, len(rows) - delivered, duplicated)


# --- the table -----------------------------------------------------------------------------------


@dataclass
class Row:
    drill: str
    store: str
    tally: Tally | None = None
    recovery: str = "–"
    notes: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def check(self, ok: bool, target: str, actual: str) -> None:
        """Note a target met or missed (``actual`` says the measured value)."""
        if ok:
            self.notes.append(f"{actual} (target {target}: met)")
        else:
            self.notes.append(f"**{actual} (target {target}: MISSED)**")
            self.missed.append(f"{self.drill} [{self.store}]: {actual}; target {target}")

    def cells(self) -> list[str]:
        t = self.tally
        numbers = [str(t.alerts), str(t.delivered), str(t.lost), str(t.duplicated)] if t else ["–"] * 4
        notes = "; ".join(self.notes).replace("|", "\\|").replace("\n", " ")
        return [self.drill, self.store, *numbers, self.recovery, notes]


def table(rows: list[Row]) -> str:
    head = ["drill", "store", "alerts", "delivered", "lost", "duplicated", "recovery time", "notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


# --- drills 1 and 2: a watcher killed or stopped mid-batch ------------------------------------------


@dataclass
class DeliveryRun:
    tally: Tally
    recovery: float | None
    """Seconds from the restart until no row was pending; None: not within RECOVERY_LIMIT."""
    posts_before: int
    in_flight: int
    """Rows whose send had begun (``sending_at`` set) when the process went away."""
    claims_left: int
    """Rows still leased to the process that went away."""
    found: int
    """Rows the restarted watcher found in the channel history instead of posting them again."""
    first_post: float | None
    """Seconds from the restart to its first post (the process's start-up, mostly)."""
    early_posts: int
    """Posts by the restarted watcher before the dead process's lease could have run out."""
    exit_code: int | None = None
    exit_time: float | None = None


def interrupted_delivery(
    ctx: Ctx, kind: Kind, index: int, *, how: Literal["kill9", "sigterm"]
) -> DeliveryRun:
    """A watcher sending 36 alerts to a slow Slack is killed (SIGKILL) or stopped (SIGTERM) after a few
    posts, then started again; measured until every row is sent, then compared with what Slack got."""
    name = f"{how}-{kind}-{index}"
    workdir = ctx.workdir / name
    workdir.mkdir()
    with fake_slack() as fake, open_store(ctx, kind, name) as store:
        channels = [f"C0DRILL{n:02d}" for n in range(CHANNELS)]
        expected = seed_alerts(store, offers=OFFERS, channels=channels)
        fake.latency["chat.postMessage"] = POST_LATENCY
        env = bot_env(store.url, fake)
        first = PROCS.start(["watch"], env, workdir / "watch-1.log")
        after = KILL_AFTER[index % len(KILL_AFTER)]
        if not poll(lambda: len(fake.calls_to("chat.postMessage")) >= after or first.poll() is not None, 60):
            raise RuntimeError("the watcher posted nothing in 60 s:\n" + log_text(workdir / "watch-1.log"))
        if first.poll() is not None:
            raise RuntimeError("the watcher exited early:\n" + log_text(workdir / "watch-1.log")[-2000:])
        exit_code: int | None = None
        exit_time: float | None = None
        if how == "kill9":
            pause(KILL_DELAY[index % len(KILL_DELAY)])  # where in the send the kill lands
        gone = time.monotonic()
        if how == "kill9":
            first.kill()
            first.wait(timeout=10)
        else:
            exit_code, exit_time = stop(first, timeout=EXIT_TARGET + 10)
        posts_before = len(fake.calls_to("chat.postMessage"))
        now = utc_now()
        rows = store.deliveries()
        in_flight = sum(1 for r in rows if r.state == "pending" and r.sending_at is not None)
        claims_left = sum(
            1 for r in rows if r.state == "pending" and r.lease_until is not None and r.lease_until > now
        )
        second = PROCS.start(["watch"], env, workdir / "watch-2.log")
        restarted = time.monotonic()
        done = poll(lambda: store.all_done(expected), RECOVERY_LIMIT, interval=0.1)
        recovery = time.monotonic() - restarted if done else None
        stop(second)
        later = [c.at - restarted for c in fake.calls_to("chat.postMessage") if c.at > restarted]
        early = sum(1 for c in fake.calls_to("chat.postMessage") if restarted < c.at < gone + LEASE - 1)
        result = tally(store, fake)
        found = log_text(workdir / "watch-2.log").count(FOUND_EARLIER)
    say(
        f"{how} [{kind}] run {index + 1}: signal after {posts_before} post(s), {in_flight} in flight, "
        f"{claims_left} still leased; recovered in {seconds(recovery)}; {result}"
    )
    first_post = min(later) if later else None
    return DeliveryRun(
        result, recovery, posts_before, in_flight, claims_left, found, first_post, early, exit_code, exit_time
    )


def drill_kill9(ctx: Ctx, kind: Kind) -> Row:
    row = Row("1. kill -9 during delivery", kind)
    parallel = max(1, min(ctx.parallel, ctx.repeat))
    say(f"kill9 [{kind}]: {ctx.repeat} run(s), {parallel} at a time")
    with ThreadPoolExecutor(parallel) as pool:
        runs = list(pool.map(lambda i: interrupted_delivery(ctx, kind, i, how="kill9"), range(ctx.repeat)))
    total = sum((r.tally for r in runs), Tally())
    row.tally = total
    times = [r.recovery for r in runs if r.recovery is not None]
    unfinished = len(runs) - len(times)
    worst = max(times) if times else None
    row.recovery = f"max {seconds(worst)}, median {seconds(statistics.median(times) if times else None)}" + (
        f", {unfinished} run(s) not done in {RECOVERY_LIMIT:.0f} s" if unfinished else ""
    )
    before = sorted(r.posts_before for r in runs)
    row.notes.append(
        f"{len(runs)} run(s) of {CHANNELS * OFFERS} alerts ({parallel} at a time), Slack answering posts in "
        f"{POST_LATENCY} s; SIGKILL 0–0.25 s after the 3rd–8th post reached Slack ({before[0]}–{before[-1]} "
        f"posts by then), {sum(r.claims_left for r in runs)} rows still leased to the dead process"
    )
    row.notes.append(
        f"{sum(r.in_flight for r in runs)} send(s) begun and not recorded at the kill; "
        f"{sum(r.found for r in runs)} found in the channel history by the restart, not posted again"
    )
    firsts = [r.first_post for r in runs if r.first_post is not None]
    if firsts:
        row.notes.append(
            f"the restarts posted {sum(r.early_posts for r in runs)} rows the killed process had not claimed "
            f"at once (first post {statistics.median(firsts):.1f} s after the restart, median), the leased "
            "ones once the 30 s lease ran out"
        )
    row.check(
        unfinished == 0 and worst is not None and worst <= RECOVERY_TARGET,
        f"≤ {RECOVERY_TARGET:.0f} s",
        f"slowest recovery {seconds(worst)}" + (f", {unfinished} unfinished" if unfinished else ""),
    )
    row.check(
        total.duplicated == 0 and total.lost == 0,
        "0 lost, 0 duplicated",
        f"{total.lost} lost, {total.duplicated} duplicated",
    )
    return row


def drill_sigterm(ctx: Ctx, kind: Kind) -> Row:
    row = Row("2. SIGTERM during delivery", kind)
    run = interrupted_delivery(ctx, kind, 1, how="sigterm")
    row.tally = run.tally
    row.recovery = seconds(run.recovery) if run.recovery is not None else f"> {RECOVERY_LIMIT:.0f} s"
    row.check(
        run.exit_code == 0 and run.exit_time is not None and run.exit_time <= EXIT_TARGET,
        f"exit 0 within {EXIT_TARGET:.0f} s",
        f"exit {run.exit_code} after {seconds(run.exit_time)}",
    )
    row.notes.append(
        f"SIGTERM after {run.posts_before} posts; {run.claims_left} row(s) still leased after the exit "
        f"(claims released), {run.in_flight} with a send begun; the restart's first post "
        f"{seconds(run.first_post)} after it started"
    )
    row.check(
        run.recovery is not None and run.recovery <= WATCH_INTERVAL,
        f"prompt, ≤ one interval ({WATCH_INTERVAL:.0f} s)",
        f"restart delivered the rest in {seconds(run.recovery)}",
    )
    row.check(
        run.tally.duplicated == 0 and run.tally.lost == 0,
        "0 lost, 0 duplicated",
        f"{run.tally.lost} lost, {run.tally.duplicated} duplicated",
    )
    return row


# --- drill 3: the store hangs under serve --------------------------------------------------------------


def ask(base: str, text: str, fake: FakeSlack) -> tuple[int, str, float]:
    """A signed ``/offer-status TEXT`` from channel C0CHAN001: (HTTP status, the answer's text, seconds)."""
    body = slash_body(text, team=TEAM_ID, response_url=fake.response_url)
    started = time.monotonic()
    status, raw = post(base + "/slack/events", body, sign(body), timeout=30)
    took = time.monotonic() - started
    try:
        answer = str(json.loads(raw).get("text", ""))
    except ValueError:
        answer = raw.decode(errors="replace")[:120]
    return status, answer, took


def timed_get(url: str) -> tuple[int, str, float]:
    started = time.monotonic()
    status, body = get(url, timeout=30)
    return status, body.decode(errors="replace"), time.monotonic() - started


def short(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= n else text[: n - 1] + "…")


def drill_hang(ctx: Ctx, kind: Kind) -> Row:
    """``serve`` with the store hung for 30 s: a frozen PostgreSQL (proxy), or SQLite's write lock held
    by another connection. Commands, /healthz and the log during the outage; then how soon an alert
    imported during it is posted."""
    row = Row("3. store hung under serve", kind)
    name = f"hang-{kind}"
    workdir = ctx.workdir / name
    workdir.mkdir()
    log_path = workdir / "serve.log"
    with fake_slack() as fake, open_store(ctx, kind, name) as store, contextlib.ExitStack() as stack:
        import_text(store, samples_text())
        contoso = store.offer_pk("contoso-analytics-vm")
        subscribe_channels(store, [HANG_CHANNEL], Target(kind="offer", offer_pk=contoso))
        proxy = stack.enter_context(proxy_for(store)) if kind == "postgresql" else None
        url = store.through(proxy.port) if proxy is not None else store.url
        proc, port = start_serve(bot_env(url, fake), log_path)
        base = f"http://127.0.0.1:{port}"
        if not poll(lambda: READY in log_text(log_path), 60):
            raise RuntimeError("serve not ready:\n" + log_text(log_path)[-2000:])
        if not poll(lambda: "watcher pass:" in log_text(log_path), 60):  # the samples' changes handled
            raise RuntimeError("no watcher pass:\n" + log_text(log_path)[-2000:])
        before = timed_get(base + "/healthz")
        doc = json.loads(samples_text())
        doc["offers"][0]["status"]["status"] = "failed"
        failing = workdir / "failing.json"
        failing.write_text(json.dumps(doc))
        commands = ["woodgrove", "notify-me woodgrove"]
        answers: list[tuple[str, int, str, float]] = []
        healths: list[tuple[int, str, float]] = []
        importer: subprocess.Popen[bytes] | None = None
        import_code: int | None = None

        holder: sqlite3.Connection | None = None
        mark = log_size(log_path)
        say(f"hang [{kind}]: store hung for {OUTAGE:.0f} s")
        if proxy is not None:
            proxy.freeze()
        else:
            holder = sqlite3.connect(store.path, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
        hung = time.monotonic()
        try:
            for at in (0.0, 10.0, 20.0):
                sleep_until(hung + at)
                healths.append(timed_get(base + "/healthz"))
                for text in commands:
                    status, answer, took = ask(base, text, fake)
                    answers.append((text, status, answer, took))
                if at == 0.0 and kind == "postgresql":
                    # Another process imports around the proxy: the change is in the store, unseen.
                    import_code = run_offerbot(
                        ["import", str(failing)], {"DATABASE_URL": store.url}, workdir / "import.log"
                    )
            if kind == "sqlite":
                # An import that starts before the end: it waits for the write lock (busy timeout 10 s).
                sleep_until(hung + OUTAGE - 6)
                importer = PROCS.start(
                    ["import", str(failing)], {"DATABASE_URL": store.url}, workdir / "import.log"
                )
            sleep_until(hung + OUTAGE)
            during = log_lines_since(log_path, mark)
        finally:
            if holder is not None:
                holder.rollback()
                holder.close()
            if proxy is not None:
                proxy.restore()
        restored = time.monotonic()
        say(f"hang [{kind}]: store back")
        healthy = poll(lambda: get(base + "/healthz", timeout=10)[0] == 200, 60, interval=0.1)
        healthy_after = time.monotonic() - restored if healthy else None
        posted = poll(lambda: bool(fake.messages.get(HANG_CHANNEL)), 60, interval=0.05)
        posted_after = time.monotonic() - restored if posted else None
        if importer is not None:
            import_code = importer.wait(timeout=30)
        status, answer_after, _ = ask(base, "woodgrove", fake)
        poll(lambda: store.pending() == 0, 30, interval=0.1)
        code, took_to_stop = stop(proc)
        saved_dm = store.subscriptions("user")
        row.tally = tally(store, fake)
    slowest = max(took for _, _, _, took in answers)
    texts = sorted({f"{text!r} → {short(answer)}" for text, _, answer, _ in answers})
    writes = [answer for text, _, answer, _ in answers if text.startswith("notify-me")]
    row.recovery = (
        f"alert {seconds(posted_after)} after restore" if posted else "no alert in 60 s after restore"
    )
    row.notes.append(f"{len(answers)} commands during the outage: " + ", ".join(texts))
    row.check(slowest <= ANSWER_TARGET, f"≤ {ANSWER_TARGET} s", f"slowest answer {slowest:.2f} s")
    row.check(
        all(UNAVAILABLE in answer for answer in writes),
        "every hung write told to try again",
        f"{sum(UNAVAILABLE in answer for answer in writes)} of {len(writes)} notify-me told the store is unavailable",
    )
    health_codes = sorted({s for s, _, _ in healths})
    health_slowest = max(t for _, _, t in healths)
    health_note = (
        f"/healthz {before[0]} before, {'/'.join(map(str, health_codes))} during in ≤ {health_slowest:.2f} s"
    )
    if kind == "postgresql":
        row.check(
            health_codes == [503] and health_slowest <= HEALTH_TARGET,
            f"503 within {HEALTH_TARGET:.0f} s",
            health_note,
        )
    else:
        row.notes.append(health_note + " (SQLite readers never wait for the writer)")
    asked, background = split_log(during)
    row.notes.append(f"{len(asked)} log line(s) from those {len(answers) + len(healths)} requests")
    row.check(
        len(background) <= BACKGROUND_LINES,
        f"a few (≤ {BACKGROUND_LINES})",
        f"{len(background)} log line(s) from the bot's own jobs in the {OUTAGE:.0f} s outage"
        + (f": {top_events(background)}" if background else ""),
    )
    row.notes.append(f"/healthz 200 again {seconds(healthy_after)} after restore; import exit {import_code}")
    row.check(
        posted_after is not None and posted_after <= WATCH_INTERVAL,
        f"≤ one watcher interval ({WATCH_INTERVAL:.0f} s, the default)",
        f"alert imported during the outage posted {seconds(posted_after)} after restore",
    )
    row.check(saved_dm == 0, "nothing saved", f"{saved_dm} notify-me saved of those told to try again")
    row.notes.append(
        f"after: {status} {short(answer_after, 40)}; serve stopped by SIGTERM: exit {code} in {took_to_stop:.1f} s"
    )
    return row


# --- drill 4: the store refuses connections ------------------------------------------------------------


def drill_refuse(ctx: Ctx, kind: Kind) -> Row:
    """``subscribe all`` while PostgreSQL refuses connections: nothing confirmed, nothing saved."""
    row = Row("4. store refusing", kind)
    workdir = ctx.workdir / f"refuse-{kind}"
    workdir.mkdir()
    log_path = workdir / "serve.log"
    with fake_slack() as fake, open_store(ctx, kind, f"refuse-{kind}") as store, proxy_for(store) as proxy:
        import_text(store, samples_text())
        proc, port = start_serve(bot_env(store.through(proxy.port), fake), log_path)
        base = f"http://127.0.0.1:{port}"
        if not poll(lambda: READY in log_text(log_path), 60):
            raise RuntimeError("serve not ready:\n" + log_text(log_path)[-2000:])
        if not poll(lambda: "watcher pass:" in log_text(log_path), 60):  # the samples' changes handled
            raise RuntimeError("no watcher pass:\n" + log_text(log_path)[-2000:])
        say(f"refuse [{kind}]: store refusing connections")
        mark = log_size(log_path)
        proxy.refuse()
        status, ack, took = ask(base, "subscribe all", fake)
        responded = poll(lambda: fake.calls_to("response_url"), 15)
        followup = str(responded[0].body.get("text", "")) if responded else "(none in 15 s)"
        pause(2)  # a fixed wait: nothing may arrive in the channel after the answer either
        confirmed = [c for c in fake.calls_to("chat.postMessage") if c.body.get("channel") == COMMAND_CHANNEL]
        saved = store.subscriptions()
        during = log_lines_since(log_path, mark)
        proxy.restore()
        restored = time.monotonic()
        say(f"refuse [{kind}]: store back")
        back = poll(lambda: "Woodgrove" in ask(base, "woodgrove", fake)[1], 60, interval=0.1)
        back_after = time.monotonic() - restored if back else None
        _, ack_again, _ = ask(base, "subscribe all", fake)
        confirmed_again = poll(
            lambda: [
                c for c in fake.calls_to("chat.postMessage") if c.body.get("channel") == COMMAND_CHANNEL
            ],
            15,
        )
        confirmed_after = time.monotonic() - restored if confirmed_again else None
        saved_again = store.subscriptions()
        code, took_to_stop = stop(proc)
    row.recovery = f"commands {seconds(back_after)} after restore"
    row.notes.append(
        f"ack in {took:.2f} s: {status} {short(ack, 60)}; then via response_url: {short(followup, 60)}"
    )
    row.check(
        not confirmed and saved == 0 and UNAVAILABLE in followup,
        "told the store is unavailable, no confirmation, nothing saved",
        f"{len(confirmed)} post(s) in the channel, {saved} subscription(s) saved",
    )
    row.notes.append(f"{len(during)} log line(s) meanwhile" + (f": {top_events(during)}" if during else ""))
    row.notes.append(
        f"after restore: subscribe all → {short(ack_again, 40)}, confirmed in the channel "
        f"{seconds(confirmed_after)} after restore, {saved_again} saved; serve exit {code} in {took_to_stop:.1f} s"
    )
    return row


# --- drill 5: Slack down at start ----------------------------------------------------------------------


def drill_slackdown(ctx: Ctx, kind: Kind) -> list[Row]:
    """auth.test answers 503 for 5 s from the first ask: ``watch --once`` must wait and exit 0; ``serve``
    must say degraded on /healthz, then become ready."""
    once, served = (
        Row("5a. Slack down at start: watch --once", kind),
        Row("5b. Slack down at start: serve", kind),
    )
    workdir = ctx.workdir / f"slackdown-{kind}"
    workdir.mkdir()
    with open_store(ctx, kind, f"slackdown-{kind}") as store:
        import_text(store, samples_text())
        with fake_slack() as fake:
            fake.outage("auth.test", status=503)
            started = time.monotonic()
            proc = PROCS.start(["watch", "--once"], bot_env(store.url, fake), workdir / "watch.log")
            first = poll(lambda: fake.calls_to("auth.test"), 60)
            if not first:
                raise RuntimeError("watch --once never asked auth.test:\n" + log_text(workdir / "watch.log"))
            sleep_until(first[0].at + SLACK_DOWN)
            fake.recover()
            recovered = time.monotonic()
            say(f"slackdown [{kind}]: watch --once: Slack back")
            try:
                code: int | None = proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = None
            ended = time.monotonic()
            attempts = len(fake.calls_to("auth.test"))
            passed = "watcher pass: 6 change(s) handled" in log_text(workdir / "watch.log")
        once.recovery = f"{ended - recovered:.1f} s after Slack recovered"
        once.check(code == 0, "exit 0", f"exit {code} after {ended - started:.1f} s")
        once.notes.append(f"auth.test asked {attempts}× (backoff); the pass ran: {passed}")

        with fake_slack() as fake:
            fake.outage("auth.test", status=503)
            log_path = workdir / "serve.log"
            started = time.monotonic()
            proc, port = start_serve(bot_env(store.url, fake), log_path)
            base = f"http://127.0.0.1:{port}"
            first = poll(lambda: fake.calls_to("auth.test"), 60)
            if not first:
                raise RuntimeError("serve never asked auth.test:\n" + log_text(log_path))
            poll(lambda: "Slack is unreachable" in log_text(log_path), 20)
            status, body, took = timed_get(base + "/healthz")
            sleep_until(first[0].at + SLACK_DOWN)
            status_late, _, _ = timed_get(base + "/healthz")
            fake.recover()
            recovered = time.monotonic()
            say(f"slackdown [{kind}]: serve: Slack back")
            ready = poll(lambda: READY in log_text(log_path), 90)
            ready_after = time.monotonic() - recovered if ready else None
            ready_total = time.monotonic() - started if ready else None
            status_after, _, _ = timed_get(base + "/healthz")
            code, took_to_stop = stop(proc)
        degraded = status == 503 and '"degraded"' in body and status_late == 503
        served.recovery = (
            f"ready {seconds(ready_after)} after Slack recovered ({seconds(ready_total)} after start)"
        )
        served.check(
            degraded,
            "503 degraded while down",
            f"/healthz while down: {status} {body.strip()} in {took:.2f} s; {status_late} at {SLACK_DOWN:.0f} s",
        )
        served.check(status_after == 200, "200 after recovery", f"/healthz after ready: {status_after}")
        served.notes.append(f"serve stopped by SIGTERM: exit {code} in {took_to_stop:.1f} s")
    return [once, served]


# --- drill 7: SIGTERM anywhere in a loaded start --------------------------------------------------

STOP_SCENARIOS = ("slack-down", "first-import", "in-flight")
EXIT_DEADLINE_S = 9.5
"""bot.runtime.lifecycle.EXIT_DEADLINE: a process still stopping then writes its threads and exits."""
STOP_OFFERS = 400
"""Offers of the first import: the watcher's fan-out and the jobs' first passes are busy at start."""


def _stop_delay(i: int) -> float:
    """Seconds from ``serve`` listening to the signal: spread over the next 4 s (the bind to the
    workspace, or waiting for Slack; the jobs process starting, importing, migrating, its first
    passes, the fan-out and the posts), never twice the same point. (Before it listens, Python is
    still importing offerbot: a signal then ends the process as the signal's default does.)"""
    return (i * 0.618034 % 1.0) * 4.0


def _stop_once(
    store: Store, fake: FakeSlack, scenario: str, i: int, workdir: Path
) -> tuple[int | None, float, int]:
    """One try: prepare ``scenario``, start ``serve``, SIGTERM it after :func:`_stop_delay`; the exit
    code, the seconds to exit, the processes of its group left alive, and whether it needed the
    exit deadline (``bot.runtime.lifecycle.EXIT_DEADLINE``: its threads are then in its log)."""
    if scenario == "slack-down":
        fake.outage("auth.test", status=503)
    else:
        fake.recover()
        status = "failed" if i % 2 else "running"  # every try stores changes: a first import's fan-out
        import_text(store, offers_doc(STOP_OFFERS if scenario == "first-import" else OFFERS, status))
    log_path = workdir / f"stop-{i:03d}-{scenario}.log"
    proc, _port = start_serve(bot_env(store.url, fake), log_path)  # its signal handler is in place
    if scenario == "in-flight":  # the signal falls among the posts, each 0.2 s long
        posted = len(fake.calls_to("chat.postMessage"))
        poll(lambda: len(fake.calls_to("chat.postMessage")) > posted, 30)
        pause(_stop_delay(i) / 4)
    else:
        pause(_stop_delay(i))
    code, took = stop(proc, timeout=EXIT_TARGET + 5)
    gone = poll(lambda: not _group_alive(proc.pid), 3)
    alive = 0 if gone else len(_group_alive(proc.pid))
    if alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    deadline = "still stopping" in log_text(log_path)
    if deadline:
        say(f"stopanywhere: try {i} needed the exit deadline; its threads:\n{log_text(log_path)[-6000:]}")
    return code, took, alive, deadline


def _group_alive(group: int) -> list[int]:
    """Processes still alive in the process group ``group``."""
    alive = []
    for pid in PROCS.leftovers():
        with contextlib.suppress(OSError):
            if os.getpgid(pid) == group:
                alive.append(pid)
    return alive


def drill_stopanywhere(ctx: Ctx, kind: Kind) -> Row:
    """``serve`` stopped by SIGTERM at many points of a loaded start, each of: Slack down (it waits for
    auth.test), a first import of 400 offers (the watcher's fan-out), deliveries in flight to a slow
    Slack. Every try must exit 0 within 10 s, leaving no process of its group behind."""
    row = Row("7. SIGTERM anywhere in a loaded start", kind)
    workdir = ctx.workdir / f"stopanywhere-{kind}"
    workdir.mkdir()
    results: list[tuple[str, int | None, float, int]] = []
    deadlines = 0
    with open_store(ctx, kind, f"stopanywhere-{kind}") as store, fake_slack() as fake:
        fake.latency["chat.postMessage"] = POST_LATENCY
        subscribe_channels(store, [f"C0STOP{n:03d}" for n in range(CHANNELS)])
        for i in range(ctx.tries):
            scenario = STOP_SCENARIOS[i % len(STOP_SCENARIOS)]
            code, took, alive, deadline = _stop_once(store, fake, scenario, i, workdir)
            results.append((scenario, code, took, alive))
            deadlines += deadline
            if code != 0 or took > EXIT_TARGET or alive:
                say(
                    f"stopanywhere [{kind}]: try {i} ({scenario}, at {_stop_delay(i):.2f} s): exit {code} in {took:.1f} s, {alive} left"
                )
        posts = len(fake.calls_to("chat.postMessage"))
    good = [r for r in results if r[1] == 0 and r[2] <= EXIT_TARGET and r[3] == 0]
    times = sorted(r[2] for r in results)
    row.check(
        len(good) == len(results),
        f"all {len(results)} exit 0 within {EXIT_TARGET:.0f} s, nothing left",
        f"{len(good)} of {len(results)} exited 0 within {EXIT_TARGET:.0f} s with nothing left",
    )
    row.recovery = f"exit in {statistics.median(times):.1f} s median, {times[-1]:.1f} s at most"
    for scenario in STOP_SCENARIOS:
        mine = [r for r in results if r[0] == scenario]
        row.notes.append(f"{scenario}: {sum(r in good for r in mine)}/{len(mine)}")
    row.notes.append(f"{posts} alerts posted to the slow Slack meanwhile")
    row.notes.append(f"{deadlines} needed the {EXIT_DEADLINE_S} s exit deadline")
    return row


# --- drill 6: two watchers, one channel -----------------------------------------------------------------


def worker_pid(worker: str | None) -> str:
    """The pid in a watcher's worker id (``host:pid:random``)."""
    parts = (worker or "").split(":")
    return parts[1] if len(parts) == 3 else worker or "?"


def drill_twowatchers(ctx: Ctx, kind: Kind) -> Row:
    """Two ``watch`` processes on one PostgreSQL database, 40 alerts into one channel: together they
    must keep one message a second, and post each alert once."""
    row = Row("6. two watchers, one channel", kind)
    workdir = ctx.workdir / f"two-{kind}"
    workdir.mkdir()
    with fake_slack() as fake, open_store(ctx, kind, f"two-{kind}") as store:
        expected = seed_alerts(store, offers=PACE_ALERTS, channels=[PACE_CHANNEL])
        env = bot_env(store.url, fake)
        started = time.monotonic()
        watchers = [PROCS.start(["watch"], env, workdir / f"watch-{n}.log") for n in (1, 2)]
        say(f"twowatchers [{kind}]: two watchers, {expected} alerts into {PACE_CHANNEL}")
        done = poll(lambda: store.all_done(expected), 2 * PACE_ALERTS + 60, interval=0.2)
        took = time.monotonic() - started if done else None
        for proc in watchers:
            stop(proc)
        calls = sorted(
            c.at for c in fake.calls_to("chat.postMessage") if c.body.get("channel") == PACE_CHANNEL
        )
        row.tally = tally(store, fake)
        by_worker = Counter(worker_pid(r.claimed_by) for r in store.deliveries() if r.state == "sent")
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    row.recovery = f"all sent {seconds(took)} after start" if took is not None else "not all sent"
    smallest = min(gaps) if gaps else None
    row.check(
        smallest is not None and smallest >= PACE_TARGET,
        f"≥ {PACE_TARGET} s",
        f"minimum gap {smallest:.3f} s" if smallest is not None else "no gaps",
    )
    if gaps:
        row.notes.append(f"median gap {statistics.median(gaps):.3f} s over {len(calls)} posts")
    row.notes.append(
        "sent per process (pid): " + ", ".join(f"{pid}: {n}" for pid, n in sorted(by_worker.items()))
    )
    row.check(
        row.tally.duplicated == 0 and row.tally.lost == 0,
        "0 lost, 0 duplicated",
        f"{row.tally.lost} lost, {row.tally.duplicated} duplicated",
    )
    return row


# --- main ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drill:
    name: str
    title: str
    run: Callable[[Ctx, Kind], Row | list[Row]]
    stores: tuple[Kind, ...] = ("sqlite", "postgresql")


DRILLS = [
    Drill("kill9", "1. kill -9 during delivery", drill_kill9),
    Drill("sigterm", "2. SIGTERM during delivery", drill_sigterm),
    Drill("hang", "3. store hung under serve", drill_hang),
    Drill("refuse", "4. store refusing", drill_refuse, ("postgresql",)),
    Drill("slackdown", "5. Slack down at start", drill_slackdown),
    Drill("twowatchers", "6. two watchers, one channel", drill_twowatchers, ("postgresql",)),
    Drill("stopanywhere", "7. SIGTERM anywhere in a loaded start", drill_stopanywhere),
]


def code_version() -> str:
    """The commit the drills ran against, and the files changed since (the working tree is what runs)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "code version unknown (no git)"
    changed = [line[3:] for line in status.splitlines() if line[3:] != "benchmark/drills.py"]
    return f"code at {head or '?'}" + (f" + uncommitted changes to {', '.join(changed)}" if changed else "")


def stragglers(wait: float = 10.0) -> list[str]:
    """Processes of the drills' groups still alive once every drill stopped its own (waiting up to
    ``wait`` seconds for them to end): pid and command line."""
    deadline = time.monotonic() + wait
    left = PROCS.leftovers()
    while left and time.monotonic() < deadline and not STOPPING.is_set():
        time.sleep(0.2)
        left = PROCS.leftovers()
    found = []
    for pid in left:
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            found.append(f"{pid}: {command}")
    return found


def _interrupted(signum: int, _frame: FrameType | None) -> None:
    STOPPING.set()
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmark.drills", description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the kill -9 drill (default 3)")
    parser.add_argument("--parallel", type=int, default=5, help="kill -9 runs at a time (default 5)")
    parser.add_argument(
        "--tries", type=int, default=50, help="SIGTERMs of the stopanywhere drill (default 50)"
    )
    parser.add_argument("--only", choices=[d.name for d in DRILLS], help="run this drill alone")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("TEST_DATABASE_URL", DEFAULT_PG_URL),
        help="a PostgreSQL server's database to create the drills' databases from",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, SQLite files)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.parallel < 1:
        parser.error("--repeat and --parallel must be at least 1")
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    kinds: list[Kind] = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    workdir = Path(tempfile.mkdtemp(prefix="offerbot-drills-"))
    pg_url, reason = None, ""
    if "postgresql" in kinds:
        reason = pg_reachable(args.pg_url) or ""
        pg_url = None if reason else args.pg_url
        if reason:
            say(f"PostgreSQL unreachable at {args.pg_url}: its drills are skipped ({reason})")
    ctx = Ctx(workdir, pg_url, args.repeat, args.parallel, args.tries)
    rows: list[Row] = []
    interrupted = False
    code_at_start = code_version()
    say(f"work directory {workdir}")
    try:
        for drill in DRILLS:
            if args.only and drill.name != args.only:
                continue
            for kind in kinds:
                if kind not in drill.stores:
                    continue
                if kind == "postgresql" and pg_url is None:
                    rows.append(Row(drill.title, kind, notes=[f"skipped: PostgreSQL unreachable ({reason})"]))
                    continue
                say(f"{drill.name} [{kind}]: start")
                begun = time.monotonic()
                try:
                    result = drill.run(ctx, kind)
                except Interrupted:
                    raise
                except Exception as exc:  # a drill that breaks is a row that says so, not the end of the run
                    traceback.print_exc(file=sys.stderr)
                    first = (str(exc).splitlines() or [""])[0][:160]
                    result = Row(drill.title, kind, missed=[f"{drill.name} [{kind}]: error {exc!r}"[:300]])
                    result.notes.append(f"**error: {type(exc).__name__}: {first}**")
                found = result if isinstance(result, list) else [result]
                rows.extend(found)
                say(f"{drill.name} [{kind}]: done in {time.monotonic() - begun:.0f} s")
    except (KeyboardInterrupt, Interrupted):
        say("interrupted: stopping the drills")
        interrupted = True
    finally:
        left = stragglers()
        PROCS.kill_all()
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(table(rows))
    print()
    missed = [m for row in rows for m in row.missed]
    print("Targets missed: " + ("none" if not missed else ""))
    for line in missed:
        print(f"- {line}")
    if left:
        print("Processes still running after their drill ended (killed now):")
        for line in left:
            print(f"- {line}")
    print()
    print(
        f"Machine: {machine()}; {code_at_start}"
        + ("" if code_version() == code_at_start else f" (at the end: {code_version()})")
        + f"; watcher interval {WATCH_INTERVAL:.0f} s (default); "
        f"total run time {time.monotonic() - _started:.0f} s"
    )
    return 130 if interrupted else 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

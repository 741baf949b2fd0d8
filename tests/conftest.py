"""Shared fixtures: real databases (SQLite always, PostgreSQL where TEST_DATABASE_URL is set),
the fake Slack Web API, signed requests and a running app."""

from __future__ import annotations

import compileall
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage import db
from storage.imports.documents import parse_document
from storage.imports.importer import import_offers

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SAMPLES = SHARED / "samples" / "offers.json"
BUNDLED_SAMPLES = ROOT / "storage" / "samples" / "offers.json"
TEAM = "T0FAKE001"
SIGNING_SECRET = "test-signing-secret"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PG_URL = os.environ.get("TEST_DATABASE_URL")
# Settings built in a test never default to the user's own data folder (the store of `offerbot up`).
os.environ.setdefault("OFFERBOT_DATA_DIR", tempfile.mkdtemp(prefix="offerbot-tests-"))


def pytest_configure(config: pytest.Config) -> None:
    """Compile the project's modules once, before the workers start: where ``PYTHONDONTWRITEBYTECODE``
    is set (this machine's image sets it) every ``offerbot`` process a test starts would compile
    them again, about 0.3 s of CPU each, and the CLI tests start a hundred-odd."""
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller compiled them
    for folder in ("bot", "storage", "benchmark", "tests"):
        compileall.compile_dir(str(ROOT / folder), quiet=2, workers=0)


def samples_text() -> str:
    """The shared sample offers (the bundled copy where shared/ is not beside the checkout)."""
    return (SAMPLES if SAMPLES.exists() else BUNDLED_SAMPLES).read_text()


FAST_ADMIN = "SET synchronous_commit = off"
"""A test database's creation and drop need not wait for the WAL's flush: the server is a test's."""
_TEMPLATED: set[str] = set()
"""PostgreSQL test databases made as copies of the migrated template (the ``engine`` fixture's)."""


def _pg_create(conn: sa.Connection, name: str, template: str = "template0") -> None:
    """``CREATE DATABASE`` by file copy: a few files copied, not the template written to the WAL
    (PostgreSQL 15's default), three times faster for a small database."""
    conn.exec_driver_sql(FAST_ADMIN)
    conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')


def _pg_database(template: Templates | None = None) -> Generator[str, None, None]:
    """A new PostgreSQL database, empty or (``template``) a copy of the migrated template."""
    assert PG_URL
    admin_url = sa.make_url(PG_URL)
    name = f"offerbot_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        _pg_create(conn, name, template.postgresql() if template is not None else "template0")
    if template is not None:
        _TEMPLATED.add(name)
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        _TEMPLATED.discard(name)
        with admin.connect() as conn:
            conn.exec_driver_sql(FAST_ADMIN)
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind: a SQLite file, and a fresh PostgreSQL database (already a
    copy of the migrated template when the test uses ``engine``, which would make it one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'offerbot.db'}"
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests need a server (.ci/run sets it)")
    if "engine" in request.fixturenames and request.node.get_closest_marker("fresh_store") is None:
        store: WorkerStore = request.getfixturevalue("worker_store")
        yield store.emptied()
        return
    yield from _pg_database()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'offerbot.db'}"


class Templates:
    """Migrated once per test run, copied for each test: a SQLite file copied, a PostgreSQL database
    made with ``CREATE DATABASE ... TEMPLATE`` (a test's store costs milliseconds, not a migration)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sqlite: Path | None = None
        self._pg: str | None = None

    def sqlite(self) -> Path:
        if self._sqlite is None:
            path = self.folder / "template.db"
            engine = db.make_engine(f"sqlite:///{path}")
            db.migrate(engine)
            engine.dispose()  # the last connection closes: the WAL is checkpointed into the file
            self._sqlite = path
        return self._sqlite

    def postgresql(self) -> str:
        if self._pg is None:
            assert PG_URL
            admin_url = sa.make_url(PG_URL)
            name = f"offerbot_template_{uuid.uuid4().hex[:12]}"
            admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                _pg_create(conn, name)
            admin.dispose()
            engine = db.make_engine(admin_url.set(database=name).render_as_string(hide_password=False))
            db.migrate(engine)
            engine.dispose()
            self._pg = name
        return self._pg

    def drop(self) -> None:
        if self._pg is not None and PG_URL:
            admin = sa.create_engine(sa.make_url(PG_URL), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self._pg}" WITH (FORCE)')
            admin.dispose()


class WorkerStore:
    """One migrated PostgreSQL database per test process, reused by every test that asks for
    ``engine`` (but those marked ``fresh_store``: a test whose ``ANALYZE`` or schema change must not
    outlive it gets a copy of its own): emptied before each (its other sessions ended, every row of every table but
    ``alembic_version`` deleted with the foreign-key triggers off, sequences restarted): about 15 ms,
    where a ``CREATE DATABASE`` and its drop cost a second on two busy cores (a ``TRUNCATE``, 130 ms)."""

    def __init__(self, templates: Templates) -> None:
        self.templates = templates
        self._made: Generator[str, None, None] | None = None
        self._url: str | None = None
        self._tables: list[str] = []
        self._sequences: list[str] = []

    def emptied(self) -> str:
        if self._url is None:
            self._made = _pg_database(self.templates)
            self._url = next(self._made)
            _TEMPLATED.add(str(sa.make_url(self._url).database))
        engine = sa.create_engine(self._url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        if not db.schema_is_current(engine):  # a test left it downgraded: a new copy of the template
            engine.dispose()
            self.drop()
            self._url, self._made, self._tables, self._sequences = None, None, [], []
            return self.emptied()
        with engine.connect() as conn:
            conn.exec_driver_sql(FAST_ADMIN)
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if not self._tables:
                self._tables = list(
                    conn.exec_driver_sql(
                        "SELECT quote_ident(tablename) FROM pg_tables"
                        " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    ).scalars()
                )
                self._sequences = list(
                    conn.exec_driver_sql(
                        "SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = 'public'"
                    ).scalars()
                )
            conn.exec_driver_sql("SET session_replication_role = replica")  # no foreign-key checks
            conn.exec_driver_sql("; ".join(f"DELETE FROM {table}" for table in self._tables))
            conn.exec_driver_sql("; ".join(f"SELECT setval('{seq}', 1, false)" for seq in self._sequences))
        engine.dispose()
        return self._url

    def drop(self) -> None:
        if self._made is not None:
            self._made.close()  # the generator's finally drops the database


@pytest.fixture(scope="session")
def worker_store(templates: Templates) -> Iterator[WorkerStore]:
    store = WorkerStore(templates)
    try:
        yield store
    finally:
        store.drop()


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    made = Templates(tmp_path_factory.mktemp("templates"))
    try:
        yield made
    finally:
        made.drop()


def _from_template(url: str, templates: Templates) -> None:
    """Make the (still empty, unopened) database of ``url`` a copy of the migrated template."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        shutil.copyfile(templates.sqlite(), str(parsed.database))
        return
    if parsed.database in _TEMPLATED:
        return  # made as a copy already (``database_url``)
    template = templates.postgresql()
    admin = sa.create_engine(sa.make_url(PG_URL or url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(FAST_ADMIN)
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        _pg_create(conn, str(parsed.database), template)
    admin.dispose()


@pytest.fixture
def engine(database_url: str, templates: Templates) -> Iterator[Engine]:
    """The store of ``database_url``, migrated (a copy of the run's migrated template)."""
    _from_template(database_url, templates)
    eng = db.make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def migrated_sqlite_url(sqlite_url: str, templates: Templates) -> str:
    """``sqlite_url``, already migrated (a copy of the template): ``open_database`` finds it current."""
    _from_template(sqlite_url, templates)
    return sqlite_url


@pytest.fixture
def factory(engine: Engine) -> db.SessionFactory:
    return db.session_factory(engine)


def load_samples(factory: db.SessionFactory, *, team: str = TEAM, text: str | None = None) -> None:
    with db.transaction(factory) as session:
        import_offers(session, team_id=team, offers=parse_document(text or samples_text()), now=NOW)


class Processes:
    """Every process a test starts, each in a process group of its own (``serve`` starts a jobs
    child): whatever the test did or asserted, the fixture's finaliser kills what still runs."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[Any]] = []

    def popen(self, args: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        proc: subprocess.Popen[Any] = subprocess.Popen(args, start_new_session=True, **kwargs)
        self.started.append(proc)
        return proc

    def end_all(self) -> None:
        for proc in self.started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # the process and its children, if any still run
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)


@pytest.fixture
def processes() -> Iterator[Processes]:
    started = Processes()
    try:
        yield started
    finally:
        started.end_all()


@pytest.fixture(autouse=True)
def _unknown_values_named_afresh() -> None:
    """Partner Center's unknown values are logged once per process: once per test here."""
    from bot.sources.partner_center import forget_named

    forget_named()


@pytest.fixture
def fake_slack() -> Iterator[Any]:
    from tests.support.fakeslack import FakeSlack

    fake = FakeSlack().start()
    yield fake
    fake.stop()


# --- signed requests -------------------------------------------------------------------------


def sign(body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


_TRIGGERS = itertools.count(1)


def trigger_id() -> str:
    """A fresh trigger id, as Slack sends with every command and click: two requests are never the
    same body, so the replay check (a signature seen twice) never mistakes one for a replay."""
    return f"1.2.{next(_TRIGGERS)}"


def slash_body(
    text: str,
    *,
    team: str = TEAM,
    response_url: str = "https://hooks.slack.com/commands/x",
    enterprise: str | None = None,
    user: str = "U0USER001",
    channel: str = "C0CHAN001",
) -> bytes:
    """A slash command as Slack posts it; ``enterprise``: from a workspace of an Enterprise Grid
    organisation where the app is installed organisation-wide."""
    grid = {"enterprise_id": enterprise, "enterprise_name": "Org"} if enterprise else {}
    return urlencode(
        {
            **grid,
            "token": "legacy",
            "team_id": team,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "marketplace",
            "user_id": user,
            "user_name": "pat",
            "command": "/offer-status",
            "text": text,
            "api_app_id": "A0APP0001",
            "is_enterprise_install": "true" if enterprise else "false",
            "response_url": response_url,
            "trigger_id": trigger_id(),
        }
    ).encode()


def action_body(value: str, action_id: str, *, response_url: str, team: str = TEAM) -> bytes:
    payload = {
        "type": "block_actions",
        "team": {"id": team, "domain": "fake"},
        "user": {"id": "U0USER001", "team_id": team},
        "api_app_id": "A0APP0001",
        "token": "legacy",
        "container": {"type": "message", "is_ephemeral": True},
        "trigger_id": trigger_id(),
        "channel": {"id": "C0CHAN001", "name": "marketplace"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b1",
                "type": "button",
                "value": value,
                "text": {"type": "plain_text", "text": "Next"},
                "action_ts": "1.2",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def view_submission(
    url: str,
    *,
    callback_id: str,
    user: str,
    metadata: str = "",
    values: dict[str, Any] | None = None,
    team: str = TEAM,
    view_id: str = "V0VIEW001",
) -> dict[str, Any]:
    """A modal submitted, as a signed ``view_submission`` Slack sends to ``url``: its answer (``{}``
    for an empty acknowledgement)."""
    payload = {
        "type": "view_submission",
        "team": {"id": team, "domain": "fake"},
        "user": {"id": user, "team_id": team},
        "api_app_id": "A0APP0001",
        "token": "legacy",
        "trigger_id": trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": metadata,
            "state": {"values": values or {}},
            "hash": "1.abc",
        },
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    status, answer = post(url + "/slack/events", body, sign(body))
    assert status == 200
    return dict(json.loads(answer)) if answer.strip() else {}


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 10) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    for k, v in headers.items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


class RunningServer:
    def __init__(self, application: Any) -> None:
        from bot.http.server import make_server

        self.application = application
        self.server = make_server(application, host="127.0.0.1", port=0, threads=4)
        self.closing = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.server.run()
        except OSError:
            if not self.closing:  # closing the socket under a running select() is expected
                raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.effective_port}"

    def close(self) -> None:
        self.closing = True
        self.server.close()
        self.thread.join(timeout=5)
        stop = getattr(self.application, "close", None)
        if callable(stop):
            stop()


# The alert fixtures (an alert posted by the watcher, the app behind a server) for every test module.
from tests.support.alerted import alert_clock, alerted, app_server, watch_client  # noqa: E402, F401

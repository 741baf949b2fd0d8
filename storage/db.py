"""Engines, sessions and migrations.

``DATABASE_URL`` picks the database: a SQLite file by default (WAL journal, a busy timeout,
foreign keys on) or ``postgresql+psycopg://...`` when several bot processes share one store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from storage.errors import ConfigError

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite writer waits for the write lock (answers give up sooner: bot.guard)."""
PG_CONNECT_TIMEOUT = 3
"""Seconds to open a PostgreSQL connection before the attempt fails."""
PG_STATEMENT_TIMEOUT_MS = 30_000
PG_LOCK_TIMEOUT_MS = 10_000
POOL_TIMEOUT = 2
"""Seconds to wait for a free pooled connection."""
MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; for SQLite with WAL, a busy timeout, foreign keys and real BEGINs.

    Every engine hides statement parameters: an error (a locked store, a refused write) names the
    statement, never what it was writing (a workspace's bot token, an owner's e-mail address)."""
    kwargs.setdefault("hide_parameters", True)
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"DATABASE_URL is not a database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        options = f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS} -c lock_timeout={PG_LOCK_TIMEOUT_MS}"
        connect_args = {"connect_timeout": PG_CONNECT_TIMEOUT, "options": options}
        kwargs.setdefault("pool_timeout", POOL_TIMEOUT)
        return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # BEGIN IMMEDIATE takes the write lock at once: used where rows are claimed.
        immediate = conn.get_execution_options().get("sqlite_begin_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def session_factory(engine: Engine) -> SessionFactory:
    maker = sessionmaker(bind=engine, class_=Session, expire_on_commit=False)
    return maker


def engine_of(factory: SessionFactory) -> Engine:
    """The engine a session factory binds to (for stores that take an engine, like slack_sdk's)."""
    bind = getattr(factory, "kw", {}).get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("this session factory is not bound to an engine")
    return bind


@contextmanager
def transaction(factory: SessionFactory) -> Iterator[Session]:
    """A write transaction that commits at the end of the block, or rolls back on any error.

    On SQLite it takes the write lock at BEGIN (BEGIN IMMEDIATE): writers queue on the busy timeout
    instead of failing when a transaction that has read must upgrade after another wrote (WAL's
    SQLITE_BUSY_SNAPSHOT), and claimers of outbox rows exclude each other. On PostgreSQL it is an
    ordinary transaction, in which claims use ``FOR UPDATE SKIP LOCKED``.
    """
    with factory() as probe:
        bind = probe.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "sqlite":
        bind = bind.execution_options(sqlite_begin_immediate=True)
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` with the Alembic migrations."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def schema_is_current(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def require_current_schema(engine: Engine) -> None:
    if not schema_is_current(engine):
        raise ConfigError(
            f"the database at {engine.url.render_as_string(hide_password=True)} is not migrated: "
            "run `offerbot migrate` first"
        )


def open_database(url: str, *, auto_migrate: bool = True) -> Engine:
    """The engine for ``url``. The embedded SQLite store upgrades its own schema; a shared
    PostgreSQL store is upgraded once by ``offerbot migrate``, so processes never race a migration."""
    engine = make_engine(url)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)  # the data folder, on first use
    if engine.dialect.name == "sqlite" and auto_migrate:
        migrate(engine)
    else:
        require_current_schema(engine)
    return engine


@dataclass(frozen=True)
class StoreProblem:
    found: str
    fix: str


def store_problem(engine: Engine) -> StoreProblem | None:
    """What keeps the store from serving (for ``offerbot doctor``): not reachable raises; not
    migrated, or PostgreSQL without ``pg_trgm``, is a problem with its fix; None: it is ready."""
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
        if engine.dialect.name == "postgresql":
            available = connection.exec_driver_sql(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"
            ).first()
            if available is None:
                return StoreProblem(
                    "the pg_trgm extension is not available", "install PostgreSQL's contrib package"
                )
    if schema_is_current(engine):
        return None
    if engine.dialect.name == "sqlite":  # an embedded store from an older version
        return StoreProblem("not migrated yet", "any offerbot command migrates the embedded store")
    return StoreProblem("not migrated", "run `offerbot migrate`")

"""Alembic environment: runs on the connection that ``storage.db.migrate`` hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import storage.connections
import storage.models  # registers the tables on the metadata
import storage.owners
import storage.publishing  # noqa: F401  (the publish requests' table)
from storage.db import make_engine

target_metadata = SQLModel.metadata
config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("run migrations through `offerbot migrate`")
        with make_engine(url).begin() as conn:
            _run_on(conn)
    else:
        _run_on(connection)


def _include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    # The substring-search structures are dialect-specific and managed by hand in 0001.
    return not (name or "").startswith(("offer_search", "search_"))


def _run_on(connection: object) -> None:
    context.configure(
        include_object=_include,
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()

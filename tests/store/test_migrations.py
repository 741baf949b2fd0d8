"""The Alembic migrations build exactly the schema the models describe, and go down again."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import storage.connections
import storage.durations
import storage.models
import storage.owners
import storage.publishing  # noqa: F401
from storage import db


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _include})
        assert compare_metadata(ctx, SQLModel.metadata) == []
    assert db.schema_is_current(engine)


def _include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (name or "").startswith(("offer_search", "search_"))


@pytest.mark.fresh_store  # the worker's shared store is never downgraded under the others
def test_downgrade_to_base_and_up_again(engine: Engine) -> None:
    db.downgrade(engine, "base")
    assert not db.schema_is_current(engine)
    db.migrate(engine)
    assert db.schema_is_current(engine)

"""The history of step durations (``step_duration``): one row each time a step seen running is seen
complete, by an import (or a push or a sync, which store through the same importer), with the offer's
type; nothing for a step first seen complete, nor for a re-import that changes nothing. SQLite and,
where TEST_DATABASE_URL is set, PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from storage import db
from storage.durations import StepDuration, step_durations
from tests.conftest import NOW, TEAM
from tests.support.alerts import doc, load
from tests.support.clock import Clock


def certified(d: dict[str, Any]) -> None:
    d["offers"][0]["status"]["steps"][2]["status"] = "complete"
    d["offers"][0]["status"]["steps"][3]["status"] = "inProgress"


def rows(factory: db.SessionFactory) -> list[tuple[str, str, int]]:
    with factory() as session:
        found = session.exec(select(StepDuration).order_by(StepDuration.id)).all()  # type: ignore[arg-type]
        return [(r.offer_type, r.step_id, r.seconds) for r in found]


def test_a_step_seen_running_then_complete_is_recorded_once_with_its_duration(
    factory: db.SessionFactory,
) -> None:
    clock = Clock(NOW)
    load(factory, doc(), clock)  # certification in progress, two steps already complete
    assert rows(factory) == [], "steps first seen complete have no known duration"
    clock.advance(hours=30)
    load(factory, doc(certified), clock)
    assert rows(factory) == [("virtual-machine", "displaycertify", 30 * 3600)]
    clock.advance(hours=1)
    load(factory, doc(certified), clock)  # the same again: nothing new
    assert len(rows(factory)) == 1
    with factory() as session:
        assert step_durations(
            session, team_id=TEAM, offer_type="virtual-machine", step_id="displaycertify"
        ) == [30 * 3600]
        assert (
            step_durations(
                session, team_id="T0OTHER01", offer_type="virtual-machine", step_id="displaycertify"
            )
            == []
        )

"""The watcher's APScheduler job: fixed id, coalescing, one instance, explicit misfire grace time.
The job itself is not waited for: it is called directly, like the scheduler would."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.app import make_client
from bot.scheduling import JOB_ID, WatchJob, background_scheduler, registry
from bot.settings import Settings
from storage import db
from tests.conftest import load_samples
from tests.fakeslack import FakeSlack


def test_the_watch_job_is_registered_as_documented(
    tmp_path: Path, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        slack_bot_token="xoxb-x",
        slack_api_url=fake_slack.url,
        offerbot_watch_interval=7,
        offerbot_remind_after="90m",
        database_url=f"sqlite:///{tmp_path}/x.db",
    )
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    factory = db.session_factory(engine)
    (entry,) = registry(settings, factory, client=make_client(settings))
    job = entry.func
    assert isinstance(job, WatchJob)
    assert job.config.remind_after.total_seconds() == 90 * 60
    scheduler = background_scheduler([entry])
    (registered,) = scheduler.get_jobs()
    assert registered.id == JOB_ID
    assert registered.coalesce is True and registered.max_instances == 1
    assert registered.misfire_grace_time == 7
    assert registered.trigger.interval.total_seconds() == 7
    assert registered.func is job
    # What the scheduler runs is one pass; errors are logged, never raised into the scheduler.
    load_samples(factory)
    report = job()
    assert report is not None and report.changes == 6
    broken = WatchJob(settings, lambda: (_ for _ in ()).throw(RuntimeError("down")), make_client(settings))  # type: ignore[arg-type,return-value]
    with caplog.at_level(logging.ERROR):
        assert broken() is None
    assert any(r.exc_info and "down" in str(r.exc_info[1]) for r in caplog.records)


def test_settings_parse_durations() -> None:
    assert Settings(offerbot_remind_after="24h").offerbot_remind_after.total_seconds() == 86400
    assert Settings(offerbot_remind_after="2d").offerbot_remind_after.total_seconds() == 172800
    assert Settings(offerbot_remind_after="3600").offerbot_remind_after.total_seconds() == 3600

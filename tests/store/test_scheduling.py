"""The watcher's APScheduler job: fixed id, coalescing, one instance, explicit misfire grace time.
The job itself is not waited for: it is called directly, like the scheduler would."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.alerting.outcomes import PassReport
from bot.jobs.scheduling import (
    JOB_ID,
    PROBE_INTERVAL,
    PROBE_JOB_ID,
    Outage,
    ProbeJob,
    WatchJob,
    background_scheduler,
    registry,
    wake,
)
from bot.settings import Settings
from bot.slack.app import make_client
from storage import db
from tests.conftest import load_samples
from tests.support.fakeslack import FakeSlack
from tests.support.tcpproxy import TcpProxy


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
    entry, probe, _digest, _forecast, _housekeeping = registry(
        settings, factory, client=make_client(settings)
    )
    job = entry.func
    assert isinstance(job, WatchJob)
    assert job.config.remind_after.total_seconds() == 90 * 60
    scheduler = background_scheduler([entry, probe])
    registered, probed = scheduler.get_jobs()
    assert (registered.id, probed.id) == (JOB_ID, PROBE_JOB_ID)
    assert probed.trigger.interval.total_seconds() == PROBE_INTERVAL == 1
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


def test_an_outage_is_logged_when_it_starts_every_five_minutes_and_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    outage = Outage("watcher", monotonic=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="bot.jobs.scheduling"):
        for _ in range(20):  # a pass every 15 s for 5 minutes
            outage.down("OperationalError: connection refused")
            now[0] += 15
        outage.down("OperationalError: connection refused")
        outage.up()
        outage.up()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "watcher: the store is unavailable (OperationalError: connection refused); trying again at each run",
        "watcher: the store is still unavailable after 300 s (OperationalError: connection refused)",
        "watcher: the store is back after 300 s",
    ]


def test_the_watch_job_survives_a_refusing_store_in_one_line_and_resumes(
    engine: Engine, database_url: str, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a SQLite file cannot refuse connections; Outage's lines are tested above")
    parsed = sa.make_url(database_url)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    url = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    through = db.make_engine(url)
    settings = Settings(slack_bot_token="xoxb-x", slack_api_url=fake_slack.url, database_url=url)
    load_samples(db.session_factory(engine))
    entry, _probe, _digest, _forecast, _housekeeping = registry(
        settings, db.session_factory(through), client=make_client(settings)
    )
    try:
        proxy.refuse()
        with caplog.at_level(logging.INFO):
            assert [entry.func() for _ in range(5)] == [None] * 5
        assert not [r for r in caplog.records if r.exc_info]  # no traceback per pass
        # only the watcher's own lines: a server thread another test left behind may log too
        down = [
            r.getMessage()
            for r in caplog.records
            if r.name.startswith("bot.jobs") and "store" in r.getMessage()
        ]
        assert len(down) == 1 and down[0].startswith("watcher: the store is unavailable (OperationalError")
        proxy.restore()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            report = entry.func()
        assert isinstance(report, PassReport) and report.changes == 6
        assert any(r.getMessage().startswith("watcher: the store is back after") for r in caplog.records)
    finally:
        proxy.close()
        through.dispose()


def test_the_probe_wakes_the_watcher_when_another_process_stores_a_change(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    settings = Settings(
        slack_bot_token="xoxb-x", slack_api_url=fake_slack.url, database_url=f"sqlite:///{tmp_path}/x.db"
    )
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    factory = db.session_factory(engine)
    _entry, probe_entry, _digest, _forecast, _housekeeping = registry(
        settings, factory, client=make_client(settings)
    )
    probe = probe_entry.func
    assert isinstance(probe, ProbeJob)
    woken: list[int] = []
    probe.on_changes = lambda: woken.append(1)
    assert probe() is False  # the first look only notes where the store is
    assert probe() is False
    load_samples(factory)  # another process imports
    assert probe() is True and woken == [1]
    assert probe() is False and woken == [1]


def test_a_wake_during_a_pass_runs_another_pass_right_after(tmp_path: Path, fake_slack: FakeSlack) -> None:
    settings = Settings(
        slack_bot_token="xoxb-x", slack_api_url=fake_slack.url, database_url=f"sqlite:///{tmp_path}/x.db"
    )
    engine = db.make_engine(settings.database_url)
    db.migrate(engine)
    factory = db.session_factory(engine)
    entry, _probe, _digest, _forecast, _housekeeping = registry(
        settings, factory, client=make_client(settings)
    )
    job = entry.func
    assert isinstance(job, WatchJob)
    scheduler = background_scheduler([entry])
    passes: list[int] = []
    original = job._one_pass

    def one_pass() -> object:
        passes.append(1)
        report = original()
        if len(passes) == 1:  # a change arrives at the end of this pass, which did not see it
            job.idle.clear()
            load_samples(factory)
            wake(scheduler, JOB_ID)  # the scheduler cannot start a second instance: the job loops
            job.idle.set()
        return report

    job._one_pass = one_pass  # type: ignore[method-assign]
    report = job()
    assert len(passes) == 2 and report is not None and report.changes == 6

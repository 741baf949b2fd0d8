"""Logs through structlog: one JSON object per line off a terminal, readable lines on one, with the
structured fields a log pipeline filters on (a delivery's key and outcome, a pass's counts)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot import logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers, root.level = handlers, level


def test_json_lines_carry_the_fields(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", fmt="json")
    log = logging.getLogger("bot.alerting.watcher")
    log.info("delivery %s: %s", 42, "sent", extra={"delivery": 42, "outcome": "sent"})
    log.debug("not at INFO")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("watcher pass failed")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 2
    first, failure = lines
    assert first["event"] == "delivery 42: sent" and (first["delivery"], first["outcome"]) == (42, "sent")
    assert (first["level"], first["logger"]) == ("info", "bot.alerting.watcher")
    assert first["timestamp"].endswith("Z")
    assert failure["level"] == "error" and failure["exception"][0]["exc_type"] == "RuntimeError"


def test_console_lines_are_readable(restore_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("WARNING", fmt="console")
    logging.getLogger("bot.jobs.scheduling").info("a routine pass")
    logging.getLogger("bot.jobs.scheduling").warning(
        "watcher: the store is unavailable", extra={"job": "watcher"}
    )
    (line,) = capsys.readouterr().err.splitlines()
    assert "warning" in line and "watcher: the store is unavailable" in line and "job=watcher" in line
    assert not line.startswith("{")


def test_a_stuck_job_is_logged_once_per_five_minutes_not_at_every_skipped_run() -> None:
    now = [0.0]
    once = logs.OncePerPeriod(
        "maximum number of running instances reached", seconds=300, monotonic=lambda: now[0]
    )

    def skipped(job: str) -> logging.LogRecord:
        text = f'Execution of job "{job} (trigger: interval[0:00:01], next run at: x)" skipped: maximum number of running instances reached (1)'
        return logging.LogRecord("apscheduler.scheduler", logging.WARNING, "", 0, text, None, None)

    let_through = []
    for second in range(601):
        now[0] = float(second)
        let_through += [second for job in ("offerbot probe", "offerbot watcher") if once.filter(skipped(job))]
    assert let_through == [0, 0, 300, 300, 600, 600]
    other = logging.LogRecord(
        "apscheduler.scheduler", logging.WARNING, "", 0, "Run time of job was missed", None, None
    )
    assert once.filter(other)


# --- no secret in any log line -------------------------------------------------------------------

SECRETS = ("xoxb-1234-5678-abcdefABCDEF", "xapp-1-A0APP-123-abcdef", "pat@contoso.example")


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_tokens_emails_and_configured_secrets_are_masked_whoever_logged_them(
    restore_logging: None, capsys: pytest.CaptureFixture[str], fmt: logs.Format
) -> None:
    logs.configure("DEBUG", fmt=fmt, secrets=["s3cr3t-signing-value", "short"])
    bearer = "eyJ0eXAiOiJKV1QiLCJhbGciOi.payload.sig"
    logging.getLogger("sqlalchemy.engine").warning("INSERT ... parameters: (%r, %r)", *SECRETS[:2])
    logging.getLogger("bot.sources.http").warning("headers: {'Authorization': 'Bearer %s'}", bearer)
    logging.getLogger("bot.alerting.watcher").info("owner", extra={"email": SECRETS[2]})
    logging.getLogger("bot").info("the signing secret s3cr3t-signing-value leaked; short stays")
    try:
        raise RuntimeError(f"could not save token {SECRETS[0]} for {SECRETS[2]}")
    except RuntimeError:
        logging.getLogger("bot.http.server").exception("install failed")
    out = capsys.readouterr().err
    for secret in (*SECRETS, bearer, "s3cr3t-signing-value"):
        assert secret not in out, secret
    assert out.count("[slack token]") >= 3 and "[e-mail]" in out and "Bearer [token]" in out
    assert "[secret] leaked; short stays" in out  # a value too short to mask safely is left alone


def test_the_redactor_leaves_ordinary_text_alone() -> None:
    text = "delivery 42 to C0CHAN001: sent in 12 ms; offer contoso-analytics-vm (xoxo-fan club)"
    assert logs.Redactor()(text) == text

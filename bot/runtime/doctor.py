"""``offerbot doctor``: every check of a setup, one line each with its fix, exit 0 only when none
failed (a source that is not configured is skipped, not failed)."""

from __future__ import annotations

from collections.abc import Callable

from bot.settings import Settings
from bot.slack.checks import check_channels, check_connection, check_token
from bot.usecases.doctor import Check, Verdict, check_connections, check_sources, check_store
from storage import db
from storage.alerts.subscriptions import subscribed_channels

MARK = {Verdict.OK: "ok  ", Verdict.FAIL: "FAIL", Verdict.SKIP: "skip"}


def run_checks(settings: Settings) -> list[Check]:
    store = check_store(settings)
    checks = [store]
    token, client = check_token(settings)
    checks.append(token)
    if settings.slack_bot_token is not None:
        checks.append(check_connection(settings))
    if client is not None and store.verdict is Verdict.OK:
        factory = db.session_factory(db.make_engine(settings.database_url))
        with factory() as session:
            channels = [channel for _team, channel in subscribed_channels(session)]
        checks.append(check_channels(client, channels))
    if store.verdict is Verdict.OK and "not created yet" not in store.found:
        checks += check_connections(settings)
    return checks + check_sources(settings)


def line(check: Check) -> str:
    text = f"{MARK[check.verdict]}  {check.name}: {check.found}"
    return text + (f"\n      fix: {check.fix}" if check.fix and check.verdict is Verdict.FAIL else "")


def doctor(settings: Settings, *, out: Callable[[str], None] = print) -> int:
    checks = run_checks(settings)
    for check in checks:
        out(line(check))
    failed = [c for c in checks if c.verdict is Verdict.FAIL]
    out(f"{len(failed)} check(s) failed" if failed else "all checks passed")
    return 1 if failed else 0

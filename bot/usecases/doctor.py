"""``offerbot doctor``'s checks that need no Slack: the store and the Partner Center sources. Each
check is a typed result (what was checked, whether it passed, what was found, what to do); the
Slack checks are in ``bot/slack/checks.py`` and ``bot/runtime/doctor.py`` runs them all."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bot.settings import Settings
from bot.sources import build_sources
from bot.sources.http import RetryPolicy
from storage import connections, db
from storage.connections import PartnerConnection
from storage.errors import OfferbotError
from storage.sealing import Sealer


class Verdict(StrEnum):
    OK = "ok"
    FAIL = "fail"
    SKIP = "skip"
    """Not configured, and not needed: it does not fail the doctor."""


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    found: str
    fix: str = ""
    """What to do when it failed."""


QUICK = RetryPolicy(attempts=2, timeout=20.0, wait_initial=0.2, wait_max=1.0, wait_jitter=0.1)
"""A doctor does not wait out a long outage: two tries, twenty seconds at most."""


def check_store(settings: Settings) -> Check:
    """Reachable, migrated, and on PostgreSQL with ``pg_trgm`` installable."""
    engine = db.make_engine(settings.database_url)
    shown = engine.url.render_as_string(hide_password=True)
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if path and path != ":memory:" and not Path(path).exists():
        return Check(
            "store", Verdict.OK, f"{shown}: not created yet (the first command creates and migrates it)"
        )
    try:
        problem = db.store_problem(engine)
    except Exception as exc:  # any driver error: the store cannot be reached
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        return Check(
            "store", Verdict.FAIL, f"{shown}: {first}", "check DATABASE_URL and that the server runs"
        )
    if problem is not None:
        return Check("store", Verdict.FAIL, f"{shown}: {problem.found}", problem.fix)
    return Check("store", Verdict.OK, f"{shown}: reachable and migrated")


def check_sources(settings: Settings) -> list[Check]:
    """Each configured source: a token, then its listing of products."""
    if not settings.sync_configured:
        fix = "set PARTNER_CENTER_PUBLISHER_ID (or CLOUD_PARTNER_PUBLISHERS) and AZURE_* to read offers"
        return [Check("partner center", Verdict.SKIP, "no source configured", fix)]
    try:
        sources = build_sources(settings, policy=QUICK)
    except OfferbotError as exc:
        return [Check("partner center", Verdict.FAIL, str(exc), "see docs/partner-center.md, Set it up")]
    checks = []
    for source in sources:
        try:
            source.prepare()
            listing = source.list_products()
        except OfferbotError as exc:
            checks.append(
                Check(source.label, Verdict.FAIL, str(exc)[:300], "fix the credentials or the role")
            )
            continue
        checks.append(
            Check(
                source.label,
                Verdict.OK,
                f"a token ({settings.azure_credential}), and {len(listing.products)} product(s) listed",
            )
        )
    return checks


def _connection_check(row: PartnerConnection, sealer: Sealer | None) -> Check:
    name = f"connection {row.team_id}/{row.name}"
    kind = f"{row.credential}, tenant {row.tenant_id}"
    if sealer is None:
        return Check(
            name, Verdict.FAIL, f"{kind}: OFFERBOT_SECRET_KEY is unset", "set the key that sealed it"
        )
    try:
        sealer.open(row.sealed)
    except OfferbotError as exc:
        return Check(
            name, Verdict.FAIL, f"{kind}: {exc}", "set OFFERBOT_SECRET_KEY to the key that sealed it"
        )
    if row.refused_at is not None:
        found = (
            f"{kind}: refused since {row.refused_at:%Y-%m-%d %H:%M} UTC: {(row.refused_reason or '')[:200]}"
        )
        return Check(
            name,
            Verdict.FAIL,
            found,
            "fix it in Entra ID, or give it a new one: `offerbot connection replace`",
        )
    read = f"read {row.read_at:%Y-%m-%d %H:%M} UTC" if row.read_at else "not read yet"
    return Check(name, Verdict.OK, f"{kind}: {read} (`offerbot connection test` asks Microsoft)")


def check_connections(settings: Settings) -> list[Check]:
    """Every workspace's stored connections, from the store alone: the key opens each secret, and
    whether Microsoft refused it at the sync's last run."""
    try:
        sealer = settings.sealer()
    except OfferbotError as exc:
        return [Check("connections", Verdict.FAIL, str(exc), "make a key with `offerbot connection new-key`")]
    factory = db.session_factory(db.make_engine(settings.database_url))
    with factory() as session:
        return [_connection_check(row, sealer) for row in connections.all_connections(session)]

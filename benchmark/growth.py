"""How fast the store grows, per 1,000 offers per month, and what pruning keeps of it.

    python -m benchmark.growth [--offers 1000] [--days 30] [--database-url URL]

A month of publishing, simulated day by day through the real importer and the real watcher (posting
to the tests' fake Slack on loopback): every offer publishes once in the month (in progress,
awaiting sign-off, back in progress, live; one in ten fails certification first and is published
again), each alert goes to a channel subscribed to ``all`` and by DM to the offer's owner, a
reminder follows a sign-off left for a day, and half of the failures get an *I'm on it* click.
The baseline, measured in the same run, is the store right after the first import of the same
offers (no history yet). Then the clock moves past ``OFFERBOT_KEEP_DAYS`` and the housekeeping
job's prune runs, to show what is left.

The figures are bytes in use (SQLite: pages in use times the page size, after ``VACUUM``;
PostgreSQL: ``pg_total_relation_size`` summed over the tables, after ``VACUUM FULL``) and rows per
table. The activity is generated: real stores differ in how often their offers change.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from benchmark.bench import fresh, machine
from bot.alerting.outcomes import WatcherConfig
from bot.alerting.watcher import run_pass
from bot.jobs.scheduling import HousekeepingJob
from bot.settings import Settings
from bot.slack.app import make_client
from storage import db
from storage.alerts.subscriptions import Target, subscribe
from storage.alerts.work import log_action
from storage.imports.documents import parse_document
from storage.imports.importer import import_offers
from storage.models import AlertThread, Offer
from tests.support.fakeslack import TEAM_ID, FakeSlack

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SAMPLE = Path(__file__).resolve().parent.parent / "storage" / "samples" / "offers.json"
TABLES = (
    "offer",
    "step",
    "message",
    "status_change",
    "delivery",
    "alert_thread",
    "alert_taker",
    "offer_action",
)
# A publish: (day offset, status, the running step's index); failures take a detour first.
PUBLISH = [(0, "running", 2), (2, "waitingForPublisherReview", 5), (3, "running", 6), (5, "succeeded", None)]
FAILING = [
    (0, "running", 2),
    (1, "failed", 2),
    (2, "running", 2),
    *[(d + 2, s, i) for d, s, i in PUBLISH[1:]],
]


def _offer(i: int, status: str, running: int | None) -> dict[str, Any]:
    template = json.loads(SAMPLE.read_text())["offers"][0]
    steps = template["status"]["steps"]
    for n, step in enumerate(steps):
        if status == "succeeded" or (running is not None and n < running):
            step["status"], step["progressPercentage"] = "complete", 100
        elif n == running:
            step["status"] = {
                "failed": "blocked",
                "waitingForPublisherReview": "waitingForPublisherReview",
            }.get(status, "inProgress")
        else:
            step["status"], step["progressPercentage"] = "notStarted", 0
    messages = []
    if status == "failed":
        messages = [{"messageHtml": "No virtual machine image was found for the plan.", "level": "error",
                     "timestamp": "2026-01-05T09:00:00Z"}]  # fmt: skip
    return {
        "publisherId": f"pub{i % 20:02}",
        "offerId": f"offer-{i:05}",
        "name": f"Offer {i:05} Analytics",
        "offerType": "virtual-machine",
        "status": {
            **template["status"],
            "status": status,
            "steps": steps,
            "messages": messages,
            "notificationEmails": f"owner{i % 20:02}@example.com",
        },
    }


def _import(factory: db.SessionFactory, offers: list[dict[str, Any]], now: datetime) -> None:
    if offers:
        with db.transaction(factory) as session:
            import_offers(
                session, team_id=TEAM_ID, offers=parse_document(json.dumps({"offers": offers})), now=now
            )


def _bytes(engine: sa.Engine) -> int:
    if engine.dialect.name == "sqlite":
        raw = sqlite3.connect(str(engine.url.database), isolation_level=None)
        try:
            raw.execute("VACUUM")
            pages, free = (
                raw.execute("PRAGMA page_count").fetchone()[0],
                raw.execute("PRAGMA freelist_count").fetchone()[0],
            )
            return int((pages - free) * raw.execute("PRAGMA page_size").fetchone()[0])
        finally:
            raw.close()
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("VACUUM FULL")
        names = [*TABLES, "offer_search", "search_gram", "subscription", "email_user", "slack_user"]
        query = sa.text(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relkind = 'r' "
            "AND c.relnamespace = 'public'::regnamespace AND c.relname = ANY(:names)"
        )
        return int(conn.execute(query, {"names": names}).scalar_one() or 0)


def _rows(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()) for t in TABLES}  # noqa: S608


def _month(factory: db.SessionFactory, client: Any, n: int, days: int) -> datetime:
    """Every offer publishes once in ``days`` days (a tenth fail first); the watcher runs each day."""
    config = WatcherConfig(channel_interval=0, remind_after=timedelta(hours=24), batch=500)
    now = START
    for day in range(days + 8):
        now = START + timedelta(days=day)
        today = []
        for i in range(n):
            start = i * days // n
            for offset, status, running in FAILING if i % 10 == 0 else PUBLISH:
                if start + offset == day:
                    today.append(_offer(i, status, running))
        _import(factory, today, now)
        day_now = now
        run_pass(
            session_factory=factory,
            client=client,
            clock=lambda: day_now,  # noqa: B023  (called within this iteration)
            sleep=lambda s: None,
            config=config,
        )
        with db.transaction(factory) as session:  # half of today's failure alerts are taken
            for thread in session.exec(select(AlertThread).where(AlertThread.status == "failed")).all():
                if thread.offer_pk % 20 == 1 and thread.destination_kind == "channel":
                    log_action(session, team_id=TEAM_ID, offer_pk=thread.offer_pk, user_id="U0TAKER01",
                               action="on_it", channel=thread.channel, now=now)  # fmt: skip
    return now


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--offers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--keep-days", type=int, default=400)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    fake = FakeSlack().start()
    for j in range(20):
        fake.users_by_email[f"owner{j:02}@example.com"] = f"U0OWNER{j:02}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/growth.db"
            engine = fresh(url)
            factory = db.session_factory(engine)
            client = make_client(Settings(slack_bot_token="xoxb-growth", slack_api_url=fake.url))
            _import(
                factory, [_offer(i, "succeeded", None) for i in range(args.offers)], START - timedelta(days=1)
            )
            run_pass(session_factory=factory, client=client, clock=lambda: START, sleep=lambda s: None)
            with db.transaction(factory) as s:
                subscribe(s, team_id=TEAM_ID, destination_kind="channel", destination="C0GROWTH1",
                          target=Target("all"), events=(), created_by="U1", now=START)  # fmt: skip
            base_bytes, base_rows = _bytes(engine), _rows(engine)
            end = _month(factory, client, args.offers, args.days)
            month_bytes, month_rows = _bytes(engine), _rows(engine)
            job = HousekeepingJob(factory, clock=lambda: end + timedelta(days=args.keep_days + 1),
                                  keep=timedelta(days=args.keep_days))  # fmt: skip
            pruned = job.prune(force=True)
            after_bytes, after_rows = _bytes(engine), _rows(engine)
            with factory() as s:
                offers = len(s.exec(select(Offer.id)).all())
            kind = engine.dialect.name
            engine.dispose()
    finally:
        fake.stop()
    per = 1000 / args.offers * 30 / args.days
    grown = (month_bytes - base_bytes) * per
    print(
        f"machine: {machine()}; store: {kind}; {offers:,} offers; {args.days} days; {len(fake.calls_to('chat.postMessage')):,} messages posted\n"
    )
    print("| table | rows at the start | rows after the month | rows after pruning |")
    print("| --- | --- | --- | --- |")
    for t in TABLES:
        print(f"| {t} | {base_rows[t]:,} | {month_rows[t]:,} | {after_rows[t]:,} |")
    print("\n| store | bytes in use | vs the start |\n| --- | --- | --- |")
    print(f"| after the first import (baseline) | {base_bytes / 1e6:.2f} MB | 1.00x |")
    print(f"| after {args.days} days | {month_bytes / 1e6:.2f} MB | {month_bytes / base_bytes:.2f}x |")
    print(
        f"| then pruned at {args.keep_days} days | {after_bytes / 1e6:.2f} MB | {after_bytes / base_bytes:.2f}x |"
    )
    print(f"\ngrowth: {grown / 1e6:.2f} MB per 1,000 offers per month; pruned {pruned.total:,} rows")
    print(
        f"steady state at OFFERBOT_KEEP_DAYS={args.keep_days}: about {(base_bytes * per + grown * args.keep_days / 30) / 1e6:.1f} MB per 1,000 offers"
    )


if __name__ == "__main__":
    main()

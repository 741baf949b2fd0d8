"""Builders for alert tests: the sample offers as documents with a changed status, loading them at a
clock's time, a channel's subscription, watcher passes, and the posts the fake Slack received."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlmodel import select

from bot.alerting.outcomes import WatcherConfig
from bot.alerting.watcher import run_pass
from storage import db
from storage.alerts.subscriptions import Target, subscribe
from storage.imports.documents import parse_document
from storage.imports.importer import import_offers
from storage.models import Offer
from tests.conftest import TEAM, samples_text
from tests.support.clock import Clock
from tests.support.fakeslack import FakeSlack

CHANNEL = "C0ALERTS1"


CREATOR = "U0CREATOR"


OPS = "U0OPS0001"  # marketplace-ops@contoso.example, the owner of contoso-analytics-vm


def doc(mutate: Callable[[dict[str, Any]], None] | None = None) -> str:
    data = json.loads(samples_text())
    if mutate:
        mutate(data)
    return json.dumps(data)


def contoso(status: str, **extra: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        d["offers"][0]["status"]["status"] = status
        if status == "failed":
            d["offers"][0]["status"]["steps"][2]["status"] = "blocked"
            d["offers"][0]["status"]["steps"][2]["messages"] = [
                {
                    "messageHtml": 'No virtual machine image was found for the plan contoso. See <a href="https://learn.example/vm">the guide</a>.',
                    "level": "error",
                    "timestamp": "2026-11-24T08:00:00Z",
                }
            ]
        for key, value in extra.items():
            d["offers"][0][key] = value

    return mutate


def load(factory: db.SessionFactory, text: str, clock: Clock) -> None:
    with db.transaction(factory) as session:
        import_offers(session, team_id=TEAM, offers=parse_document(text), now=clock())


def offer_pk(factory: db.SessionFactory, offer_id: str) -> int:
    with factory() as s:
        return s.exec(select(Offer.id).where(Offer.offer_id == offer_id)).one()  # type: ignore[return-value]


def sub_channel(
    factory: db.SessionFactory,
    target: Target,
    clock: Clock,
    channel: str = CHANNEL,
    events: tuple[str, ...] = (),
) -> None:
    with db.transaction(factory) as s:
        subscribe(
            s,
            team_id=TEAM,
            destination_kind="channel",
            destination=channel,
            target=target,
            events=events,
            created_by=CREATOR,
            now=clock(),
        )


def passes(factory: db.SessionFactory, client: Any, clock: Clock, n: int = 1, **kw: Any) -> list[Any]:
    return [
        run_pass(
            session_factory=factory,
            client=client,
            clock=clock,
            sleep=clock.sleep,
            config=kw.get("config", WatcherConfig()),
            worker=kw.get("worker"),
        )
        for _ in range(n)
    ]


def posts(fake: FakeSlack, channel: str | None = None) -> list[dict[str, Any]]:
    return [
        c.body for c in fake.calls_to("chat.postMessage") if channel is None or c.body["channel"] == channel
    ]

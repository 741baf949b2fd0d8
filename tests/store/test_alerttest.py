"""``offerbot alert test``'s two halves on a real store: queueing (the same use-case as the slash
command) and waiting for the watcher's outcome, with an injected clock (no real waiting)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.runtime.alerttest import queue, wait_for
from storage import db
from storage.errors import UsageError
from storage.models import Delivery
from tests.conftest import TEAM, load_samples


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def _set(factory: db.SessionFactory, key: int, **values: object) -> None:
    with db.transaction(factory) as s:
        row = s.get(Delivery, key)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)
        s.add(row)


def test_queue_then_wait_says_sent_refused_or_not_yet(factory: db.SessionFactory) -> None:
    load_samples(factory)
    key, line = queue(factory, channel="C0CHAN001", offer="woodgrove", team=TEAM)
    assert (
        line
        == "test alert about Woodgrove Insights & Reporting (woodgrove-insights-app) queued for C0CHAN001"
    )
    ticks = Ticks()
    waited = wait_for(factory, delivery_id=key, seconds=2, sleep=ticks.sleep, monotonic=ticks.monotonic)
    assert waited.status == 1 and "not sent yet: the watcher sends it when it runs" in waited.lines[0]
    assert sum(ticks.slept) >= 2  # it polled until the deadline, on the injected clock
    assert wait_for(factory, delivery_id=key, seconds=0).status == 0  # --wait 0: queued is enough
    _set(factory, key, state="failed", last_error="not_in_channel", attempts=1)
    refused = wait_for(factory, delivery_id=key, seconds=5)
    assert refused.status == 1
    assert refused.lines == (
        "Slack refused it (not_in_channel): invite the bot to the channel (/invite @offerbot), then run this again",
    )
    _set(factory, key, state="sent", channel="C0CHAN001", ts="1.000100")
    assert wait_for(factory, delivery_id=key, seconds=5).lines == ("sent: message 1.000100 in C0CHAN001",)


@pytest.mark.parametrize(
    ("channel", "offer", "message"),
    [
        ("#general", "", "--channel takes a channel id"),
        ("U0USER001", "", "--channel takes a channel id"),
        ("C0CHAN001", "ght", "Several offers match"),
        ("C0CHAN001", "nothing-like-it", "No offer matches"),
    ],
)
def test_a_bad_channel_or_offer_is_refused_and_nothing_is_queued(
    factory: db.SessionFactory, channel: str, offer: str, message: str
) -> None:
    load_samples(factory)
    with pytest.raises(UsageError, match=message):
        queue(factory, channel=channel, offer=offer, team=TEAM)
    with factory() as s:
        assert s.exec(select(Delivery)).all() == []

"""What ``GET /metrics`` exposes, in Prometheus text format (prometheus-client).

Counters and histograms live in one registry of this process; the outbox figures (depth, age of the
oldest pending delivery) are read from the store when Prometheus scrapes, under the same deadline as
``/healthz``, so a scrape never hangs on a store that does not answer (``offerbot_store_up`` 0).
Labels are bounded: outcomes, Slack error codes and API methods, never ids or names.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlmodel import col, select

from bot.clock import Clock
from bot.guard import Deadline, Expired, StoreUnavailable
from storage.db import SessionFactory
from storage.models import Delivery

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

COMMANDS = Counter(
    "offerbot_commands", "Slash commands answered, by outcome.", ["outcome"], registry=REGISTRY
)
COMMAND_SECONDS = Histogram(
    "offerbot_command_seconds",
    "Time from a slash command's arrival to its answer.",
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 3.0),
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "offerbot_deliveries", "Alert deliveries attempted, by outcome.", ["outcome"], registry=REGISTRY
)
PASS_SECONDS = Histogram(
    "offerbot_pass_seconds",
    "Duration of the scheduled jobs' passes.",
    ["job"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0),
    registry=REGISTRY,
)
SLACK_ERRORS = Counter(
    "offerbot_slack_api_errors", "Slack Web API calls that failed, by method and error code.",
    ["method", "code"], registry=REGISTRY,
)  # fmt: skip
SOURCE_ERRORS = Counter(
    "offerbot_source_api_errors", "Partner Center and Cloud Partner Portal calls that failed, by kind.",
    ["source", "kind"], registry=REGISTRY,
)  # fmt: skip
STORE_ERRORS = Counter(
    "offerbot_store_errors", "Store operations that failed (down, hung, refusing), by component.",
    ["component"], registry=REGISTRY,
)  # fmt: skip


@contextmanager
def timed(histogram: Histogram, **labels: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        (histogram.labels(**labels) if labels else histogram).observe(time.perf_counter() - started)


class OutboxCollector(Collector):
    """The outbox's depth and the age of its oldest pending delivery, read at scrape time."""

    def __init__(self, session_factory: SessionFactory, clock: Clock, deadline: Deadline) -> None:
        self.factory, self.clock, self.deadline = session_factory, clock, deadline

    def _read(self, _expired: Expired) -> tuple[int, datetime | None]:
        with self.factory() as session:
            query = select(sa.func.count(), sa.func.min(col(Delivery.created_at)))
            row = session.exec(query.where(Delivery.state == "pending")).one()
        return int(row[0]), row[1]

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("offerbot_store_up", "1 when the store answered this scrape in time.")
        try:
            pending, oldest = self.deadline.run(self._read)
        except (StoreUnavailable, sa.exc.SQLAlchemyError):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("offerbot_outbox_pending", "Deliveries waiting to be sent.", value=pending)
        age = (self.clock() - oldest).total_seconds() if oldest is not None else 0.0
        help_text = "Age of the oldest delivery waiting."
        yield GaugeMetricFamily("offerbot_outbox_oldest_pending_seconds", help_text, value=max(age, 0.0))


def exposition(outbox: OutboxCollector | None) -> bytes:
    """This process's metrics, and the outbox's when given."""
    text = generate_latest(REGISTRY)
    if outbox is not None:
        extra = CollectorRegistry(auto_describe=True)
        extra.register(outbox)
        text += generate_latest(extra)
    return text

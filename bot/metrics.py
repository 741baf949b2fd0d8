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
from pathlib import Path

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from bot.clock import Clock
from bot.guard import Deadline, Expired, StoreUnavailable
from storage.alerts.outbox import oldest_pending
from storage.db import SessionFactory

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
STORE_FAILURES = Counter(
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
            return oldest_pending(session)

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


class _Merged(Collector):
    """This process's families and another process's (parsed from its exposition), each sample
    labelled with the process it comes from, one family per name."""

    def __init__(self, own: str, other: tuple[str, bytes] | None) -> None:
        self.own, self.other = own, other

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        sources: list[tuple[str, Iterable[Metric]]] = [(self.own, REGISTRY.collect())]
        if self.other is not None:
            sources.append((self.other[0], text_string_to_metric_families(self.other[1].decode())))
        for process, collected in sources:
            for family in collected:
                merged = families.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type, family.unit)
                )
                for s in family.samples:
                    merged.add_sample(s.name, {**s.labels, "process": process}, s.value, s.timestamp)
        return families.values()


def exposition(
    outbox: OutboxCollector | None, *, own: str = "serve", other: tuple[str, bytes] | None = None
) -> bytes:
    """This process's metrics (label ``process``: ``own``), another process's when given (the jobs
    process under ``serve``), and the outbox's."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Merged(own, other))
    if outbox is not None:
        registry.register(outbox)
    return generate_latest(registry)


def serve_for_parent(port_file: str) -> None:
    """In the jobs process: serve this process's metrics on a loopback port, written to ``port_file``."""
    server, _thread = start_http_server(0, addr="127.0.0.1", registry=REGISTRY)
    Path(port_file).write_text(str(server.server_port))

"""When an offer will be live: what the forecast costs, and how often it is right.

    python -m benchmark.forecast_bench [--size 100000] [--runs 300] [--offers 400] [--database-url URL]

1. The card's path at ``--size`` offers: ``load_card`` + ``render_card`` of an offer in progress
   with its stored forecast, against the same offer with no forecast row, in the same run.
2. The forecast job's cost: ``refresh_forecasts`` for 10 changed offers on a store of 1,000 offers
   and on one of ``--size``, in the same run: it should follow the changes, not the offers.
3. A backtest on generated history (stated as such): ``--offers`` offers of one type publish one
   after the other with step durations drawn from log-normal distributions (a fixed seed); each is
   forecast, when it starts, from the durations of the offers finished before it (a time-ordered
   holdout), and the share of offers live by the likely date and by the late date is reported.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from benchmark.bench import NOW, fill, fresh, machine
from bot.i18n import translator
from bot.render.offers import render_card
from bot.usecases.forecast import refresh_forecasts
from storage import db
from storage.durations import OfferForecast, StepDuration, mark_due
from storage.forecast import StepNow, predict
from storage.models import Offer
from storage.reads.offers import load_card
from tests.support.fakeslack import TEAM_ID

STEPS = (("certify", 30.0, 0.6), ("provision", 20.0, 0.5), ("package", 2.0, 0.8), ("live", 10.0, 0.4))
"""(step, median hours, log-normal sigma) of the generated history."""


def _history(engine: sa.Engine, offer_type: str, count: int) -> None:
    rows = [
        dict(
            team_id=TEAM_ID,
            offer_pk=1 + i % 50,
            offer_type=offer_type,
            step_id=f"s{p}",
            position=p,
            seconds=3600 * (10 + (i * 7 + p) % 40),
            finished_at=NOW - timedelta(hours=i),
        )
        for i in range(count)
        for p in range(3, 8)
    ]
    with engine.begin() as conn:
        conn.execute(StepDuration.__table__.insert(), rows)  # type: ignore[attr-defined]


def _card_ms(factory: db.SessionFactory, pk: int, runs: int) -> list[float]:
    tr = translator("en")
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        with factory() as session:
            offer = session.get(Offer, pk)
            assert offer is not None
            render_card(load_card(session, offer=offer), tr=tr)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _p(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def bench_card(url: str, size: int, runs: int) -> list[str]:
    engine = fresh(url)
    fill(engine, size)
    _history(engine, "virtual-machine", 40)
    factory = db.session_factory(engine)
    with factory() as session:
        pk = session.exec(select(Offer.id).where(Offer.status == "in_progress").limit(1)).one()
    assert pk is not None
    with db.transaction(factory) as session:
        mark_due(session, offer_pks=[pk])  # as an import of it would
    refresh_forecasts(factory, now=NOW, limit=10)
    with factory() as session:
        stored = session.get(OfferForecast, pk)
        assert stored is not None
        assert stored.likely_at is not None, "the benchmark's offer has a forecast"
    _card_ms(factory, pk, 20)  # warm
    with_forecast = _card_ms(factory, pk, runs)
    with engine.begin() as conn:
        conn.execute(sa.delete(OfferForecast.__table__).where(OfferForecast.__table__.c.offer_pk == pk))  # type: ignore[attr-defined]
    without = _card_ms(factory, pk, runs)
    p50w, p50b = statistics.median(with_forecast), statistics.median(without)
    engine.dispose()
    return [
        f"card at {size:,} offers: with its forecast p50 {p50w:.2f} ms p99 {_p(with_forecast, 0.99):.2f} ms; "
        f"baseline without p50 {p50b:.2f} ms p99 {_p(without, 0.99):.2f} ms; ratio {p50w / p50b:.2f}"
    ]


def _job_ms(url: str, size: int) -> float:
    engine = fresh(url)
    fill(engine, size)
    _history(engine, "virtual-machine", 40)
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:  # every offer in progress gets its forecast first
        offers = [o for o in session.exec(select(Offer.id).where(Offer.status == "in_progress")).all() if o]
        mark_due(session, offer_pks=offers)
    while refresh_forecasts(factory, now=NOW, limit=5000):
        pass
    with db.transaction(factory) as session:  # then ten of them change, marked as an import marks them
        mark_due(session, offer_pks=offers[:10])
    started = time.perf_counter()
    done = refresh_forecasts(factory, now=NOW + timedelta(minutes=1))
    elapsed = (time.perf_counter() - started) * 1000
    assert done == 10, done
    engine.dispose()
    return elapsed


def bench_job(url: str, size: int) -> list[str]:
    small, large = _job_ms(url, 1000), _job_ms(url, size)
    return [
        f"forecast job, 10 changed offers: {small:.1f} ms on 1,000 offers (baseline), {large:.1f} ms on "
        f"{size:,}; ratio {large / small:.2f}"
    ]


def backtest(offers: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    finished: list[tuple[datetime, dict[str, int]]] = []
    by_likely = by_late = told = 0
    for _ in range(offers):
        start += timedelta(hours=rng.uniform(4, 30))
        durations = {s: int(3600 * m * math.exp(rng.gauss(0, sigma))) for s, m, sigma in STEPS}
        known = [d for end, d in finished if end <= start]
        history = {s: [d[s] for d in known[-200:]] for s, _, _ in STEPS}
        steps = [StepNow(s, "notStarted", None, "4 days") for s, _, _ in STEPS]
        forecast = predict(steps, history, similar=len(known), now=start, business=False)
        live = start + timedelta(seconds=sum(durations.values()))
        if forecast is not None and len(known) >= 5:
            told += 1
            by_likely += live <= forecast.likely
            by_late += live <= forecast.late
        finished.append((live, durations))
    return [
        f"backtest on generated history ({offers} offers, log-normal steps, seed {seed}; the first offers, "
        f"with fewer than 5 finished before them, are not counted): {told} forecast from history; "
        f"live by the likely date {100 * by_likely / told:.0f}% (target about 50%), by the late date "
        f"{100 * by_late / told:.0f}% (target 85% or more)"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--offers", type=int, default=400)
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'forecast.db'}"
    print(f"machine: {machine()}; store: {sa.make_url(url).get_backend_name()}")
    for line in [*bench_card(url, args.size, args.runs), *bench_job(url, args.size), *backtest(args.offers)]:
        print(line)


if __name__ == "__main__":
    main()

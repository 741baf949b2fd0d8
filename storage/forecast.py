"""When an offer in progress will likely be live: a pure rule from its remaining steps, the durations
those steps took for offers of the same type in the same workspace (``step_duration``), and
Microsoft's estimates where there is not enough history.

For each step not complete: with at least :data:`MIN_HISTORY` durations, its own history; otherwise
Microsoft's estimate, its upper bound as the late duration and :data:`ESTIMATE_MEDIAN` of it as the
likely one, in business days where the estimates count them (Azure applications, or "business
days"). A step running now counts only what is left of it (never less than nothing). The steps
with history are summed by drawing each one's duration from its history :data:`DRAWS` times (a
fixed seed): the likely date is the median of those sums, the late one their 90th percentile (the
percentiles of a sum; a sum of medians would be too early for skewed durations). A remaining step
with neither (the publisher's own sign-off, which Microsoft gives no time for) counts as no time,
and the forecast says how many it left out; with no step told at all there is no forecast.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from storage.estimates import after_estimate, parse_estimate
from storage.statuses import StepState

MIN_HISTORY = 5
"""Durations of a step needed before its own history is used rather than Microsoft's estimate."""
ESTIMATE_MEDIAN = 0.6
"""The share of an estimate's upper bound taken as its likely duration ("7-14 days": about 8)."""
RUNNING = (StepState.IN_PROGRESS.value, StepState.WAITING_FOR_APPROVAL.value)
DRAWS = 400
"""Sums drawn from the steps' histories for one forecast (about 2 ms of work)."""


class Basis(StrEnum):
    HISTORY = "history"
    ESTIMATES = "estimates"
    BOTH = "both"


@dataclass(frozen=True)
class StepNow:
    step_id: str
    status: str
    since: datetime | None
    estimate: str


@dataclass(frozen=True)
class Forecast:
    likely: datetime
    late: datetime
    basis: Basis
    similar: int
    """How many offers of the same type the history comes from (0 on estimates alone)."""
    unknown: int = 0
    """Remaining steps with neither history nor an estimate, counted as no time."""


def nearest_rank(sorted_values: Sequence[int], share: float) -> int:
    """The ``share`` percentile of ascending values, by nearest rank."""
    index = max(0, min(len(sorted_values) - 1, math.ceil(share * len(sorted_values)) - 1))
    return sorted_values[index]


def _estimated(step: StepNow, start: datetime, business: bool) -> tuple[timedelta, timedelta] | None:
    """The likely and the late duration Microsoft's estimate gives the step, counted from ``start``."""
    estimate = parse_estimate(step.estimate)
    if estimate is None:
        return None
    likely = after_estimate(estimate, since=start, share=ESTIMATE_MEDIAN, business_days=business)
    late = after_estimate(estimate, since=start, share=1.0, business_days=business)
    return likely - start, late - start


def _sums(remaining: Sequence[tuple[Sequence[int], int]]) -> list[int]:
    """:data:`DRAWS` totals of the remaining steps' durations, each drawn from its own history, with a
    fixed seed: the percentiles of a sum, not a sum of percentiles. A running step draws only from
    the durations longer than it has already run, less what it has run (none left: it has run longer
    than any: nothing is left to count)."""
    rng = random.Random(0)
    pools = [[d - elapsed for d in history if d > elapsed] for history, elapsed in remaining]
    return sorted(sum(rng.choice(pool) if pool else 0 for pool in pools) for _ in range(DRAWS))


def predict(
    steps: Sequence[StepNow],
    history: Mapping[str, Sequence[int]],
    *,
    similar: int,
    now: datetime,
    business: bool,
) -> Forecast | None:
    """The forecast of an offer whose steps are ``steps`` (in order), or None when it cannot be told."""
    drawn: list[tuple[Sequence[int], int]] = []
    likely = late = timedelta(0)
    estimated = unknown = 0
    for step in steps:
        if step.status == StepState.COMPLETE.value:
            continue
        running = step.status in RUNNING and step.since is not None
        elapsed = int((now - step.since).total_seconds()) if running and step.since is not None else 0
        elapsed = max(0, elapsed)
        known = history.get(step.step_id, ())
        if len(known) >= MIN_HISTORY:
            drawn.append((known, max(0, elapsed)))
            continue
        if running and step.since is not None:  # counted from when it began, in its own calendar
            ends = _estimated(step, step.since, business)
            base = step.since - now  # what it has run, as a negative offset from now
        else:
            ends = _estimated(step, now + late, business)
            base = timedelta(0)
        if ends is None:
            unknown += 1
            continue
        estimated += 1
        likely += max(base + ends[0], timedelta(0))
        late += max(base + ends[1], timedelta(0))
    if not drawn and not estimated:
        return None
    if drawn:
        totals = _sums(drawn)
        likely += timedelta(seconds=nearest_rank(totals, 0.5))
        late += timedelta(seconds=nearest_rank(totals, 0.9))
    basis = Basis.BOTH if drawn and estimated else (Basis.HISTORY if drawn else Basis.ESTIMATES)
    told = similar if drawn else 0
    return Forecast(
        likely=now + likely, late=now + max(late, likely), basis=basis, similar=told, unknown=unknown
    )

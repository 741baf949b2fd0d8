"""Microsoft's step estimates (``estimatedTimeFrame``), read as the longest time they allow, and when a
step that runs longer than twice that counts as stuck.

The formats are the ones the publishing pages use : ``< 15 min``, ``15 min``,
``~2-3 days``, ``7 - 14 days``, ``7–14 days``, ``< 1 day``, ``2 hours``, ``2 h``, ``< 2 h``, ``4 days``,
``< 1 hour``, ``1 week``, ``1–2 weeks``, ``2 weeks``, and the totals' wording (``up to 10 business
days``, ``7 to 14 days``, ``less than 1 day``). The upper bound counts ("7–14 days" is 14 days).
Anything else (``-``, ``manual``, a date, free text) is no estimate, and a step without one is never
stuck. Days and weeks of Azure applications are business days (a week is five of them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

STUCK_FACTOR = 2
"""A step is stuck once it has run this many times its estimate's upper bound."""

_UNITS = {
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "day": "days",
    "days": "days",
    "week": "weeks",
    "weeks": "weeks",
}
_ESTIMATE = re.compile(
    r"^\s*(?:<|~|≈|about|up to|less than|under)?\s*"
    r"(?:(\d+(?:\.\d+)?)\s*(?:[-–—]|to)\s*)?(\d+(?:\.\d+)?)\s*"
    r"(business\s+|working\s+)?([a-z]+)\.?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Estimate:
    """The longest time an estimate allows: ``amount`` of ``unit`` (minutes, hours, days, weeks)."""

    amount: float
    unit: str
    business: bool = False
    """Said so ("7-14 business days"): counted in business days whatever the offer type."""


def parse_estimate(text: str | None) -> Estimate | None:
    """The upper bound of a documented estimate; None for anything else (never stuck)."""
    if not text or len(text) > 40:
        return None
    match = _ESTIMATE.match(text)
    if match is None:
        return None
    low, high, business, unit = match[1], match[2], match[3], _UNITS.get(match[4].lower())
    if unit is None or float(high) <= 0 or (low is not None and float(low) > float(high)):
        return None
    if business and unit not in ("days", "weeks"):
        return None
    return Estimate(amount=float(high), unit=unit, business=bool(business))


def add_business_days(start: datetime, days: float) -> datetime:
    """``start`` plus ``days`` working days (Saturdays and Sundays do not count)."""
    whole, part = int(days), days - int(days)
    when = start
    while when.weekday() >= 5:  # a step started at the weekend starts counting on Monday
        when = (when + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    for _ in range(whole):
        when += timedelta(days=1)
        while when.weekday() >= 5:
            when += timedelta(days=1)
    when += timedelta(days=part)
    while when.weekday() >= 5:  # a part of a day that ends at the weekend ends on Monday
        when += timedelta(days=1)
    return when


def after_estimate(estimate: Estimate, *, since: datetime, share: float, business_days: bool) -> datetime:
    """``since`` plus ``share`` times the estimate (in business days for days and weeks of Azure
    applications, or where the estimate says so)."""
    amount = estimate.amount * share
    if estimate.unit == "minutes":
        return since + timedelta(minutes=amount)
    if estimate.unit == "hours":
        return since + timedelta(hours=amount)
    business = business_days or estimate.business
    days = amount * (5 if business else 7) if estimate.unit == "weeks" else amount
    return add_business_days(since, days) if business else since + timedelta(days=days)


def stuck_after(estimate: Estimate, *, since: datetime, business_days: bool) -> datetime:
    """When a step running since ``since`` becomes stuck: after :data:`STUCK_FACTOR` times the
    estimate (in business days for days and weeks of Azure applications)."""
    return after_estimate(estimate, since=since, share=STUCK_FACTOR, business_days=business_days)


def stuck_at(text: str | None, *, since: datetime, business_days: bool) -> datetime | None:
    """When a step with this estimate, running since ``since``, is stuck; None when never."""
    estimate = parse_estimate(text)
    return None if estimate is None else stuck_after(estimate, since=since, business_days=business_days)

"""Microsoft's step estimates as a pure table, without a store: every documented format reads as its
upper bound, anything else is no estimate, and a step is stuck at twice it (business days where
the estimate says so). ``tests/store/test_stuck.py`` drives stuck steps through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.estimates import Estimate, add_business_days, parse_estimate, stuck_after, stuck_at
from tests.conftest import NOW

# Every estimate domain.md §2 and the issue write, with the upper bound that counts.
ESTIMATES = [
    ("15 min", Estimate(15, "minutes")),
    ("< 15 min", Estimate(15, "minutes")),
    ("15 minutes", Estimate(15, "minutes")),
    ("2 h", Estimate(2, "hours")),
    ("< 2 h", Estimate(2, "hours")),
    ("1 h", Estimate(1, "hours")),
    ("< 1 h", Estimate(1, "hours")),
    ("< 1 hour", Estimate(1, "hours")),
    ("2 hours", Estimate(2, "hours")),
    ("3 days", Estimate(3, "days")),
    ("4 days", Estimate(4, "days")),
    ("< 1 day", Estimate(1, "days")),
    ("~2-3 days", Estimate(3, "days")),
    ("7 - 14 days", Estimate(14, "days")),
    ("7-14 days", Estimate(14, "days")),
    ("7–14 days", Estimate(14, "days")),
    ("1 week", Estimate(1, "weeks")),
    ("2 weeks", Estimate(2, "weeks")),
    ("1–2 weeks", Estimate(2, "weeks")),
    ("up to 10 days", Estimate(10, "days")),
    ("up to 10 business days", Estimate(10, "days", business=True)),
    ("7-14 business days", Estimate(14, "days", business=True)),
    ("7 to 14 days", Estimate(14, "days")),
    ("less than 1 day", Estimate(1, "days")),
]


NOT_ESTIMATES = [
    "",
    "-",
    "manual",
    "Manual",
    "soon",
    "2026-11-20T20:07:22Z",
    "0 days",
    "14-7 days",
    "3 fortnights",
]


@pytest.mark.parametrize(("text", "expected"), ESTIMATES)
def test_every_documented_estimate_reads_as_its_upper_bound(text: str, expected: Estimate) -> None:
    assert parse_estimate(text) == expected


@pytest.mark.parametrize("text", NOT_ESTIMATES)
def test_anything_else_is_no_estimate_and_never_stuck(text: str) -> None:
    assert parse_estimate(text) is None
    assert stuck_at(text, since=NOW, business_days=False) is None


def test_twice_the_estimate_in_calendar_or_business_days() -> None:
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert stuck_after(Estimate(3, "days"), since=monday, business_days=False) == monday + timedelta(days=6)
    assert stuck_after(Estimate(15, "minutes"), since=monday, business_days=True) == monday + timedelta(
        minutes=30
    )
    # Azure applications: 7-14 business days, twice, is 28 business days: 5 weeks and 3 days later
    assert stuck_after(Estimate(14, "days"), since=monday, business_days=True) == monday + timedelta(days=38)
    # a week of business days is five of them
    assert stuck_after(Estimate(1, "weeks"), since=monday, business_days=True) == monday + timedelta(days=14)
    friday = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert add_business_days(friday, 1) == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    # a business-day estimate of any offer counts business days; half a day from Friday 15:00 is Monday
    said = Estimate(10, "days", business=True)
    assert stuck_after(said, since=monday, business_days=False) == monday + timedelta(days=28)
    assert add_business_days(datetime(2026, 11, 27, 15, 0, tzinfo=UTC), 0.5) == datetime(
        2026, 11, 30, 3, 0, tzinfo=UTC
    )
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert add_business_days(saturday, 1) == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)

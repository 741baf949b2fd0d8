"""The alert policy as a pure table, without a store: the derived sets agree with each row, and the
consulting-service exception (domain.md §4) reads as documented. ``tests/store/test_policy.py``
drives the same rows through the outbox."""

from __future__ import annotations

import pytest

from storage.alerts.policy import (
    ALERT_EVENTS,
    CLOSING,
    EVENTS,
    POLICY,
    REMINDABLE,
    Consulting,
    Event,
    may_be_normal,
    needs_explaining,
)
from storage.statuses import OfferStatus, OfferType

EXPECTED = {  # status: (event, reminds, closes the thread, consulting)
    OfferStatus.NOT_STARTED: (None, False, True, Consulting.AS_ANY),
    OfferStatus.IN_PROGRESS: (None, False, False, Consulting.AS_ANY),
    OfferStatus.FAILED: (Event.FAILED, True, False, Consulting.ALERT_IF_EXPLAINED),
    OfferStatus.CANCELED: (None, False, False, Consulting.NORMAL),
    OfferStatus.SIGNOFF: (Event.SIGNOFF, True, False, Consulting.AS_ANY),
    OfferStatus.LIVE: (None, False, True, Consulting.AS_ANY),
    OfferStatus.DELISTED: (Event.DELISTED, False, False, Consulting.AS_ANY),
}


def test_every_status_has_its_row() -> None:
    assert set(POLICY) == set(OfferStatus) == set(EXPECTED)


@pytest.mark.parametrize("status", list(OfferStatus))
def test_each_row_and_the_sets_read_from_it(status: OfferStatus) -> None:
    event, reminds, closes, consulting = EXPECTED[status]
    rule = POLICY[status]
    assert (rule.event, rule.reminds, rule.closes_thread, rule.consulting) == EXPECTED[status]
    assert ALERT_EVENTS.get(status) == (event.value if event else None)
    assert (status.value in REMINDABLE, status.value in CLOSING) == (reminds, closes)
    consulting_type = OfferType.CONSULTING_SERVICE.value
    assert needs_explaining(consulting_type, status.value) == (consulting is Consulting.ALERT_IF_EXPLAINED)
    assert may_be_normal(consulting_type, status.value) == (consulting is not Consulting.AS_ANY)
    for other in OfferType:
        if other is not OfferType.CONSULTING_SERVICE:
            assert not needs_explaining(other.value, status.value)
            assert not may_be_normal(other.value, status.value)


def test_the_events_a_subscription_names() -> None:
    assert EVENTS == ("failed", "delisted", "signoff", "stuck")
    assert set(ALERT_EVENTS.values()) == set(EVENTS) - {"stuck"}  # stuck is a step, not a status

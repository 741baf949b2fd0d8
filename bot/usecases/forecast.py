"""Forecasts of when offers in progress will be live, made in the jobs process for the offers that
changed since their last forecast (or whose likely date has passed), stored for the card, the Home
tab and the digest to read (``storage/forecast.py`` is the rule)."""

from __future__ import annotations

import logging
from datetime import datetime

from storage import db
from storage.durations import history_of, save_forecast, stale_offers
from storage.forecast import StepNow, predict
from storage.reads.offers import load_card
from storage.statuses import OfferType

log = logging.getLogger(__name__)


BATCH = 500


def refresh_forecasts(session_factory: db.SessionFactory, *, now: datetime, limit: int = BATCH) -> int:
    """Forecast up to ``limit`` offers whose forecast is stale, in one transaction: how many."""
    with db.transaction(session_factory) as session:
        offers = stale_offers(session, now=now, limit=limit)
        for offer in offers:
            card = load_card(session, offer=offer)
            steps = [StepNow(s.step_id, s.status, s.status_since, s.estimated_time) for s in card.steps]
            history, similar = history_of(
                session,
                team_id=offer.team_id,
                offer_type=offer.offer_type,
                step_ids=[s.step_id for s in steps],
            )
            business = offer.offer_type == OfferType.AZURE_APPLICATION.value
            found = predict(steps, history, similar=similar, now=now, business=business)
            save_forecast(
                session,
                offer=offer,
                likely=found.likely if found else None,
                late=found.late if found else None,
                basis=found.basis if found else "",
                similar=found.similar if found else 0,
                unknown=found.unknown if found else 0,
                now=now,
            )
    if offers:
        log.info("forecasts: %d offer(s) forecast", len(offers))
    return len(offers)

"""Forecasts of when offers in progress will be live, made in the jobs process for the offers that
changed since their last forecast (or whose likely date has passed), stored for the card, the Home
tab and the digest to read (``storage/forecast.py`` is the rule)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from storage import db
from storage.durations import history_of, save_forecast, stale_offers
from storage.forecast import MIN_HISTORY, StepNow, predict
from storage.models import Offer
from storage.reads.offers import load_card
from storage.statuses import OfferType, StepState

log = logging.getLogger(__name__)


BATCH = 500


def refresh_forecasts(session_factory: db.SessionFactory, *, now: datetime, limit: int = BATCH) -> int:
    """Forecast the offers whose forecast is due, up to ``limit`` taken, in one transaction: how many
    were taken (``limit``: there may be more)."""
    with db.transaction(session_factory) as session:
        due = stale_offers(session, now=now, limit=limit)
        for offer in due.offers:
            _forecast(session, offer, now)
    if due.taken:
        log.info("forecasts: %d taken, %d offer(s) in progress forecast", due.taken, len(due.offers))
    return due.taken


def _forecast(session: Session, offer: Offer, now: datetime) -> None:
    card = load_card(session, offer=offer)
    steps = [StepNow(s.step_id, s.status, s.status_since, s.estimated_time) for s in card.steps]
    remaining = [s.step_id for s in steps if s.status != StepState.COMPLETE.value]
    found = history_of(session, team_id=offer.team_id, offer_type=offer.offer_type, step_ids=remaining)
    history = {step: [seconds for seconds, _ in rows] for step, rows in found.items()}
    used = {pk for rows in found.values() if len(rows) >= MIN_HISTORY for _, pk in rows}
    business = offer.offer_type == OfferType.AZURE_APPLICATION.value
    told = predict(steps, history, similar=len(used - {offer.id}), now=now, business=business)
    save_forecast(
        session,
        offer=offer,
        likely=told.likely if told else None,
        late=told.late if told else None,
        basis=told.basis if told else "",
        similar=told.similar if told else 0,
        unknown=told.unknown if told else 0,
        now=now,
    )

"""The forecast job: every :data:`FORECAST_TICK` seconds, the offers in progress that changed since
their forecast (or whose likely date passed) are forecast again (``bot/usecases/forecast.py``)."""

from __future__ import annotations

import logging

from bot.clock import Clock, utc_now
from bot.guard import STORE_ERRORS
from bot.usecases.forecast import refresh_forecasts
from storage import db

log = logging.getLogger(__name__)

FORECAST_JOB_ID = "offerbot-forecast"
FORECAST_TICK = 300.0


class ForecastJob:
    def __init__(self, session_factory: db.SessionFactory, *, clock: Clock = utc_now) -> None:
        self.session_factory, self.clock = session_factory, clock

    def __call__(self) -> int:
        try:
            return refresh_forecasts(self.session_factory, now=self.clock())
        except STORE_ERRORS as exc:
            log.warning("forecasts: the store failed (%s); the next run tries again", type(exc).__name__)
            return 0

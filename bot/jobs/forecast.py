"""The forecast job: every :data:`FORECAST_TICK` seconds, the offers in progress that changed since
their forecast (or whose likely date passed) are forecast again (``bot/usecases/forecast.py``)."""

from __future__ import annotations

import logging

from bot.clock import Clock, utc_now
from bot.guard import STORE_ERRORS
from bot.usecases.forecast import BATCH, refresh_forecasts
from storage import db

log = logging.getLogger(__name__)

FORECAST_JOB_ID = "offerbot-forecast"
FORECAST_TICK = 300.0


class ForecastJob:
    def __init__(self, session_factory: db.SessionFactory, *, clock: Clock = utc_now) -> None:
        self.session_factory, self.clock = session_factory, clock

    MAX_BATCHES = 20
    """Batches of 500 marks per run: a first run on a large store catches up over a few runs."""

    def __call__(self) -> int:
        done = 0
        try:
            for _ in range(self.MAX_BATCHES):
                found = refresh_forecasts(self.session_factory, now=self.clock())
                done += found
                if found < BATCH:
                    return done
            return done
        except STORE_ERRORS as exc:
            log.warning("forecasts: the store failed (%s); the next run tries again", type(exc).__name__)
            return 0

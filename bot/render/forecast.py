"""When an offer in progress will likely be live, as one line with its basis."""

from __future__ import annotations

from bot.i18n import Translator
from bot.render.blocks import slack_date
from storage.durations import OfferForecast
from storage.forecast import Basis


def forecast_text(forecast: OfferForecast | None, tr: Translator) -> str | None:
    """ "Expected live <date>, as late as <date> (based on 12 similar offers)"; None without one."""
    if forecast is None or forecast.likely_at is None or forecast.late_at is None:
        return None
    if forecast.late_at <= forecast.computed_at:
        return tr._(
            ":hourglass: Taking longer than the offers before it and Microsoft's estimates: no date "
            "can be told until its step moves on."
        )
    if forecast.basis == Basis.HISTORY:
        basis = tr.ngettext("based on %(n)d similar offer", "based on %(n)d similar offers", forecast.similar)
    elif forecast.basis == Basis.BOTH:
        basis = tr.ngettext(
            "based on %(n)d similar offer and Microsoft's estimates",
            "based on %(n)d similar offers and Microsoft's estimates",
            forecast.similar,
        )
    else:
        basis = tr._("based on Microsoft's estimates")
    if forecast.unknown:
        basis += tr.ngettext(
            "; not counting %(n)d step Microsoft gives no time for",
            "; not counting %(n)d steps Microsoft gives no time for",
            forecast.unknown,
        )
    return tr._(
        ":crystal_ball: Expected live: %(likely)s; at the latest: %(late)s (%(basis)s)",
        likely=slack_date(forecast.likely_at, tr),
        late=slack_date(forecast.late_at, tr),
        basis=basis,
    )

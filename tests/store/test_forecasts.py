"""Forecasts end to end on a real store: the durations that imports record for five offers of a type
become the history a sixth offer's forecast is made from, by the forecast job's use-case, stored, and
read by the card and the Home tab in both languages; the work is only for offers that changed."""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlmodel import select

from bot.i18n import translator
from bot.render.offers import render_card
from bot.usecases.forecast import refresh_forecasts
from storage import db
from storage.durations import OfferForecast
from storage.models import Offer
from storage.reads.offers import load_card
from tests.conftest import NOW
from tests.support.alerts import doc, load
from tests.support.clock import Clock


def five_vms(hours: list[int]) -> tuple[str, str]:
    """A document with five more VM offers certifying, and the same with their certification done."""

    def with_clones(done: bool) -> str:
        def mutate(d: dict[str, Any]) -> None:
            first = d["offers"][0]
            for n, _ in enumerate(hours):
                clone = copy.deepcopy(first)
                clone["offerId"] = f"vm-{n}"
                clone["name"] = f"VM {n}"
                if done:
                    clone["status"]["steps"][2]["status"] = "complete"
                d["offers"].append(clone)

        return doc(mutate)

    return with_clones(False), with_clones(True)


def card_text(factory: db.SessionFactory, offer_id: str, lang: str = "en") -> str:
    with factory() as session:
        offer = session.exec(select(Offer).where(Offer.offer_id == offer_id)).one()
        return json.dumps(
            render_card(load_card(session, offer=offer), tr=translator(lang)).blocks, ensure_ascii=False
        )


def test_history_of_similar_offers_makes_the_forecast_the_card_shows(factory: db.SessionFactory) -> None:
    clock = Clock(NOW)
    running, done = five_vms([1, 2, 3, 4, 5])
    load(factory, running, clock)
    clock.advance(hours=20)
    load(factory, done, clock)  # five certifications of 20 hours each
    forecast = refresh_forecasts(factory, now=clock())
    assert forecast >= 1
    with factory() as session:
        rows = {r.offer_pk: r for r in session.exec(select(OfferForecast)).all()}
        vm = session.exec(select(Offer).where(Offer.offer_id == "contoso-analytics-vm")).one()
    mine = rows[vm.id or 0]
    assert mine.likely_at is not None and mine.late_at is not None and mine.likely_at <= mine.late_at
    assert mine.similar == 5 and mine.basis in ("history", "both")
    english = card_text(factory, "contoso-analytics-vm")
    assert "Expected live" in english and "based on 5 similar offers" in english
    assert "not counting 1 step Microsoft gives no time for" in english, "the publisher's sign-off"
    assert "Mise en ligne probable" in card_text(factory, "contoso-analytics-vm", "fr")
    assert refresh_forecasts(factory, now=clock()) == 0, "nothing changed: nothing to forecast again"
    clock.advance(hours=1)
    load(factory, running.replace('"inProgress"', '"inProgress"'), clock)  # the VMs run again: changed
    assert refresh_forecasts(factory, now=clock()) >= 5


def test_the_digest_and_the_home_tab_say_when_offers_will_be_live(factory: db.SessionFactory) -> None:
    from bot.render.digest import render_digest
    from bot.render.home import render_home
    from bot.usecases.digest import DigestView
    from bot.usecases.home import home_of
    from storage.people import record_lookup
    from storage.reads.digest import digest_data
    from tests.conftest import TEAM

    clock = Clock(NOW)
    running, done = five_vms([1, 2, 3, 4, 5])
    load(factory, running, clock)
    clock.advance(hours=20)
    load(factory, done, clock)
    refresh_forecasts(factory, now=clock())
    with db.transaction(factory) as session:
        record_lookup(
            session, team_id=TEAM, email="marketplace-ops@contoso.example", user_id="U0OPS0001", now=clock()
        )
    with factory() as session:
        data = digest_data(session, team_id=TEAM, scope=Offer.team_id == TEAM, now=clock())  # type: ignore[arg-type]
        home = home_of(session, team_id=TEAM, user_id="U0OPS0001")
    assert [o.offer_id for o, _ in data.expected][:1] == ["contoso-analytics-vm"]
    view = DigestView(channel="C0DIGEST1", data=data)
    digest = json.dumps(render_digest(view, tr=translator("en")).blocks)
    assert "Expected live" in digest and "based on 5 similar offers" in digest
    tab = json.dumps(render_home(home, tr=translator("fr")), ensure_ascii=False)
    assert "Mise en ligne probable" in tab

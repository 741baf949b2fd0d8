"""Storage functions against real SQLite and, where TEST_DATABASE_URL is set, real PostgreSQL."""

import difflib
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from storage import db
from storage.imports.documents import parse_document
from storage.imports.importer import import_offers
from storage.models import LOCAL_TEAM, Message, Offer, StatusChange, Step, Workspace
from storage.reads.offers import (
    PG_PARTIAL,
    PG_SIMILAR,
    SQLITE_PARTIAL,
    SQLITE_SIMILAR,
    find_offers,
    list_offers,
    load_card,
    store_is_empty,
)
from storage.statuses import OfferStatus
from storage.workspaces import bind_default_workspace, default_team
from tests.conftest import NOW, TEAM, load_samples, samples_text


def doc_with(mutate) -> str:  # type: ignore[no-untyped-def]
    doc = json.loads(samples_text())
    mutate(doc)
    return json.dumps(doc)


def run_import(factory: db.SessionFactory, text: str, *, team: str = TEAM, when=NOW):  # type: ignore[no-untyped-def]
    with db.transaction(factory) as session:
        return import_offers(session, team_id=team, offers=parse_document(text), now=when)


def test_samples_import_and_reimport_records_nothing(factory: db.SessionFactory) -> None:
    first = run_import(factory, samples_text())
    assert (first.created, first.updated, first.status_changes) == (6, 0, 6)
    second = run_import(factory, samples_text(), when=NOW + timedelta(hours=1))
    assert (second.created, second.updated, second.unchanged, second.status_changes) == (0, 0, 6, 0)
    with factory() as s:
        assert len(s.exec(select(StatusChange)).all()) == 6
        vm = s.exec(select(Offer).where(Offer.offer_id == "contoso-analytics-vm")).one()
        assert vm.status == "in_progress" and vm.status_changed_at == NOW
        assert len(s.exec(select(Step).where(Step.offer_pk == vm.id)).all()) == 8
        adatum = s.exec(select(Offer).where(Offer.offer_id == "adatum-secure-registry")).one()
        assert (adatum.status, adatum.publish_status, adatum.listing) == ("delisted", "live", "delisted")


def test_status_change_writes_history_in_the_same_transaction(factory: db.SessionFactory) -> None:
    run_import(factory, samples_text())
    later = NOW + timedelta(days=1)
    failed = doc_with(lambda d: d["offers"][0]["status"].__setitem__("status", "failed"))
    summary = run_import(factory, failed, when=later)
    assert (summary.updated, summary.status_changes) == (1, 1)
    with factory() as s:
        vm = s.exec(select(Offer).where(Offer.offer_id == "contoso-analytics-vm")).one()
        change = s.exec(
            select(StatusChange).where(StatusChange.offer_pk == vm.id, StatusChange.old_status.is_not(None))
        ).one()  # type: ignore[union-attr]
        assert (change.old_status, change.new_status, change.changed_at, change.source) == (
            "in_progress",
            "failed",
            later,
            "import",
        )
        assert vm.status_changed_at == later


def test_steps_or_messages_change_alone_records_no_status_change(factory: db.SessionFactory) -> None:
    run_import(factory, samples_text())

    def mutate(d: dict) -> None:  # type: ignore[type-arg]
        d["offers"][0]["status"]["steps"][2]["progressPercentage"] = 90
        d["offers"][0]["status"]["messages"] = [
            {"messageHtml": "<b>note</b>", "level": "warning", "timestamp": "2026-11-24T00:00:00Z"}
        ]

    summary = run_import(factory, doc_with(mutate))
    assert (summary.updated, summary.status_changes) == (1, 0)
    with factory() as s:
        vm = s.exec(select(Offer).where(Offer.offer_id == "contoso-analytics-vm")).one()
        card = load_card(s, offer=vm)
        assert card.steps[2].progress == 90
        assert [m.text for m in card.messages if m.step_position is None] == ["note"]
        assert len(s.exec(select(StatusChange)).all()) == 6


def test_delisting_is_a_status_change(factory: db.SessionFactory) -> None:
    run_import(factory, samples_text())
    summary = run_import(factory, doc_with(lambda d: d["offers"][4].__setitem__("listing", "delisted")))
    assert summary.status_changes == 1
    with factory() as s:
        change = s.exec(select(StatusChange).order_by(StatusChange.id.desc())).first()  # type: ignore[union-attr]
        assert change is not None and (change.old_status, change.new_status) == ("live", "delisted")


def test_a_failing_import_writes_nothing(factory: db.SessionFactory) -> None:
    run_import(factory, samples_text())
    changed = doc_with(lambda d: d["offers"][0]["status"].__setitem__("status", "failed"))

    def crash_before_commit() -> None:
        with db.transaction(factory) as session:
            import_offers(session, team_id=TEAM, offers=parse_document(changed), now=NOW)
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        crash_before_commit()
    with factory() as s:
        assert (
            s.exec(select(Offer).where(Offer.offer_id == "contoso-analytics-vm")).one().status
            == "in_progress"
        )
        assert len(s.exec(select(StatusChange)).all()) == 6


def test_lookup_exact_partial_ambiguous_and_suggestions(factory: db.SessionFactory) -> None:
    load_samples(factory)
    with factory() as s:
        assert [o.offer_id for o in find_offers(s, team_id=TEAM, query="contoso-analytics-vm").matches] == [
            "contoso-analytics-vm"
        ]
        assert [o.offer_id for o in find_offers(s, team_id=TEAM, query="WOODGROVE").matches] == [
            "woodgrove-insights-app"
        ]
        assert [o.offer_id for o in find_offers(s, team_id=TEAM, query="flight ops").matches] == [
            "tailspin-flight-ops"
        ]
        assert [o.offer_id for o in find_offers(s, team_id=TEAM, query="100%_").matches] == []
        many = find_offers(s, team_id=TEAM, query="ti")
        assert many.too_short and not many.matches
        ambiguous = find_offers(s, team_id=TEAM, query="an")
        assert ambiguous.too_short
        several = find_offers(s, team_id=TEAM, query="ana")  # Contoso Analytics, ...
        assert "contoso-analytics-vm" in [o.offer_id for o in several.matches]
        none = find_offers(s, team_id=TEAM, query="contoso analitycs")
        assert not none.matches and [o.offer_id for o in none.suggestions][:1] == ["contoso-analytics-vm"]
        assert find_offers(s, team_id="T-OTHER", query="contoso-analytics-vm").matches == []


def test_several_matches_are_all_returned(factory: db.SessionFactory) -> None:
    load_samples(factory)
    extra = doc_with(
        lambda d: d["offers"].__setitem__(
            0, {**d["offers"][0], "offerId": "contoso-analytics-saas", "name": "Contoso Analytics SaaS"}
        )
    )
    run_import(factory, extra)
    with factory() as s:
        found = find_offers(s, team_id=TEAM, query="contoso analytics")
        assert sorted(o.offer_id for o in found.matches) == ["contoso-analytics-saas", "contoso-analytics-vm"]


def test_list_filters_and_pages(factory: db.SessionFactory) -> None:
    load_samples(factory)
    with factory() as s:
        page = list_offers(s, team_id=TEAM)
        assert page.total == 6 and [o.name for o in page.offers] == sorted(o.name for o in page.offers)
        failed = list_offers(s, team_id=TEAM, status=OfferStatus.FAILED)
        assert sorted(o.offer_id for o in failed.offers) == [
            "fabrikam-cloud-advisory",
            "woodgrove-insights-app",
        ]
        second = list_offers(s, team_id=TEAM, offset=4, limit=4)
        assert (second.total, len(second.offers)) == (6, 2)
        assert list_offers(s, team_id="T-OTHER").total == 0


def test_card_loads_steps_in_order_and_messages(factory: db.SessionFactory) -> None:
    load_samples(factory)
    with factory() as s:
        offer = find_offers(s, team_id=TEAM, query="woodgrove-insights-app").matches[0]
        card = load_card(s, offer=offer)
        assert [st.position for st in card.steps] == list(range(7))
        assert card.steps[5].status == "rejected"
        assert (
            card.messages[0].step_position == 5
            and "pullrequest/4711|pull request 4711>" in card.messages[0].text
        )


def test_local_rows_move_to_the_workspace_when_the_bot_learns_it(factory: db.SessionFactory) -> None:
    with factory() as s:
        assert default_team(s) == LOCAL_TEAM and store_is_empty(s)
    load_samples(factory, team=LOCAL_TEAM)
    with db.transaction(factory) as s:
        assert bind_default_workspace(s, team_id=TEAM, now=NOW) == 6
    with factory() as s:
        assert default_team(s) == TEAM
        assert list_offers(s, team_id=TEAM).total == 6 and list_offers(s, team_id=LOCAL_TEAM).total == 0
        assert {c.team_id for c in s.exec(select(StatusChange))} == {TEAM}
        assert s.get(Workspace, TEAM) is not None
    # A later local copy of an offer the workspace already has does not duplicate it.
    load_samples(factory, team=LOCAL_TEAM)
    with db.transaction(factory) as s:
        bind_default_workspace(s, team_id=TEAM, now=NOW)
    with factory() as s:
        assert list_offers(s, team_id=TEAM).total == 6


def test_deleting_an_offer_cascades(factory: db.SessionFactory) -> None:
    load_samples(factory)
    with db.transaction(factory) as s:
        s.execute(sa.delete(Offer).where(Offer.offer_id == "woodgrove-insights-app"))
    with factory() as s:
        assert len(s.exec(select(Message)).all()) == 3  # the other offers' messages remain
        assert find_offers(s, team_id=TEAM, query="woodgrove").matches == []


def test_sqlite_lookups_use_indexes(sqlite_url: str) -> None:
    """Each lookup starts from an index: the exact id, and the trigram matches for parts and suggestions."""
    engine = db.make_engine(sqlite_url)
    db.migrate(engine)
    load_samples(db.session_factory(engine))
    with engine.connect() as conn:

        def plan(sql: str, **params: object) -> str:
            return " | ".join(
                str(r[3]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params).all()
            )

        exact = plan("SELECT * FROM offer WHERE team_id = :t AND offer_id = :o ORDER BY id", t="T", o="x")
        assert "USING INDEX ix_offer_team_id_offer_id (team_id=? AND offer_id=?)" in exact, exact
        for sql in (SQLITE_PARTIAL, SQLITE_SIMILAR):
            text = plan(sql.replace(":q", ":q"), q='"ana"', team="T", n=10)
            assert text.startswith("SCAN offer_search VIRTUAL TABLE"), text
            assert "SEARCH offer USING INTEGER PRIMARY KEY" in text, text


@pytest.mark.fresh_store  # its ANALYZE of 5,000 rows must not stay for the tests after it
def test_postgres_lookups_use_the_trigram_indexes(engine) -> None:  # type: ignore[no-untyped-def]
    """On a store of some size the partial lookup uses the GIN indexes and "did you mean" the GiST ones
    (nearest neighbours), not a walk over the workspace's offers."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's plans are checked in test_sqlite_lookups_use_indexes")
    rows = [
        dict(
            team_id=TEAM,
            publisher_id=f"p{i % 50}",
            offer_id=f"offer-{i:05d}",
            name=f"Offer number {i:05d}",
            offer_type="saas",
            publish_status="live",
            listing="listed",
            status="live",
            notification_emails="",
            preview_links=[],
            live_links=[],
            status_changed_at=NOW,
            updated_at=NOW,
            content_hash="x",
        )
        for i in range(5000)
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(Offer), rows)
        conn.exec_driver_sql("ANALYZE offer")
    with engine.connect() as conn:

        def plan(sql: str, **params: object) -> str:
            return "\n".join(r[0] for r in conn.execute(sa.text("EXPLAIN " + sql), params).all())

        partial = plan(PG_PARTIAL, p="%offer-01234%", team=TEAM, n=10)
        # Either trigram index of each column will do (GIN or GiST both serve LIKE '%...%').
        assert "Index Scan on search_offer_name_" in partial, partial
        assert "Index Scan on search_offer_id_" in partial, partial
        similar = plan(PG_SIMILAR, q="offer-0123x", team=TEAM, n=10)
        assert "search_offer_name_gist" in similar and "search_offer_id_gist" in similar, similar
    with db.session_factory(engine)() as s:
        assert [o.offer_id for o in find_offers(s, team_id=TEAM, query="number 01234").matches] == [
            "offer-01234"
        ]
        suggested = find_offers(s, team_id=TEAM, query="offer-0123x").suggestions
        assert len(suggested) == 3, suggested  # near ties: any of the closest ids will do
        assert all(difflib.SequenceMatcher(None, "offer-0123x", o.offer_id).ratio() >= 0.8 for o in suggested)


def _expected_grams(s) -> dict[tuple[str, str], int]:  # type: ignore[no-untyped-def]
    """Per workspace and trigram, how many offers have it in their id or name (computed in Python)."""
    counts: dict[tuple[str, str], int] = {}
    for o in s.exec(select(Offer)):
        grams = set()
        for text in (o.offer_id, o.name):
            low = text.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))
            grams |= {low[i : i + 3] for i in range(len(low) - 2) if low[i : i + 3].strip(" ")}
        for g in grams:
            counts[(o.team_id, g)] = counts.get((o.team_id, g), 0) + 1
    return counts


def test_sqlite_trigram_counts_stay_exact_per_workspace(sqlite_url: str) -> None:
    """``search_gram`` follows every write to ``offer`` (ORM or not): inserts, renames, deletes, moves."""
    engine = db.make_engine(sqlite_url)
    db.migrate(engine)
    factory = db.session_factory(engine)
    load_samples(factory, team=LOCAL_TEAM)
    load_samples(factory, team="T0B")
    renamed = doc_with(lambda d: d["offers"][0].__setitem__("name", "Éclair ÉTÉ   Contoso Contoso"))
    run_import(factory, renamed, team="T0B", when=NOW + timedelta(hours=1))
    with db.transaction(factory) as s:
        s.execute(sa.delete(Offer).where(Offer.offer_id == "woodgrove-insights-app", Offer.team_id == "T0B"))
        bind_default_workspace(s, team_id=TEAM, now=NOW)
    with factory() as s:
        stored = {(t, g): d for t, g, d in s.execute(sa.text("SELECT team_id, gram, docs FROM search_gram"))}
        expected = _expected_grams(s)
    assert stored == expected
    assert {t for t, _ in stored} == {TEAM, "T0B"}
    assert stored[(TEAM, "woo")] == 1 and ("T0B", "woo") not in stored


def test_did_you_mean_depends_on_the_asking_workspace_alone(factory: db.SessionFactory) -> None:
    """Workspace B's suggestions are the same whatever workspace A holds (its names, their counts)."""
    load_samples(factory, team="T0B")
    query = "analytics zzqqxxww"
    with factory() as s:
        before = [o.offer_id for o in find_offers(s, team_id="T0B", query=query).suggestions]
    assert before[:1] == ["contoso-analytics-vm"]
    # A holds the query's odd part once and "analytics" often: counted over both workspaces, the odd
    # trigrams would be the rarest, and B's search would try only those and find nothing of B's.
    sample = json.loads(samples_text())["offers"][0]
    names = ["zzqqxxww"] + [f"Analytics {i}" for i in range(5)]
    crowd = {"offers": [{**sample, "offerId": f"crowd-{i}", "name": n} for i, n in enumerate(names)]}
    load_samples(factory, team=TEAM, text=json.dumps(crowd))
    with factory() as s:
        after = [o.offer_id for o in find_offers(s, team_id="T0B", query=query).suggestions]
        in_a = find_offers(s, team_id=TEAM, query=query)
    assert after == before
    assert in_a.suggestions and all(o.team_id == TEAM for o in in_a.suggestions)


def test_did_you_mean_when_even_the_rarest_trigrams_are_everywhere(
    factory: db.SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past RANK_AT_MOST matches, SQLite ranks only the offers sharing the two rarest trigrams, and
    tops the candidates up, unranked, when those are too few: the answer is still the close name."""
    import storage.reads.offers

    load_samples(factory)
    monkeypatch.setattr(storage.reads.offers, "RANK_AT_MOST", 1)
    with factory() as s:
        found = find_offers(s, team_id=TEAM, query="contso analytcs").suggestions
        odd = find_offers(s, team_id=TEAM, query="woodgrov insihgts zzz").suggestions
    assert [o.offer_id for o in found][:1] == ["contoso-analytics-vm"]
    assert [o.offer_id for o in odd][:1] == ["woodgrove-insights-app"]

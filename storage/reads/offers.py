"""Read queries over a session, all scoped by ``team_id``."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

import sqlalchemy as sa
from sqlmodel import Session, col, select

from storage.connections import PartnerConnection
from storage.durations import OfferForecast
from storage.models import Message, Offer, Step
from storage.publishing import PublishRequest, latest_request
from storage.statuses import OfferStatus

RAREST_TRIGRAMS = 6
"""How many of a misspelt query's rarest trigrams pick the "did you mean" candidates on SQLite."""
RANK_AT_MOST = 4000
"""Trigram matches bm25 may rank for one "did you mean" on SQLite (about 5 ms); beyond, the
candidates must share the two rarest trigrams."""
MIN_PARTIAL = 3
"""Shortest text looked up as part of an id or name (the trigram indexes need three characters)."""


# On SQLite, CROSS JOIN makes the planner start from the FTS5 trigram matches (it would otherwise walk
# the workspace's offers by name and test each one), so the cost follows the matches, not the store.
SQLITE_PARTIAL = (
    "SELECT offer.id FROM offer_search CROSS JOIN offer ON offer.id = offer_search.rowid "
    "WHERE offer_search MATCH :q AND offer.team_id = :team ORDER BY offer.name, offer.id LIMIT :n"
)
SQLITE_SIMILAR = (
    "SELECT offer.id FROM offer_search CROSS JOIN offer ON offer.id = offer_search.rowid "
    "WHERE offer_search MATCH :q AND offer.team_id = :team ORDER BY offer_search.rank LIMIT :n"
)

# Candidates in index order, for when even the rarest trigrams are everywhere (no ranking).
SQLITE_PARTIAL_ANY = (
    "SELECT offer.id FROM offer_search CROSS JOIN offer ON offer.id = offer_search.rowid "
    "WHERE offer_search MATCH :q AND offer.team_id = :team LIMIT :n"
)
# How many of the workspace's offers have each trigram (migration 0010).
SQLITE_GRAM_COUNTS = "SELECT gram, docs FROM search_gram WHERE team_id = :team AND gram IN :grams"


# On PostgreSQL the matches are gathered first (a bitmap scan of the pg_trgm GIN indexes) and sorted
# after: with ORDER BY name LIMIT n the planner would walk the name index hoping to stop early.
PG_PARTIAL = (
    "WITH m AS MATERIALIZED (SELECT id, name FROM offer WHERE team_id = :team "
    "AND (lower(name) LIKE :p ESCAPE '\\' OR lower(offer_id) LIKE :p ESCAPE '\\')) "
    "SELECT id FROM m ORDER BY name, id LIMIT :n"
)
# Nearest neighbours by trigram distance: GiST index scans (migration 0004), one per column.
PG_SIMILAR = (
    "(SELECT id FROM offer WHERE team_id = :team ORDER BY lower(name) <-> :q LIMIT :n) UNION ALL "
    "(SELECT id FROM offer WHERE team_id = :team ORDER BY lower(offer_id) <-> :q LIMIT :n)"
)


@dataclass(frozen=True)
class OfferCard:
    """An offer with its steps (in order) and messages, everything its Status tab shows."""

    offer: Offer
    steps: Sequence[Step]
    messages: Sequence[Message]
    publish: PublishRequest | None = None
    """The offer's newest *Go live* request, active or ended (None: offerbot never asked)."""
    go_live: bool = False
    """Whether its reader may be offered *Go live* (the operator turned it on); set by the caller."""
    forecast: OfferForecast | None = None
    """When it will likely be live, as the jobs process last forecast it."""
    refused: Refused | None = None
    """The stored connection that reads it is refused by Microsoft: it is not read any more."""

    @cached_property
    def step_at(self) -> dict[int, Step]:
        """The steps by position, built once per card (a renderer looks one up per message)."""
        return {step.position: step for step in self.steps}


@dataclass(frozen=True)
class Lookup:
    """The answer to "which offer is ``query``?"."""

    query: str
    matches: list[Offer] = field(default_factory=list)
    suggestions: list[Offer] = field(default_factory=list)
    too_short: bool = False


@dataclass(frozen=True)
class Refused:
    connection: str
    since: datetime


def _refused(session: Session, offer: Offer) -> Refused | None:
    if offer.connection_id is None:
        return None
    row = session.get(PartnerConnection, offer.connection_id)
    if row is None or row.refused_at is None:
        return None
    return Refused(connection=row.name, since=row.refused_at)


@dataclass(frozen=True)
class OfferPage:
    offers: list[Offer]
    total: int
    offset: int
    limit: int
    status: OfferStatus | None = None
    publisher: str | None = None
    """The filters the page was read with (``None``: every status, every publisher)."""


def load_card(session: Session, *, offer: Offer) -> OfferCard:
    steps = session.exec(select(Step).where(Step.offer_pk == offer.id).order_by(col(Step.position))).all()
    messages = session.exec(
        select(Message).where(Message.offer_pk == offer.id).order_by(col(Message.timestamp), col(Message.id))
    ).all()
    assert offer.id is not None
    publish = latest_request(session, offer_pk=offer.id)
    showing = offer.status == OfferStatus.IN_PROGRESS and offer.removed_at is None
    forecast = session.get(OfferForecast, offer.id) if showing else None
    return OfferCard(
        offer=offer,
        steps=steps,
        messages=messages,
        publish=publish,
        forecast=forecast,
        refused=_refused(session, offer),
    )


def _like_pattern(text: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", text.lower()) + "%"


def _partial_matches(session: Session, team_id: str, text: str, limit: int) -> list[Offer]:
    if session.get_bind().dialect.name == "postgresql":
        params = {"p": _like_pattern(text), "team": team_id, "n": limit}
        ids = session.execute(sa.text(PG_PARTIAL), params).scalars().all()
        return _by_ids(session, list(ids))
    phrase = '"' + text.replace('"', '""') + '"'
    params = {"q": phrase, "team": team_id, "n": limit}
    ids = session.execute(sa.text(SQLITE_PARTIAL), params).scalars().all()
    return _by_ids(session, list(ids))


def _by_ids(session: Session, ids: list[int]) -> list[Offer]:
    """Offers by primary key, in the order of ``ids``."""
    if not ids:
        return []
    rows = {o.id: o for o in session.exec(select(Offer).where(col(Offer.id).in_(ids)))}
    return [rows[i] for i in ids if i in rows]


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _trigrams(text: str) -> list[str]:
    """``text``'s distinct trigrams, lower-cased as SQLite's ``lower()`` does (ASCII only), so they
    are the keys of ``search_gram`` (migration 0010)."""
    text = text.translate(_ASCII_LOWER)
    return sorted({text[i : i + 3] for i in range(len(text) - 2) if text[i : i + 3].strip()})


def _fts_phrase(gram: str) -> str:
    return '"' + gram.replace('"', '""') + '"'


def _sqlite_similar_ids(session: Session, team_id: str, grams: list[str], pool: int) -> list[int]:
    """Candidates for "did you mean" from the FTS5 trigram index, ranked by bm25.

    Only the rarest trigrams that occur in this workspace are used (their document counts are kept
    per workspace, migration 0010): common ones ("con", "ana") would make the ranking touch most of
    the store, and another workspace's names must not decide which are tried. When even those match
    more than :data:`RANK_AT_MOST` offers, the candidates must share the two rarest (an AND, a small
    set to rank) and, only if that finds too few, any of them, unranked."""
    counts = dict(
        session.execute(
            sa.text(SQLITE_GRAM_COUNTS).bindparams(sa.bindparam("grams", expanding=True)),
            {"team": team_id, "grams": grams},
        ).all()
    )
    rarest = [g for _, g in sorted((int(counts[g]), g) for g in grams if counts.get(g))[:RAREST_TRIGRAMS]]
    if not rarest:
        return []
    any_of = " OR ".join(_fts_phrase(g) for g in rarest)

    def ranked(query: str) -> list[int]:
        params = {"q": query, "team": team_id, "n": pool}
        return list(session.execute(sa.text(SQLITE_SIMILAR), params).scalars().all())

    if sum(int(counts[g]) for g in rarest) <= RANK_AT_MOST or len(rarest) < 2:
        return ranked(any_of)
    ids = ranked(" AND ".join(_fts_phrase(g) for g in rarest[:2]))
    if len(ids) < pool:
        params = {"q": any_of, "team": team_id, "n": pool}
        more = session.execute(sa.text(SQLITE_PARTIAL_ANY), params).scalars().all()
        ids += [i for i in more if i not in set(ids)][: pool - len(ids)]
    return ids


def _similar(session: Session, team_id: str, text: str, limit: int) -> list[Offer]:
    """Offers whose id or name shares trigrams with ``text``, best first (for "did you mean")."""
    grams = _trigrams(text)
    if not grams:
        return []
    pool = limit * 10
    if session.get_bind().dialect.name == "postgresql":
        params = {"q": text.lower(), "team": team_id, "n": pool}
        ids = session.execute(sa.text(PG_SIMILAR), params).scalars().all()
        candidates = _by_ids(session, list(dict.fromkeys(ids)))
    else:
        candidates = _by_ids(session, _sqlite_similar_ids(session, team_id, grams, pool))

    def ratio(offer: Offer) -> float:
        q = text.lower()
        return max(
            difflib.SequenceMatcher(None, q, offer.name.lower()).ratio(),
            difflib.SequenceMatcher(None, q, offer.offer_id.lower()).ratio(),
        )

    ranked = sorted(candidates, key=lambda o: (-ratio(o), o.name))
    return [o for o in ranked if ratio(o) >= 0.4][:limit]


def find_offers(session: Session, *, team_id: str, query: str, limit: int = 10) -> Lookup:
    """Find an offer by exact offer id, else by case-insensitive part of its id or name.

    Both are index lookups: the exact id uses ``(team_id, offer_id)``; parts use the trigram
    indexes of migration 0001 (FTS5 on SQLite, pg_trgm on PostgreSQL). With no match, the
    closest names come back as suggestions.
    """
    text = query.strip()
    # Ordered by id: ordering by publisher would make SQLite walk the unique (team, publisher, offer)
    # index over the whole workspace instead of seeking (team, offer_id).
    exact = list(
        session.exec(
            select(Offer).where(Offer.team_id == team_id, Offer.offer_id == text).order_by(col(Offer.id))
        ).all()
    )
    if exact:
        return Lookup(query=text, matches=exact)
    if len(text) < MIN_PARTIAL:
        return Lookup(query=text, too_short=True)
    matches = _partial_matches(session, team_id, text, limit + 1)
    if matches:
        lowered = text.lower()
        # A name or id equal to the query (case aside) is the one meant, even among longer matches.
        same = [o for o in matches if lowered in (o.offer_id.lower(), o.name.lower())]
        return Lookup(query=text, matches=same if len(same) == 1 else matches)
    return Lookup(query=text, suggestions=_similar(session, team_id, text, 3))


def list_offers(
    session: Session,
    *,
    team_id: str,
    status: OfferStatus | None = None,
    publisher: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> OfferPage:
    """One page of the workspace's offers, by name, optionally of one status and one publisher."""
    where = [Offer.team_id == team_id]
    if status is not None:
        where.append(Offer.status == status.value)
    if publisher is not None:
        where.append(Offer.publisher_id == publisher)
    total = session.exec(select(sa.func.count()).select_from(Offer).where(*where)).one()
    rows = session.exec(
        select(Offer).where(*where).order_by(col(Offer.name), col(Offer.id)).offset(offset).limit(limit)
    ).all()
    return OfferPage(
        offers=list(rows), total=int(total), offset=offset, limit=limit, status=status, publisher=publisher
    )


def get_offer(session: Session, *, team_id: str, offer_pk: int) -> Offer | None:
    offer = session.get(Offer, offer_pk)
    return offer if offer is not None and offer.team_id == team_id else None


def store_is_empty(session: Session) -> bool:
    """True when no workspace has any offer (the first start of the embedded store)."""
    return session.exec(select(Offer.id).limit(1)).first() is None

"""Upsert offers from a validated import document, recording every status change."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from storage.durations import StepDuration, mark_due
from storage.estimates import stuck_at
from storage.imports.documents import MessageIn, OfferIn
from storage.models import Message, Offer, StatusChange, Step
from storage.statuses import OfferType, StepState, effective_status

_CHUNK = 500


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    unchanged: int
    status_changes: int
    stale: int = 0
    """Offers left as they were because the store holds a newer observation of them."""

    def line(self) -> str:
        text = (
            f"{self.created} offer(s) created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.status_changes} status change(s)"
        )
        return text + (f", {self.stale} kept (the store has a newer observation)" if self.stale else "")


@dataclass(frozen=True)
class Observation:
    """One offer as a source saw it at ``observed_at``: an import (now), or a sync's read of it."""

    offer: OfferIn
    observed_at: datetime
    feed_key: str | None = None
    """The offer's key in the sync source (``feed``), None for an import."""
    removed: bool = False
    """The source says the offer is deleted: it is kept and marked removed."""


def content_hash(offer: OfferIn) -> str:
    """A fingerprint of everything stored for an offer, so unchanged offers cost one comparison."""
    data = json.dumps(asdict(offer), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


def _existing(session: Session, team_id: str, offers: Sequence[Observation]) -> dict[tuple[str, str], Offer]:
    found: dict[tuple[str, str], Offer] = {}
    keys = [(o.offer.publisher_id, o.offer.offer_id) for o in offers]
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        # FOR UPDATE on PostgreSQL: an import committing meanwhile cannot be overwritten by an older
        # observation (SQLite's BEGIN IMMEDIATE already serializes writers).
        rows = session.exec(
            select(Offer)
            .where(
                Offer.team_id == team_id,
                Offer.offer_id.in_({k[1] for k in chunk}),  # type: ignore[attr-defined]
            )
            .with_for_update()
        ).all()
        for row in rows:
            found[(row.publisher_id, row.offer_id)] = row
    return found


RUNNING_STEPS = (StepState.IN_PROGRESS.value, StepState.WAITING_FOR_APPROVAL.value)
"""Step states that can become stuck: Microsoft is working on it."""

Previous = dict[
    tuple[int, int], tuple[str, str, datetime | None, datetime | None, datetime | None, int | None]
]
"""(offer key, position) -> the stored step's id, status, ``status_since``, ``stuck_at``,
``stuck_since`` and ``took_seconds``."""


def _previous_steps(session: Session, offer_pks: list[int]) -> Previous:
    t = Step.__table__.c  # type: ignore[attr-defined]
    columns = (
        t.offer_pk,
        t.position,
        t.step_id,
        t.status,
        t.status_since,
        t.stuck_at,
        t.stuck_since,
        t.took_seconds,
    )
    stmt = sa.select(*columns).where(t.offer_pk.in_(offer_pks))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()  # the watcher clears stuck_at meanwhile: never put it back
    rows = session.execute(stmt).all()
    return {(r[0], r[1]): (r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows}


@dataclass(frozen=True)
class StepTimes:
    since: datetime
    stuck_at: datetime | None
    stuck_since: datetime | None
    took_seconds: int | None
    finished: bool = False
    """This round saw it complete after seeing it run: ``took_seconds`` is new history."""


def _step_times(
    key: tuple[int, int],
    step_id: str,
    status: str,
    estimate: str,
    *,
    previous: Previous,
    now: datetime,
    business: bool,
) -> StepTimes:
    """When the step entered its status, when it will be stuck, since when it is, and how long it
    ran: kept from the stored step while it stays in the same status (so a stuck step alerts once
    per publish attempt), else from now; a step seen running and now complete took the time between."""
    before = previous.get(key)
    same_step = before is not None and before[0] == step_id
    if before is not None and same_step and before[1] == status and before[2] is not None:
        return StepTimes(before[2], before[3], before[4], before[5])
    running = status in RUNNING_STEPS
    took = None
    if before is not None and same_step and before[1] in RUNNING_STEPS and before[2] is not None:
        took = int((now - before[2]).total_seconds()) if status == StepState.COMPLETE.value else None
    stuck = stuck_at(estimate, since=now, business_days=business) if running else None
    return StepTimes(now, stuck, None, took, finished=took is not None)


def _message_row(offer_pk: int, position: int | None, m: MessageIn) -> dict[str, Any]:
    return {
        "offer_pk": offer_pk,
        "step_position": position,
        "level": m.level.value,
        "text": m.text,
        "timestamp": m.timestamp,
    }


def _children(
    offer_pk: int, data: OfferIn, *, now: datetime, previous: Previous, durations: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The offer's step rows and message rows, as values for one multi-row insert each; the steps
    that this round saw finish are added to ``durations``."""
    messages = [_message_row(offer_pk, None, m) for m in data.messages]
    steps: list[dict[str, Any]] = []
    business = data.offer_type == OfferType.AZURE_APPLICATION.value
    for step in data.steps:
        times = _step_times(
            (offer_pk, step.position),
            step.step_id,
            step.state.value,
            step.estimated_time,
            previous=previous,
            now=now,
            business=business,
        )
        steps.append(
            {
                "offer_pk": offer_pk,
                "position": step.position,
                "step_id": step.step_id,
                "name": step.name,
                "description": step.description,
                "status": step.state.value,
                "estimated_time": step.estimated_time,
                "progress": step.progress,
                "status_since": times.since,
                "stuck_at": times.stuck_at,
                "stuck_since": times.stuck_since,
                "took_seconds": times.took_seconds,
            }
        )
        messages.extend(_message_row(offer_pk, step.position, m) for m in step.messages)
        if times.finished and times.took_seconds is not None:
            durations.append(
                {
                    "offer_pk": offer_pk,
                    "offer_type": data.offer_type,
                    "step_id": step.step_id,
                    "position": step.position,
                    "seconds": max(0, times.took_seconds),
                    "finished_at": now,
                }
            )
    return steps, messages


def _apply(row: Offer, data: OfferIn, digest: str, now: datetime) -> None:
    row.name = data.name
    row.offer_type = data.offer_type
    row.publish_status = data.publish_status.value
    row.listing = data.listing.value
    row.notification_emails = ", ".join(data.notification_emails)
    row.preview_links = list(data.preview_links)
    row.live_links = list(data.live_links)
    row.details_unread = data.details_unread
    row.content_hash = digest
    row.updated_at = now


def synced_among(session: Session, *, team_id: str, offers: Sequence[OfferIn]) -> list[tuple[OfferIn, str]]:
    """The offers of a document that a sync source follows, each with that source's name."""
    wanted = {(o.publisher_id, o.offer_id): o for o in offers}
    found: list[tuple[OfferIn, str]] = []
    ids = sorted({o.offer_id for o in offers})
    for start in range(0, len(ids), _CHUNK):
        rows = session.exec(
            select(Offer.publisher_id, Offer.offer_id, Offer.feed).where(
                Offer.team_id == team_id,
                Offer.offer_id.in_(ids[start : start + _CHUNK]),  # type: ignore[attr-defined]
                Offer.feed.is_not(None),  # type: ignore[union-attr]
            )
        ).all()
        found += [(wanted[(p, o)], str(feed)) for p, o, feed in rows if (p, o) in wanted]
    return found


def import_offers(
    session: Session, *, team_id: str, offers: Sequence[OfferIn], now: datetime, source: str = "import"
) -> ImportSummary:
    """Upsert ``offers`` for ``team_id`` in the caller's transaction, as observed ``now``.

    A new offer, or a change of an offer's status, writes a :class:`StatusChange` row; a change of
    steps, messages or metadata alone only updates them. The same document twice changes nothing.
    """
    observations = [Observation(offer=o, observed_at=now) for o in offers]
    return record_observations(session, team_id=team_id, observations=observations, now=now, source=source)


def _note_observation(
    row: Offer, seen: Observation, feed: str | None, now: datetime, source: str, connection_id: int | None
) -> None:
    row.observed_at = seen.observed_at
    row.state_source = source
    row.removed_at = (row.removed_at or now) if seen.removed else None
    if feed is not None:
        row.feed, row.feed_key, row.missing_passes = feed, seen.feed_key, 0
        row.connection_id = connection_id


def _new_offer(
    team_id: str,
    seen: Observation,
    digest: str,
    feed: str | None,
    now: datetime,
    source: str,
    connection_id: int | None = None,
) -> dict[str, Any]:
    """The values of a new offer's row (one multi-row insert for all of a batch's new offers)."""
    data = seen.offer
    return {
        "team_id": team_id,
        "publisher_id": data.publisher_id,
        "offer_id": data.offer_id,
        "name": data.name,
        "offer_type": data.offer_type,
        "publish_status": data.publish_status.value,
        "listing": data.listing.value,
        "status": effective_status(data.publish_status, data.listing).value,
        "notification_emails": ", ".join(data.notification_emails),
        "preview_links": list(data.preview_links),
        "live_links": list(data.live_links),
        "status_changed_at": now,
        "updated_at": now,
        "content_hash": digest,
        "feed": feed,
        "feed_key": seen.feed_key if feed is not None else None,
        "connection_id": connection_id if feed is not None else None,
        "observed_at": seen.observed_at,
        "missing_passes": 0,
        "removed_at": now if seen.removed else None,
        "details_unread": data.details_unread,
        "state_source": source,
    }


def _insert_new(
    session: Session,
    team_id: str,
    new: list[tuple[Observation, str]],
    feed: str | None,
    now: datetime,
    source: str,
    connection_id: int | None,
) -> list[tuple[int, OfferIn, str]]:
    """Insert the new offers in one statement; their keys, data and status, in order."""
    if not new:
        return []
    t = Offer.__table__  # type: ignore[attr-defined]
    rows = [_new_offer(team_id, seen, digest, feed, now, source, connection_id) for seen, digest in new]
    stmt = sa.insert(t).returning(t.c.id, sort_by_parameter_order=True)
    keys = [row[0] for row in session.execute(stmt, rows)]
    return [(key, seen.offer, row["status"]) for key, (seen, _), row in zip(keys, new, rows, strict=True)]


def _dedupe(observations: Sequence[Observation]) -> list[Observation]:
    """One offer seen twice (a source listing it twice): the newest observation counts."""
    newest: dict[tuple[str, str], Observation] = {}
    for seen in observations:
        key = (seen.offer.publisher_id, seen.offer.offer_id)
        if key not in newest or newest[key].observed_at <= seen.observed_at:
            newest[key] = seen
    return list(newest.values())


def _status_change(
    team_id: str, offer_pk: int, old: str | None, new: str, now: datetime, source: str
) -> dict[str, Any]:
    return {
        "team_id": team_id,
        "offer_pk": offer_pk,
        "old_status": old,
        "new_status": new,
        "changed_at": now,
        "source": source,
        "handled_at": None,
    }


def _write_children(
    session: Session,
    rows: list[tuple[int, OfferIn]],
    *,
    replaced: list[int],
    now: datetime,
    team_id: str,
) -> None:
    """Replace the steps and messages of ``replaced`` offers and write those of every offer in
    ``rows``, each kind in one multi-row insert (no ORM object per row: a 5 MB push stays cheap),
    and the durations of the steps this round saw finish."""
    previous: Previous = {}
    for start in range(0, len(replaced), _CHUNK):
        chunk = replaced[start : start + _CHUNK]
        previous.update(_previous_steps(session, chunk))
        session.execute(sa.delete(Message).where(Message.offer_pk.in_(chunk)))  # type: ignore[attr-defined]
        session.execute(sa.delete(Step).where(Step.offer_pk.in_(chunk)))  # type: ignore[attr-defined]
    steps: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    durations: list[dict[str, Any]] = []
    for offer_pk, data in rows:
        offer_steps, offer_messages = _children(
            offer_pk, data, now=now, previous=previous, durations=durations
        )
        steps += offer_steps
        messages += offer_messages
    if steps:
        session.execute(sa.insert(Step.__table__), steps)  # type: ignore[attr-defined]
    if messages:
        session.execute(sa.insert(Message.__table__), messages)  # type: ignore[attr-defined]
    mark_due(session, offer_pks=[pk for pk, _ in rows])  # their forecasts are made again
    if durations:
        rows_out = [{**d, "team_id": team_id} for d in durations]
        session.execute(sa.insert(StepDuration.__table__), rows_out)  # type: ignore[attr-defined]


def record_observations(
    session: Session,
    *,
    team_id: str,
    observations: Sequence[Observation],
    now: datetime,
    source: str,
    feed: str | None = None,
    connection_id: int | None = None,
) -> ImportSummary:
    """Upsert observed offers in the caller's transaction; ``source`` names the writer in the history
    (``import``, ``partner-center``, ...), ``feed`` the sync source that lists them (None: an import)
    and ``connection_id`` the stored connection that reads them (None: the environment's).

    The newest observation wins: an offer stored from a later observation than ``observed_at`` is
    left as it is (``stale``), so a sync and a hand import of the same offer never undo each other,
    and the history keeps the changes of both, each with its source.
    """
    observations = _dedupe(observations)
    existing = _existing(session, team_id, observations)
    new: list[tuple[Observation, str]] = []
    changed: list[tuple[Offer, OfferIn]] = []
    changes: list[dict[str, Any]] = []
    unchanged = stale = 0
    for seen in observations:
        data = seen.offer
        digest = content_hash(data)
        row = existing.get((data.publisher_id, data.offer_id))
        if row is None:
            new.append((seen, digest))
            continue
        if row.observed_at is not None and seen.observed_at < row.observed_at:
            stale += 1
            continue
        _note_observation(row, seen, feed, now, source, connection_id)
        if row.content_hash == digest:
            unchanged += 1
            continue
        status = effective_status(data.publish_status, data.listing).value
        if row.status != status:
            changes.append(_status_change(team_id, row.id, row.status, status, now, source))  # type: ignore[arg-type]
            row.status = status
            row.status_changed_at = now
        _apply(row, data, digest, now)
        changed.append((row, data))
    session.flush()
    created = _insert_new(session, team_id, new, feed, now, source, connection_id)
    changes += [_status_change(team_id, pk, None, status, now, source) for pk, _, status in created]
    replaced = [row.id for row, _ in changed]
    written = [(pk, data) for pk, data, _ in created] + [(row.id, data) for row, data in changed]
    _write_children(session, written, replaced=replaced, now=now, team_id=team_id)  # type: ignore[arg-type]
    if changes:
        session.execute(sa.insert(StatusChange.__table__), changes)  # type: ignore[attr-defined]
    return ImportSummary(
        created=len(created),
        updated=len(changed),
        unchanged=unchanged,
        status_changes=len(changes),
        stale=stale,
    )

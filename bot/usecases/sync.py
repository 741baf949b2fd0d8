"""One sync pass: read offers and their publishing status from every configured source and store them
through the import's path (history, status changes, alerts downstream), as a typed use-case.

A *full* pass lists every product of a source (following its paging) and reads each one; offers that
a listing no longer has are counted missing and, after three full listings in a row, marked removed.
A *due* pass lists nothing and reads only the offers in progress that were last read five minutes
ago or more. Unless ``force`` (``offerbot sync --once``), a product read less than a minute ago is not
read again (Microsoft asks clients not to poll more than once a minute)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.clock import Clock
from bot.sources.base import (
    Listing,
    OfferSource,
    ProductError,
    ProductRef,
    SourceAuthError,
    SourceUnavailable,
)
from bot.sources.http import Transient
from storage import db
from storage.imports.feed import due_in_status, mark_missing, observed_since
from storage.imports.importer import Observation, record_observations
from storage.statuses import OfferStatus
from storage.workspaces import default_team

log = logging.getLogger(__name__)


MIN_ASK_INTERVAL = timedelta(minutes=1)
"""A scheduled pass never asks a product again sooner than this."""
IN_PROGRESS_INTERVAL = timedelta(minutes=5)
"""Offers in progress are asked again this often, between full passes."""


@dataclass
class SourceReport:
    source: str
    full: bool
    seen: int = 0
    asked: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: int = 0
    details_unread: int = 0
    """Offers stored from their submissions whose details (validations) could not be read."""
    stale: int = 0
    removed: int = 0
    status_changes: int = 0
    requests: int = 0
    error: str | None = None
    """Why the source could not be synced this time (credentials, the source down); None when it was."""
    auth_failed: bool = False
    """The error is the credentials' or permissions': a person must act, retrying soon will not help."""
    store_failed: bool = False
    """The error is the store's (down, hung, refusing): the job logs it once per outage."""
    failures: list[str] = field(default_factory=list)
    stopped: str | None = None
    """Why the listing ended before its last page: what it had is read, nobody is counted missing."""

    def fields(self) -> dict[str, object]:
        """The counts, as structured log fields."""
        names = ("source", "full", "seen", "asked", "new", "changed", "unchanged", "failed", "stale")
        counts: dict[str, object] = {name: getattr(self, name) for name in names}
        counts.update(removed=self.removed, status_changes=self.status_changes, requests=self.requests)
        counts.update(details_unread=self.details_unread, listing_stopped=self.stopped is not None)
        return counts

    def line(self) -> str:
        if self.error:
            return f"{self.source}: not synced: {self.error}"
        text = (
            f"{self.source}: {self.seen} offer(s) seen, {self.new} new, {self.changed} changed, "
            f"{self.unchanged} unchanged, {self.failed} failed to read; "
            f"{self.status_changes} status change(s)"
        )
        if self.details_unread:
            text += f", {self.details_unread} without Microsoft's details (status from submissions)"
        if self.removed:
            text += f", {self.removed} marked removed"
        if self.stale:
            text += f", {self.stale} kept (a newer import)"
        if self.stopped:
            text += f"; listing incomplete, nobody counted missing ({self.stopped})"
        return text + f"; {self.requests} request(s)"


@dataclass
class SyncReport:
    sources: list[SourceReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.error is None for r in self.sources)

    @property
    def status_changes(self) -> int:
        return sum(r.status_changes for r in self.sources)

    def line(self) -> str:
        return " | ".join(r.line() for r in self.sources) if self.sources else "no source configured"


@dataclass(frozen=True)
class SyncConfig:
    concurrency: int = 8
    min_ask_interval: timedelta = MIN_ASK_INTERVAL
    in_progress_interval: timedelta = IN_PROGRESS_INTERVAL
    write_batch: int = 200
    """Observations stored per transaction."""
    write_every: float = 1.0
    """Seconds an observation read may wait for its batch: a batch is stored when it is full or when
    its first observation is this old, so a change read early in a long pass alerts without waiting
    for the pass's end."""
    monotonic: Callable[[], float] = time.monotonic
    team_id: str | None = None
    """The workspace the offers go to (``sync --team``); None: the store's default workspace."""
    connection_id: int | None = None
    """The stored connection being read (None: the environment's)."""

    def team(self, session: Session) -> str:
        return self.team_id or default_team(session)


class _Reader:
    """Reads products concurrently (``concurrency`` in flight), collecting observations and failures.
    A refused credential stops the remaining reads of the source."""

    def __init__(self, source: OfferSource, clock: Clock, report: SourceReport) -> None:
        self.source, self.clock, self.report = source, clock, report
        self.stop = threading.Event()
        self.auth_error: SourceAuthError | None = None
        self.lock = threading.Lock()

    def __call__(self, ref: ProductRef) -> Observation | None:
        if self.stop.is_set():
            return None
        try:
            return self.source.read(ref, observed_at=self.clock())
        except SourceAuthError as exc:
            with self.lock:
                self.auth_error = self.auth_error or exc
            self.stop.set()
        except (ProductError, Transient, SourceUnavailable) as exc:
            self._failed(ref, str(exc))
        except Exception as exc:  # a bug, or a fault nobody foresaw: this product only
            log.exception("%s: reading product %s failed unexpectedly", self.source.label, ref.key)
            self._failed(ref, exc.__class__.__name__)
        return None

    def _failed(self, ref: ProductRef, why: str) -> None:
        reason = f"{self.source.label}: product {ref.key} ({ref.offer_id}) skipped: {why}"
        log.warning("%s", reason)
        with self.lock:
            self.report.failed += 1
            self.report.failures.append(reason)


def _refs_to_read(
    session_factory: db.SessionFactory,
    source: OfferSource,
    report: SourceReport,
    *,
    full: bool,
    force: bool,
    now: datetime,
    config: SyncConfig,
) -> tuple[list[ProductRef], set[str] | None]:
    """What to read, and (after a full listing) every key the listing had."""
    cid = config.connection_id
    with session_factory() as session:
        team = config.team(session)
        if not full:
            due = due_in_status(
                session,
                team_id=team,
                feed=source.name,
                statuses=[OfferStatus.IN_PROGRESS.value],
                observed_before=now - max(config.in_progress_interval, config.min_ask_interval),
                connection_id=cid,
            )
            refs = [source.ref_for(k) for k in due]
            report.seen = len(refs)
            return refs, None
        since = now - config.min_ask_interval
        recent = (
            set()
            if force
            else observed_since(session, team_id=team, feed=source.name, since=since, connection_id=cid)
        )
    listing = source.list_products()
    _note_listing(source, listing, report)
    report.seen = len(listing.products) + len(listing.unreadable)
    listed = {ref.key for ref in listing.products} | listing.unreadable_keys if listing.complete else None
    return [ref for ref in listing.products if ref.key not in recent], listed


def _note_listing(source: OfferSource, listing: Listing, report: SourceReport) -> None:
    """What the listing could not read: entries (counted as failed) and an early end."""
    for reason in listing.unreadable:
        log.warning("%s: %s (skipped)", source.label, reason)
    report.failures.extend(listing.unreadable)
    report.failed += len(listing.unreadable)
    if listing.stopped is not None:
        log.warning("%s: %s (what it listed is read; nobody counted missing)", source.label, listing.stopped)
        report.stopped = listing.stopped


def _store(
    session_factory: db.SessionFactory,
    source: OfferSource,
    batch: list[Observation],
    clock: Clock,
    report: SourceReport,
    config: SyncConfig,
) -> None:
    """Store one batch of observations in one transaction (batches keep a pass's memory and its
    write lock short), adding its counts to the report."""
    if not batch:
        return
    with db.transaction(session_factory) as session:
        summary = record_observations(
            session,
            team_id=config.team(session),
            observations=batch,
            now=clock(),
            source=source.name,
            feed=source.name,
            connection_id=config.connection_id,
        )
    report.new += summary.created
    report.changed += summary.updated
    report.unchanged += summary.unchanged
    report.stale += summary.stale
    report.status_changes += summary.status_changes


def _read_and_store(
    session_factory: db.SessionFactory,
    source: OfferSource,
    refs: list[ProductRef],
    *,
    clock: Clock,
    report: SourceReport,
    config: SyncConfig,
) -> None:
    """Read the products concurrently and store what was read in batches, as it arrives."""
    reader = _Reader(source, clock, report)
    batch: list[Observation] = []
    since = 0.0
    with ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="offerbot-sync") as pool:
        for seen in pool.map(reader, refs):
            if seen is not None:
                since = since if batch else config.monotonic()
                batch.append(seen)
                report.details_unread += int(seen.offer.details_unread is not None)
            full = len(batch) >= config.write_batch
            if batch and (full or config.monotonic() - since >= config.write_every):
                _store(session_factory, source, batch, clock, report, config)
                batch = []
    _store(session_factory, source, batch, clock, report, config)
    if reader.auth_error is not None:
        raise reader.auth_error


def sync_source(
    *,
    session_factory: db.SessionFactory,
    source: OfferSource,
    clock: Clock,
    full: bool = True,
    force: bool = False,
    config: SyncConfig | None = None,
) -> SourceReport:
    """One pass over one source; never raises for the source's own faults, it reports them."""
    config = config or SyncConfig()
    report = SourceReport(source=source.label, full=full)
    start_requests = source.requests
    try:
        source.prepare()
        now = clock()
        refs, listed = _refs_to_read(
            session_factory, source, report, full=full, force=force, now=now, config=config
        )
        report.asked = len(refs)
        _read_and_store(session_factory, source, refs, clock=clock, report=report, config=config)
        if listed is not None:
            with db.transaction(session_factory) as session:
                team, cid = config.team(session), config.connection_id
                report.removed = mark_missing(
                    session, team_id=team, feed=source.name, listed=listed, now=clock(), connection_id=cid
                )
    except SourceAuthError as exc:
        report.error, report.auth_failed = str(exc), True
    except (SourceUnavailable, Transient, ProductError) as exc:
        report.error = f"{source.label} could not be read ({exc}); the next pass tries again"
    except SQLAlchemyError as exc:
        log.debug("sync: database error", exc_info=exc)
        report.store_failed = True
        first = str(exc).splitlines()[0][:160] if str(exc) else ""
        report.error = (
            f"the store could not be written ({exc.__class__.__name__}: {first}); the next pass tries again"
        )
    report.requests = source.requests - start_requests
    return report


def sync_pass(
    *,
    session_factory: db.SessionFactory,
    sources: Sequence[OfferSource],
    clock: Clock,
    full: bool = True,
    force: bool = False,
    config: SyncConfig | None = None,
) -> SyncReport:
    """One pass over every source, one after the other (each reads its products concurrently)."""
    return SyncReport(
        sources=[
            sync_source(
                session_factory=session_factory, source=s, clock=clock, full=full, force=force, config=config
            )
            for s in sources
        ]
    )

"""What is older than ``OFFERBOT_KEEP_DAYS`` leaves the store, a batch of rows per statement in the
caller's short transaction, so the store does not grow forever and no prune holds a long lock:

- deliveries sent or failed for good whose last attempt is older than the cutoff (never a pending
  one);
- alert threads that closed before the cutoff (their *I'm on it* takers with them);
- the clicks' log (``offer_action``) older than the cutoff;
- status changes older than the cutoff that nothing needs any more: handled, not their offer's
  latest (every offer keeps its current change, so its history and a test alert still have one),
  named by no remaining delivery and by no alert thread;
- cached Slack look-ups unused for :data:`CACHE_KEEP`, long past their time to live: users'
  languages and roles, and e-mails that no Slack user has (an owner's e-mail that names a Slack
  user stays: the Home tab and the digest read it).

Each function deletes at most one batch and says how many rows it deleted; the housekeeping job
calls them until a batch comes back short. Indexes of migration 0022 keep each batch a range scan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import AlertThread, Delivery, EmailUser, OfferAction, SlackUser, StatusChange
from storage.statuses import DeliveryState

BATCH = 500
"""Rows deleted per statement."""
CACHE_KEEP = timedelta(days=30)
"""A cached look-up older than this is deleted (those that are asked again when needed: a user's
locale lives a day, roles ten minutes, an e-mail with no Slack user a day)."""


COUNTED = ("deliveries", "threads", "actions", "changes", "cached")


@dataclass
class Pruned:
    """Rows deleted, by kind; ``more``: a batch stopped short of the end (there may be more)."""

    deliveries: int = 0
    threads: int = 0
    actions: int = 0
    changes: int = 0
    cached: int = 0
    more: bool = False

    def add(self, other: Pruned) -> None:
        for name in COUNTED:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def total(self) -> int:
        return sum(getattr(self, name) for name in COUNTED)

    def full(self) -> bool:
        """Whether any kind came back a full batch or stopped short of the end."""
        return self.more or any(getattr(self, name) >= BATCH for name in COUNTED)


@dataclass
class ChangeCursor:
    """How far the scan of old status changes got. The housekeeping job keeps one from run to run
    and starts again from the oldest only once a scan reached the end, so the rows it keeps (each
    offer's latest change, those a delivery or thread names) are read once per full scan, not once
    per batch, and a run that stops at its batch limit goes on from there at the next run."""

    after: int = 0
    done: bool = False


def _delete_ids(session: Session, model: type, ids: sa.Select[tuple[int]]) -> int:
    """Delete the rows of ``model`` whose ``id`` the (limited) select names."""
    table = model.__table__  # type: ignore[attr-defined]
    # correlate(None): the batch is its own query, never correlated to the DELETE's table.
    result = session.execute(sa.delete(table).where(table.c.id.in_(ids.correlate(None).scalar_subquery())))
    return int(getattr(result, "rowcount", 0) or 0)


def prune_deliveries(session: Session, *, before: datetime) -> int:
    done = (DeliveryState.SENT.value, DeliveryState.FAILED.value)
    ids = (
        select(Delivery.id)
        .where(col(Delivery.state).in_(done), col(Delivery.next_attempt_at) < before)
        .limit(BATCH)
    )
    return _delete_ids(session, Delivery, ids)  # type: ignore[arg-type]


def prune_threads(session: Session, *, before: datetime) -> int:
    """Closed threads that closed before the cutoff (``closed_at``: their closing change applied,
    or a mute or an unsubscribe that ended their reminders)."""
    ids = (
        select(AlertThread.id)
        .where(col(AlertThread.closed).is_(True), col(AlertThread.closed_at) < before)
        .limit(BATCH)
    )
    return _delete_ids(session, AlertThread, ids)  # type: ignore[arg-type]


def prune_actions(session: Session, *, before: datetime) -> int:
    ids = select(OfferAction.id).where(col(OfferAction.at) < before).limit(BATCH)
    return _delete_ids(session, OfferAction, ids)  # type: ignore[arg-type]


def _old_changes(session: Session, *, before: datetime, cursor: ChangeCursor) -> list[int]:
    """The next batch of status change ids older than the cutoff, after the cursor, in id order,
    below the newest old change (one seek on ``changed_at``), so the last batch never reads the
    recent rows."""
    newest_old = session.exec(
        select(StatusChange.id)
        .where(col(StatusChange.changed_at) < before)
        .order_by(col(StatusChange.changed_at).desc(), col(StatusChange.id).desc())
        .limit(1)
    ).first()
    if newest_old is None:
        return []
    batch = (
        select(StatusChange.id)
        .where(
            col(StatusChange.id) > cursor.after,
            col(StatusChange.id) <= newest_old,
            col(StatusChange.changed_at) < before,
        )
        .order_by(col(StatusChange.id))
        .limit(BATCH)
    )
    return [int(i) for i in session.exec(batch).all() if i is not None]


def prune_changes(session: Session, *, before: datetime, cursor: ChangeCursor) -> int:
    """One batch of old status changes looked at (from ``cursor`` on, which it moves), and those of
    them that nothing needs deleted."""
    if cursor.done:
        return 0
    batch = _old_changes(session, before=before, cursor=cursor)
    cursor.done = len(batch) < BATCH
    if not batch:
        return 0
    cursor.after = batch[-1]
    # Lock the batch first and test what names it in a later statement (a fresh snapshot on
    # PostgreSQL): a delivery queued meanwhile on one of these changes (a test alert, a stuck
    # alert) either committed before, and is seen, or still holds its key-share lock, and the
    # change is skipped; the DELETE's cascade never takes a new delivery. SQLite has one writer.
    newer = aliased(StatusChange)
    has_newer = (
        select(newer.id)
        .where(newer.offer_pk == StatusChange.offer_pk, col(newer.id) > col(StatusChange.id))
        .exists()
    )
    candidates = select(StatusChange.id).where(
        col(StatusChange.id).in_(batch), col(StatusChange.handled_at).is_not(None), has_newer
    )
    batch = [
        int(i) for i in session.exec(candidates.with_for_update(skip_locked=True)).all() if i is not None
    ]
    delivered = select(Delivery.id).where(Delivery.change_id == StatusChange.id).exists()
    starts = select(AlertThread.id).where(AlertThread.first_change_id == StatusChange.id).exists()
    ends = select(AlertThread.id).where(AlertThread.last_change_id == StatusChange.id).exists()
    ids = select(StatusChange.id).where(
        col(StatusChange.id).in_(batch),
        col(StatusChange.handled_at).is_not(None),
        has_newer,
        ~delivered,
        ~starts,
        ~ends,
    )
    return _delete_ids(session, StatusChange, ids)  # type: ignore[arg-type]


def prune_caches(session: Session, *, now: datetime) -> int:
    """Cached look-ups older than :data:`CACHE_KEEP` that are asked again when needed: users'
    languages and roles, and e-mails no Slack user has. An e-mail's Slack user stays (the Home tab
    and the digest read it to know whose offers a user owns, with no time to live; one row per owner
    address). Two small tables keyed by team and user or e-mail: one statement each."""
    before = now - CACHE_KEEP
    slack_user: sa.Table = SlackUser.__table__  # type: ignore[attr-defined]
    email_user: sa.Table = EmailUser.__table__  # type: ignore[attr-defined]
    doomed = [
        (slack_user, slack_user.c.looked_up_at < before),
        (email_user, sa.and_(email_user.c.looked_up_at < before, email_user.c.user_id.is_(None))),
    ]
    deleted = 0
    for table, old in doomed:
        keys = [c for c in table.primary_key.columns]
        batch = sa.select(*keys).where(old).limit(BATCH).correlate(None).subquery()
        match = sa.and_(*[k == batch.c[k.name] for k in keys])
        result = session.execute(
            sa.delete(table).where(sa.exists(sa.select(1).select_from(batch).where(match)))
        )
        deleted += int(getattr(result, "rowcount", 0) or 0)
    return deleted


def prune_once(
    session: Session, *, now: datetime, keep: timedelta, cursor: ChangeCursor | None = None
) -> Pruned:
    """One batch of each kind. Status changes only once deliveries and threads are done, so that
    none the cursor passes is freed later in the same run; ``cursor``: one per run (a call without
    starts from the oldest change)."""
    before = now - keep
    cursor = cursor or ChangeCursor()
    pruned = Pruned(
        deliveries=prune_deliveries(session, before=before),
        threads=prune_threads(session, before=before),
        actions=prune_actions(session, before=before),
        cached=prune_caches(session, now=now),
    )
    if pruned.deliveries < BATCH and pruned.threads < BATCH:
        pruned.changes = prune_changes(session, before=before, cursor=cursor)
    pruned.more = not cursor.done
    return pruned

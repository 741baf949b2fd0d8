"""What is older than ``OFFERBOT_KEEP_DAYS`` leaves the store, a batch of rows per statement in the
caller's short transaction, so the store does not grow forever and no prune holds a long lock:

- deliveries sent or failed for good whose last attempt is older than the cutoff (never a pending
  one);
- alert threads closed before the cutoff (their *I'm on it* takers with them);
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

from dataclasses import dataclass, fields
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
locale lives a day, roles ten minutes, an e-mail with no Slack user a week)."""


@dataclass
class Pruned:
    """Rows deleted, by kind."""

    deliveries: int = 0
    threads: int = 0
    actions: int = 0
    changes: int = 0
    cached: int = 0

    def add(self, other: Pruned) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def full(self) -> bool:
        """Whether any kind came back a full batch (there may be more of it)."""
        return any(getattr(self, f.name) >= BATCH for f in fields(self))


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
    old_changes = select(StatusChange.id).where(col(StatusChange.changed_at) < before)
    ids = (
        select(AlertThread.id)
        .where(col(AlertThread.closed).is_(True), col(AlertThread.last_change_id).in_(old_changes))
        .limit(BATCH)
    )
    return _delete_ids(session, AlertThread, ids)  # type: ignore[arg-type]


def prune_actions(session: Session, *, before: datetime) -> int:
    ids = select(OfferAction.id).where(col(OfferAction.at) < before).limit(BATCH)
    return _delete_ids(session, OfferAction, ids)  # type: ignore[arg-type]


def prune_changes(session: Session, *, before: datetime) -> int:
    newer = aliased(StatusChange)
    has_newer = (
        select(newer.id)
        .where(newer.offer_pk == StatusChange.offer_pk, col(newer.id) > col(StatusChange.id))
        .exists()
    )
    delivered = select(Delivery.id).where(Delivery.change_id == StatusChange.id).exists()
    starts = select(AlertThread.id).where(AlertThread.first_change_id == StatusChange.id).exists()
    ends = select(AlertThread.id).where(AlertThread.last_change_id == StatusChange.id).exists()
    ids = (
        select(StatusChange.id)
        .where(
            col(StatusChange.changed_at) < before,
            col(StatusChange.handled_at).is_not(None),
            has_newer,
            ~delivered,
            ~starts,
            ~ends,
        )
        .limit(BATCH)
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


def prune_once(session: Session, *, now: datetime, keep: timedelta) -> Pruned:
    """One batch of each kind, in the order that frees the next: deliveries and threads first, so
    the changes they named can go in a later batch."""
    before = now - keep
    return Pruned(
        deliveries=prune_deliveries(session, before=before),
        threads=prune_threads(session, before=before),
        actions=prune_actions(session, before=before),
        changes=prune_changes(session, before=before),
        cached=prune_caches(session, now=now),
    )

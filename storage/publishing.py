"""Requests offerbot made to Microsoft to publish an offer (*Go live*): the table and every query on it.

A request is reserved (``sending``) before anything is sent, under a unique index that lets one
active request per offer exist, so a double click, two processes or a retry never send a second
one; once Microsoft answers it is ``running`` with the job it started (a Product Ingestion job id, or
the Cloud Partner Portal operation's path), followed by the jobs process at :attr:`next_poll_at`
until it ends. What happened is also written to the offer's history (``offer_action``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from storage.models import utc_column
from storage.statuses import ACTIVE_PUBLISH, PublishKind, PublishState

_ACTIVE = "state IN ('sending', 'running')"

SENDING_LOST = timedelta(minutes=10)
"""A request still ``sending`` after this long was cut off (the process stopped while sending it)."""


class PublishRequest(SQLModel, table=True):
    __tablename__ = "publish_request"
    __table_args__ = (
        sa.Index(
            "uq_publish_request_offer_pk_active",
            "offer_pk",
            unique=True,
            sqlite_where=sa.text(_ACTIVE),
            postgresql_where=sa.text(_ACTIVE),
        ),
        sa.Index("ix_publish_request_offer_pk_requested_at", "offer_pk", "requested_at"),
        sa.Index("ix_publish_request_state_next_poll_at", "state", "next_poll_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    offer_pk: int = Field(sa_column=sa.Column(sa.ForeignKey("offer.id", ondelete="CASCADE"), nullable=False))
    api: str = Field(max_length=40)  # PublishApi
    kind: str = Field(default=PublishKind.GO_LIVE, max_length=20)  # PublishKind
    cancel_by: str = Field(default="", max_length=32)
    """Who asked Microsoft to cancel it, while it ran ("" for nobody)."""
    submission_id: str = Field(max_length=300)
    """The preview submission promoted (Partner Center) or the offer's version (Cloud Partner Portal)."""
    submitted_at: datetime | None = utc_column(nullable=True)
    job: str = Field(default="", max_length=500)
    """Microsoft's job id, or the operation's path; "" while sending."""
    state: str = Field(max_length=20)  # PublishState
    requested_by: str = Field(max_length=32)
    requested_at: datetime = utc_column()
    channel: str = Field(default="", max_length=32)
    """The alert the request came from (its thread gets the outcome); "" from the card or Home tab."""
    ts: str = Field(default="", max_length=32)
    next_poll_at: datetime | None = utc_column(nullable=True)
    polls: int = Field(default=0)
    finished_at: datetime | None = utc_column(nullable=True)
    errors: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))


def reserve(
    session: Session,
    *,
    team_id: str,
    offer_pk: int,
    api: str,
    submission_id: str,
    submitted_at: datetime | None,
    user_id: str,
    now: datetime,
    channel: str = "",
    ts: str = "",
    kind: PublishKind = PublishKind.GO_LIVE,
) -> PublishRequest | None:
    """The offer reserved for a new request (``sending``), or None when a request is already active
    (the unique index decides, whatever the number of processes)."""
    request = PublishRequest(
        team_id=team_id,
        offer_pk=offer_pk,
        api=api,
        kind=kind,
        submission_id=submission_id,
        submitted_at=submitted_at,
        state=PublishState.SENDING,
        requested_by=user_id,
        requested_at=now,
        channel=channel,
        ts=ts,
    )
    try:
        with session.begin_nested():
            session.add(request)
            session.flush()
    except sa.exc.IntegrityError:
        return None
    return request


def started(session: Session, *, request_id: int, job: str, next_poll_at: datetime) -> PublishRequest:
    """Microsoft took the request: it is ``running`` as ``job``."""
    request = session.get(PublishRequest, request_id)
    assert request is not None
    request.job, request.state, request.next_poll_at = job, PublishState.RUNNING, next_poll_at
    session.add(request)
    return request


def drop(session: Session, *, request_id: int) -> None:
    """Microsoft refused the request at once: nothing was requested, and nothing is kept."""
    request = session.get(PublishRequest, request_id)
    if request is not None:
        session.delete(request)


def active_request(session: Session, *, offer_pk: int) -> PublishRequest | None:
    found = session.exec(
        select(PublishRequest)
        .where(PublishRequest.offer_pk == offer_pk, col(PublishRequest.state).in_(ACTIVE_PUBLISH))
        .limit(1)
    )
    return found.first()


def latest_request(session: Session, *, offer_pk: int) -> PublishRequest | None:
    """The offer's newest request, active or ended."""
    found = session.exec(
        select(PublishRequest)
        .where(PublishRequest.offer_pk == offer_pk)
        .order_by(col(PublishRequest.requested_at).desc(), col(PublishRequest.id).desc())
        .limit(1)
    )
    return found.first()


def due_requests(session: Session, *, now: datetime, limit: int = 50) -> Sequence[PublishRequest]:
    """Running requests whose next look has come, and requests cut off while sending, locked for
    this process (another one skips them)."""
    due = sa.and_(col(PublishRequest.state) == PublishState.RUNNING, col(PublishRequest.next_poll_at) <= now)
    lost = sa.and_(
        col(PublishRequest.state) == PublishState.SENDING,
        col(PublishRequest.requested_at) <= now - SENDING_LOST,
    )
    stmt = (
        select(PublishRequest)
        .where(sa.or_(due, lost))
        .order_by(col(PublishRequest.next_poll_at), col(PublishRequest.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return session.exec(stmt).all()


def poll_later(session: Session, *, request: PublishRequest, at: datetime) -> None:
    request.polls += 1
    request.next_poll_at = at
    session.add(request)


def finish(
    session: Session, *, request: PublishRequest, state: PublishState, errors: Sequence[str], now: datetime
) -> None:
    request.state, request.errors, request.finished_at = state, list(errors), now
    request.next_poll_at = None
    session.add(request)


def cancel_asked(session: Session, *, request_id: int, user_id: str) -> PublishRequest | None:
    """Microsoft took the cancel of a running request: who asked is kept (the job's end says how
    it went)."""
    request = session.get(PublishRequest, request_id)
    if request is not None:
        request.cancel_by = user_id
        session.add(request)
    return request

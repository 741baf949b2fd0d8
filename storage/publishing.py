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
        sa.Index("ix_publish_request_told_finished_at", "told", "finished_at"),
        sa.Index("ix_publish_request_connection_id", "connection_id"),
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
    told: bool = Field(default=False)
    """Its end was told in Slack (the jobs process tells an ended request until it is)."""
    connection_id: int | None = Field(default=None)
    """The stored connection it was sent with (None: the environment's): its job is followed and
    cancelled with that one's credential, whatever reads the offer later."""


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
    connection_id: int | None = None,
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
        connection_id=connection_id,
    )
    try:
        with session.begin_nested():
            session.add(request)
            session.flush()
    except sa.exc.IntegrityError:
        return None
    return request


def _set(session: Session, request_id: int, expect: Sequence[str], **values: object) -> PublishRequest | None:
    """Change a request only if it is still in one of ``expect`` (another process, or a late
    sender, may have moved it on): the request as it now is, or None when it had moved on."""
    table = PublishRequest.__table__  # type: ignore[attr-defined]
    result = session.execute(
        sa.update(table).where(table.c.id == request_id, table.c.state.in_(list(expect))).values(**values)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return session.get(PublishRequest, request_id, populate_existing=True)


def started(session: Session, *, request_id: int, job: str, next_poll_at: datetime) -> PublishRequest | None:
    """Microsoft took the request: it is ``running`` as ``job`` (None: it was no longer sending)."""
    return _set(
        session,
        request_id,
        (PublishState.SENDING,),
        job=job,
        state=PublishState.RUNNING,
        next_poll_at=next_poll_at,
    )


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


def claim_due(
    session: Session, *, now: datetime, lease: timedelta, limit: int = 50
) -> tuple[list[PublishRequest], list[PublishRequest]]:
    """Running requests whose next look has come, each put off by ``lease`` so that no other
    process looks at them meanwhile; and requests cut off while sending, ended here as failed with
    no job (in this transaction, so only one process ends each). Locked rows are skipped."""
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
    running, cut_off = [], []
    for request in session.exec(stmt).all():
        if request.state == PublishState.RUNNING:
            request.next_poll_at = now + lease
            session.add(request)
            running.append(request)
        else:
            ended = finish(session, request_id=request.id or 0, state=PublishState.FAILED, errors=(), now=now)
            if ended is not None:
                cut_off.append(ended)
    session.flush()
    return running, cut_off


def looked(session: Session, *, request_id: int, next_poll_at: datetime) -> None:
    """One more look at a running job: the next one no sooner than ``next_poll_at``."""
    table = PublishRequest.__table__  # type: ignore[attr-defined]
    session.execute(
        sa.update(table)
        .where(table.c.id == request_id, table.c.state == PublishState.RUNNING)
        .values(polls=table.c.polls + 1, next_poll_at=next_poll_at)
    )


def finish(
    session: Session,
    *,
    request_id: int,
    state: PublishState,
    errors: Sequence[str],
    now: datetime,
    told: bool = False,
) -> PublishRequest | None:
    """The request ended (None: it had already ended, here or in another process); ``told``: the
    person who asked already read how (in the modal)."""
    return _set(
        session,
        request_id,
        ACTIVE_PUBLISH,
        state=state,
        errors=list(errors),
        finished_at=now,
        next_poll_at=None,
        told=told,
    )


def untold(session: Session, *, limit: int = 20) -> Sequence[PublishRequest]:
    """Ended requests whose end was not told in Slack yet, oldest first."""
    stmt = (
        select(PublishRequest)
        .where(col(PublishRequest.told).is_(False), col(PublishRequest.finished_at).is_not(None))
        .order_by(col(PublishRequest.finished_at), col(PublishRequest.id))
        .limit(limit)
    )
    return session.exec(stmt).all()


def mark_told(session: Session, *, request_id: int) -> None:
    table = PublishRequest.__table__  # type: ignore[attr-defined]
    session.execute(sa.update(table).where(table.c.id == request_id).values(told=True))


def cancel_asked(session: Session, *, request_id: int, user_id: str) -> PublishRequest | None:
    """Microsoft took the cancel of a running request: who asked is kept (the job's end says how
    it went)."""
    request = session.get(PublishRequest, request_id)
    if request is not None:
        request.cancel_by = user_id
        session.add(request)
    return request

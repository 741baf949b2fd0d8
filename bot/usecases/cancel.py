"""*Cancel publish* from Slack: a publish offerbot started (its running *Go live* request), or any
Cloud Partner Portal publish in progress, cancelled through Microsoft's documented cancel
(Partner Center's ``configure/<jobId>/cancel``, the Cloud Partner Portal's ``…/cancel``).

A cancel of offerbot's own request is followed by that request's job, which then ends cancelled; a
Cloud Partner Portal publish offerbot did not start gets a request of its own (kind ``cancel``),
followed like a *Go live*. Partner Center offers no cancel for a publish offerbot did not start
(its job id is not known), so neither the button nor this use-case offers one. Permissions as for
*Go live*."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot.i18n import N_
from bot.sources.publishing import CloudPartnerPublisher, PartnerCenterPublisher, Publishers
from bot.usecases.golive import (
    LABELS,
    NO_ANSWER,
    POLL_EVERY,
    GoLiveAsk,
    NoAnswer,
    active_of,
    alert_of,
    card_for,
    history_line,
    publisher_for,
    read_from,
)
from storage import db
from storage.errors import UsageError
from storage.publishing import (
    PublishRequest,
    cancel_asked,
    drop,
    finish,
    reserve,
    started,
)
from storage.reads.offers import OfferCard
from storage.statuses import OfferStatus, PublishApi, PublishKind, PublishState

log = logging.getLogger(__name__)

CLOUD_PARTNER_FEED = "cloud-partner-portal"


@dataclass(frozen=True)
class CancelTarget:
    card: OfferCard
    request: PublishRequest | None
    """offerbot's running request; None for a Cloud Partner Portal publish it did not start."""


@dataclass(frozen=True)
class CancelAsked:
    card: OfferCard
    request: PublishRequest
    channel: str = ""
    """The alert thread to tell (see ``alert_of``); "" for the DM of who asked."""
    ts: str = ""


def cancellable(card: OfferCard) -> bool:
    """Whether Microsoft offers a cancel here: offerbot's running request with its job, or a Cloud
    Partner Portal publish in progress that offerbot did not start."""
    request = active_of(card)
    if request is not None:
        running = request.state == PublishState.RUNNING and bool(request.job)
        return running and request.kind == PublishKind.GO_LIVE
    offer = card.offer
    return offer.feed == CLOUD_PARTNER_FEED and offer.status == OfferStatus.IN_PROGRESS


def cancel_target(session_factory: db.SessionFactory, ask: GoLiveAsk) -> CancelTarget:
    """What *Cancel publish* would cancel, or a :class:`UsageError` that says why nothing can be."""
    card = card_for(session_factory, ask)
    offer, request = card.offer, active_of(card)
    if not cancellable(card):
        raise UsageError(
            N_("Nothing offerbot can cancel is publishing %(offer)s now: Partner Center shows what runs."),
            offer=offer.offer_id,
        )
    return CancelTarget(card=card, request=request)


def cancel_publish(
    session_factory: db.SessionFactory, publishers: Publishers, ask: GoLiveAsk, *, now: datetime
) -> CancelAsked:
    """The confirmation submitted: Microsoft's cancel sent once, recorded in the history."""
    target = cancel_target(session_factory, ask)
    offer = target.card.offer
    if target.request is not None:
        request = target.request
        publisher = publisher_for(publishers, PublishApi(request.api), request.connection_id)
        _send_cancel(publisher, request.job, offer.feed_key or "", PublishApi(request.api))
        with db.transaction(session_factory) as session:
            asked = cancel_asked(session, request_id=request.id or 0, user_id=ask.actor.user_id)
            assert asked is not None
            history_line(session, asked, "cancel", now=now, user_id=ask.actor.user_id)
            channel, ts = alert_of(session, ask)
        log.info(
            "cancel: %s asked to cancel job %s of offer %s", ask.actor.user_id, request.job, offer.offer_id
        )
        return CancelAsked(card=target.card, request=asked, channel=channel, ts=ts)
    return _cancel_outside(session_factory, publishers, target, ask, now=now)


def _send_cancel(
    publisher: PartnerCenterPublisher | CloudPartnerPublisher, job: str, key: str, api: PublishApi
) -> str:
    if isinstance(publisher, PartnerCenterPublisher):
        read_from(lambda: publisher.cancel(job), api)
        return job
    publisher_id, _, offer_id = key.partition("/")
    return read_from(lambda: publisher.cancel(publisher_id, offer_id), api)


def _reserve_cancel(
    session_factory: db.SessionFactory,
    ask: GoLiveAsk,
    offer_id: str,
    now: datetime,
    connection_id: int | None,
) -> int:
    with db.transaction(session_factory) as session:
        channel, ts = alert_of(session, ask)
        request = reserve(
            session,
            team_id=ask.team_id,
            offer_pk=ask.offer_pk,
            api=PublishApi.CLOUD_PARTNER,
            submission_id=offer_id,
            submitted_at=None,
            user_id=ask.actor.user_id,
            now=now,
            channel=channel,
            ts=ts,
            kind=PublishKind.CANCEL,
            connection_id=connection_id,
        )
    if request is None or request.id is None:
        raise UsageError(N_("a request about %(offer)s is already on its way."), offer=offer_id)
    return request.id


def _cancel_outside(
    session_factory: db.SessionFactory,
    publishers: Publishers,
    target: CancelTarget,
    ask: GoLiveAsk,
    *,
    now: datetime,
) -> CancelAsked:
    """A Cloud Partner Portal publish offerbot did not start: a cancel request of its own."""
    offer, api = target.card.offer, PublishApi.CLOUD_PARTNER
    request_id = _reserve_cancel(session_factory, ask, offer.offer_id, now, offer.connection_id)
    try:
        job = _send_cancel(publisher_for(publishers, api, offer.connection_id), "", offer.feed_key or "", api)
    except NoAnswer:  # it may have been taken: kept as failed, never sent again blindly
        with db.transaction(session_factory) as session:
            finish(session, request_id=request_id, state=PublishState.FAILED, errors=(), now=now, told=True)
        raise UsageError(NO_ANSWER, api=LABELS[api]) from None
    except UsageError:
        with db.transaction(session_factory) as session:
            drop(session, request_id=request_id)
        raise
    with db.transaction(session_factory) as session:
        kept = started(session, request_id=request_id, job=job, next_poll_at=now + POLL_EVERY)
        if kept is not None and not job:  # no operation to follow: the next sync shows whether it stopped
            kept = finish(
                session, request_id=request_id, state=PublishState.SUCCEEDED, errors=(), now=now, told=True
            )
        if kept is None:
            raise UsageError(NO_ANSWER, api=LABELS[api])
        history_line(session, kept, "cancel", now=now, user_id=ask.actor.user_id)
    log.info(
        "cancel: %s asked %s to cancel the publish of %s", ask.actor.user_id, LABELS[api], offer.offer_id
    )
    return CancelAsked(card=target.card, request=kept, channel=kept.channel, ts=kept.ts)

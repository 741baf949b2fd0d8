"""*Go live* from Slack: the publisher's sign-off, sent to Microsoft (docs/user-guide.md).

Three use-cases: :func:`go_live_target` (what the confirmation names: the offer and, for Partner
Center, the preview submission it promotes, read again from Microsoft), :func:`request_go_live`
(the confirmation submitted: the submissions read again, one request reserved, sent once, recorded
in the offer's history) and :func:`follow_requests` (the jobs process: each running request's job
looked at, not more than once a minute, until it ends). Permissions are checked here; Microsoft is
never called inside a transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlmodel import Session

from bot.clock import utc_now
from bot.i18n import N_
from bot.sources.base import ProductError, SourceAuthError
from bot.sources.http import Refused, Transient
from bot.sources.publishing import (
    CloudPartnerPublisher,
    JobState,
    PartnerCenterPublisher,
    Preview,
    Publishers,
)
from bot.usecases.access import AccessPolicy, Action, Actor, check
from bot.usecases.work import GONE, OfferGone
from storage import db
from storage.alerts.work import find_thread, log_action
from storage.errors import UsageError
from storage.publishing import (
    PublishRequest,
    active_request,
    claim_due,
    drop,
    finish,
    looked,
    mark_told,
    reserve,
    started,
    untold,
)
from storage.reads.offers import OfferCard, get_offer, load_card
from storage.statuses import ACTIVE_PUBLISH, SYNC_FEED, OfferStatus, PublishApi, PublishKind, PublishState

log = logging.getLogger(__name__)
T = TypeVar("T")

POLL_EVERY = timedelta(minutes=1)
"""Microsoft asks clients not to look at a job more often than this."""
POLL_SLOWER = timedelta(minutes=10)
"""After an hour of looking every minute, a job is looked at this often."""
LOOK_LEASE = timedelta(minutes=5)
"""A claimed job is not looked at by another process for this long (one look takes at most the
request's timeout: the publishing client does not retry)."""
LOST = N_(
    "offerbot stopped while sending the request, so whether Microsoft got it is unknown: check the "
    "offer in Partner Center before you try again."
)
NO_ANSWER = N_(
    "%(api)s did not answer, so whether it started publishing is unknown: check the offer in Partner "
    "Center before you try again."
)
NO_WAY = (
    "the connection it was sent with was removed or can no longer sign in, so offerbot cannot follow it: "
    "see the offer in Partner Center"
)
"""The end of a job offerbot can no longer look at (kept with Microsoft's errors, as they are)."""

APIS = {SYNC_FEED: PublishApi.PARTNER_CENTER, "cloud-partner-portal": PublishApi.CLOUD_PARTNER}
LABELS = {PublishApi.PARTNER_CENTER: "Partner Center", PublishApi.CLOUD_PARTNER: "Cloud Partner Portal"}


@dataclass(frozen=True)
class GoLiveAsk:
    """A *Go live* as it was clicked or confirmed: which offer, by whom, from which alert."""

    team_id: str
    offer_pk: int
    actor: Actor
    policy: AccessPolicy
    channel: str = ""
    ts: str = ""


@dataclass(frozen=True)
class GoLiveTarget:
    """What the confirmation names."""

    card: OfferCard
    api: PublishApi
    preview: Preview | None
    """The preview submission promoted (Partner Center); None for the Cloud Partner Portal."""

    @property
    def submission_id(self) -> str:
        return self.preview.submission_id if self.preview is not None else str(self.card.offer.offer_id)


@dataclass(frozen=True)
class Requested:
    card: OfferCard
    request: PublishRequest


@dataclass(frozen=True)
class Outcome:
    """A request that ended, for its thread."""

    card: OfferCard
    request: PublishRequest


class NoAnswer(UsageError):
    """Microsoft did not answer (after the retries of a read; at once for the request itself), or
    answered a request with something offerbot cannot read: whether it was done is unknown."""


class AlreadyRequested(UsageError):
    """A request for this offer is already on its way: never a second one."""


def _already(request: PublishRequest, offer_id: str) -> AlreadyRequested:
    return AlreadyRequested(
        N_("<@%(user)s> already asked to publish %(offer)s live at %(when)s: it is on its way."),
        user=request.requested_by,
        offer=offer_id,
        when=request.requested_at.strftime("%Y-%m-%d %H:%M UTC"),
    )


def publisher_for(
    publishers: Publishers, api: PublishApi, connection_id: int | None = None
) -> PartnerCenterPublisher | CloudPartnerPublisher:
    """The API client that publishes an offer read by ``connection_id`` (None: the environment's)."""
    way = publishers.of_connection(connection_id)
    publisher = way.for_api(api) if way is not None else None
    if publisher is None and connection_id is not None:
        raise UsageError(
            N_(
                "the connection that reads this offer cannot publish it now (it was removed, or it "
                "reads no %(api)s publisher): an admin can check it on the Home tab"
            ),
            api=LABELS[api],
        )
    if publisher is None:
        raise UsageError(
            N_("offerbot does not read %(api)s here, so it cannot publish this offer."), api=LABELS[api]
        )
    return publisher


def card_for(session_factory: db.SessionFactory, ask: GoLiveAsk) -> OfferCard:
    """The offer asked about, with its newest request, once the actor may publish."""
    check(ask.actor, Action.PUBLISH, ask.policy)
    with session_factory() as session:
        offer = get_offer(session, team_id=ask.team_id, offer_pk=ask.offer_pk)
        if offer is None:
            raise OfferGone(GONE)
        return load_card(session, offer=offer)


def active_of(card: OfferCard) -> PublishRequest | None:
    """The offer's request on its way, if any (its newest request, while active)."""
    request = card.publish
    return request if request is not None and request.state in ACTIVE_PUBLISH else None


def alert_of(session: Session, ask: GoLiveAsk) -> tuple[str, str]:
    """The alert thread a click came from, as the store knows it: ("", "") when none is tracked for
    the offer there (a card, which is ephemeral, or the Home tab): then the news goes by DM."""
    if not ask.channel or len(ask.channel) > 32 or len(ask.ts) > 32:
        return "", ""
    thread = find_thread(
        session, team_id=ask.team_id, offer_pk=ask.offer_pk, channel=ask.channel, ts=ask.ts or None
    )
    return (thread.channel, thread.ts) if thread is not None else ("", "")


def go_live_target(
    session_factory: db.SessionFactory, publishers: Publishers, ask: GoLiveAsk
) -> GoLiveTarget:
    """The offer and what *Go live* would promote, or a :class:`UsageError` that says why not."""
    card = card_for(session_factory, ask)
    offer, active = card.offer, active_of(card)
    if active is not None:
        raise _already(active, offer.offer_id)
    api = APIS.get(offer.feed or "")
    if offer.removed_at is not None:
        raise UsageError(
            N_(
                "%(offer)s was removed from what offerbot reads, so offerbot cannot publish it: use "
                "Partner Center."
            ),
            offer=offer.offer_id,
        )
    if api is None or not offer.feed_key:
        raise UsageError(
            N_(
                "%(offer)s is not read from Partner Center, so offerbot cannot publish it: use "
                "Partner Center."
            ),
            offer=offer.offer_id,
        )
    if offer.status != OfferStatus.SIGNOFF:
        raise UsageError(N_("%(offer)s is not awaiting your sign-off any more."), offer=offer.offer_id)
    publisher = publisher_for(publishers, api, offer.connection_id)
    if not isinstance(publisher, PartnerCenterPublisher):
        return GoLiveTarget(card=card, api=api, preview=None)
    preview = read_from(lambda: publisher.preview(offer.feed_key or ""), api)
    if preview is None:
        raise UsageError(
            N_(
                "Partner Center has no preview of %(offer)s awaiting sign-off now: run "
                "`/offer-status %(offer)s`."
            ),
            offer=offer.offer_id,
        )
    return GoLiveTarget(card=card, api=api, preview=preview)


def read_from(call: Callable[[], T], api: PublishApi) -> T:
    """A call to Microsoft, its failures in words a user can act on."""
    label = LABELS[api]
    try:
        return call()
    except Transient:
        raise NoAnswer(N_("%(api)s did not answer: try again in a minute."), api=label) from None
    except SourceAuthError as exc:
        log.warning("go live: %s refused the credentials: %s", label, exc)
        raise UsageError(
            N_("%(api)s refused offerbot's credentials: tell the operator (the log says what to fix)."),
            api=label,
        ) from None
    except Refused as exc:
        raise UsageError(
            N_(
                "%(api)s refused (%(why)s). Usually the preview is not ready yet or a publish is already "
                "running: look at the offer in Partner Center, then try again. Nothing was requested."
            ),
            api=label,
            why=str(exc)[:300],
        ) from None
    except ProductError as exc:  # a 2xx whose body or headers cannot be read
        log.warning("go live: %s answered what offerbot cannot read: %s", label, exc)
        raise NoAnswer(N_("%(api)s did not answer: try again in a minute."), api=label) from None


def _send(publisher: PartnerCenterPublisher | CloudPartnerPublisher, target: GoLiveTarget) -> str:
    """The one request to Microsoft: its job id, or the operation's path."""
    key = target.card.offer.feed_key or ""
    if isinstance(publisher, PartnerCenterPublisher):
        assert target.preview is not None
        preview = target.preview
        return read_from(lambda: publisher.go_live(key, preview), target.api)
    publisher_id, _, offer_id = key.partition("/")
    return read_from(lambda: publisher.go_live(publisher_id, offer_id), target.api)


def request_go_live(
    session_factory: db.SessionFactory,
    publishers: Publishers,
    ask: GoLiveAsk,
    *,
    confirmed: str,
    now: datetime,
) -> Requested | GoLiveTarget:
    """The confirmation submitted. The submissions are read again first: when the preview is no
    longer the one confirmed, nothing is sent and the new target is returned to confirm."""
    target = go_live_target(session_factory, publishers, ask)
    if target.submission_id != confirmed:
        return target
    with db.transaction(session_factory) as session:
        channel, ts = alert_of(session, ask)
        request = reserve(
            session,
            team_id=ask.team_id,
            offer_pk=ask.offer_pk,
            api=target.api,
            submission_id=target.submission_id,
            submitted_at=target.preview.created if target.preview else None,
            user_id=ask.actor.user_id,
            now=now,
            channel=channel,
            ts=ts,
            connection_id=target.card.offer.connection_id,
        )
        other = active_request(session, offer_pk=ask.offer_pk) if request is None else None
    if request is None or request.id is None:
        raise _already(other, target.card.offer.offer_id) if other else UsageError(GONE)
    return _sent(session_factory, publishers, target, request.id, ask=ask, now=now)


def _sent(
    session_factory: db.SessionFactory,
    publishers: Publishers,
    target: GoLiveTarget,
    request_id: int,
    *,
    ask: GoLiveAsk,
    now: datetime,
) -> Requested:
    offer = target.card.offer
    try:
        job = _send(publisher_for(publishers, target.api, offer.connection_id), target)
    except NoAnswer:  # it may have started: kept as failed, so nobody sends it again blindly
        with db.transaction(session_factory) as session:
            lost = finish(
                session, request_id=request_id, state=PublishState.FAILED, errors=(), now=now, told=True
            )
            if lost is not None:
                history_line(session, lost, "go_live_unknown", now=now)
        raise UsageError(NO_ANSWER, api=LABELS[target.api]) from None
    except UsageError:  # refused at once: nothing was requested, nothing is kept
        with db.transaction(session_factory) as session:
            drop(session, request_id=request_id)
        raise
    with db.transaction(session_factory) as session:
        request = started(session, request_id=request_id, job=job, next_poll_at=now + POLL_EVERY)
        if request is None:  # ended meanwhile as cut off (a send slower than ten minutes)
            raise UsageError(NO_ANSWER, api=LABELS[target.api])
        history_line(session, request, "go_live", now=now)
    log.info(
        "go live: %s asked to publish offer %s (%s) live: %s job %s",
        ask.actor.user_id,
        offer.offer_id,
        target.submission_id,
        LABELS[target.api],
        job,
    )
    return Requested(card=target.card, request=request)


def history_line(
    session: Session, request: PublishRequest, action: str, *, now: datetime, user_id: str | None = None
) -> None:
    """The request in the offer's history (``go_live``, ``cancel``, and how it ended)."""
    log_action(
        session,
        team_id=request.team_id,
        offer_pk=request.offer_pk,
        user_id=user_id or request.requested_by,
        action=action,
        channel=request.channel,
        now=now,
    )


def ended_action(request: PublishRequest, ended: PublishState) -> str:
    """How the history names a request's end."""
    if request.kind == PublishKind.CANCEL:
        return "cancelled" if ended is PublishState.SUCCEEDED else "cancel_failed"
    if ended is PublishState.CANCELLED:
        return "cancelled"
    if not request.job:
        return "go_live_unknown"
    return "go_live_ok" if ended is PublishState.SUCCEEDED else "go_live_failed"


def _ended(session: Session, request: PublishRequest) -> Outcome | None:
    """A request that just ended, in the offer's history; its outcome for the thread."""
    ended = PublishState(request.state)
    by = request.cancel_by if ended is PublishState.CANCELLED else None
    history_line(
        session, request, ended_action(request, ended), now=request.finished_at or utc_now(), user_id=by
    )
    offer = get_offer(session, team_id=request.team_id, offer_pk=request.offer_pk)
    return Outcome(card=load_card(session, offer=offer), request=request) if offer is not None else None


def _look(publishers: Publishers | None, api: str, job: str) -> JobState | None:
    """One look at a job (None: it could not be read now, or it still runs); failed when there is
    no way to look any more (its connection is gone or reads no longer that API)."""
    publisher = publishers.for_api(api) if publishers is not None else None
    if publisher is None:
        return JobState(PublishState.FAILED, (NO_WAY,))
    try:
        found = publisher.job(job)
    except (Transient, ProductError, SourceAuthError) as exc:
        log.warning("go live: job %s could not be read (%s): looked at again later", job, exc)
        return None
    return found if found is not None and found.done else None


def follow_requests(
    session_factory: db.SessionFactory, publishers: Publishers, *, now: datetime
) -> list[Outcome]:
    """One look at every running request whose time has come (claimed first, so no other process
    looks at it within :data:`LOOK_LEASE`), and the end of those cut off while sending: the
    requests that ended, with their errors."""
    with db.transaction(session_factory) as session:
        running, cut_off = claim_due(session, now=now, lease=LOOK_LEASE)
        outcomes = [o for o in (_ended(session, r) for r in cut_off) if o is not None]
        due = [(r.id or 0, r.api, r.job, r.polls, r.connection_id) for r in running]
    for request_id, api, job, polls, connection_id in due:
        # with the connection it was sent with, whatever reads the offer now
        found = _look(publishers.of_connection(connection_id), api, job)
        with db.transaction(session_factory) as session:
            if found is None:
                wait = POLL_EVERY if polls < 60 else POLL_SLOWER
                looked(session, request_id=request_id, next_poll_at=now + wait)
                continue
            request = finish(session, request_id=request_id, state=found.state, errors=found.errors, now=now)
            outcome = _ended(session, request) if request is not None else None
        if outcome is not None:
            outcomes.append(outcome)
            log.info(
                "go live: job %s of offer %s ended %s %s",
                job,
                outcome.card.offer.offer_id,
                found.state,
                list(found.errors),
            )
    return outcomes


def untold_outcomes(session_factory: db.SessionFactory) -> list[Outcome]:
    """Ended requests whose end Slack was not told yet (this run's, and those whose telling failed)."""
    with session_factory() as session:
        found = []
        for request in untold(session):
            offer = get_offer(session, team_id=request.team_id, offer_pk=request.offer_pk)
            if offer is not None:
                found.append(Outcome(card=load_card(session, offer=offer), request=request))
        return found


def told(session_factory: db.SessionFactory, request_id: int) -> None:
    with db.transaction(session_factory) as session:
        mark_told(session, request_id=request_id)

"""Publishing from offerbot (*Go live*): the requests that change an offer at Microsoft, and how their
jobs are followed (docs/partner-center.md).

- Product Ingestion API: ``POST configure`` with the preview submission's id and the ``live`` target
  (Learn, "Publishing to live"), then ``configure/<jobId>/status`` until ``jobStatus`` is ``completed``,
  then ``configure/<jobId>`` for the job's errors.
- Cloud Partner Portal API: ``POST …/offers/<offer>/golive``, then the operation named by the answer's
  ``Location`` header until its ``status`` ends.

Every POST is sent once, never retried: a lost answer is reported as such, never sent again."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from bot.settings import Settings
from bot.sources import cloud_partner, partner_center
from bot.sources.auth import TokenProvider
from bot.sources.base import ProductError
from bot.sources.http import ApiClient, RetryPolicy
from bot.sources.submissions import Run, Submission, read_submissions
from storage import safetext
from storage.statuses import OfferStatus, PublishState

log = logging.getLogger(__name__)

CONFIGURE_SCHEMA = "https://schema.mp.microsoft.com/schema/configure/2022-07-01"
SUBMISSION_SCHEMA = "https://schema.mp.microsoft.com/schema/submission/2022-07-01"
ONE_TRY = RetryPolicy(attempts=1, timeout=30.0)
"""Publishing never retries inside a call: a look at a job that fails is the next look, a minute
later, and a request is never sent twice."""
MAX_ERRORS = 20
MAX_ERROR = 500


@dataclass(frozen=True)
class Preview:
    """The preview submission a *Go live* promotes."""

    submission_id: str
    created: datetime | None


@dataclass(frozen=True)
class JobState:
    state: PublishState
    errors: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        return self.state not in (PublishState.RUNNING, PublishState.SENDING)


def flatten_errors(errors: object) -> list[str]:
    """A job's ``errors`` as lines, most specific first: each error's nested ``details`` before the
    error itself (cloudpub's certification failure reads "invalidState: Issues found during
    Certification." first), strings as they are, duplicates once, bounded."""
    found: list[str] = []

    def walk(item: object, depth: int) -> Iterator[str]:
        if depth > 10:
            return
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for inner in item.get("details") or () if isinstance(item.get("details"), list) else ():
                yield from walk(inner, depth + 1)
            code, message = item.get("code"), item.get("message")
            text = ": ".join(str(p) for p in (code, message) if isinstance(p, str) and p)
            if text:
                yield text

    for item in (errors if isinstance(errors, list) else [])[:MAX_ERRORS]:
        for line in walk(item, 0):
            clean = safetext.one_line(line[: MAX_ERROR * 2])[:MAX_ERROR]
            if clean and clean not in found:
                found.append(clean)
            if len(found) >= MAX_ERRORS:
                return found
    return found


_JOB_RESULTS = {
    "succeeded": PublishState.SUCCEEDED,
    "failed": PublishState.FAILED,
    "cancelled": PublishState.CANCELLED,
    "canceled": PublishState.CANCELLED,
}


def job_state(status: dict[str, Any]) -> PublishState:
    """A configure status's state: running until ``jobStatus`` is ``completed``, then its result (an
    unknown result is read as failed, and named in the log)."""
    if str(status.get("jobStatus") or "").lower() != "completed":
        return PublishState.RUNNING
    result = str(status.get("jobResult") or "").lower()
    if result not in _JOB_RESULTS:
        log.warning("Partner Center: a completed job with the result %r: read as failed", result[:40])
    return _JOB_RESULTS.get(result, PublishState.FAILED)


def _object(raw: Any, what: str) -> dict[str, Any]:
    if isinstance(raw, list) and raw and isinstance(raw[0], dict):
        return raw[0]
    if not isinstance(raw, dict):
        raise ProductError(f"{what}: not a JSON object")
    return raw


class PartnerCenterPublisher:
    api_name = "partner-center"

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def preview(self, product: str) -> Preview | None:
        """The preview submission that awaits the publisher's sign-off now, read again (None: no
        preview awaits it)."""
        subs: list[Submission] = []
        for page in self.api.pages(f"submission/{product}"):
            for raw in page.get("value") or [] if isinstance(page, dict) else []:
                try:
                    subs.append(Submission.model_validate(raw))
                except ValidationError:
                    continue  # the sync names what it cannot read; here only the preview matters
        reading = read_submissions(subs)
        decider = reading.decider
        if reading.status is not OfferStatus.SIGNOFF or decider is None or decider.run is not Run.SUCCEEDED:
            return None
        return Preview(submission_id=decider.sub.id, created=decider.sub.created)

    def go_live(self, product: str, preview: Preview) -> str:
        """``POST configure`` with the preview submission and the live target: the job's id."""
        body = {
            "$schema": CONFIGURE_SCHEMA,
            "resources": [
                {
                    "$schema": SUBMISSION_SCHEMA,
                    "id": preview.submission_id,
                    "product": f"product/{product}",
                    "target": {"targetType": "live"},
                }
            ],
        }
        raw, _headers = self.api.post_json("configure", body)
        job = _object(raw, "the configure answer").get("jobId")
        if not isinstance(job, str) or not job or len(job) > 200 or "/" in job:
            raise ProductError("the configure answer: jobId: missing or not an id")
        return job

    def cancel(self, job: str) -> None:
        """``POST configure/<jobId>/cancel``: a job that cannot be cancelled answers 400."""
        self.api.post_json(f"configure/{job}/cancel")

    def job(self, job: str) -> JobState:
        """Where the job is: its status, and once completed its summary's errors."""
        status = _object(self.api.get_json(f"configure/{job}/status"), "the job status")
        state = job_state(status)
        if state is PublishState.RUNNING:
            return JobState(state)
        errors = flatten_errors(status.get("errors"))
        try:
            summary = _object(self.api.get_json(f"configure/{job}"), "the job summary")
            errors = flatten_errors(summary.get("errors")) or errors
        except ProductError as exc:  # the status has said how it ended: its own errors will do
            log.warning("Partner Center: the summary of job %s could not be read: %s", job, exc)
        return JobState(state, tuple(errors))


_OPERATION_STATES = {
    "complete": PublishState.SUCCEEDED,
    "completed": PublishState.SUCCEEDED,
    "succeeded": PublishState.SUCCEEDED,
    "failed": PublishState.FAILED,
    "canceled": PublishState.CANCELLED,
    "cancelled": PublishState.CANCELLED,
}


def _operation_messages(operation: dict[str, Any]) -> list[str]:
    """An operation's messages, then its failed steps' ones."""
    raw: list[Any] = list(operation.get("messages") or [])
    for step in operation.get("steps") or []:
        if isinstance(step, dict) and str(step.get("status") or "").lower() == "failed":
            raw += list(step.get("messages") or []) or [f"{step.get('stepName') or 'a step'} failed"]
    texts = [m if isinstance(m, str) else (m.get("messageText") or m.get("message")) for m in raw if m]
    return flatten_errors([t for t in texts if isinstance(t, str)])


class CloudPartnerPublisher:
    api_name = "cloud-partner-portal"

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def go_live(self, publisher: str, offer: str) -> str:
        """``POST …/golive``: the operation's path (from ``Location``, on the API's own host)."""
        _raw, headers = self.api.post_json(
            f"api/publishers/{quote(publisher, safe='')}/offers/{quote(offer, safe='')}/golive"
        )
        location = headers.get("Location", "").strip()
        if not location:
            raise ProductError("the go-live answer carries no Location header")
        return self.api.resolve(location)[:500]

    def cancel(self, publisher: str, offer: str) -> str:
        """``POST …/cancel``: the cancel operation's path (from ``Location``; "" when none is given)."""
        _raw, headers = self.api.post_json(
            f"api/publishers/{quote(publisher, safe='')}/offers/{quote(offer, safe='')}/cancel"
        )
        location = headers.get("Location", "").strip()
        return self.api.resolve(location)[:500] if location else ""

    def job(self, job: str) -> JobState:
        operation = _object(self.api.get_json(job), "the operation")
        state = _OPERATION_STATES.get(str(operation.get("status") or "").lower(), PublishState.RUNNING)
        return JobState(state, tuple(_operation_messages(operation)) if state is PublishState.FAILED else ())


@dataclass(frozen=True)
class Publishers:
    """The APIs *Go live* may use, as the settings configure them (None: not configured); and,
    with ``stored``, those of each workspace's stored connection, by its id."""

    partner_center: PartnerCenterPublisher | None
    cloud_partner: CloudPartnerPublisher | None
    stored: Callable[[int], Publishers | None] | None = None

    def for_api(self, api: str) -> PartnerCenterPublisher | CloudPartnerPublisher | None:
        return self.partner_center if api == PartnerCenterPublisher.api_name else self.cloud_partner

    def of_connection(self, connection_id: int | None) -> Publishers | None:
        """The publishers of an offer read by ``connection_id`` (None: the environment's); None
        when that connection is gone or cannot sign in."""
        if connection_id is None:
            return self
        return self.stored(connection_id) if self.stored is not None else None


def of_apis(
    *,
    partner_center_api: ApiClient | None,
    cloud_partner_api: ApiClient | None,
) -> Publishers:
    """The publishers of the APIs given (a stored connection's)."""
    return Publishers(
        partner_center=PartnerCenterPublisher(partner_center_api) if partner_center_api else None,
        cloud_partner=CloudPartnerPublisher(cloud_partner_api) if cloud_partner_api else None,
    )


def from_settings(
    settings: Settings, *, http: httpx.Client, tokens: TokenProvider, policy: RetryPolicy | None = None
) -> Publishers:
    policy = policy or ONE_TRY
    pc = partner_center.API.client(settings.partner_center_api_url, http=http, tokens=tokens, policy=policy)
    cpp = cloud_partner.API.client(settings.cloud_partner_api_url, http=http, tokens=tokens, policy=policy)
    return Publishers(
        partner_center=PartnerCenterPublisher(pc) if settings.partner_center_publisher_id else None,
        cloud_partner=CloudPartnerPublisher(cpp) if settings.cloud_partner_publisher_ids else None,
    )

"""From Partner Center's submissions to an offer's status: the one rule (docs/partner-center.md, *From
submissions to a status*), as a pure function of the submission list.

The rule, with where each part comes from:

- Only ``preview`` and ``live`` submissions decide. ``draft`` and every other target type
  (``flight``, ``sandbox``, ``certification``, ``retail``: Microsoft's schemas allow them; or one
  nobody has seen yet) are kept out of the decision.
- A preview that went live is listed under both targets with the same submission id, possibly
  with the same ``created`` (Learn, "Querying your submissions"; release-engineering/cloudpub,
  ``_is_submission_in_preview``): one submission, the live one.
- Any preview or live submission that is ``notStarted`` or ``running`` means *Publish in
  progress*, whatever else is completed (cloudpub, ``ensure_can_publish``).
- Otherwise the newest submission decides: ``failed`` is *Publish failed*; ``succeeded`` is *Live*
  when it is listed under ``live``, else *Awaiting publisher sign-off*; ``cancelled`` is *Publish
  canceled*. Newest by ``created``; ties by the number in the id's last segment, never by the order
  of the list.
- A submission whose ``status`` or ``result`` is missing or not one Microsoft documents is kept out
  of the decision and named (``unknown``), so the source can log each such value once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from storage.statuses import OfferStatus, StepState


class Shape(BaseModel):
    """What Microsoft's JSON is read as: unknown fields ignored, every string bounded."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_max_length=20_000)


class Target(Shape):
    target_type: str = Field(alias="targetType", min_length=1, max_length=80)


class Submission(Shape):
    id: str = Field(min_length=1, max_length=300)
    target: Target
    status: str | None = Field(default=None, max_length=80)
    result: str | None = Field(default=None, max_length=80)
    created: datetime | None = None
    lifecycle_state: str | None = Field(default=None, alias="lifecycleState", max_length=80)

    @field_validator("created")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def number(self) -> str:
        """The id's last segment (``submission/<product>/<n>``)."""
        return self.id.rsplit("/", 1)[-1]

    @property
    def target_type(self) -> str:
        return self.target.target_type


DECIDING = ("preview", "live")
OTHER_TARGETS = frozenset({"draft", "flight", "sandbox", "certification", "retail"})
"""Target types Microsoft's schemas name that do not decide the status."""


class Run(StrEnum):
    """Where one listed submission is."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


_STATUSES_RUNNING = frozenset({"notstarted", "running"})
_RESULTS = {
    "succeeded": Run.SUCCEEDED,
    "failed": Run.FAILED,
    "cancelled": Run.CANCELED,
    "canceled": Run.CANCELED,
}
_STEP_STATES = {
    Run.RUNNING: StepState.IN_PROGRESS,
    Run.SUCCEEDED: StepState.COMPLETE,
    Run.FAILED: StepState.REJECTED,
    Run.CANCELED: StepState.CANCELED,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def run_of(sub: Submission) -> Run | None:
    """The submission's run, or None when its status and result do not say one Microsoft documents."""
    status = (sub.status or "").lower()
    if status in _STATUSES_RUNNING:
        return Run.RUNNING
    if status != "completed":
        return None
    return _RESULTS.get((sub.result or "").lower())


def order_key(sub: Submission) -> tuple[datetime, int, str]:
    """Newer sorts later: by ``created``, then by the id's number (as a number), then by the id."""
    number = int(sub.number) if sub.number.isdigit() else -1
    return (sub.created or _EPOCH, number, sub.id)


@dataclass(frozen=True)
class Entry:
    """A submission as listed under one deciding target, with its run."""

    sub: Submission
    run: Run

    @property
    def target(self) -> str:
        return self.sub.target_type


@dataclass(frozen=True)
class StepReading:
    state: StepState
    at: datetime | None
    submission: Submission | None


_NOT_STARTED = StepReading(StepState.NOT_STARTED, None, None)


@dataclass(frozen=True)
class Reading:
    """What a submission list says: the status, the entry that decides it (whose target's
    validations explain it), the three steps the API tells, and what was kept out as unknown."""

    status: OfferStatus
    decider: Entry | None
    preview: StepReading
    signoff: StepReading
    live: StepReading
    deprecated: bool
    unknown: frozenset[tuple[str, str]]
    """(field, value) pairs Microsoft does not document, each kept out of the decision."""

    @property
    def target(self) -> str | None:
        """The target whose resource tree explains the status (None: nothing to explain)."""
        return self.decider.target if self.decider is not None else None


def _unknown_of(sub: Submission) -> Iterable[tuple[str, str]]:
    target = sub.target_type
    if target not in DECIDING:
        if target not in OTHER_TARGETS:
            yield ("targetType", target)
        return
    status = (sub.status or "").lower()
    if status not in _STATUSES_RUNNING and status != "completed":
        yield ("status", sub.status or "(missing)")
    elif status == "completed" and (sub.result or "").lower() not in _RESULTS:
        yield ("result", sub.result or "(missing)")


def entries_of(submissions: Sequence[Submission]) -> list[Entry]:
    """The preview and live submissions that decide, each with its run."""
    found = []
    for sub in submissions:
        if sub.target_type in DECIDING:
            run = run_of(sub)
            if run is not None:
                found.append(Entry(sub, run))
    return found


def _live_of(entries: Sequence[Entry], focus: Entry) -> Entry | None:
    """The live entry of the focus's submission (the same id listed under ``live``)."""
    same = [e for e in entries if e.target == "live" and e.sub.id == focus.sub.id]
    return max(same, key=lambda e: order_key(e.sub)) if same else None


def _focus(entries: Sequence[Entry]) -> Entry:
    """The entry that decides: the newest running one if any, else the newest submission, read as
    its live entry when it is listed under both targets."""
    running = [e for e in entries if e.run is Run.RUNNING]
    newest = max(running or entries, key=lambda e: order_key(e.sub))
    if running:
        return newest
    return _live_of(entries, newest) or newest


def _status(focus: Entry) -> OfferStatus:
    if focus.run is Run.RUNNING:
        return OfferStatus.IN_PROGRESS
    if focus.run is Run.FAILED:
        return OfferStatus.FAILED
    if focus.run is Run.CANCELED:
        return OfferStatus.CANCELED
    return OfferStatus.LIVE if focus.target == "live" else OfferStatus.SIGNOFF


def _steps(entries: Sequence[Entry], focus: Entry) -> tuple[StepReading, StepReading, StepReading]:
    sub, state = focus.sub, _STEP_STATES[focus.run]
    if focus.target == "preview":
        waiting = focus.run is Run.SUCCEEDED
        signoff = StepReading(StepState.WAITING_FOR_PUBLISHER_REVIEW, sub.created, sub) if waiting else None
        return StepReading(state, sub.created, sub), signoff or _NOT_STARTED, _NOT_STARTED
    previews = [e for e in entries if e.target == "preview" and e.sub.id == sub.id]
    if previews:
        own = max(previews, key=lambda e: order_key(e.sub))
        preview = StepReading(_STEP_STATES[own.run], own.sub.created, own.sub)
    else:
        preview = StepReading(StepState.COMPLETE, None, None)
    return preview, StepReading(StepState.COMPLETE, sub.created, sub), StepReading(state, sub.created, sub)


def read_submissions(submissions: Sequence[Submission], *, product_deprecated: bool = False) -> Reading:
    """The status and steps a submission list means (the module's rule)."""
    unknown = frozenset(pair for sub in submissions for pair in _unknown_of(sub))
    entries = entries_of(submissions)
    lives = [e for e in entries if e.target == "live"]
    newest_live = max(lives, key=lambda e: order_key(e.sub)) if lives else None
    deprecated = product_deprecated or (
        newest_live is not None and (newest_live.sub.lifecycle_state or "").lower() == "deprecated"
    )
    if not entries:
        return Reading(
            OfferStatus.NOT_STARTED, None, _NOT_STARTED, _NOT_STARTED, _NOT_STARTED, deprecated, unknown
        )
    focus = _focus(entries)
    preview, signoff, live = _steps(entries, focus)
    return Reading(_status(focus), focus, preview, signoff, live, deprecated, unknown)


def status_of(submissions: Sequence[Submission]) -> OfferStatus:
    """The offer's publish status from its submissions (without the listing: see ``Reading.deprecated``)."""
    return read_submissions(submissions).status

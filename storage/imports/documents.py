"""The import document: parsing and validation (pydantic models) into plain values, before anything
is written.

    {"offers": [{"publisherId": "...", "offerId": "...", "name": "...", "offerType": "...",
                 "listing": "listed" | "delisted",            (optional, default listed)
                 "status": <the Cloud Partner Portal status document>}]}

Every problem is reported with where it is, e.g.
``offers[2] (woodgrove-insights-app): status.steps[4].status: unknown step status "done"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from storage import limits, safetext
from storage.errors import DocumentError
from storage.imports.fitting import count_problems
from storage.imports.json_edge import load_json, shape_problem
from storage.statuses import (
    DOCUMENT_STATUSES,
    MESSAGE_LEVELS,
    OFFER_TYPES,
    STEP_STATES,
    Listing,
    MessageLevel,
    OfferStatus,
    OfferType,
    StepState,
)

MAX_ERRORS = limits.MAX_PROBLEMS


@dataclass(frozen=True)
class MessageIn:
    level: MessageLevel
    text: str  # safe text, see storage.safetext
    timestamp: datetime


@dataclass(frozen=True)
class StepIn:
    position: int
    step_id: str
    name: str
    description: str
    state: StepState
    estimated_time: str
    progress: int
    messages: tuple[MessageIn, ...]


@dataclass(frozen=True)
class OfferIn:
    publisher_id: str
    offer_id: str
    name: str
    offer_type: str
    """One of :class:`OfferType`'s values, or a type only a sync source knows, kept as it names it."""
    listing: Listing
    publish_status: OfferStatus
    messages: tuple[MessageIn, ...]
    steps: tuple[StepIn, ...]
    preview_links: tuple[str, ...]
    live_links: tuple[str, ...]
    notification_emails: tuple[str, ...]
    details_unread: str | None = None
    """Why a sync could not read the source's details of the offer (its validations): the status
    stands without them. None: read, or nothing to read (imports)."""


_PROBLEMS: dict[str, str] = {
    "string_type": "expected a string, got {value}",
    "list_type": "expected an array, got {value}",
    "model_type": "expected an object, got {value}",
    "model_attributes_type": "expected an object, got {value}",
    "dict_type": "expected an object, got {value}",
    "string_too_long": "longer than {max_length} characters",
    "string_too_short": "must not be empty",
    "missing": "missing",
}


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _problem(kind: str, message: str, value: Any, **extra: Any) -> PydanticCustomError:
    """A field's problem, worded for the person who wrote the document (``{value}`` is shown as JSON)."""
    return PydanticCustomError(kind, message.replace("{value}", _show(value)), extra or None)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(error: ErrorDetails) -> str:
    template = _PROBLEMS.get(error["type"])
    if template is None:
        return error["msg"]
    ctx = error.get("ctx") or {}
    return template.format(value=_show(error.get("input")), **ctx)


def _lookup(table: dict[str, Any], unknown: str) -> Any:
    """A before-validator: a value from ``table`` by the text, compared case-insensitively; ``unknown``
    words the problem (``{value}`` is the text)."""

    def check(value: Any) -> Any:
        if not isinstance(value, str):
            raise _problem("string_type", "expected a string, got {value}", value)
        if not value.strip():
            raise _problem("string_too_short", "must not be empty", value)
        found = table.get(value.strip().lower())
        if found is None:
            raise _problem("unknown", unknown, value.strip())
        return found

    return check


def _timestamp(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _problem("timestamp", "expected an ISO-8601 string, got {value}", value)
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _problem("timestamp", "not an ISO-8601 timestamp: {value}", value) from None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _url(value: Any) -> str:
    url = safetext.safe_url(value) if isinstance(value, str) else None
    if url is None:
        raise _problem("url", "not an http(s) URL: {value}", value)
    return url


def _progress(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise _problem("progress", "expected a number from 0 to 100, got {value}", value)
    return round(value)


def split_emails(value: str) -> tuple[str, ...]:
    """A ``notificationEmails`` string (``,`` or ``;`` between addresses) as its addresses."""
    return tuple(e.strip() for e in value.replace(";", ",").split(",") if e.strip())


_STEP_STATES_TEXT = f" (expected one of {', '.join(s.value for s in StepState)})"
_STATUSES_TEXT = (
    " (expected one of neverPublished, notStarted, running, succeeded, canceled, failed, "
    "waitingForPublisherReview)"
)
_TYPES_TEXT = f" (expected one of {', '.join(t.value for t in OfferType)}, or Partner Center's)"


_LISTINGS = {listing.value: listing for listing in Listing}


class _Doc(BaseModel):
    """Fields as the document spells them; ``null`` counts as absent; strings are stripped."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {k: v.strip() if isinstance(v, str) else v for k, v in data.items() if v is not None}


def _one_line(value: Any) -> Any:
    return safetext.one_line(value) if isinstance(value, str) else value


OneLine = BeforeValidator(_one_line)
"""Names and ids are stored as one line, with nothing invisible (``safetext.one_line``)."""


class MessageDoc(_Doc):
    message_html: str = Field(alias="messageHtml", min_length=1, max_length=limits.MAX_MESSAGE_HTML)
    level: Annotated[MessageLevel, BeforeValidator(_lookup(MESSAGE_LEVELS, "unknown message level {value}"))]
    timestamp: Annotated[datetime, BeforeValidator(_timestamp)]


class StepDoc(_Doc):
    id: Annotated[str, OneLine] = Field(min_length=1, max_length=200)
    step_name: Annotated[str, OneLine] = Field(alias="stepName", min_length=1, max_length=500)
    description: str = Field(default="", max_length=4000)
    status: Annotated[
        StepState, BeforeValidator(_lookup(STEP_STATES, "unknown step status {value}" + _STEP_STATES_TEXT))
    ]
    estimated_time_frame: Annotated[str, OneLine] = Field(
        default="", alias="estimatedTimeFrame", max_length=200
    )
    progress_percentage: Annotated[int, BeforeValidator(_progress)] = Field(
        default=0, alias="progressPercentage"
    )
    messages: list[MessageDoc] = Field(default_factory=list)


class StatusDoc(_Doc):
    status: Annotated[
        OfferStatus,
        BeforeValidator(_lookup(DOCUMENT_STATUSES, "unknown offer status {value}" + _STATUSES_TEXT)),
    ]
    messages: list[MessageDoc] = Field(default_factory=list)
    steps: list[StepDoc] = Field(default_factory=list)
    preview_links: list[Annotated[str, BeforeValidator(_url)]] = Field(
        default_factory=list, alias="previewLinks"
    )
    live_links: list[Annotated[str, BeforeValidator(_url)]] = Field(default_factory=list, alias="liveLinks")
    notification_emails: str = Field(default="", alias="notificationEmails", max_length=2000)


class OfferDoc(_Doc):
    publisher_id: Annotated[str, OneLine] = Field(alias="publisherId", min_length=1, max_length=200)
    offer_id: Annotated[str, OneLine] = Field(alias="offerId", min_length=1, max_length=200)
    name: Annotated[str, OneLine] = Field(min_length=1, max_length=500)
    offer_type: str = Field(alias="offerType", min_length=1, max_length=80)
    listing: Annotated[
        Listing, BeforeValidator(_lookup(_LISTINGS, 'expected "listed" or "delisted", got {value}'))
    ] = Listing.LISTED
    status: StatusDoc


def _messages(docs: list[MessageDoc]) -> tuple[MessageIn, ...]:
    return tuple(
        MessageIn(level=m.level, text=safetext.from_html(m.message_html), timestamp=m.timestamp) for m in docs
    )


def _offer_in(doc: OfferDoc, offer_type: str) -> OfferIn:
    status = doc.status
    return OfferIn(
        publisher_id=doc.publisher_id,
        offer_id=doc.offer_id,
        name=doc.name,
        offer_type=offer_type,
        listing=doc.listing,
        publish_status=status.status,
        messages=_messages(status.messages),
        steps=tuple(
            StepIn(
                position=i,
                step_id=step.id,
                name=step.step_name,
                description=step.description,
                state=step.status,
                estimated_time=step.estimated_time_frame,
                progress=step.progress_percentage,
                messages=_messages(step.messages),
            )
            for i, step in enumerate(status.steps)
        ),
        preview_links=tuple(status.preview_links),
        live_links=tuple(status.live_links),
        notification_emails=split_emails(status.notification_emails),
    )


def _read_offer(
    raw: Any, index: int, errors: list[str], *, where: str = "offers", known_types_only: bool = True
) -> OfferIn | None:
    """One offer, or None with every problem appended to ``errors`` as ``label: path: problem``."""
    offer_id_raw = raw.get("offerId") if isinstance(raw, dict) else None
    label = f"{where}[{index}]" + (
        f" ({offer_id_raw})" if isinstance(offer_id_raw, str) and offer_id_raw else ""
    )
    before = len(errors)
    over = count_problems(raw)
    if over:  # too many items: refused before any of them is built
        errors.extend(f"{label}: {problem}" for problem in over)
        return None
    doc: OfferDoc | None = None
    try:
        doc = OfferDoc.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            path = _path(error["loc"])
            errors.append(f"{label}: {path}: {_describe(error)}" if path else f"{label}: {_describe(error)}")
    # What the models cannot see field by field is checked on the raw offer, so that every problem
    # of a document is listed, not only the first kind.
    errors.extend(f"{label}: {problem}" for problem in _cross_checks(raw, known_types_only=known_types_only))
    if doc is None or len(errors) > before:
        return None
    known = OFFER_TYPES.get(doc.offer_type.lower())
    return _offer_in(doc, known.value if known else doc.offer_type[:40])


def _cross_checks(raw: Any, *, known_types_only: bool) -> list[str]:
    """The offer type (a known one, for imports), duplicate step ids, and every bad e-mail address."""
    if not isinstance(raw, dict):
        return []
    problems: list[str] = []
    for key in ("publisherId", "offerId") if known_types_only else ():
        value = raw.get(key)
        mixed = safetext.mixed_scripts(value) if isinstance(value, str) else None
        if mixed is not None:
            first, other, letter = mixed[0].title(), mixed[1].title(), mixed[2]
            problems.append(
                f'{key}: mixes {first} and {other} letters ("{letter}" is {other}): refused, since it could '
                "pass for another offer's id"
            )
    offer_type = raw.get("offerType")
    known = OFFER_TYPES.get(offer_type.strip().lower()) if isinstance(offer_type, str) else None
    if known_types_only and isinstance(offer_type, str) and offer_type.strip() and known is None:
        problems.append(f"offerType: unknown offer type {_show(offer_type.strip())}{_TYPES_TEXT}")
    status = raw.get("status")
    steps = status.get("steps") if isinstance(status, dict) else None
    seen: set[str] = set()
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        step_id = step.get("id") if isinstance(step, dict) else None
        if isinstance(step_id, str) and step_id.strip():
            if step_id.strip() in seen:
                problems.append(f"status.steps[{i}].id: duplicate step id {_show(step_id.strip())}")
            seen.add(step_id.strip())
    emails = status.get("notificationEmails") if isinstance(status, dict) else None
    for email in split_emails(emails) if isinstance(emails, str) else ():
        if "@" not in email or " " in email or len(email) > 320:
            problems.append(f"status.notificationEmails: not an email address: {_show(email)}")
    return problems


def parse_offer(raw: Any, *, source: str) -> OfferIn:
    """One offer in the import format (a sync source's answer), validated as an import validates it;
    an offer type outside :class:`OfferType` is kept as it is named. Raises :class:`DocumentError`."""
    problem = shape_problem(raw)
    if problem is not None:
        raise DocumentError(f"{source}: {problem}")
    errors: list[str] = []
    offer = _read_offer(raw, 0, errors, where=source, known_types_only=False)
    if offer is None or errors:
        raise DocumentError("; ".join(errors[:MAX_ERRORS]) or f"{source}: not an offer")
    return offer


def parse_document(data: str | bytes, *, source: str = "input") -> list[OfferIn]:
    """Parse and validate a whole import document, or raise :class:`DocumentError` naming every problem."""
    doc = load_json(data, source=source)
    if not isinstance(doc, dict) or "offers" not in doc:
        raise DocumentError(f'{source}: expected an object with an "offers" array at the top')
    raw_offers = doc["offers"]
    if not isinstance(raw_offers, list):
        raise DocumentError(f'{source}: "offers" must be an array, got {_show(raw_offers)}')
    if len(raw_offers) > limits.MAX_OFFERS_PER_DOCUMENT:
        raise DocumentError(
            f"{source}: offers: {len(raw_offers):,} offers, more than the limit of "
            f"{limits.MAX_OFFERS_PER_DOCUMENT:,} per document; nothing was imported (split it)"
        )
    errors: list[str] = []
    offers: list[OfferIn] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(raw_offers):
        if len(errors) > MAX_ERRORS:
            break  # the rest is not read: a document this wrong is refused all the same
        offer = _read_offer(raw, index, errors)
        if offer is None:
            continue
        key = (offer.publisher_id, offer.offer_id)
        if key in seen:
            errors.append(
                f"offers[{index}] ({offer.offer_id}): offerId: the same offer as offers[{seen[key]}] "
                f"(publisher {_show(offer.publisher_id)})"
            )
        seen[key] = index
        offers.append(offer)
    if errors:
        raise DocumentError(_refusal(source, errors, complete=len(errors) <= MAX_ERRORS))
    return offers


def _refusal(source: str, errors: list[str], *, complete: bool) -> str:
    """The problems of a refused document, the first ``MAX_ERRORS`` of them."""
    shown = errors[:MAX_ERRORS]
    if complete:
        lines = [f"{source}: {len(errors)} problem(s), nothing was imported:", *shown]
    else:
        lines = [f"{source}: more than {MAX_ERRORS} problems, nothing was imported; the first {MAX_ERRORS}:"]
        lines += [*shown, "... and more (validation stopped there)"]
    return "\n".join(lines)

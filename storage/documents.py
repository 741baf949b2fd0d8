"""The import document: parsing and validation into plain values, before anything is written.

    {"offers": [{"publisherId": "...", "offerId": "...", "name": "...", "offerType": "...",
                 "listing": "listed" | "delisted",            (optional, default listed)
                 "status": <the CPP status document, domain.md §3>}]}

Every problem is reported with where it is, e.g.
``offers[2] (woodgrove-insights-app): status.steps[4].status: unknown step status "done"``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from storage import safetext
from storage.errors import DocumentError
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

MAX_ERRORS = 20
MAX_DEPTH = 32
"""Deeper JSON than any document of ours needs is refused before it is read further."""


def shape_problem(value: Any, *, max_depth: int = MAX_DEPTH, nul: bool = True) -> str | None:
    """The first thing in decoded JSON that no document may hold, with where it is: nesting deeper
    than ``max_depth``, or a NUL character in a string (PostgreSQL cannot store one). None if clean.
    Iterative, so a hostile document cannot exhaust the stack. ``nul=False`` checks the depth only
    (a list whose items are checked one by one later)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if nul and "\x00" in item:
                return f"{path or 'the document'}: contains a NUL character"
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= max_depth:
            return f"{path or 'the document'}: nested deeper than {max_depth} levels"
        if isinstance(item, dict):
            for key, child in item.items():
                if nul and "\x00" in key:
                    return f"{path or 'the document'}: a key contains a NUL character"
                stack.append((child, f"{path}.{key}" if path else key, depth + 1))
        else:
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
    return None


def load_json(data: str | bytes, *, source: str, nul: bool = True) -> Any:
    """Decode JSON and check its shape (:func:`shape_problem`); a clear :class:`DocumentError`
    for malformed, non-UTF-8, too deep or NUL-carrying input, never a RecursionError."""
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise DocumentError(f"{source}: nested deeper than {MAX_DEPTH} levels") from None
    problem = shape_problem(doc, nul=nul)
    if problem is not None:
        raise DocumentError(f"{source}: {problem}")
    return doc


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


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.items.append(f"{where}: {problem}" if where else problem)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


class _Reader:
    """Reads one offer, recording every problem with its path (relative to the offer)."""

    def __init__(self, errors: _Errors, prefix: str) -> None:
        self.errors = errors
        self.prefix = prefix

    def fail(self, path: str, problem: str) -> None:
        self.errors.add(f"{self.prefix}: {path}" if path else self.prefix, problem)

    def string(
        self, obj: dict[str, Any], key: str, path: str, *, required: bool, max_len: int, default: str = ""
    ) -> str:
        full = f"{path}.{key}" if path else key
        if key not in obj or obj[key] is None:
            if required:
                self.fail(full, "missing")
            return default
        value = obj[key]
        if not isinstance(value, str):
            self.fail(full, f"expected a string, got {_show(value)}")
            return default
        text = str(value).strip()
        if required and not text:
            self.fail(full, "must not be empty")
        if len(text) > max_len:
            self.fail(full, f"longer than {max_len} characters")
            return text[:max_len]
        return text

    def array(self, obj: dict[str, Any], key: str, path: str) -> list[Any]:
        full = f"{path}.{key}" if path else key
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(full, f"expected an array, got {_show(value)}")
            return []
        return value

    def messages(self, obj: dict[str, Any], path: str) -> tuple[MessageIn, ...]:
        out: list[MessageIn] = []
        for i, raw in enumerate(self.array(obj, "messages", path)):
            where = f"{path}.messages[{i}]"
            if not isinstance(raw, dict):
                self.fail(where, f"expected an object, got {_show(raw)}")
                continue
            html = self.string(raw, "messageHtml", where, required=True, max_len=20_000)
            level_raw = self.string(raw, "level", where, required=True, max_len=40)
            level = MESSAGE_LEVELS.get(level_raw.lower())
            if level is None and level_raw:
                self.fail(f"{where}.level", f"unknown message level {_show(level_raw)}")
            stamp = self.timestamp(raw, where)
            if level is not None and stamp is not None:
                out.append(MessageIn(level=level, text=safetext.from_html(html), timestamp=stamp))
        return tuple(out)

    def timestamp(self, raw: dict[str, Any], where: str) -> datetime | None:
        value = raw.get("timestamp")
        if value is None:
            self.fail(f"{where}.timestamp", "missing")
            return None
        if not isinstance(value, str):
            self.fail(f"{where}.timestamp", f"expected an ISO-8601 string, got {_show(value)}")
            return None
        try:
            stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{where}.timestamp", f"not an ISO-8601 timestamp: {_show(value)}")
            return None
        return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)

    def links(self, obj: dict[str, Any], key: str, path: str) -> tuple[str, ...]:
        out: list[str] = []
        for i, value in enumerate(self.array(obj, key, path)):
            url = safetext.safe_url(value) if isinstance(value, str) else None
            if url is None:
                self.fail(f"{path}.{key}[{i}]", f"not an http(s) URL: {_show(value)}")
            else:
                out.append(url)
        return tuple(out)

    def steps(self, status: dict[str, Any]) -> tuple[StepIn, ...]:
        out: list[StepIn] = []
        seen_ids: set[str] = set()
        for i, raw in enumerate(self.array(status, "steps", "status")):
            where = f"status.steps[{i}]"
            if not isinstance(raw, dict):
                self.fail(where, f"expected an object, got {_show(raw)}")
                continue
            step_id = self.string(raw, "id", where, required=True, max_len=200)
            if step_id and step_id in seen_ids:
                self.fail(f"{where}.id", f"duplicate step id {_show(step_id)}")
            seen_ids.add(step_id)
            name = self.string(raw, "stepName", where, required=True, max_len=500)
            description = self.string(raw, "description", where, required=False, max_len=4000)
            state_raw = self.string(raw, "status", where, required=True, max_len=60)
            state = STEP_STATES.get(state_raw.lower())
            if state is None and state_raw:
                known = ", ".join(s.value for s in StepState)
                self.fail(
                    f"{where}.status", f"unknown step status {_show(state_raw)} (expected one of {known})"
                )
            estimate = self.string(raw, "estimatedTimeFrame", where, required=False, max_len=200)
            progress = raw.get("progressPercentage", 0)
            if progress is None:
                progress = 0
            if (
                isinstance(progress, bool)
                or not isinstance(progress, int | float)
                or not 0 <= progress <= 100
            ):
                self.fail(
                    f"{where}.progressPercentage", f"expected a number from 0 to 100, got {_show(progress)}"
                )
                progress = 0
            messages = self.messages(raw, where)
            if state is not None:
                out.append(
                    StepIn(
                        position=i,
                        step_id=step_id,
                        name=name,
                        description=description,
                        state=state,
                        estimated_time=estimate,
                        progress=round(progress),
                        messages=messages,
                    )
                )
        return tuple(out)


def _read_offer(
    raw: Any, index: int, errors: _Errors, *, where: str = "offers", known_types_only: bool = True
) -> OfferIn | None:
    if not isinstance(raw, dict):
        errors.add(f"{where}[{index}]", f"expected an object, got {_show(raw)}")
        return None
    offer_id_raw = raw.get("offerId")
    label = f"{where}[{index}]" + (
        f" ({offer_id_raw})" if isinstance(offer_id_raw, str) and offer_id_raw else ""
    )
    before = len(errors.items)
    r = _Reader(errors, label)
    publisher_id = r.string(raw, "publisherId", "", required=True, max_len=200)
    offer_id = r.string(raw, "offerId", "", required=True, max_len=200)
    name = r.string(raw, "name", "", required=True, max_len=500)
    type_raw = r.string(raw, "offerType", "", required=True, max_len=80)
    known_type = OFFER_TYPES.get(type_raw.lower())
    offer_type = known_type.value if known_type else (None if known_types_only else type_raw[:40])
    if offer_type is None and type_raw:
        known = ", ".join(t.value for t in OfferType)
        r.fail(
            "offerType",
            f"unknown offer type {_show(type_raw)} (expected one of {known}, or Partner Center's)",
        )
    listing_raw = r.string(raw, "listing", "", required=False, max_len=40, default="listed")
    try:
        listing = Listing(listing_raw.lower())
    except ValueError:
        r.fail("listing", f'expected "listed" or "delisted", got {_show(listing_raw)}')
        listing = Listing.LISTED
    status = raw.get("status")
    if not isinstance(status, dict):
        r.fail("status", "missing" if status is None else f"expected an object, got {_show(status)}")
        return None
    status_raw = r.string(status, "status", "status", required=True, max_len=60)
    publish_status = DOCUMENT_STATUSES.get(status_raw.lower())
    if publish_status is None and status_raw:
        known = ", ".join(["neverPublished", "notStarted", "running", "succeeded", "canceled", "failed"])
        r.fail(
            "status.status",
            f"unknown offer status {_show(status_raw)} (expected one of {known}, waitingForPublisherReview)",
        )
    messages = r.messages(status, "status")
    steps = r.steps(status)
    preview = r.links(status, "previewLinks", "status")
    live = r.links(status, "liveLinks", "status")
    emails_raw = r.string(status, "notificationEmails", "status", required=False, max_len=2000)
    emails = tuple(e.strip() for e in emails_raw.replace(";", ",").split(",") if e.strip())
    for email in emails:
        if "@" not in email or " " in email or len(email) > 320:
            r.fail("status.notificationEmails", f"not an email address: {_show(email)}")
    if len(errors.items) > before or offer_type is None or publish_status is None:
        return None
    return OfferIn(
        publisher_id=publisher_id,
        offer_id=offer_id,
        name=name,
        offer_type=offer_type,
        listing=listing,
        publish_status=publish_status,
        messages=messages,
        steps=steps,
        preview_links=preview,
        live_links=live,
        notification_emails=emails,
    )


def parse_offer(raw: Any, *, source: str) -> OfferIn:
    """One offer in the import format (a sync source's answer), validated as an import validates it;
    an offer type outside :class:`OfferType` is kept as it is named. Raises :class:`DocumentError`."""
    problem = shape_problem(raw)
    if problem is not None:
        raise DocumentError(f"{source}: {problem}")
    errors = _Errors()
    offer = _read_offer(raw, 0, errors, where=source, known_types_only=False)
    if offer is None or errors.items:
        shown = errors.items[:MAX_ERRORS]
        raise DocumentError("; ".join(shown) or f"{source}: not an offer")
    return offer


def parse_document(data: str | bytes, *, source: str = "input") -> list[OfferIn]:
    """Parse and validate a whole import document, or raise :class:`DocumentError` naming every problem."""
    doc = load_json(data, source=source)
    if not isinstance(doc, dict) or "offers" not in doc:
        raise DocumentError(f'{source}: expected an object with an "offers" array at the top')
    raw_offers = doc["offers"]
    if not isinstance(raw_offers, list):
        raise DocumentError(f'{source}: "offers" must be an array, got {_show(raw_offers)}')
    errors = _Errors()
    offers: list[OfferIn] = []
    seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(raw_offers):
        offer = _read_offer(raw, index, errors)
        if offer is None:
            continue
        key = (offer.publisher_id, offer.offer_id)
        if key in seen:
            errors.add(
                f"offers[{index}] ({offer.offer_id})",
                f"offerId: the same offer as offers[{seen[key]}] (publisher {_show(offer.publisher_id)})",
            )
        seen[key] = index
        offers.append(offer)
    if errors.items:
        shown = errors.items[:MAX_ERRORS]
        more = len(errors.items) - len(shown)
        lines = [f"{source}: {len(errors.items)} problem(s), nothing was imported:", *shown]
        if more:
            lines.append(f"... and {more} more")
        raise DocumentError("\n".join(lines))
    return offers

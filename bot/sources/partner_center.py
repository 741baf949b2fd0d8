"""Partner Center's Product Ingestion API (docs/partner-center.md): products, their
submissions, and the validations of the target that decides the status, mapped to an offer.

Requests per product and pass: one for its submissions (more if they page), and one for the
resource tree of the target whose submission decides the status (none for a product with only a
draft), plus its share of the listing's pages. The rule from submissions to a status is
:mod:`bot.sources.submissions`."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import Field, ValidationError

from bot.settings import Settings
from bot.sources.auth import TokenProvider
from bot.sources.base import Listing, ProductError, ProductRef, describe
from bot.sources.http import ApiClient, ApiSpec, HttpSource, NotFound, RetryPolicy, Transient
from bot.sources.submissions import Reading, Shape, StepReading, Submission, read_submissions
from bot.sources.validations import KNOWN_LEVELS, ResourceTree, Validation, validation_messages
from storage import limits, safetext
from storage.imports.documents import MessageIn, OfferIn, StepIn, split_emails
from storage.imports.importer import Observation
from storage.imports.json_edge import shape_problem
from storage.statuses import (
    OFFER_TYPES,
    SUBMITTED_FORMAT,
    SYNC_FEED,
    SYNC_STEP_NAMES,
    OfferStatus,
    StepState,
    SyncStep,
)
from storage.statuses import Listing as ListingState

log = logging.getLogger(__name__)

NAME = SYNC_FEED
API = ApiSpec(
    label="Partner Center",
    scope="https://graph.microsoft.com/.default",
    query={"$version": "2022-07-01"},
    auth_hint=(
        "add the Entra ID application to Partner Center (Account settings > User management > "
        "Microsoft Entra applications) with the Manager role, and check AZURE_TENANT_ID"
    ),
)

_GUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_PRODUCT_ID = re.compile(rf"^product/({_GUID})$")


class Identity(Shape):
    external_id: str | None = Field(default=None, alias="externalId", min_length=1, max_length=200)
    external_id_old: str | None = Field(default=None, alias="externalID", min_length=1, max_length=200)


class Product(Shape):
    id: str = Field(pattern=_PRODUCT_ID.pattern)
    identity: Identity
    type: str = Field(min_length=1, max_length=80)
    alias: str = Field(min_length=1, max_length=500)
    lifecycle_state: str | None = Field(default=None, alias="lifecycleState", max_length=80)

    @property
    def guid(self) -> str:
        match = _PRODUCT_ID.match(self.id)
        assert match is not None  # the pattern above
        return match.group(1)

    @property
    def offer_id(self) -> str | None:
        return self.identity.external_id or self.identity.external_id_old


# --- unknown values, named once --------------------------------------------------------------

KNOWN_LIFECYCLES = frozenset({"generallyavailable", "deprecated", "deleted"})
_named: set[tuple[str, str]] = set()
_named_lock = threading.Lock()


def name_unknown(field: str, value: str, *, treated: str) -> bool:
    """Log an unknown enum value of Partner Center once per process (not once per product and pass);
    True when this call logged it."""
    key = (field, value)
    with _named_lock:
        if key in _named or len(_named) >= 1_000:
            return False
        _named.add(key)
    log.warning("Partner Center sent an unknown %s %r: %s", field, value[:80], treated)
    return True


def forget_named() -> None:
    """Forget which unknown values were logged (each test starts as a new process would)."""
    with _named_lock:
        _named.clear()


_TREATED = {
    "targetType": "kept out of the status (only preview and live submissions decide)",
    "status": "that submission is kept out of the status",
    "result": "that submission is kept out of the status",
    "level": "shown as a warning that names it",
}


# --- the mapping (pure) ------------------------------------------------------------------------


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def offer_type(product_type: str) -> str:
    """The project's offer type for a Partner Center product type; any other type is kept as named."""
    known = OFFER_TYPES.get(product_type.lower())
    return known.value if known else product_type[:40]


def _stamp(when: datetime | None) -> str:
    return when.strftime(SUBMITTED_FORMAT) if when else ""


def _deprecated(product: ProductRef) -> bool:
    return (product.lifecycle_state or "").lower() == "deprecated"


def _step(
    position: int,
    step_id: str,
    description: str,
    step: StepReading,
    messages: tuple[MessageIn, ...] = (),
) -> StepIn:
    return StepIn(
        position=position,
        step_id=step_id,
        name=SYNC_STEP_NAMES[SyncStep(step_id)],
        description=description,
        state=step.state,
        estimated_time=_stamp(step.at),
        progress=100 if step.state is StepState.COMPLETE else 0,
        messages=messages,
    )


SIGNOFF_TEXT = "Check the preview, then select Go live in Partner Center."


def steps_of(reading: Reading, messages: dict[str, tuple[MessageIn, ...]]) -> tuple[StepIn, ...]:
    """The three steps the API does tell: publish to preview, publisher sign-off, publish to live.
    ``messages`` are the validations of the deciding target (``preview`` or ``live``)."""
    preview, live = reading.preview.submission, reading.live.submission
    preview_text = f"Submission {preview.number} to the preview audience." if preview else ""
    live_text = f"Submission {live.number} to the marketplace." if live else ""
    return (
        _step(0, SyncStep.PREVIEW, preview_text, reading.preview, messages.get("preview", ())),
        _step(1, SyncStep.SIGNOFF, SIGNOFF_TEXT, reading.signoff),
        _step(2, SyncStep.LIVE, live_text, reading.live, messages.get("live", ())),
    )


def offer_from(
    ref: ProductRef,
    submissions: Sequence[Submission],
    validations: Sequence[Validation],
    *,
    notification_emails: tuple[str, ...] = (),
    details_unread: str | None = None,
) -> OfferIn:
    """The offer of ``ref`` from its submissions and the validations of the deciding target;
    ``details_unread`` says why those could not be read (the status stands without them)."""
    reading = read_submissions(submissions, product_deprecated=_deprecated(ref))
    by_target: dict[str, tuple[MessageIn, ...]] = {}
    decider = reading.decider
    if decider is not None and validations:
        when = decider.sub.created or _EPOCH
        failed = reading.status is OfferStatus.FAILED
        by_target[decider.target] = validation_messages(validations, when=when, failed=failed)
    return OfferIn(
        publisher_id=ref.publisher_id,
        offer_id=ref.offer_id,
        name=ref.name,
        offer_type=ref.offer_type,
        listing=ListingState.DELISTED if reading.deprecated else ListingState.LISTED,
        publish_status=reading.status,
        messages=(),
        steps=steps_of(reading, by_target),
        preview_links=(),
        live_links=(),
        notification_emails=notification_emails,
        details_unread=details_unread,
    )


# --- the source ----------------------------------------------------------------------------------


def _parse(model: type[Shape], raw: Any, what: str) -> Any:
    problem = shape_problem(raw)
    if problem is not None:
        raise ProductError(f"{what}: {problem}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ProductError(f"{what}: {describe(exc)}") from None


def _values(page: Any, what: str) -> list[Any]:
    values = page.get("value") if isinstance(page, dict) else None
    if not isinstance(values, list):
        raise ProductError(f'the {what} list has no "value" array')
    return values


class PartnerCenterSource(HttpSource):
    name = NAME
    label = API.label
    scope = API.scope

    def __init__(
        self,
        *,
        api: ApiClient,
        tokens: TokenProvider,
        publisher_id: str,
        notification_emails: tuple[str, ...] = (),
    ) -> None:
        super().__init__(api=api, tokens=tokens)
        self.publisher_id = publisher_id
        self.notification_emails = notification_emails

    def list_products(self) -> Listing:
        """Every product, page by page to the end. A page that fails after the first one ends the
        listing early: what was read is kept, and the listing is not complete (nobody is counted
        missing from it); a first page that fails fails the listing."""
        found = _Products(self.publisher_id)
        pages = self.api.pages("product")
        read = 0
        try:
            for page in pages:
                values = _values(page, "product")
                read += 1
                for index, raw in enumerate(values):
                    found.add(index, raw)
        except (ProductError, Transient) as exc:
            if read == 0:
                raise
            found.stopped = f"the product list stopped after page {read}: {exc}"
        return found.listing()

    def read(self, ref: ProductRef, *, observed_at: datetime) -> Observation:
        deleted = (ref.lifecycle_state or "").lower() == "deleted"
        try:
            submissions = self._submissions(ref)
        except NotFound:
            if not deleted:
                raise
            submissions = []  # a deleted draft may have no submissions left: it is still marked removed
        reading = read_submissions(submissions, product_deprecated=_deprecated(ref))
        for field, value in sorted(reading.unknown):
            name_unknown(field, value, treated=_TREATED[field])
        validations: list[Validation] = []
        unread: str | None = None
        if reading.target is not None:
            try:
                validations = self._validations(ref, reading.target)
            except (ProductError, Transient) as exc:  # 400, 404, a tree that does not parse, 5xx
                unread = str(exc)[: limits.MAX_REASON]
                log.warning(
                    "Partner Center: product %s (%s): details not read: %s", ref.key, ref.offer_id, unread
                )
        offer = offer_from(
            ref,
            submissions,
            validations,
            notification_emails=self.notification_emails,
            details_unread=unread,
        )
        return Observation(offer=offer, observed_at=observed_at, feed_key=ref.key, removed=deleted)

    def _validations(self, ref: ProductRef, target: str) -> list[Validation]:
        raw = self.api.get_json(f"resource-tree/product/{ref.key}", {"targetType": target})
        tree: ResourceTree = _parse(ResourceTree, raw, "resource tree")
        validations = [v for resource in tree.resources for v in resource.validations]
        for v in validations:
            if v.level.lower() not in KNOWN_LEVELS:
                name_unknown(
                    "validation level", v.level or "(missing)", treated="shown as a warning that names it"
                )
        return validations

    def _submissions(self, ref: ProductRef) -> list[Submission]:
        submissions: list[Submission] = []
        for page in self.api.pages(f"submission/{ref.key}"):
            for raw in _values(page, "submission"):
                submissions.append(_parse(Submission, raw, f"submission #{len(submissions)}"))
        return submissions


class _Products:
    """The products listed so far, and what could not be read."""

    def __init__(self, publisher_id: str) -> None:
        self.publisher_id = publisher_id
        self.refs: list[ProductRef] = []
        self.unreadable: list[str] = []
        self.unreadable_keys: set[str] = set()
        self.complete = True
        self.stopped: str | None = None

    def add(self, index: int, raw: Any) -> None:
        ident = raw.get("id") if isinstance(raw, dict) else None
        try:
            product: Product = _parse(Product, raw, f"product {ident or f'#{index}'}")
            if product.offer_id is None:
                raise ProductError(f"{product.id}: identity.externalId: missing")
        except ProductError as exc:
            self.unreadable.append(str(exc))
            match = _PRODUCT_ID.match(ident) if isinstance(ident, str) else None
            if match:
                self.unreadable_keys.add(match.group(1))
            else:
                self.complete = False
            return
        lifecycle = product.lifecycle_state
        if lifecycle is not None and lifecycle.lower() not in KNOWN_LIFECYCLES:
            name_unknown("lifecycleState", lifecycle, treated="read as available")
        offer_id, name = safetext.one_line(product.offer_id), safetext.one_line(product.alias)
        if not offer_id or not name:
            self.unreadable.append(f"{product.id}: its id or name is empty once made one line")
            self.unreadable_keys.add(product.guid)
            return
        self.refs.append(
            ProductRef(
                key=product.guid,
                offer_id=offer_id,
                publisher_id=self.publisher_id,
                name=name,
                offer_type=offer_type(product.type),
                lifecycle_state=lifecycle,
            )
        )

    def listing(self) -> Listing:
        return Listing(
            products=self.refs,
            unreadable=self.unreadable,
            unreadable_keys=frozenset(self.unreadable_keys),
            complete=self.complete and self.stopped is None,
            stopped=self.stopped,
        )


def from_settings(
    settings: Settings, *, http: httpx.Client, tokens: TokenProvider, policy: RetryPolicy
) -> PartnerCenterSource | None:
    if settings.partner_center_publisher_id is None:
        return None
    api = API.client(settings.partner_center_api_url, http=http, tokens=tokens, policy=policy)
    emails = split_emails(settings.partner_center_notification_emails)
    return PartnerCenterSource(
        api=api, tokens=tokens, publisher_id=settings.partner_center_publisher_id, notification_emails=emails
    )

"""Partner Center's Product Ingestion API (``shared/partner-center.md`` §2-§3): products, their
submissions, and the validations of the newest submission's target, mapped to an offer's status.

Requests per product and pass: one for its submissions, and one for the resource tree of the target
its newest submission went to (none for a product with only a draft), plus its share of the listing's
pages. The older target's validations describe a submission that no longer decides the status."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.labels import STEP_LIVE, STEP_PREVIEW, STEP_SIGNOFF, SUBMITTED_FORMAT, SYNC_FEED, SYNC_STEP_NAMES
from bot.settings import Settings
from bot.sources.auth import TokenProvider
from bot.sources.base import HttpSource, Listing, ProductError, ProductRef, describe
from bot.sources.http import ApiClient, ApiSpec, NotFound, RetryPolicy
from storage import safetext
from storage.documents import MessageIn, OfferIn, StepIn, shape_problem, split_emails
from storage.importer import Observation
from storage.statuses import OFFER_TYPES, MessageLevel, OfferStatus, StepState
from storage.statuses import Listing as ListingState

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


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_max_length=20_000)


class Identity(_Shape):
    external_id: str | None = Field(default=None, alias="externalId", min_length=1, max_length=200)
    external_id_old: str | None = Field(default=None, alias="externalID", min_length=1, max_length=200)


class Product(_Shape):
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


class Target(_Shape):
    target_type: Literal["draft", "preview", "live"] = Field(alias="targetType")


class Submission(_Shape):
    id: str = Field(max_length=300)
    target: Target
    status: Literal["notStarted", "running", "completed"] | None = None
    result: Literal["pending", "succeeded", "failed"] | None = None
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
        return self.id.rsplit("/", 1)[-1]


class Validation(_Shape):
    code: str = Field(default="", max_length=200)
    level: str = Field(default="", max_length=80)
    message: str = ""
    resource_id: str | None = Field(default=None, alias="resourceId", max_length=400)


class Resource(_Shape):
    id: str = Field(default="", max_length=400)
    validations: list[Validation] = Field(default_factory=list)


class ResourceTree(_Shape):
    resources: list[Resource] = Field(default_factory=list)


# --- the mapping (pure) ------------------------------------------------------------------------


def offer_type(product_type: str) -> str:
    """The project's offer type for a Partner Center product type; any other type is kept as named."""
    known = OFFER_TYPES.get(product_type.lower())
    return known.value if known else product_type[:40]


def _stamp(when: datetime | None) -> str:
    return when.strftime(SUBMITTED_FORMAT) if when else ""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _created(sub: Submission) -> datetime:
    return sub.created or _EPOCH


def _newest(submissions: Sequence[Submission], *targets: str) -> Submission | None:
    found = [s for s in submissions if s.target.target_type in targets and s.created is not None]
    return max(found, key=_created) if found else None


def _run_state(sub: Submission) -> StepState:
    if sub.status == "completed" and sub.result == "succeeded":
        return StepState.COMPLETE
    if sub.status == "completed" and sub.result == "failed":
        return StepState.REJECTED
    return StepState.IN_PROGRESS


def newest_submission(submissions: Sequence[Submission]) -> Submission | None:
    """The submission that decides the status: the newest preview or live one by ``created``."""
    return _newest(submissions, "preview", "live")


def status_of(submissions: Sequence[Submission]) -> OfferStatus:
    """The offer's status from its submissions (the README's table)."""
    newest = newest_submission(submissions)
    if newest is None:
        return OfferStatus.NOT_STARTED
    state = _run_state(newest)
    if state is StepState.IN_PROGRESS:
        return OfferStatus.IN_PROGRESS
    if state is StepState.REJECTED:
        return OfferStatus.FAILED
    return OfferStatus.SIGNOFF if newest.target.target_type == "preview" else OfferStatus.LIVE


def is_delisted(product: ProductRef, submissions: Sequence[Submission]) -> bool:
    live = _newest(submissions, "live")
    return (product.lifecycle_state or "").lower() == "deprecated" or (
        live is not None and (live.lifecycle_state or "").lower() == "deprecated"
    )


def _step(
    position: int,
    step_id: str,
    name: str,
    description: str,
    state: StepState,
    when: datetime | None,
    messages: tuple[MessageIn, ...] = (),
) -> StepIn:
    return StepIn(
        position=position,
        step_id=step_id,
        name=name,
        description=description,
        state=state,
        estimated_time=_stamp(when),
        progress=100 if state is StepState.COMPLETE else 0,
        messages=messages,
    )


def steps_of(
    submissions: Sequence[Submission], messages: dict[str, tuple[MessageIn, ...]]
) -> tuple[StepIn, ...]:
    """The three steps the API does tell: publish to preview, publisher sign-off, publish to live.
    ``messages`` are the validations of the newest submission's target (``preview`` or ``live``)."""
    preview = _newest(submissions, "preview")
    live = _newest(submissions, "live")
    if live is not None and preview is not None and _created(live) < _created(preview):
        live = None  # the live submission of an earlier round: this round has not gone live yet
    if preview is None:
        preview_state, preview_at = (StepState.COMPLETE if live else StepState.NOT_STARTED), None
    else:
        preview_state, preview_at = _run_state(preview), preview.created
    signoff_state, signoff_at = _signoff(preview, preview_state, live)
    preview_text = f"Submission {preview.number} to the preview audience." if preview else ""
    live_text = f"Submission {live.number} to the marketplace." if live else ""
    return (
        _step(
            0,
            STEP_PREVIEW,
            SYNC_STEP_NAMES[STEP_PREVIEW],
            preview_text,
            preview_state,
            preview_at,
            messages.get("preview", ()),
        ),
        _step(1, STEP_SIGNOFF, SYNC_STEP_NAMES[STEP_SIGNOFF], SIGNOFF_TEXT, signoff_state, signoff_at),
        _step(
            2,
            STEP_LIVE,
            SYNC_STEP_NAMES[STEP_LIVE],
            live_text,
            _run_state(live) if live else StepState.NOT_STARTED,
            live.created if live else None,
            messages.get("live", ()),
        ),
    )


SIGNOFF_TEXT = "Check the preview, then select Go live in Partner Center."


def _signoff(
    preview: Submission | None, preview_state: StepState, live: Submission | None
) -> tuple[StepState, datetime | None]:
    """Sign-off is done once a live submission exists; it waits for the publisher once the preview
    is published."""
    if live is not None:
        return StepState.COMPLETE, live.created
    if preview is not None and preview_state is StepState.COMPLETE:
        return StepState.WAITING_FOR_PUBLISHER_REVIEW, preview.created
    return StepState.NOT_STARTED, None


_LEVELS = {
    "error": MessageLevel.ERROR,
    "warning": MessageLevel.WARNING,
    "information": MessageLevel.INFORMATION,
    "informational": MessageLevel.INFORMATION,
    "info": MessageLevel.INFORMATION,
}


def validation_message(validation: Validation, *, when: datetime) -> MessageIn:
    """A validation as a message of the offer; an unknown level shows as a warning that names it."""
    level = _LEVELS.get(validation.level.lower())
    text = validation.message.strip() or "(no message)"
    if level is None:
        text = f"[{validation.level or 'no level'}] {text}"
    if validation.code:
        text = f"{text} ({validation.code})"
    return MessageIn(level=level or MessageLevel.WARNING, text=safetext.escape(text), timestamp=when)


def offer_from(
    ref: ProductRef,
    submissions: Sequence[Submission],
    validations: Sequence[Validation],
    *,
    notification_emails: tuple[str, ...] = (),
) -> OfferIn:
    """The offer of ``ref`` from its submissions and the validations of its newest submission."""
    newest = newest_submission(submissions)
    by_target: dict[str, tuple[MessageIn, ...]] = {}
    if newest is not None and newest.created is not None:
        when = newest.created
        by_target[newest.target.target_type] = tuple(validation_message(v, when=when) for v in validations)
    return OfferIn(
        publisher_id=ref.publisher_id,
        offer_id=ref.offer_id,
        name=ref.name,
        offer_type=ref.offer_type,
        listing=ListingState.DELISTED if is_delisted(ref, submissions) else ListingState.LISTED,
        publish_status=status_of(submissions),
        messages=(),
        steps=steps_of(submissions, by_target),
        preview_links=(),
        live_links=(),
        notification_emails=notification_emails,
    )


# --- the source ----------------------------------------------------------------------------------


def _parse(model: type[_Shape], raw: Any, what: str) -> Any:
    problem = shape_problem(raw)
    if problem is not None:
        raise ProductError(f"{what}: {problem}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ProductError(f"{what}: {describe(exc)}") from None


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
        refs: list[ProductRef] = []
        unreadable: list[str] = []
        unreadable_keys: set[str] = set()
        complete = True
        for page in self.api.pages("product"):
            values = page.get("value") if isinstance(page, dict) else None
            if not isinstance(values, list):
                raise ProductError('the product list has no "value" array')
            for index, raw in enumerate(values):
                ident = raw.get("id") if isinstance(raw, dict) else None
                try:
                    product: Product = _parse(Product, raw, f"product {ident or f'#{index}'}")
                    if product.offer_id is None:
                        raise ProductError(f"{product.id}: identity.externalId: missing")
                except ProductError as exc:
                    unreadable.append(str(exc))
                    match = _PRODUCT_ID.match(ident) if isinstance(ident, str) else None
                    if match:
                        unreadable_keys.add(match.group(1))
                    else:
                        complete = False
                    continue
                refs.append(
                    ProductRef(
                        key=product.guid,
                        offer_id=product.offer_id,
                        publisher_id=self.publisher_id,
                        name=product.alias,
                        offer_type=offer_type(product.type),
                        lifecycle_state=product.lifecycle_state,
                    )
                )
        return Listing(
            products=refs,
            unreadable=unreadable,
            unreadable_keys=frozenset(unreadable_keys),
            complete=complete,
        )

    def read(self, ref: ProductRef, *, observed_at: datetime) -> Observation:
        deleted = (ref.lifecycle_state or "").lower() == "deleted"
        try:
            submissions = self._submissions(ref)
        except NotFound:
            if not deleted:
                raise
            submissions = []  # a deleted draft may have no submissions left: it is still marked removed
        validations: list[Validation] = []
        newest = newest_submission(submissions)
        if newest is not None:
            tree: ResourceTree = _parse(
                ResourceTree,
                self.api.get_json(
                    f"resource-tree/product/{ref.key}", {"targetType": newest.target.target_type}
                ),
                "resource tree",
            )
            validations = [v for resource in tree.resources for v in resource.validations]
        offer = offer_from(ref, submissions, validations, notification_emails=self.notification_emails)
        return Observation(offer=offer, observed_at=observed_at, feed_key=ref.key, removed=deleted)

    def _submissions(self, ref: ProductRef) -> list[Submission]:
        submissions: list[Submission] = []
        for page in self.api.pages(f"submission/{ref.key}"):
            values = page.get("value") if isinstance(page, dict) else None
            if not isinstance(values, list):
                raise ProductError('the submission list has no "value" array')
            for index, raw in enumerate(values):
                submissions.append(_parse(Submission, raw, f"value[{index}]"))
        for sub in submissions:
            if sub.target.target_type != "draft" and (
                sub.status is None or sub.result is None or sub.created is None
            ):
                missing = [f for f in ("status", "result", "created") if getattr(sub, f) is None]
                raise ProductError(f"submission {sub.id}: {', '.join(missing)}: missing")
        return submissions


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

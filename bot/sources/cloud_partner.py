"""The Cloud Partner Portal API (api-version 2017-10-31; docs/partner-center.md), for
products integrated before Partner Center: each configured publisher's offers, then each offer's
status document, which is the document ``offerbot import`` reads and is validated the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.settings import Settings
from bot.sources.auth import TokenProvider
from bot.sources.base import Listing, ProductError, ProductRef, describe
from bot.sources.http import ApiClient, ApiSpec, HttpSource, RetryPolicy, Transient
from storage import safetext
from storage.errors import DocumentError
from storage.imports.documents import parse_offer
from storage.imports.fitting import fit_to_limits
from storage.imports.importer import Observation
from storage.imports.json_edge import shape_problem
from storage.statuses import OfferType

NAME = "cloud-partner-portal"
API = ApiSpec(
    label="Cloud Partner Portal",
    scope="https://cloudpartner.azure.com/.default",
    query={"api-version": "2017-10-31"},
    auth_hint=(
        "add the Entra ID application to the Cloud Partner Portal as a service principal user of the "
        "publisher, and check AZURE_TENANT_ID"
    ),
)

# The CPP's offer type ids (an inference from the portal's type names); others are kept as named.
OFFER_TYPE_IDS: dict[str, str] = {
    "microsoft-azure-virtualmachines": OfferType.VIRTUAL_MACHINE.value,
    "microsoft-azure-corevm": OfferType.VIRTUAL_MACHINE.value,
    "microsoft-azure-applications": OfferType.AZURE_APPLICATION.value,
    "microsoft-azure-containers": OfferType.CONTAINER.value,
    "microsoft-azure-iotedge": OfferType.IOT_EDGE_MODULE.value,
    "microsoft-azure-saas": OfferType.SAAS.value,
    "microsoft-dynamics-ce": OfferType.DYNAMICS_365.value,
    "microsoft-consulting": OfferType.CONSULTING_SERVICE.value,
}


class _Definition(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    display_text: str | None = Field(default=None, alias="displayText", max_length=500)


class CppOffer(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    id: str = Field(min_length=1, max_length=200)
    offer_type_id: str = Field(alias="offerTypeId", min_length=1, max_length=80)
    definition: _Definition = Field(default_factory=_Definition)


class CloudPartnerSource(HttpSource):
    name = NAME
    label = API.label
    scope = API.scope

    def __init__(self, *, api: ApiClient, tokens: TokenProvider, publishers: list[str]) -> None:
        super().__init__(api=api, tokens=tokens)
        self.publishers = list(dict.fromkeys(publishers))

    def list_products(self) -> Listing:
        listing = _Collected()
        for publisher in self.publishers:
            try:
                entries = self.api.get_json(f"api/publishers/{quote(publisher, safe='')}/offers")
                if not isinstance(entries, list):
                    raise ProductError("the offer list is not a JSON array")
            except (ProductError, Transient) as exc:
                # One publisher that cannot be listed (a typo: 404) does not stop the others.
                listing.unreadable.append(f"publisher {publisher}: its offers could not be listed ({exc})")
                listing.complete = False
                continue
            for index, raw in enumerate(entries):
                listing.add(publisher, index, raw)
        return Listing(
            products=listing.refs,
            unreadable=listing.unreadable,
            unreadable_keys=frozenset(listing.unreadable_keys),
            complete=listing.complete,
        )

    def read(self, ref: ProductRef, *, observed_at: datetime) -> Observation:
        path = (
            f"api/publishers/{quote(ref.publisher_id, safe='')}/offers/{quote(ref.offer_id, safe='')}/status"
        )
        document: Any = self.api.get_json(path)
        raw = {
            "publisherId": ref.publisher_id,
            "offerId": ref.offer_id,
            "name": ref.name,
            "offerType": ref.offer_type,
            "status": document,
        }
        try:
            # What Microsoft sends is never refused for its size: beyond the limits, the first items.
            offer = parse_offer(fit_to_limits(raw), source=f"{ref.publisher_id}/{ref.offer_id}")
        except DocumentError as exc:
            raise ProductError(str(exc)) from None
        return Observation(offer=offer, observed_at=observed_at, feed_key=ref.key)


@dataclass
class _Collected:
    """The offers listed so far, and what could not be read."""

    refs: list[ProductRef] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    unreadable_keys: set[str] = field(default_factory=set)
    complete: bool = True

    def add(self, publisher: str, index: int, raw: object) -> None:
        try:
            problem = shape_problem(raw)
            if problem is not None:
                raise ProductError(problem)
            entry = CppOffer.model_validate(raw)
        except (ValidationError, ProductError) as exc:
            ident = raw.get("id") if isinstance(raw, dict) else None
            why = describe(exc) if isinstance(exc, ValidationError) else str(exc)
            self.unreadable.append(f"publisher {publisher}, offer {ident or f'#{index}'}: {why}")
            if isinstance(ident, str) and ident:
                self.unreadable_keys.add(f"{publisher}/{ident}")
            else:
                self.complete = False
            return
        self.refs.append(
            ProductRef(
                key=f"{publisher}/{entry.id}",
                offer_id=entry.id,
                publisher_id=publisher,
                name=safetext.one_line(entry.definition.display_text or "") or entry.id,
                offer_type=OFFER_TYPE_IDS.get(entry.offer_type_id.lower(), entry.offer_type_id[:40]),
            )
        )


def from_settings(
    settings: Settings, *, http: httpx.Client, tokens: TokenProvider, policy: RetryPolicy
) -> CloudPartnerSource | None:
    publishers = settings.cloud_partner_publisher_ids
    if not publishers:
        return None
    api = API.client(settings.cloud_partner_api_url, http=http, tokens=tokens, policy=policy)
    return CloudPartnerSource(api=api, tokens=tokens, publishers=publishers)

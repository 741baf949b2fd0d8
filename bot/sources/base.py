"""What every sync source is: the :class:`OfferSource` protocol, the product reference it lists, and the
errors a sync tells apart (the credentials, the source as a whole, one product)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pydantic import ValidationError

from storage.errors import ConfigError, OfferbotError
from storage.imports.feed import KnownProduct
from storage.imports.importer import Observation


class SourceAuthError(ConfigError):
    """The source refused our credentials or our permission: a person must fix the configuration."""


class SourceUnavailable(OfferbotError):
    """The source could not be read at all this time (network, 5xx after retries): try again later."""


class ProductError(OfferbotError):
    """One product could not be read (404, invalid JSON, an unknown value, a missing field): it is
    skipped and counted, the others are still synced."""


@dataclass(frozen=True)
class ProductRef:
    """A product as a source's listing names it: enough to read its status."""

    key: str
    """Its key in the source: Partner Center's product guid, or ``publisher/offer`` for the CPP API."""
    offer_id: str
    publisher_id: str
    name: str
    offer_type: str
    lifecycle_state: str | None = None


@dataclass(frozen=True)
class Listing:
    products: Sequence[ProductRef]
    unreadable: Sequence[str] = field(default_factory=tuple)
    """Why each listed entry that could not be understood was skipped (it counts as failed to read)."""
    unreadable_keys: frozenset[str] = frozenset()
    """Keys of those entries where the key itself could be read: they are listed, so not missing."""
    complete: bool = True
    """False when part of the listing could not be read (an entry without a key, a publisher that
    failed, a page after the first): then no offer is counted missing from it."""
    stopped: str | None = None
    """Why the listing ended before its last page (what was read is kept); None: read to its end."""


class OfferSource(Protocol):
    """A place offers and their publishing status are read from. A new source is one module with a
    class like this and a ``from_settings`` function, named in ``bot/sources/__init__.py``."""

    name: str
    """Its name in the store and the history (``partner-center``): the offers' ``feed``."""
    label: str
    """Its name for people (``Partner Center``)."""

    def prepare(self) -> None:
        """Get what every request needs (the token) once, before requests fan out."""

    def list_products(self) -> Listing:
        """Every product the source has, following its paging to the end."""

    def ref_for(self, known: KnownProduct) -> ProductRef:
        """The reference of a product the store already knows, to ask again without listing."""

    def read(self, ref: ProductRef, *, observed_at: datetime) -> Observation:
        """The product's offer as the source describes it now. Raises :class:`ProductError`."""

    @property
    def requests(self) -> int:
        """HTTP requests made so far (every attempt counts)."""


def describe(exc: ValidationError, *, limit: int = 3) -> str:
    """A pydantic error as one line naming the fields, the values and what was expected."""
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        value = repr(error.get("input"))
        value = value if len(value) <= 60 else value[:57] + "..."
        parts.append(f"{where}: {error['msg']} (got {value})")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")

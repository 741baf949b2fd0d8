"""*Go live*'s way to Microsoft for offers of stored connections: each connection's own token
provider and API clients, made from the store when first asked and again when the connection
changed; beside the environment's connection. No Slack, no wording."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime

import httpx

from bot.settings import Settings
from bot.sources import publishers_for
from bot.sources.connections import publishers_of
from bot.sources.http import make_http_client
from bot.sources.publishing import Publishers
from storage import connections as store
from storage import db
from storage.errors import OfferbotError
from storage.sealing import Sealer

log = logging.getLogger(__name__)


@dataclass
class StoredPublishers:
    """*Go live*'s way to Microsoft for each stored connection, by its id: made from the store when
    first asked, and again when the connection changed (its token provider keeps its tokens)."""

    factory: db.SessionFactory
    settings: Settings
    sealer: Sealer
    http: httpx.Client | None = None
    _cache: dict[int, tuple[datetime, Publishers]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, connection_id: int) -> Publishers | None:
        with self.factory() as session:
            row = session.get(store.PartnerConnection, connection_id)
            if row is None:
                return None
            session.expunge(row)
        with self._lock:
            cached = self._cache.get(connection_id)
            if cached is not None and cached[0] == row.updated_at:
                return cached[1]
            self.http = self.http or make_http_client(
                ca_bundle=self.settings.ca_bundle, concurrency=self.settings.offerbot_sync_concurrency
            )  # shared by every stored connection: one slow tenant must not hold up the others
            try:
                made = publishers_of(row, self.settings, self.sealer, http=self.http)
            except OfferbotError as exc:
                log.warning("go live: connection %s cannot sign in (%s)", row.name, exc)
                return None
            self._cache[connection_id] = (row.updated_at, made)
            return made


def go_live_publishers(settings: Settings, factory: db.SessionFactory) -> Publishers | None:
    """*Go live*'s publishers when ``OFFERBOT_GO_LIVE`` is on: the environment's connection (when
    set) and every stored one (when ``OFFERBOT_SECRET_KEY`` is); None when there is neither."""
    if not settings.offerbot_go_live:
        return None
    sealer = settings.sealer()
    env = publishers_for(settings) if settings.sync_configured else None
    if sealer is None:
        return env
    base = env or Publishers(partner_center=None, cloud_partner=None)
    return replace(base, stored=StoredPublishers(factory, settings, sealer))

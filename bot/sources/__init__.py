"""Where offers come from besides ``offerbot import``: every sync source, registered in one place.

A source is a module with a class that follows :class:`~bot.sources.base.OfferSource` and a
``from_settings`` function that returns it, or None when the settings do not turn it on. A third
source is one new module named in :data:`SOURCE_MODULES`."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot.settings import Settings
from bot.sources import cloud_partner, partner_center, publishing
from bot.sources.auth import Credential, TokenProvider
from bot.sources.base import OfferSource
from bot.sources.http import RetryPolicy, make_http_client
from bot.sources.publishing import Publishers

log = logging.getLogger(__name__)

SOURCE_MODULES: tuple[Any, ...] = (partner_center, cloud_partner)


def token_provider(settings: Settings) -> TokenProvider:
    """The settings' one credential: a managed identity, else a certificate, else a secret."""
    settings.require_azure()
    credential = Credential(
        secret=settings.azure_client_secret,
        certificate_path=settings.azure_client_certificate_path,
        certificate_password=settings.azure_client_certificate_password,
        managed=settings.offerbot_managed_identity,
    )
    return TokenProvider(
        tenant_id=settings.azure_tenant_id or "",
        client_id=settings.azure_client_id or "",
        credential=credential,
        authority_host=settings.azure_authority_host,
        verify=settings.ca_bundle or True,
    )


def build_sources(
    settings: Settings, *, http: httpx.Client | None = None, policy: RetryPolicy | None = None
) -> list[OfferSource]:
    """Every source the settings turn on, sharing one token provider and one HTTP client."""
    tokens = token_provider(settings)
    client = http or make_http_client(
        ca_bundle=settings.ca_bundle, concurrency=settings.offerbot_sync_concurrency
    )
    sources: list[OfferSource] = []
    for module in SOURCE_MODULES:
        source = module.from_settings(settings, http=client, tokens=tokens, policy=policy or RetryPolicy())
        if source is not None:
            sources.append(source)
    return sources


def publishers_for(settings: Settings, *, http: httpx.Client | None = None) -> Publishers | None:
    """*Go live*'s clients (``OFFERBOT_GO_LIVE=on``), or None when no Microsoft API is configured."""
    if not settings.sync_configured:
        log.warning("OFFERBOT_GO_LIVE is on, but no Partner Center source is configured: Go live stays off")
        return None
    client = http or make_http_client(ca_bundle=settings.ca_bundle, concurrency=2)
    return publishing.from_settings(settings, http=client, tokens=token_provider(settings))

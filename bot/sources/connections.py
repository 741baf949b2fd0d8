"""The sources of a stored connection (``storage.connections``): its sealed secret or certificate
opened with ``OFFERBOT_SECRET_KEY`` into a token provider of its own, and a Partner Center or Cloud
Partner Portal source for what it reads. Every opened secret is handed to the log's redactor before
it is used. Also the one-token, one-request check of ``connection test``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from bot.logs import REDACT
from bot.settings import Settings
from bot.sources import cloud_partner, partner_center
from bot.sources.auth import Credential, TokenProvider, read_certificate
from bot.sources.base import OfferSource
from bot.sources.cloud_partner import CloudPartnerSource
from bot.sources.http import RetryPolicy
from bot.sources.partner_center import PartnerCenterSource
from bot.sources.publishing import ONE_TRY, Publishers, of_apis
from storage.connections import CERTIFICATE, PartnerConnection
from storage.errors import ConfigError
from storage.sealing import Sealer

MAX_PEM = 64 * 1024
CONNECTION_NAMES = ("the certificate", "the certificate's password")


@dataclass(frozen=True)
class OpenedCertificate:
    pem: str
    """The unencrypted key and the certificate, as the connection stores them (sealed)."""
    thumbprint: str


def open_certificate(data: bytes, password: SecretStr | None) -> OpenedCertificate:
    """A PEM file's key and certificate, checked (an RSA key that opens, its certificate beside
    it), with the key decrypted so the store needs no password; errors name what to fix."""
    if len(data) > MAX_PEM:
        raise ConfigError(
            f"the certificate is over {MAX_PEM // 1024} KB: it should hold one key and one certificate"
        )
    found = read_certificate(data, password, CONNECTION_NAMES)
    return OpenedCertificate(
        pem=found["private_key"] + found["public_certificate"], thumbprint=found["thumbprint"]
    )


def credential_of(connection: PartnerConnection, sealer: Sealer) -> Credential:
    opened = sealer.open(connection.sealed)
    REDACT.add([opened, *(line for line in opened.splitlines() if not line.startswith("-----"))])
    if connection.credential == CERTIFICATE:
        return Credential(certificate_pem=SecretStr(opened))
    return Credential(secret=SecretStr(opened))


def token_provider_of(connection: PartnerConnection, settings: Settings, sealer: Sealer) -> TokenProvider:
    return TokenProvider(
        tenant_id=connection.tenant_id,
        client_id=connection.client_id,
        credential=credential_of(connection, sealer),
        authority_host=settings.azure_authority_host,
        verify=settings.ca_bundle or True,
    )


def sources_of(
    connection: PartnerConnection,
    settings: Settings,
    sealer: Sealer,
    *,
    http: httpx.Client,
    policy: RetryPolicy | None = None,
) -> list[OfferSource]:
    """The connection's sources, sharing its token provider and the process's HTTP client."""
    tokens = token_provider_of(connection, settings, sealer)
    policy = policy or RetryPolicy()
    sources: list[OfferSource] = []
    if connection.publisher_id:
        api = partner_center.API.client(
            settings.partner_center_api_url, http=http, tokens=tokens, policy=policy
        )
        sources.append(PartnerCenterSource(api=api, tokens=tokens, publisher_id=connection.publisher_id))
    if connection.cloud_partner_ids:
        api = cloud_partner.API.client(
            settings.cloud_partner_api_url, http=http, tokens=tokens, policy=policy
        )
        sources.append(CloudPartnerSource(api=api, tokens=tokens, publishers=connection.cloud_partner_ids))
    return sources


def first_page(source: OfferSource) -> int:
    """One API request after the source's token: how many products its first page lists (Partner
    Center's ``product`` list, or the first Cloud Partner Portal publisher's offers)."""
    source.prepare()
    if isinstance(source, PartnerCenterSource):
        page = source.api.get_json("product")
        value = page.get("value") if isinstance(page, dict) else None
        return len(value) if isinstance(value, list) else 0
    if isinstance(source, CloudPartnerSource):
        entries = source.api.get_json(f"api/publishers/{quote(source.publishers[0], safe='')}/offers")
        return len(entries) if isinstance(entries, list) else 0
    return len(source.list_products().products)


def publishers_of(
    connection: PartnerConnection, settings: Settings, sealer: Sealer, *, http: httpx.Client
) -> Publishers:
    """*Go live*'s way to Microsoft for the offers this connection reads: its own token provider,
    one try per request (a request to publish is never sent twice blindly)."""
    tokens = token_provider_of(connection, settings, sealer)
    pc = partner_center.API.client(settings.partner_center_api_url, http=http, tokens=tokens, policy=ONE_TRY)
    cpp = cloud_partner.API.client(settings.cloud_partner_api_url, http=http, tokens=tokens, policy=ONE_TRY)
    return of_apis(
        partner_center_api=pc if connection.publisher_id else None,
        cloud_partner_api=cpp if connection.cloud_partner_ids else None,
    )

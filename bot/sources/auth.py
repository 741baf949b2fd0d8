"""Entra ID tokens for the sync: client credentials through MSAL, one token per scope, reused until it
nears expiry (MSAL's token cache), never fetched per request."""

from __future__ import annotations

import logging
import threading
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from pydantic import SecretStr

from bot.sources.base import SourceAuthError, SourceUnavailable

log = logging.getLogger(__name__)

MICROSOFT_AUTHORITY_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoftonline.us",
        "login.chinacloudapi.cn",
        "login.partner.microsoftonline.cn",
    }
)

# What an AADSTS code means for the person who configures offerbot.
_AADSTS_HINTS = {
    "AADSTS7000215": "the client secret is wrong: copy the secret's Value (not its Secret ID) into "
    "AZURE_CLIENT_SECRET",
    "AADSTS7000222": "the client secret has expired: create a new one under the application's "
    "Certificates & secrets and set AZURE_CLIENT_SECRET",
    "AADSTS700016": "no application with AZURE_CLIENT_ID exists in tenant AZURE_TENANT_ID: check both ids",
    "AADSTS90002": "tenant AZURE_TENANT_ID was not found: check the Directory (tenant) ID",
    "AADSTS900023": "AZURE_TENANT_ID is not a valid tenant id or domain",
}


class _HttpSession(requests.Session):
    """MSAL's HTTP client: our CA choice and timeout on every request. (requests would let
    ``REQUESTS_CA_BUNDLE`` from the environment override a session's ``verify``.)"""

    def __init__(self, *, verify: str | bool, timeout: float) -> None:
        super().__init__()
        self.verify = verify
        self.timeout = timeout

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: MutableMapping[str, str] | None,
        stream: bool | None,
        verify: bool | str | None,
        cert: str | tuple[str, str] | None,
    ) -> Any:
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        merged["verify"] = self.verify
        return merged

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


def explain_token_error(result: dict[str, Any]) -> str:
    """One line for a failed token request: what Entra ID said and what to check."""
    error = str(result.get("error") or "error")
    description = str(result.get("error_description") or "").strip().splitlines()
    first = description[0] if description else ""
    for code, hint in _AADSTS_HINTS.items():
        if first.startswith(code) or code in first.split(":", 1)[0]:
            return f"Entra ID refused a token ({code}): {hint}"
    if error == "invalid_client":
        hint = "check AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (an expired secret answers this too)"
    elif error in ("unauthorized_client", "invalid_request"):
        hint = "check AZURE_TENANT_ID and AZURE_CLIENT_ID"
    else:
        hint = "check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"
    detail = f": {first[:160]}" if first else ""
    return f"Entra ID refused a token ({error}{detail}); {hint}"


class TokenProvider:
    """Client-credentials tokens for one Entra ID application. Thread-safe; MSAL caches each scope's
    token in memory and answers from the cache until the token nears expiry."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: SecretStr,
        authority_host: str,
        verify: str | bool = True,
        timeout: float = 30.0,
    ) -> None:
        self.authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._client_id = client_id
        self._secret = client_secret
        self._verify = verify
        self._timeout = timeout
        self._custom_host = (urlsplit(authority_host).hostname or "") not in MICROSOFT_AUTHORITY_HOSTS
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            try:
                # A custom authority host (sovereign cloud, proxy, tests) names its token endpoint in
                # <authority>/v2.0/.well-known/openid-configuration: no Microsoft instance discovery.
                self._app = msal.ConfidentialClientApplication(
                    self._client_id,
                    client_credential=self._secret.get_secret_value(),
                    authority=self.authority,
                    instance_discovery=False if self._custom_host else None,
                    http_client=_HttpSession(verify=self._verify, timeout=self._timeout),
                )
            except requests.RequestException as exc:
                raise SourceUnavailable(
                    f"cannot reach the Entra ID authority {self.authority} ({exc.__class__.__name__}): "
                    "check AZURE_AUTHORITY_HOST and the network"
                ) from None
            except ValueError as exc:
                raise SourceAuthError(
                    f"the Entra ID authority {self.authority} did not describe itself "
                    f"({str(exc).splitlines()[0][:160] if str(exc) else exc.__class__.__name__}): "
                    "check AZURE_TENANT_ID and AZURE_AUTHORITY_HOST"
                ) from None
            except Exception as exc:
                raise SourceUnavailable(
                    f"the Entra ID authority {self.authority} failed ({exc.__class__.__name__}): "
                    "try again later"
                ) from None
        return self._app

    def token(self, scope: str) -> str:
        with self._lock:
            app = self._application()
            try:
                result = app.acquire_token_for_client(scopes=[scope])
            except requests.RequestException as exc:
                raise SourceUnavailable(
                    f"cannot reach the Entra ID token endpoint ({exc.__class__.__name__}): try again later"
                ) from None
            except Exception as exc:  # MSAL raises its own errors (and JSON ones) for a 5xx or odd body
                raise SourceUnavailable(
                    f"the Entra ID token endpoint failed ({exc.__class__.__name__}): try again later"
                ) from None
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            raise SourceAuthError(explain_token_error(result if isinstance(result, dict) else {}))
        return str(token)

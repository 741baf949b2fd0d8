"""Entra ID tokens for the sync and *Go live*, through MSAL, one token per scope, reused until it nears
expiry (MSAL's token cache), never fetched per request. Three credentials: a client secret, a client
certificate (MSAL signs the client assertion with its key), or the managed identity of where offerbot
runs in Azure (MSAL's managed identity client: ``IDENTITY_ENDPOINT``/``IDENTITY_HEADER``, else IMDS)."""

from __future__ import annotations

import logging
import threading
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from bot.sources.base import SourceAuthError, SourceUnavailable
from storage.errors import ConfigError

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
    "AADSTS700027": "the client certificate is not the application's: upload its public certificate "
    "under the application's Certificates & secrets, or check AZURE_CLIENT_CERTIFICATE_PATH",
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


def explain_token_error(result: dict[str, Any], kind: str = "client secret") -> str:
    """One line for a failed token request: what Entra ID said and what to check (for the
    credential in use)."""
    error = str(result.get("error") or "error")
    if kind == "managed identity":
        detail = str(result.get("error_description") or result.get("error") or "no token")[:160]
        return (
            f"the managed identity got no token ({detail}): check that the Azure resource offerbot runs on "
            "has a managed identity (and that AZURE_CLIENT_ID names a user-assigned one given to it)"
        )
    description = str(result.get("error_description") or "").strip().splitlines()
    first = description[0] if description else ""
    for code, hint in _AADSTS_HINTS.items():
        if first.startswith(code) or code in first.split(":", 1)[0]:
            return f"Entra ID refused a token ({code}): {hint}"
    if error == "invalid_client" and kind == "client certificate":
        hint = "check AZURE_CLIENT_ID and that the certificate is uploaded to the application"
    elif error == "invalid_client":
        hint = "check AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (an expired secret answers this too)"
    elif error in ("unauthorized_client", "invalid_request"):
        hint = "check AZURE_TENANT_ID and AZURE_CLIENT_ID"
    else:
        hint = "check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"
    detail = f": {first[:160]}" if first else ""
    return f"Entra ID refused a token ({error}{detail}); {hint}"


@dataclass(frozen=True)
class Credential:
    """How the application proves who it is: exactly one of a secret, a certificate, or the managed
    identity (``managed``; ``client_id`` then names a user-assigned one)."""

    secret: SecretStr | None = None
    certificate_path: Path | None = None
    certificate_password: SecretStr | None = None
    managed: bool = False
    certificate_pem: SecretStr | None = None
    """A stored connection's certificate: the PEM of its unencrypted key and its certificate."""

    @property
    def kind(self) -> str:
        if self.managed:
            return "managed identity"
        certificate = self.certificate_path is not None or self.certificate_pem is not None
        return "client certificate" if certificate else "client secret"


def _private_key(data: bytes, password: SecretStr | None, names: tuple[str, str]) -> rsa.RSAPrivateKey:
    path, secret_name = names
    secret = password.get_secret_value().encode() if password is not None else None
    try:
        key = serialization.load_pem_private_key(data, password=secret)
    except TypeError:
        raise ConfigError(
            f"{path}: its private key is encrypted: set {secret_name}"
            if secret is None
            else f"{secret_name} is set but the private key is not encrypted: unset it"
        ) from None
    except ValueError:
        raise ConfigError(
            f"{path} holds no readable private key (or {secret_name} is wrong): the file must hold the "
            "PEM private key and the certificate"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(
            f"{path} holds a key Entra ID does not take: make the certificate with an RSA key "
            "(2048 bits or more)"
        )
    return key


ENV_NAMES = ("AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_CLIENT_CERTIFICATE_PASSWORD")


def read_certificate(
    data: bytes, password: SecretStr | None, names: tuple[str, str] = ENV_NAMES
) -> dict[str, str]:
    """The certificate credential MSAL signs with, from a PEM holding the key and the certificate:
    the private key (decrypted here, kept in memory only), the certificate's SHA-1 thumbprint and the
    certificate itself. A PEM that does not hold both, or a wrong password, is a :class:`ConfigError`
    naming what to fix (``names``: the setting of the PEM and of its password), never the contents."""
    key = _private_key(data, password, names)
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise ConfigError(f"{names[0]} holds no PEM certificate beside the key") from None
    unencrypted = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Entra ID names a certificate by its SHA-1 thumbprint (the assertion's x5t): not a security use.
    thumbprint = cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303
    return {
        "private_key": unencrypted.decode(),
        "thumbprint": thumbprint,
        "public_certificate": cert.public_bytes(serialization.Encoding.PEM).decode(),
    }


def load_certificate(path: Path, password: SecretStr | None) -> dict[str, str]:
    """:func:`read_certificate` of the file ``AZURE_CLIENT_CERTIFICATE_PATH`` names."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"AZURE_CLIENT_CERTIFICATE_PATH: cannot read {path} ({exc.strerror})") from None
    return read_certificate(data, password)


class TokenProvider:
    """Tokens for one Entra ID application (or managed identity). Thread-safe; MSAL caches each
    scope's token in memory and answers from the cache until the token nears expiry."""

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        credential: Credential,
        authority_host: str,
        verify: str | bool = True,
        timeout: float = 30.0,
    ) -> None:
        self.authority = f"{authority_host.rstrip('/')}/{tenant_id}"
        self._client_id = client_id
        self.credential = credential
        self._verify = verify
        self._timeout = timeout
        self._custom_host = (urlsplit(authority_host).hostname or "") not in MICROSOFT_AUTHORITY_HOSTS
        self._app: msal.ConfidentialClientApplication | None = None
        self._managed: msal.ManagedIdentityClient | None = None
        self._lock = threading.Lock()

    def _client_credential(self) -> str | dict[str, str]:
        found = self.credential
        if found.certificate_path is not None:
            return load_certificate(found.certificate_path, found.certificate_password)
        if found.certificate_pem is not None:
            return read_certificate(found.certificate_pem.get_secret_value().encode(), None)
        assert found.secret is not None
        return found.secret.get_secret_value()

    def _managed_client(self) -> msal.ManagedIdentityClient:
        if self._managed is None:
            identity: msal.SystemAssignedManagedIdentity | msal.UserAssignedManagedIdentity = (
                msal.UserAssignedManagedIdentity(client_id=self._client_id)
                if self._client_id
                else msal.SystemAssignedManagedIdentity()
            )
            http = _HttpSession(verify=self._verify, timeout=self._timeout)
            self._managed = msal.ManagedIdentityClient(identity, http_client=http)
        return self._managed

    def _application(self) -> msal.ConfidentialClientApplication:
        if self._app is None:
            credential = self._client_credential()  # a certificate that cannot be read says so
            try:
                # A custom authority host (sovereign cloud, proxy, tests) names its token endpoint in
                # <authority>/v2.0/.well-known/openid-configuration: no Microsoft instance discovery.
                self._app = msal.ConfidentialClientApplication(
                    self._client_id,
                    client_credential=credential,
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

    def _acquire(self, scope: str) -> Any:
        if self.credential.managed:  # a managed identity asks for a resource, not a scope
            resource = scope.removesuffix("/.default")
            return self._managed_client().acquire_token_for_client(resource=resource)
        return self._application().acquire_token_for_client(scopes=[scope])

    def token(self, scope: str) -> str:
        with self._lock:
            try:
                result = self._acquire(scope)
            except (SourceUnavailable, SourceAuthError, ConfigError):
                raise
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
            found = result if isinstance(result, dict) else {}
            raise SourceAuthError(explain_token_error(found, self.credential.kind))
        return str(token)

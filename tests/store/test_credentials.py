"""Credentials without secrets: a client certificate (MSAL signs a client assertion that the fake
Entra ID verifies with the registered certificate, as Entra ID does: RS256 or PS256, the
application as issuer and subject, the token endpoint as audience, the SHA-1 ``x5t``) and a managed
identity through App Service's ``IDENTITY_ENDPOINT``/``IDENTITY_HEADER``, set here to the fake on
loopback (without it MSAL would ask the link-local IMDS address, which a test must never reach).
Certificates come from trustme; everything goes over real HTTPS to the fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from bot.logs import Redactor
from bot.settings import Settings
from bot.sources import build_sources
from bot.sources.base import SourceAuthError
from storage.errors import ConfigError
from tests.support.fakems import (
    CLIENT_ID,
    MANAGED_IDENTITY_HEADER,
    MANAGED_IDENTITY_PATH,
    PC,
    FakeMicrosoft,
)


@pytest.fixture
def fake_ms() -> Iterator[FakeMicrosoft]:
    fake = FakeMicrosoft().start()
    fake.add_product(1, "contoso-saas", "Contoso SaaS")
    yield fake
    fake.stop()


def pem_file(folder: Path, *, password: bytes | None = None) -> tuple[Path, bytes]:
    """A PEM with a private key (encrypted with ``password``) and its certificate; the certificate."""
    cert = trustme.CA().issue_cert("offerbot-client.example", key_type=trustme.KeyType.RSA)
    key = cert.private_key_pem.bytes()
    if password is not None:
        loaded = serialization.load_pem_private_key(key, password=None)
        key = loaded.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password),
        )
    public = cert.cert_chain_pems[0].bytes()
    path = folder / "offerbot-client.pem"
    path.write_bytes(key + public)
    return path, public


def listed(fake: FakeMicrosoft, folder: Path, **extra: Any) -> int:
    settings = Settings(**fake.settings(folder, partner_center_publisher_id="contoso", **extra))
    (source,) = build_sources(settings)
    source.prepare()
    return len(source.list_products().products)


def token_forms(fake: FakeMicrosoft) -> list[dict[str, str]]:
    return [c.form for c in fake.calls if c.path.endswith("/oauth2/v2.0/token")]


def test_a_client_certificate_signs_the_assertion_and_no_secret_is_sent(
    fake_ms: FakeMicrosoft, tmp_path: Path
) -> None:
    path, public = pem_file(tmp_path)
    fake_ms.client_certificate = public
    assert listed(fake_ms, tmp_path, azure_client_secret=None, azure_client_certificate_path=str(path)) == 1
    (form,) = token_forms(fake_ms)
    assert "client_secret" not in form and form["client_assertion"].count(".") == 2
    assert fake_ms.calls_to(PC + "/product")


def test_an_encrypted_key_needs_its_password_and_a_wrong_one_says_so(
    fake_ms: FakeMicrosoft, tmp_path: Path
) -> None:
    path, public = pem_file(tmp_path, password=b"correct horse")
    fake_ms.client_certificate = public
    base = {"azure_client_secret": None, "azure_client_certificate_path": str(path)}
    with pytest.raises(ConfigError, match="encrypted: set AZURE_CLIENT_CERTIFICATE_PASSWORD"):
        listed(fake_ms, tmp_path, **base)
    with pytest.raises(ConfigError, match="AZURE_CLIENT_CERTIFICATE_PASSWORD is wrong"):
        listed(fake_ms, tmp_path, **base, azure_client_certificate_password="wrong")
    assert listed(fake_ms, tmp_path, **base, azure_client_certificate_password="correct horse") == 1
    assert token_forms(fake_ms)[-1].get("client_assertion")


def test_a_certificate_the_application_does_not_have_is_refused_with_what_to_fix(
    fake_ms: FakeMicrosoft, tmp_path: Path
) -> None:
    path, _public = pem_file(tmp_path)
    fake_ms.client_certificate = pem_file(tmp_path / "..")[1]  # another certificate is registered
    with pytest.raises(SourceAuthError, match=r"AADSTS700027.*Certificates & secrets"):
        listed(fake_ms, tmp_path, azure_client_secret=None, azure_client_certificate_path=str(path))


def test_a_file_without_a_key_or_missing_names_the_setting(fake_ms: FakeMicrosoft, tmp_path: Path) -> None:
    ec = trustme.CA().issue_cert("ec.example")  # trustme's default key is EC, which Entra ID refuses
    ec_file = tmp_path / "ec.pem"
    ec_file.write_bytes(ec.private_key_pem.bytes() + ec.cert_chain_pems[0].bytes())
    with pytest.raises(ConfigError, match="an RSA key"):
        listed(fake_ms, tmp_path, azure_client_secret=None, azure_client_certificate_path=str(ec_file))
    only_cert = tmp_path / "cert-only.pem"
    only_cert.write_bytes(trustme.CA().cert_pem.bytes())
    with pytest.raises(ConfigError, match="no readable private key"):
        listed(fake_ms, tmp_path, azure_client_secret=None, azure_client_certificate_path=str(only_cert))
    with pytest.raises(ConfigError, match="AZURE_CLIENT_CERTIFICATE_PATH: cannot read"):
        listed(
            fake_ms,
            tmp_path,
            azure_client_secret=None,
            azure_client_certificate_path=str(tmp_path / "no.pem"),
        )


@pytest.mark.parametrize("client_id", [CLIENT_ID, None])
def test_a_managed_identity_asks_the_identity_endpoint_on_loopback_only(
    fake_ms: FakeMicrosoft, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client_id: str | None
) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", fake_ms.url + MANAGED_IDENTITY_PATH)
    monkeypatch.setenv("IDENTITY_HEADER", MANAGED_IDENTITY_HEADER)
    extra = {"azure_tenant_id": None, "azure_client_secret": None, "azure_client_id": client_id}
    assert listed(fake_ms, tmp_path, offerbot_managed_identity=True, **extra) == 1
    (asked,) = [c for c in fake_ms.calls if c.path == MANAGED_IDENTITY_PATH]
    assert asked.args["resource"] == "https://graph.microsoft.com"
    assert asked.args.get("client_id") == client_id, "a user-assigned identity is named by AZURE_CLIENT_ID"
    assert token_forms(fake_ms) == [], "no client credentials request"


def test_with_no_credential_the_error_names_all_three_ways(tmp_path: Path, fake_ms: FakeMicrosoft) -> None:
    with pytest.raises(ConfigError) as raised:
        listed(fake_ms, tmp_path, azure_client_secret=None)
    for way in ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "OFFERBOT_MANAGED_IDENTITY=true"):
        assert way in str(raised.value)


def test_pem_blocks_and_the_certificate_password_never_reach_a_log(tmp_path: Path) -> None:
    path, _ = pem_file(tmp_path)
    settings = Settings(azure_client_certificate_password="correct horse battery")
    redact = Redactor()
    redact.add(settings.secret_values())
    text = redact(
        f"loaded {path.read_text()} with correct horse battery; cut -----BEGIN PRIVATE KEY-----\nMIIE"
    )
    assert "PRIVATE KEY" not in text and "correct horse battery" not in text and "MIIE" not in text
    assert text.startswith("loaded [pem]")

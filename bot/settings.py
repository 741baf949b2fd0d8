"""Configuration from the environment (pydantic-settings). Nothing reads it at import time."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.i18n import Language
from storage.errors import ConfigError
from storage.sealing import Sealer

LEGACY_STORE = Path("offerbot.db")
"""Where the embedded store lived before ``OFFERBOT_DATA_DIR``: kept when it exists, so an upgrade
never opens an empty store."""


def default_data_dir() -> Path:
    """A per-user data folder: ``$XDG_DATA_HOME/offerbot``, else ``~/.local/share/offerbot``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "offerbot"


def default_store(data_dir: Path | None) -> tuple[str, bool]:
    """The embedded store's URL, and whether it is the legacy ``./offerbot.db``."""
    if LEGACY_STORE.is_file():
        return f"sqlite:///{LEGACY_STORE}", True
    folder = data_dir or default_data_dir()
    return f"sqlite:///{(folder / 'offerbot.db').absolute()}", False


class Settings(BaseSettings):
    _legacy_store: bool = PrivateAttr(default=False)
    model_config = SettingsConfigDict(
        env_prefix="",
        extra="ignore",
        case_sensitive=False,
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
    )
    """The environment first, then a ``.env`` file in the working directory (``.env.example``
    lists every variable); an empty value is unset."""

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    """With the client id: multi-workspace mode, installed through Slack's OAuth flow."""
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = ""
    """The store; unset: the embedded SQLite store in ``OFFERBOT_DATA_DIR`` (or ``./offerbot.db``
    where one exists from before)."""
    offerbot_data_dir: Path | None = None
    """Where the embedded store lives (default: a per-user data folder; ``/data`` in the image)."""
    log_level: str = "INFO"
    offerbot_jobs: Literal["process", "thread"] = "process"
    """Where ``serve`` runs the watcher and the sync: a child process (answers never wait behind
    them), or threads of its own process."""
    offerbot_jobs_nice: int = Field(default=10, ge=0, le=19)
    """How much the jobs process under ``serve`` yields the CPU to the answers (the Unix nice value it
    adds to its own; 0 keeps the same priority)."""
    offerbot_log_format: Literal["json", "console"] | None = None
    """One JSON object per line, or readable lines; unset: readable on a terminal, else JSON."""
    offerbot_watch_interval: float = 15.0
    """Seconds between two watcher passes."""
    offerbot_remind_after: timedelta = timedelta(hours=24)
    """How long an offer may stay failed or awaiting sign-off before a reminder (seconds, or 30m, 24h, 2d)."""
    offerbot_keep_days: int = Field(default=400, ge=30, le=36500)
    """Days the store keeps sent alerts, clicks on them and status history (an offer's current
    status is always kept); older rows are pruned by the housekeeping job."""
    offerbot_language: Language = Language.EN
    offerbot_allow_guests: bool = False
    """Guests may query (and nothing else); otherwise they get a short refusal for everything."""
    offerbot_metrics_token: SecretStr | None = None
    """A scraper that is not on this machine reads ``/metrics`` with ``Authorization: Bearer <it>``."""
    offerbot_forwarded_for: bool = False
    """Behind a reverse proxy: take a client's address from the last entry of ``X-Forwarded-For``
    (the install page's rate limit is per client address)."""
    offerbot_managers: str = ""
    """User ids (U...) and @usergroup handles, comma-separated, each optionally scoped to one workspace
    (``T...:U...``, ``T...:@handle``): when set, only they and workspace admins and owners may
    subscribe channels and change channel settings. In multi-workspace mode a handle must be scoped."""
    offerbot_go_live: bool = False
    """``on``: a *Go live* button on sign-off alerts, cards and the Home tab lets workspace admins and
    owners and the managers publish an offer from Partner Center or the Cloud Partner Portal to live."""

    @property
    def managers(self) -> tuple[str, ...]:
        return tuple(m.strip() for m in self.offerbot_managers.split(",") if m.strip())

    """The language of channel messages where ``/offer-status settings language`` chose none."""

    # --- the Partner Center / Cloud Partner Portal sync (the Azure SDKs' variable names) ---
    azure_tenant_id: str | None = None
    azure_client_id: str | None = None
    azure_client_secret: SecretStr | None = None
    azure_client_certificate_path: Path | None = None
    """A PEM file with the application's certificate and its private key (instead of a secret)."""
    azure_client_certificate_password: SecretStr | None = None
    """The password of that private key, when it is encrypted."""
    offerbot_managed_identity: bool = False
    """Sign in as the Azure managed identity of where offerbot runs (``AZURE_CLIENT_ID`` names a
    user-assigned one); no tenant, secret or certificate."""
    azure_authority_host: str = "https://login.microsoftonline.com"
    offerbot_secret_key: SecretStr | None = None
    """Fernet keys (comma-separated, the first seals) for the secrets of stored connections."""
    offerbot_certificate_dir: Path | None = None
    """A directory with a folder per workspace (``T0123/``) of PEM files (key and certificate) that
    workspace's *Add a connection* may name: a certificate does not fit a Slack input, so the
    operator puts it here."""
    partner_center_api_url: str = "https://graph.microsoft.com/rp/product-ingestion"
    partner_center_publisher_id: str | None = None
    """The publisher id shown for the offers read from Partner Center; setting it turns that source on."""
    partner_center_notification_emails: str = ""
    """Owners (comma-separated addresses) DMed about Partner Center offers: the API does not say them."""
    cloud_partner_api_url: str = "https://cloudpartner.azure.com"
    cloud_partner_publishers: str = ""
    """Publisher ids read from the Cloud Partner Portal API (comma-separated); empty: that source is off."""
    offerbot_sync_interval: timedelta = timedelta(minutes=15)
    """Time between two full sync passes (seconds, or 30m, 1h); never under 60 s."""
    offerbot_sync_concurrency: int = 8
    offerbot_sync_team: str | None = None
    """The workspace (T...) the sync's offers go to: required in multi-workspace mode."""
    """Requests in flight at once during a sync pass."""
    ssl_cert_file: str | None = None
    requests_ca_bundle: str | None = None

    @field_validator("offerbot_watch_interval")
    @classmethod
    def _positive_interval(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value

    @field_validator("offerbot_sync_interval")
    @classmethod
    def _at_least_a_minute(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=60):
            raise ValueError("must be at least 60 seconds (Microsoft asks for no more than a poll a minute)")
        return value

    @field_validator("offerbot_sync_concurrency")
    @classmethod
    def _concurrency(cls, value: int) -> int:
        if not 1 <= value <= 32:
            raise ValueError("must be from 1 to 32")
        return value

    @field_validator("offerbot_remind_after", "offerbot_sync_interval", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value.lower())
            if not match:
                raise ValueError("use seconds or a number with s, m, h or d, e.g. 24h")
            unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
            return timedelta(seconds=float(match.group(1)) * unit)
        return value

    @field_validator("azure_authority_host", "partner_center_api_url", "cloud_partner_api_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.lower().startswith("https://"):
            raise ValueError("must be an https:// URL (a bearer token goes with every request)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _the_default_store(self) -> Settings:
        if not self.database_url:
            self.database_url, self._legacy_store = default_store(self.offerbot_data_dir)
        return self

    @property
    def legacy_store(self) -> bool:
        """The store is the ``./offerbot.db`` of an earlier version, kept rather than an empty one."""
        return self._legacy_store

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "azure_tenant_id",
        "azure_client_id",
        "azure_client_secret",
        "azure_client_certificate_path",
        "azure_client_certificate_password",
        "partner_center_publisher_id",
        "ssl_cert_file",
        "requests_ca_bundle",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def secret_values(self) -> list[str]:
        """Every configured secret, for the log's redactor."""
        fields = (
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.slack_client_secret,
            self.azure_client_secret,
            self.azure_client_certificate_password,
            self.offerbot_metrics_token,
        )
        keys = self.offerbot_secret_key.get_secret_value().split(",") if self.offerbot_secret_key else []
        return [f.get_secret_value() for f in fields if f is not None] + [
            k.strip() for k in keys if k.strip()
        ]

    def sealer(self) -> Sealer | None:
        """The sealer of ``OFFERBOT_SECRET_KEY`` (None when unset; a bad key is a ConfigError)."""
        return Sealer.parse(self.offerbot_secret_key.get_secret_value() if self.offerbot_secret_key else None)

    def require_sealer(self) -> Sealer:
        sealer = self.sealer()
        if sealer is None:
            raise ConfigError(
                "OFFERBOT_SECRET_KEY is not set: stored connections seal their secrets with it; make one "
                "with `offerbot connection new-key` and set it (docs/partner-center.md, Connections)"
            )
        return sealer

    @property
    def has_slack(self) -> bool:
        return self.slack_bot_token is not None or self.multi_workspace

    @property
    def multi_workspace(self) -> bool:
        """``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` set: installed in many workspaces by OAuth."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def cloud_partner_publisher_ids(self) -> list[str]:
        return [p.strip() for p in self.cloud_partner_publishers.split(",") if p.strip()]

    @property
    def sync_configured(self) -> bool:
        """Some sync source is named (its credentials are checked by :meth:`require_azure`)."""
        return self.partner_center_publisher_id is not None or bool(self.cloud_partner_publisher_ids)

    @property
    def ca_bundle(self) -> str | None:
        """The private CA to trust for Microsoft's APIs, as the Python HTTP libraries read it."""
        return self.requests_ca_bundle or self.ssl_cert_file

    @property
    def azure_credential(self) -> str:
        """Which credential the sync signs in with: ``managed identity``, ``client certificate``,
        ``client secret``, or "" for none."""
        if self.offerbot_managed_identity:
            return "managed identity"
        if self.azure_client_certificate_path is not None:
            return "client certificate"
        return "client secret" if self.azure_client_secret is not None else ""

    def require_azure(self) -> None:
        """Stop with the name of the first missing variable the sync needs."""
        if not self.azure_credential:
            raise ConfigError(
                "the sync has no credential: set AZURE_CLIENT_SECRET (a client secret), "
                "AZURE_CLIENT_CERTIFICATE_PATH (a PEM with the certificate and its key), or "
                "OFFERBOT_MANAGED_IDENTITY=true in Azure (docs/partner-center.md, Set it up)"
            )
        needed = (
            ()
            if self.offerbot_managed_identity
            else (
                ("AZURE_TENANT_ID", self.azure_tenant_id),
                ("AZURE_CLIENT_ID", self.azure_client_id),
            )
        )
        for name, value in needed:
            if value is None:
                raise ConfigError(
                    f"{name} is not set: the sync signs in as an Entra ID application "
                    "(docs/partner-center.md, Set it up)"
                )
        if not self.sync_configured:
            raise ConfigError(
                "no sync source is set: set PARTNER_CENTER_PUBLISHER_ID (Partner Center) "
                "or CLOUD_PARTNER_PUBLISHERS (Cloud Partner Portal)"
            )

    @property
    def sync_team(self) -> str | None:
        return self.offerbot_sync_team.strip() if self.offerbot_sync_team else None

    def require_sync_team(self) -> None:
        """In multi-workspace mode the sync must be told which workspace its offers belong to."""
        if self.multi_workspace and not self.sync_team:
            raise ConfigError(
                "OFFERBOT_SYNC_TEAM is not set: in multi-workspace mode the sync needs the workspace "
                "(T...) its offers go to (or offerbot sync --team T...)"
            )

    def require_scoped_managers(self) -> None:
        """In multi-workspace mode an unscoped ``@handle`` would be matched in every workspace, whose
        members can create user groups: refused at start."""
        if not self.multi_workspace:
            return
        loose = [m for m in self.managers if m.startswith("@")]
        if loose:
            raise ConfigError(
                f"OFFERBOT_MANAGERS: {', '.join(loose)} must name its workspace in multi-workspace mode "
                f"(T...:{loose[0]}): a user group of that name in any workspace would make its members "
                "managers"
            )

    def require_slack(self, *, http: bool = True) -> None:
        """Stop with the name of the first missing variable: the bot token, and for HTTP mode the secret."""
        self.require_scoped_managers()
        if self.multi_workspace:
            if http and (self.slack_signing_secret is None or self.socket_mode):
                raise ConfigError(
                    "multi-workspace mode (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET) runs in HTTP mode: set "
                    "SLACK_SIGNING_SECRET and unset SLACK_APP_TOKEN"
                )
            return
        if self.slack_bot_token is None:
            raise ConfigError(
                "SLACK_BOT_TOKEN is not set: set it to the app's Bot User OAuth Token (xoxb-...)"
            )
        if http and self.slack_app_token is None and self.slack_signing_secret is None:
            raise ConfigError(
                "SLACK_SIGNING_SECRET is not set: HTTP mode needs the app's Signing Secret "
                "(or set SLACK_APP_TOKEN, xapp-..., for Socket Mode)"
            )


SECRET_FILES = (
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "slack_client_secret",
    "azure_client_secret",
    "azure_client_certificate_password",
    "offerbot_metrics_token",
    "offerbot_secret_key",
    "database_url",
)
"""Settings that may be read from a file named by ``<NAME>_FILE`` (as containers pass secrets)."""
MAX_SECRET_FILE = 64 * 1024


def secrets_from_files(environ: Mapping[str, str]) -> dict[str, str]:
    """``SLACK_BOT_TOKEN_FILE=/run/secrets/slack`` and the like: each file's content, stripped, for
    the settings the environment does not set itself. A missing or oversized file is a ConfigError."""
    found: dict[str, str] = {}
    upper = {k.upper(): v for k, v in environ.items()}
    for name in SECRET_FILES:
        path = upper.get(f"{name.upper()}_FILE")
        if not path or upper.get(name.upper()):
            continue
        try:
            with open(path, "rb") as file:
                data = file.read(MAX_SECRET_FILE + 1)
        except OSError as exc:
            raise ConfigError(f"{name.upper()}_FILE: cannot read {path} ({exc.strerror})") from None
        if len(data) > MAX_SECRET_FILE:
            raise ConfigError(f"{name.upper()}_FILE: {path} is over {MAX_SECRET_FILE} bytes")
        found[name] = data.decode("utf-8", errors="replace").strip()
    return found


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    try:
        files = secrets_from_files(os.environ if environ is None else environ)
        # Passed as init values; secrets_from_files only fills what the environment leaves unset.
        settings: Settings = cast(Any, Settings)(**files)
        return settings
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"bad configuration: {problems}") from None

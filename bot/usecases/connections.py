"""Partner Center connections of a workspace, as use-cases: add (checked, its secret sealed once),
list, test (one token, one API request per source), remove, and the key's rotation; what the sync
reads of them (:class:`ConnectionFeeds`) and what it writes back (read, or refused, once told).
Only workspace admins and owners and ``OFFERBOT_MANAGERS`` change them. No Slack, no wording."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from pydantic import SecretStr

from bot.guard import Expired, check_not_expired
from bot.i18n import N_
from bot.logs import REDACT
from bot.settings import Settings
from bot.sources.base import OfferSource
from bot.sources.connections import first_page, open_certificate, sources_of
from bot.sources.http import RetryPolicy, make_http_client
from bot.usecases.access import OPEN, Action, Actor, check
from storage import connections as store
from storage import db
from storage.connections import CERTIFICATE, SECRET
from storage.errors import OfferbotError, UsageError
from storage.sealing import Sealer

log = logging.getLogger(__name__)

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,99}")
_PUBLISHER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
MAX_SECRET = 1024


def never() -> bool:
    """The default ``expired``: a caller with no deadline (the CLI)."""
    return False


QUICK = RetryPolicy(attempts=1, timeout=20.0)


class ConnectionInputError(UsageError):
    """A field of a new connection is wrong; ``field`` names it (the modal marks that input)."""

    def __init__(self, field: str, message: str, /, **params: object) -> None:
        super().__init__(message, **params)
        self.field = field


@dataclass(frozen=True)
class ConnectionInput:
    team_id: str
    name: str
    tenant_id: str
    client_id: str
    publisher_id: str = ""
    cloud_partner_publishers: str = ""
    secret: SecretStr | None = None
    certificate: bytes | None = None
    """A PEM with the private key and the certificate (from a file, or the modal's two fields)."""
    certificate_password: SecretStr | None = None


@dataclass(frozen=True)
class ConnectionView:
    name: str
    tenant_id: str
    client_id: str
    credential: str
    thumbprint: str | None
    publisher_id: str | None
    cloud_partner_publishers: tuple[str, ...]
    read_at: datetime | None
    refused_at: datetime | None
    refused_reason: str | None

    @classmethod
    def of(cls, row: store.PartnerConnection) -> ConnectionView:
        return cls(
            name=row.name,
            tenant_id=row.tenant_id,
            client_id=row.client_id,
            credential=row.credential,
            thumbprint=row.thumbprint,
            publisher_id=row.publisher_id,
            cloud_partner_publishers=tuple(row.cloud_partner_ids),
            read_at=row.read_at,
            refused_at=row.refused_at,
            refused_reason=row.refused_reason,
        )


def _checked_ids(data: ConnectionInput) -> tuple[str, str, str | None, tuple[str, ...]]:
    if not _NAME.fullmatch(data.name):
        raise ConnectionInputError(
            "name",
            N_("a connection's name is 1 to 40 lower-case letters, digits and dashes, like contoso-pc"),
        )
    tenant, client = data.tenant_id.strip(), data.client_id.strip()
    if not (_GUID.fullmatch(tenant) or _TENANT_NAME.fullmatch(tenant)):
        raise ConnectionInputError(
            "tenant",
            N_("the tenant is its Directory (tenant) ID, a GUID, or its domain (contoso.onmicrosoft.com)"),
        )
    if not _GUID.fullmatch(client):
        raise ConnectionInputError(
            "client", N_("the client id is the application's Application (client) ID, a GUID")
        )
    publisher = data.publisher_id.strip() or None
    portal = tuple(dict.fromkeys(p.strip() for p in data.cloud_partner_publishers.split(",") if p.strip()))
    for field_name, value in (("publisher", publisher), *(("portal", p) for p in portal)):
        if value is not None and not _PUBLISHER.fullmatch(value):
            raise ConnectionInputError(field_name, N_('"%(value)s" is not a publisher id'), value=value[:100])
    if publisher is None and not portal:
        raise ConnectionInputError(
            "publisher",
            N_("name what it reads: a Partner Center publisher id, or Cloud Partner Portal publishers"),
        )
    return tenant, client, publisher, portal


@dataclass(frozen=True)
class NewCredential:
    """A connection's new client secret or certificate (*Replace the credential*)."""

    secret: SecretStr | None = None
    certificate: bytes | None = None
    certificate_password: SecretStr | None = None


def _sealed_credential(data: ConnectionInput | NewCredential, sealer: Sealer) -> tuple[str, str, str | None]:
    """The credential's kind, its sealed form and a certificate's thumbprint."""
    if (data.secret is None) == (data.certificate is None):
        raise ConnectionInputError("credential", N_("give either a client secret or a certificate, not both"))
    if data.secret is not None:
        secret = data.secret.get_secret_value().strip()
        if not secret or len(secret) > MAX_SECRET or "\n" in secret:
            raise ConnectionInputError("secret", N_("the client secret is the secret's Value, on one line"))
        REDACT.add([secret])  # typed in a form or read from a file: masked in any log line from now on
        return SECRET, sealer.seal(secret), None
    assert data.certificate is not None
    try:
        opened = open_certificate(data.certificate, data.certificate_password)
    except OfferbotError as exc:
        raise ConnectionInputError("certificate", N_("the certificate: %(why)s"), why=str(exc)) from None
    return CERTIFICATE, sealer.seal(opened.pem), opened.thumbprint


def add_connection(
    factory: db.SessionFactory,
    *,
    actor: Actor,
    data: ConnectionInput,
    sealer: Sealer,
    now: datetime,
    expired: Expired = never,
) -> ConnectionView:
    """Check every field, seal the secret, store the connection; the sync reads it from its next run.
    Nothing is stored when ``expired`` says the answer came too late (the user was told to retry)."""
    check(actor, Action.CONNECTIONS, OPEN)
    tenant, client, publisher, portal = _checked_ids(data)
    kind, sealed, thumbprint = _sealed_credential(data, sealer)
    new = store.NewConnection(
        team_id=data.team_id,
        name=data.name,
        tenant_id=tenant,
        client_id=client,
        credential=kind,
        sealed=sealed,
        thumbprint=thumbprint,
        publisher_id=publisher,
        cloud_partner_publishers=portal,
        created_by=actor.user_id,
    )
    with db.transaction(factory) as session:
        if store.connection_named(session, team_id=data.team_id, name=data.name) is not None:
            raise ConnectionInputError(
                "name", N_('this workspace already has a connection named "%(name)s"'), name=data.name
            )
        if len(store.connections_of(session, team_id=data.team_id)) >= store.MAX_CONNECTIONS:
            raise UsageError(N_("a workspace holds at most %(n)s connections"), n=store.MAX_CONNECTIONS)
        added = ConnectionView.of(store.add_connection(session, new=new, now=now))
        check_not_expired(expired)
        return added


def list_connections(factory: db.SessionFactory, *, team_id: str) -> list[ConnectionView]:
    with factory() as session:
        return [ConnectionView.of(row) for row in store.connections_of(session, team_id=team_id)]


@dataclass(frozen=True)
class ConnectionsPanel:
    """The Home tab's *Partner Center connections*, for those who may change them."""

    connections: list[ConnectionView]
    can_add: bool
    """``OFFERBOT_SECRET_KEY`` is set (without it no secret can be sealed)."""
    certificates: tuple[str, ...] = ()
    """The PEM files of ``OFFERBOT_CERTIFICATE_DIR`` a new connection may name."""


def connections_panel(
    factory: db.SessionFactory,
    *,
    actor: Actor,
    team_id: str,
    can_add: bool,
    certificates: tuple[str, ...] = (),
) -> ConnectionsPanel | None:
    """None for whoever may not change connections (they see nothing of them)."""
    try:
        check(actor, Action.CONNECTIONS, OPEN)
    except OfferbotError:
        return None
    return ConnectionsPanel(list_connections(factory, team_id=team_id), can_add, certificates)


def replace_credential(
    factory: db.SessionFactory,
    *,
    actor: Actor,
    team_id: str,
    name: str,
    credential: NewCredential,
    sealer: Sealer,
    now: datetime,
    expired: Expired = never,
) -> ConnectionView:
    """Seal the new secret or certificate in the old one's place (the old one is gone): the sync
    signs in with it at its next run and reads every product again."""
    check(actor, Action.CONNECTIONS, OPEN)
    kind, sealed, thumbprint = _sealed_credential(credential, sealer)
    with db.transaction(factory) as session:
        row = store.replace_credential(
            session,
            team_id=team_id,
            name=name,
            credential=kind,
            sealed=sealed,
            thumbprint=thumbprint,
            now=now,
        )
        if row is None:
            raise UsageError(N_('this workspace has no connection named "%(name)s"'), name=name)
        replaced = ConnectionView.of(row)
        check_not_expired(expired)
        return replaced


def remove_connection(
    factory: db.SessionFactory,
    *,
    actor: Actor,
    team_id: str,
    name: str,
    now: datetime,
    expired: Expired = never,
) -> int:
    """Delete the connection (its secret with it); its offers are kept, marked removed."""
    check(actor, Action.CONNECTIONS, OPEN)
    with db.transaction(factory) as session:
        row = store.connection_named(session, team_id=team_id, name=name)
        if row is None or row.id is None:
            raise UsageError(N_('this workspace has no connection named "%(name)s"'), name=name)
        publishing = store.publishing_offers(session, connection_id=row.id)
        if publishing:
            raise UsageError(
                N_("%(offers)s is being published with this connection: remove it once that has ended"),
                offers=", ".join(publishing),
            )
        removed = store.remove_connection(session, team_id=team_id, name=name, now=now)
        check_not_expired(expired)
        return removed


def rotate_key(factory: db.SessionFactory, *, sealer: Sealer, now: datetime) -> int:
    """Seal every stored secret with the first key of ``OFFERBOT_SECRET_KEY``, all or none."""
    with db.transaction(factory) as session:
        return store.reseal_all(session, reseal=sealer.rotate, now=now)


@dataclass(frozen=True)
class SourceCheck:
    label: str
    ok: bool
    products: int = 0
    problem: str = ""


@dataclass(frozen=True)
class ConnectionTest:
    name: str
    credential: str
    checks: tuple[SourceCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


def check_connection(
    factory: db.SessionFactory,
    *,
    actor: Actor,
    team_id: str,
    name: str,
    settings: Settings,
    sealer: Sealer,
    http: httpx.Client | None = None,
) -> ConnectionTest:
    """One token and one API request per source of the connection: what it found or what to fix."""
    check(actor, Action.CONNECTIONS, OPEN)
    with factory() as session:
        row = store.connection_named(session, team_id=team_id, name=name)
        if row is None:
            raise UsageError(N_('this workspace has no connection named "%(name)s"'), name=name)
        session.expunge(row)
    client = http or make_http_client(ca_bundle=settings.ca_bundle, concurrency=2)
    checks = []
    for source in sources_of(row, settings, sealer, http=client, policy=QUICK):
        try:
            checks.append(SourceCheck(source.label, True, products=first_page(source)))
        except OfferbotError as exc:
            checks.append(SourceCheck(source.label, False, problem=str(exc)[:400]))
    return ConnectionTest(name=row.name, credential=row.credential, checks=tuple(checks))


@dataclass
class Feed:
    """What one sync run reads for one connection (``connection_id`` None: the environment's)."""

    connection_id: int | None
    team_id: str | None
    name: str
    sources: Sequence[OfferSource]
    problem: str | None = None
    """Why its sources could not be made (a secret that does not open): recorded as refused."""
    fresh: bool = True
    """Made from a changed connection (a new credential): the sync reads all of it at once."""


@dataclass
class ConnectionFeeds:
    """The stored connections' sources, read from the store at each sync run and made again only
    when a connection changed (a cached token provider per connection keeps its tokens)."""

    settings: Settings
    sealer: Sealer
    http: httpx.Client | None = None
    _cache: dict[int, tuple[datetime, Feed]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self, factory: db.SessionFactory) -> list[Feed]:
        with factory() as session:
            rows = store.all_connections(session)
            for row in rows:
                session.expunge(row)
        with self._lock:
            self._cache = {row.id: self._feed(row) for row in rows if row.id is not None}
            return [feed for _, feed in self._cache.values()]

    def _feed(self, row: store.PartnerConnection) -> tuple[datetime, Feed]:
        cached = self._cache.get(row.id or 0)
        if cached is not None and cached[0] == row.updated_at:
            return cached
        if self.http is None:
            self.http = make_http_client(
                ca_bundle=self.settings.ca_bundle, concurrency=self.settings.offerbot_sync_concurrency
            )
        try:
            sources = sources_of(row, self.settings, self.sealer, http=self.http)
            return row.updated_at, Feed(row.id, row.team_id, row.name, sources)
        except OfferbotError as exc:
            return row.updated_at, Feed(row.id, row.team_id, row.name, [], problem=str(exc))


def record_pass(
    factory: db.SessionFactory, *, feed: Feed, refused: str | None, answered: bool, now: datetime
) -> bool:
    """After a run over a stored connection: refused (its admins are told once) or read. True when a
    refusal starts."""
    if feed.connection_id is None or (refused is None and not answered):
        return False
    with db.transaction(factory) as session:
        if refused is not None:
            return store.record_refusal(session, connection_id=feed.connection_id, reason=refused, now=now)
        if store.record_read(session, connection_id=feed.connection_id, now=now):
            log.info("connection %s of %s is read again", feed.name, feed.team_id)
    return False


@dataclass(frozen=True)
class Refusal:
    connection_id: int
    team_id: str
    name: str
    reason: str
    created_by: str
    since: datetime


def refusals_to_tell(factory: db.SessionFactory) -> list[Refusal]:
    with factory() as session:
        return [
            Refusal(
                r.id or 0,
                r.team_id,
                r.name,
                r.refused_reason or "",
                r.created_by,
                r.refused_at or r.updated_at,
            )
            for r in store.refusals_to_tell(session)
        ]


def refusal_told(factory: db.SessionFactory, *, refusal: Refusal, now: datetime) -> None:
    with db.transaction(factory) as session:
        store.mark_told(session, connection_id=refusal.connection_id, since=refusal.since, now=now)

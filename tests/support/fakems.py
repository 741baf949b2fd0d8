"""A fake of Microsoft's side for the sync, over real HTTPS (pytest-httpserver with a trustme CA):
Entra ID's OpenID configuration and token endpoint, the Partner Center Product Ingestion API and the
Cloud Partner Portal API, answering the documented shapes (``shared/partner-center.md``).

Every request is recorded. ``script`` makes the next answers of a path (matched by its start) a 429
with Retry-After, a 5xx, a 401 or any body; ``latency`` delays every answer (the benchmark's 20 ms).
"""

from __future__ import annotations

import base64
import io
import json
import re
import ssl
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import jwt
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TENANT = "contoso-tenant"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "s3cr3t-value"
OTHER_TENANT = "fabrikam-tenant"
"""A second Partner Center account: its own tenant, application and secret, and its own products."""
OTHER_CLIENT_ID = "99999999-8888-7777-6666-555555555555"
OTHER_SECRET = "other-s3cr3t-value"
PC = "/rp/product-ingestion"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
CPP_SCOPE = "https://cloudpartner.azure.com/.default"
MANAGED_IDENTITY_PATH = "/msi/token"
MANAGED_IDENTITY_HEADER = "fake-identity-header"


@dataclass
class Recorded:
    method: str
    path: str
    args: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    body: Any = None
    """A POST's JSON body (None when there is none or it is not JSON)."""

    @property
    def target(self) -> str:
        """The path and the decoded query, sorted: the page asked for, whatever its spelling."""
        query = "&".join(f"{k}={v}" for k, v in sorted(self.args.items()))
        return f"{self.path}?{query}" if query else self.path


@dataclass
class Scripted:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: str | None = None


def guid(n: int) -> str:
    return f"0f6c2f7e-0000-4000-8000-{n:012d}"


class _KeepAliveHandler(BaseHTTPRequestHandler):
    """The same fake behind a server that keeps connections alive, as Microsoft's do (werkzeug's
    development server, under pytest-httpserver, closes every connection, so each request would pay
    a TLS handshake). The benchmark uses it."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    fake: FakeMicrosoft

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "PATH_INFO": unquote(split.path),
            "QUERY_STRING": split.query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
            "wsgi.url_scheme": "https",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(length),
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
        }
        for key, value in self.headers.items():
            environ["HTTP_" + key.upper().replace("-", "_")] = value
        response = self.fake._handle(Request(environ))
        data = response.get_data()
        self.send_response(response.status_code)
        for key, value in response.headers.items():
            if key.lower() not in ("content-length", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuickStopServer(HTTPServer):
    """pytest-httpserver's server, polling for its stop every 20 ms instead of werkzeug's 0.5 s."""

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.02)


class FakeMicrosoft:
    PAGING = ("absolute", "relative", "rooted", "token", "self", "repeat-token")
    """How lists name their next page: an absolute ``@nextLink``; a ``nextLink`` relative to the API
    base; an ``@nextLink`` relative to the host's root; a ``continuationToken`` in the body; and two
    broken shapes, a page that links to itself and a token that repeats."""

    def __init__(self, *, latency: float = 0.0, page_size: int = 2, keep_alive: bool = False) -> None:
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        self.server: HTTPServer | None = None
        self.keep_alive_server: ThreadingHTTPServer | None = None
        if keep_alive:
            handler = type("Handler", (_KeepAliveHandler,), {"fake": self})
            self.keep_alive_server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            self.keep_alive_server.daemon_threads = True
            self.keep_alive_server.socket = context.wrap_socket(
                self.keep_alive_server.socket, server_side=True
            )
        else:
            self.server = _QuickStopServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
            self.server.expect_request(re.compile(".*")).respond_with_handler(self._handle)
        self.latency = latency
        self.page_size = page_size
        self.paging = "absolute"
        self.submission_page_size: int | None = None
        """Submissions per page (None: one page), paged the same way as products."""
        self.products: dict[str, dict[str, Any]] = {}
        self.submissions: dict[str, list[dict[str, Any]]] = {}
        self.validations: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.cpp_offers: dict[str, list[dict[str, Any]]] = {}
        self.cpp_status: dict[tuple[str, str], Any] = {}
        self.calls: list[Recorded] = []
        self.tokens: dict[str, int] = defaultdict(int)
        self.secret = CLIENT_SECRET
        self.client_certificate: bytes | None = None
        """The PEM certificate registered on the application: client assertions signed by its key pass."""
        self.other_certificate: bytes | None = None
        """The same, for the application of :data:`OTHER_TENANT`."""
        self.product_tenant: dict[str, str] = {}
        """Products of :data:`OTHER_TENANT` (by guid); every other product is :data:`TENANT`'s."""
        self._token_tenant: dict[str, str] = {}
        self.token_error: dict[str, Any] | None = None
        self._script: dict[str, deque[Scripted]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._issued: dict[str, str] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.jobs: dict[str, Job] = {}
        """Publishing jobs (Partner Center's configure jobs and the Cloud Partner Portal's
        operations), by id."""
        self.cpp_publishing: set[str] = set()
        """Cloud Partner Portal publishes in progress that offerbot did not start (``publisher/offer``)."""
        self.job_polls = 2
        """Status reads a new job answers "running" to before it completes."""
        self.job_outcome = "succeeded"
        """How the next jobs complete: ``succeeded`` or ``failed`` (with :data:`CERTIFICATION_FAILED`)."""

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeMicrosoft:
        if self.server is not None:
            self.server.start()
        else:
            assert self.keep_alive_server is not None
            threading.Thread(target=self.keep_alive_server.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.clear()
            if self.server.is_running():
                self.server.stop()
        if self.keep_alive_server is not None:
            self.keep_alive_server.shutdown()
            self.keep_alive_server.server_close()

    @property
    def url(self) -> str:
        port = self.server.port if self.server is not None else self.keep_alive_server.server_address[1]  # type: ignore[union-attr]
        return f"https://127.0.0.1:{port}"

    def ca_file(self, folder: Path) -> str:
        path = folder / "fake-ms-ca.pem"
        self.ca.cert_pem.write_to_path(str(path))
        return str(path)

    def settings(self, folder: Path, **extra: Any) -> dict[str, Any]:
        """What the sync's Settings need to talk to this fake."""
        return {
            "azure_tenant_id": TENANT,
            "azure_client_id": CLIENT_ID,
            "azure_client_secret": CLIENT_SECRET,
            "azure_authority_host": self.url,
            "partner_center_api_url": self.url + PC,
            "cloud_partner_api_url": self.url,
            "ssl_cert_file": self.ca_file(folder),
            "requests_ca_bundle": self.ca_file(folder),
            **extra,
        }

    # --- data ----------------------------------------------------------------------------------
    def add_product(
        self,
        n: int,
        offer_id: str,
        name: str,
        *,
        type_: str = "softwareAsAService",
        submissions: list[dict[str, Any]] | None = None,
        lifecycle: str | None = None,
        old_spelling: bool = False,
        tenant: str = TENANT,
    ) -> str:
        g = guid(n)
        if tenant != TENANT:
            self.product_tenant[g] = tenant
        product: dict[str, Any] = {
            "$schema": "https://schema.mp.microsoft.com/schema/product/2022-03-01-preview3",
            "id": f"product/{g}",
            "identity": {"externalID" if old_spelling else "externalId": offer_id},
            "type": type_,
            "alias": name,
        }
        if lifecycle:
            product["lifecycleState"] = lifecycle
        self.products[g] = product
        self.submissions[g] = [
            {"id": f"submission/{g}/0", "product": f"product/{g}", "target": {"targetType": "draft"}},
            *(submissions or []),
        ]
        return g

    def set_submissions(self, g: str, *subs: dict[str, Any]) -> None:
        self.submissions[g] = [self.submissions[g][0], *subs]

    # --- scripting and inspection --------------------------------------------------------------
    def script(self, path_prefix: str, *answers: Scripted) -> None:
        with self._lock:
            self._script[path_prefix].extend(answers)

    def calls_to(self, prefix: str) -> list[Recorded]:
        with self._lock:
            return [c for c in self.calls if c.path.startswith(prefix)]

    def api_calls(self) -> list[Recorded]:
        return [c for c in self.calls if "/oauth2/" not in c.path and "openid-configuration" not in c.path]

    # --- the server ----------------------------------------------------------------------------
    def _scripted(self, path: str) -> Scripted | None:
        with self._lock:
            for prefix, queue in self._script.items():
                if path.startswith(prefix) and queue:
                    return queue.popleft()
        return None

    def _handle(self, request: Request) -> Response:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._respond(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _respond(self, request: Request) -> Response:
        if self.latency:
            time.sleep(self.latency)
        recorded = Recorded(
            method=request.method,
            path=request.path,
            args=dict(request.args),
            headers=dict(request.headers),
            form=dict(request.form),
            body=request.get_json(silent=True) if request.method == "POST" else None,
        )
        with self._lock:
            self.calls.append(recorded)
        scripted = self._scripted(request.path)
        if scripted is not None:
            body = scripted.raw if scripted.raw is not None else json.dumps(scripted.body or {})
            return Response(
                body, status=scripted.status, headers=scripted.headers, mimetype="application/json"
            )
        status, body = self._answer(request, recorded)
        headers = {}
        if isinstance(body, Located):
            headers["Location"], body = body.location, body.body
        return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")

    def _error(self, status: int, code: str, message: str) -> tuple[int, Any]:
        return status, {"error": {"code": code, "message": message, "details": []}}

    def _answer(self, request: Request, rec: Recorded) -> tuple[int, Any]:
        path = request.path
        tenant = next((t for t in (TENANT, OTHER_TENANT) if path.startswith(f"/{t}/")), "")
        if tenant and path == f"/{tenant}/v2.0/.well-known/openid-configuration":
            base = f"{self.url}/{tenant}"
            return 200, {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "issuer": f"{base}/v2.0",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
            }
        if tenant and path == f"/{tenant}/oauth2/v2.0/token" and request.method == "POST":
            return self._token(rec, tenant)
        if path == MANAGED_IDENTITY_PATH:
            return self._managed_identity(rec)
        if path.startswith(PC):
            return self._partner_center(path[len(PC) :], rec)
        if path.startswith("/api/publishers/"):
            return self._cloud_partner(path, rec)
        return self._error(404, "notFound", f"no route {path}")

    def _assertion_ok(self, rec: Recorded, tenant: str = TENANT) -> bool:
        """A client assertion (RFC 7523) signed by the key of :attr:`client_certificate`, naming the
        application as issuer and subject, this token endpoint as audience, and the certificate's
        SHA-1 thumbprint as ``x5t``, as Entra ID checks it."""
        registered, client_id = (
            (self.client_certificate, CLIENT_ID)
            if tenant == TENANT
            else (self.other_certificate, OTHER_CLIENT_ID)
        )
        if registered is None:
            return False
        if rec.form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return False
        cert = x509.load_pem_x509_certificate(registered)
        assertion = rec.form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                cert.public_key(),  # type: ignore[arg-type]
                algorithms=["RS256", "PS256"],
                audience=f"{self.url}/{tenant}/oauth2/v2.0/token",
                issuer=client_id,
            )
        except jwt.PyJWTError:
            return False
        named = str(header.get("x5t", ""))  # MSAL writes it in base64 with padding, the RFC in base64url
        try:
            thumbprint = base64.b64decode(named.replace("-", "+").replace("_", "/") + "==")
        except ValueError:
            return False
        return claims.get("sub") == client_id and thumbprint == cert.fingerprint(hashes.SHA1())

    def _managed_identity(self, rec: Recorded) -> tuple[int, Any]:
        """App Service's managed identity endpoint (``IDENTITY_ENDPOINT``), on loopback."""
        if rec.headers.get("X-Identity-Header") != MANAGED_IDENTITY_HEADER:
            return 401, {"error": "invalid_request", "error_description": "X-IDENTITY-HEADER is wrong"}
        resource = rec.args.get("resource", "")
        with self._lock:
            scope = resource.rstrip("/") + "/.default"
            self.tokens[scope] += 1
            token = f"token-mi-{len(self._issued)}"
            self._issued[token] = scope
        expires = str(int(time.time()) + 3600)
        return 200, {
            "access_token": token,
            "expires_on": expires,
            "resource": resource,
            "token_type": "Bearer",
        }

    def _token(self, rec: Recorded, tenant: str = TENANT) -> tuple[int, Any]:
        """A token for the tenant's application: :data:`CLIENT_ID` with :attr:`secret` or
        :attr:`client_certificate` in :data:`TENANT`, :data:`OTHER_CLIENT_ID` with
        :data:`OTHER_SECRET` or :attr:`other_certificate` in :data:`OTHER_TENANT`."""
        if self.token_error is not None:
            return 401, self.token_error
        client_id, secret = (CLIENT_ID, self.secret) if tenant == TENANT else (OTHER_CLIENT_ID, OTHER_SECRET)
        if rec.form.get("client_id") == client_id and "client_assertion" in rec.form:
            if not self._assertion_ok(rec, tenant):
                return 401, {
                    "error": "invalid_client",
                    "error_description": "AADSTS700027: Client assertion failed signature validation.",
                    "error_codes": [700027],
                }
        elif rec.form.get("client_id") != client_id or rec.form.get("client_secret") != secret:
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret "
                "being sent in the request is the client secret value.\r\nTrace ID: x",
                "error_codes": [7000215],
            }
        scope = rec.form.get("scope", "")
        with self._lock:
            self.tokens[scope] += 1
            token = f"token-{len(self._issued)}-{scope}"
            self._issued[token] = scope
            self._token_tenant[token] = tenant
        return 200, {
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": token,
        }

    def _bearer_scope(self, rec: Recorded) -> str | None:
        auth = rec.headers.get("Authorization", "")
        return self._issued.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None

    def _partner_center(self, path: str, rec: Recorded) -> tuple[int, Any]:
        if self._bearer_scope(rec) != GRAPH_SCOPE:
            return self._error(401, "Unauthorized", "missing or wrong bearer token")
        if rec.args.get("$version") != "2022-07-01":
            return self._error(400, "BadRequest", "$version is required")
        if path.startswith("/configure"):
            return self._configure(path, rec)
        if path == "/product":  # the products of the token's tenant only
            auth = rec.headers.get("Authorization", "").removeprefix("Bearer ")
            tenant = self._token_tenant.get(auth, TENANT)
            ids = sorted(g for g in self.products if self.product_tenant.get(g, TENANT) == tenant)
            return self._page([self.products[g] for g in ids], rec, "product", self.page_size)
        match = re.fullmatch(r"/submission/([0-9a-f-]{36})", path)
        if match:
            subs = self.submissions.get(match.group(1))
            if subs is None:
                return self._error(404, "NotFound", "no such product")
            size = self.submission_page_size
            if size is None:
                return 200, {"value": subs}
            return self._page(subs, rec, f"submission/{match.group(1)}", size)
        match = re.fullmatch(r"/resource-tree/product/([0-9a-f-]{36})", path)
        if match:
            g, target = match.group(1), rec.args.get("targetType", "draft")
            if g not in self.products:
                return self._error(404, "NotFound", "no such product")
            product = self.products[g]
            return 200, {
                "root": f"product/{g}",
                "target": {"targetType": target},
                "resources": [
                    {
                        "id": f"product/{g}",
                        "type": product["type"],
                        "alias": product["alias"],
                        "validations": self.validations.get((g, target), []),
                    },
                    {"id": f"plan/{g}/5d1c", "validations": []},
                ],
            }
        return self._error(404, "NotFound", f"no route {path}")

    def _start(self, rec: Recorded) -> int | None:
        """Where the page asked for starts, from the parameter the paging shape uses (None: a
        parameter this shape never sends)."""
        extra = set(rec.args) - {"$version", "targetType"}
        if self.paging in ("token", "repeat-token"):
            token = rec.args.get("continuationToken")
            if token is None:
                return 0 if not extra else None
            decoded = base64.b64decode(token.encode()).decode()
            return int(decoded.removeprefix("start=")) if extra == {"continuationToken"} else None
        name = "skipToken" if self.paging == "absolute" else "$skipToken"
        if name not in rec.args:
            return 0 if not extra else None
        return int(rec.args[name]) if extra == {name} else None

    def _page(self, items: list[Any], rec: Recorded, route: str, size: int) -> tuple[int, Any]:
        """One page of ``items`` in the paging shape of ``self.paging``."""
        start = self._start(rec)
        if start is None:
            return self._error(400, "BadRequest", f"unexpected page parameters {sorted(rec.args)}")
        page: dict[str, Any] = {"value": items[start : start + size]}
        more = start + size < len(items)
        if self.paging == "self":
            page["nextLink"] = f"{route}?$version=2022-07-01"  # always the first page again
        elif self.paging == "repeat-token":
            page["continuationToken"] = base64.b64encode(b"start=0").decode()
        elif more and self.paging == "token":
            page["continuationToken"] = base64.b64encode(f"start={start + size}".encode()).decode()
        elif more and self.paging == "absolute":
            query = urlencode({"$version": "2022-07-01", "skipToken": start + size})
            page["@nextLink"] = f"{self.url}{PC}/{route}?{query}"
        elif more and self.paging == "relative":
            page["nextLink"] = f"{route}?$version=2022-07-01&$skipToken={start + size}"
        elif more and self.paging == "rooted":
            page["@nextLink"] = f"{PC}/{route}?$skipToken={start + size}"
        return 200, page

    def _cloud_partner(self, path: str, rec: Recorded) -> tuple[int, Any]:
        if self._bearer_scope(rec) != CPP_SCOPE:
            return self._error(401, "Unauthorized", "missing or wrong bearer token")
        if rec.args.get("api-version") != "2017-10-31":
            return self._error(400, "BadRequest", "api-version is required")
        match = re.fullmatch(r"/api/publishers/([^/]+)/offers", path)
        if match:
            if match.group(1) not in self.cpp_offers:
                return self._error(404, "NotFound", f"no publisher {match.group(1)}")
            return 200, self.cpp_offers[match.group(1)]
        match = re.fullmatch(r"/api/publishers/([^/]+)/offers/([^/]+)/status", path)
        if match and (match.group(1), match.group(2)) in self.cpp_status:
            return 200, self.cpp_status[(match.group(1), match.group(2))]
        match = re.fullmatch(r"/api/publishers/([^/]+)/offers/([^/]+)/(golive|cancel)", path)
        if match and rec.method == "POST":
            return self._cpp_golive(match.group(1), match.group(2), match.group(3))
        match = re.fullmatch(r"/api/publishers/([^/]+)/offers/([^/]+)/operations/([^/]+)", path)
        if match and match.group(3) in self.jobs:
            return 200, [self._cpp_operation(self.jobs[match.group(3)])]
        return self._error(404, "NotFound", f"no route {path}")

    # --- publishing (docs/partner-center.md: "Going live", the Cloud Partner Portal's golive) -----
    def _configure(self, path: str, rec: Recorded) -> tuple[int, Any]:
        if path == "/configure" and rec.method == "POST":
            return self._configure_post(rec.body)
        match = re.fullmatch(r"/configure/([0-9a-f-]{36})(/status|/cancel)?", path)
        job = self.jobs.get(match.group(1)) if match else None
        if match is None or job is None:
            return self._error(404, "NotFound", f"no job {path}")
        if match.group(2) == "/cancel" and rec.method == "POST":
            if job.status == "completed":
                return self._error(400, "badRequest", "The job cannot be cancelled: it has completed.")
            job.status, job.result = "completed", "cancelled"
            return 200, job.configure_status()
        if match.group(2) == "/status":
            self._advance(job)
            return 200, job.configure_status()
        if job.status != "completed":
            return self._error(400, "badRequest", "The job has not completed.")
        return 200, {**job.configure_status(), "resources": [{"id": job.submission}]}

    def _configure_post(self, body: Any) -> tuple[int, Any]:
        """A live request, checked as Learn's "Publishing to live" describes it: the configure
        schema, one submission resource with the preview submission's id and the live target."""
        resources = body.get("resources") if isinstance(body, dict) else None
        if not isinstance(body, dict) or "configure" not in str(body.get("$schema")) or not resources:
            return self._error(
                400, "schemaValidationError", "a configure request needs $schema and resources"
            )
        (resource,) = resources
        sid, product = resource.get("id", ""), str(resource.get("product", "")).removeprefix("product/")
        if resource.get("target") != {"targetType": "live"} or "submission" not in str(
            resource.get("$schema")
        ):
            return self._error(400, "schemaValidationError", "a submission resource with the live target")
        if any(j.product == product and j.status != "completed" for j in self.jobs.values()):
            return self._error(400, "invalidState", "A job is already running for this product.")
        previews = [
            s
            for s in self.submissions.get(product, [])
            if s["id"] == sid and s["target"]["targetType"] == "preview" and s.get("result") == "succeeded"
        ]
        if not previews:
            return self._error(
                400, "invalidState", "You can't publish directly to live: no succeeded preview."
            )
        job = Job(id=f"{uuid.uuid4()}", product=product, submission=sid, outcome=self.job_outcome)
        self.jobs[job.id] = job
        return 202, job.configure_status()

    def _advance(self, job: Job) -> None:
        """One more look at a job: after :attr:`job_polls` looks it completes, and a succeeded live
        job lists its preview submission under the live target too (the same id)."""
        if job.status == "completed":
            return
        job.polls += 1
        if job.polls <= self.job_polls:
            job.status = "running"
            return
        job.status, job.result = "completed", job.outcome
        if job.outcome == "succeeded" and job.product in self.submissions:
            preview = next(s for s in self.submissions[job.product] if s["id"] == job.submission)
            live = {**preview, "target": {"targetType": "live"}, "lifecycleState": "generallyAvailable"}
            self.submissions[job.product].append(live)

    def _cpp_golive(self, publisher: str, offer: str, verb: str) -> tuple[int, Any]:
        if verb == "cancel":
            key = f"{publisher}/{offer}"
            running = [j for j in self.jobs.values() if j.product == key and j.status != "completed"]
            if not running and key not in self.cpp_publishing:
                return self._error(400, "BadRequest", "no publish in progress")
            for job in running:
                job.status, job.result = "completed", "cancelled"
            self.cpp_publishing.discard(key)
            cancel = Job(id=f"{uuid.uuid4()}", product=key, submission="", outcome="succeeded")
            self.jobs[cancel.id] = cancel
            where = (
                f"/api/publishers/{publisher}/offers/{offer}/operations/{cancel.id}?api-version=2017-10-31"
            )
            return 202, Located(where, {})
        job = Job(
            id=f"{uuid.uuid4()}", product=f"{publisher}/{offer}", submission="", outcome=self.job_outcome
        )
        self.jobs[job.id] = job
        where = f"/api/publishers/{publisher}/offers/{offer}/operations/{job.id}?api-version=2017-10-31"
        return 202, Located(where, {})

    def _cpp_operation(self, job: Job) -> dict[str, Any]:
        self._advance(job)
        if job.status != "completed":
            return {"status": "running", "messages": [], "cancellationRequestState": "canCancel", "steps": []}
        status = {"succeeded": "complete", "failed": "failed", "cancelled": "canceled"}[job.result]
        steps = []
        if job.result == "failed":
            steps = [
                {
                    "id": "certification",
                    "stepName": "Certification",
                    "status": "failed",
                    "messages": [{"messageText": "The VM image failed certification: port 22 is open."}],
                }
            ]
        return {"status": status, "messages": [], "steps": steps}


CERTIFICATION_FAILED = [
    {
        "code": "internalServerError",
        "message": "Operation failed",
        "details": [
            {
                "code": "invalidState",
                "message": "Certification",
                "details": [{"code": "invalidState", "message": "Issues found during Certification."}],
            }
        ],
    }
]
"""A failed job's errors, in the nesting of cloudpub's test fixtures (release-engineering/cloudpub)."""


@dataclass
class Job:
    id: str
    product: str
    submission: str
    outcome: str
    status: str = "notStarted"
    result: str = "pending"
    polls: int = 0

    def configure_status(self) -> dict[str, Any]:
        failed = self.status == "completed" and self.result == "failed"
        return {
            "$schema": "https://schema.mp.microsoft.com/schema/configure-status/2022-07-01",
            "jobId": self.id,
            "jobStatus": self.status,
            "jobResult": self.result,
            "jobStart": "2026-12-01T10:00:00.0000000Z",
            "errors": CERTIFICATION_FAILED if failed else [],
        }


@dataclass
class Located:
    """An answer with a ``Location`` header (the Cloud Partner Portal's long-running operations)."""

    location: str
    body: Any


def submission(
    g: str, n: int, target: str, status: str, result: str, created: str, **extra: Any
) -> dict[str, Any]:
    return {
        "id": f"submission/{g}/{1152921515689847000 + n}",
        "product": f"product/{g}",
        "target": {"targetType": target},
        "status": status,
        "result": result,
        "created": created,
        **extra,
    }


def running_fake(**kw: Any) -> Iterator[FakeMicrosoft]:
    fake = FakeMicrosoft(**kw).start()
    try:
        yield fake
    finally:
        fake.stop()

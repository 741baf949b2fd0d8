"""JSON from Microsoft's APIs (GET, and the POST that starts a publish): a bearer token and a timeout
on every request, and retries of a GET by stamina: 429 waits ``Retry-After`` (seconds or an HTTP
date), 5xx and network errors back off exponentially with jitter, a bounded number of times."""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import stamina

from bot.clock import utc_now
from bot.metrics import SOURCE_ERRORS
from bot.sources.auth import TokenProvider
from bot.sources.base import ProductError, ProductRef, SourceAuthError
from storage.errors import DocumentError, TransientError
from storage.imports.feed import KnownProduct
from storage.imports.json_edge import load_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    timeout: float = 120.0
    """Seconds for all attempts of one request together."""
    wait_initial: float = 0.5
    wait_max: float = 30.0
    wait_jitter: float = 1.0
    max_retry_after: float = 300.0
    """A longer ``Retry-After`` is cut to this."""


class Transient(TransientError):
    """A failure of Microsoft's APIs that may pass: retried, and if it lasts, the product (or the
    pass) is skipped."""


class Refused(ProductError):
    """Microsoft answered a 4xx other than 401/403: it did not do what was asked."""


class NotFound(Refused):
    """404: the product (or its resource) does not exist."""


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date (RFC 9110); None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or utc_now())).total_seconds())


def make_http_client(*, ca_bundle: str | None, concurrency: int, timeout: float = 30.0) -> httpx.Client:
    """One pooled client for a process: TLS always verified (against ``ca_bundle`` when set), a
    timeout on every request, as many connections as requests in flight."""
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True
    return httpx.Client(
        verify=verify,
        timeout=httpx.Timeout(timeout, connect=10.0),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        follow_redirects=False,
    )


def _backoff(exc: Exception) -> bool | float:
    """stamina's hook: retry transient failures, after ``Retry-After`` when the server said it."""
    if isinstance(exc, Transient):
        return exc.retry_after if exc.retry_after is not None else True
    return False


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        return f" ({code}: {str(message)[:160]})" if code or message else ""
    return ""


@dataclass(frozen=True)
class ApiSpec:
    """What a source's API is: its name, the token scope it wants, the parameters every call carries,
    and what to check when it refuses the credentials."""

    label: str
    scope: str
    query: dict[str, str]
    auth_hint: str

    def client(
        self, base_url: str, *, http: httpx.Client, tokens: TokenProvider, policy: RetryPolicy
    ) -> ApiClient:
        return ApiClient(
            label=self.label,
            base_url=base_url,
            http=http,
            token=lambda: tokens.token(self.scope),
            query=self.query,
            policy=policy,
            auth_hint=self.auth_hint,
        )


PageKey = tuple[str, str, tuple[tuple[str, str], ...]]
"""A page request as host, path and sorted query."""


class ApiClient:
    """JSON over HTTPS from one API (``label``), with the token of one scope."""

    def __init__(
        self,
        *,
        label: str,
        base_url: str,
        http: httpx.Client,
        token: Callable[[], str],
        query: dict[str, str],
        policy: RetryPolicy,
        auth_hint: str,
    ) -> None:
        self.label = label
        self.base_url = base_url.rstrip("/") + "/"
        self.http = http
        self.token = token
        self.query = query
        """Parameters every call carries (``$version``, ``api-version``)."""
        self.policy = policy
        self.auth_hint = auth_hint
        self._lock = threading.Lock()
        self._requests = 0

    @property
    def requests(self) -> int:
        return self._requests

    def url(self, path: str) -> str:
        return path if path.startswith(("https://", "http://")) else self.base_url + path.lstrip("/")

    @staticmethod
    def _origin(url: str) -> tuple[str, str]:
        parts = urlsplit(url)
        return parts.scheme.lower(), parts.netloc.lower()

    def _params(self, url: str, params: dict[str, str] | None) -> dict[str, str]:
        present = {k for k, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
        merged = {k: v for k, v in self.query.items() if k not in present}
        merged.update(params or {})
        return merged

    def _failed(self, kind: str) -> None:
        SOURCE_ERRORS.labels(source=self.label, kind=kind).inc()

    def _send(
        self, url: str, params: dict[str, str], *, method: str = "GET", body: Any = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
        with self._lock:
            self._requests += 1
        try:
            # httpx would replace a URL's own query (a @nextLink's) with ``params``: merge instead.
            target = httpx.URL(url).copy_merge_params(params) if params else httpx.URL(url)
            if method == "GET":
                response = self.http.get(target, headers=headers)
            else:
                response = self.http.request(method, target, headers=headers, json=body)
        except httpx.TimeoutException as exc:
            self._failed("timeout")
            raise Transient(f"{self.label} timed out ({exc.__class__.__name__})") from None
        except httpx.HTTPError as exc:  # transport errors, and a body that cannot be decoded
            self._failed("transport")
            raise Transient(f"{self.label} could not be read ({exc.__class__.__name__})") from None
        status = response.status_code
        if status >= 400:
            self._failed(f"http_{status}" if status in (401, 403, 404, 429) else f"http_{status // 100}xx")
        if status == 429:
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is not None:
                wait = min(wait, self.policy.max_retry_after)
            raise Transient(f"{self.label} answered 429 (rate limited)", retry_after=wait)
        if status >= 500:
            raise Transient(f"{self.label} answered HTTP {status}{_error_text(response)}")
        if status in (401, 403):
            raise SourceAuthError(
                f"{self.label} answered HTTP {status}{_error_text(response)}: {self.auth_hint}"
            )
        if status == 404:
            raise NotFound(f"HTTP 404{_error_text(response)}")
        if status >= 400:
            raise Refused(f"HTTP {status}{_error_text(response)}")
        return response

    def get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        """The decoded JSON body of ``GET path``. Raises :class:`Transient` when retries ran out,
        :class:`SourceAuthError` on 401/403, :class:`ProductError` on another 4xx or a body that is
        not JSON."""
        url = self.url(path)
        merged = self._params(url, params)
        p = self.policy
        for attempt in stamina.retry_context(
            on=_backoff,
            attempts=p.attempts,
            timeout=p.timeout,
            wait_initial=p.wait_initial,
            wait_max=p.wait_max,
            wait_jitter=p.wait_jitter,
        ):
            with attempt:
                response = self._send(url, merged)
        try:
            # NUL characters are refused item by item by the sources, so one item cannot spoil a list.
            return load_json(response.content, source="the answer", nul=False)
        except DocumentError as exc:
            raise ProductError(str(exc)) from None

    def post_json(self, path: str, body: Any = None) -> tuple[Any, httpx.Headers]:
        """The decoded JSON body (None when empty) and the headers of one ``POST path``, never
        retried: a request that starts a job on Microsoft's side is sent once (a lost answer is
        reported as :class:`Transient`, its outcome unknown). Errors as :meth:`get_json`'s."""
        url = self.url(path)
        response = self._send(url, self._params(url, None), method="POST", body=body)
        if not response.content.strip():
            return None, response.headers
        try:
            return load_json(response.content, source="the answer", nul=False), response.headers
        except DocumentError as exc:
            raise ProductError(str(exc)) from None

    def resolve(self, link: str) -> str:
        """A page link as an absolute URL: absolute as it is; with a leading ``/``, on the API's host;
        otherwise relative to the API's base. Never another host than the API's: the bearer token goes
        with every request."""
        if link.startswith(("https://", "http://")):
            url = link
        elif link.startswith("/"):
            scheme, netloc = self._origin(self.base_url)
            url = f"{scheme}://{netloc}{link}"
        else:
            url = self.base_url + link
        if self._origin(url) != self._origin(self.base_url):
            raise ProductError(f"a next-page link points outside {self.label}: {link[:120]}")
        return url

    def _page_key(
        self, url: str, params: dict[str, str] | None
    ) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """What identifies a page request, whatever the spelling of its query (``$`` or ``%24``)."""
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        query.update(self._params(url, params))
        return (parts.netloc.lower(), parts.path, tuple(sorted(query.items())))

    def pages(
        self, path: str, params: dict[str, str] | None = None, *, max_pages: int = 10_000
    ) -> Iterator[Any]:
        """Each page of a list, to its end, whatever paging shape Microsoft uses: an ``@nextLink`` or
        ``nextLink`` (absolute, or relative: see :meth:`resolve`), or a ``continuationToken`` in the
        body, asked again as ``continuationToken=<token>`` on the same path with the same parameters.
        A page that links to a page already read, or repeats a token, stops the list with a
        :class:`ProductError` that says so, as does a failed request: the caller knows the end was
        not reached."""
        url, extra = self.url(path), dict(params or {})
        asked: set[PageKey] = set()
        tokens: set[str] = set()
        for number in range(1, max_pages + 1):
            key = self._page_key(url, extra)
            if key in asked:
                raise ProductError(f"page {number} of {path} links to a page already read: stopped")
            asked.add(key)
            page = self.get_json(url, extra)
            yield page
            following = self._next_page(page, path=path, params=params, tokens=tokens, number=number)
            if following is None:
                return
            url, extra = following
        raise ProductError(f"more than {max_pages} pages of {path}: stopped")

    def _next_page(
        self,
        page: Any,
        *,
        path: str,
        params: dict[str, str] | None,
        tokens: set[str],
        number: int,
    ) -> tuple[str, dict[str, str]] | None:
        if not isinstance(page, dict):
            return None
        for name in NEXT_LINKS:
            link = page.get(name)
            if isinstance(link, str) and link.strip():
                return self.resolve(link.strip()), {}
        token = page.get("continuationToken")
        if isinstance(token, str) and token:
            if token in tokens:
                raise ProductError(f"page {number} of {path} repeats a continuationToken: stopped")
            tokens.add(token)
            return self.url(path), {**(params or {}), "continuationToken": token}
        return None


NEXT_LINKS = ("@nextLink", "nextLink", "@odata.nextLink")
"""Where Microsoft's lists name their next page (besides a ``continuationToken``)."""


class HttpSource:
    """What the HTTP sources share: one API client and token provider, the token fetched before the
    requests fan out, and a known product asked about again without listing."""

    scope: str

    def __init__(self, *, api: ApiClient, tokens: TokenProvider) -> None:
        self.api = api
        self.tokens = tokens

    @property
    def requests(self) -> int:
        return self.api.requests

    def prepare(self) -> None:
        self.tokens.token(self.scope)

    def ref_for(self, known: KnownProduct) -> ProductRef:
        return ProductRef(
            key=known.feed_key,
            offer_id=known.offer_id,
            publisher_id=known.publisher_id,
            name=known.name,
            offer_type=known.offer_type,
        )

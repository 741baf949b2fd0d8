"""Hostile HTTP input against the running server (waitress, the edge checks, the real Bolt app):
oversized, unsigned, forged, stale and malformed requests get 4xx with a reason, never a 500,
never a traceback, and an oversized body is never held in memory."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.http.edge import SLACK_MAX_BODY
from bot.http.server import wsgi_app
from bot.settings import Settings
from bot.slack.app import create_app
from storage import db
from tests.conftest import SIGNING_SECRET, RunningServer, load_samples, post, sign, slash_body
from tests.support.fakeslack import FakeSlack
from tests.support.wire import raw_request

EVENTS = "/slack/events"


@pytest.fixture
def server(fake_slack: FakeSlack, engine: Engine, database_url: str) -> Iterator[RunningServer]:
    factory = db.session_factory(engine)
    load_samples(factory)
    settings = Settings(
        slack_bot_token="xoxb-edge",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.url,
        database_url=database_url,
    )
    app = create_app(settings, session_factory=factory)
    running = RunningServer(wsgi_app(app, factory, signing_secret=SIGNING_SECRET))
    yield running
    running.close()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.INFO)
    yield
    # offerbot's own logs (waitress may log a client that hangs up mid-answer, which is not ours)
    ours = [r for r in caplog.records if r.exc_info and r.name.startswith(("bot", "slack_bolt"))]
    assert not ours, "a traceback was logged for bad input"


def error_of(body: bytes) -> str:
    data = json.loads(body)
    assert data["ok"] is False and "Traceback" not in body.decode()
    return str(data["error"])


@pytest.mark.usefixtures("no_tracebacks")
def test_signatures_and_timestamps_are_checked_before_anything_else(server: RunningServer) -> None:
    body = slash_body("woodgrove")
    url = server.url + EVENTS
    assert post(url, body, sign(body))[0] == 200
    cases = {
        "missing": {},
        "non-numeric timestamp": {**sign(body), "X-Slack-Request-Timestamp": "yesterday"},
        "a float timestamp": {**sign(body), "X-Slack-Request-Timestamp": "1e9"},
        "stale": sign(body, timestamp=int(time.time()) - 400),
        "from the future": sign(body, timestamp=int(time.time()) + 400),
        "forged": sign(body, secret="not-the-secret"),
        "another body": sign(body + b"&x=1"),
    }
    for name, headers in cases.items():
        status, answer = post(url, body, headers)
        assert status == 401, name
        assert error_of(answer), name


@pytest.mark.usefixtures("no_tracebacks")
def test_malformed_bodies_get_400_and_wrong_methods_and_paths_4xx(server: RunningServer) -> None:
    url = server.url + EVENTS
    not_utf8 = b"command=%2Foffer-status&text=\xff\xfe"
    assert post(url, not_utf8, sign(not_utf8))[0] == 400
    bad_payload = b"payload=%7Bnot+json"
    status, answer = post(url, bad_payload, sign(bad_payload))
    assert status == 400 and "payload" in error_of(answer)
    array_payload = b"payload=%5B1%2C2%5D"
    assert post(url, array_payload, sign(array_payload))[0] == 400
    text = b"hello"
    head = (
        f"POST {EVENTS} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {len(text)}\r\n"
        f"X-Slack-Request-Timestamp: {sign(text)['X-Slack-Request-Timestamp']}\r\n"
        f"X-Slack-Signature: {sign(text)['X-Slack-Signature']}\r\nConnection: close\r\n\r\n"
    ).encode()
    assert raw_request(server, head, text)[0] == 400
    assert (
        raw_request(server, f"GET {EVENTS} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())[0]
        == 405
    )
    assert (
        raw_request(
            server, b"POST /admin HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )[0]
        == 404
    )


@pytest.mark.usefixtures("no_tracebacks")
def test_bodies_over_the_limit_are_refused_before_they_are_read(server: RunningServer) -> None:
    # Declared too large for Slack's endpoint (1 MB) but within waitress's cap: 413 from the header.
    size = SLACK_MAX_BODY + 1
    head = (
        f"POST {EVENTS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode()
    assert raw_request(server, head, b"a" * size)[0] == 413
    # Chunked, with no Content-Length: read one byte past the limit at most, then 413.
    chunk = b"a" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
    head = (
        f"POST {EVENTS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    assert raw_request(server, head, chunks)[0] == 413


def test_an_unsigned_200_mb_body_leaves_memory_where_it_was(server: RunningServer) -> None:
    """waitress refuses from Content-Length (its cap is 6 MB): the body is never read, let alone kept."""
    before = rss_mb()
    size = 200 * 1024 * 1024
    head = (
        f"POST {EVENTS} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    block = b"a" * (1024 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", server.server.effective_port), timeout=10) as sock:
        sock.sendall(head)
        try:
            while sent < size:
                sock.sendall(block)
                sent += len(block)
        except OSError:
            pass  # the server answered and closed: it does not want the rest
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert sent < size, "the server read the whole body"
    assert rss_mb() - before < 20


def test_the_five_minute_window_exactly() -> None:
    """At the edge itself, with a fixed clock: 300 s either way is accepted, 301 s is not."""
    import io

    from bot.http.edge import check_slack_request

    body = slash_body("woodgrove")
    now = 1_800_000_000
    for skew, expected in ((-301, "401"), (-300, None), (300, None), (301, "401")):
        headers = sign(body, timestamp=now + skew)
        environ = {
            "REQUEST_METHOD": "POST",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "HTTP_X_SLACK_REQUEST_TIMESTAMP": headers["X-Slack-Request-Timestamp"],
            "HTTP_X_SLACK_SIGNATURE": headers["X-Slack-Signature"],
        }
        _, refusal = check_slack_request(environ, secret=SIGNING_SECRET, clock=lambda: float(now))
        assert (refusal.status[:3] if refusal else None) == expected, skew

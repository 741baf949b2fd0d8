"""Benchmark: what one 5 MB push costs the process that answers Slack, for every shape of body.

    python -m benchmark.push_limits [--size-mb 5] [--shapes all]

Each shape runs in a fresh child process: it opens a migrated SQLite store, makes a push token,
handles one small valid push (the idle baseline: modules imported, the store warm), then hands the
push API one body of ``--size-mb`` of that shape, as waitress would (a WSGI environ with the body
in ``wsgi.input``). Printed per shape: the answer's status, the CPU seconds of that one request
(user + system, from ``getrusage``), and the peak memory above the idle baseline (``ru_maxrss``).
Targets (issue 18): at most 2 s of CPU and 150 MB above idle, whatever the shape.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmark.bench import machine

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CPU_TARGET, MEMORY_TARGET_MB = 2.0, 150.0


def _repeat(head: str, item: str, tail: str, size: int) -> str:
    count = max((size - len(head) - len(tail)) // (len(item) + 1), 1)
    return head + ",".join([item] * count) + tail


def _offer(n: int, status: str = "failed") -> dict[str, Any]:
    step = {
        "id": "s1",
        "stepName": "Certification",
        "status": "blocked",
        "estimatedTimeFrame": "3 days",
        "messages": [{"messageHtml": "No image.", "level": "error", "timestamp": "2026-11-20T10:00:00Z"}],
    }
    return {
        "publisherId": "bench",
        "offerId": f"bench-offer-{n:06d}",
        "name": f"Bench offer {n}",
        "offerType": "virtual-machine",
        "status": {"status": status, "steps": [step, {**step, "id": "s2", "messages": []}]},
    }


def body(shape: str, size: int) -> bytes:
    """A body of about ``size`` bytes of ``shape``."""
    if shape == "empty-objects":
        text = _repeat('{"offers": [', "{}", "]}", size)
    elif shape == "empty-arrays":
        text = _repeat('{"offers": [', "[]", "]}", size)
    elif shape == "numbers":
        text = _repeat('{"offers": [', "0", "]}", size)
    elif shape == "bad-offers":  # as many offers as allowed, each wrong in every field
        pad = "x" * (size // 4_800 - 80)
        text = _repeat(
            '{"offers": [', '{"publisherId": 1, "offerId": 2, "name": "' + pad + '", "status": 3}', "]}", size
        )
    elif shape == "one-huge-step-list":
        text = _repeat(
            '{"offers": [{"publisherId": "p", "offerId": "o", "name": "n", "offerType": "saas", '
            '"status": {"status": "running", "steps": [',
            '{"id": "x", "stepName": "s", "status": "inProgress"}',
            "]}}]}",
            size,
        )
    elif shape == "one-long-string":
        text = '{"offers": [{"name": "' + "x" * (size - 40) + '"}]}'
    elif shape == "deep-nesting":
        half = size // 2
        text = "[" * half + "]" * half
    elif shape == "not-json":
        text = "{" + " " * (size - 2) + "x"
    elif shape in ("valid-offers", "changed-offers"):
        status = "failed" if shape == "valid-offers" else "running"
        one = len(json.dumps(_offer(0))) + 1
        offers = [_offer(n, status) for n in range(min(size // one, 5_000))]
        text = json.dumps({"offers": offers})
    else:
        raise SystemExit(f"unknown shape {shape}")
    return text.encode()


SHAPES = (
    "empty-objects",
    "empty-arrays",
    "numbers",
    "bad-offers",
    "one-huge-step-list",
    "one-long-string",
    "deep-nesting",
    "not-json",
    "valid-offers",
    "changed-offers",
)
"""``valid-offers`` creates up to 5,000 offers; ``changed-offers`` changes the status of all of them
(stored first, by a push that is not measured)."""


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _environ(token: str, data: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "CONTENT_LENGTH": str(len(data)),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": io.BytesIO(data),
    }


def child(shape: str, size: int, folder: str) -> dict[str, Any]:
    """One shape in this (fresh) process; returns its figures."""
    from bot.http.push import PushApi
    from storage import db
    from storage.tokens import create_token
    from storage.workspaces import bind_default_workspace

    factory = db.session_factory(db.open_database(f"sqlite:///{Path(folder) / 'push.db'}"))
    with db.transaction(factory) as session:
        bind_default_workspace(session, team_id="T0BENCH01", now=NOW)
        token = create_token(session, team_id="T0BENCH01", name="bench", now=NOW)
    api = PushApi(session_factory=factory, clock=lambda: NOW)
    warm = json.dumps({"offers": [_offer(0)]}).encode()
    api.handle(_environ(token, warm))
    if shape == "changed-offers":
        api.handle(_environ(token, body("valid-offers", size)))
    data = body(shape, size)
    idle, cpu, started = _peak_mb(), _cpu(), time.perf_counter()
    status, answer = api.handle(_environ(token, data))
    return {
        "shape": shape,
        "bytes": len(data),
        "status": status.split()[0],
        "cpu": _cpu() - cpu,
        "wall": time.perf_counter() - started,
        "above_idle_mb": max(_peak_mb() - idle, 0.0),
        "answer": (json.loads(answer).get("error", "")[:160] or json.loads(answer).get("summary", ""))
        .replace("\n", " / ")
        .replace("|", "/"),
    }


def run(shape: str, size: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        out = subprocess.run(  # noqa: S603 (this module, with our own arguments)
            [
                sys.executable,
                "-m",
                "benchmark.push_limits",
                "--child",
                shape,
                "--size",
                str(size),
                "--folder",
                folder,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=float, default=5.0)
    parser.add_argument("--shapes", default="all", help="comma-separated, or all: " + ", ".join(SHAPES))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.size, args.folder)))
        return
    size = int(args.size_mb * 1024 * 1024) - 1024  # within the push API's 5 MB
    shapes = SHAPES if args.shapes == "all" else tuple(args.shapes.split(","))
    print(f"machine: {machine()}")
    print(f"one push of {size / 1024 / 1024:.1f} MB per shape, each in a fresh process, SQLite store")
    print(f"targets: at most {CPU_TARGET:.0f} s of CPU and {MEMORY_TARGET_MB:.0f} MB above idle")
    print()
    print("| shape | answer | CPU s | wall s | MB above idle | vs targets | what it says |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    worst = 0.0
    for shape in shapes:
        f = run(shape, size)
        ratio = max(f["cpu"] / CPU_TARGET, f["above_idle_mb"] / MEMORY_TARGET_MB)
        worst = max(worst, ratio)
        print(
            f"| {shape} | {f['status']} | {f['cpu']:.2f} | {f['wall']:.2f} | {f['above_idle_mb']:.0f} | "
            f"{ratio:.2f} | {f['answer']} |",
            flush=True,
        )
    print()
    print(f"worst shape against its target: {worst:.2f} (1.00 is the target)")


if __name__ == "__main__":
    main()

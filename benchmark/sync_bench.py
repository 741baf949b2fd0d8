"""Benchmark: one sync pass over Partner Center products against the tests' fake over HTTPS.

    python -m benchmark.sync_bench [--products 2000] [--latency 0.02] [--concurrency 4,8]

The fake (tests/support/fakems.py) answers every request after ``--latency`` seconds. Each product has three
submissions (the draft, an older live one, a newer preview one that is running, failed or awaiting
sign-off, or the live one itself: see ``SHAPES``), so a pass reads its submissions and one resource
tree. The same pass runs in a
fresh child process on a fresh SQLite store, first with one request in flight (the sequential
baseline), then with each ``--concurrency``. The fake keeps connections alive, as Microsoft does. Printed per run: wall time of the pass, peak
RSS of the child, requests made, requests per product, and the time against the sequential run.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmark.bench import machine
from tests.support.fakems import FakeMicrosoft, submission

SHAPES = ("running", "failed", "signoff", "gone-live")
"""A quarter each: a preview running beside the live submission, a failed preview explained by an
informational validation, a completed preview awaiting sign-off, and a preview gone live (one
submission id under both targets, the same ``created``: Learn's and cloudpub's shape)."""


def fill(fake: FakeMicrosoft, products: int) -> None:
    live_at, preview_at = "2026-10-02T07:13:06Z", "2026-11-20T20:07:22Z"
    for n in range(products):
        g = fake.add_product(n + 1, f"bench-offer-{n:05d}", f"Bench offer {n}")
        shape = SHAPES[n % len(SHAPES)]
        live = submission(g, 1, "live", "completed", "succeeded", live_at)
        if shape == "gone-live":
            preview = submission(g, 1, "preview", "completed", "succeeded", live_at)
        else:
            status, result = {"running": ("running", "pending"), "failed": ("completed", "failed")}.get(
                shape, ("completed", "succeeded")
            )
            preview = submission(g, 2, "preview", status, result, preview_at)
        fake.set_submissions(g, live, preview)
        if shape == "failed":
            fake.validations[(g, "preview")] = [
                {
                    "code": "invalidState",
                    "level": "informational",
                    "message": f"Offer {n} failed certification.",
                }
            ]


def child(args: argparse.Namespace) -> None:
    """One pass in this process; prints its figures as JSON."""
    from bot.settings import Settings
    from bot.sources import build_sources
    from bot.usecases.sync import SyncConfig, sync_pass
    from storage import db

    concurrency = int(args.concurrency)
    settings = Settings(**json.loads(args.settings), offerbot_sync_concurrency=concurrency)
    factory = db.session_factory(db.open_database(settings.database_url))
    sources = build_sources(settings)
    started = time.perf_counter()
    report = sync_pass(
        session_factory=factory,
        sources=sources,
        clock=lambda: datetime.now(UTC),
        force=True,
        config=SyncConfig(concurrency=concurrency),
    )
    seconds = time.perf_counter() - started
    (pc,) = report.sources
    if not (report.ok and pc.new == args.products and pc.failed == 0):
        raise SystemExit(f"the pass did not sync every product: {report.line()}")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "requests": pc.requests, "peak_mb": peak_kb / 1024}))


def run(settings: dict[str, str], products: int, concurrency: int, folder: Path) -> dict[str, float]:
    store = folder / f"bench-{concurrency}.db"
    settings = {**settings, "database_url": f"sqlite:///{store}"}
    out = subprocess.run(  # noqa: S603  (this same module, with our own arguments)
        [
            sys.executable,
            "-m",
            "benchmark.sync_bench",
            "--child",
            "--products",
            str(products),
            "--concurrency",
            str(concurrency),
            "--settings",
            json.dumps(settings),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"the child failed:\n{out.stderr[-3000:]}")
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds the fake waits per request")
    parser.add_argument(
        "--concurrency", default="4,8", help="requests in flight to compare with one (comma-separated)"
    )
    parser.add_argument("--page-size", type=int, default=100, help="products per page of the listing")
    parser.add_argument(
        "--paging",
        default="token",
        choices=("absolute", "relative", "rooted", "token"),
        help="how the listing names its next page (default: a continuationToken in the body)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake's access log
    fake = FakeMicrosoft(latency=args.latency, page_size=args.page_size, keep_alive=True).start()
    fake.paging = args.paging
    try:
        fill(fake, args.products)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            settings = fake.settings(folder, partner_center_publisher_id="bench")
            print(f"machine: {machine()}")
            print(
                f"one sync pass over {args.products:,} products (3 submissions each; {', '.join(SHAPES)}), "
                f"{args.latency * 1000:.0f} ms per request, listing paged by {args.paging}, "
                "HTTPS on loopback, SQLite store"
            )
            print()
            print("| requests in flight | pass s | peak RSS MB | requests | per product | vs sequential |")
            print("| --- | --- | --- | --- | --- | --- |")
            baseline: float | None = None
            for concurrency in (1, *(int(c) for c in str(args.concurrency).split(","))):
                fake.calls.clear()
                figures = run(settings, args.products, concurrency, folder)
                baseline = baseline or figures["seconds"]
                print(
                    f"| {concurrency} | {figures['seconds']:.1f} | {figures['peak_mb']:.0f} | "
                    f"{figures['requests']:,.0f} | {figures['requests'] / args.products:.2f} | "
                    f"{figures['seconds'] / baseline:.2f}x |",
                    flush=True,
                )
    finally:
        fake.stop()


if __name__ == "__main__":
    main()

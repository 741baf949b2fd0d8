"""The tests' fake Partner Center in a process of its own, at the jobs process's CPU priority (nice
10), for the benchmarks that measure offerbot's answers while a sync runs: Microsoft's servers are not
on the bot's machine, so their stand-in yields the CPU to the answers as the jobs do. (At nice 19,
under a client that kept both cores busy, a SQLite pass took 57 s instead of 23 s.)

    python -m benchmark.fake_ms_proc --products 2000 --prefix sync --folder DIR

prints one JSON line (the settings the bot needs: URLs and the CA file) and serves until killed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from tests.support.fakems import FakeMicrosoft, submission

LATENCY = 0.02


def fill_products(fake: FakeMicrosoft, products: int, prefix: str, state: tuple[str, str]) -> list[str]:
    guids = [fake.add_product(n + 1, f"{prefix}-{n:05d}", f"Sync {prefix} {n}") for n in range(products)]
    set_state(fake, guids, state)
    return guids


def set_state(fake: FakeMicrosoft, guids: list[str], state: tuple[str, str]) -> None:
    status, result = state
    for n, g in enumerate(guids):
        fake.set_submissions(
            g,
            submission(g, 1, "live", "completed", "succeeded", "2026-10-02T07:13:06Z"),
            submission(g, 2, "preview", status, result, "2026-11-20T20:07:22Z"),
        )
        if result == "failed":
            fake.validations[(g, "preview")] = [
                {"code": "businessValidationError", "level": "error", "message": f"Offer {n} failed."}
            ]


class FakeProcess:
    """Starts the fake in its own niced process; ``settings`` is what the bot's Settings need."""

    def __init__(self, products: int, prefix: str, folder: Path) -> None:
        self.popen = subprocess.Popen(  # noqa: S603  (this module, our arguments)
            [
                sys.executable,
                "-m",
                "benchmark.fake_ms_proc",
                "--products",
                str(products),
                "--prefix",
                prefix,
                "--folder",
                str(folder),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.popen.stdout is not None
        self.settings: dict[str, Any] = json.loads(self.popen.stdout.readline())

    def stop(self) -> None:
        self.popen.terminate()
        self.popen.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--prefix", default="sync")
    parser.add_argument("--folder", required=True)
    args = parser.parse_args()
    os.nice(10)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    fake = FakeMicrosoft(latency=LATENCY, page_size=100, keep_alive=True).start()
    fill_products(fake, args.products, args.prefix, ("running", "pending"))
    print(json.dumps(fake.settings(Path(args.folder))), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()

"""The sync benchmark runs (small, fast) and keeps its promise of requests per product."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def test_the_sync_benchmark_prints_both_runs_within_three_requests_per_product() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmark.sync_bench",
            "--products",
            "30",
            "--latency",
            "0.005",
            "--concurrency",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    rows = re.findall(
        r"^\| (\d+) \| ([\d.]+) \| (\d+) \| ([\d,]+) \| ([\d.]+) \| ([\d.]+)x \|$", out.stdout, re.M
    )
    assert [r[0] for r in rows] == ["1", "4"], out.stdout
    for _flight, _seconds, _rss, requests, per_product, _ratio in rows:
        assert int(requests.replace(",", "")) >= 30 * 2  # submissions and a resource tree each
        assert float(per_product) <= 3

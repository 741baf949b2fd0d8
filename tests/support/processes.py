"""offerbot as a user runs it: the CLI in a subprocess, and `serve` on a free port with its log in a file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import Processes

CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(
        ("SLACK_", "DATABASE_URL", "OFFERBOT_", "AZURE_", "PARTNER_CENTER_", "CLOUD_PARTNER_")
    )
}


def offerbot(
    *args: str, env: dict[str, str], stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    # The embedded store's folder is the test's own (never the user's data folder).
    data = {"OFFERBOT_DATA_DIR": str(cwd) if cwd is not None else tempfile.mkdtemp(prefix="offerbot-data-")}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**CLEAN_ENV, **data, **env},
        timeout=60,
        cwd=cwd,
    )


def start_serve(
    processes: Processes, env: dict[str, str], log_path: Path
) -> tuple[subprocess.Popen[bytes], int]:
    """``offerbot serve`` on a free port, its log in a file (a pipe nobody reads could fill and block
    it); the ``processes`` fixture ends it, whatever the test asserted."""
    with log_path.open("wb") as log:
        proc = processes.popen(
            [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", "0"],
            env={**CLEAN_ENV, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log_path.read_text()
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", text)
        if match and "ready: answering Slack" in text:
            return proc, int(match.group(1))
        assert proc.poll() is None, log_path.read_text()
        time.sleep(0.02)
    raise AssertionError("serve did not report its port:\n" + log_path.read_text())

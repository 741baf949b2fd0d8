"""Logging, configured once at start by the CLI."""

from __future__ import annotations

import logging


def configure(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # slack_sdk logs request bodies at DEBUG; keep it at INFO so tokens never reach the log.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs every request at INFO (thousands a sync pass); the sync logs its own summary.
    for name in ("httpx", "httpcore", "msal"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLogger().level))
    # APScheduler logs two lines per job run at INFO (the probe runs every second); jobs log their own.
    logging.getLogger("apscheduler.executors").setLevel(max(logging.WARNING, logging.getLogger().level))

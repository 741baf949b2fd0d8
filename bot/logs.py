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
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLogger().level))

"""Events API events: an uninstall and a revoked token (the Home tab's event is in ``home``).
In multi-workspace mode Bolt's own revocation listeners remove the workspace's installation (its
offers, subscriptions and history are kept, so a reinstall resumes); in single-workspace mode
they are acknowledged and logged."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App

from bot.slack.listeners import Deps

log = logging.getLogger(__name__)

REVOCATION_EVENTS: tuple[str, ...] = ("app_uninstalled", "tokens_revoked")
BOT_EVENTS: tuple[str, ...] = (*REVOCATION_EVENTS, "app_home_opened")
"""Every Events API event the app handles (the Home tab's in ``bot.slack.listeners.home``); ``manifest.yml``
must subscribe to exactly these."""


def register(app: App, deps: Deps) -> None:
    if app.oauth_flow is not None:
        return  # create_app enabled Bolt's token revocation listeners

    def revoked(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        event = body.get("event") if isinstance(body.get("event"), dict) else {}
        log.warning(
            "Slack says %s for workspace %s: alerts stop until the app is reinstalled",
            (event or {}).get("type"),
            body.get("team_id"),
        )

    for name in REVOCATION_EVENTS:
        app.event(name)(revoked)

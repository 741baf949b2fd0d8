"""Events API events. The bot handles none yet (the Home tab and uninstall events come next)."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import Deps

BOT_EVENTS: tuple[str, ...] = ()
"""Every Events API event the app handles; ``manifest.yml`` must subscribe to exactly these."""


def register(app: App, deps: Deps) -> None:
    """Nothing to register while :data:`BOT_EVENTS` is empty."""

"""manifest.yml is a valid Slack app manifest and declares exactly what the code registers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import Settings
from bot.slack.app import create_app
from bot.slack.listeners.commands import SLASH_COMMANDS
from bot.slack.listeners.events import BOT_EVENTS
from tests.conftest import ROOT, SHARED

SCHEMAS = SHARED / "slack-manifest-schema"


def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_slacks_schema() -> None:
    if not SCHEMAS.exists():
        pytest.skip(f"Slack's manifest schemas are not at {SCHEMAS}")
    import jsonschema

    data = manifest()
    major = int(data.get("_metadata", {}).get("major_version", 1))
    schema = json.loads((SCHEMAS / f"manifest.schema.{major}.0.0.json").read_text())
    jsonschema.validate(data, schema)


def test_slash_commands_match_the_code() -> None:
    commands = manifest()["features"]["slash_commands"]
    assert {c["command"] for c in commands} == set(SLASH_COMMANDS)
    assert all(c.get("usage_hint") for c in commands)


def test_events_and_interactivity_match_the_code(tmp_path: Path) -> None:
    data = manifest()
    events = set(data["settings"].get("event_subscriptions", {}).get("bot_events", []))
    assert events == set(BOT_EVENTS)
    app = create_app(
        Settings(
            slack_bot_token="xoxb-x", slack_signing_secret="s", database_url=f"sqlite:///{tmp_path}/x.db"
        ),
        session_factory=lambda: None,  # type: ignore[arg-type,return-value]
        token_verification=False,
    )
    # Bolt keeps the registered listeners, each with matchers built by named factories.
    kinds = [m.func.__qualname__.split(".")[0] for lst in app._listeners for m in lst.matchers]  # type: ignore[attr-defined]
    assert kinds.count("command") == len(SLASH_COMMANDS)
    assert kinds.count("event") == len(BOT_EVENTS)
    has_actions = any(
        k in ("block_action", "attachment_action", "view_submission", "shortcut") for k in kinds
    )
    assert data["settings"]["interactivity"]["is_enabled"] is has_actions


def test_an_install_asks_for_the_manifests_scopes() -> None:
    from bot.slack.app import BOT_SCOPES

    assert set(BOT_SCOPES) == set(manifest()["oauth_config"]["scopes"]["bot"])


def test_scopes_are_the_ones_the_code_needs() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    needed = {"commands"}
    history = {"channels:history", "groups:history", "im:history", "mpim:history"}
    method_scopes = {
        "chat_postMessage": {"chat:write"},
        "chat_update": {"chat:write"},
        "conversations_open": {"im:write"},
        "users_lookupByEmail": {"users:read.email"},
        "conversations_info": {"channels:read", "groups:read"},  # public and private channels
        "conversations_members": {"channels:read", "groups:read"},
        "users_info": {"users:read"},
        "usergroups_list": {"usergroups:read"},
        "conversations_history": history,
        "conversations_replies": history,
    }
    for method, method_needs in method_scopes.items():
        if re.search(rf"\.{method}\(|\"{method}\"", source):
            needed |= method_needs
    if "users:read.email" in needed:
        needed.add("users:read")  # Slack requires users:read alongside users:read.email
    assert scopes == needed

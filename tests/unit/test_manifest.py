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

SCHEMAS = ROOT / "tests" / "support" / "slack-manifest-schema"
"""Slack's manifest schemas, copied into the tests (see its README and LICENSE)."""


def manifest(name: str = "manifest.yml") -> dict[str, Any]:
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize("name", ["manifest.yml", "manifest.http.yml"])
def test_manifest_validates_against_slacks_schema(name: str) -> None:
    import jsonschema

    data = manifest(name)
    major = int(data.get("_metadata", {}).get("major_version", 1))
    schema = json.loads((SCHEMAS / f"manifest.schema.{major}.0.0.json").read_text())
    jsonschema.validate(data, schema)


def test_the_copied_schemas_are_slacks_as_shared() -> None:
    shared = SHARED / "slack-manifest-schema"
    if not shared.exists():
        pytest.skip(f"no shared copy at {shared} to compare with (the tests' own copy is used)")
    for name in ("manifest.schema.1.0.0.json", "manifest.schema.2.0.0.json", "LICENSE"):
        assert (SCHEMAS / name).read_bytes() == (shared / name).read_bytes(), name


def test_the_http_manifest_is_the_same_app_with_every_request_url() -> None:
    socket, http = manifest(), manifest("manifest.http.yml")
    url = "https://YOUR-HOST/slack/events"
    assert http["settings"]["socket_mode_enabled"] is False and socket["settings"]["socket_mode_enabled"]
    assert [c["url"] for c in http["features"]["slash_commands"]] == [url]
    assert http["settings"]["interactivity"]["request_url"] == url
    assert http["settings"]["event_subscriptions"]["request_url"] == url
    for c in http["features"]["slash_commands"]:
        c.pop("url")
    http["settings"]["interactivity"].pop("request_url")
    http["settings"]["event_subscriptions"].pop("request_url")
    http["settings"]["socket_mode_enabled"] = True
    assert http == socket  # nothing else differs, so the two cannot drift


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
        "usergroups_users_list": {"usergroups:read"},
        "conversations_history": history,
        "conversations_replies": history,
    }
    for method, method_needs in method_scopes.items():
        if re.search(rf"\.{method}\(|\"{method}\"", source):
            needed |= method_needs
    if "users:read.email" in needed:
        needed.add("users:read")  # Slack requires users:read alongside users:read.email
    assert scopes == needed

"""Slack listeners, one module per Slack surface, each with ``register(app, deps)``. A listener
parses, calls a plain function (``bot.slack.grammar``), renders, and acks; it holds no wording of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.clock import Clock
from bot.guard import Deadline, Expired, StoreUnavailable
from bot.i18n import N_, Translator, translator
from bot.metrics import STORE_FAILURES
from bot.render.blocks import Reply
from bot.render.help import render_error
from bot.settings import Settings
from bot.slack.channels import ChannelAccess
from bot.slack.people import People
from bot.slack.roles import Roles
from bot.sources.publishing import Publishers
from bot.usecases.access import AccessPolicy, Actor
from bot.usecases.history import Viewer
from storage.db import SessionFactory
from storage.errors import OfferbotError
from storage.sealing import Sealer


@dataclass(frozen=True)
class Deps:
    """What listeners need besides the app: the store, the clock, and who reads in which language."""

    session_factory: SessionFactory
    clock: Clock
    people: People
    roles: Roles
    policy: AccessPolicy
    deadline: Deadline = field(default_factory=Deadline)
    """Store work of commands and buttons runs under it: a store that does not answer gets "try
    again in a minute" inside Slack's 3 seconds."""
    channels: ChannelAccess | None = None
    """Who may see and act in a channel (Slack's ``conversations.info`` and ``.members``); None: no
    channel but the one a request came from."""
    publishers: Publishers | None = None
    """*Go live*'s way to Microsoft; None: the operator did not turn it on (``OFFERBOT_GO_LIVE``)."""
    settings: Settings | None = None
    """What a connection's *Test* signs in with (the authority, the APIs, the CA bundle)."""
    sealer: Sealer | None = None
    """Seals the secrets of connections added from the Home tab; None: ``OFFERBOT_SECRET_KEY`` unset."""
    certificate_dir: Path | None = None
    """``OFFERBOT_CERTIFICATE_DIR``: the PEM files a connection added from the Home tab may name."""


def ephemeral(reply: Reply) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": reply.text, "blocks": reply.blocks}


def reply_kwargs(reply: Reply) -> dict[str, Any]:
    return {"text": reply.text, "blocks": reply.blocks}


def answer(compute: Callable[[], Reply], tr: Translator) -> Reply:
    """Run a command; a user's mistake becomes a helpful answer, anything else goes to the error handler."""
    try:
        return compute()
    except OfferbotError as exc:
        return render_error(exc, tr=tr)


def guarded(deps: Deps, work: Callable[[Expired], Reply]) -> Reply:
    """``work``'s answer, or "the store is unavailable" (in the default language: the reader's own
    language is in the store too) when the store does not answer within the deadline."""
    try:
        return deps.deadline.run(work)
    except StoreUnavailable as exc:
        STORE_FAILURES.labels(component="answers").inc()
        return render_error(exc, tr=translator(deps.people.default))


def _id(body: dict[str, Any], flat: str, nested: str) -> str:
    """``body[flat]`` (slash commands) or ``body[nested]["id"]`` (interactions), when a string."""
    value = body.get(flat)
    if not value:
        inner = body.get(nested)
        value = inner.get("id") if isinstance(inner, dict) else None
    return value if isinstance(value, str) and len(value) <= 32 else ""


def _field(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def _short(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 32 else None


def where_clicked(body: dict[str, Any]) -> tuple[str, str | None]:
    """The clicked message's channel and its thread's root ts (the message's own for a root)."""
    container, message = _field(body, "container"), _field(body, "message")
    channel = _short(container.get("channel_id")) or _short(_field(body, "channel").get("id")) or ""
    ts = _short(message.get("thread_ts")) or _short(message.get("ts")) or _short(container.get("message_ts"))
    return channel, ts


def on_home(body: dict[str, Any]) -> bool:
    """The click was on the Home tab (which has no ``response_url``)."""
    return _field(body, "container").get("type") == "view" and _field(body, "view").get("type") == "home"


def team_of(body: dict[str, Any]) -> str:
    team = _id(body, "team_id", "team") or _id(body, "enterprise_id", "enterprise")
    if not team:
        raise OfferbotError(N_("this request carries no workspace id"))
    return team


def user_of(body: dict[str, Any]) -> str:
    """The user who typed the command or clicked the button ("" when the request does not say)."""
    return _id(body, "user_id", "user")


def actor_of(deps: Deps, body: dict[str, Any]) -> Actor:
    """Who sent the request, with the roles the access rules need."""
    return deps.roles.actor(team_id=team_of(body), user_id=user_of(body))


def viewer_of(deps: Deps, body: dict[str, Any], *, here: str) -> Viewer:
    """The history's reader: who sent the request, seeing the channel they are in (``here``), public
    channels and private ones they are a member of."""
    team, user, access = team_of(body), user_of(body), deps.channels

    def sees(channel: str) -> bool:
        if channel == here:
            return True
        return access is not None and access.may_see(team_id=team, user_id=user, channel=channel, here=here)

    return Viewer(user_id=user, sees_channel=sees)


def reader(deps: Deps, body: dict[str, Any]) -> Translator:
    """The translator of whoever sent the request (their Slack locale)."""
    return deps.people.for_user(team_id=team_of(body), user_id=user_of(body))

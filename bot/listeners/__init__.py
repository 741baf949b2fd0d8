"""Slack listeners, one module per Slack surface, each with ``register(app, deps)``. A listener
parses, calls a plain function (``bot.commands``), renders, and acks; it holds no wording of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import render
from bot.render import Reply
from storage.db import SessionFactory
from storage.errors import OfferbotError


@dataclass(frozen=True)
class Deps:
    """What listeners need besides the app: the store."""

    session_factory: SessionFactory


def ephemeral(reply: Reply) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": reply.text, "blocks": reply.blocks}


def reply_kwargs(reply: Reply) -> dict[str, Any]:
    return {"text": reply.text, "blocks": reply.blocks}


def answer(compute: Callable[[], Reply]) -> Reply:
    """Run a command; a user's mistake becomes a helpful answer, anything else goes to the error handler."""
    try:
        return compute()
    except OfferbotError as exc:
        return render.render_error(str(exc))


def team_of(body: dict[str, Any]) -> str:
    team = body.get("team_id") or (body.get("team") or {}).get("id") or body.get("enterprise_id")
    if not team:
        raise OfferbotError("this request carries no workspace id")
    return str(team)

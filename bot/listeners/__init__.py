"""Slack listeners, one module per Slack surface, each with ``register(app, deps)``. A listener
parses, calls a plain function (``bot.commands``), renders, and acks; it holds no wording of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import render
from bot.clock import Clock
from bot.i18n import N_, Translator
from bot.people import Languages
from bot.render import Reply
from storage.db import SessionFactory
from storage.errors import OfferbotError


@dataclass(frozen=True)
class Deps:
    """What listeners need besides the app: the store, the clock, and who reads in which language."""

    session_factory: SessionFactory
    clock: Clock
    languages: Languages


def ephemeral(reply: Reply) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": reply.text, "blocks": reply.blocks}


def reply_kwargs(reply: Reply) -> dict[str, Any]:
    return {"text": reply.text, "blocks": reply.blocks}


def answer(compute: Callable[[], Reply], tr: Translator) -> Reply:
    """Run a command; a user's mistake becomes a helpful answer, anything else goes to the error handler."""
    try:
        return compute()
    except OfferbotError as exc:
        return render.render_error(exc, tr=tr)


def team_of(body: dict[str, Any]) -> str:
    team = body.get("team_id") or (body.get("team") or {}).get("id") or body.get("enterprise_id")
    if not team:
        raise OfferbotError(N_("this request carries no workspace id"))
    return str(team)


def user_of(body: dict[str, Any]) -> str:
    """The user who typed the command or clicked the button."""
    return str(body.get("user_id") or (body.get("user") or {}).get("id") or "")


def reader(deps: Deps, body: dict[str, Any]) -> Translator:
    """The translator of whoever sent the request (their Slack locale)."""
    return deps.languages.for_user(team_id=team_of(body), user_id=user_of(body))

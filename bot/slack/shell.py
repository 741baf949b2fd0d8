"""``offerbot shell``'s answers: one typed line, ``/offer-status ...`` or just what follows it,
answered as text on the local store, with no Slack at all (``bot/runtime/console.py`` runs the
prompt, the local user and channel, and the watcher)."""

from __future__ import annotations

from bot.clock import Clock, utc_now
from bot.i18n import ENGLISH, Translator
from bot.render.blocks import COMMAND, Reply
from bot.render.help import render_error
from bot.render.textview import blocks_to_text
from bot.slack import answers
from storage.db import SessionFactory
from storage.errors import OfferbotError
from storage.workspaces import default_team


def command_text(line: str, *, tr: Translator = ENGLISH) -> str | None:
    """What follows ``/offer-status`` (the whole line when it does not start with ``/``); None for
    another slash command."""
    text = line.strip()
    if not text.startswith("/"):
        return text
    verb, _, rest = text.partition(" ")
    return rest if verb == COMMAND else None


def answer(
    session_factory: SessionFactory, line: str, *, tr: Translator = ENGLISH, clock: Clock = utc_now
) -> str:
    """The text the shell prints for one input line, as the operator with no channel."""
    text = command_text(line, tr=tr)
    if text is None:
        return tr._("Unknown command %(verb)s: this bot has `/offer-status`.", verb=line.split()[0])
    try:
        with session_factory() as session:
            team = default_team(session)
            reply = answers.handle_command(session, team_id=team, text=text, tr=tr, now=clock())
    except OfferbotError as exc:
        reply = render_error(exc, tr=tr)
    return render_reply(reply, tr)


def render_reply(reply: Reply, tr: Translator = ENGLISH) -> str:
    return blocks_to_text(reply.blocks, tr) if reply.blocks else reply.text

"""``offerbot shell``: a local console in the spirit of Hubot's shell adapter.

Type ``/offer-status ...`` (or just what follows it) and read the answer as text, on the local
store, with no Slack at all. The shell answers for the default workspace.
"""

from __future__ import annotations

import logging
from typing import TextIO

from bot import commands, render
from bot.render import COMMAND, Reply
from bot.textview import blocks_to_text
from storage.db import SessionFactory
from storage.errors import OfferbotError
from storage.workspaces import default_team

log = logging.getLogger(__name__)

PROMPT = "offerbot> "
BANNER = f"offerbot shell: type `{COMMAND} help`, or `exit` to leave."


def answer(session_factory: SessionFactory, line: str) -> str:
    """The text the shell prints for one input line."""
    text = line.strip()
    if text.startswith("/"):
        verb, _, rest = text.partition(" ")
        if verb != COMMAND:
            return f"Unknown command {verb}: this bot has {COMMAND}."
        text = rest
    try:
        with session_factory() as session:
            reply = commands.handle_command(session, team_id=default_team(session), text=text)
    except OfferbotError as exc:
        reply = render.render_error(str(exc))
    return render_reply(reply)


def render_reply(reply: Reply) -> str:
    return blocks_to_text(reply.blocks) if reply.blocks else reply.text


def run_shell(session_factory: SessionFactory, *, stdin: TextIO, stdout: TextIO) -> None:
    interactive = stdin.isatty()
    if interactive:
        print(BANNER, file=stdout)
    while True:
        if interactive:
            stdout.write(PROMPT)
            stdout.flush()
        line = stdin.readline()
        if not line:
            break
        if line.strip().lower() in ("exit", "quit", r"\q"):
            break
        if not line.strip():
            continue
        print(answer(session_factory, line), file=stdout)
        print(file=stdout)
        stdout.flush()

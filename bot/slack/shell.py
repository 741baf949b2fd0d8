"""``offerbot shell``: a local console in the spirit of Hubot's shell adapter.

Type ``/offer-status ...`` (or just what follows it) and read the answer as text, on the local
store, with no Slack at all. The shell answers for the default workspace, in the language it was
started with (``--lang fr``).
"""

from __future__ import annotations

import logging
from typing import TextIO

from bot.clock import Clock, utc_now
from bot.i18n import ENGLISH, Translator
from bot.render.blocks import COMMAND, Reply
from bot.render.help import render_error
from bot.render.textview import blocks_to_text
from bot.slack import answers
from storage.db import SessionFactory
from storage.errors import OfferbotError
from storage.workspaces import default_team

log = logging.getLogger(__name__)

PROMPT = "offerbot> "


def answer(
    session_factory: SessionFactory, line: str, *, tr: Translator = ENGLISH, clock: Clock = utc_now
) -> str:
    """The text the shell prints for one input line."""
    text = line.strip()
    if text.startswith("/"):
        verb, _, rest = text.partition(" ")
        if verb != COMMAND:
            return tr._("Unknown command %(verb)s: this bot has `/offer-status`.", verb=verb)
        text = rest
    try:
        with session_factory() as session:
            team = default_team(session)
            reply = answers.handle_command(session, team_id=team, text=text, tr=tr, now=clock())
    except OfferbotError as exc:
        reply = render_error(exc, tr=tr)
    return render_reply(reply, tr)


def render_reply(reply: Reply, tr: Translator = ENGLISH) -> str:
    return blocks_to_text(reply.blocks, tr) if reply.blocks else reply.text


def run_shell(
    session_factory: SessionFactory, *, stdin: TextIO, stdout: TextIO, tr: Translator = ENGLISH
) -> None:
    interactive = stdin.isatty()
    if interactive:
        print(tr._("offerbot shell: type `/offer-status help`, or `exit` to leave."), file=stdout)
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
        print(answer(session_factory, line, tr=tr), file=stdout)
        print(file=stdout)
        stdout.flush()

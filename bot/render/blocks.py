"""Block Kit primitives every renderer builds with: the reply, escaped and truncated text that Slack
takes as written, sections, headers, dates, and replies that fit Slack's limits."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.i18n import Translator
from storage import safetext

Block = dict[str, Any]


COMMAND = "/offer-status"


MAX_BLOCKS = 50


MAX_SECTION = 3000


MAX_HEADER = 150


MAX_FIELD = 2000


_MENTION_RE = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)


_WORD_JOINER = "\u2060"


@dataclass(frozen=True)
class Reply:
    """A message: the plain-text fallback and its blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)


def defuse(text: str) -> str:
    """Break ``@channel``, ``@here`` and ``@everyone`` so no client can read them as mentions."""
    return _MENTION_RE.sub(lambda m: "@" + _WORD_JOINER + m.group(1), text)


_FORMATTING = str.maketrans({"*": "\u2217", "`": "\u02cb", "~": "\u223c"})
"""mrkdwn's bold, code and strike marks in data, shown as look-alikes that format nothing."""


_EMOJI_CODE = re.compile(r":(?=[a-z0-9_+-]+:)")


def esc(text: str) -> str:
    """Data for mrkdwn: ``&``, ``<`` and ``>`` escaped, mass mentions defused, and bold, code and
    strike marks and emoji codes shown as written instead of formatting (a name cannot dress up as
    another offer's line)."""
    shown = safetext.escape(text).translate(_FORMATTING)
    return defuse(_EMOJI_CODE.sub(":" + _WORD_JOINER, shown))


def safe(text: str) -> str:
    """Stored safe text (already escaped, links kept) for mrkdwn."""
    return defuse(text)


_ATOMS = re.compile(r"<[^<>]*>|&(?:amp|lt|gt|#?\w{1,8});")
"""What a cut must not split: a Slack control sequence (a link, a mention, a date) or an escape."""


def truncate(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, ending with "…" when it is cut; the cut falls between
    whole tokens, never inside a ``<https://…|label>`` link, a mention or an ``&lt;`` escape."""
    if len(text) <= limit:
        return text
    cut = limit - 1
    for atom in _ATOMS.finditer(text, 0, cut + 3000):
        if atom.start() < cut < atom.end():
            cut = atom.start()
            break
        if atom.start() >= cut:
            break
    return text[:cut] + "…"


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def titled(title: str, body: str) -> str:
    """A bold title over its text, as in a card's fields."""
    return f"*{title}*\n{body}"


def mrkdwn_field(text: str) -> Block:
    """One of a section's fields (Slack allows 2,000 characters each)."""
    return _mrkdwn(truncate(text, MAX_FIELD))


def section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(truncate(text, MAX_SECTION))}


def context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(truncate(text, MAX_SECTION))]}


def header(text: str) -> Block:
    """A header: plain_text, which Slack never parses for mentions or links (mass mentions defused anyway)."""
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(defuse(text), MAX_HEADER), "emoji": True},
    }


def divider() -> Block:
    return {"type": "divider"}


def sections(title: str, lines: Iterable[str]) -> list[Block]:
    """Lines packed into as few sections as fit in 3,000 characters each, the first titled."""
    blocks: list[Block] = []
    current = title
    for line in lines:
        line = truncate(line, MAX_SECTION - len(title) - 1)
        if len(current) + 1 + len(line) > MAX_SECTION:
            blocks.append(section(current))
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        blocks.append(section(current))
    return blocks


def slack_date(when: datetime, tr: Translator) -> str:
    """A date Slack shows in the reader's time zone and language, with a UTC fallback."""
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    tokens = tr._("{date_short_pretty} at {time}")
    return f"<!date^{int(when.timestamp())}^{tokens}|{fallback}>"


MAX_VIEW_BLOCKS = 100
"""Blocks in a modal or the Home tab (Slack's limit)."""


def modal(title: str, blocks: list[Block], *, close: str, submit: str | None = None) -> dict[str, Any]:
    """A modal view: its title and buttons cut to Slack's 24 characters."""
    view: dict[str, Any] = {
        "type": "modal",
        "title": {"type": "plain_text", "text": truncate(title, 24)},
        "close": {"type": "plain_text", "text": truncate(close, 24)},
        "blocks": blocks,
    }
    if submit is not None:
        view["submit"] = {"type": "plain_text", "text": truncate(submit, 24)}
    return view


def card_modal(reply: Reply) -> dict[str, Any]:
    """A reply (the offer's card) as a modal, for a click where there is no message to answer in."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "offerbot"},
        "blocks": reply.blocks[:MAX_VIEW_BLOCKS],
    }


def fit_blocks(first: list[Block], rest: list[Block], note: str) -> list[Block]:
    """``first`` cut, with ``note``, so that ``first + rest`` fits in one message; ``rest`` (what
    closes a message: its page buttons, its footer) is kept whole."""
    room = MAX_BLOCKS - len(rest)
    if len(first) <= room:
        return [*first, *rest]
    return [*first[: room - 1], context(note), *rest]


def cap_blocks(blocks: list[Block], note: str) -> list[Block]:
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 1], context(note)]

"""Slash command text as Slack sends it, made plain once at the edge.

The manifest asks Slack to escape the command's text (``should_escape: true``), so a user, a
channel, a user group and a link arrive as tokens and ``&``, ``<`` and ``>`` as entities (Slack's
*Formatting text*: ``<@U…|pat>``, ``<#C…|general>``, ``<!subteam^S…|@team>``,
``<https://…|label>``, ``<mailto:a@b.c|a@b.c>``, ``&amp;``). Every command reads :func:`plain`:
people, channels and groups stay tokens by id (``<@U…>``, ``<#C…>``, ``<!subteam^S…>``), which a
command that takes them parses and any other refuses as an unknown word; a link becomes what the
user typed (its label, else its address), so an offer id that Slack took for a domain still names
the offer; the entities become their characters."""

from __future__ import annotations

import re

from storage.safetext import unescape

TOKEN = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
"""One of Slack's ``<target|label>`` tokens (the label is optional)."""


def _token(target: str, label: str | None) -> str:
    if target.startswith(("@", "#", "!")):
        return f"<{target}>"  # a user, a channel, a group or a special mention: by id
    if target.startswith("mailto:"):
        return unescape(label or target.removeprefix("mailto:"))
    return unescape(label or target)


def plain(text: str) -> str:
    """The text as the user typed it, with mentions as id tokens (see the module)."""
    parts: list[str] = []
    at = 0
    for match in TOKEN.finditer(text):
        parts.append(unescape(text[at : match.start()]))
        parts.append(_token(match.group(1), match.group(2)))
        at = match.end()
    parts.append(unescape(text[at:]))
    return "".join(parts)

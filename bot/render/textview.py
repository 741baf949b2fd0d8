"""Block Kit as terminal text, for ``offerbot shell``. Pure: blocks in, a string out."""

from __future__ import annotations

import re
from typing import Any

from bot.i18n import ENGLISH, Translator
from storage.safetext import unescape

_EMOJI = {
    ":white_circle:": "○",
    ":hourglass_flowing_sand:": "⏳",
    ":hourglass:": "⌛",
    ":x:": "✗",
    ":no_entry_sign:": "⊘",
    ":no_entry:": "⛔",
    ":raised_hand:": "✋",
    ":white_check_mark:": "✓",
    ":warning:": "⚠",
    ":large_blue_circle:": "●",
    ":red_circle:": "●",
    ":bell:": "🔔",
    ":raising_hand:": "🙋",
    ":zzz:": "💤",
    ":alarm_clock:": "⏰",
    ":crystal_ball:": "🔮",
    ":rocket:": "🚀",
    ":wastebasket:": "🗑",
    ":gear:": "⚙",
    ":information_source:": "ℹ",
    ":grey_question:": "?",
    ":busts_in_silhouette:": "👥",
    ":test_tube:": "🧪",
}
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")
_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")


def mrkdwn_to_text(text: str) -> str:
    text = _DATE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(
        lambda m: m.group(2) if m.group(2) == m.group(1) else f"{m.group(2)} ({m.group(1)})", text
    )
    for code, glyph in _EMOJI.items():
        text = text.replace(code, glyph)
    return unescape(text.replace("\u2060", ""))


def _text_of(obj: dict[str, Any]) -> str:
    return mrkdwn_to_text(str(obj.get("text", "")))


def _field(text: str, tr: Translator) -> str:
    label, _, value = text.partition("\n")
    return tr._("%(label)s: %(text)s", label=label, text=value) if value else label


def _control(element: dict[str, Any]) -> str:
    """A button's label, or a menu's placeholder with its options."""
    if "text" in element:
        return _text_of(element["text"])
    options = " | ".join(_text_of(o.get("text", {})) for o in element.get("options", []))
    return f"{_text_of(element.get('placeholder', {}))} ▾ {options}".strip()


def blocks_to_text(blocks: list[dict[str, Any]], tr: Translator = ENGLISH) -> str:
    """The blocks as terminal text; ``tr`` words the punctuation between a field's title and value."""
    out: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text_of(block["text"])
            out += [title, "=" * len(title)]
        elif kind == "section":
            if "text" in block:
                accessory = block.get("accessory")
                extra = f" [{_control(accessory)}]" if isinstance(accessory, dict) else ""
                out.append(_text_of(block["text"]) + extra)
            for f in block.get("fields", []):
                out.append(_field(_text_of(f), tr))
        elif kind == "context":
            out.append("  ".join(_text_of(e) for e in block.get("elements", [])))
        elif kind == "divider":
            out.append("-" * 40)
        elif kind == "actions":
            out.append("[" + "] [".join(_control(e) for e in block.get("elements", [])) + "]")
    return "\n".join(out)

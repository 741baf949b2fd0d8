"""Message HTML to *safe text*, the form in which messages are stored.

Safe text is plain text in which ``&``, ``<`` and ``>`` are escaped as ``&amp;``, ``&lt;``
and ``&gt;``, and the only markup is a link written ``<URL|label>``, kept only for ``http``
and ``https`` URLs (Slack's own link syntax). Tags are dropped, block tags become line breaks,
entities are decoded and re-escaped, and any other link keeps its label as plain text. So a
message can neither mention anybody (``<!channel>``, ``<@U123>``) nor carry a ``javascript:``
link, and a renderer can show it in Slack as it is, or as plain text with :func:`to_plain`.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6"}
_SKIP_TAGS = {"script", "style", "head", "title"}
_LINK_RE = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")


def escape(text: str) -> str:
    """Escape the three characters Slack mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def safe_url(url: str) -> str | None:
    """The URL if it is an absolute http(s) URL, with the characters Slack's link syntax uses quoted."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ch.isspace() for ch in url):
        return None
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._link: str | None = None
        self._label: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "a" and self._link is None:
            href = dict(attrs).get("href") or ""
            self._link = safe_url(href) or ""
            self._label = []
        elif tag in _BLOCK_TAGS:
            self._text("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self._text("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag == "a" and self._link is not None:
            self._close_link()
        elif tag in _BLOCK_TAGS:
            self._text("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._text(data)

    def _text(self, data: str) -> None:
        if self._link is not None:
            self._label.append(data)
        else:
            self.out.append(escape(data))

    def _close_link(self) -> None:
        label = " ".join("".join(self._label).split())
        url = self._link or ""
        self._link = None
        if url:
            self.out.append(f"<{url}|{escape(label or url)}>")
        else:
            self.out.append(escape(label))

    def result(self) -> str:
        if self._link is not None:
            self._close_link()
        text = "".join(self.out)
        lines = [" ".join(line.split()) for line in text.split("\n")]
        return "\n".join(line for line in lines if line)


def from_html(html: str) -> str:
    """Convert a message's HTML to safe text (see the module docstring)."""
    converter = _Converter()
    converter.feed(html)
    converter.close()
    return converter.result()


def to_plain(safe: str) -> str:
    """Safe text as plain text for a terminal or a notification: links become ``label (URL)``."""
    out: list[str] = []
    pos = 0
    for match in _LINK_RE.finditer(safe):
        out.append(unescape(safe[pos : match.start()]))
        url, label = match.group(1), unescape(match.group(2))
        out.append(url if label == url else f"{label} ({url})")
        pos = match.end()
    out.append(unescape(safe[pos:]))
    return "".join(out)


def links(safe: str) -> list[tuple[str, str]]:
    """The (url, label) pairs of the links in safe text."""
    return [(m.group(1), unescape(m.group(2))) for m in _LINK_RE.finditer(safe)]


# --- names and ids: one line, nothing invisible --------------------------------------------------

_INVISIBLE = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
"""Control, format (bidi overrides, zero-width characters), private-use, unassigned and line and
paragraph separators: nothing a name needs, and what lets one forge another's line."""


def one_line(text: str) -> str:
    """A name or an id as it is stored: one line (any line break or tab is a space), with control,
    bidi and zero-width characters removed, and runs of spaces made one."""
    kept = []
    for ch in text:
        if ch in "\t\n\r\v\f" or unicodedata.category(ch) in ("Zl", "Zp"):
            kept.append(" ")
        elif unicodedata.category(ch) not in _INVISIBLE:
            kept.append(ch)
    return " ".join("".join(kept).split())


def _script(ch: str) -> str | None:
    """The script of a letter, from its Unicode name (LATIN, CYRILLIC, GREEK, ...); None otherwise."""
    if not ch.isalpha():
        return None
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def mixed_scripts(text: str) -> tuple[str, str, str] | None:
    """An id that mixes letters of two scripts (a Cyrillic "а" in a Latin id): the first script, the
    other one and its first letter; None when every letter is of one script."""
    first: str | None = None
    for ch in text:
        script = _script(ch)
        if script is None:
            continue
        if first is None:
            first = script
        elif script != first:
            return first, script, ch
    return None

"""Languages: the texts offerbot writes, in English (the source) and French (``bot/locale``).

Renderers take a :class:`Translator` and write ``tr._("... %(name)s ...", name=value)`` and
``tr.ngettext(singular, plural, n)``; messages defined away from a renderer (labels, errors) are
marked with :func:`N_` and translated where they are shown. The catalogues are Babel gettext files:
``pybabel extract`` / ``update`` / ``compile`` read their settings from ``pyproject.toml``. The
``.po`` files are in the repository; a ``.mo`` older than its ``.po`` (or none) is compiled in
memory at first use, so a checkout never needs a build step to speak French.
"""

from __future__ import annotations

import gettext
import io
import logging
import re
from enum import StrEnum
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

DOMAIN = "offerbot"
LOCALE_DIR = Path(__file__).parent / "locale"


class Language(StrEnum):
    EN = "en"
    FR = "fr"


DEFAULT = Language.EN


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated later, where it is shown."""
    return message


def language_of(code: str | None) -> Language:
    """A Slack locale (``fr-FR``, ``en-US``) or a setting (``fr``) as a language; unknown is English."""
    prefix = (code or "").strip().lower().replace("_", "-").split("-")[0]
    try:
        return Language(prefix)
    except ValueError:
        return DEFAULT


def parse_language(word: str) -> Language | None:
    """``fr`` or ``en`` as typed in a command or a setting; anything else is None."""
    try:
        return Language(word.strip().lower())
    except ValueError:
        return None


_CONTROL = re.compile(r"<(?:[@#!]|https?://|mailto:)[^<>]*>")
"""What Slack reads as a control sequence in offerbot's own texts: a mention, a special command, a
link. Any other ``<`` or ``>`` there (``<offer>`` in a usage text) is literal text."""


@cache
def mrkdwn_template(text: str) -> str:
    """offerbot's own text for Slack's mrkdwn: ``<`` and ``>`` that are not part of a mention or a
    link escaped (``&lt;offer&gt;``), so Slack shows them instead of reading a control sequence."""
    if "<" not in text and ">" not in text:
        return text
    out, last = [], 0
    for match in _CONTROL.finditer(text):
        out.append(text[last : match.start()].replace("<", "&lt;").replace(">", "&gt;"))
        out.append(match.group())
        last = match.end()
    out.append(text[last:].replace("<", "&lt;").replace(">", "&gt;"))
    return "".join(out)


class Translator:
    """The texts of one language. ``_`` and ``ngettext`` fill ``%(name)s`` placeholders. The
    templates are offerbot's own words for Slack, so their literal ``<`` and ``>`` come back escaped
    (:func:`mrkdwn_template`); the values filled in are the caller's to escape (``esc`` for data)."""

    def __init__(self, language: Language, catalogue: gettext.NullTranslations) -> None:
        self.language = language
        self._catalogue = catalogue

    def _(self, message: str, /, **params: object) -> str:
        text = mrkdwn_template(self._catalogue.gettext(message))
        return text % params if params else text

    def ngettext(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        text = mrkdwn_template(self._catalogue.ngettext(singular, plural, n))
        return text % {"n": n, **params}

    def __repr__(self) -> str:
        return f"Translator({self.language.value})"


def _catalogue(language: Language) -> gettext.NullTranslations:
    if language is Language.EN:
        return gettext.NullTranslations()
    folder = LOCALE_DIR / language.value / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as fp:
            return gettext.GNUTranslations(fp)
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=language.value, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out, as msgfmt does
    buffer.seek(0)
    log.debug("compiled %s in memory (%d messages)", po, len(catalog))
    return gettext.GNUTranslations(buffer)


@cache
def translator(language: Language | str = DEFAULT) -> Translator:
    """The translator of a language (cached: catalogues are read once per process)."""
    lang = language if isinstance(language, Language) else language_of(language)
    return Translator(lang, _catalogue(lang))


ENGLISH = translator(Language.EN)

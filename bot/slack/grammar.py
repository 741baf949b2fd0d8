"""``/offer-status``: the command grammar. Text in, a typed command out (:func:`parse`, the alert
verbs' :class:`AlertArgs`, the buttons' values): no store, no permission check, no rendering; what
cannot be read is a :class:`UsageError` naming what to type. ``bot/slack/answers.py`` answers it."""

from __future__ import annotations

import difflib
import json
import logging
import re
import shlex
import unicodedata
from dataclasses import dataclass

from bot.i18n import N_
from bot.usecases.owners import OwnersArgs
from bot.usecases.subscriptions import AlertArgs
from storage.alerts.subscriptions import Target
from storage.errors import UsageError
from storage.owners import OwnerRef
from storage.statuses import STATUS_FILTERS, OfferStatus, OwnerKind, TargetKind, status_filter_words

log = logging.getLogger(__name__)

MAX_RAW_TEXT = 4000
"""A command's text is refused over this many characters, before it is split or parsed."""
MAX_TEXT = 500
"""What is left after spaces are folded: an offer id or name, and a few words."""


def _check_text(text: str) -> str:
    """The command's text with its spaces folded, or a UsageError: too long, or holding NUL or other
    control characters (which no offer id, name or command word has)."""
    if len(text) > MAX_RAW_TEXT:
        raise UsageError(
            N_("that is %(length)d characters; an offer id or name is at most a few hundred."),
            length=len(text),
        )
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") and c not in "\t\n\r" for c in text):
        raise UsageError(N_("that text holds control characters: type an offer id or name, or `help`."))
    text = " ".join(text.split())
    if len(text) > MAX_TEXT:
        raise UsageError(
            N_("that is %(length)d characters; an offer id or name is at most a few hundred."),
            length=len(text),
        )
    return text


def _status_filter(word: str) -> OfferStatus:
    status = STATUS_FILTERS.get(word.lower())
    if status is None:
        known = ", ".join(f"`{w}`" for w in status_filter_words())
        raise UsageError(N_('unknown status "%(word)s". Use one of: %(known)s.'), word=word, known=known)
    return status


@dataclass(frozen=True)
class ListArgs:
    """``list [status] [publisher:<id>] [page N]``, typed."""

    status: OfferStatus | None = None
    publisher: str | None = None
    page: int = 1


def _publisher_word(word: str) -> str | None:
    """The id in ``publisher:<id>``; None for another word; a UsageError for ``publisher:`` alone."""
    if not word.lower().startswith("publisher:"):
        return None
    publisher = word.split(":", 1)[1].strip()
    if not publisher or len(publisher) > 200:
        raise UsageError(N_("write the publisher as `publisher:<id>`, e.g. `publisher:contoso`."))
    return publisher


def list_args(args: list[str]) -> ListArgs:
    """``[status] [publisher:<id>] [page N]``, the status and the publisher in either order."""
    rest, page = _page_arg(list(args))
    statuses, publishers = [], []
    for word in rest:
        publisher = _publisher_word(word)
        if publisher is None:
            statuses.append(word)
        else:
            publishers.append(publisher)
    if len(statuses) > 1 or len(publishers) > 1:
        raise UsageError(
            N_("`list` takes one status, one `publisher:<id>` and a page at most, got: %(args)s"),
            args=" ".join(args)[:200],
        )
    status = _status_filter(statuses[0]) if statuses else None
    return ListArgs(status=status, publisher=publishers[0] if publishers else None, page=page)


def first_word(text: str) -> str:
    """The command's verb, lower-cased ("" for none), without parsing the rest: it never fails."""
    head = text[:64].split(maxsplit=1)
    return head[0].lower() if head else ""


def split_words(text: str) -> list[str]:
    """Words, with "quoted names" kept whole; an unbalanced quote is a usage error."""
    try:
        return shlex.split(text)
    except ValueError:
        raise UsageError(N_('a quote is not closed: write "Tailspin Flight" with both quotes.')) from None


def _page_arg(args: list[str]) -> tuple[list[str], int]:
    """``... [page N]``: the words before, and the page (1 when not given)."""
    if len(args) >= 2 and args[-2].lower() == "page":
        number = args[-1]
        if not (number.isascii() and number.isdigit()) or not 1 <= int(number) <= 100_000:
            raise UsageError(N_('"page" takes a page number from 1, got "%(page)s".'), page=number[:20])
        return args[:-2], int(number)
    return args, 1


@dataclass(frozen=True)
class Command:
    """A command's text, typed: its verb (``list`` for an empty text, ``help``, ``history``,
    ``digest``, an alert verb, or ``lookup`` for an offer's id or name) and its words after it."""

    verb: str
    args: tuple[str, ...] = ()


HELP_WORDS = ("help", "-h", "--help", "?")
TAKE_NOTHING = ("help", "digest", "subscriptions")
"""Verbs with no arguments: a word after them is refused, as ``list`` refuses a second status."""
ALERT_VERBS = ("subscribe", "unsubscribe", "subscriptions", "notify-me", "mute-me", "settings")
TEST_ALERT = "test-alert"
"""``test-alert [offer]``: a test alert in this channel."""


def parse(text: str) -> Command:
    """``/offer-status <text>`` as a :class:`Command`; a :class:`UsageError` for text no command
    reads (too long, control characters, an unclosed quote)."""
    words = split_words(_check_text(text))
    if not words:
        return Command("list")
    verb = words[0].lower()
    name = "help" if verb in HELP_WORDS else verb
    if name in TAKE_NOTHING and len(words) > 1:
        raise UsageError(
            N_("`%(verb)s` takes nothing after it, got: %(args)s"), verb=name, args=" ".join(words[1:])[:200]
        )
    if verb in HELP_WORDS:
        return Command("help")
    if verb in ("list", "ls"):
        return Command("list", tuple(words[1:]))
    if verb in ("history", "digest", TEST_ALERT, "owners", *ALERT_VERBS):
        return Command(verb, tuple(words[1:]))
    return Command("lookup", tuple(words))


VERBS = ("help", "list", "history", "digest", TEST_ALERT, "owners", *ALERT_VERBS)


def close_verb(word: str) -> str | None:
    """The command ``word`` is a likely typo of (``hlep`` -> ``help``, ``subscibe`` -> ``subscribe``)."""
    found = difflib.get_close_matches(word.lower(), VERBS, n=1, cutoff=0.75)
    return found[0] if found and len(word) >= 3 else None


def history_args(args: list[str]) -> tuple[str, int]:
    """``history <offer> [page N]``: the offer's words and the page."""
    words, page = _page_arg(args)
    if not words:
        raise UsageError(N_("`history` needs an offer: `/offer-status history contoso-analytics-vm`."))
    return " ".join(words), page


def history_page_value(value: str) -> tuple[int, int]:
    """The history's Previous/Next button value, ``{"h": offer key, "o": offset}``."""
    try:
        data = json.loads(value)
        offer_pk, offset = int(data["h"]), int(data["o"])
        if not (0 <= offset <= 10_000_000 and 0 < offer_pk < 2**31):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
        raise UsageError(N_("that button is out of date: run `/offer-status history` again.")) from None
    return offer_pk, offset


def card_value(value: str) -> int:
    """The alert's *Show status* button value: the offer's key."""
    if not (value.isascii() and value.isdigit() and len(value) < 19):
        raise UsageError(N_("that button is out of date: run `/offer-status list` again."))
    return int(value)


def list_page_value(value: str) -> tuple[ListArgs, int]:
    """A list's Previous/Next button value, ``{"s": status or null, "o": offset, "p": publisher}``
    (``p`` absent on buttons posted before lists took a publisher): the filters and the offset."""
    try:
        data = json.loads(value)
        status = OfferStatus(data["s"]) if data.get("s") else None
        offset = int(data["o"])
        publisher = data.get("p")
        if publisher is not None and not (isinstance(publisher, str) and 0 < len(publisher) <= 200):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UsageError(N_("that button is out of date: run `/offer-status list` again.")) from None
    return ListArgs(status=status, publisher=publisher), offset


# --- alerts: subscribe, unsubscribe, subscriptions, notify-me, mute-me, settings ---------------

WRITE_VERBS = ("unsubscribe", "notify-me", "mute-me", "settings", TEST_ALERT)
"""The verbs whose answer writes to the store (``subscribe`` saves later, in its lazy listener)."""


def writes(text: str) -> bool:
    """Whether the command's answer writes to the store: a writing verb, or ``owners … add|remove``
    (never fails: a text that does not parse writes nothing)."""
    verb = first_word(text)
    if verb in WRITE_VERBS:
        return True
    if verb != OWNERS:
        return False
    try:  # as the answer will read it, quotes and all
        return owners_args(list(parse(text).args)).change is not None
    except UsageError:
        return False


EVENT_WORDS = {
    "failed": "failed",
    "fail": "failed",
    "delisted": "delisted",
    "signoff": "signoff",
    "sign-off": "signoff",
    "signout": "signoff",
    "sign-out": "signoff",
    "stuck": "stuck",
}


def _target(words: list[str]) -> Target | None:
    """``all`` or ``publisher:<id>``; None for an offer, which the use-case looks up."""
    first = words[0]
    if len(words) == 1 and first.lower() == "all":
        return Target(kind=TargetKind.ALL)
    publisher = _publisher_word(first)
    if publisher is None:
        return None
    if len(words) > 1:
        raise UsageError(N_("write the publisher as `publisher:<id>`, e.g. `publisher:contoso`."))
    return Target(kind=TargetKind.PUBLISHER, publisher_id=publisher)


def alert_args(verb: str, args: list[str]) -> AlertArgs:
    """``<offer | publisher:<id> | all> [failed] [delisted] [signoff] [stuck]`` as typed: nothing
    is checked or looked up here (a malformed publisher is carried, for the use-case to raise after
    its permission check)."""
    words = list(args)
    events: list[str] = []
    while words and words[-1].lower() in EVENT_WORDS:
        events.insert(0, EVENT_WORDS[words.pop().lower()])
    target, problem = None, None
    if words:
        try:
            target = _target(words)
        except UsageError as exc:
            problem = exc
    return AlertArgs(verb=verb, target=target, query=" ".join(words), events=tuple(events), problem=problem)


def subscribe_args(text: str) -> AlertArgs | None:
    """The ``subscribe`` in a command's text, parsed as the ack parsed it; None for any other text."""
    try:
        words = split_words(_check_text(text))
    except UsageError:
        return None
    if not words or words[0].lower() != "subscribe":
        return None
    return alert_args("subscribe", words[1:])


OWNERS = "owners"
OWNER_CHANGES = ("add", "remove")
_USER_TOKEN = re.compile(r"^<@([UW][A-Z0-9]{2,20})>$")
_GROUP_TOKEN = re.compile(r"^<!subteam\^(S[A-Z0-9]{2,20})>$")
_EMAIL = re.compile(r"^[^@\s<>,;]{1,64}@[^@\s<>,;]{1,250}\.[^@\s<>,;.]{2,63}$")


def owner_ref(word: str) -> OwnerRef:
    """One owner as the escaped command carries it: a user's or a group's mention, or an address."""
    user, group = _USER_TOKEN.match(word), _GROUP_TOKEN.match(word)
    if user:
        return OwnerRef(OwnerKind.USER, user.group(1))
    if group:
        return OwnerRef(OwnerKind.USERGROUP, group.group(1))
    if _EMAIL.match(word):
        return OwnerRef(OwnerKind.EMAIL, word.lower())
    raise UsageError(
        N_(
            "`%(word)s` is not someone Slack knows: pick the person or the user group from Slack's @ menu "
            "(the name turns into a mention), or write an e-mail address."
        ),
        word=word[:80],
    )


def owners_args(args: list[str]) -> OwnersArgs:
    """The target is every word before ``add`` or ``remove`` (quote a name that holds one)."""
    words = list(args)
    at = next((i for i, w in enumerate(words) if w.lower() in OWNER_CHANGES), len(words))
    target_words, rest = words[:at], words[at:]
    if not target_words:
        raise UsageError(N_("write `owners <offer>`, or `owners <offer> add @pat`."))
    target = _target(target_words) if target_words[0].lower() != "all" else None
    if target_words[0].lower() == "all":
        raise UsageError(N_("owners are set on an offer or on `publisher:<id>`, not on `all`."))
    if not rest:
        return OwnersArgs(target=target, query=" ".join(target_words))
    if len(rest) == 1:
        raise UsageError(N_("`%(change)s` needs who: `@pat`, `@release-team` or an address."), change=rest[0])
    owners = tuple(dict.fromkeys(owner_ref(w) for w in rest[1:]))
    return OwnersArgs(target=target, query=" ".join(target_words), change=rest[0].lower(), owners=owners)

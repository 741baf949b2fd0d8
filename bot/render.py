"""Pure Block Kit renderers: stored offers in, message dicts out. No client, session or clock here.

Every text that comes from data passes through :func:`esc` (or is stored safe text, see
``storage.safetext``), so nothing from an import can mention anyone or inject a link.
Limits respected: 50 blocks a message, 3,000 characters a section text, 10 fields of 2,000.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.labels import offer_type_label, status_emoji, status_label, step_emoji, step_label
from bot.slack_errors import Fix, fix_for
from storage import safetext
from storage.models import Message, Offer, Step
from storage.queries import MIN_PARTIAL, Lookup, OfferCard, OfferPage
from storage.statuses import (
    FILTER_WORDS,
    MessageLevel,
    OfferStatus,
    OfferType,
    StepState,
    status_filter_words,
)

Block = dict[str, Any]

COMMAND = "/offer-status"
MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_FIELD = 2000
LIST_PAGE_SIZE = 20
LIST_PAGE_ACTION = "offer_list_page"

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


def esc(text: str) -> str:
    """Data for mrkdwn: ``&``, ``<`` and ``>`` escaped and mass mentions defused."""
    return defuse(safetext.escape(text))


def safe(text: str) -> str:
    """Stored safe text (already escaped, links kept) for mrkdwn."""
    return defuse(text)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


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


def slack_date(when: datetime) -> str:
    """A date Slack shows in the reader's time zone, with a UTC fallback."""
    fallback = when.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def status_text(status: str) -> str:
    s = OfferStatus(status)
    return f"{status_emoji(s)} {status_label(s)}"


def type_label(offer: Offer) -> str:
    """The offer type's label; a type only Partner Center knows is shown as Partner Center names it."""
    return offer_type_label(offer.offer_type)


FEED_LABELS = {"partner-center": "Partner Center", "cloud-partner-portal": "Cloud Partner Portal"}
PARTNER_CENTER_URL = "https://partner.microsoft.com/dashboard/marketplace-offers/overview"
PARTNER_CENTER_OFFER_URL = (
    "https://partner.microsoft.com/dashboard/commercial-marketplace/offers/{guid}/overview"
)
_GUID = re.compile(r"^[0-9A-Fa-f-]{36}$")


def partner_center_url(offer: Offer) -> str:
    """The offer's own page in Partner Center when the sync knows its product id, else the offers page."""
    if offer.feed == "partner-center" and offer.feed_key and _GUID.match(offer.feed_key):
        return PARTNER_CENTER_OFFER_URL.format(guid=offer.feed_key)
    return PARTNER_CENTER_URL


def source_note(offer: Offer) -> str | None:
    """Where the offer's state comes from, and whether its source removed it."""
    label = FEED_LABELS.get(offer.feed or "", offer.feed or "")
    if offer.removed_at is not None:
        return (
            f":wastebasket: Removed from {esc(label or 'its source')} "
            f"({slack_date(offer.removed_at)}): kept here with its history."
        )
    if label and offer.observed_at is not None:
        return f"Synced from {esc(label)} · last read {slack_date(offer.observed_at)}"
    return None


def cap_blocks(blocks: list[Block], note: str) -> list[Block]:
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    return [*blocks[: MAX_BLOCKS - 1], context(note)]


# --- the offer card ---------------------------------------------------------------------------


def _step_line(step: Step) -> str:
    state = StepState(step.status)
    parts = [f"{step_emoji(state)} *{step.position + 1}. {esc(step.name)}* — {step_label(state)}"]
    if state is StepState.IN_PROGRESS and 0 < step.progress < 100:
        parts.append(f"{step.progress}%")
    if step.estimated_time:
        parts.append(f"_{esc(step.estimated_time)}_")
    return " · ".join(parts)


_LEVEL_EMOJI = {MessageLevel.ERROR.value: ":red_circle:", MessageLevel.WARNING.value: ":warning:"}


def unresolved(card: OfferCard) -> list[Message]:
    """The error and warning messages, errors first, as the Status tab's unresolved issues."""
    issues = [m for m in card.messages if m.level in _LEVEL_EMOJI]
    return sorted(issues, key=lambda m: (m.level != MessageLevel.ERROR.value, m.timestamp))


def issue_line(message: Message, steps: Sequence[Step]) -> str:
    where = ""
    if message.step_position is not None:
        names = {s.position: s.name for s in steps}
        where = f"*{esc(names.get(message.step_position, 'step'))}:* "
    return f"{_LEVEL_EMOJI[message.level]} {where}{safe(message.text)}"


def offer_fields(offer: Offer) -> Block:
    return {
        "type": "section",
        "fields": [
            mrkdwn_field(f"*Status*\n{status_text(offer.status)}"),
            mrkdwn_field(f"*Since*\n{slack_date(offer.status_changed_at)}"),
            mrkdwn_field(f"*Type*\n{esc(type_label(offer))}"),
            mrkdwn_field(f"*Publisher*\n{esc(truncate(offer.publisher_id, 200))}"),
            mrkdwn_field(f"*Offer id*\n{esc(truncate(offer.offer_id, 200))}"),
        ],
    }


def _links_line(offer: Offer) -> str | None:
    links = [f"<{url}|Preview>" for url in offer.preview_links] + [
        f"<{url}|Live>" for url in offer.live_links
    ]
    return " · ".join(links) if links else None


def render_card(card: OfferCard) -> Reply:
    offer = card.offer
    issues = unresolved(card)
    blocks: list[Block] = [header(offer.name), offer_fields(offer), divider()]
    if card.steps:
        blocks += sections("*Publishing steps*", (_step_line(s) for s in card.steps))
    elif offer.offer_type == OfferType.CONSULTING_SERVICE.value:
        blocks.append(
            section(
                "*Publishing steps*\nConsulting services have no step list: Microsoft emails you a preview "
                "before the offer goes live."
            )
        )
    else:
        blocks.append(section("*Publishing steps*\nNo steps reported yet."))
    if issues:
        blocks += sections(
            f"*Unresolved issues ({len(issues)})*", (issue_line(m, card.steps) for m in issues)
        )
    else:
        blocks.append(section("*Unresolved issues*\nNone."))
    links = _links_line(offer)
    if links:
        blocks.append(context(links))
    note = source_note(offer)
    if note:
        blocks.append(context(note))
    blocks = cap_blocks(blocks, "…more than fits in one message: see the offer in Partner Center.")
    count = f"{len(issues)} unresolved issue{'s' if len(issues) != 1 else ''}"
    text = f"{esc(offer.name)} ({esc(offer.offer_id)}): {status_label(offer.status)}, {count}"
    return Reply(text=text, blocks=blocks)


# --- lists ------------------------------------------------------------------------------------


def _offer_line(offer: Offer) -> str:
    status = OfferStatus(offer.status)
    return (
        f"{status_emoji(status)} *{esc(truncate(offer.name, 120))}* "
        f"(`{esc(truncate(offer.offer_id, 100))}`) — {status_label(status)} · {esc(type_label(offer))}"
        + (" · _removed_" if offer.removed_at is not None else "")
    )


def page_value(status: OfferStatus | None, offset: int) -> str:
    return json.dumps({"s": status.value if status else None, "o": offset}, separators=(",", ":"))


def _page_button(label: str, status: OfferStatus | None, offset: int) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": f"{LIST_PAGE_ACTION}:{offset}",
        "value": page_value(status, offset),
    }


def _filter_word(status: OfferStatus | None) -> str:
    if status is None:
        return ""
    return FILTER_WORDS[status] + " "


def render_list(page: OfferPage, status: OfferStatus | None) -> Reply:
    title = "Offers" if status is None else f"Offers: {status_label(status)}"
    if page.total == 0:
        what = (
            "No offers are stored yet: import some with `offerbot import FILE`."
            if status is None
            else (
                f"No offers are {status_label(status).lower()}."
                if status is not OfferStatus.NOT_STARTED
                else "No offers are waiting to start publishing."
            )
        )
        return Reply(text=what, blocks=[section(what)])
    if not page.offers:
        what = f"Page out of range: there are {page.total} offers."
        return Reply(text=what, blocks=[section(what)])
    first, last = page.offset + 1, page.offset + len(page.offers)
    blocks: list[Block] = [header(title)]
    lines = [_offer_line(o) for o in page.offers]
    for start in range(0, len(lines), 10):
        blocks.append(section("\n".join(lines[start : start + 10])))
    pages = -(-page.total // page.limit)
    where = f"{first}–{last} of {page.total}"
    if pages > 1:
        cmd = f"{COMMAND} list {_filter_word(status)}page N".replace("  ", " ")
        where += f" (page {page.offset // page.limit + 1} of {pages}: `{cmd}`)"
    blocks.append(context(f"{where} · `{COMMAND} <offer>` shows one offer"))
    buttons = []
    if page.offset > 0:
        buttons.append(_page_button("Previous", status, max(0, page.offset - page.limit)))
    if last < page.total:
        buttons.append(_page_button("Next", status, last))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    text = f"{title}: {first}–{last} of {page.total}"
    return Reply(text=text, blocks=blocks)


# --- lookups that did not find exactly one offer ---------------------------------------------


def render_lookup(lookup: Lookup) -> Reply:
    q = esc(truncate(lookup.query, 100))
    if lookup.too_short:
        text = f"No offer has the id `{q}`. Type at least {MIN_PARTIAL} characters of an offer's id or name."
        return Reply(text=text, blocks=[section(text)])
    if lookup.matches:
        shown = lookup.matches[:10]
        more = " (showing the first 10: type more of the name)" if len(lookup.matches) > 10 else ""
        lines = [_offer_line(o) for o in shown]
        title = f"Several offers match *{q}*{more}. Which one?"
        blocks = [*sections(title, lines), context(f"Type `{COMMAND} <offer id>` for one of them.")]
        return Reply(text=f"Several offers match {q}", blocks=blocks)
    text = f"No offer matches *{q}*."
    if lookup.suggestions:
        names = ", ".join(f"*{esc(o.name)}* (`{esc(o.offer_id)}`)" for o in lookup.suggestions)
        text += f" Did you mean {names}?"
    else:
        text += f" `{COMMAND} list` shows every offer."
    return Reply(text=text, blocks=[section(text)])


# --- help and errors --------------------------------------------------------------------------


def render_help() -> Reply:
    filters = ", ".join(f"`{w}`" for w in status_filter_words())
    lines = [
        "*offerbot* tells you where your Azure Marketplace and AppSource offers are in publishing.",
        f"`{COMMAND} <offer>`: an offer's status, its publishing steps and unresolved issues. "
        "Give the offer id or part of its id or name.",
        f"`{COMMAND} list [status]`: every offer with its status, like Partner Center's All offers page "
        f"(`{COMMAND}` alone does the same). Statuses: {filters}.",
        "*Alerts* (when an offer fails, is delisted or awaits your sign-off):",
        f"`{COMMAND} subscribe <offer | publisher:<id> | all> [failed] [delisted] [signoff]`: "
        "alerts in this channel (all three events unless you name some); invite me to the channel first.",
        f"`{COMMAND} unsubscribe <offer | publisher:<id> | all> [events]` and `{COMMAND} subscriptions`.",
        f"`{COMMAND} notify-me <offer | publisher:<id> | all> [events]`: alerts by direct message. "
        "The people in an offer's notification e-mails get them without asking; "
        f"`{COMMAND} mute-me <offer | publisher:<id> | all>` stops them for you.",
        f"`{COMMAND} settings threading on|off`: follow-ups in the alert's thread (default) "
        "or as new messages.",
        f"`{COMMAND} help`: this help.",
    ]
    return Reply(text="\n".join(lines), blocks=[section("\n".join(lines))])


def render_error(message: str) -> Reply:
    text = f":warning: {esc(message)}"
    return Reply(text=text, blocks=[section(text)])


def render_cannot_post(error: str) -> Reply:
    """What to do when Slack will not let the bot post in the channel being subscribed."""
    fix = fix_for(error)
    if fix in (Fix.INVITE, Fix.INVITE_OR_ANOTHER_CHANNEL):
        text = (
            ":warning: I can't post in this channel yet, so I did not subscribe it. Invite me with "
            "`/invite @offerbot`, then run the same command again."
        )
    elif fix is Fix.UNARCHIVED_CHANNEL:
        text = ":warning: This channel is archived: subscribe another channel."
    else:
        text = f":warning: Slack would not let me post here (`{esc(error)}`), so I did not subscribe it."
    return Reply(text=text, blocks=[section(text)])

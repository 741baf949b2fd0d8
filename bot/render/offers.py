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
from datetime import UTC, datetime
from typing import Any

from bot.i18n import N_, Translator
from bot.render.labels import (
    SYNC_STEP_LABELS,
    offer_type_label,
    status_emoji,
    status_label,
    step_emoji,
    step_label,
)
from storage import safetext
from storage.errors import OfferbotError
from storage.models import Message, Offer, Step
from storage.reads.offers import MIN_PARTIAL, Lookup, OfferCard, OfferPage
from storage.slack_codes import Fix, fix_for
from storage.statuses import (
    FILTER_WORDS,
    SUBMITTED_FORMAT,
    SYNC_FEED,
    MessageLevel,
    OfferStatus,
    OfferType,
    StepState,
    SyncStep,
    status_filter_words,
)

Block = dict[str, Any]

COMMAND = "/offer-status"
MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_FIELD = 2000
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


def status_text(status: str, tr: Translator) -> str:
    s = OfferStatus(status)
    return f"{status_emoji(s)} {status_label(s, tr)}"


def type_label(offer: Offer, tr: Translator) -> str:
    """The offer type's label; a type only Partner Center knows is shown as Partner Center names it."""
    return offer_type_label(offer.offer_type, tr)


FEED_LABELS = {"partner-center": N_("Partner Center"), "cloud-partner-portal": N_("Cloud Partner Portal")}
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


def source_note(offer: Offer, tr: Translator) -> str | None:
    """Where the offer's state comes from, and whether its source removed it."""
    feed = offer.feed or ""
    label = tr._(FEED_LABELS[feed]) if feed in FEED_LABELS else feed
    if offer.removed_at is not None:
        return ":wastebasket: " + tr._(
            "Removed from %(source)s (%(when)s): kept here with its history.",
            source=esc(label) if label else tr._("its source"),
            when=slack_date(offer.removed_at, tr),
        )
    if offer.observed_at is None:
        return None
    when = slack_date(offer.observed_at, tr)
    written_by = offer.state_source or feed  # offers stored before state_source: their feed's
    if written_by == "import":
        text = tr._("Last set by `offerbot import` · %(when)s", when=when)
    elif written_by == "push":
        text = tr._("Last set by a pipeline (the push API) · %(when)s", when=when)
    elif label:
        return tr._("Synced from %(source)s · last read %(when)s", source=esc(label), when=when)
    else:
        return None
    if label:  # a sync follows the offer, but its current state is someone else's
        text += " · " + tr._("%(source)s sync's next read may replace it", source=esc(label))
    return text


MAX_VIEW_BLOCKS = 100
"""Blocks in a modal or the Home tab (Slack's limit)."""


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


def links_line(offer: Offer, tr: Translator) -> str | None:
    """The offer's preview and live links, or None when it has none."""
    preview, live = tr._("Preview"), tr._("Live")
    links = [f"<{url}|{preview}>" for url in offer.preview_links] + [
        f"<{url}|{live}>" for url in offer.live_links
    ]
    return " · ".join(links) if links else None


# --- the offer card ---------------------------------------------------------------------------


def step_name(offer: Offer, step: Step, tr: Translator) -> str:
    """A step's name for mrkdwn: offerbot's own words (in the reader's language) for the steps the
    Partner Center sync builds, the data as written (escaped) for every other step."""
    if offer.feed == SYNC_FEED and step.step_id in SYNC_STEP_LABELS:
        return tr._(SYNC_STEP_LABELS[SyncStep(step.step_id)])
    return esc(step.name)


def step_estimate(offer: Offer, step: Step, tr: Translator) -> str:
    """A step's estimated time as written, or, for a step the sync built, when it was submitted."""
    if offer.feed == SYNC_FEED and step.estimated_time:
        try:
            when = datetime.strptime(step.estimated_time, SUBMITTED_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            pass
        else:
            return tr._("submitted %(when)s", when=slack_date(when, tr))
    return esc(step.estimated_time)


def _step_line(offer: Offer, step: Step, tr: Translator) -> str:
    state = StepState(step.status)
    name = step_name(offer, step, tr)
    parts = [f"{step_emoji(state)} *{step.position + 1}. {name}* — {step_label(state, tr)}"]
    if state is StepState.IN_PROGRESS and 0 < step.progress < 100:
        parts.append(f"{step.progress}%")
    if step.estimated_time:
        parts.append(f"_{step_estimate(offer, step, tr)}_")
    return " · ".join(parts)


_LEVEL_EMOJI = {MessageLevel.ERROR.value: ":red_circle:", MessageLevel.WARNING.value: ":warning:"}


def unresolved(card: OfferCard) -> list[Message]:
    """The error and warning messages, errors first, as the Status tab's unresolved issues."""
    issues = [m for m in card.messages if m.level in _LEVEL_EMOJI]
    return sorted(issues, key=lambda m: (m.level != MessageLevel.ERROR.value, m.timestamp))


def issue_line(message: Message, card: OfferCard, tr: Translator) -> str:
    where = ""
    if message.step_position is not None:
        step = card.step_at.get(message.step_position)
        label = step_name(card.offer, step, tr) if step is not None else tr._("step")
        where = tr._("*%(step)s:*", step=label) + " "
    return f"{_LEVEL_EMOJI[message.level]} {where}{safe(message.text)}"


def offer_fields(offer: Offer, tr: Translator) -> Block:
    return {
        "type": "section",
        "fields": [
            mrkdwn_field(titled(tr._("Status"), status_text(offer.status, tr))),
            mrkdwn_field(titled(tr._("Since"), slack_date(offer.status_changed_at, tr))),
            mrkdwn_field(titled(tr._("Type"), esc(type_label(offer, tr)))),
            mrkdwn_field(titled(tr._("Publisher"), esc(truncate(offer.publisher_id, 200)))),
            mrkdwn_field(titled(tr._("Offer id"), esc(truncate(offer.offer_id, 200)))),
        ],
    }


def steps_blocks(card: OfferCard, tr: Translator) -> list[Block]:
    heading = tr._("Publishing steps")
    title = f"*{heading}*"
    if card.steps:
        return sections(title, (_step_line(card.offer, s, tr) for s in card.steps))
    if card.offer.offer_type == OfferType.CONSULTING_SERVICE.value:
        return [
            section(
                title
                + "\n"
                + tr._(
                    "Consulting services have no step list: Microsoft emails you a preview "
                    "before the offer goes live."
                )
            )
        ]
    return [section(title + "\n" + tr._("No steps reported yet."))]


def missing_reason(card: OfferCard, issues: Sequence[Message], tr: Translator) -> str | None:
    """What stands in for Microsoft's own words where they are missing: details a sync could not
    read, or a synced failure that no validation explains; both point to Partner Center's report."""
    offer = card.offer
    label = tr._("Partner Center")
    link = f"<{partner_center_url(offer)}|{label}>"
    if offer.details_unread:
        return ":grey_question: " + tr._(
            "Microsoft's details of this offer could not be read (%(why)s): the status comes from its "
            "submissions. The details are in %(link)s.",
            why=esc(truncate(offer.details_unread, 200)),
            link=link,
        )
    if offer.feed == SYNC_FEED and offer.status == OfferStatus.FAILED.value and not issues:
        return ":grey_question: " + tr._(
            "Microsoft's API gave no reason for this failure: its report is in %(link)s.", link=link
        )
    return None


def issues_title(count: int, tr: Translator) -> str:
    return tr.ngettext("Unresolved issue (%(n)d)", "Unresolved issues (%(n)d)", count)


def render_card(card: OfferCard, *, tr: Translator) -> Reply:
    offer = card.offer
    issues = unresolved(card)
    blocks: list[Block] = [header(offer.name), offer_fields(offer, tr), divider(), *steps_blocks(card, tr)]
    missing = missing_reason(card, issues, tr)
    if issues:
        lines = (issue_line(m, card, tr) for m in issues)
        blocks += sections(f"*{issues_title(len(issues), tr)}*", lines)
    if missing or not issues:
        blocks.append(section(titled(tr._("Unresolved issues"), missing or tr._("None."))))
    for note in (links_line(offer, tr), source_note(offer, tr)):
        if note:
            blocks.append(context(note))
    blocks = cap_blocks(blocks, tr._("…more than fits in one message: see the offer in Partner Center."))
    count = tr.ngettext("%(n)d unresolved issue", "%(n)d unresolved issues", len(issues))
    text = tr._(
        "%(offer)s (%(id)s): %(status)s, %(issues)s",
        offer=esc(offer.name),
        id=esc(offer.offer_id),
        status=status_label(offer.status, tr),
        issues=count,
    )
    return Reply(text=text, blocks=blocks)


# --- lists ------------------------------------------------------------------------------------


def offer_line(offer: Offer, tr: Translator) -> str:
    status = OfferStatus(offer.status)
    removed = " · _" + tr._("removed") + "_" if offer.removed_at is not None else ""
    return (
        f"{status_emoji(status)} *{esc(truncate(offer.name, 120))}* "
        f"(`{esc(truncate(offer.offer_id, 100))}`) — {status_label(status, tr)} · "
        f"{esc(type_label(offer, tr))}{removed}"
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


def _empty_list(status: OfferStatus | None, tr: Translator) -> str:
    if status is None:
        return tr._("No offers are stored yet: import some with `offerbot import FILE`.")
    if status is OfferStatus.NOT_STARTED:
        return tr._("No offers are waiting to start publishing.")
    return tr._("No offer has the status *%(status)s*.", status=status_label(status, tr))


def _page_buttons(page: OfferPage, status: OfferStatus | None, tr: Translator) -> list[Block]:
    last = page.offset + len(page.offers)
    buttons = []
    if page.offset > 0:
        buttons.append(_page_button(tr._("Previous"), status, max(0, page.offset - page.limit)))
    if last < page.total:
        buttons.append(_page_button(tr._("Next"), status, last))
    return [{"type": "actions", "elements": buttons}] if buttons else []


def _where_in_list(page: OfferPage, status: OfferStatus | None, tr: Translator) -> str:
    first, last = page.offset + 1, page.offset + len(page.offers)
    where = tr._("%(first)d–%(last)d of %(total)d", first=first, last=last, total=page.total)
    pages = -(-page.total // page.limit)
    if pages > 1:
        cmd = f"{COMMAND} list {_filter_word(status)}page N".replace("  ", " ")
        number = page.offset // page.limit + 1
        where += " " + tr._("(page %(page)d of %(pages)d: `%(cmd)s`)", page=number, pages=pages, cmd=cmd)
    return where


def render_list(page: OfferPage, status: OfferStatus | None, *, tr: Translator) -> Reply:
    title = tr._("Offers") if status is None else tr._("Offers: %(status)s", status=status_label(status, tr))
    if page.total == 0:
        what = _empty_list(status, tr)
        return Reply(text=what, blocks=[section(what)])
    if not page.offers:
        what = tr.ngettext(
            "Page out of range: there is %(n)d offer.",
            "Page out of range: there are %(n)d offers.",
            page.total,
        )
        return Reply(text=what, blocks=[section(what)])
    blocks: list[Block] = [header(title)]
    blocks += sections("", [offer_line(o, tr) for o in page.offers])  # as many sections as the text needs
    where = _where_in_list(page, status, tr)
    blocks.append(context(where + " · " + tr._("`/offer-status <offer>` shows one offer")))
    blocks += _page_buttons(page, status, tr)
    first, last = page.offset + 1, page.offset + len(page.offers)
    where = tr._("%(first)d–%(last)d of %(total)d", first=first, last=last, total=page.total)
    text = tr._("%(label)s: %(text)s", label=title, text=where)
    return Reply(text=text, blocks=blocks)


# --- lookups that did not find exactly one offer ---------------------------------------------


def _several(lookup: Lookup, q: str, tr: Translator) -> Reply:
    lines = [offer_line(o, tr) for o in lookup.matches[:10]]
    title = tr._("Several offers match *%(query)s*. Which one?", query=q)
    if len(lookup.matches) > 10:
        title = tr._(
            "Several offers match *%(query)s* (showing the first 10: type more of the name). Which one?",
            query=q,
        )
    hint = tr._("Type `/offer-status <offer id>` for one of them.")
    blocks = [*sections(title, lines), context(hint)]
    return Reply(text=tr._("Several offers match %(query)s", query=q), blocks=blocks)


def render_lookup(lookup: Lookup, *, tr: Translator) -> Reply:
    q = esc(truncate(lookup.query, 100))
    if lookup.too_short:
        text = tr._(
            "No offer has the id `%(query)s`. Type at least %(min)d characters of an offer's id or name.",
            query=q,
            min=MIN_PARTIAL,
        )
        return Reply(text=text, blocks=[section(text)])
    if lookup.matches:
        return _several(lookup, q, tr)
    text = tr._("No offer matches *%(query)s*.", query=q)
    if lookup.suggestions:
        names = ", ".join(f"*{esc(o.name)}* (`{esc(o.offer_id)}`)" for o in lookup.suggestions)
        text += " " + tr._("Did you mean %(names)s?", names=names)
    else:
        text += " " + tr._("`/offer-status list` shows every offer.")
    return Reply(text=text, blocks=[section(text)])


# --- help and errors --------------------------------------------------------------------------


def help_lines(tr: Translator) -> list[str]:
    filters = ", ".join(f"`{w}`" for w in status_filter_words())
    return [
        tr._("*offerbot* tells you where your Azure Marketplace and AppSource offers are in publishing."),
        tr._(
            "`/offer-status <offer>`: an offer's status, its publishing steps and unresolved issues. "
            "Give the offer id or part of its id or name."
        ),
        tr._(
            "`/offer-status list [status]`: every offer with its status, like Partner Center's All offers "
            "page (`/offer-status` alone does the same). Statuses: %(filters)s.",
            filters=filters,
        ),
        tr._(
            "`/offer-status history <offer> [page N]`: what happened to the offer, newest first: status "
            "changes, who took or snoozed its alerts, and where its alerts went."
        ),
        *_alert_help_lines(tr),
        tr._("`/offer-status help`: this help."),
    ]


def _alert_help_lines(tr: Translator) -> list[str]:
    return [
        tr._(
            "*Alerts* (when an offer fails, is delisted or awaits your sign-off, or a step runs twice "
            "Microsoft's estimate):"
        ),
        tr._(
            "`/offer-status subscribe <offer | publisher:<id> | all> [failed] [delisted] [signoff] [stuck]`: "
            "alerts in this channel (every event unless you name some); invite me to the channel "
            "first."
        ),
        tr._(
            "`/offer-status unsubscribe <offer | publisher:<id> | all> [events]` and "
            "`/offer-status subscriptions`."
        ),
        tr._(
            "`/offer-status notify-me <offer | publisher:<id> | all> [events]`: alerts by direct message. "
            "The people in an offer's notification e-mails get them without asking; "
            "`/offer-status mute-me <offer | publisher:<id> | all>` stops them for you."
        ),
        tr._(
            "`/offer-status settings threading on|off`: follow-ups in the alert's thread (default) "
            "or as new messages."
        ),
        tr._(
            "`/offer-status settings language fr|en`: the language of this channel's alerts. Answers "
            "to you and your direct messages follow your Slack language."
        ),
        tr._(
            "`/offer-status digest`: a summary of this channel's offers (of yours in a direct message); "
            "`/offer-status settings digest HH:MM [time zone] | off` posts it here every day."
        ),
    ]


def render_help(*, tr: Translator) -> Reply:
    lines = help_lines(tr)
    return Reply(text="\n".join(lines), blocks=[section("\n".join(lines))])


def error_text(error: OfferbotError, tr: Translator) -> str:
    """A user's mistake, in their language: its message is offerbot's own text (marked where it was
    raised), its values are what the user typed or the data, escaped."""
    params = {name: esc(value) if isinstance(value, str) else value for name, value in error.params.items()}
    return tr._(error.message, **params)


def render_error(error: OfferbotError, *, tr: Translator) -> Reply:
    text = f":warning: {error_text(error, tr)}"
    return Reply(text=text, blocks=[section(text)])


def render_cannot_post(error: str, *, tr: Translator) -> Reply:
    """What to do when Slack will not let the bot post in the channel being subscribed."""
    fix = fix_for(error)
    if fix in (Fix.INVITE, Fix.INVITE_OR_ANOTHER_CHANNEL):
        text = tr._(
            "I can't post in this channel yet, so I did not subscribe it. Invite me with "
            "`/invite @offerbot`, then run the same command again."
        )
    elif fix is Fix.UNARCHIVED_CHANNEL:
        text = tr._("This channel is archived: subscribe another channel.")
    else:
        text = tr._(
            "Slack would not let me post here (`%(error)s`), so I did not subscribe it.", error=esc(error)
        )
    return Reply(text=f":warning: {text}", blocks=[section(f":warning: {text}")])

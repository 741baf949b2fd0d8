"""Pure Block Kit renderers: stored offers in, message dicts out. No client, session or clock here.

Every text that comes from data passes through :func:`esc` (or is stored safe text, see
``storage.safetext``), so nothing from an import can mention anyone or inject a link.
Limits respected: 50 blocks a message, 3,000 characters a section text, 10 fields of 2,000.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.i18n import N_, Translator
from bot.render.blocks import (
    Block,
    Reply,
    cap_blocks,
    context,
    divider,
    esc,
    header,
    mrkdwn_field,
    safe,
    section,
    sections,
    slack_date,
    titled,
    truncate,
)
from bot.render.forecast import forecast_text
from bot.render.golive_button import go_live_button, go_live_issue_lines, publish_lines
from bot.render.labels import (
    SYNC_STEP_LABELS,
    offer_type_label,
    status_emoji,
    status_label,
    step_emoji,
    step_label,
)
from storage.models import Message, Offer, Step
from storage.reads.offers import OfferCard
from storage.statuses import (
    SUBMITTED_FORMAT,
    SYNC_FEED,
    MessageLevel,
    OfferStatus,
    OfferType,
    StepState,
    SyncStep,
)


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


def refusal_note(card: OfferCard, tr: Translator) -> str | None:
    """Not read any more: Microsoft refuses the stored connection that reads it."""
    if card.refused is None:
        return None
    last = card.offer.observed_at or card.refused.since
    return ":warning: " + tr._(
        "Not read since %(when)s: Microsoft refuses the connection *%(name)s* (since %(since)s). "
        "A workspace admin can fix it from the Home tab.",
        when=slack_date(last, tr),
        name=esc(card.refused.connection),
        since=slack_date(card.refused.since, tr),
    )


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
    lines = [issue_line(m, card, tr) for m in issues] + go_live_issue_lines(card, tr)
    if lines:
        blocks += sections(f"*{issues_title(len(lines), tr)}*", lines)
    if missing or not lines:
        blocks.append(section(titled(tr._("Unresolved issues"), missing or tr._("None."))))
    notes = (
        refusal_note(card, tr),
        forecast_text(card.forecast, tr),
        links_line(offer, tr),
        source_note(offer, tr),
    )
    for note in notes:
        if note:
            blocks.append(context(note))
    blocks += publish_lines(card, tr)
    button = go_live_button(card, tr)
    if button:
        blocks.append({"type": "actions", "elements": button})
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


# --- lookups that did not find exactly one offer ---------------------------------------------


# --- help and errors --------------------------------------------------------------------------

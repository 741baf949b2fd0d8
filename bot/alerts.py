"""Pure renderers for alerts, follow-ups, reminders and notices: stored rows in, Block Kit out."""

from __future__ import annotations

from datetime import datetime

from bot.labels import status_emoji, status_label, step_label
from bot.render import (
    Block,
    Reply,
    cap_blocks,
    context,
    esc,
    issue_line,
    mrkdwn_field,
    partner_center_url,
    section,
    slack_date,
    type_label,
    unresolved,
)
from bot.slack_errors import Fix, fix_for
from storage.models import Step, Subscription
from storage.policy import may_be_normal
from storage.queries import OfferCard
from storage.statuses import OfferStatus, StepState

OPEN_STATUS_ACTION = "open_offer_status"
PARTNER_CENTER_ACTION = "open_partner_center"
CONSULTING_NOTE = (
    "For consulting services this state can be part of the normal process while Microsoft edits the "
    "offer: act on it if the issue below is yours to fix."
)


def _label(status: str | None) -> str:
    return status_label(status) if status else "new"


def _step_in_focus(card: OfferCard) -> Step | None:
    """The step that failed or waits: the first rejected, blocked or waiting-for-you step."""
    for step in card.steps:
        if StepState(step.status).needs_attention:
            return step
    return None


def next_action(card: OfferCard, status: str) -> str:
    """What the publisher should do now, in one sentence."""
    if status == OfferStatus.SIGNOFF.value:
        return "Preview the offer and select *Go live* in Partner Center."
    if status == OfferStatus.DELISTED.value:
        return (
            "The offer is no longer available in the marketplace: check Partner Center for the reason, "
            "then publish again to list it."
        )
    if status == OfferStatus.FAILED.value:
        texts = " ".join(m.text.lower() for m in unresolved(card))
        if "lead" in texts:
            return "Fix the lead management settings and publish again."
        if "pullrequest" in texts or "review" in texts:
            return "Resolve the review issue (see its link) and publish again."
        return "Fix the issues listed and publish again."
    if status == OfferStatus.LIVE.value:
        return "Nothing: the offer is live."
    if status == OfferStatus.CANCELED.value:
        return "Publish again when you are ready."
    return "Nothing for now: publishing goes on."


def _buttons(card: OfferCard) -> Block:
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Show status"},
                "action_id": OPEN_STATUS_ACTION,
                "value": str(card.offer.id),
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Open Partner Center"},
                "action_id": PARTNER_CENTER_ACTION,
                "url": partner_center_url(card.offer),
            },
        ],
    }


def render_alert(
    card: OfferCard, *, old_status: str | None, new_status: str, current_status: str | None = None
) -> Reply:
    """The first alert about a change; ``current_status`` (when it moved on since) re-renders it in place."""
    offer = card.offer
    shown = current_status or new_status
    status = OfferStatus(shown)
    title = f"{status_emoji(status)} *{esc(offer.name)}*: {status_label(status)}"
    fields: list[str] = [
        f"*Status*\n{status_label(status)} (was {_label(old_status if shown == new_status else new_status)})",
        f"*Type*\n{esc(type_label(offer))}",
        f"*Publisher*\n{esc(offer.publisher_id)}",
        f"*Offer id*\n{esc(offer.offer_id)}",
    ]
    focus = _step_in_focus(card)
    if focus is not None:
        fields.append(f"*Step*\n{esc(focus.name)} ({step_label(focus.status)})")
    blocks: list[Block] = [
        section(title),
        {"type": "section", "fields": [mrkdwn_field(f) for f in fields]},
    ]
    if may_be_normal(card.offer.offer_type, shown):
        blocks.append(context(f":information_source: {CONSULTING_NOTE}"))
    issues = unresolved(card)
    if issues:
        lines = [issue_line(m, card.steps) for m in issues]
        text = f"*Issues ({len(issues)})*\n" + "\n".join(lines)
        blocks.append(section(text))
    blocks.append(section(f"*What to do next:* {next_action(card, shown)}"))
    links = [f"<{u}|Preview>" for u in offer.preview_links] + [f"<{u}|Live>" for u in offer.live_links]
    if links:
        blocks.append(context(" · ".join(links)))
    if current_status and current_status != new_status:
        blocks.append(context(f"First alerted as {status_label(new_status)}; updated as the offer moves."))
    blocks.append(_buttons(card))
    was = _label(old_status if shown == new_status else new_status)
    text = f"{esc(offer.name)}: {status_label(status)} (was {was})"
    return Reply(text=text, blocks=cap_blocks(blocks, "More in Partner Center."))


def render_followup(card: OfferCard, *, old_status: str | None, new_status: str, since: datetime) -> Reply:
    """A later change of an alerted offer, posted in the alert's thread."""
    status = OfferStatus(new_status)
    line = (
        f"{status_emoji(status)} *{esc(card.offer.name)}* is now *{status_label(status)}* "
        f"(was {_label(old_status)}), {slack_date(since)}."
    )
    blocks: list[Block] = [section(line)]
    if may_be_normal(card.offer.offer_type, new_status):
        blocks.append(context(f":information_source: {CONSULTING_NOTE}"))
    if new_status in (OfferStatus.FAILED.value, OfferStatus.SIGNOFF.value, OfferStatus.DELISTED.value):
        issues = unresolved(card)
        if issues:
            blocks.append(section("\n".join(issue_line(m, card.steps) for m in issues)))
        blocks.append(section(f"*What to do next:* {next_action(card, new_status)}"))
    text = f"{esc(card.offer.name)} is now {status_label(status)} (was {_label(old_status)})"
    return Reply(text=text, blocks=cap_blocks(blocks, "More in Partner Center."))


def render_reminder(card: OfferCard, *, status: str, since: datetime) -> Reply:
    s = OfferStatus(status)
    line = (
        f":bell: Reminder: *{esc(card.offer.name)}* is still *{status_label(s)}*, since {slack_date(since)}. "
        f"{next_action(card, status)}"
    )
    text = f"Reminder: {esc(card.offer.name)} is still {status_label(s)}"
    return Reply(text=text, blocks=[section(line), _buttons(card)])


_FIXES: dict[Fix | None, str] = {
    Fix.INVITE: "invite me to the channel (`/invite @offerbot`)",
    Fix.INVITE_OR_ANOTHER_CHANNEL: "invite me to the channel, or subscribe another channel",
    Fix.UNARCHIVED_CHANNEL: "subscribe a channel that is not archived",
    Fix.REINSTALL_FROM_MANIFEST: "ask a Slack admin to reinstall the app from its manifest",
    Fix.REINSTALL: "ask a Slack admin to reinstall the app",
}


def render_disabled_notice(sub: Subscription, *, what: str, reason: str) -> Reply:
    """The DM to whoever created a subscription that Slack made impossible to deliver."""
    where = f"<#{sub.destination}>" if sub.destination_kind == "channel" else "your direct messages"
    fix = _FIXES.get(fix_for(reason), "check the app's installation")
    line = (
        f":warning: I stopped posting alerts for {esc(what)} to {where}: Slack answered `{esc(reason)}`. "
        f"To turn them on again, {fix}, then run `/offer-status subscribe` there again."
    )
    return Reply(text=line, blocks=[section(line)])

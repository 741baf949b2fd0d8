"""*Go live*: the confirmation modal, and the messages of its thread (requested, then live or failed
with Microsoft's errors). The button and the line an offer shows are in ``golive_button``."""

from __future__ import annotations

import json
from typing import Any

from bot.i18n import Translator
from bot.render.blocks import Block, Reply, context, esc, modal, section, slack_date, titled, truncate
from bot.render.golive_button import error_lines
from bot.render.offers import type_label
from bot.usecases.cancel import CancelAsked, CancelTarget
from bot.usecases.golive import LABELS, GoLiveTarget, Outcome, Requested
from storage.statuses import PublishApi, PublishKind, PublishState

GO_LIVE_CALLBACK = "offer_go_live_confirm"
CANCEL_CALLBACK = "offer_cancel_publish_confirm"
MAX_METADATA = 3000
"""Slack's limit for a view's ``private_metadata``."""


def _metadata(target: GoLiveTarget, *, channel: str, ts: str) -> str:
    data = {"o": target.card.offer.id, "s": target.submission_id, "c": channel, "t": ts}
    return json.dumps(data, separators=(",", ":"))[:MAX_METADATA]


def render_waiting_modal(*, tr: Translator, sending: bool = False) -> dict[str, Any]:
    """Opened at once on the click (its trigger expires in 3 seconds) while Microsoft is asked which
    preview would go live; ``sending``: in the confirmation's place while the request is sent."""
    if sending:
        line = tr._(":hourglass_flowing_sand: Sending the request to Microsoft…")
    else:
        line = tr._(":hourglass_flowing_sand: Asking Microsoft which preview would go live…")
    return modal(tr._("Go live"), [section(line)], close=tr._("Close"))


def render_message_modal(reply: Reply, *, tr: Translator) -> dict[str, Any]:
    """What happened (an error, or the request sent), in place of the confirmation."""
    return modal(tr._("Go live"), reply.blocks[:50], close=tr._("Close"))


def _question(target: GoLiveTarget, tr: Translator) -> Block:
    offer = target.card.offer
    question = tr._("Publish *%(offer)s* (`%(id)s`) live?", offer=esc(offer.name), id=esc(offer.offer_id))
    fields = [
        titled(tr._("Type"), esc(type_label(offer, tr))),
        titled(tr._("Publisher"), esc(offer.publisher_id)),
    ]
    if target.preview is not None:
        created = slack_date(target.preview.created, tr) if target.preview.created else tr._("unknown")
        fields.append(titled(tr._("Preview submission"), f"`{esc(target.submission_id)}`"))
        fields.append(titled(tr._("Submitted"), created))
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": question},
        "fields": [{"type": "mrkdwn", "text": f} for f in fields],
    }


def render_confirm_modal(
    target: GoLiveTarget, *, tr: Translator, channel: str, ts: str, newer: bool = False
) -> dict[str, Any]:
    """The confirmation: the offer, its type, the preview submission promoted (id and date), the
    preview's links, and that going live cannot be undone from Slack. ``newer``: a newer preview
    appeared since the first confirmation, and this one asks again."""
    offer = target.card.offer
    blocks: list[Block] = []
    if newer:
        blocks.append(
            section(
                tr._(":warning: A newer preview appeared since you opened this: confirm this one, or close.")
            )
        )
    blocks.append(_question(target, tr))
    preview = tr._("Preview")
    links = [f"<{url}|{preview}>" for url in offer.preview_links[:5]]
    if links:
        blocks.append(context(" · ".join(links)))
    warning = tr._(
        ":warning: %(api)s publishes the preview to the marketplace. Going live cannot be undone from Slack.",
        api=LABELS[target.api],
    )
    blocks.append(section(warning))
    view = modal(tr._("Go live"), blocks, submit=tr._("Go live"), close=tr._("Cancel"))
    view["callback_id"] = GO_LIVE_CALLBACK
    view["private_metadata"] = _metadata(target, channel=channel, ts=ts)
    return view


def render_requested(requested: Requested, *, tr: Translator) -> Reply:
    """In the alert's thread (or the requester's DM): the request is on its way."""
    offer, request = requested.card.offer, requested.request
    line = tr._(
        ":rocket: <@%(user)s> asked %(api)s to publish *%(offer)s* live. I will say here how it ends.",
        user=request.requested_by,
        api=LABELS[PublishApi(request.api)],
        offer=esc(offer.name),
    )
    return Reply(text=line, blocks=[section(line)])


def render_cancel_modal(target: CancelTarget, *, tr: Translator, channel: str, ts: str) -> dict[str, Any]:
    """The confirmation of *Cancel publish*: the offer and the publish it stops."""
    offer, request = target.card.offer, target.request
    if request is not None:
        what = tr._(
            "Cancel publishing *%(offer)s* (`%(id)s`) live, as <@%(user)s> asked at %(when)s?",
            offer=esc(offer.name),
            id=esc(offer.offer_id),
            user=request.requested_by,
            when=slack_date(request.requested_at, tr),
        )
    else:
        what = tr._(
            "Cancel the publish of *%(offer)s* (`%(id)s`) in progress in the Cloud Partner Portal?",
            offer=esc(offer.name),
            id=esc(offer.offer_id),
        )
    note = tr._("Microsoft stops the publish where it is; the offer stays as it was before it.")
    view = modal(
        tr._("Cancel publish"),
        [section(what), context(note)],
        submit=tr._("Cancel publish"),
        close=tr._("Close"),
    )
    view["callback_id"] = CANCEL_CALLBACK
    data = {"o": offer.id, "r": request.id if request is not None else 0, "c": channel, "t": ts}
    view["private_metadata"] = json.dumps(data, separators=(",", ":"))
    return view


def render_cancel_asked(asked: CancelAsked, *, user_id: str, tr: Translator) -> Reply:
    """The cancel is on its way (the thread says how it ends)."""
    line = tr._(
        ":no_entry_sign: <@%(user)s> asked Microsoft to cancel the publish of *%(offer)s*. I will say how "
        "it ends.",
        user=user_id,
        offer=esc(asked.card.offer.name),
    )
    return Reply(text=line, blocks=[section(line)])


def render_outcome(outcome: Outcome, *, tr: Translator) -> Reply:
    """In the alert's thread (or the requester's DM): how the request ended."""
    offer, request = outcome.card.offer, outcome.request
    name = esc(offer.name)
    if request.kind == PublishKind.CANCEL:
        if request.state == PublishState.SUCCEEDED:
            line = tr._(":no_entry_sign: The publish of *%(offer)s* was cancelled.", offer=name)
        else:
            line = tr._(
                ":x: Cancelling the publish of *%(offer)s* did not work: it may still run.", offer=name
            )
        errors = error_lines(request.errors, tr)
        return Reply(
            text=line, blocks=[section(line), *([section(truncate(errors, 2900))] if errors else [])]
        )
    if request.state == PublishState.SUCCEEDED:
        line = tr._(
            ":white_check_mark: *%(offer)s* was published live, as <@%(user)s> asked: the next sync "
            "confirms it.",
            offer=name,
            user=request.requested_by,
        )
        return Reply(text=line, blocks=[section(line)])
    if request.state == PublishState.CANCELLED:
        line = tr._(":no_entry_sign: Publishing *%(offer)s* live was cancelled.", offer=name)
        return Reply(text=line, blocks=[section(line)])
    if not request.job:
        line = tr._(
            ":x: Whether *%(offer)s* went live is unknown (the request was cut off): check it in "
            "Partner Center.",
            offer=name,
        )
        return Reply(text=line, blocks=[section(line)])
    line = tr._(":x: Publishing *%(offer)s* live failed.", offer=name)
    errors = error_lines(request.errors, tr) or tr._(
        "Microsoft gave no reason: look at the offer in Partner Center."
    )
    return Reply(text=line, blocks=[section(line), section(truncate(errors, 2900))])

"""What an offer shows of *Go live*: its button, and the line an alert and a card show while a
request runs or after it failed (the modal and the thread's messages are in ``golive``)."""

from __future__ import annotations

from bot.i18n import Translator
from bot.render.blocks import Block, context, safe, slack_date
from bot.usecases.cancel import cancellable
from bot.usecases.golive import APIS, active_of
from storage.publishing import PublishRequest
from storage.reads.offers import OfferCard
from storage.statuses import ACTIVE_PUBLISH, OfferStatus, PublishKind, PublishState

GO_LIVE_ACTION = "offer_go_live"
CANCEL_ACTION = "offer_cancel_publish"


def may_offer_go_live(card: OfferCard) -> bool:
    """The button is shown: the operator turned it on, the offer awaits sign-off, it comes from
    Partner Center or the Cloud Partner Portal, and no request is on its way."""
    offer = card.offer
    waiting = offer.status == OfferStatus.SIGNOFF and offer.feed in APIS
    return card.go_live and waiting and active_of(card) is None


def go_live_button_of(pk: str, tr: Translator) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": tr._("Go live")},
        "action_id": GO_LIVE_ACTION,
        "value": pk,
        "style": "primary",
    }


def go_live_button(card: OfferCard, tr: Translator) -> list[Block]:
    """*Go live* when it may be offered, then *Cancel publish* when Microsoft offers a cancel."""
    found = [go_live_button_of(str(card.offer.id), tr)] if may_offer_go_live(card) else []
    if card.go_live and cancellable(card):
        found.append(
            {
                "type": "button",
                "text": {"type": "plain_text", "text": tr._("Cancel publish")},
                "action_id": CANCEL_ACTION,
                "value": str(card.offer.id),
                "style": "danger",
            }
        )
    return found


def error_lines(errors: list[str], tr: Translator) -> str:
    if not errors:
        return ""
    shown = "\n".join(f"• {safe(e)}" for e in errors[:10])
    more = len(errors) - 10
    return shown + ("\n" + tr._("… and %(n)d more", n=more) if more > 0 else "")


def _failed(card: OfferCard) -> bool:
    """offerbot's *Go live* failed with Microsoft's answer, since the offer's status last moved."""
    request = card.publish
    return (
        request is not None
        and request.kind == PublishKind.GO_LIVE
        and request.state == PublishState.FAILED
        and bool(request.job)
        and request.finished_at is not None
        and request.finished_at >= card.offer.status_changed_at
    )


def go_live_issue_lines(card: OfferCard, tr: Translator) -> list[str]:
    """The failed job's errors, as unresolved issues of the offer (until its status moves on)."""
    if not _failed(card) or card.publish is None:
        return []
    label = tr._("*Go live:*")
    return [f":red_circle: {label} {safe(e)}" for e in card.publish.errors[:10]]


def publish_lines(card: OfferCard, tr: Translator) -> list[Block]:
    """While a request runs: "Going live, requested by @pat at …"; after a request failed, until
    the offer's status moves on, why it failed."""
    request = card.publish
    if request is None:
        return []
    when = slack_date(request.requested_at, tr)
    if request.state in ACTIVE_PUBLISH and request.kind == PublishKind.CANCEL:
        line = tr._(
            ":no_entry_sign: Cancelling the publish, requested by <@%(user)s> at %(when)s.",
            user=request.requested_by,
            when=when,
        )
        return [context(line)]
    if request.state in ACTIVE_PUBLISH:
        line = tr._(
            ":rocket: Going live, requested by <@%(user)s> at %(when)s.", user=request.requested_by, when=when
        )
        if request.cancel_by:
            line += " " + tr._("<@%(user)s> asked to cancel it.", user=request.cancel_by)
        return [context(line)]
    return _ended_lines(card, request, when, tr)


def _ended_lines(card: OfferCard, request: PublishRequest, when: str, tr: Translator) -> list[Block]:
    """After a *Go live* failed, until the offer's status moves on: that it did (its errors are
    among the unresolved issues), or that whether Microsoft got it is unknown."""
    ended = request.finished_at
    if request.state != PublishState.FAILED or request.kind == PublishKind.CANCEL:
        return []
    if ended is None or ended < card.offer.status_changed_at:
        return []
    if not request.job:  # its answer never came: it may have started
        unknown = tr._(
            ":grey_question: Go live, requested by <@%(user)s> at %(when)s: whether Microsoft got it is "
            "unknown. Check the offer in Partner Center before you try again.",
            user=request.requested_by,
            when=when,
        )
        return [context(unknown)]
    line = tr._(
        ":x: Go live, requested by <@%(user)s> at %(when)s, did not publish the offer.",
        user=request.requested_by,
        when=when,
    )
    if not request.errors:
        line += " " + tr._("Microsoft gave no reason: look at the offer in Partner Center.")
    return [context(line)]

"""Pure renderers for alerts, follow-ups, reminders and notices: stored rows in, Block Kit out."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.i18n import N_, Translator
from bot.render.blocks import (
    Block,
    Reply,
    cap_blocks,
    context,
    esc,
    mrkdwn_field,
    section,
    slack_date,
    titled,
)
from bot.render.golive_button import go_live_button, go_live_issue_lines, publish_lines
from bot.render.labels import status_emoji, status_label, step_label
from bot.render.offers import (
    issue_line,
    links_line,
    missing_reason,
    partner_center_url,
    step_name,
    type_label,
    unresolved,
)
from bot.render.subscriptions import describe
from bot.usecases.subscriptions import About
from bot.usecases.testalert import TEST_VALUE_PREFIX
from bot.usecases.work import AlertView
from storage.alerts.policy import ALERT_EVENTS, may_be_normal
from storage.alerts.work import Handling
from storage.models import Step, Subscription
from storage.reads.offers import OfferCard
from storage.slack_codes import Fix, fix_for
from storage.statuses import DestinationKind, OfferStatus, StepState

REMINDED = frozenset(s.value for s in ALERT_EVENTS)
"""Statuses whose alert people work on (*I'm on it*, *Snooze*): the ones that alert."""
OPEN_STATUS_ACTION = "open_offer_status"
PARTNER_CENTER_ACTION = "open_partner_center"
ON_IT_ACTION = "alert_on_it"
SNOOZE_ACTION = "alert_snooze"
MUTE_ACTION = "alert_mute_offer"
SNOOZE_CHOICES: dict[str, tuple[int, str]] = {
    "1h": (1, N_("1 hour")),
    "4h": (4, N_("4 hours")),
    "1d": (24, N_("1 day")),
    "1w": (168, N_("1 week")),
}
"""The *Snooze* menu: option value suffix -> (hours, label)."""
CONSULTING_NOTE = N_(
    "For consulting services this state can be part of the normal process while Microsoft edits the "
    "offer: act on it if the issue below is yours to fix."
)


def _label(status: str | None, tr: Translator) -> str:
    return status_label(status, tr) if status else tr._("new")


def _step_in_focus(card: OfferCard) -> Step | None:
    """The step that failed or waits: the first rejected, blocked or waiting-for-you step."""
    for step in card.steps:
        if StepState(step.status).needs_attention:
            return step
    return None


def _failed_action(card: OfferCard, tr: Translator) -> str:
    texts = " ".join(m.text.lower() for m in unresolved(card))
    if "lead" in texts:
        return tr._("Fix the lead management settings and publish again.")
    if "pullrequest" in texts or "review" in texts:
        return tr._("Resolve the review issue (see its link) and publish again.")
    return tr._("Fix the issues listed and publish again.")


GOES_ON = N_("Nothing for now: publishing goes on.")
_NEXT_ACTIONS = {
    OfferStatus.SIGNOFF: N_("Preview the offer and select *Go live* in Partner Center."),
    OfferStatus.DELISTED: N_(
        "The offer is no longer available in the marketplace: check Partner Center for the reason, "
        "then publish again to list it."
    ),
    OfferStatus.LIVE: N_("Nothing: the offer is live."),
    OfferStatus.CANCELED: N_("Publish again when you are ready."),
}


def next_action(card: OfferCard, status: str, tr: Translator) -> str:
    """What the publisher should do now, in one sentence."""
    if status == OfferStatus.FAILED.value:
        return _failed_action(card, tr)
    return tr._(_NEXT_ACTIONS.get(OfferStatus(status), GOES_ON))


def _button(text: str, action_id: str, value: str) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }


def snooze_menu(pk: str, tr: Translator, *, prefix: str = "") -> Block:
    return {
        "type": "static_select",
        "action_id": SNOOZE_ACTION,
        "placeholder": {"type": "plain_text", "text": tr._("Snooze")},
        "options": [
            {"text": {"type": "plain_text", "text": tr._(label)}, "value": f"{prefix}{pk}:{key}"}
            for key, (_hours, label) in SNOOZE_CHOICES.items()
        ],
    }


def _buttons(
    card: OfferCard, tr: Translator, *, work: bool = True, direct: bool = False, test: bool = False
) -> Block:
    """*Show status*, *Open Partner Center*; on alerts and reminders also *I'm on it* and *Snooze*,
    and in a direct message *Mute this offer*. ``test``: the work buttons carry the test prefix (a
    click says what it would do, and records nothing)."""
    pk = str(card.offer.id)
    elements: list[Block] = [
        _button(tr._("Show status"), OPEN_STATUS_ACTION, pk),
        {
            "type": "button",
            "text": {"type": "plain_text", "text": tr._("Open Partner Center")},
            "action_id": PARTNER_CENTER_ACTION,
            "url": partner_center_url(card.offer),
        },
    ]
    prefix = TEST_VALUE_PREFIX if test else ""
    if not test:
        elements[1:1] = go_live_button(card, tr)
    if work:
        elements += [
            _button(tr._("I'm on it"), ON_IT_ACTION, prefix + pk),
            snooze_menu(pk, tr, prefix=prefix),
        ]
    if direct:
        elements.append(_button(tr._("Mute this offer"), MUTE_ACTION, pk))
    return {"type": "actions", "elements": elements}


TAKERS_SHOWN = 10


def render_already_on_it(*, tr: Translator) -> Reply:
    line = tr._("You are already on this alert: nothing changed.")
    return Reply(text=line, blocks=[section(line)])


def handling_lines(handling: Handling | None, tr: Translator) -> list[Block]:
    """Who is on the alert and until when it is snoozed, under the alert: one context block (the
    first :data:`TAKERS_SHOWN` takers with their time, then how many more), so the alert keeps its
    buttons however many people click."""
    if handling is None:
        return []
    lines = [
        tr._(
            ":raising_hand: <@%(user)s> is on it since %(when)s.",
            user=t.user_id,
            when=slack_date(t.since, tr),
        )
        for t in handling.takers[:TAKERS_SHOWN]
    ]
    if len(handling.takers) > TAKERS_SHOWN:
        lines.append(tr._("… and %(n)d more", n=len(handling.takers) - TAKERS_SHOWN))
    if handling.snoozed_until is not None:
        lines.append(
            tr._(
                ":zzz: Snoozed until %(when)s by <@%(user)s>.",
                when=slack_date(handling.snoozed_until, tr),
                user=handling.snoozed_by or "",
            )
        )
    return [context("\n".join(lines))] if lines else []


def _consulting(card: OfferCard, status: str, tr: Translator) -> list[Block]:
    if may_be_normal(card.offer.offer_type, status):
        return [context(":information_source: " + tr._(CONSULTING_NOTE))]
    return []


def _alert_fields(card: OfferCard, status: OfferStatus, was: str, tr: Translator) -> Block:
    offer = card.offer
    fields: list[str] = [
        titled(tr._("Status"), tr._("%(status)s (was %(was)s)", status=status_label(status, tr), was=was)),
        titled(tr._("Type"), esc(type_label(offer, tr))),
        titled(tr._("Publisher"), esc(offer.publisher_id)),
        titled(tr._("Offer id"), esc(offer.offer_id)),
    ]
    focus = _step_in_focus(card)
    if focus is not None:
        focused = f"{step_name(offer, focus, tr)} ({step_label(focus.status, tr)})"
        fields.append(titled(tr._("Step"), focused))
    return {"type": "section", "fields": [mrkdwn_field(f) for f in fields]}


def _issues_block(card: OfferCard, tr: Translator, *, titled: bool) -> list[Block]:
    issues = unresolved(card)
    missing = missing_reason(card, issues, tr)
    found = [issue_line(m, card, tr) for m in issues] + go_live_issue_lines(card, tr)
    if not found:
        return [section(missing)] if missing else []
    lines = "\n".join(found)
    if titled:
        title = tr.ngettext("Issue (%(n)d)", "Issues (%(n)d)", len(found))
        lines = f"*{title}*\n{lines}"
    return [section(lines)]


def _next_block(card: OfferCard, status: str, tr: Translator) -> Block:
    return section(tr._("*What to do next:* %(action)s", action=next_action(card, status, tr)))


def render_alert(
    card: OfferCard,
    *,
    old_status: str | None,
    new_status: str,
    tr: Translator,
    current_status: str | None = None,
    handling: Handling | None = None,
    direct: bool = False,
) -> Reply:
    """The first alert about a change; ``current_status`` (when it moved on since) re-renders it in
    place, with ``handling`` (who is on it, a snooze) when people work on it; ``direct``: a DM."""
    offer = card.offer
    shown = current_status or new_status
    status = OfferStatus(shown)
    was = _label(old_status if shown == new_status else new_status, tr)
    title = tr._("*%(offer)s*: %(status)s", offer=esc(offer.name), status=status_label(status, tr))
    links = links_line(offer, tr)
    moved = tr._(
        "First alerted as %(status)s; updated as the offer moves.", status=status_label(new_status, tr)
    )
    blocks: list[Block] = [
        section(f"{status_emoji(status)} {title}"),
        _alert_fields(card, status, was, tr),
        *_consulting(card, shown, tr),
        *_issues_block(card, tr, titled=True),
        _next_block(card, shown, tr),
        *([context(links)] if links else []),
        *([context(moved)] if current_status and current_status != new_status else []),
        *handling_lines(handling, tr),
        *publish_lines(card, tr),
        _buttons(card, tr, work=shown in REMINDED, direct=direct),
    ]
    text = tr._(
        "%(offer)s: %(status)s (was %(was)s)", offer=esc(offer.name), status=status_label(status, tr), was=was
    )
    return Reply(text=text, blocks=cap_blocks(blocks, tr._("More in Partner Center.")))


def render_alert_view(view: AlertView, *, tr: Translator, go_live: bool) -> Reply:
    """An alert drawn again where it is (after a click, a *Go live* request or its end)."""
    return render_alert(
        replace(view.card, go_live=go_live),
        old_status=view.old_status,
        new_status=view.new_status,
        current_status=view.current_status,
        tr=tr,
        handling=view.handling,
        direct=view.direct,
    )


def render_test_alert(card: OfferCard, *, old_status: str | None, tr: Translator) -> Reply:
    """A test alert (``/offer-status test-alert``): the offer's alert as it would read now, marked as
    a test at its top and in its notification text, with every button."""
    offer = card.offer
    status = OfferStatus(offer.status)
    banner = tr._(
        ":test_tube: *Test alert*, asked for with `/offer-status test-alert`: this is how offerbot alerts "
        "this channel. Nothing happened to this offer; *I'm on it* and *Snooze* only say what they do."
    )
    title = tr._("*%(offer)s*: %(status)s", offer=esc(offer.name), status=status_label(status, tr))
    links = links_line(offer, tr)
    blocks: list[Block] = [
        context(banner),
        section(f"{status_emoji(status)} {title}"),
        _alert_fields(card, status, _label(old_status, tr), tr),
        *_issues_block(card, tr, titled=True),
        _next_block(card, offer.status, tr),
        *([context(links)] if links else []),
        _buttons(card, tr, test=True),
    ]
    text = tr._("Test alert: %(offer)s: %(status)s", offer=esc(offer.name), status=status_label(status, tr))
    return Reply(text=text, blocks=cap_blocks(blocks, tr._("More in Partner Center.")))


TEST_CLICKS = {
    ON_IT_ACTION: N_(
        "This is a test alert, so nothing was recorded. On a real alert, *I'm on it* shows everyone "
        "in the channel that you took it, and stops its reminders."
    ),
    SNOOZE_ACTION: N_(
        "This is a test alert, so nothing was recorded. On a real alert, *Snooze* holds its reminders "
        "until the time you pick, and shows who snoozed it."
    ),
}


def render_test_click(action_id: str, *, tr: Translator) -> Reply:
    """The answer to *I'm on it* or *Snooze* on a test alert (only the clicker sees it)."""
    line = tr._(TEST_CLICKS.get(action_id, TEST_CLICKS[ON_IT_ACTION]))
    return Reply(text=line, blocks=[section(line)])


def render_followup(
    card: OfferCard, *, old_status: str | None, new_status: str, since: datetime, tr: Translator
) -> Reply:
    """A later change of an alerted offer, posted in the alert's thread."""
    status = OfferStatus(new_status)
    values = {
        "offer": esc(card.offer.name),
        "status": status_label(status, tr),
        "was": _label(old_status, tr),
    }
    line = tr._(
        "*%(offer)s* is now *%(status)s* (was %(was)s), %(when)s.", when=slack_date(since, tr), **values
    )
    blocks: list[Block] = [section(f"{status_emoji(status)} {line}"), *_consulting(card, new_status, tr)]
    if status in ALERT_EVENTS:
        blocks += [*_issues_block(card, tr, titled=False), _next_block(card, new_status, tr)]
    text = tr._("%(offer)s is now %(status)s (was %(was)s)", **values)
    return Reply(text=text, blocks=cap_blocks(blocks, tr._("More in Partner Center.")))


def render_reminder(
    card: OfferCard, *, status: str, since: datetime, tr: Translator, direct: bool = False
) -> Reply:
    offer, label = esc(card.offer.name), status_label(status, tr)
    line = tr._(
        "Reminder: *%(offer)s* is still *%(status)s*, since %(when)s.",
        offer=offer,
        status=label,
        when=slack_date(since, tr),
    )
    text = tr._("Reminder: %(offer)s is still %(status)s", offer=offer, status=label)
    return Reply(
        text=text,
        blocks=[section(f":bell: {line} {next_action(card, status, tr)}"), _buttons(card, tr, direct=direct)],
    )


def duration_text(span: timedelta, tr: Translator) -> str:
    """A running time as people say it: days, else hours, else minutes."""
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes >= 24 * 60:
        return tr.ngettext("%(n)d day", "%(n)d days", minutes // (24 * 60))
    if minutes >= 60:
        return tr.ngettext("%(n)d hour", "%(n)d hours", minutes // 60)
    return tr.ngettext("%(n)d minute", "%(n)d minutes", minutes)


def render_stuck(
    card: OfferCard, step: Step, *, now: datetime, tr: Translator, direct: bool = False
) -> Reply:
    """A step that has run twice Microsoft's estimate: how long, the estimate, and what to do."""
    offer = card.offer
    values = {
        "step": step_name(offer, step, tr),
        "offer": esc(offer.name),
        "for": duration_text(now - (step.status_since or now), tr),
        "estimate": esc(step.estimated_time),
    }
    if step.status == StepState.WAITING_FOR_APPROVAL.value:
        line = tr._("*%(step)s* of *%(offer)s* has been waiting for approval for %(for)s", **values)
    else:
        line = tr._("*%(step)s* of *%(offer)s* has been running for %(for)s", **values)
    line += tr._("; Microsoft estimates %(estimate)s.", estimate=values["estimate"])
    advice = tr._("Consider opening a support request in Partner Center.")
    text = f":alarm_clock: {line} {advice}"
    return Reply(text=text, blocks=[section(text), _buttons(card, tr, work=False, direct=direct)])


CHECK_INSTALLATION = N_("check the app's installation")
_FIXES: dict[Fix | None, str] = {
    Fix.INVITE: N_("invite me to the channel (`/invite @offerbot`)"),
    Fix.INVITE_OR_ANOTHER_CHANNEL: N_("invite me to the channel, or subscribe another channel"),
    Fix.UNARCHIVED_CHANNEL: N_("subscribe a channel that is not archived"),
    Fix.REINSTALL_FROM_MANIFEST: N_("ask a Slack admin to reinstall the app from its manifest"),
    Fix.REINSTALL: N_("ask a Slack admin to reinstall the app"),
}


def render_disabled_notice(sub: Subscription, *, about: About, reason: str, tr: Translator) -> Reply:
    """The DM to whoever created a subscription that Slack made impossible to deliver."""
    where = (
        f"<#{sub.destination}>"
        if sub.destination_kind == DestinationKind.CHANNEL
        else tr._("your direct messages")
    )
    fix = tr._(_FIXES.get(fix_for(reason), CHECK_INSTALLATION))
    line = tr._(
        "I stopped posting alerts for %(what)s to %(where)s: Slack answered `%(error)s`. "
        "To turn them on again, %(fix)s, then run `/offer-status subscribe` there again.",
        what=describe(about, tr),
        where=where,
        error=esc(reason),
        fix=fix,
    )
    return Reply(text=f":warning: {line}", blocks=[section(f":warning: {line}")])

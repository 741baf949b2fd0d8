"""``/offer-status history``: pure renderers of a :class:`HistoryPage` in a reader's language."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.i18n import N_, Translator
from bot.render.alerts import duration_text
from bot.render.blocks import (
    COMMAND,
    Block,
    Reply,
    context,
    esc,
    fit_blocks,
    header,
    section,
    sections,
    slack_date,
)
from bot.render.labels import status_label, step_emoji, step_label
from bot.render.offers import step_estimate, step_name, steps_blocks
from bot.render.owners import owner_text
from bot.usecases.history import HistoryPage
from storage.models import Offer, Step
from storage.reads.history import ActionEntry, DeliveryEntry, Entry, StatusEntry
from storage.statuses import DeliveryKind, DeliveryState, DestinationKind, StepState

HISTORY_PAGE_ACTION = "offer_history_page"

_KINDS: dict[str, str] = {
    DeliveryKind.ALERT: N_("Alert"),
    DeliveryKind.FOLLOWUP: N_("Follow-up"),
    DeliveryKind.REMINDER: N_("Reminder"),
    DeliveryKind.NOTICE: N_("Notice"),
    DeliveryKind.STUCK: N_("Stuck step alert"),
    DeliveryKind.TEST: N_("Test alert"),
}
_SOURCES = {
    "import": N_("import"),
    "push": N_("push API"),
    "Partner Center": N_("Partner Center sync"),
    "Cloud Partner Portal": N_("Cloud Partner Portal sync"),
}
_STATES: dict[str, str] = {
    DeliveryState.SENT: N_("sent"),
    DeliveryState.PENDING: N_("waiting to be sent"),
    DeliveryState.FAILED: N_("not delivered"),
}


def _where(channel: str, tr: Translator) -> str:
    """A channel as Slack shows it; a direct message (D…) is named, not linked; one the reader may
    not see ("") is "another channel"."""
    if not channel:
        return tr._("another channel")
    return tr._("a direct message") if channel.startswith("D") else f"<#{channel}>"


def _source(source: str, tr: Translator) -> str:
    known = _SOURCES.get(source)
    return tr._(known) if known else esc(source)


def _status_line(e: StatusEntry, tr: Translator) -> str:
    if e.old_status is None:
        return tr._(
            "First seen as *%(status)s* (%(source)s)",
            status=status_label(e.new_status, tr),
            source=_source(e.source, tr),
        )
    return tr._(
        "*%(status)s* (was %(was)s, %(source)s)",
        status=status_label(e.new_status, tr),
        was=status_label(e.old_status, tr),
        source=_source(e.source, tr),
    )


def _action_line(e: ActionEntry, tr: Translator) -> str:
    where = _where(e.channel, tr)
    if e.action == "on_it":
        return tr._(":raising_hand: <@%(user)s> took the alert in %(where)s", user=e.user_id, where=where)
    if e.action == "snooze" and e.until is not None:
        return tr._(
            ":zzz: <@%(user)s> snoozed the alert in %(where)s until %(until)s",
            user=e.user_id,
            where=where,
            until=slack_date(e.until, tr),
        )
    if e.action in GO_LIVE_LINES:
        return tr._(GO_LIVE_LINES[e.action], user=e.user_id)
    return tr._("<@%(user)s> muted the offer for themselves", user=e.user_id)


GO_LIVE_LINES = {
    "go_live": N_(":rocket: <@%(user)s> asked Microsoft to publish the offer live (Go live)"),
    "go_live_ok": N_(":white_check_mark: The offer went live, as <@%(user)s> asked"),
    "go_live_failed": N_(":x: Go live, asked by <@%(user)s>, did not publish the offer"),
    "go_live_unknown": N_(
        ":grey_question: Go live, asked by <@%(user)s>: whether Microsoft got it is unknown"
    ),
    "cancel": N_(":no_entry_sign: <@%(user)s> asked Microsoft to cancel the publish"),
    "cancelled": N_(":no_entry_sign: The publish was cancelled (asked by <@%(user)s>)"),
    "cancel_failed": N_(":x: The cancel asked by <@%(user)s> did not stop the publish"),
}


def _delivery_line(e: DeliveryEntry, tr: Translator) -> str:
    if e.destination_kind == DestinationKind.CHANNEL:
        where = _where(e.destination, tr)
    elif e.destination:
        where = tr._("<@%(user)s> by direct message", user=e.destination)
    else:
        where = tr._("someone else by direct message")
    line = tr._(
        "%(kind)s to %(where)s: %(state)s",
        kind=tr._(_KINDS.get(e.kind, N_("Alert"))),
        where=where,
        state=tr._(_STATES.get(e.state, N_("sent"))),
    )
    return line + (f" (`{esc(e.error)}`)" if e.state == DeliveryState.FAILED and e.error else "")


def entry_line(entry: Entry, tr: Translator) -> str:
    when = slack_date(entry.at, tr)
    if isinstance(entry, StatusEntry):
        what = _status_line(entry, tr)
    elif isinstance(entry, ActionEntry):
        what = _action_line(entry, tr)
    else:
        what = _delivery_line(entry, tr)
    return f"{when} · {what}"


def history_value(offer_pk: int, offset: int) -> str:
    return json.dumps({"h": offer_pk, "o": offset}, separators=(",", ":"))


def _button(label: str, page: HistoryPage, offset: int) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": f"{HISTORY_PAGE_ACTION}:{offset}",
        "value": history_value(page.card.offer.id or 0, offset),
    }


def _page_buttons(page: HistoryPage, tr: Translator) -> list[Block]:
    last = page.offset + len(page.entries)
    buttons = []
    if page.offset > 0:
        buttons.append(_button(tr._("Previous"), page, max(0, page.offset - page.limit)))
    if last < page.total:
        buttons.append(_button(tr._("Next"), page, last))
    return [{"type": "actions", "elements": buttons}] if buttons else []


def _step_line(offer: Offer, step: Step, tr: Translator) -> str:
    """A step, how long it has been in its state, and Microsoft's estimate beside it."""
    line = f"{step_emoji(StepState(step.status))} *{step.position + 1}. {step_name(offer, step, tr)}* — "
    line += step_label(step.status, tr)
    if step.took_seconds is not None:
        line += " · " + tr._("took %(span)s", span=duration_text(timedelta(seconds=step.took_seconds), tr))
    elif step.status_since is not None:
        line += " · " + tr._("since %(when)s", when=slack_date(step.status_since, tr))
    if step.estimated_time:
        line += " · " + tr._(
            "Microsoft estimates %(estimate)s", estimate=f"_{step_estimate(offer, step, tr)}_"
        )
    if step.stuck_since is not None:
        line += " · :alarm_clock: " + tr._("stuck since %(when)s", when=slack_date(step.stuck_since, tr))
    return line


def _steps(page: HistoryPage, tr: Translator) -> list[Block]:
    if not page.card.steps:
        return steps_blocks(page.card, tr)
    title = "*" + tr._("Publishing steps: how long each has been in its state") + "*"
    return sections(title, (_step_line(page.card.offer, s, tr) for s in page.card.steps))


def _owners_line(page: HistoryPage, tr: Translator) -> Block:
    if not page.owners:
        return context(
            tr._(
                "No owners: `/offer-status owners %(offer)s add @someone`.",
                offer=esc(page.card.offer.offer_id),
            )
        )
    who = ", ".join(owner_text(o) for o in page.owners[:20])
    return context(tr._("Owners (they get its direct messages): %(who)s", who=who))


def render_history(page: HistoryPage, *, tr: Translator) -> Reply:
    offer = page.card.offer
    title = tr._("History of %(offer)s", offer=offer.name)
    head: list[Block] = [header(title), _owners_line(page, tr), *_steps(page, tr)]
    blocks: list[Block] = []
    if page.total == 0:
        blocks.append(section(tr._("Nothing has happened to this offer yet.")))
    elif not page.entries:
        gone = tr.ngettext(
            "Page out of range: the history has %(n)d entry.",
            "Page out of range: the history has %(n)d entries.",
            page.total,
        )
        blocks.append(section(gone))
    else:
        heading = "*" + tr._("What happened, newest first") + "*"
        blocks += sections(heading, (entry_line(e, tr) for e in page.entries))
        first, last = page.offset + 1, page.offset + len(page.entries)
        pages = -(-page.total // page.limit)
        where = tr._("%(first)d–%(last)d of %(total)d", first=first, last=last, total=page.total)
        if pages > 1:
            cmd = f"{COMMAND} history {offer.offer_id} page N"
            number = page.offset // page.limit + 1
            where += " " + tr._(
                "(page %(page)d of %(pages)d: `%(cmd)s`)", page=number, pages=pages, cmd=esc(cmd)
            )
        blocks.append(context(where))
        blocks += _page_buttons(page, tr)
    count = tr.ngettext("%(n)d entry", "%(n)d entries", page.total)
    text = tr._("History of %(offer)s: %(count)s", offer=esc(offer.name), count=count)
    more = tr._(
        "…more steps than fit in one message: `/offer-status %(offer)s` shows them all.",
        offer=esc(offer.offer_id),
    )
    return Reply(text=text, blocks=fit_blocks(head, blocks, more))

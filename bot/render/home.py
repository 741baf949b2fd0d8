"""The Home tab: a pure function of a :class:`HomeView` and a reader's language, giving the view that
``views.publish`` takes. It stays inside Slack's limits: at most :data:`HOME_LIMIT` offers a section
(the rest counted, with the command that lists them), at most :data:`MAX_ALERTS` alert settings, and
every text cut to what a block holds."""

from __future__ import annotations

from typing import Any

from bot.i18n import Translator
from bot.render.alerts import ON_IT_ACTION, OPEN_STATUS_ACTION, snooze_menu
from bot.render.blocks import Block, context, divider, esc, header, section, slack_date, truncate
from bot.render.connections import connection_blocks
from bot.render.forecast import forecast_text
from bot.render.golive_button import go_live_button_of
from bot.render.labels import status_emoji, status_label, step_label
from bot.render.offers import step_estimate, step_name
from bot.render.subscriptions import describe, event_words
from bot.usecases.golive import APIS
from bot.usecases.home import HomeAlert, HomeAlertKind, HomeOffer, HomeView
from bot.usecases.work import AlertView
from storage.statuses import OfferStatus

HOME_REFRESH_ACTION = "home_refresh"
HOME_REMOVE_ACTION = "home_remove_alert"
MAX_ALERTS = 20
MAX_HOME_BLOCKS = 100


def _offer_title(item: HomeOffer, tr: Translator) -> str:
    offer = item.offer
    status = OfferStatus(offer.status)
    name, offer_id = esc(truncate(offer.name, 120)), esc(truncate(offer.offer_id, 100))
    return f"{status_emoji(status)} *{name}* (`{offer_id}`) — {status_label(status, tr)}"


def _focus(item: HomeOffer, tr: Translator) -> str:
    if item.focus is None:
        return ""
    if item.focus.stuck_since is not None:
        return tr._(
            ":alarm_clock: Step: %(step)s, stuck since %(when)s",
            step=step_name(item.offer, item.focus, tr),
            when=slack_date(item.focus.stuck_since, tr),
        )
    return tr._(
        "Step: %(step)s (%(state)s)",
        step=step_name(item.offer, item.focus, tr),
        state=step_label(item.focus.status, tr),
    )


def _needs_lines(item: HomeOffer, tr: Translator, *, go_live: bool = False) -> list[Block]:
    parts = [
        _offer_title(item, tr),
        _focus(item, tr),
        tr._("since %(when)s", when=slack_date(item.since, tr)),
    ]
    pk = str(item.offer.id)
    elements: list[Block] = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": tr._("Show status")},
            "action_id": OPEN_STATUS_ACTION,
            "value": pk,
        },
        {
            "type": "button",
            "text": {"type": "plain_text", "text": tr._("I'm on it")},
            "action_id": ON_IT_ACTION,
            "value": pk,
        },
        snooze_menu(pk, tr),
    ]
    if go_live and item.offer.status == OfferStatus.SIGNOFF and item.offer.feed in APIS:
        elements.insert(1, go_live_button_of(pk, tr))
    return [section(" · ".join(p for p in parts if p)), {"type": "actions", "elements": elements}]


def _publishing_line(item: HomeOffer, tr: Translator) -> str:
    parts = [
        _offer_title(item, tr),
        _focus(item, tr),
        tr._("since %(when)s", when=slack_date(item.since, tr)),
    ]
    if item.focus is not None and item.focus.estimated_time:
        parts.append(
            tr._(
                "Microsoft estimates %(estimate)s", estimate=f"_{step_estimate(item.offer, item.focus, tr)}_"
            )
        )
    forecast = forecast_text(item.forecast, tr) if item.offer.status == OfferStatus.IN_PROGRESS else None
    return " · ".join(p for p in (*parts, forecast) if p)


def _more(shown: int, total: int, command: str, tr: Translator) -> list[Block]:
    if total <= shown:
        return []
    return [context(tr._("and %(n)d more: `%(cmd)s`", n=total - shown, cmd=command))]


def _alert_text(alert: HomeAlert, tr: Translator) -> str:
    what = describe(alert.about, tr)
    if alert.kind == HomeAlertKind.MUTE:
        text = tr._("No direct messages about %(what)s (`mute-me`)", what=what)
    elif alert.kind == HomeAlertKind.NOTIFY:
        text = tr._(
            "Direct messages about %(what)s on %(events)s", what=what, events=event_words(alert.events)
        )
    else:
        text = tr._(
            "<#%(channel)s> gets alerts for %(what)s on %(events)s",
            channel=alert.channel or "",
            what=what,
            events=event_words(alert.events),
        )
    if alert.disabled_reason:
        text += " · " + tr._("stopped: Slack answered `%(error)s`", error=esc(alert.disabled_reason))
    return text


def _alert_block(alert: HomeAlert, tr: Translator) -> Block:
    block = section(_alert_text(alert, tr))
    block["accessory"] = {
        "type": "button",
        "text": {"type": "plain_text", "text": tr._("Remove")},
        "action_id": HOME_REMOVE_ACTION,
        "value": alert.key,
    }
    return block


def _totals(view: HomeView, tr: Translator) -> str:
    counts = [
        f"{status_label(s, tr)}: {view.totals[s.value]}" for s in OfferStatus if view.totals.get(s.value)
    ]
    return tr._("In this workspace: %(counts)s", counts=" · ".join(counts) or tr._("no offers yet"))


def _getting_started(tr: Translator) -> list[Block]:
    return [
        section(
            tr._(
                "Nothing here is yours yet. Offers whose notification e-mails include your Slack address "
                "are yours without asking; `/offer-status notify-me <offer>` follows any other one by direct "
                "message, and `/offer-status subscribe <offer>` in a channel alerts that channel."
            )
        )
    ]


def _needs_blocks(view: HomeView, tr: Translator) -> list[Block]:
    blocks: list[Block] = [section("*" + tr._("Needs you (%(n)d)", n=view.needs_total) + "*")]
    if not view.needs:
        return [*blocks, context(tr._("Nothing of yours has failed, awaits sign-off or was delisted."))]
    for item in view.needs:
        blocks += _needs_lines(item, tr, go_live=view.go_live)
    return blocks + _more(len(view.needs), view.needs_total, "/offer-status list failed", tr)


def _publishing_blocks(view: HomeView, tr: Translator) -> list[Block]:
    title = section("*" + tr._("Publishing now (%(n)d)", n=view.publishing_total) + "*")
    if not view.publishing:
        return [title, context(tr._("None of your offers is being published."))]
    lines = [section(_publishing_line(item, tr)) for item in view.publishing]
    return [
        title,
        *lines,
        *_more(len(view.publishing), view.publishing_total, "/offer-status list in-progress", tr),
    ]


def _alert_blocks(view: HomeView, tr: Translator) -> list[Block]:
    title = section("*" + tr._("Your alerts") + "*")
    if not view.alerts:
        return [title, context(tr._("No alerts of yours: `/offer-status help` shows how to set them."))]
    shown = [_alert_block(a, tr) for a in view.alerts[:MAX_ALERTS]]
    return [title, *shown, *_more(MAX_ALERTS, len(view.alerts), "/offer-status subscriptions", tr)]


def render_done(views: list[AlertView], *, tr: Translator) -> str:
    """What a click on *I'm on it* or *Snooze* in *Needs you* did, at the top of the tab."""
    if not views:
        return ""
    return tr.ngettext(
        ":white_check_mark: Done: the alert about %(offer)s shows it.",
        ":white_check_mark: Done: the %(n)d alerts about %(offer)s show it.",
        len(views),
        offer="*" + esc(views[0].card.offer.name) + "*",
    )


def render_refused(text: str, *, tr: Translator) -> dict[str, Any]:
    """The Home tab of someone who may not look offers up: why, and nothing else."""
    return {"type": "home", "blocks": [header(tr._("Your offers")), section(text)]}


def render_home(view: HomeView, *, tr: Translator, notice: str | None = None) -> dict[str, Any]:
    """The Home tab's view (``{"type": "home", "blocks": [...]}``); ``notice``: what the last click
    did or why it could not (already worded), shown first."""
    blocks: list[Block] = [header(tr._("Your offers"))]
    if notice:
        blocks.append(context(notice))
    if view.owns_nothing:
        blocks += _getting_started(tr)
    else:
        blocks += [*_needs_blocks(view, tr), divider(), *_publishing_blocks(view, tr)]
    blocks += [divider(), *_alert_blocks(view, tr)]
    if view.connections is not None:
        blocks += [divider(), *connection_blocks(view.connections, tr)]
    blocks += [divider(), context(_totals(view, tr))]
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": tr._("Refresh")},
                    "action_id": HOME_REFRESH_ACTION,
                    "value": "home",
                }
            ],
        }
    )
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}

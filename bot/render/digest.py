"""The digest and its setting: pure renderers of a :class:`DigestView` in a reader's language."""

from __future__ import annotations

from bot.i18n import Translator
from bot.render.blocks import Block, Reply, context, esc, header, section, sections, slack_date, truncate
from bot.render.forecast import forecast_text
from bot.render.labels import status_emoji, status_label
from bot.render.offers import step_name
from bot.usecases.digest import DigestSetting, DigestView
from storage.models import Offer, StatusChange
from storage.reads.digest import DIGEST_LIMIT, DigestData, NeedsWhom
from storage.statuses import OfferStatus


def _name(offer_name: str, offer_id: str) -> str:
    return f"*{esc(truncate(offer_name, 120))}* (`{esc(truncate(offer_id, 100))}`)"


def _needs_line(item: NeedsWhom, tr: Translator) -> str:
    offer = item.offer
    status = OfferStatus(offer.status)
    head = f"{status_emoji(status)} {_name(offer.name, offer.offer_id)} — {status_label(status, tr)}"
    if item.takers:
        who = tr._("on it: %(users)s", users=", ".join(f"<@{u}>" for u in item.takers))
    elif item.owners:
        who = tr._("for its owners: %(users)s", users=", ".join(f"<@{u}>" for u in item.owners))
    else:
        who = tr._("nobody is on it, and no owner has a Slack account")
    return f"{head} · {who}"


def _more(shown: int, total: int, tr: Translator) -> list[str]:
    return [tr._("… and %(n)d more", n=total - shown)] if total > shown else []


def _change_line(change: StatusChange, offer: Offer, tr: Translator) -> str:
    line = f"{slack_date(change.changed_at, tr)} · {_name(offer.name, offer.offer_id)}: "
    line += f"*{status_label(change.new_status, tr)}*"
    if change.old_status:
        line += " " + tr._("(was %(was)s)", was=status_label(change.old_status, tr))
    return line


def _body(data: DigestData, tr: Translator) -> list[Block]:
    counts = [
        f"{status_label(s, tr)}: {data.totals[s.value]}" for s in OfferStatus if data.totals.get(s.value)
    ]
    blocks: list[Block] = [section(" · ".join(counts) or tr._("No offers."))]
    if data.needs:
        lines = [_needs_line(n, tr) for n in data.needs] + _more(len(data.needs), data.needs_total, tr)
        blocks += sections("*" + tr._("Needs attention (%(n)d)", n=data.needs_total) + "*", lines)
    if data.stuck:
        stuck = [
            tr._(
                ":alarm_clock: %(offer)s: *%(step)s* stuck since %(when)s",
                offer=_name(o.name, o.offer_id),
                step=step_name(o, s, tr),
                when=slack_date(s.stuck_since, tr) if s.stuck_since else "",
            )
            for o, s in data.stuck
        ]
        blocks += sections("*" + tr._("Stuck steps") + "*", stuck)
    expected = [f"{_name(o.name, o.offer_id)}: {forecast_text(f, tr)}" for o, f in data.expected]
    if expected:
        blocks += sections("*" + tr._("Expected live") + "*", expected)
    title = "*" + tr._("Last 24 hours (%(n)d changes)", n=data.changes_total) + "*"
    if data.changes:
        lines = [_change_line(c, o, tr) for c, o in data.changes]
        blocks += sections(title, lines + _more(len(data.changes), data.changes_total, tr))
    else:
        blocks.append(section(title + "\n" + tr._("Nothing changed.")))
    return blocks


def render_digest(view: DigestView, *, tr: Translator) -> Reply:
    title = tr._("Digest of this channel's offers") if view.channel else tr._("Digest of your offers")
    if view.data is None:
        empty = (
            tr._(
                "This channel follows no offer: `/offer-status subscribe <offer | publisher:<id> | all>` "
                "first."
            )
            if view.channel
            else tr._("Nothing is yours yet: `/offer-status notify-me <offer>` follows an offer.")
        )
        return Reply(text=empty, blocks=[section(empty)])
    blocks: list[Block] = [header(title), *_body(view.data, tr)]
    blocks.append(
        context(
            tr._("At most %(n)d items a section; `/offer-status list <status>` shows all.", n=DIGEST_LIMIT)
        )
    )
    return Reply(text=title, blocks=blocks)


def render_digest_setting(setting: DigestSetting, *, tr: Translator) -> Reply:
    if setting.at is None:
        text = tr._("No more daily digest in this channel.")
    else:
        text = tr._(
            "The digest will be posted here every day at %(at)s (%(tz)s), on days when something changed "
            "or needs attention. `/offer-status settings digest off` stops it.",
            at=setting.at,
            tz=esc(setting.tz or "UTC"),
        )
    return Reply(text=text, blocks=[section(text)])

"""Lists of offers, a page at a time, and the answers to a look-up that did not find exactly one offer."""

from __future__ import annotations

import json

from bot.i18n import Translator
from bot.render.blocks import COMMAND, Block, Reply, context, esc, header, section, sections, truncate
from bot.render.labels import (
    status_emoji,
    status_label,
)
from bot.render.offers import type_label
from storage.models import Offer
from storage.reads.offers import MIN_PARTIAL, Lookup, OfferPage
from storage.statuses import (
    FILTER_WORDS,
    OfferStatus,
)

LIST_PAGE_ACTION = "offer_list_page"


def offer_line(offer: Offer, tr: Translator) -> str:
    status = OfferStatus(offer.status)
    removed = " · _" + tr._("removed") + "_" if offer.removed_at is not None else ""
    return (
        f"{status_emoji(status)} *{esc(truncate(offer.name, 120))}* "
        f"(`{esc(truncate(offer.offer_id, 100))}`) — {status_label(status, tr)} · "
        f"{esc(type_label(offer, tr))}{removed}"
    )


def page_value(page: OfferPage, offset: int) -> str:
    value: dict[str, object] = {"s": page.status.value if page.status else None, "o": offset}
    if page.publisher is not None:
        value["p"] = page.publisher
    return json.dumps(value, separators=(",", ":"))


def _page_button(label: str, page: OfferPage, offset: int) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": f"{LIST_PAGE_ACTION}:{offset}",
        "value": page_value(page, offset),
    }


def _filter_words(page: OfferPage) -> str:
    words = [f"publisher:{page.publisher}"] if page.publisher is not None else []
    if page.status is not None:
        words.append(FILTER_WORDS[page.status])
    return "".join(w + " " for w in words)


def _empty_list(page: OfferPage, tr: Translator) -> str:
    status = page.status
    if page.publisher is not None:
        publisher = esc(truncate(page.publisher, 100))
        if status is None:
            return tr._(
                "No offer of the publisher `%(publisher)s` is stored: publisher ids are case-sensitive, "
                "and an offer's card (`/offer-status <offer>`) shows its publisher.",
                publisher=publisher,
            )
        return tr._(
            "No offer of the publisher `%(publisher)s` has the status *%(status)s*.",
            publisher=publisher,
            status=status_label(status, tr),
        )
    if status is None:
        return tr._("No offers are stored yet: import some with `offerbot import FILE`.")
    if status is OfferStatus.NOT_STARTED:
        return tr._("No offers are waiting to start publishing.")
    return tr._("No offer has the status *%(status)s*.", status=status_label(status, tr))


def _page_buttons(page: OfferPage, tr: Translator) -> list[Block]:
    last = page.offset + len(page.offers)
    buttons = []
    if page.offset > 0:
        buttons.append(_page_button(tr._("Previous"), page, max(0, page.offset - page.limit)))
    if last < page.total:
        buttons.append(_page_button(tr._("Next"), page, last))
    return [{"type": "actions", "elements": buttons}] if buttons else []


def _where_in_list(page: OfferPage, tr: Translator) -> str:
    first, last = page.offset + 1, page.offset + len(page.offers)
    where = tr._("%(first)d–%(last)d of %(total)d", first=first, last=last, total=page.total)
    pages = -(-page.total // page.limit)
    if pages > 1:
        cmd = truncate(f"{COMMAND} list {_filter_words(page)}page N", 300)
        number = page.offset // page.limit + 1
        where += " " + tr._("(page %(page)d of %(pages)d: `%(cmd)s`)", page=number, pages=pages, cmd=cmd)
    return where


def _list_title(page: OfferPage, tr: Translator) -> str:
    status = page.status
    if page.publisher is None:
        return (
            tr._("Offers") if status is None else tr._("Offers: %(status)s", status=status_label(status, tr))
        )
    publisher = truncate(page.publisher, 100)
    if status is None:
        return tr._("Offers of %(publisher)s", publisher=publisher)
    return tr._("Offers of %(publisher)s: %(status)s", publisher=publisher, status=status_label(status, tr))


def render_list(page: OfferPage, *, tr: Translator) -> Reply:
    title = _list_title(page, tr)
    if page.total == 0:
        what = _empty_list(page, tr)
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
    where = _where_in_list(page, tr)
    blocks.append(context(where + " · " + tr._("`/offer-status <offer>` shows one offer")))
    blocks += _page_buttons(page, tr)
    first, last = page.offset + 1, page.offset + len(page.offers)
    where = tr._("%(first)d–%(last)d of %(total)d", first=first, last=last, total=page.total)
    text = tr._("%(label)s: %(text)s", label=title, text=where)
    return Reply(text=text, blocks=blocks)


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

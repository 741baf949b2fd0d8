"""Partner Center connections on Slack: the Home tab's section for those who may change them, the
*Add a connection* modal, the *Test* modal (waiting, then what each source found), the *Remove*
confirmation, and the direct message to admins when Microsoft refuses a connection's credentials.
Pure functions of a use-case's result and a reader's language."""

from __future__ import annotations

from typing import Any

from bot.i18n import Translator
from bot.render.blocks import Block, Reply, context, esc, modal, section, slack_date, truncate
from bot.usecases.connections import ConnectionsPanel, ConnectionTest, ConnectionView, Refusal
from storage.connections import SECRET

ADD_ACTION = "connection_add"
MENU_ACTION = "connection_menu"
ADD_CALLBACK = "connection_add_submit"
REMOVE_CALLBACK = "connection_remove_submit"
REPLACE_CALLBACK = "connection_replace_submit"
TEST_PREFIX, REPLACE_PREFIX, REMOVE_PREFIX = "test:", "replace:", "remove:"
FIELDS = ("name", "tenant", "client", "publisher", "portal", "secret", "certificate", "password")
"""The add modal's block ids, which are also :class:`ConnectionInputError`'s field names."""


def _modal(title: str, blocks: list[Block], *, tr: Translator, submit: str | None = None) -> dict[str, Any]:
    return modal(title, blocks, close=tr._("Close"), submit=submit)


def credential_label(kind: str, tr: Translator) -> str:
    return tr._("client secret") if kind == SECRET else tr._("client certificate")


def _reads(item: ConnectionView, tr: Translator) -> str:
    parts = []
    if item.publisher_id:
        parts.append(tr._("Partner Center `%(id)s`", id=esc(item.publisher_id)))
    if item.cloud_partner_publishers:
        names = ", ".join(f"`{esc(p)}`" for p in item.cloud_partner_publishers[:10])
        parts.append(tr._("Cloud Partner Portal %(names)s", names=names))
    return " · ".join(parts)


def connection_line(item: ConnectionView, tr: Translator) -> str:
    credential = credential_label(item.credential, tr)
    if item.thumbprint:
        credential += f" `{esc(item.thumbprint[:12])}…`"
    head = f"*{esc(item.name)}* · " + tr._("tenant `%(tenant)s`", tenant=esc(truncate(item.tenant_id, 100)))
    parts = [head, credential, _reads(item, tr)]
    if item.refused_at is not None:
        parts.append(
            tr._(
                ":warning: refused since %(when)s: %(why)s",
                when=slack_date(item.refused_at, tr),
                why=esc(truncate(item.refused_reason or "", 300)),
            )
        )
    elif item.read_at is not None:
        parts.append(tr._("read %(when)s", when=slack_date(item.read_at, tr)))
    else:
        parts.append(tr._("not read yet: the sync reads it within a minute"))
    return " · ".join(p for p in parts if p)


def _menu(item: ConnectionView, tr: Translator) -> Block:
    return {
        "type": "overflow",
        "action_id": MENU_ACTION,
        "options": [
            {"text": {"type": "plain_text", "text": tr._("Test")}, "value": TEST_PREFIX + item.name},
            {
                "text": {"type": "plain_text", "text": tr._("Replace the credential…")},
                "value": REPLACE_PREFIX + item.name,
            },
            {"text": {"type": "plain_text", "text": tr._("Remove…")}, "value": REMOVE_PREFIX + item.name},
        ],
    }


def connection_blocks(panel: ConnectionsPanel, tr: Translator) -> list[Block]:
    """The Home tab's section: each connection with its *Test* and *Remove* menu, then *Add*."""
    title = section("*" + tr._("Partner Center connections (%(n)d)", n=len(panel.connections)) + "*")
    blocks: list[Block] = [title]
    for item in panel.connections:
        block = section(connection_line(item, tr))
        block["accessory"] = _menu(item, tr)
        blocks.append(block)
    if not panel.connections:
        blocks.append(context(tr._("No connection of this workspace: its offers come from imports only.")))
    if not panel.can_add:
        blocks.append(context(tr._("Adding one needs OFFERBOT_SECRET_KEY set by the operator.")))
        return blocks
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": tr._("Add a connection")},
        "action_id": ADD_ACTION,
        "value": "add",
    }
    return [*blocks, {"type": "actions", "elements": [button]}]


def _input(
    block_id: str,
    label: str,
    *,
    tr: Translator,
    hint: str = "",
    optional: bool = False,
    max_length: int = 100,
) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": block_id, "max_length": max_length}
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": truncate(label, 2000)},
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": truncate(hint, 2000)}
    return block


def _certificate_inputs(certificates: tuple[str, ...], tr: Translator) -> list[Block]:
    if not certificates:
        return [context(tr._("A client certificate is added with `offerbot connection add --certificate`."))]
    options = [{"text": {"type": "plain_text", "text": truncate(n, 75)}, "value": n} for n in certificates]
    select: Block = {
        "type": "input",
        "block_id": "certificate",
        "optional": True,
        "label": {"type": "plain_text", "text": tr._("Or a client certificate")},
        "hint": {
            "type": "plain_text",
            "text": tr._("A PEM file the operator put in OFFERBOT_CERTIFICATE_DIR."),
        },
        "element": {"type": "static_select", "action_id": "certificate", "options": options},
    }
    password = _input(
        "password", tr._("The certificate key's password"), tr=tr, optional=True, max_length=1024
    )
    return [select, password]


def render_add_modal(*, certificates: tuple[str, ...], tr: Translator) -> dict[str, Any]:
    """The form; its secret is typed once, sealed on submit and never shown again."""
    blocks = [
        _input(
            "name", tr._("Name"), tr=tr, hint=tr._("Lower-case letters, digits and dashes"), max_length=40
        ),
        _input("tenant", tr._("Directory (tenant) ID"), tr=tr),
        _input("client", tr._("Application (client) ID"), tr=tr, max_length=36),
        _input("publisher", tr._("Partner Center publisher id"), tr=tr, optional=True),
        _input(
            "portal",
            tr._("Cloud Partner Portal publishers"),
            tr=tr,
            hint=tr._("Comma-separated; leave empty if it reads none."),
            optional=True,
            max_length=1000,
        ),
        _secret_input(tr),
        *_certificate_inputs(certificates, tr),
    ]
    view = _modal(tr._("Add a connection"), blocks, tr=tr, submit=tr._("Add"))
    view["callback_id"] = ADD_CALLBACK
    return view


def _secret_input(tr: Translator) -> Block:
    return _input(
        "secret",
        tr._("Client secret"),
        tr=tr,
        hint=tr._("Its Value. Typed once: offerbot seals it and never shows it again."),
        optional=True,
        max_length=1024,
    )


def render_replace_modal(name: str, *, certificates: tuple[str, ...], tr: Translator) -> dict[str, Any]:
    """A new secret or certificate in the old one's place (one that expired, or was rotated)."""
    text = tr._(
        "A new client secret or certificate for *%(name)s*: the old one is deleted, and the sync signs "
        "in with the new one at its next run.",
        name=esc(name),
    )
    blocks = [section(text), _secret_input(tr), *_certificate_inputs(certificates, tr)]
    view = _modal(tr._("Replace the credential"), blocks, tr=tr, submit=tr._("Replace"))
    view["callback_id"] = REPLACE_CALLBACK
    view["private_metadata"] = name[:40]
    return view


def render_replaced(item: ConnectionView, *, tr: Translator) -> str:
    return tr._(
        ":white_check_mark: *%(name)s* signs in with its new %(credential)s from the sync's next run.",
        name=esc(item.name),
        credential=credential_label(item.credential, tr),
    )


def render_added(item: ConnectionView, *, tr: Translator) -> str:
    return tr._(
        ":white_check_mark: Connection *%(name)s* added: the sync reads it within a minute.",
        name=esc(item.name),
    )


def render_removed(name: str, offers: int, *, tr: Translator) -> str:
    return tr.ngettext(
        ":wastebasket: Connection *%(name)s* removed; its %(n)d offer is kept, shown as removed.",
        ":wastebasket: Connection *%(name)s* removed; its %(n)d offers are kept, shown as removed.",
        offers,
        name=esc(name),
    )


def render_remove_modal(name: str, *, tr: Translator) -> dict[str, Any]:
    text = tr._(
        "Remove the connection *%(name)s*? Its secret is deleted and its offers are no longer read "
        "(they are kept, shown as removed).",
        name=esc(name),
    )
    view = _modal(tr._("Remove a connection"), [section(text)], tr=tr, submit=tr._("Remove"))
    view["callback_id"] = REMOVE_CALLBACK
    view["private_metadata"] = name[:40]
    return view


def render_testing_modal(name: str, *, tr: Translator) -> dict[str, Any]:
    line = tr._(
        ":hourglass_flowing_sand: Testing *%(name)s*: one token request, then one request per source…",
        name=esc(name),
    )
    return _modal(tr._("Test a connection"), [section(line)], tr=tr)


def _check_line(label: str, ok: bool, products: int, problem: str, tr: Translator) -> str:
    if ok:
        return ":white_check_mark: " + tr.ngettext(
            "%(source)s answered: %(n)d product on its first page.",
            "%(source)s answered: %(n)d products on its first page.",
            products,
            source=esc(label),
        )
    return ":x: " + tr._("%(source)s: %(why)s", source=esc(label), why=esc(truncate(problem, 500)))


def render_test(result: ConnectionTest, *, tr: Translator) -> dict[str, Any]:
    """What each source of the connection answered, or what to fix."""
    head = tr._(
        "*%(name)s* signs in with its %(credential)s.",
        name=esc(result.name),
        credential=credential_label(result.credential, tr),
    )
    lines = [_check_line(c.label, c.ok, c.products, c.problem, tr) for c in result.checks]
    return _modal(tr._("Test a connection"), [section(head), *[section(line) for line in lines]], tr=tr)


def render_text_modal(text: str, *, title: str, tr: Translator) -> dict[str, Any]:
    return _modal(title, [section(text)], tr=tr)


def render_refusal(refusal: Refusal, *, tr: Translator) -> Reply:
    """The direct message to a workspace's admins, once, when Microsoft refuses a connection."""
    text = tr._(
        ":warning: Microsoft refuses the Partner Center connection *%(name)s* since %(when)s: %(why)s",
        name=esc(refusal.name),
        when=slack_date(refusal.since, tr),
        why=esc(truncate(refusal.reason, 500)),
    )
    fix = tr._(
        "Its offers are kept and show when they were last read; other connections go on. To fix it, "
        "check in Microsoft Entra ID that the application's secret or certificate has not expired "
        "and that the application still has its Partner Center role; then give the connection the "
        "new secret or certificate from the Home tab (its menu, *Replace the credential…*)."
    )
    return Reply(text=text, blocks=[section(text), context(fix)])

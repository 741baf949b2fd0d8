"""``owners``: who owns an offer or a publisher's offers, and what a change did (the answer, and the
note in the channel)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import Translator
from bot.render.blocks import Reply, esc, section, slack_date, truncate
from bot.render.subscriptions import describe, render_channel_change
from bot.usecases.owners import OwnersChanged, OwnersView
from storage.owners import OfferOwner, OwnerRef
from storage.statuses import SYNC_FEED, OwnerKind

MAX_TEXT = 2900


def owner_text(ref: OwnerRef) -> str:
    """A user or a group as a mention (Slack draws their name), an address as text."""
    if ref.kind == OwnerKind.USER:
        return f"<@{ref.value}>"
    if ref.kind == OwnerKind.USERGROUP:
        return f"<!subteam^{ref.value}>"
    return esc(ref.value)


def _refs(refs: Sequence[OwnerRef]) -> str:
    return ", ".join(owner_text(r) for r in refs)


def _row(row: OfferOwner, tr: Translator) -> str:
    who = owner_text(OwnerRef(OwnerKind(row.owner_kind), row.owner))
    return tr._(
        "• %(who)s (added by <@%(by)s> on %(when)s)",
        who=who,
        by=row.added_by,
        when=slack_date(row.added_at, tr),
    )


def _document_line(view: OwnersView, tr: Translator) -> str | None:
    if not view.document:
        return None
    addresses = ", ".join(esc(a) for a in view.document)
    if view.source == SYNC_FEED:
        return tr._(
            "From Partner Center's setting (PARTNER_CENTER_NOTIFICATION_EMAILS): %(who)s", who=addresses
        )
    return tr._("From its status document (notificationEmails): %(who)s", who=addresses)


def owners_lines(view: OwnersView, tr: Translator) -> list[str]:
    what = describe(view.about, tr)
    lines = [tr._("Owners of %(what)s, who get its direct messages:", what=what)]
    lines += [_row(r, tr) for r in view.owners]
    if view.publisher_owners:
        publisher = ", ".join(
            owner_text(OwnerRef(OwnerKind(r.owner_kind), r.owner)) for r in view.publisher_owners
        )
        lines.append(tr._("Owners of all its publisher's offers: %(who)s", who=publisher))
    document = _document_line(view, tr)
    if document:
        lines.append(document)
    if len(lines) == 1:
        lines.append(tr._("Nobody yet: `/offer-status owners <offer> add @someone` makes someone an owner."))
    return lines


def render_owners(view: OwnersView, *, tr: Translator) -> Reply:
    text = truncate("\n".join(owners_lines(view, tr)), MAX_TEXT)
    return Reply(text=text, blocks=[section(text)])


def change_line(changed: OwnersChanged, *, user_id: str, tr: Translator) -> str:
    """What the change did, as the channel is told (nothing when it changed nothing)."""
    what = describe(changed.view.about, tr)
    if not changed.done:
        return ""
    if changed.change == "add":
        return tr._(
            ":busts_in_silhouette: <@%(user)s> made %(who)s owners of %(what)s: they get its direct "
            "messages.",
            user=user_id,
            who=_refs(changed.done),
            what=what,
        )
    return tr._(
        ":busts_in_silhouette: <@%(user)s> removed %(who)s from the owners of %(what)s.",
        user=user_id,
        who=_refs(changed.done),
        what=what,
    )


def render_owners_changed(changed: OwnersChanged, *, user_id: str, tr: Translator) -> Reply:
    """The answer to whoever changed them: what changed, what did not, and the owners now."""
    lines = [change_line(changed, user_id=user_id, tr=tr)]
    if changed.unchanged and changed.change == "add":
        lines.append(tr._("Already owners: %(who)s.", who=_refs(changed.unchanged)))
    elif changed.unchanged:
        lines.append(tr._("Not owners, so not removed: %(who)s.", who=_refs(changed.unchanged)))
    lines += owners_lines(changed.view, tr)
    text = truncate("\n".join(line for line in lines if line), MAX_TEXT)
    return Reply(text=text, blocks=[section(text)])


def render_channel_note(change: object, *, user_id: str, tr: Translator) -> Reply:
    """The public note of any change a command made to the channel's alerts or to owners."""
    if isinstance(change, OwnersChanged):
        line = change_line(change, user_id=user_id, tr=tr)
        return Reply(text=line, blocks=[section(line)])
    return render_channel_change(change, user_id=user_id, tr=tr)  # type: ignore[arg-type]

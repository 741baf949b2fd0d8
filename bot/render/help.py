"""Help, and errors worded for the reader: what to type, and what to do when something failed."""

from __future__ import annotations

from bot.i18n import Translator
from bot.render.blocks import Reply, esc, section
from storage.errors import OfferbotError
from storage.slack_codes import Fix, fix_for
from storage.statuses import (
    status_filter_words,
)


def help_lines(tr: Translator) -> list[str]:
    filters = ", ".join(f"`{w}`" for w in status_filter_words())
    return [
        tr._("*offerbot* tells you where your Azure Marketplace and AppSource offers are in publishing."),
        tr._(
            "`/offer-status <offer>`: an offer's status, its publishing steps and unresolved issues. "
            "Give the offer id or part of its id or name."
        ),
        tr._(
            "`/offer-status list [status] [publisher:<id>]`: every offer with its status, like Partner "
            "Center's All offers page (`/offer-status` alone does the same), or one publisher's. "
            "Statuses: %(filters)s.",
            filters=filters,
        ),
        tr._(
            "`/offer-status history <offer> [page N]`: what happened to the offer, newest first: status "
            "changes, who took or snoozed its alerts, and where its alerts went."
        ),
        tr._(
            "`/offer-status owners <offer | publisher:<id>> [add|remove @user @group e-mail …]`: who gets "
            "the offer's direct messages; admins, owners and managers change them."
        ),
        *_alert_help_lines(tr),
        tr._("`/offer-status help`: this help."),
    ]


def _alert_help_lines(tr: Translator) -> list[str]:
    return [
        tr._(
            "*Alerts* (when an offer fails, is delisted or awaits your sign-off, or a step runs twice "
            "Microsoft's estimate):"
        ),
        tr._(
            "`/offer-status subscribe <offer | publisher:<id> | all> [failed] [delisted] [signoff] [stuck]`: "
            "alerts in this channel (every event unless you name some); invite me to the channel "
            "first."
        ),
        tr._(
            "`/offer-status unsubscribe <offer | publisher:<id> | all> [events]` and "
            "`/offer-status subscriptions`."
        ),
        tr._(
            "`/offer-status notify-me <offer | publisher:<id> | all> [events]`: alerts by direct message. "
            "The people in an offer's notification e-mails get them without asking; "
            "`/offer-status mute-me <offer | publisher:<id> | all>` stops them for you."
        ),
        tr._(
            "`/offer-status settings threading on|off`: follow-ups in the alert's thread (default) "
            "or as new messages."
        ),
        tr._(
            "`/offer-status settings language fr|en`: the language of this channel's alerts. Answers "
            "to you and your direct messages follow your Slack language."
        ),
        tr._(
            "`/offer-status digest`: a summary of this channel's offers (of yours in a direct message); "
            "`/offer-status settings digest HH:MM [time zone] | off` posts it here every day."
        ),
        tr._(
            "`/offer-status test-alert [offer]`: a test alert in this channel, sent as a real one would "
            "be, to see what alerts look like before one matters."
        ),
    ]


def render_help(*, tr: Translator) -> Reply:
    lines = help_lines(tr)
    return Reply(text="\n".join(lines), blocks=[section("\n".join(lines))])


def error_text(error: OfferbotError, tr: Translator) -> str:
    """A user's mistake, in their language: its message is offerbot's own text (marked where it was
    raised), its values are what the user typed or the data, escaped."""
    params = {name: esc(value) if isinstance(value, str) else value for name, value in error.params.items()}
    return tr._(error.message, **params)


def render_error(error: OfferbotError, *, tr: Translator) -> Reply:
    text = f":warning: {error_text(error, tr)}"
    return Reply(text=text, blocks=[section(text)])


def render_cannot_post(error: str, *, tr: Translator) -> Reply:
    """What to do when Slack will not let the bot post in the channel being subscribed."""
    fix = fix_for(error)
    if fix in (Fix.INVITE, Fix.INVITE_OR_ANOTHER_CHANNEL):
        text = tr._(
            "I can't post in this channel yet, so I did not subscribe it. Invite me with "
            "`/invite @offerbot`, then run the same command again."
        )
    elif fix is Fix.UNARCHIVED_CHANNEL:
        text = tr._("This channel is archived: subscribe another channel.")
    else:
        text = tr._(
            "Slack would not let me post here (`%(error)s`), so I did not subscribe it.", error=esc(error)
        )
    return Reply(text=f":warning: {text}", blocks=[section(f":warning: {text}")])

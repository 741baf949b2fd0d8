"""Answers of the alert commands (subscribe, unsubscribe, notify-me, mute-me, settings,
subscriptions): pure functions of the use-cases' results and a translator."""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import Language, Translator
from bot.render.blocks import MAX_SECTION, Reply, cap_blocks, esc, section, sections, truncate
from bot.usecases.digest import DigestSetting
from bot.usecases.subscriptions import About, AlertRequest, Subscriptions, SubscriptionView, Unsubscribed
from bot.usecases.testalert import QueuedTestAlert
from storage.statuses import TargetKind


def describe(about: About, tr: Translator) -> str:
    if about.kind == TargetKind.ALL:
        return tr._("all offers")
    if about.kind == TargetKind.PUBLISHER:
        return tr._("publisher `%(publisher)s`", publisher=esc(about.publisher_id or ""))
    if about.gone:
        return tr._("an offer that no longer exists")
    return f"*{esc(about.offer_name or '')}* (`{esc(about.offer_id or '')}`)"


def event_words(events: Sequence[str]) -> str:
    """The events as typed in commands (``failed``, ``delisted``, ``signoff``): command words, shown
    as code in every language."""
    return ", ".join(f"`{event}`" for event in events)


def _reply(text: str) -> Reply:
    return Reply(text=text, blocks=[section(text)])


def render_subscribe_pending(request: AlertRequest, *, tr: Translator) -> Reply:
    return _reply(
        ":hourglass_flowing_sand: "
        + tr._(
            "Subscribing this channel to %(what)s (%(events)s): I will confirm in the channel.",
            what=describe(request.about, tr),
            events=event_words(request.events),
        )
    )


def render_subscription_confirmation(request: AlertRequest, *, user_id: str, tr: Translator) -> Reply:
    """The public message that confirms a channel subscription (and proves the bot can post here)."""
    return _reply(
        ":bell: "
        + tr._(
            "<@%(user)s> subscribed this channel to alerts for %(what)s (%(events)s). "
            "`/offer-status unsubscribe` stops them.",
            user=user_id,
            what=describe(request.about, tr),
            events=event_words(request.events),
        )
    )


def render_test_queued(queued: QueuedTestAlert, *, tr: Translator) -> Reply:
    """The answer to ``test-alert``: it is queued, and what to do if it does not arrive."""
    line = tr._(
        "A test alert about *%(offer)s* (`%(id)s`) is on its way to this channel: the watcher sends "
        "it as it sends a real alert, within a few seconds. If it does not arrive, invite me with "
        "`/invite @offerbot`, or ask whoever runs offerbot to run `offerbot doctor`.",
        offer=esc(truncate(queued.offer_name, 200)),
        id=esc(truncate(queued.offer_id, 200)),
    )
    return Reply(text=line, blocks=[section(line)])


def render_unsubscribed(result: Unsubscribed, *, tr: Translator) -> Reply:
    what = describe(result.about, tr)
    if not result.found:
        return _reply(
            tr._(
                "This channel has no subscription for %(what)s. `/offer-status subscriptions` lists them.",
                what=what,
            )
        )
    if result.remaining is None:
        return _reply(tr._("This channel no longer gets alerts for %(what)s.", what=what))
    return _reply(
        tr._(
            "This channel now gets alerts for %(what)s only when: %(events)s.",
            what=what,
            events=event_words(result.remaining),
        )
    )


def render_notify_me(request: AlertRequest, *, tr: Translator) -> Reply:
    return _reply(
        tr._(
            "I will send you a direct message about %(what)s on: %(events)s.",
            what=describe(request.about, tr),
            events=event_words(request.events),
        )
    )


def render_muted(request: AlertRequest, *, tr: Translator) -> Reply:
    return _reply(
        tr._(
            "No more direct messages to you about %(what)s, not even as an owner of the offer. "
            "`/offer-status notify-me` turns them on again.",
            what=describe(request.about, tr),
        )
    )


def render_threading(on: bool, *, tr: Translator) -> Reply:
    return _reply(
        tr._("Follow-ups about an alerted offer now go in the thread of its first alert.")
        if on
        else tr._("Follow-ups about an alerted offer are now posted as new messages in this channel.")
    )


def render_language(language: Language, *, tr: Translator) -> Reply:
    return _reply(
        tr._("This channel's alerts are now written in French.")
        if language is Language.FR
        else tr._("This channel's alerts are now written in English.")
    )


def _line(view: SubscriptionView, *, warn: bool, tr: Translator) -> str:
    line = "• " + tr._("%(label)s: %(text)s", label=describe(view.about, tr), text=event_words(view.events))
    if warn and view.disabled_reason:
        disabled = tr._("disabled: Slack answered `%(error)s`", error=esc(view.disabled_reason))
        line += f" — :warning: {disabled}"
    return line


def render_subscriptions(subs: Subscriptions, *, tr: Translator) -> Reply:
    lines: list[str] = []
    if subs.channel is not None:
        title = tr._("This channel's alerts")
        lines.append(f"*{title}*" if subs.channel else tr._("This channel has no subscriptions."))
        lines += [_line(view, warn=True, tr=tr) for view in subs.channel]
    if subs.mine:
        mine = tr._("Your direct-message alerts")
        lines.append(f"*{mine}*")
        lines += [_line(view, warn=False, tr=tr) for view in subs.mine]
    lines.append(
        tr._("Owners (the offer's notification e-mails) also get direct messages unless they use `mute-me`.")
    )
    more = tr._("…more subscriptions than fit in one message: unsubscribe the ones you no longer need.")
    return Reply(text=truncate("\n".join(lines), MAX_SECTION), blocks=cap_blocks(sections("", lines), more))


def render_channel_change(
    change: Unsubscribed | bool | Language | DigestSetting, *, user_id: str, tr: Translator
) -> Reply:
    """The public note of a change to a channel's alerts: who changed what (subscribing has its own)."""
    if isinstance(change, DigestSetting):
        text = _digest_change(change, user_id=user_id, tr=tr)
    elif isinstance(change, Unsubscribed):
        what = describe(change.about, tr)
        if change.remaining is None:
            text = tr._(
                "<@%(user)s> unsubscribed this channel from alerts for %(what)s.", user=user_id, what=what
            )
        else:
            text = tr._(
                "<@%(user)s> changed this channel's alerts for %(what)s to: %(events)s.",
                user=user_id,
                what=what,
                events=event_words(change.remaining),
            )
    elif isinstance(change, Language):
        language = tr._("French") if change is Language.FR else tr._("English")
        text = tr._(
            "<@%(user)s> set the language of this channel's alerts to %(language)s.",
            user=user_id,
            language=language,
        )
    elif change:
        text = tr._(
            "<@%(user)s> turned threading on: follow-ups go in the thread of the first alert.", user=user_id
        )
    else:
        text = tr._("<@%(user)s> turned threading off: follow-ups are posted as new messages.", user=user_id)
    return _reply(f":gear: {text}")


def _digest_change(setting: DigestSetting, *, user_id: str, tr: Translator) -> str:
    if setting.at is None:
        return tr._("<@%(user)s> turned this channel's daily digest off.", user=user_id)
    return tr._(
        "<@%(user)s> set this channel's daily digest to %(at)s (%(tz)s).",
        user=user_id,
        at=setting.at,
        tz=esc(setting.tz or "UTC"),
    )

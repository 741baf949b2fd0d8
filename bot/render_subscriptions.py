"""Answers of the alert commands (subscribe, unsubscribe, notify-me, mute-me, settings,
subscriptions): pure functions of the use-cases' results."""

from __future__ import annotations

from collections.abc import Sequence

from bot.render import Reply, esc, section, sections
from bot.usecases.alerts import About, AlertRequest, Subscriptions, SubscriptionView, Unsubscribed


def describe(about: About) -> str:
    if about.kind == "all":
        return "all offers"
    if about.kind == "publisher":
        return f"publisher `{esc(about.publisher_id or '')}`"
    if about.gone:
        return "an offer that no longer exists"
    return f"*{esc(about.offer_name or '')}* (`{esc(about.offer_id or '')}`)"


def _events(events: Sequence[str]) -> str:
    return ", ".join(events)


def _reply(text: str) -> Reply:
    return Reply(text=text, blocks=[section(text)])


def render_subscribe_pending(request: AlertRequest) -> Reply:
    return _reply(
        f":hourglass_flowing_sand: Subscribing this channel to {describe(request.about)} "
        f"({_events(request.events)}): I will confirm in the channel."
    )


def render_subscription_confirmation(request: AlertRequest, *, user_id: str) -> Reply:
    """The public message that confirms a channel subscription (and proves the bot can post here)."""
    return _reply(
        f":bell: <@{user_id}> subscribed this channel to alerts for {describe(request.about)} "
        f"({_events(request.events)}). `/offer-status unsubscribe` stops them."
    )


def render_unsubscribed(result: Unsubscribed) -> Reply:
    what = describe(result.about)
    if not result.found:
        return _reply(
            f"This channel has no subscription for {what}. `/offer-status subscriptions` lists them."
        )
    if result.remaining is None:
        return _reply(f"This channel no longer gets alerts for {what}.")
    return _reply(f"This channel now gets alerts for {what} only when: {_events(result.remaining)}.")


def render_notify_me(request: AlertRequest) -> Reply:
    return _reply(
        f"I will send you a direct message about {describe(request.about)} on: {_events(request.events)}."
    )


def render_muted(request: AlertRequest) -> Reply:
    return _reply(
        f"No more direct messages to you about {describe(request.about)}, not even as an owner of the "
        "offer. `/offer-status notify-me` turns them on again."
    )


def render_threading(on: bool) -> Reply:
    return _reply(
        "Follow-ups about an alerted offer now go in the thread of its first alert."
        if on
        else "Follow-ups about an alerted offer are now posted as new messages in this channel."
    )


def _line(view: SubscriptionView, *, warn: bool) -> str:
    line = f"• {describe(view.about)}: {_events(view.events)}"
    if warn and view.disabled_reason:
        line += f" — :warning: disabled: Slack answered `{esc(view.disabled_reason)}`"
    return line


def render_subscriptions(subs: Subscriptions) -> Reply:
    lines: list[str] = []
    if subs.channel is not None:
        lines.append("*This channel's alerts*" if subs.channel else "This channel has no subscriptions.")
        lines += [_line(view, warn=True) for view in subs.channel]
    if subs.mine:
        lines.append("*Your direct-message alerts*")
        lines += [_line(view, warn=False) for view in subs.mine]
    lines.append(
        "Owners (the offer's notification e-mails) also get direct messages unless they use `mute-me`."
    )
    return Reply(text="\n".join(lines), blocks=sections("", lines))

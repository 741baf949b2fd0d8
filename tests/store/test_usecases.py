"""The alert use-cases, called first and directly on a real store, and their answers rendered."""

from __future__ import annotations

from sqlmodel import select

from bot.i18n import ENGLISH
from bot.render.subscriptions import (
    render_notify_me,
    render_subscriptions,
    render_unsubscribed,
)
from bot.usecases import subscriptions
from bot.usecases.subscriptions import AlertRequest
from storage import db
from storage.alerts.subscriptions import Target, disable_subscription
from storage.models import Mute, Subscription
from storage.reads.offers import Lookup
from tests.conftest import NOW, TEAM, load_samples

CHANNEL, USER = "C0USECASE", "U0USECASE"


def test_targets_resolve_to_requests_or_to_the_lookup(factory: db.SessionFactory) -> None:
    load_samples(factory)
    with factory() as s:
        everything = subscriptions.resolve_target(
            s, team_id=TEAM, target=Target(kind="all"), query="all", events=()
        )
        assert isinstance(everything, AlertRequest)
        assert (
            everything.events == ("failed", "delisted", "signoff", "stuck") and everything.about.kind == "all"
        )
        one = subscriptions.resolve_target(
            s, team_id=TEAM, target=None, query="woodgrove", events=("signoff",)
        )
        assert isinstance(one, AlertRequest) and one.events == ("signoff",)
        assert one.about.offer_id == "woodgrove-insights-app" and not one.about.gone
        none = subscriptions.resolve_target(s, team_id=TEAM, target=None, query="qqqqqq", events=())
        assert isinstance(none, Lookup) and len(none.matches) == 0


def test_unsubscribe_notify_me_and_the_list(factory: db.SessionFactory) -> None:
    load_samples(factory)
    with db.transaction(factory) as s:
        request = subscriptions.resolve_target(s, team_id=TEAM, target=None, query="woodgrove", events=())
        assert isinstance(request, AlertRequest)
        sub = subscriptions.save_subscription(
            s,
            team_id=TEAM,
            destination_kind="channel",
            destination=CHANNEL,
            user_id=USER,
            request=request,
            now=NOW,
        )
        subscriptions.mute_me(s, team_id=TEAM, user_id=USER, request=request, now=NOW)
        subscriptions.notify_me(s, team_id=TEAM, user_id=USER, request=request, now=NOW)
        assert s.exec(select(Mute)).all() == [], "notify-me lifts the mute of the same target"
        disable_subscription(s, subscription_id=sub.id, reason="is_archived", now=NOW)  # type: ignore[arg-type]
    with factory() as s:
        listed = subscriptions.list_subscriptions(s, team_id=TEAM, user_id=USER, channel_id=CHANNEL)
    assert listed.channel is not None and len(listed.channel) == 1 and len(listed.mine) == 1
    assert listed.channel[0].disabled_reason == "is_archived"
    text = render_subscriptions(listed, tr=ENGLISH).text
    assert (
        "*Woodgrove Insights &amp; Reporting* (`woodgrove-insights-app`): `failed`, `delisted`, `signoff`, `stuck`"
        in text
    )
    assert text.count("disabled: Slack answered `is_archived`") == 1
    assert "I will send you a direct message about *Woodgrove" in render_notify_me(request, tr=ENGLISH).text
    with db.transaction(factory) as s:
        failed_only = AlertRequest(target=request.target, events=("failed",), about=request.about)
        partial = subscriptions.unsubscribe_channel(s, team_id=TEAM, channel=CHANNEL, request=failed_only)
        assert partial.found and partial.remaining == ("delisted", "signoff", "stuck")
        gone = subscriptions.unsubscribe_channel(s, team_id=TEAM, channel=CHANNEL, request=request)
        assert gone.found and gone.remaining is None
        again = subscriptions.unsubscribe_channel(s, team_id=TEAM, channel=CHANNEL, request=request)
        assert not again.found
        assert s.exec(select(Subscription).where(Subscription.destination == CHANNEL)).all() == []
    assert "only when: `delisted`, `signoff`, `stuck`." in render_unsubscribed(partial, tr=ENGLISH).text
    assert "no longer gets alerts" in render_unsubscribed(gone, tr=ENGLISH).text
    assert "has no subscription for" in render_unsubscribed(again, tr=ENGLISH).text


def test_use_cases_that_change_something_check_the_actor_themselves(factory: db.SessionFactory) -> None:
    """Called directly, without the grammar: a guest can neither subscribe a channel nor set up their
    own alerts, a non-manager cannot subscribe where only managers may, and nothing is written."""
    from bot.usecases.access import AccessPolicy, Actor, PermissionDenied

    load_samples(factory)
    guest = Actor(user_id=USER, is_guest=True)
    member = Actor(user_id=USER)
    manager = Actor(user_id=USER, is_manager=True)
    managers_only = AccessPolicy(managers_only=True)
    args = subscriptions.AlertArgs(verb="subscribe", target=None, query="woodgrove", events=())
    with db.transaction(factory) as s:
        request = subscriptions.preview_subscribe(
            s, team_id=TEAM, channel=CHANNEL, actor=member, policy=AccessPolicy(), args=args
        )
        assert isinstance(request, AlertRequest)
        for actor, policy in ((guest, AccessPolicy(allow_guests=True)), (member, managers_only)):
            for call in (
                lambda: subscriptions.preview_subscribe(
                    s, team_id=TEAM, channel=CHANNEL, actor=actor, policy=policy, args=args
                ),
                lambda: subscriptions.subscribe_channel(
                    s,
                    team_id=TEAM,
                    channel=CHANNEL,
                    user_id=USER,
                    request=request,
                    now=NOW,
                    actor=actor,
                    policy=policy,
                ),
            ):
                try:
                    call()
                except PermissionDenied:
                    pass
                else:
                    raise AssertionError(f"{actor} under {policy} was let through")
        try:
            subscriptions.notify_me(
                s,
                team_id=TEAM,
                user_id=USER,
                request=request,
                now=NOW,
                actor=guest,
                policy=AccessPolicy(allow_guests=True),
            )
        except PermissionDenied:
            pass
        else:
            raise AssertionError("a guest set up notify-me")
        assert s.exec(select(Subscription)).all() == []
        subscriptions.subscribe_channel(
            s,
            team_id=TEAM,
            channel=CHANNEL,
            user_id=USER,
            request=request,
            now=NOW,
            actor=manager,
            policy=managers_only,
        )
        assert len(s.exec(select(Subscription)).all()) == 1

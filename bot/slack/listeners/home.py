"""The Home tab: published on ``app_home_opened`` and after every click on it (*Refresh*, *Remove*,
and the alert buttons of *Needs you*, which have no ``response_url``: the tab itself shows what the
click did). ``views.publish`` is called with the tab rendered in the reader's language."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.guard import Expired, StoreUnavailable, check_not_expired
from bot.render.blocks import Reply
from bot.render.help import error_text
from bot.render.home import HOME_REFRESH_ACTION, HOME_REMOVE_ACTION, render_home, render_refused
from bot.slack.errors import CALL_ERRORS, classify
from bot.slack.listeners import Deps, actor_of, guarded, team_of, user_of
from bot.usecases.certificates import certificate_files
from bot.usecases.connections import connections_panel
from bot.usecases.home import home_of, remove_alert
from storage import db
from storage.errors import OfferbotError

log = logging.getLogger(__name__)

HOME_EVENT = "app_home_opened"


def publish_home(deps: Deps, client: WebClient, *, team: str, user: str, notice: str | None = None) -> None:
    """Render the person's Home tab from the store and publish it. A store that does not answer in
    time leaves the tab as it was (and is logged); Slack's refusal is logged."""
    tr = deps.people.for_user(team_id=team, user_id=user)
    views: list[dict[str, Any]] = []

    def work(expired: Expired) -> Reply:
        actor = deps.roles.actor(team_id=team, user_id=user)
        try:
            with deps.session_factory() as session:
                home = home_of(session, team_id=team, user_id=user, actor=actor, policy=deps.policy)
                check_not_expired(expired)
        except OfferbotError as exc:  # a guest, where guests may not look offers up
            views.append(render_refused(":warning: " + error_text(exc, tr), tr=tr))
        else:
            panel = connections_panel(
                deps.session_factory,
                actor=actor,
                team_id=team,
                can_add=deps.sealer is not None,
                certificates=certificate_files(deps.certificate_dir, team),
            )
            home = replace(home, go_live=deps.publishers is not None, connections=panel)
            views.append(render_home(home, tr=tr, notice=notice))
        return Reply(text="")

    reply = guarded(deps, work)
    if not views:
        log.warning("home tab of %s not published: %s", user, reply.text)
        return
    try:
        client.views_publish(user_id=user, view=views[0])
    except CALL_ERRORS as exc:
        log.warning("could not publish the home tab of %s: %s", user, classify(exc).code)


def _remove(deps: Deps, body: dict[str, Any], action: dict[str, Any]) -> str | None:
    """The *Remove* button's use-case; the error to show on the tab, if any."""
    tr = deps.people.for_user(team_id=team_of(body), user_id=user_of(body))

    def work(expired: Expired) -> Reply:
        try:
            with db.transaction(deps.session_factory) as session:
                remove_alert(
                    session,
                    team_id=team_of(body),
                    key=action.get("value"),
                    actor=actor_of(deps, body),
                    policy=deps.policy,
                )
                check_not_expired(expired)
        except OfferbotError as exc:
            return Reply(text=":warning: " + error_text(exc, tr))
        return Reply(text="")

    reply = guarded(deps, work)
    return reply.text or None


def _clicker(body: dict[str, Any]) -> tuple[str, str] | None:
    try:
        team, user = team_of(body), user_of(body)
    except (OfferbotError, StoreUnavailable):
        return None
    return (team, user) if user else None


def register(app: App, deps: Deps) -> None:
    @app.event(HOME_EVENT)
    def home_opened(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") != "home" or not isinstance(event.get("user"), str):
            return  # the Messages tab, or not a person
        team = body.get("team_id") if isinstance(body.get("team_id"), str) else ""
        if team:
            publish_home(deps, client, team=team, user=event["user"])

    @app.action(HOME_REFRESH_ACTION)
    def refresh(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        who = _clicker(body)
        if who is not None:
            publish_home(deps, client, team=who[0], user=who[1])

    @app.action(HOME_REMOVE_ACTION)
    def remove(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        who = _clicker(body)
        if who is None:
            return
        notice = _remove(deps, body, action)
        log.info(
            "home: %s removed %s at %s: %s",
            who[1],
            action.get("value"),
            deps.clock().isoformat(),
            notice or "done",
        )
        publish_home(deps, client, team=who[0], user=who[1], notice=notice)

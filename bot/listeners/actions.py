"""Buttons: the alerts' *Show status* and *Open Partner Center*, and the list's page buttons."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot import commands
from bot.alerts import OPEN_STATUS_ACTION, PARTNER_CENTER_ACTION
from bot.listeners import Deps, answer, reader, reply_kwargs, team_of
from bot.render import LIST_PAGE_ACTION, Reply


def register(app: App, deps: Deps) -> None:
    def button_answer(body: dict[str, Any], action: dict[str, Any], compute: Callable[..., Reply]) -> Reply:
        """A button's answer from its value, computed on a read session, in the clicker's language."""
        team, tr = team_of(body), reader(deps, body)

        def run() -> Reply:
            with deps.session_factory() as session:
                return compute(session, team_id=team, value=str(action.get("value", "")), tr=tr)

        return answer(run, tr)

    @app.action(OPEN_STATUS_ACTION)
    def open_status_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        reply = button_answer(body, action, commands.offer_card)
        respond(replace_original=False, response_type="ephemeral", **reply_kwargs(reply))

    @app.action(PARTNER_CENTER_ACTION)
    def partner_center_link(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL, the app only acknowledges

    @app.action({"action_id": re.compile(rf"^{LIST_PAGE_ACTION}(:\d+)?$")})
    def list_page_action(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        reply = button_answer(body, action, commands.handle_page_action)
        respond(replace_original=True, response_type="ephemeral", **reply_kwargs(reply))

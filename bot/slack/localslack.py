"""The shell's Slack: a Web API client that answers on the spot and prints, as text, what the bot
would post (``chat.postMessage``, ``chat.update``), so the real watcher can run inside ``offerbot
shell`` and show its alerts and DMs. Nothing leaves the process: no token, no network."""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse

from bot.i18n import ENGLISH, Translator
from bot.render.textview import blocks_to_text

LOCAL_TOKEN = "xoxb-local-shell"  # noqa: S105 (not a secret: it never leaves the process)
BOT_USER = "U0OFFERBOT"


def email_user(email: str) -> str:
    """The made-up Slack user of an owner's e-mail address in the shell (stable, upper-case hex)."""
    return "U0" + hashlib.sha256(email.lower().encode()).hexdigest()[:9].upper()


class LocalSlack(WebClient):
    """Answers every Web API call in process; posts and updates are printed through ``out``. It
    retries nothing (there is nothing to retry), so the watcher uses it as its posting client."""

    def __init__(
        self, *, out: Callable[[str], None], team_id: str, user_id: str, tr: Translator = ENGLISH
    ) -> None:
        super().__init__(token=LOCAL_TOKEN, base_url="http://127.0.0.1:9/api/", retry_handlers=[])
        self.out, self.team_id, self.user_id, self.tr = out, team_id, user_id, tr
        self.owners: dict[str, str] = {}
        """Made-up user id -> the owner's e-mail, for the DM headers."""
        self._ts = itertools.count(1)

    def api_call(self, api_method: str, *, http_verb: str = "POST", **kwargs: Any) -> SlackResponse:
        args: dict[str, Any] = {}
        for part in ("params", "data", "json"):
            args.update(kwargs.get(part) or {})
        body = self._answer(api_method, args)
        response = SlackResponse(
            client=self,
            http_verb=http_verb,
            api_url=self.base_url + api_method,
            req_args={},
            data=body,
            headers={},
            status_code=200,
        )
        if not body.get("ok"):
            raise SlackApiError(f"{api_method}: {body.get('error')}", response)  # type: ignore[no-untyped-call]
        return response

    def _where(self, channel: str) -> str:
        if channel.startswith("D"):
            user = channel[1:]
            if user == self.user_id:
                return self.tr._("direct message to you")
            return self.tr._("direct message to %(who)s", who=self.owners.get(user, user))
        return f"#{channel}"

    def _show(self, heading: str, args: dict[str, Any]) -> None:
        blocks = args.get("blocks")
        text = (
            blocks_to_text(blocks, self.tr)
            if isinstance(blocks, list) and blocks
            else str(args.get("text", ""))
        )
        self.out(f"--- {heading} ---\n{text}\n")

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage":
            channel = str(args.get("channel", ""))
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            where = self._where(channel)
            if args.get("thread_ts"):
                where = self.tr._("%(where)s, in the thread of %(ts)s", where=where, ts=args["thread_ts"])
            self._show(where, args)
            return {"ok": True, "channel": channel, "ts": ts}
        if method == "chat.update":
            where = self.tr._(
                "%(where)s, message %(ts)s updated",
                where=self._where(str(args.get("channel"))),
                ts=args.get("ts"),
            )
            self._show(where, args)
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "")).split(",")[0]}}
        if method == "users.lookupByEmail":
            email = str(args.get("email", ""))
            user = email_user(email)
            self.owners[user] = email
            return {"ok": True, "user": {"id": user, "team_id": self.team_id}}
        return self._quiet(method, args)

    def _quiet(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        """The calls that post nothing: who the bot, a user or a channel is."""
        if method == "auth.test":
            return {"ok": True, "team_id": self.team_id, "user_id": BOT_USER, "bot_id": "B0OFFERBOT"}
        if method == "users.info":
            user = str(args.get("user", ""))
            locale = "fr-FR" if self.tr.language.value == "fr" else "en-US"
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "team_id": self.team_id,
                    "locale": locale,
                    "tz": "UTC",
                    "is_admin": False,  # the shell's user acts as a manager, not as a workspace admin
                },
            }
        if method in ("conversations.history", "conversations.replies"):
            return {"ok": True, "messages": [], "has_more": False}
        if method == "conversations.info":
            channel = {"id": args.get("channel"), "is_member": True, "is_private": False}
            return {"ok": True, "channel": channel}
        if method == "conversations.members":
            return {"ok": True, "members": [self.user_id], "response_metadata": {"next_cursor": ""}}
        if method == "usergroups.list":
            return {"ok": True, "usergroups": []}
        return {"ok": True}

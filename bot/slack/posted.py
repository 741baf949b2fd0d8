"""Sends whose outcome is unknown: the request may have reached Slack, but the answer was lost (the
connection died, or the process was killed between posting and recording it).

Every message offerbot posts carries its outbox row's key as Slack message metadata
(``event_type`` ``offerbot_delivery``). Before posting a row again whose earlier attempt has an
unknown outcome, the watcher looks for that key among the channel's (or the thread's) messages since
the attempt began: found, the row is recorded as sent with that message; not found, it is posted.
Reading history needs the ``*:history`` scopes; an install without them posts again (at least once)
and says so in the log.
"""

from __future__ import annotations

import http.client
import logging
import socket
import urllib.error
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.localslack import LocalSlack

log = logging.getLogger(__name__)

EVENT_TYPE = "offerbot_delivery"
LOOK_BACK = timedelta(minutes=2)
"""How far before the unknown attempt began the search starts (clocks of two processes differ)."""
PAGES = 5
"""Pages of 200 messages read at most: a busy channel's older messages cannot be this attempt's."""


def metadata_for(delivery_id: int) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"delivery": str(delivery_id)}}


def may_have_reached_slack(exc: BaseException) -> bool:
    """False only when the request surely never left (no connection was made); True otherwise."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ConnectionRefusedError | socket.gaierror):
        return False
    return isinstance(reason, OSError | http.client.HTTPException)


def posting_client(client: WebClient) -> WebClient:
    """The same Web API, retrying nothing itself: the outbox is a post's one retry layer (a 429 waits
    its ``Retry-After`` there, a 5xx backs off there, and neither holds the watcher asleep), and a
    connection error may come after Slack received the message, so it is left to the watcher's
    check, never repeated blind. The shell's in-process client is its own posting client."""
    if isinstance(client, LocalSlack):
        return client
    return WebClient(token=client.token, base_url=client.base_url, timeout=client.timeout, retry_handlers=[])


def _carries(message: dict[str, Any], delivery_id: int) -> bool:
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != EVENT_TYPE:
        return False
    payload = metadata.get("event_payload")
    return isinstance(payload, dict) and payload.get("delivery") == str(delivery_id)


def find_posted(
    client: WebClient, *, channel: str, thread_ts: str | None, delivery_id: int, since: datetime
) -> str | None:
    """The ts of the message carrying ``delivery_id`` in ``channel`` (or the thread) since ``since``;
    None when there is none. Raises ``SlackApiError`` when Slack will not show the history."""
    oldest = f"{(since - LOOK_BACK).timestamp():.6f}"
    cursor: str | None = None
    for _ in range(PAGES):
        args: dict[str, Any] = {"channel": channel, "oldest": oldest, "limit": 200}
        args.update(include_all_metadata=True, **({"cursor": cursor} if cursor else {}))
        if thread_ts:
            page = client.conversations_replies(ts=thread_ts, **args)
        else:
            page = client.conversations_history(**args)
        for message in page.get("messages") or []:
            if isinstance(message, dict) and _carries(message, delivery_id):
                return str(message.get("ts"))
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return None
    return None


def check_history(
    client: WebClient, *, channel: str, thread_ts: str | None, delivery_id: int, since: datetime
) -> str | None:
    """:func:`find_posted`, or None with a warning when Slack refuses to show the history (an install
    without the history scopes, a channel the bot left): the row is then posted again."""
    try:
        return find_posted(client, channel=channel, thread_ts=thread_ts, delivery_id=delivery_id, since=since)
    except SlackApiError as exc:
        code = exc.response.get("error") if exc.response is not None else "unknown"
        if exc.response is not None and (exc.response.status_code >= 500 or exc.response.status_code == 429):
            raise  # Slack is down or busy: the watcher tries again later
        log.warning(
            "delivery %s: could not look for an earlier attempt in %s (%s): posting it again",
            delivery_id,
            channel,
            code,
        )
        return None

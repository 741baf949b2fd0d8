"""``offerbot alert test --channel C…``: the operator's test alert. It is queued through the same
use-case as ``/offer-status test-alert`` and sent by the running watcher (``serve``, ``jobs`` or
``watch``) like a real alert; the command then waits for the outcome and says it, with the fix when
Slack refused it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.clock import utc_now
from bot.i18n import ENGLISH
from bot.render.lists import render_lookup
from bot.render.textview import blocks_to_text
from bot.usecases.access import OPEN, OPERATOR
from bot.usecases.testalert import queue_test_alert
from storage import db
from storage.alerts.outbox import delivery_state
from storage.errors import UsageError
from storage.reads.offers import Lookup
from storage.slack_codes import Fix, fix_for
from storage.statuses import DeliveryState
from storage.workspaces import default_team

FIXES = {
    Fix.INVITE: "invite the bot to the channel (/invite @offerbot), then run this again",
    Fix.INVITE_OR_ANOTHER_CHANNEL: "invite the bot to the channel, or pick another channel",
    Fix.UNARCHIVED_CHANNEL: "the channel is archived: unarchive it or pick another",
    Fix.REINSTALL: "reinstall the app to the workspace",
    Fix.REINSTALL_FROM_MANIFEST: "reinstall the app from manifest.yml (a scope is missing)",
}


@dataclass(frozen=True)
class Outcome:
    """What the command prints and its exit status."""

    lines: tuple[str, ...]
    status: int


def queue(factory: db.SessionFactory, *, channel: str, offer: str, team: str | None) -> tuple[int, str]:
    """Queue the test alert; returns its outbox key and a line saying what was queued."""
    if not (channel[:1] in "CG" and channel.isalnum() and channel.isascii() and 9 <= len(channel) <= 20):
        raise UsageError(
            f"--channel takes a channel id (C…, as a channel's details show it), got {channel!r}"
        )
    with db.transaction(factory) as session:
        found = queue_test_alert(
            session,
            team_id=team or default_team(session),
            channel=channel,
            query=offer,
            actor=OPERATOR,
            policy=OPEN,
            now=utc_now(),
        )
    if isinstance(found, Lookup):
        raise UsageError(blocks_to_text(render_lookup(found, tr=ENGLISH).blocks))
    return found.delivery_id, f"test alert about {found.offer_name} ({found.offer_id}) queued for {channel}"


def wait_for(
    factory: db.SessionFactory,
    *,
    delivery_id: int,
    seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Poll the outbox row until it is sent or failed, or ``seconds`` have passed."""
    deadline = monotonic() + seconds
    while True:
        with factory() as session:
            row = delivery_state(session, delivery_id=delivery_id)
        if row is not None and row.state == DeliveryState.SENT:
            return Outcome((f"sent: message {row.ts} in {row.channel}",), 0)
        if row is not None and row.state == DeliveryState.FAILED:
            code = row.last_error or "error"
            fix = fix_for(code)
            hint = f": {FIXES[fix]}" if fix is not None else ""
            return Outcome((f"Slack refused it ({code}){hint}",), 1)
        if monotonic() >= deadline:
            tried = f" (tried {row.attempts} time(s): {row.last_error})" if row and row.attempts else ""
            line = (
                f"not sent yet{tried}: the watcher sends it when it runs "
                "(offerbot serve, offerbot jobs, or offerbot watch --once)"
            )
            return Outcome((line,), 0 if seconds == 0 else 1)
        sleep(0.25)

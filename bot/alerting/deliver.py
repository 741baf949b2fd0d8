"""The deliverer: sends one claimed row after another, each in short transactions around, never
during, its Web API calls; the outbox is its one retry layer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.alerting.outcomes import UNINSTALLED_RETRY, Outcome, SlackTransient, Unknown, WatcherConfig
from bot.alerting.pacer import Pacer
from bot.alerting.plan import Plan, Planner, Post
from bot.clock import Clock, Sleep
from bot.metrics import SLACK_ERRORS
from bot.render.blocks import Reply
from bot.slack.clients import Clients
from bot.slack.errors import NETWORK_ERRORS, SlackFailure, classify
from bot.slack.posted import check_history, may_have_reached_slack, metadata_for, posting_client
from storage import db
from storage.alerts import outbox, threads
from storage.alerts.subscriptions import disable_subscription
from storage.models import Delivery
from storage.statuses import DeliveryKind

log = logging.getLogger(__name__)
T = TypeVar("T")


class Deliverer:
    """Sends claimed rows one by one. Database work happens in short transactions around, never
    during, the Web API calls."""

    def __init__(
        self,
        *,
        session_factory: db.SessionFactory,
        clients: Clients,
        clock: Clock,
        sleep: Sleep,
        config: WatcherConfig,
        worker: str,
        pacer: Pacer | None = None,
    ) -> None:
        self.factory, self.clients, self.clock = session_factory, clients, clock
        self.config, self.worker = config, worker
        self.pacer = pacer or Pacer(
            clock=clock, sleep=sleep, interval=config.channel_interval, factory=session_factory
        )
        self._posting: dict[str | None, WebClient] = {}
        self.planner = Planner(clock=clock, config=config)

    def _poster(self, client: WebClient) -> WebClient:
        if client.token not in self._posting:
            self._posting[client.token] = posting_client(client)
        return self._posting[client.token]

    # --- Web API calls; each raises SlackTransient, or SlackApiError for a permanent error ---------
    @staticmethod
    def _call(method: str, call: Callable[[], T], *, posting: bool = False) -> T:
        try:
            return call()
        except SlackApiError as exc:
            failure = classify(exc)
            SLACK_ERRORS.labels(method=method, code=failure.code).inc()
            if failure.transient:
                raise SlackTransient(f"{method}: {failure.code}", retry_after=failure.retry_after) from exc
            raise
        except NETWORK_ERRORS as exc:
            SLACK_ERRORS.labels(method=method, code=classify(exc).code).inc()
            kind = Unknown if posting and may_have_reached_slack(exc) else SlackTransient
            raise kind(f"{method}: {classify(exc).code}") from exc

    def _post(
        self, post: Post, reply: Reply, client: WebClient, *, key: int, earlier: datetime | None
    ) -> tuple[str, str]:
        """Post ``post`` with its key as metadata; when an earlier attempt's outcome is unknown, first
        look for it in the channel (or thread), and take the message found instead of posting again."""
        client = self._poster(client)  # no retry of its own: the outbox retries (Retry-After, backoff)
        channel = post.channel
        if channel is None:
            opened = self._call("conversations.open", lambda: client.conversations_open(users=post.dm_user))
            channel = str(opened["channel"]["id"])
        target = channel
        if earlier is not None:
            since, thread = earlier, post.thread_ts
            found = self._call(
                "conversations.history",
                lambda: check_history(client, channel=target, thread_ts=thread, delivery_id=key, since=since),
            )
            if found is not None:
                log.info("delivery %s: the earlier attempt had posted it (%s); not posting again", key, found)
                return channel, found
        self.pacer.wait(channel)
        posted = self._call(
            "chat.postMessage",
            lambda: client.chat_postMessage(
                channel=target,
                text=reply.text,
                blocks=reply.blocks,
                unfurl_links=False,
                unfurl_media=False,
                thread_ts=post.thread_ts,
                reply_broadcast=post.broadcast if post.thread_ts else None,
                metadata=metadata_for(key),
            ),
            posting=True,
        )
        return channel, str(posted["ts"])

    # --- one delivery -------------------------------------------------------------------------
    def deliver(self, delivery_id: int) -> Outcome:
        """Send one claimed row; one log line per attempt, with the row's key and the outcome."""
        started = time.perf_counter()
        outcome = self._deliver(delivery_id)
        log.info(
            "delivery %s: %s",
            delivery_id,
            outcome.value,
            extra={
                "delivery": delivery_id,
                "outcome": outcome.value,
                "worker": self.worker,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return outcome

    def _deliver(self, delivery_id: int) -> Outcome:
        with db.transaction(self.factory) as session:
            row = session.get(Delivery, delivery_id)
            now = self.clock()
            if row is None or not outbox.still_mine(row, worker=self.worker, now=now):
                return Outcome.SKIPPED  # another process took it over after our lease ran out
            row.lease_until = now + self.config.lease  # a fresh lease for this send
            plan = self.planner.plan(session, row)
            client = self.clients.for_team(row.team_id)
            if client is None:  # the workspace uninstalled the app: kept for a reinstall
                outbox.retry_later(row, now=now, error="no installation", delay=UNINSTALLED_RETRY)
                return Outcome.SKIPPED
            earlier = outbox.mark_sending(row, now=now) if plan.post is not None else row.sending_at
        if plan.post is None:
            self._finish(delivery_id, plan, channel=None, ts=None)
            return Outcome.SKIPPED
        reply = plan.post.render()  # outside the transaction: a slow render holds no lock
        try:
            channel, ts = self._post(plan.post, reply, client, key=delivery_id, earlier=earlier)
        except SlackTransient as exc:
            return self._retry(delivery_id, exc, unknown=isinstance(exc, Unknown) or earlier is not None)
        except SlackApiError as exc:
            return self._fail(delivery_id, classify(exc))
        thread = self._finish(delivery_id, plan, channel=channel, ts=ts)
        root = plan.root
        if root is not None and thread is not None:
            self._update_root(thread, root(), client)
        return Outcome.SENT

    def _retry(self, delivery_id: int, exc: SlackTransient, *, unknown: bool) -> Outcome:
        """Keep the row for later; ``unknown``: it may have been posted, so look for it first then."""
        log.warning("delivery %s: %s; will retry%s", delivery_id, exc, " (looking first)" if unknown else "")
        with db.transaction(self.factory) as session:
            row = session.get(Delivery, delivery_id)
            if row is not None:
                delay = exc.retry_after
                outbox.retry_later(row, now=self.clock(), error=str(exc), delay=delay, maybe_sent=unknown)
        return Outcome.RETRY

    def _fail(self, delivery_id: int, failure: SlackFailure) -> Outcome:
        with db.transaction(self.factory) as session:
            row = session.get(Delivery, delivery_id)
            if row is not None:
                outbox.mark_failed(row, error=failure.code)
                self._on_permanent(session, row, failure)
        return Outcome.FAILED

    def _update_root(self, thread: tuple[str, str], root: Reply, client: WebClient) -> None:
        """Show the current status on the thread's first alert: best effort, logged when it fails."""
        channel, ts = thread
        poster = self._poster(client)
        try:
            self._call(
                "chat.update",
                lambda: poster.chat_update(channel=channel, ts=ts, text=root.text, blocks=root.blocks),
            )
        except (SlackTransient, SlackApiError) as exc:
            log.warning("could not update the alert %s in %s: %s", ts, channel, exc)

    def _finish(
        self, delivery_id: int, plan: Plan, *, channel: str | None, ts: str | None
    ) -> tuple[str, str] | None:
        """Record the post and the thread it starts or continues, in one transaction. Returns the
        thread's root (channel, ts) when the root message should be updated."""
        with db.transaction(self.factory) as session:
            return threads.record_post(
                session,
                delivery_id=delivery_id,
                channel=channel,
                ts=ts,
                move=plan.thread,
                now=self.clock(),
                remind_after=self.config.remind_after,
            )

    def _on_permanent(self, session: Session, row: Delivery, failure: SlackFailure) -> None:
        error = failure.code
        log.error(
            "delivery %s to %s %s failed for good: %s", row.id, row.destination_kind, row.destination, error
        )
        sub_id = row.subscription_id
        if not failure.disables or sub_id is None or row.kind == DeliveryKind.NOTICE:
            return
        sub = disable_subscription(session, subscription_id=sub_id, reason=error, now=self.clock())
        if sub is None:
            return
        log.warning("subscription %s of %s disabled: %s", sub.id, sub.destination, error)
        outbox.add_notice(session, row=row, creator=sub.created_by, subscription_id=sub_id, now=self.clock())

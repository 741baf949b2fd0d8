"""Who a person is to offerbot: the language to write to them in (their Slack locale, ``users.info``
with ``include_locale``, asked again at most once a day; ``fr-*`` is French, anything else English;
when Slack or the store cannot answer, English or the last answer, and no error) and their roles
(asked again after ten minutes; when Slack cannot answer, unknown, and changes are refused)."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.clock import Clock
from bot.i18n import DEFAULT, Language, Translator, language_of, translator
from bot.slack.clients import Clients
from bot.slack.errors import NETWORK_ERRORS, classify
from bot.slack.localslack import LocalSlack
from storage import db
from storage.channels import language_for
from storage.people import (
    LOCALE_TTL,
    ROLES_TTL,
    Profile,
    cached_locale,
    cached_roles,
    cached_time_zone,
    record_profile,
)

log = logging.getLogger(__name__)

_LOOKUP_ERRORS: tuple[type[BaseException], ...] = (SlackClientError, KeyError, TypeError, *NETWORK_ERRORS)
LOOKUP_TIMEOUT = 1
"""Seconds ``users.info`` may take: an unknown locale is English, a late ack is a lost answer."""
RETRY_FAILED_AFTER = timedelta(minutes=10)
"""A user whose locale Slack could not give is not asked again before this."""


def quick_client(client: WebClient) -> WebClient:
    """The same Web API with a short timeout and no retries at all (slack_sdk's default retries a
    connection error once), so a look-up never holds an answer past Slack's 3 seconds. The shell's
    in-process client is its own."""
    if isinstance(client, LocalSlack):
        return client
    return WebClient(token=client.token, base_url=client.base_url, timeout=LOOKUP_TIMEOUT, retry_handlers=[])


def user_language(session: Session, *, team_id: str, user_id: str, now: datetime) -> Language:
    """A user's language from the cache only (no Slack call), English when unknown."""
    _, locale = cached_locale(session, team_id=team_id, user_id=user_id, now=now)
    return language_of(locale)


def channel_language(session: Session, *, team_id: str, channel: str, default: Language) -> Language:
    """The language set with ``settings language``, else the default (``OFFERBOT_LANGUAGE``)."""
    chosen = language_for(session, team_id=team_id, channel=channel)
    return language_of(chosen) if chosen else default


class People:
    """Who reads and who acts: users' languages (their Slack locale) and roles (admin or owner,
    guest), and channels' languages (their setting, else the default).

    Slack's ``users.info`` is asked through a quick client (1 s, no retries), once for both: the
    locale is trusted for a day, the roles for ten minutes. With ``background=True`` (the app's
    listeners) an answer is cached in the store by a worker thread, so an answer never waits for the
    store's write lock; it is also remembered in this process at once, and a failure for ten
    minutes."""

    def __init__(
        self,
        *,
        session_factory: db.SessionFactory,
        clients: Clients,
        clock: Clock,
        default: Language = DEFAULT,
        background: bool = False,
    ) -> None:
        self.factory, self.clock, self.default = session_factory, clock, default
        self.clients = clients
        self._quick: dict[int, WebClient] = {}
        self._asked: dict[tuple[str, str], tuple[datetime, Profile]] = {}
        """(team, user) to when Slack answered and what it said, in this process."""
        self._failed: dict[tuple[str, str], datetime] = {}
        """(team, user) to when Slack may be asked again after a failure."""
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="user-cache") if background else None

    def cached(self, *, team_id: str, user_id: str) -> Language:
        """The user's language from the cache only (no Slack call), English when unknown or when the
        store fails: the error handler asks this, and must never fail itself."""
        try:
            with self.factory() as session:
                return user_language(session, team_id=team_id, user_id=user_id, now=self.clock())
        except Exception:
            return DEFAULT

    def _recent(self, key: tuple[str, str], now: datetime, ttl: timedelta) -> Profile | None:
        asked = self._asked.get(key)
        return asked[1] if asked is not None and asked[0] + ttl > now else None

    def _lookup(self, team_id: str, user_id: str, now: datetime) -> Profile | None:
        """Ask Slack (unless it failed for this user in the last ten minutes) and cache the answer."""
        key = (team_id, user_id)
        if self._failed.get(key, now) > now:
            return None
        profile = self._ask(team_id, user_id)
        if profile is None:
            self._failed[key] = now + RETRY_FAILED_AFTER
            return None
        self._asked[key] = (now, profile)
        if self._writer is not None:
            self._writer.submit(self._record, team_id, user_id, profile, now)
        else:
            self._record(team_id, user_id, profile, now)
        return profile

    def of_user(self, *, team_id: str, user_id: str) -> Language:
        """The user's language, asking Slack when the cached answer is missing or a day old."""
        if not user_id:
            return DEFAULT
        now = self.clock()
        recent = self._recent((team_id, user_id), now, LOCALE_TTL)
        if recent is not None:
            return language_of(recent.locale)
        try:
            with self.factory() as session:
                fresh, locale = cached_locale(session, team_id=team_id, user_id=user_id, now=now)
        except SQLAlchemyError as exc:
            log.warning("cannot read the cached locale of %s: %s", user_id, exc.__class__.__name__)
            return DEFAULT
        if fresh:
            return language_of(locale)
        asked = self._lookup(team_id, user_id, now)
        return language_of(asked.locale if asked is not None else locale)  # else the last answer

    def roles_of(self, *, team_id: str, user_id: str) -> Profile | None:
        """The user's roles, read less than ten minutes ago; None when Slack cannot say now."""
        if not user_id:
            return None
        now = self.clock()
        recent = self._recent((team_id, user_id), now, ROLES_TTL)
        if recent is not None:
            return recent
        try:
            with self.factory() as session:
                cached = cached_roles(session, team_id=team_id, user_id=user_id, now=now)
        except SQLAlchemyError:
            cached = None
        return cached or self._lookup(team_id, user_id, now)

    def _record(self, team_id: str, user_id: str, profile: Profile, now: datetime) -> None:
        try:
            with db.transaction(self.factory) as session:
                record_profile(session, team_id=team_id, user_id=user_id, profile=profile, now=now)
        except SQLAlchemyError as exc:
            log.warning("cannot cache the profile of %s: %s", user_id, exc.__class__.__name__)

    def client_for(self, team_id: str) -> WebClient | None:
        """The workspace's client with a short timeout and no retries (see :func:`quick_client`)."""
        client = self.clients.for_team(team_id)
        if client is None:
            return None
        if id(client) not in self._quick:
            self._quick[id(client)] = quick_client(client)
        return self._quick[id(client)]

    def _ask(self, team_id: str, user_id: str) -> Profile | None:
        """What Slack says of the user, or None when Slack could not be asked."""
        client = self.client_for(team_id)
        if client is None:
            return None
        try:
            user = client.users_info(user=user_id, include_locale=True).get("user")
        except _LOOKUP_ERRORS as exc:
            log.info("users.info for %s failed (%s)", user_id, classify(exc).code)
            return None
        if not isinstance(user, dict):
            return None
        return Profile(
            locale=str(user.get("locale") or "") or None,
            tz=str(user.get("tz") or "")[:64] or None,
            is_admin=any(user.get(k) is True for k in ("is_admin", "is_owner", "is_primary_owner")),
            is_guest=any(user.get(k) is True for k in ("is_restricted", "is_ultra_restricted")),
        )

    def time_zone(self, *, team_id: str, user_id: str) -> str | None:
        """The user's time zone as Slack last gave it (asked with the roles), else the cached one."""
        recent = self._recent((team_id, user_id), self.clock(), ROLES_TTL)
        if recent is not None and recent.tz:
            return recent.tz
        try:
            with self.factory() as session:
                return cached_time_zone(session, team_id=team_id, user_id=user_id)
        except SQLAlchemyError:
            return None

    def of_channel(self, *, team_id: str, channel: str) -> Language:
        """The language set with ``settings language``, else ``OFFERBOT_LANGUAGE``."""
        try:
            with self.factory() as session:
                return channel_language(session, team_id=team_id, channel=channel, default=self.default)
        except SQLAlchemyError:
            return self.default

    def for_user(self, *, team_id: str, user_id: str) -> Translator:
        return translator(self.of_user(team_id=team_id, user_id=user_id))

    def for_channel(self, *, team_id: str, channel: str) -> Translator:
        return translator(self.of_channel(team_id=team_id, channel=channel))

"""Which language to write to a person in: their Slack locale (``users.info`` with
``include_locale``), cached in the store and asked again at most once a day. ``fr-*`` is French,
anything else English; when Slack or the store cannot answer, English (or the last answer), and no
error: a language is never a reason to fail an answer or an alert."""

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
from bot.slack_errors import NETWORK_ERRORS, classify
from storage import db
from storage.subscriptions import LOCALE_TTL, cached_locale, language_for, record_locale

log = logging.getLogger(__name__)

_LOOKUP_ERRORS: tuple[type[BaseException], ...] = (SlackClientError, KeyError, TypeError, *NETWORK_ERRORS)
LOOKUP_TIMEOUT = 1
"""Seconds ``users.info`` may take: an unknown locale is English, a late ack is a lost answer."""
RETRY_FAILED_AFTER = timedelta(minutes=10)
"""A user whose locale Slack could not give is not asked again before this."""


def quick_client(client: WebClient) -> WebClient:
    """The same Web API with a short timeout and no retries at all (slack_sdk's default retries a
    connection error once), so a look-up never holds an answer past Slack's 3 seconds."""
    return WebClient(token=client.token, base_url=client.base_url, timeout=LOOKUP_TIMEOUT, retry_handlers=[])


def user_language(session: Session, *, team_id: str, user_id: str, now: datetime) -> Language:
    """A user's language from the cache only (no Slack call), English when unknown."""
    _, locale = cached_locale(session, team_id=team_id, user_id=user_id, now=now)
    return language_of(locale)


def channel_language(session: Session, *, team_id: str, channel: str, default: Language) -> Language:
    """The language set with ``settings language``, else the default (``OFFERBOT_LANGUAGE``)."""
    chosen = language_for(session, team_id=team_id, channel=channel)
    return language_of(chosen) if chosen else default


class Languages:
    """Languages of users (their Slack locale) and of channels (their setting, else the default).

    Slack is asked through a quick client (1 s, no retries). With ``background=True`` (the app's
    listeners) a new answer of Slack is cached in the store by a worker thread, so an answer never
    waits for the store's write lock; it is also remembered in this process at once, and so is a
    failure, for ten minutes."""

    def __init__(
        self,
        *,
        session_factory: db.SessionFactory,
        client: WebClient,
        clock: Clock,
        default: Language = DEFAULT,
        background: bool = False,
    ) -> None:
        self.factory, self.clock, self.default = session_factory, clock, default
        self.client = quick_client(client)
        self._recent: dict[tuple[str, str], tuple[datetime, str | None]] = {}
        """(team, user) to (until when it holds, the locale) for answers and failures of this process."""
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="locale-cache") if background else None

    def cached(self, *, team_id: str, user_id: str) -> Language:
        """The user's language from the cache only (no Slack call), English when unknown or when the
        store fails: the error handler asks this, and must never fail itself."""
        try:
            with self.factory() as session:
                return user_language(session, team_id=team_id, user_id=user_id, now=self.clock())
        except Exception:
            return DEFAULT

    def of_user(self, *, team_id: str, user_id: str) -> Language:
        """The user's language, asking Slack when the cached answer is missing or a day old."""
        if not user_id:
            return DEFAULT
        now = self.clock()
        recent = self._recent.get((team_id, user_id))
        if recent is not None and recent[0] > now:
            return language_of(recent[1])
        try:
            with self.factory() as session:
                fresh, locale = cached_locale(session, team_id=team_id, user_id=user_id, now=now)
        except SQLAlchemyError as exc:
            log.warning("cannot read the cached locale of %s: %s", user_id, exc.__class__.__name__)
            return DEFAULT
        if fresh:
            return language_of(locale)
        asked = self._ask(user_id)
        if asked is None:  # Slack did not answer: the last answer, or English, for a while
            self._recent[(team_id, user_id)] = (now + RETRY_FAILED_AFTER, locale)
            return language_of(locale)
        self._recent[(team_id, user_id)] = (now + LOCALE_TTL, asked or None)
        if self._writer is not None:
            self._writer.submit(self._record, team_id, user_id, asked or None, now)
        else:
            self._record(team_id, user_id, asked or None, now)
        return language_of(asked)

    def _record(self, team_id: str, user_id: str, locale: str | None, now: datetime) -> None:
        try:
            with db.transaction(self.factory) as session:
                record_locale(session, team_id=team_id, user_id=user_id, locale=locale, now=now)
        except SQLAlchemyError as exc:
            log.warning("cannot cache the locale of %s: %s", user_id, exc.__class__.__name__)

    def _ask(self, user_id: str) -> str | None:
        """The user's Slack locale ("" when Slack has none), or None when Slack could not be asked."""
        try:
            user = self.client.users_info(user=user_id, include_locale=True).get("user")
        except _LOOKUP_ERRORS as exc:
            log.info("users.info for %s failed (%s): writing in English", user_id, classify(exc).code)
            return None
        return str(user.get("locale") or "") if isinstance(user, dict) else ""

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

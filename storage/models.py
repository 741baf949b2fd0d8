"""SQLModel tables. Every row belongs to a Slack workspace (``team_id``) and every query filters by it.

The schema is created and upgraded by the Alembic migrations in ``storage/migrations``;
``tests/store/test_migrations.py`` checks that these models and the migrations agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

# Stable constraint and index names, so migrations can refer to them on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

LOCAL_TEAM = "local"
"""The workspace of data stored before the bot knew its Slack workspace (see ``workspaces.py``)."""


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite keeps no zone of its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


class Workspace(SQLModel, table=True):
    """A Slack workspace the bot serves. With one bot token there is one, marked default."""

    __tablename__ = "workspace"

    team_id: str = Field(primary_key=True, max_length=32)
    is_default: bool = Field(default=False)
    bound_at: datetime = utc_column()


class Offer(SQLModel, table=True):
    __tablename__ = "offer"
    __table_args__ = (
        sa.UniqueConstraint("team_id", "publisher_id", "offer_id"),
        sa.Index("ix_offer_team_id_offer_id", "team_id", "offer_id"),
        sa.Index("ix_offer_team_id_status_name", "team_id", "status", "name"),
        sa.Index("ix_offer_team_id_name", "team_id", "name"),
        sa.Index("ix_offer_team_id_feed_status", "team_id", "feed", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    publisher_id: str = Field(max_length=200)
    offer_id: str = Field(max_length=200)
    name: str = Field(max_length=500)
    offer_type: str = Field(max_length=40)
    publish_status: str = Field(max_length=20)
    listing: str = Field(max_length=20)
    status: str = Field(max_length=20)
    notification_emails: str = Field(default="", max_length=2000)
    preview_links: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    live_links: list[str] = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False))
    status_changed_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    content_hash: str = Field(max_length=64)
    # --- where the stored state came from (migration 0005) ---
    feed: str | None = Field(default=None, max_length=40)
    """The sync source that lists this offer (``partner-center``, ``cloud-partner-portal``); an
    import leaves it as it is, so the sync keeps following an offer that was also imported by hand."""
    feed_key: str | None = Field(default=None, max_length=200)
    """The offer's key in that source: Partner Center's product guid, or ``publisher/offer``."""
    connection_id: int | None = Field(default=None, index=True)  # a stored connection's (0027); None: env's
    observed_at: datetime | None = utc_column(nullable=True)
    """When the stored state was read (a sync) or written (an import): an older observation never
    overwrites a newer one."""
    missing_passes: int = Field(default=0)
    """Full sync passes in a row whose listing did not have this offer."""
    removed_at: datetime | None = utc_column(nullable=True)
    """When the offer was found removed from its source (deleted, or missing from three listings).
    It is kept, with its history; it is shown as removed."""
    state_source: str | None = Field(default=None, max_length=40)
    """Who wrote the current state: ``import``, ``push`` or the sync source's name (migration 0020);
    None for offers stored before it was kept."""
    details_unread: str | None = Field(default=None, max_length=300)
    """Why the last sync could not read the source's details (validations) of the offer; its status
    from the submissions stands (migration 0018). None: read, or an import."""


class Step(SQLModel, table=True):
    __tablename__ = "step"
    __table_args__ = (
        sa.UniqueConstraint("offer_pk", "position"),
        sa.Index(
            "ix_step_stuck_at",
            "stuck_at",
            sqlite_where=sa.text("stuck_at IS NOT NULL"),
            postgresql_where=sa.text("stuck_at IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    offer_pk: int = Field(sa_column=sa.Column(sa.ForeignKey("offer.id", ondelete="CASCADE"), nullable=False))
    position: int
    step_id: str = Field(max_length=200)
    name: str = Field(max_length=500)
    description: str = Field(default="", max_length=4000)
    status: str = Field(max_length=40)
    estimated_time: str = Field(default="", max_length=200)
    progress: int = Field(default=0)
    status_since: datetime | None = utc_column(nullable=True)
    """When the step entered its status (kept across imports while it stays in it)."""
    stuck_at: datetime | None = utc_column(nullable=True)
    """When the step, still running, is stuck (twice Microsoft's estimate); None: never, or already
    alerted. Indexed where set, so the watcher reads only the steps that are due."""
    stuck_since: datetime | None = utc_column(nullable=True)
    """When the step became stuck (set when it alerted; kept while it stays in its state)."""
    took_seconds: int | None = Field(default=None)
    """How long the step ran: from the first import that saw it in progress to the first that saw it
    complete (None: offerbot did not see it run)."""


class Message(SQLModel, table=True):
    """An offer-level (``step_position`` null) or step-level message, its HTML stored as safe text."""

    __tablename__ = "message"

    id: int | None = Field(default=None, primary_key=True)
    offer_pk: int = Field(
        sa_column=sa.Column(sa.ForeignKey("offer.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    step_position: int | None = Field(default=None)
    level: str = Field(max_length=20)
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    timestamp: datetime = utc_column()


class StatusChange(SQLModel, table=True):
    """One change of an offer's status, written in the same transaction as the change itself."""

    __tablename__ = "status_change"
    __table_args__ = (
        sa.Index(
            "ix_status_change_unhandled",
            "id",
            sqlite_where=sa.text("handled_at IS NULL"),
            postgresql_where=sa.text("handled_at IS NULL"),
        ),
        sa.Index("ix_status_change_changed_at", "changed_at"),  # pruning (migration 0022)
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    offer_pk: int = Field(
        sa_column=sa.Column(sa.ForeignKey("offer.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    old_status: str | None = Field(default=None, max_length=20)
    new_status: str = Field(max_length=20)
    changed_at: datetime = utc_column()
    source: str = Field(max_length=40)
    handled_at: datetime | None = utc_column(nullable=True)
    """When the watcher turned this change into deliveries; null until then (migration 0002)."""


# --- alerts (migration 0002) --------------------------------------------------------------------


class Subscription(SQLModel, table=True):
    """Who wants alerts for what: a channel (``subscribe``) or a user by DM (``notify-me``).

    ``target_kind`` is ``offer`` (``offer_pk`` set), ``publisher`` (``publisher_id`` set) or ``all``.
    A permanent Slack error disables it (``disabled_reason``); it is never deleted silently.
    """

    __tablename__ = "subscription"
    __table_args__ = (
        sa.UniqueConstraint("team_id", "destination_kind", "destination", "target_key"),
        sa.Index("ix_subscription_team_id_target_key", "team_id", "target_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    destination_kind: str = Field(max_length=10)  # channel | user
    destination: str = Field(max_length=32)
    target_kind: str = Field(max_length=10)  # offer | publisher | all
    target_key: str = Field(max_length=220)  # "offer:<pk>", "publisher:<id>" or "all"
    offer_pk: int | None = Field(
        default=None, sa_column=sa.Column(sa.ForeignKey("offer.id", ondelete="CASCADE"), nullable=True)
    )
    publisher_id: str | None = Field(default=None, max_length=200)
    on_failed: bool = True
    on_delisted: bool = True
    on_signoff: bool = True
    on_stuck: bool = Field(default=True, sa_column_kwargs={"server_default": sa.false()})
    created_by: str = Field(max_length=32)
    created_at: datetime = utc_column()
    disabled_reason: str | None = Field(default=None, max_length=200)
    disabled_at: datetime | None = utc_column(nullable=True)


class Mute(SQLModel, table=True):
    """``mute-me``: no DMs to this user for the target, not even as an owner of the offer."""

    __tablename__ = "mute"
    __table_args__ = (sa.UniqueConstraint("team_id", "user_id", "target_key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    target_key: str = Field(max_length=220)
    created_at: datetime = utc_column()


class EmailUser(SQLModel, table=True):
    """Cached answers of ``users.lookupByEmail`` (``user_id`` null: no Slack user has the address)."""

    __tablename__ = "email_user"

    team_id: str = Field(primary_key=True, max_length=32)
    email: str = Field(primary_key=True, max_length=320)
    user_id: str | None = Field(default=None, max_length=32)
    looked_up_at: datetime = utc_column()


class ChannelSettings(SQLModel, table=True):
    __tablename__ = "channel_settings"

    team_id: str = Field(primary_key=True, max_length=32)
    channel: str = Field(primary_key=True, max_length=32)
    threading: bool = True
    language: str | None = Field(default=None, max_length=8)
    digest_at: str | None = Field(default=None, max_length=5)
    """The daily digest's local time, ``HH:MM`` (None: no digest)."""
    digest_tz: str | None = Field(default=None, max_length=64)
    digest_sent_on: str | None = Field(default=None, max_length=10)
    """The local day (``YYYY-MM-DD``) of the last digest: one a day, whatever the processes."""
    """The language of the channel's alerts (``fr``, ``en``); None: ``OFFERBOT_LANGUAGE``."""


class ChannelPace(SQLModel, table=True):
    """When a channel may receive its next message, shared by every process on the store, so that
    together they keep Slack's pace of about one message per second per channel (migration 0011).
    Keyed by channel id alone: Slack ids are unique, and a channel shared by two workspaces has one
    rate limit."""

    __tablename__ = "channel_pace"

    channel: str = Field(primary_key=True, max_length=32)
    next_at: float
    """Seconds since the epoch: the first free slot."""


class SlackUser(SQLModel, table=True):
    """Cached answers of ``users.info`` (``locale`` null: Slack did not say, or could not be asked)."""

    __tablename__ = "slack_user"

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    locale: str | None = Field(default=None, max_length=16)
    tz: str | None = Field(default=None, max_length=64)
    looked_up_at: datetime = utc_column()
    is_admin: bool = Field(default=False)
    """A workspace admin or owner (``is_admin``, ``is_owner``, ``is_primary_owner``)."""
    is_guest: bool = Field(default=False)
    """A guest (``is_restricted`` or ``is_ultra_restricted``). One ``users.info`` call gives the
    locale and the roles: the locale is trusted for a day after ``looked_up_at``, the roles ten minutes."""


class AlertThread(SQLModel, table=True):
    """The first alert about an offer in one destination: follow-ups reply to it and update it."""

    __tablename__ = "alert_thread"
    __table_args__ = (
        sa.Index("ix_alert_thread_offer_pk_destination", "offer_pk", "destination"),
        sa.Index("ix_alert_thread_first_change_id", "first_change_id"),  # pruning (migration 0022)
        sa.Index("ix_alert_thread_last_change_id", "last_change_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    offer_pk: int = Field(sa_column=sa.Column(sa.ForeignKey("offer.id", ondelete="CASCADE"), nullable=False))
    destination_kind: str = Field(max_length=10)
    destination: str = Field(max_length=32)
    channel: str = Field(max_length=32)  # where the root message is (a D... id for DMs)
    ts: str = Field(max_length=32)
    first_change_id: int
    last_change_id: int
    status: str = Field(max_length=20)
    closed: bool = False
    closed_at: datetime | None = utc_column(nullable=True, index=True)  # pruning ages it by this (0023)
    next_reminder_at: datetime | None = utc_column(nullable=True, index=True)
    reminders_sent: int = 0
    snoozed_until: datetime | None = utc_column(nullable=True)
    """No reminder before this (the alert's *Snooze* menu)."""
    snoozed_by: str | None = Field(default=None, max_length=32)


class AlertTaker(SQLModel, table=True):
    """Someone who clicked *I'm on it* on an alert: reminders for it stop, the alert says who."""

    __tablename__ = "alert_taker"

    thread_id: int = Field(
        sa_column=sa.Column(
            sa.ForeignKey("alert_thread.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    user_id: str = Field(primary_key=True, max_length=32)
    since: datetime = utc_column()


class OfferAction(SQLModel, table=True):
    """What someone did about an offer from Slack (took an alert, snoozed it, muted the offer), with
    who, where and when: ``/offer-status history`` shows it."""

    __tablename__ = "offer_action"
    __table_args__ = (
        sa.Index("ix_offer_action_offer_pk_at", "offer_pk", "at"),
        sa.Index("ix_offer_action_at", "at"),  # pruning (migration 0022)
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    offer_pk: int = Field(sa_column=sa.Column(sa.ForeignKey("offer.id", ondelete="CASCADE"), nullable=False))
    user_id: str = Field(max_length=32)
    action: str = Field(max_length=20)  # on_it | snooze | mute
    channel: str = Field(max_length=32)
    at: datetime = utc_column()
    until: datetime | None = utc_column(nullable=True)


class Delivery(SQLModel, table=True):
    """The outbox: one row per status change (or reminder) and destination, sent exactly once."""

    __tablename__ = "delivery"
    __table_args__ = (
        sa.UniqueConstraint("change_id", "destination_kind", "destination", "kind", "seq"),
        sa.Index("ix_delivery_state_next_attempt_at", "state", "next_attempt_at"),
        sa.Index("ix_delivery_offer_pk_destination_state", "offer_pk", "destination", "state"),
        sa.Index(
            "ix_delivery_pending",
            "id",
            sqlite_where=sa.text("state = 'pending'"),
            postgresql_where=sa.text("state = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    change_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("status_change.id", ondelete="CASCADE"), nullable=False)
    )
    offer_pk: int = Field(sa_column=sa.Column(sa.ForeignKey("offer.id", ondelete="CASCADE"), nullable=False))
    destination_kind: str = Field(max_length=10)  # channel | user
    destination: str = Field(max_length=32)
    subscription_id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.ForeignKey("subscription.id", ondelete="SET NULL"), nullable=True),
    )
    kind: str = Field(max_length=10)  # alert | followup | reminder | notice | stuck
    seq: int = 0
    state: str = Field(default="pending", max_length=10)  # pending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = utc_column()
    lease_until: datetime | None = utc_column(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=64)
    sending_at: datetime | None = utc_column(nullable=True)
    """Set (and committed) just before a message is posted, cleared once its outcome is known: a row
    claimed with it set may have been posted by a process that died or lost the answer, so the
    watcher looks for its key in the channel before posting it again (migration 0012)."""
    last_error: str | None = Field(default=None, max_length=200)
    step_position: int | None = Field(default=None)
    """The step a ``stuck`` alert is about."""
    created_at: datetime = utc_column()
    sent_at: datetime | None = utc_column(nullable=True)
    channel: str | None = Field(default=None, max_length=32)
    ts: str | None = Field(default=None, max_length=32)


class ApiToken(SQLModel, table=True):
    """A push API token of one workspace. Only its SHA-256 is stored: the token itself is shown once,
    when it is created, and a revoked token is kept (revoked_at set) so its name is not reused."""

    __tablename__ = "api_token"
    __table_args__ = (sa.UniqueConstraint("team_id", "name", name="uq_api_token_team_id_name"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = utc_column()
    revoked_at: datetime | None = utc_column(nullable=True)
    last_used_at: datetime | None = utc_column(nullable=True)


class TeamEnterprise(SQLModel, table=True):
    """The Enterprise Grid organisation a workspace belongs to, as its requests said (migration 0021)."""

    __tablename__ = "team_enterprise"

    team_id: str = Field(primary_key=True, max_length=32)
    enterprise_id: str = Field(max_length=32)
    seen_at: datetime = utc_column()


class SeenRequest(SQLModel, table=True):
    """A Slack request handled within its replay window: the digest of its signature, kept until the
    window ends (migration 0019), so several processes answer a replay without acting twice."""

    __tablename__ = "seen_request"

    digest: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = utc_column(index=True)


# --- Slack's own tables, for multi-workspace installs ---------------------------------------
# slack_sdk's SQLAlchemy installation and OAuth state stores, defined by slack_sdk and declared on
# the same metadata, so the project's migrations create them and the migration test checks them.
SLACK_INSTALLATIONS = SQLAlchemyInstallationStore.build_installations_table(
    SQLModel.metadata, SQLAlchemyInstallationStore.default_installations_table_name
)
SLACK_BOTS = SQLAlchemyInstallationStore.build_bots_table(
    SQLModel.metadata, SQLAlchemyInstallationStore.default_bots_table_name
)
SLACK_OAUTH_STATES = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    SQLModel.metadata, SQLAlchemyOAuthStateStore.default_table_name
)
SLACK_TABLES = (SLACK_INSTALLATIONS, SLACK_BOTS, SLACK_OAUTH_STATES)

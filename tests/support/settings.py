"""Settings of a single-workspace bot that talks to the fake Slack."""

from __future__ import annotations

from bot.settings import Settings
from tests.conftest import (
    SIGNING_SECRET,
)
from tests.support.fakeslack import FakeSlack


def settings_for(fake: FakeSlack, database_url: str) -> Settings:
    return Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.url,
        database_url=database_url,
    )

"""Where settings come from: the environment, a ``.env`` file beside the process (``.env.example``
names every variable and can be copied as it is), and secrets read from ``<NAME>_FILE`` files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import MAX_SECRET_FILE, SECRET_FILES, Settings, load_settings, secrets_from_files
from storage.errors import ConfigError
from tests.conftest import ROOT


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(f"{name.upper()}_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_dot_env_file_beside_the_process_is_read_and_the_environment_wins(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean / ".env").write_text("OFFERBOT_LANGUAGE=fr\nOFFERBOT_WATCH_INTERVAL=30\nLOG_LEVEL=\n")
    settings = load_settings()
    assert (settings.offerbot_language.value, settings.offerbot_watch_interval) == ("fr", 30.0)
    assert settings.log_level == "INFO"  # empty: unset, the default
    monkeypatch.setenv("OFFERBOT_WATCH_INTERVAL", "45")
    assert load_settings().offerbot_watch_interval == 45.0


def test_the_example_names_every_setting_and_copies_as_a_working_env(clean: Path) -> None:
    example = (ROOT / ".env.example").read_text()
    named = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    assert named == {name.upper() for name in Settings.model_fields}
    (clean / ".env").write_text(example)
    settings = load_settings()  # every value empty: every default
    assert settings.slack_bot_token is None and settings.database_url == Settings().database_url


def test_secrets_from_files_fill_only_what_the_environment_leaves_unset(clean: Path) -> None:
    token = clean / "slack-token"
    token.write_text("xoxb-from-a-file\n")
    environ = {"SLACK_BOT_TOKEN_FILE": str(token)}
    assert secrets_from_files(environ) == {"slack_bot_token": "xoxb-from-a-file"}
    settings = load_settings(environ)
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-a-file"
    assert secrets_from_files({**environ, "SLACK_BOT_TOKEN": "xoxb-env"}) == {}
    assert "azure_client_secret" in SECRET_FILES and "database_url" in SECRET_FILES


def test_a_missing_or_oversized_secret_file_names_its_variable(clean: Path) -> None:
    with pytest.raises(ConfigError, match="AZURE_CLIENT_SECRET_FILE: cannot read"):
        secrets_from_files({"AZURE_CLIENT_SECRET_FILE": str(clean / "nope")})
    big = clean / "big"
    big.write_bytes(b"x" * (MAX_SECRET_FILE + 1))
    with pytest.raises(ConfigError, match=r"SLACK_SIGNING_SECRET_FILE: .* is over"):
        secrets_from_files({"SLACK_SIGNING_SECRET_FILE": str(big)})


def test_the_embedded_store_lives_in_the_data_folder_unless_an_old_one_is_here(
    clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = clean / "data"
    monkeypatch.setenv("OFFERBOT_DATA_DIR", str(data))
    settings = load_settings()
    assert settings.database_url == f"sqlite:///{data / 'offerbot.db'}" and not settings.legacy_store
    (clean / "offerbot.db").write_bytes(b"")  # a store from before OFFERBOT_DATA_DIR
    old = load_settings()
    assert old.database_url == "sqlite:///offerbot.db" and old.legacy_store
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p@h/db")
    assert load_settings().database_url == "postgresql+psycopg://u:p@h/db"


def test_the_default_data_folder_is_per_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bot.settings import default_data_dir

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "offerbot"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_data_dir() == Path.home() / ".local" / "share" / "offerbot"

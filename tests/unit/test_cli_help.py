"""The command line's own help: ``offerbot`` alone prints it (exit 0), ``--version`` says the
version, every command has a line and every option a help text, with no docstring markup."""

from __future__ import annotations

from importlib import metadata

import pytest

from bot.cli import COMMANDS, build_parser, main


def test_offerbot_alone_prints_the_help_with_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: offerbot")
    for name in COMMANDS:
        assert f"\n    {name} " in out or f"\n    {name}\n" in out, name
    assert "``" not in out and "SLACK_BOT_TOKEN" in out and "DATABASE_URL" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"offerbot {metadata.version('offerbot')}"


def test_every_option_of_every_command_says_what_it_does() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    for name, sub in commands.choices.items():  # type: ignore[union-attr]
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, f"offerbot {name} {action.option_strings or action.dest}: no help"

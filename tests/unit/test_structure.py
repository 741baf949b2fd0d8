"""The shape the code keeps: layers that only point down, short functions in bot/, no Any in the
watcher, and no text the catalogue extractor cannot see."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

MAX_FUNCTION_LINES = 40


def python_files(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "migrations" not in p.parts)


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_storage_never_imports_bot_and_bot_never_imports_benchmark_or_tests() -> None:
    for path in python_files("storage"):
        assert not {m for m in imported_modules(path) if m.split(".")[0] in ("bot", "benchmark", "tests")}, (
            path
        )
    for path in python_files("bot"):
        assert not {m for m in imported_modules(path) if m.split(".")[0] in ("benchmark", "tests")}, path


def test_use_cases_know_nothing_of_slack_or_wording() -> None:
    for path in python_files("bot/usecases"):
        modules = imported_modules(path)
        assert not {
            m
            for m in modules
            if m.startswith(("slack_", "bot.render.offers", "bot.render.alerts", "bot.render.labels"))
        }, path


def test_no_function_in_bot_is_longer_than_40_lines() -> None:
    too_long = []
    for path in python_files("bot"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not too_long, too_long


def test_the_watcher_has_no_any() -> None:
    source = (ROOT / "bot" / "alerting" / "watcher.py").read_text()
    assert "Any" not in {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
    assert "typing import Any" not in source


def test_no_translated_text_hides_in_an_f_string() -> None:
    """pybabel does not look inside f-strings: a ``tr._("...")`` there would never reach the catalogue."""
    hidden = []
    for path in python_files("bot"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.JoinedStr):
                for call in ast.walk(node):
                    if (
                        isinstance(call, ast.Call)
                        and isinstance(call.func, ast.Attribute | ast.Name)
                        and getattr(call.func, "attr", getattr(call.func, "id", ""))
                        in ("_", "ngettext", "N_")
                    ):
                        hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not hidden, hidden

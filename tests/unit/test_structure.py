"""The shape the code keeps: packages by layer that only import downward, Slack spoken only where
Slack is the job, queries only in storage, renderers without adapters, unique error and alias
names, short modules and functions, kinds and states by their StrEnums, no Any in the watcher, and
no text the catalogue extractor cannot see. The architecture page is checked against the tree."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import pytest

from storage.statuses import DeliveryState, DestinationKind, TargetKind
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
            if m.startswith(("slack_", "bot.render", "bot.slack", "bot.http", "bot.alerting"))
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
    for path in python_files("bot/alerting"):
        source = path.read_text()
        assert "Any" not in {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}, path
        assert "typing import Any" not in source, path


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


# --- layers ----------------------------------------------------------------------------------

LAYERS = ("cli", "runtime", "jobs", "alerting", "slack|http", "render", "usecases", "sources")
"""bot/'s layers, top first: a module imports its own layer, the ones below, the kernel and storage.
``slack`` and ``http`` are one level and do not import each other."""
KERNEL = frozenset({"settings", "clock", "i18n", "logs", "metrics", "guard"})
"""Imported by every layer; imports nothing of bot/ but itself (and storage)."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> tuple[str, int] | None:
    """(the layer's name, its depth), the kernel at -1 and storage at the bottom; None outside."""
    parts = module.split(".")
    if parts[0] == "storage":
        return ("storage", len(LAYERS))
    if parts[0] != "bot" or len(parts) < 2:
        return None
    if parts[1] in KERNEL:
        return ("kernel", -1)
    for depth, names in enumerate(LAYERS):
        if parts[1] in names.split("|"):
            return (parts[1], depth)
    raise AssertionError(f"{module} is in no layer: put it in one of {LAYERS} or the kernel")


def upward_imports(path: Path) -> list[str]:
    mine = layer_of(module_name(path))
    if mine is None:  # bot/__init__.py
        return []
    wrong = []
    for module in imported_modules(path):
        theirs = layer_of(module)
        if theirs is None or theirs[0] in ("kernel", "storage"):
            continue
        if mine[0] == "kernel" or theirs[1] < mine[1] or (theirs[1] == mine[1] and theirs[0] != mine[0]):
            wrong.append(f"{module_name(path)} ({mine[0]}) imports {module} ({theirs[0]})")
    return wrong


def test_bot_is_packages_by_layer_around_a_small_kernel() -> None:
    top = {p.stem for p in (ROOT / "bot").glob("*.py")} - {"__init__"}
    assert top == KERNEL | {"cli"}, "a module directly in bot/ is the kernel or the command line"
    packages = {p.name for p in (ROOT / "bot").iterdir() if (p / "__init__.py").exists()}
    assert packages == {n for names in LAYERS[1:] for n in names.split("|")}


def test_layers_import_downward_only() -> None:
    wrong = [line for path in python_files("bot") for line in upward_imports(path)]
    assert not wrong, wrong


def test_the_layer_rule_would_catch_an_upward_import() -> None:
    assert layer_of("bot.render.offers") == ("render", 5)
    assert layer_of("bot.slack.app") == ("slack", 4) and layer_of("bot.http.server") == ("http", 4)
    assert layer_of("bot.settings") == ("kernel", -1)
    assert layer_of("storage.models") == ("storage", len(LAYERS))
    assert upward_imports(ROOT / "bot" / "render" / "offers.py") == []
    with pytest.raises(AssertionError, match="in no layer"):
        layer_of("bot.misc")


SLACK_LIBRARIES = ("slack_sdk", "slack_bolt")
SPEAK_SLACK = ("bot/slack/", "bot/http/", "bot/alerting/")
"""Where slack_sdk and slack_bolt are imported; ``runtime/serve.py`` only starts the handler that
``slack/`` builds (slack_bolt), and ``storage/models.py`` holds slack_sdk's installation tables."""


def test_slack_is_spoken_only_by_the_slack_http_and_alerting_layers() -> None:
    wrong = []
    for folder in ("bot", "storage"):
        for path in python_files(folder):
            where = str(path.relative_to(ROOT))
            found = {m for m in imported_modules(path) if m.split(".")[0] in SLACK_LIBRARIES}
            if not found or where.startswith(SPEAK_SLACK):
                continue
            if where == "bot/runtime/serve.py" and all(m.startswith("slack_bolt") for m in found):
                continue
            if where in ("storage/models.py", "storage/db.py"):
                continue
            wrong.append(f"{where}: {sorted(found)}")
    assert not wrong, wrong


SESSION_CALLS = frozenset({"add", "delete", "exec", "execute", "merge", "scalars", "scalar"})


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}:{line}"


def queries_in(path: Path) -> list[str]:
    """Where a module builds a query or calls the session itself (``session.get``, one row by its
    key, is allowed)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id == "select":
            found.append(f"{where(path, node.lineno)} select(...)")
        if (
            isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "session"
            and node.func.attr in SESSION_CALLS
        ):
            found.append(f"{where(path, node.lineno)} session.{node.func.attr}(...)")
    return sorted(found)


def test_only_storage_builds_queries_or_calls_the_session() -> None:
    wrong = [line for path in python_files("bot") for line in queries_in(path)]
    assert not wrong, wrong


def test_the_query_rule_would_catch_a_select(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f(session):\n    session.add(1)\n    return select(2)\n")
    assert [line.split(" ", 1)[1] for line in queries_in(sample)] == ["session.add(...)", "select(...)"]


ADAPTERS = ("slack_sdk", "slack_bolt", "httpx", "msal", "requests", "bot.slack", "bot.http", "bot.sources")


def test_renderers_import_no_adapter() -> None:
    for path in python_files("bot/render"):
        assert not {m for m in imported_modules(path) if m.startswith(ADAPTERS)}, path


# --- names -----------------------------------------------------------------------------------


def defined_classes(path: Path) -> list[ast.ClassDef]:
    return [n for n in ast.parse(path.read_text()).body if isinstance(n, ast.ClassDef)]


def exception_names() -> dict[str, list[str]]:
    """Every exception class of the tree: those whose bases end in Error or Exception, or are one
    of the tree's exceptions (followed until nothing changes)."""
    classes = [
        (c, p) for folder in ("bot", "storage") for p in python_files(folder) for c in defined_classes(p)
    ]
    known = {"Exception", "BaseException"}
    found: dict[str, list[str]] = {}
    changed = True
    while changed:
        changed = False
        for cls, path in classes:
            bases = {getattr(b, "id", getattr(b, "attr", "")) for b in cls.bases}
            is_error = bases & known or any(b.endswith(("Error", "Exception")) for b in bases)
            where = f"{path.relative_to(ROOT)}:{cls.lineno}"
            if is_error and where not in found.get(cls.name, []):
                found.setdefault(cls.name, []).append(where)
                known.add(cls.name)
                changed = True
    return found


def type_aliases() -> dict[str, list[str]]:
    """Module-level aliases with a capitalised name: ``Name = X | Y``, ``Name = dict[...]``, ``Name = X``."""
    found: dict[str, list[str]] = {}
    for folder in ("bot", "storage"):
        for path in python_files(folder):
            for node in ast.parse(path.read_text()).body:
                if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
                    continue
                target, value = node.targets[0], node.value
                if not isinstance(target, ast.Name) or not target.id[:1].isupper() or target.id.isupper():
                    continue
                alias = isinstance(value, ast.Subscript | ast.Name) or (
                    isinstance(value, ast.BinOp) and isinstance(value.op, ast.BitOr)
                )
                if alias:
                    found.setdefault(target.id, []).append(where(path, node.lineno))
    return found


def test_exception_classes_and_type_aliases_are_unique_in_the_tree() -> None:
    errors = exception_names()
    assert {"OfferbotError", "TransientError", "ConfigError"} <= set(errors)
    assert not {name: at for name, at in errors.items() if len(at) > 1}
    assert not {name: at for name, at in type_aliases().items() if len(at) > 1}


MAX_MODULE_LINES = 450
"""About 400 lines: enough for one topic; ``storage/models.py``, every table, is the largest."""


def test_modules_stay_short() -> None:
    long = [
        f"{p.relative_to(ROOT)} ({n} lines)"
        for folder in ("bot", "storage")
        for p in python_files(folder)
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert not long, long


# --- kinds and states --------------------------------------------------------------------------

ENUM_FIELDS = {
    "destination_kind": DestinationKind,
    "target_kind": TargetKind,
    "state": DeliveryState,
}


def literal_kinds(path: Path) -> list[str]:
    """Comparisons and keywords that spell a destination kind, target kind or delivery state as a
    bare string instead of its StrEnum."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        pairs: list[tuple[str, ast.expr]] = []
        if isinstance(node, ast.Compare):
            left = node.left.args[0] if isinstance(node.left, ast.Call) and node.left.args else node.left
            name = getattr(left, "attr", getattr(left, "id", ""))
            pairs += [(name, c) for c in node.comparators]
        if isinstance(node, ast.keyword) and node.arg:
            pairs.append((node.arg, node.value))
        for name, value in pairs:
            enum = ENUM_FIELDS.get(name)
            if enum and isinstance(value, ast.Constant) and value.value in {e.value for e in enum}:
                found.append(f"{where(path, value.lineno)} {name} {value.value!r}")
    return found


def test_kinds_and_states_are_spelled_by_their_str_enums() -> None:
    wrong = [
        line for folder in ("bot", "storage") for path in python_files(folder) for line in literal_kinds(path)
    ]
    assert not wrong, wrong


def test_the_kind_rule_would_catch_a_bare_string(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('ok = col(Row.destination_kind) == "user"\nf(state="pending")\nf(kind="pending")\n')
    assert [line.split(" ", 1)[1] for line in literal_kinds(sample)] == [
        "destination_kind 'user'",
        "state 'pending'",
    ]


# --- the architecture page -------------------------------------------------------------------

PATH = re.compile(r"`?((?:bot|storage|tests)/[\w/.-]*)`?")


def architecture_section() -> str:
    return (ROOT / "docs" / "architecture.md").read_text()


def tree_modules() -> set[str]:
    return {
        str(p.relative_to(ROOT))
        for folder in ("bot", "storage")
        for p in (ROOT / folder).rglob("*.py")
        if p.name != "__init__.py" and "versions" not in p.parts
    }


def test_the_architecture_section_names_every_module_and_only_what_exists() -> None:
    section = architecture_section()
    named = {m.rstrip(".").rstrip(",") for m in PATH.findall(section)}
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, f"the architecture page names what the tree does not have: {missing}"
    listed = set(re.findall(r"^- `([\w/.-]+\.py)`", section.split("## Every module", 1)[1], re.M))
    assert listed == tree_modules(), (
        f"not listed: {sorted(tree_modules() - listed)}; listed but gone: {sorted(listed - tree_modules())}"
    )


def test_the_module_list_is_what_docs_architecture_generates() -> None:
    spec = importlib.util.spec_from_file_location("architecture", ROOT / "docs" / "architecture.py")
    assert spec is not None and spec.loader is not None
    architecture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(architecture)
    page = (ROOT / "docs" / "architecture.md").read_text()
    assert architecture.regenerated(page) == page, "run python docs/architecture.py"

"""Regenerate the module list of the architecture page (``## Every module`` in
``docs/architecture.md``) from each module's docstring, so the page cannot drift from the tree:

    python docs/architecture.py          # rewrite docs/architecture.md in place
    python docs/architecture.py --check  # exit 1 when docs/architecture.md is out of date

``tests/unit/test_structure.py`` runs the check."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNEL = [
    "bot/cli.py",
    "bot/settings.py",
    "bot/clock.py",
    "bot/i18n.py",
    "bot/logs.py",
    "bot/metrics.py",
    "bot/guard.py",
]
PACKAGES = [
    "bot/runtime",
    "bot/jobs",
    "bot/alerting",
    "bot/slack",
    "bot/http",
    "bot/render",
    "bot/usecases",
    "bot/sources",
    "storage",
]
START = "## Every module\n"
END = "The fakes: tests run a fake Slack Web API"
MAX_LINE = 230


def modules(folder: str) -> list[str]:
    return sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / folder).rglob("*.py")
        if p.name != "__init__.py" and "versions" not in p.parts
    )


def summary(path: str) -> str:
    """The first paragraph of a module's docstring, on one line, cut near ``MAX_LINE``."""
    doc = ast.get_docstring(ast.parse((ROOT / path).read_text())) or ""
    first = " ".join(doc.split("\n\n")[0].split())
    return first if len(first) <= MAX_LINE else first[:MAX_LINE].rsplit(" ", 1)[0] + " ..."


def module_list() -> str:
    lines = [
        START.rstrip("\n"),
        "",
        "Generated from each module's docstring by `python docs/architecture.py` (the tests fail when",
        "this list and the tree disagree):",
        "",
    ]
    groups = [("The command line and the kernel", KERNEL)] + [(f"`{p}/`", modules(p)) for p in PACKAGES]
    for title, files in groups:
        lines += [f"**{title}**", ""]
        lines += [f"- `{f}`: {summary(f)}" for f in files]
        lines.append("")
    return "\n".join(lines) + "\n"


PAGE = ROOT / "docs" / "architecture.md"


def regenerated(page: str) -> str:
    start, end = page.index(START), page.index(END)
    return page[:start] + module_list() + page[end:]


def main(argv: list[str]) -> int:
    page = PAGE.read_text()
    fresh = regenerated(page)
    if "--check" in argv:
        if fresh != page:
            print("docs/architecture.md is out of date: run python docs/architecture.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""The README is a front page and the docs are a site: short, every link resolving, nothing pointing
outside the repository, and the docs' own lock pinning what their extra names. (``mkdocs build
--strict`` itself runs in ``.ci/run``, from that lock.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = sorted((ROOT / "docs").glob("*.md"))
PAPERS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *PAGES]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """The anchor GitHub and Python-Markdown's ``toc`` give a heading."""
    text = re.sub(r"[`*_]", "", heading).strip().lower()
    return re.sub(r"\s+", "-", re.sub(r"[^\w\s-]", "", text))


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {slug(m) for m in re.findall(r"^#+ (.+)$", text, re.M)}


def test_the_readme_is_a_front_page() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 10_000, "the README is a front page: move the rest into docs/"
    first_screen = "\n".join(readme.splitlines()[:40])
    assert "## From zero to alerts about your real offers" in first_screen
    assert "docs/pictures/card-en.png" in first_screen and "docs/pictures/alert-en.png" in first_screen


@pytest.mark.parametrize("paper", PAPERS, ids=lambda p: p.name)
def test_every_relative_link_resolves_to_a_file_and_heading(paper: Path) -> None:
    for target in LINK.findall(paper.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # Slack's, Microsoft's and others' own pages: not fetched here
        file, _, anchor = target.partition("#")
        path = (paper.parent / file).resolve() if file else paper
        assert path.is_file(), f"{paper.name}: {target} names no file"
        assert ROOT in path.parents, f"{paper.name}: {target} points outside the repository"
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path), f"{paper.name}: {target}: no such heading"


@pytest.mark.parametrize("paper", PAPERS, ids=lambda p: p.name)
def test_nothing_points_outside_the_repository(paper: Path) -> None:
    text = paper.read_text()
    assert "../shared" not in text and "domain.md" not in text
    assert not re.search(r"\bissues? \d+\b|#\d{2,}\b", text), "issue numbers mean nothing to a reader"
    hashes = re.findall(r"`([0-9a-f]{7,40})`", text)
    assert not [h for h in hashes if re.search(r"\d", h) and re.search(r"[a-f]", h)], "commit hashes"


def test_the_slug_rule_matches_the_headings_it_is_used_for() -> None:
    assert slug("4. The first `offerbot doctor`") == "4-the-first-offerbot-doctor"
    assert slug("0. Try it locally first (optional)") == "0-try-it-locally-first-optional"


def test_every_page_is_in_the_site_and_the_docs_lock_pins_the_docs_extra() -> None:
    import yaml

    site = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = re.findall(r"[\w-]+\.md", str(site["nav"]))
    assert sorted(nav) == sorted(p.name for p in PAGES)
    assert site["strict"] is True
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["docs"]
    listed = [line for line in (ROOT / "docs" / "requirements.in").read_text().splitlines() if line.strip()]
    assert listed == extra, "docs/requirements.in and the docs extra name the same packages"
    lock = (ROOT / "requirements-docs.lock").read_text().lower()
    for requirement in extra:
        name = re.split(r"[<>=!\[ ;]", requirement, maxsplit=1)[0].lower()
        assert re.search(rf"^{re.escape(name)}==[^ ]+ \\\n +--hash=sha256:", lock, re.M), name
    ci = (ROOT / ".ci" / "run").read_text()
    assert "--require-hashes -r requirements-docs.lock" in ci and 'mkdocs" build --strict' in ci


def test_every_picture_shown_exists_and_both_languages_are_drawn() -> None:
    shown = set()
    for paper in PAPERS:
        shown |= set(re.findall(r"pictures/([\w-]+\.png)", paper.read_text()))
    drawn = {p.name for p in (ROOT / "docs" / "pictures").glob("*.png")}
    assert shown <= drawn and shown
    for name in drawn:
        other = name.replace("-en.", "-fr.") if "-en." in name else name.replace("-fr.", "-en.")
        assert other in drawn, name


def test_the_user_guides_french_button_labels_are_the_bots() -> None:
    """The guide's table of buttons quotes each label in both languages: the French column must be
    what the catalogue makes of the English one."""
    from bot.i18n import Language, translator

    guide = (ROOT / "docs" / "user-guide.md").read_text()
    table = guide.split("## Buttons, in both languages", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| *")]
    assert len(rows) >= 7
    french = translator(Language.FR)
    for row in rows:
        english = re.findall(r"\*([^*]+)\*", row[0])
        shown = re.findall(r"\*([^*]+)\*", row[1])
        assert [french._(label) for label in english] == shown, row


def test_the_french_summary_keeps_french_typography() -> None:
    """A non-breaking space before ``:``, ``;``, ``?`` and ``!``, as the catalogue writes them."""
    guide = (ROOT / "docs" / "user-guide.md").read_text()
    french = guide.split("## En français", 1)[1]
    assert not re.findall(r"\S [:;?!](?=\s)", french)
    assert "\u00a0:" in french

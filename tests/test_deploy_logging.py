"""`cdc-bot --version` and JSON logs (`--log-format json`, CDC_BOT_LOG_FORMAT=json) for log collectors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent


def _run(args: list[str], code: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "bot.app.cli", *args]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=environment, cwd=ROOT)


def test_version() -> None:
    result = _run(["--version"])
    assert result.returncode == 0
    assert result.stdout.startswith("cdc-bot ")


def test_json_log_lines() -> None:
    code = (
        "import logging\n"
        "from bot.app.log_format import configure_logging\n"
        "configure_logging(logging.INFO, 'json')\n"
        "log = logging.getLogger('bot.test')\n"
        "log.info('checked %s', 'prod', extra={'pipeline': 'prod'})\n"
        "try:\n    1 / 0\nexcept ZeroDivisionError:\n    log.exception('failed')\n"
    )
    result = _run([], code)
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert len(lines) == 2, result.stderr
    first, second = lines
    assert first["level"] == "INFO" and first["logger"] == "bot.test" and first["message"] == "checked prod"
    assert first["pipeline"] == "prod" and first["time"].endswith("Z")
    assert second["level"] == "ERROR" and "ZeroDivisionError" in second["exception"]


@pytest.mark.parametrize(("argv", "env", "expected"), [([], {}, "text"), (["--log-format", "json"], {}, "json")])
def test_log_format_flag(argv: list[str], env: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDC_BOT_LOG_FORMAT", raising=False)
    assert build_parser().parse_args([*argv, "check"]).log_format == expected


def test_log_format_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDC_BOT_LOG_FORMAT", "json")
    assert build_parser().parse_args(["check"]).log_format == "json"
    assert build_parser().parse_args(["check", "--log-format", "text"]).log_format == "text"


def test_cli_logs_json_end_to_end(tmp_path: Path) -> None:
    """A real command with CDC_BOT_LOG_FORMAT=json: whatever it logs is one JSON object per line."""
    result = _run(
        ["--log-level", "DEBUG", "config", "validate", str(ROOT / "deploy/base/cdc-bot.yml")], CDC_BOT_LOG_FORMAT="json"
    )
    assert result.returncode == 0, result.stderr
    for line in result.stderr.splitlines():
        assert json.loads(line)["level"]

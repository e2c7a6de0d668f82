"""`cdc-bot shell` drives the same listeners as Slack and shows what the bot would post."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from bot.app.shell import run_shell
from bot.core.config import Config


def _lines(*lines: str) -> Callable[[str], str]:
    queue: Iterator[str] = iter(lines)

    def read(_prompt: str) -> str:
        try:
            return next(queue)
        except StopIteration:
            raise EOFError from None

    return read


def test_shell_runs_health_and_explains_mistakes(
    make_config: Callable[..., Config], tmp_path: object, monkeypatch: object
) -> None:
    monkeypatch.setenv("CDC_BOT_DATABASE_URL", f"sqlite:///{tmp_path}/shell.db")  # type: ignore[attr-defined]
    out: list[str] = []
    assert (
        run_shell(
            make_config(), input_fn=_lines("/cdc health", "/cdc helth", "7", "hello", ":as U0LEAD"), output=out.append
        )
        == 0
    )
    text = "\n".join(out)
    assert "posted in C0OPS" in text
    assert "Pipeline sandbox: WARN" in text and "12,405 behind" in text
    assert "Did you mean `/cdc health`?" in text
    assert "No button 7" in text
    assert "Type a /cdc command" in text
    assert "you are now U0LEAD" in text

"""Session-scoped real local backends, per TESTING.md, seeded once as the sandbox pipeline.

Tests that need special conditions (a lagging group, a failed connector, a stale table) make
their own resources next to the seeded ones (another group, namespace or table) and point a
pipeline config at them, so tests do not disturb each other.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.config import Config
from bot.sandbox.demo import Sandbox
from bot.sandbox.fake_slack import FakeSlackServer
from bot.wiring import Services

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = Sandbox(workdir=tmp_path_factory.mktemp("sandbox"))
    box.start()
    yield box
    box.stop()


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.fixture
def make_config(sandbox: Sandbox) -> Callable[..., Config]:
    """A validated Config for the sandbox, with pipeline fields overridden (deep-merged)."""

    def build(pipeline: dict[str, Any] | None = None, **top: Any) -> Config:
        data = sandbox.config()
        data["pipelines"] = [_merge(sandbox.pipeline_config(), pipeline or {})]
        data.update(top)
        return Config.model_validate(data)

    return build


@pytest.fixture
def make_services(make_config: Callable[..., Config], tmp_path: Any) -> Callable[..., Services]:
    def build(pipeline: dict[str, Any] | None = None, **top: Any) -> Services:
        return Services.create(make_config(pipeline, **top), database_url=f"sqlite:///{tmp_path}/state.db")

    return build


@pytest.fixture
def slack() -> Iterator[FakeSlackServer]:
    with FakeSlackServer(user_groups={"S0ONCALL": ["U0ONCALL1", "U0ONCALL2"]}) as server:
        yield server

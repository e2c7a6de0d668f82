"""What every scheduled report does per pipeline: pick the pipelines, get their clients, and turn a
backend failure into the report's own error text so one broken pipeline or backend does not sink
the whole report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from bot.clients.base import BackendError, PipelineClients
from bot.core.config import PipelineConfig
from bot.services import Services

T = TypeVar("T")
ItemT = TypeVar("ItemT")


@dataclass
class PipelinesReport(Generic[ItemT]):
    """A report with one item per pipeline, built at `generated_at`; `late_by` when its slot was missed."""

    generated_at: datetime
    pipelines: list[ItemT]
    late_by: timedelta | None = None


def resolve_pipelines(services: Services, names: list[str] | None) -> list[PipelineConfig]:
    """The named pipelines (raising UnknownPipeline for a wrong name), or every configured one."""
    return [services.config.pipeline(n) for n in names] if names else list(services.config.pipelines)


def for_each_pipeline(
    services: Services,
    names: list[str] | None,
    build: Callable[[PipelineConfig, PipelineClients], T],
) -> list[T]:
    """`build(pipeline, clients)` for each chosen pipeline, in config (or the given) order."""
    return [build(pipeline, services.clients(pipeline)) for pipeline in resolve_pipelines(services, names)]


def attempt(
    read: Callable[[], T], errors: tuple[type[Exception], ...] = (BackendError,)
) -> tuple[T | None, str | None]:
    """(result, None), or (None, the error's text) when `read` fails with one of `errors`."""
    try:
        return read(), None
    except errors as exc:
        return None, str(exc)

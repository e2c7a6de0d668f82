"""What a check gets (the pipeline, its clients, the clock) and the registry of stable check names."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.clients.base import BackendError, Kube, PipelineClients
from bot.core.config import PipelineConfig
from bot.core.results import CheckResult

CHECK_NAMES = (
    "msk_cluster",
    "redshift_cluster",
    "data_freshness",
    "consumer_lag",
    "connector",
    "kubernetes_workloads",
    "alarms",
)


@dataclass(frozen=True)
class MaintenanceWindow:
    enabled: bool
    message: str = ""
    started_by: str = ""
    until: datetime | None = None

    def overdue(self, now: datetime) -> bool:
        return self.enabled and self.until is not None and now > self.until

    def describe(self, now: datetime) -> str:
        parts = ["maintenance window open"]
        if self.started_by:
            parts.append(f"by {self.started_by}")
        if self.until:
            parts.append(f"until {self.until.strftime('%Y-%m-%d %H:%M UTC')}")
        text = " ".join(parts)
        if self.message:
            text += f" ({self.message})"
        if self.overdue(now):
            text += " - PAST ITS END TIME"
        return text


def read_maintenance(kube: Kube, configmap: str) -> MaintenanceWindow:
    """The runbook's `maintenance-mode` ConfigMap, read the way the runbook writes it."""
    found = kube.get_configmap(configmap)
    data = (found or {}).get("data") or {}
    if str(data.get("enabled", "")).lower() != "true":
        return MaintenanceWindow(enabled=False)
    until = None
    if data.get("until"):
        try:
            until = datetime.fromisoformat(data["until"].replace("Z", "+00:00"))
        except ValueError:
            until = None
    return MaintenanceWindow(
        enabled=True, message=data.get("message", ""), started_by=data.get("started_by", ""), until=until
    )


@dataclass
class CheckContext:
    pipeline: PipelineConfig
    clients: PipelineClients
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    _maintenance: MaintenanceWindow | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def maintenance(self) -> MaintenanceWindow:
        """Read once per run and shared by the checks that need it; unreadable means 'not in maintenance'."""
        with self._lock:
            if self._maintenance is None:
                try:
                    self._maintenance = read_maintenance(
                        self.clients.kube, self.pipeline.kubernetes.maintenance_configmap
                    )
                except BackendError:
                    self._maintenance = MaintenanceWindow(enabled=False)
            return self._maintenance


CheckFn = Callable[[CheckContext], CheckResult]
REGISTRY: dict[str, CheckFn] = {}


def check(name: str) -> Callable[[CheckFn], CheckFn]:
    if name not in CHECK_NAMES:
        raise ValueError(f"{name} is not one of the stable check names")

    def register(fn: CheckFn) -> CheckFn:
        REGISTRY[name] = fn
        return fn

    return register


def applicable_checks(pipeline: PipelineConfig) -> list[str]:
    """Checks that make sense for this pipeline's config (no MSK ARN, no msk_cluster check)."""
    names = []
    for name in CHECK_NAMES:
        if name == "msk_cluster" and not pipeline.msk_cluster_arn:
            continue
        if name == "redshift_cluster" and pipeline.redshift is None:
            continue
        if name == "data_freshness" and (pipeline.redshift is None or not pipeline.freshness):
            continue
        if name == "alarms" and not pipeline.alarms:
            continue
        names.append(name)
    return names


def fmt_int(value: int) -> str:
    return f"{value:,}"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def get_path(obj: dict[str, Any] | None, *keys: str, default: Any = None) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return default
        obj = obj.get(key)
    return default if obj is None else obj

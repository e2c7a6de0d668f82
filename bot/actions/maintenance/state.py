"""What a maintenance window looks like now, its constants, and the words of `/cdc maintenance start`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.actions.base import ActionContext, ActionError
from bot.actions.connect import get_connector
from bot.actions.streams import counts, get_deployment
from bot.alarms.lag_metric import group_lags
from bot.checks.base import MaintenanceWindow, fmt_int, read_maintenance
from bot.checks.kube import connector_state, requested_state
from bot.clients.base import BackendError
from bot.core.config import MaintenanceSettings
from bot.store.state import StateStore
from bot.store.workflows import WorkflowRecord, WorkflowStatus, latest_workflows

START = "maintenance-start"
END = "maintenance-end"
KINDS = (START, END)
DEFAULT_REASON = "Scheduled maintenance in progress"  # the runbook's ConfigMap message
REASON_MAX = 200
START_USAGE = "/cdc maintenance start [reason] [--duration 2h] [pipeline]"
ORDER_NOTE = (
    "Order: the runbook scales the consumer to 0 before waiting for its lag to drain, which can never finish "
    "(nothing consumes once it is at 0). The bot drains first, then scales down."
)


def maintenance_settings(ctx: ActionContext) -> MaintenanceSettings:
    return ctx.services.config.maintenance if ctx.services is not None else MaintenanceSettings()


def state_store(ctx: ActionContext) -> StateStore:
    if ctx.services is None:
        raise ActionError("maintenance windows need the bot's state store")
    return ctx.services.store


def utc_text(value: str | None) -> str:
    if not value:
        return "?"
    return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")


def lag_text(ctx: ActionContext) -> tuple[str, int | None]:
    """`pii-masking-app 1,234 behind` for the configured groups, and the total (None when unknown)."""
    try:
        lags = group_lags(ctx.pipeline, ctx.clients)
    except BackendError as exc:
        return f"could not read the lag ({exc})", None
    parts = [f"{group} {fmt_int(total)} behind" for group, total in sorted(lags.groups.items())]
    parts += [f"{group}: no committed offsets" for group in lags.skipped]
    total = None if lags.skipped else sum(lags.groups.values())
    return "; ".join(parts) or "no consumer groups configured", total


def window_text(window: MaintenanceWindow, now: datetime) -> str:
    return window.describe(now) if window.enabled else "not set (no maintenance window open)"


def describe_state(ctx: ActionContext) -> list[str]:
    """ConfigMap, connector, deployment and lag as they are now; each line says when it cannot be read."""
    k, kube, now = ctx.pipeline.kubernetes, ctx.clients.kube, datetime.now(UTC)
    lines = []
    try:
        window = read_maintenance(kube, k.maintenance_configmap)
        lines.append(f"ConfigMap {k.namespace}/{k.maintenance_configmap}: {window_text(window, now)}")
    except BackendError as exc:
        lines.append(f"ConfigMap {k.maintenance_configmap}: could not read ({exc})")
    try:
        obj = get_connector(ctx)
        state, tasks = connector_state(obj)
        task_text = ", ".join(f"task {t.get('id')} {t.get('state')}" for t in tasks) or "no tasks"
        lines.append(f"Connector {k.connector}: {state} (requested {requested_state(obj)}); {task_text}")
    except (ActionError, BackendError) as exc:
        lines.append(f"Connector {k.connector}: {exc}")
    try:
        c = counts(get_deployment(ctx))
        lines.append(f"Deployment {k.streams_deployment}: {c['desired']} replicas, {c['ready']} ready")
    except (ActionError, BackendError) as exc:
        lines.append(f"Deployment {k.streams_deployment}: {exc}")
    lines.append(f"Lag: {lag_text(ctx)[0]}")
    return lines


def window_workflows(ctx: ActionContext) -> list[WorkflowRecord]:
    return latest_workflows(state_store(ctx), ctx.pipeline.name, KINDS)


def recorded_replicas(store: StateStore, pipeline: str) -> tuple[int | None, WorkflowRecord | None]:
    """The replica count recorded when the open window started, and that start; (None, None) if not recorded."""
    for wf in latest_workflows(store, pipeline, KINDS):
        if wf.kind == END and wf.status is WorkflowStatus.SUCCEEDED:
            return None, None  # the latest window was closed already; a newer one was opened by hand
        if wf.kind == START and wf.saved.get("replicas"):
            return int(wf.saved["replicas"]), wf
    return None, None


# --- parsing ---------------------------------------------------------------------------------------------


def flag_value(words: list[str], index: int, name: str) -> tuple[str, int]:
    word = words[index]
    if word.startswith(f"{name}="):
        return word.split("=", 1)[1], index + 1
    if index + 1 >= len(words):
        raise ActionError(f"`{name}` needs a value")
    return words[index + 1], index + 2


def take_pipeline_flag(words: list[str]) -> tuple[list[str], str | None]:
    """Take `--pipeline P` (or `--pipeline=P`) out of the words."""
    for index, word in enumerate(words):
        if word == "--pipeline" or word.startswith("--pipeline="):
            pipeline, after = flag_value(words, index, "--pipeline")
            return words[:index] + words[after:], pipeline
    return list(words), None


def split_start_words(words: list[str], pipelines: list[str]) -> tuple[list[str], str | None]:
    """`[reason] [--duration 2h] [pipeline]`: the trailing word is the pipeline when it names one exactly.

    With several pipelines, a trailing word that is nearly a pipeline's name is a mistake to point out,
    not part of the reason: maintenance on the wrong pipeline is the costly mix-up.
    """
    own, pipeline = take_pipeline_flag(words)
    if pipeline is not None:
        return own, pipeline
    positional = [w for i, w in enumerate(own) if not w.startswith("--") and not (i and own[i - 1] == "--duration")]
    if positional and positional[-1] in pipelines:
        last = len(own) - 1 - own[::-1].index(positional[-1])
        return own[:last] + own[last + 1 :], positional[-1]
    if positional and len(pipelines) > 1:
        close = difflib.get_close_matches(positional[-1], pipelines, n=1, cutoff=0.75)
        if close:
            raise ActionError(
                f"Is `{positional[-1]}` the pipeline `{close[0]}`? Name it exactly, or use `--pipeline {close[0]}` "
                "and put the reason in quotes."
            )
    return own, pipeline


@dataclass(frozen=True)
class WindowSnapshot:
    """What both previews start from: the ConfigMap, the connector and the deployment as they are now."""

    now: datetime
    window: MaintenanceWindow
    state: str  # the connector's state as Connect last reported it
    tasks: list[dict[str, Any]]
    requested: str  # the state the KafkaConnector's spec asks for
    replicas: dict[str, int]  # the deployment's counts (desired, ready, ...)

    @property
    def fingerprint(self) -> dict[str, Any]:
        # What must not change between the preview and the approval.
        return {"window": self.window.enabled, "connector": self.requested, "replicas": self.replicas["desired"]}


def observe_window(ctx: ActionContext) -> WindowSnapshot:
    now = datetime.now(UTC)
    window = read_maintenance(ctx.clients.kube, ctx.pipeline.kubernetes.maintenance_configmap)
    connector = get_connector(ctx)
    state, tasks = connector_state(connector)
    return WindowSnapshot(
        now=now,
        window=window,
        state=state,
        tasks=tasks,
        requested=requested_state(connector),
        replicas=counts(get_deployment(ctx)),
    )

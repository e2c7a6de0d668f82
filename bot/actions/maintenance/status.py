"""`/cdc maintenance status`: the workflow running now, or the open window, and the pipeline's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.actions.base import ActionContext
from bot.actions.maintenance.flows import DEFINITIONS
from bot.actions.maintenance.state import describe_state, window_workflows
from bot.actions.workflows import StepView, step_views
from bot.checks.base import MaintenanceWindow, read_maintenance
from bot.clients.base import BackendError
from bot.store.workflows import WorkflowRecord, WorkflowStatus


@dataclass(frozen=True)
class MaintenanceStatus:
    pipeline: str
    generated_at: datetime
    window: MaintenanceWindow | None
    running: WorkflowRecord | None = None
    running_title: str = ""
    steps: list[StepView] = field(default_factory=list)
    last: WorkflowRecord | None = None
    last_title: str = ""
    state_lines: list[str] = field(default_factory=list)
    error: str | None = None


def maintenance_status(ctx: ActionContext) -> MaintenanceStatus:
    """The workflow running now (and its steps), or the open window, plus the pipeline's state."""
    now = datetime.now(UTC)
    error = None
    try:
        window: MaintenanceWindow | None = read_maintenance(
            ctx.clients.kube, ctx.pipeline.kubernetes.maintenance_configmap
        )
    except BackendError as exc:
        window, error = None, f"could not read the maintenance ConfigMap: {exc}"
    workflows = window_workflows(ctx)
    running = next((wf for wf in workflows if wf.status is WorkflowStatus.RUNNING), None)
    last = next((wf for wf in workflows if wf.status is not WorkflowStatus.RUNNING), None)
    return MaintenanceStatus(
        pipeline=ctx.pipeline.name,
        generated_at=now,
        window=window,
        running=running,
        running_title=DEFINITIONS[running.kind].title if running else "",
        steps=step_views(DEFINITIONS[running.kind], running) if running else [],
        last=last,
        last_title=DEFINITIONS[last.kind].title if last else "",
        state_lines=describe_state(ctx),
        error=error,
    )

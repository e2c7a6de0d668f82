"""The two workflow definitions: which steps run in which order, and what each reports when done."""

from __future__ import annotations

from bot.actions.base import ActionContext, ActionResult
from bot.actions.maintenance.state import END, START, describe_state, utc_text
from bot.actions.maintenance.steps import (
    clear_maintenance_mode,
    enable_maintenance_mode,
    pause_connector,
    post_check,
    prepare_end,
    prepare_start,
    resume_connector,
    scale_back,
    scale_down,
)
from bot.actions.maintenance.waits import drain, verify_data_flow
from bot.actions.workflows import Step, WorkflowDefinition, step_views
from bot.store.workflows import WorkflowRecord


def start_result(wf: WorkflowRecord) -> ActionResult:
    saved = wf.saved
    return ActionResult(
        summary=f"Maintenance window open until {utc_text(saved.get('until'))}; "
        f"end it with /cdc maintenance end {wf.pipeline}",
        before=[
            f"Connector requested {saved.get('connector_before')}",
            f"Replicas: {saved.get('replicas') or 0}",
            f"Lag: {saved.get('lag_before')}",
        ],
        after=[f"{i}. {v.title}: {v.text}" for i, v in enumerate(step_views(START_FLOW, wf), start=1)],
        details={"workflow": wf.id, "until": saved.get("until"), "replicas_before": saved.get("replicas")},
    )


def start_state_now(ctx: ActionContext, wf: WorkflowRecord) -> list[str]:
    lines = describe_state(ctx)
    replicas = wf.saved.get("replicas")
    if replicas:
        lines.append(f"Replicas before the window: {replicas} (what `/cdc maintenance end` restores)")
    return lines


START_FLOW = WorkflowDefinition(
    kind=START,
    title="Maintenance start",
    steps=(
        Step("configmap", "Enable maintenance mode", enable_maintenance_mode),
        Step("pause", "Pause the connector", pause_connector),
        Step(
            "drain",
            "Wait for the pipeline to drain",
            drain,
            timeout=lambda config: config.maintenance.drain_timeout,
            abortable=True,
        ),
        Step("scale_down", "Scale the streams deployment to 0", scale_down),
    ),
    prepare=prepare_start,
    result=start_result,
    state_now=start_state_now,
    done_note=lambda wf: (
        f"Maintenance window open until {utc_text(wf.saved.get('until'))}: nothing new is captured or masked. "
        f"When the work is done: `/cdc maintenance end {wf.pipeline}`."
    ),
    recovery="Resume pipeline",
)


def end_result(wf: WorkflowRecord) -> ActionResult:
    saved = wf.saved
    return ActionResult(
        summary=f"Maintenance window closed on {wf.pipeline}; data flows again",
        before=[f"Window: {saved.get('window')}", f"Replicas: {saved.get('replicas_before')}"],
        after=[f"{i}. {v.title}: {v.text}" for i, v in enumerate(step_views(END_FLOW, wf), start=1)],
        details={"workflow": wf.id, "replicas_after": saved.get("replicas_target")},
    )


END_FLOW = WorkflowDefinition(
    kind=END,
    title="Maintenance end",
    steps=(
        Step("resume", "Resume the connector", resume_connector),
        Step("scale_up", "Scale the streams deployment back", scale_back),
        Step("configmap", "Clear maintenance mode", clear_maintenance_mode),
        Step(
            "verify", "Verify the data flow", verify_data_flow, timeout=lambda config: config.maintenance.verify_timeout
        ),
        Step("report", "Post-maintenance check", post_check),
    ),
    prepare=prepare_end,
    result=end_result,
    state_now=lambda ctx, wf: describe_state(ctx),
    done_note=lambda wf: (
        f"Maintenance over on `{wf.pipeline}`: connector running, {wf.saved.get('replicas_target')} replicas, "
        "maintenance mode cleared, data flowing."
    ),
    recovery="Resume pipeline",
)

DEFINITIONS = {START: START_FLOW, END: END_FLOW}

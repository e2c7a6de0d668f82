"""`maintenance-start` and `maintenance-end` as approved actions: preview, checks before, then the workflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.actions.base import Action, ActionContext, ActionError, ActionResult, Preview
from bot.actions.maintenance.flows import DEFINITIONS, END_FLOW, START_FLOW
from bot.actions.maintenance.state import (
    DEFAULT_REASON,
    END,
    ORDER_NOTE,
    REASON_MAX,
    START,
    START_USAGE,
    flag_value,
    lag_text,
    maintenance_settings,
    observe_window,
    recorded_replicas,
    state_store,
    take_pipeline_flag,
    window_text,
    window_workflows,
)
from bot.actions.workflows import run_workflow
from bot.checks.base import applicable_checks, read_maintenance
from bot.core.config import PipelineConfig
from bot.core.durations import format_duration, parse_duration
from bot.store.workflows import WorkflowStatus


def refuse_if_running(ctx: ActionContext) -> None:
    for wf in window_workflows(ctx):
        if wf.status is WorkflowStatus.RUNNING:
            what = DEFINITIONS[wf.kind].title
            step = f" (at step `{wf.step}`)" if wf.step else ""
            raise ActionError(
                f"{what} is still running on `{ctx.pipeline.name}`{step}; wait for it, or press Abort in its thread."
            )


class MaintenanceStart(Action):
    name = START
    title = "Open a maintenance window (pause, drain, scale down)"
    usage = "maintenance-start [reason] [--duration 2h]"
    command = "/cdc maintenance start"
    summary = "The runbook's maintenance window: ConfigMap, pause the connector, drain, scale pii-masking to 0"
    risk = (
        "Nothing is captured or masked for the whole window: Redshift gets nothing new until "
        "`/cdc maintenance end`, and Oracle must keep the redo logs Debezium has not read."
    )
    resumable = True

    def split(self, words: list[str]) -> tuple[list[str], str | None]:
        # No config here to recognise a bare trailing pipeline name: `/cdc maintenance start` does that.
        return take_pipeline_flag(words)

    def parse(self, words: list[str], pipeline: PipelineConfig) -> dict[str, Any]:
        reason: list[str] = []
        duration: timedelta | None = None
        index = 0
        while index < len(words):
            word = words[index]
            if word == "--duration" or word.startswith("--duration="):
                value, index = flag_value(words, index, "--duration")
                try:
                    duration = parse_duration(value)
                except ValueError as exc:
                    raise ActionError(f"--duration: {exc}") from None
                continue
            if word.startswith("--"):
                raise ActionError(f"Unknown option `{word}`. Usage: `{START_USAGE}`")
            reason.append(word)
            index += 1
        text = " ".join(reason).strip() or DEFAULT_REASON
        if len(text) > REASON_MAX:
            raise ActionError(f"Keep the reason under {REASON_MAX} characters (it goes into the ConfigMap)")
        return {"reason": text, "duration_s": int(duration.total_seconds()) if duration is not None else None}

    def _duration(self, ctx: ActionContext, args: dict[str, Any]) -> timedelta:
        seconds = args.get("duration_s")
        return timedelta(seconds=seconds) if seconds is not None else maintenance_settings(ctx).default_duration

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        k, settings, seen = ctx.pipeline.kubernetes, maintenance_settings(ctx), observe_window(ctx)
        now, window, c = seen.now, seen.window, seen.replicas
        lag, _total = lag_text(ctx)
        duration = self._duration(ctx, args)
        task_text = ", ".join(f"task {t.get('id')} {t.get('state')}" for t in seen.tasks) or "no tasks"
        restore = (
            f"{c['desired']} is recorded and restored by `/cdc maintenance end`"
            if c["desired"]
            else f"it is at 0 already, so `/cdc maintenance end` restores the runbook's {settings.default_replicas}"
        )
        lines = [
            f"Why: {args['reason']} · for {format_duration(duration)} (until about "
            f"{(now + duration).strftime('%H:%M UTC')} if approved now)",
            "Steps, posted in this thread as they run:",
            f'1. ConfigMap {k.namespace}/{k.maintenance_configmap}: enabled "true", message, started_by, until '
            f"(now: {window.describe(now) if window.enabled else 'not set'})",
            f"2. Pause KafkaConnector {k.connector}: now {seen.state}, requested {seen.requested}; {task_text}",
            f"3. Wait until the pipeline drains: lag now {lag}; done when 0 and the topics stop growing "
            f"(timeout {format_duration(settings.drain_timeout)}, Abort button while it waits)",
            f"4. Scale deployment {k.streams_deployment} {c['desired']} → 0 (ready now {c['ready']}/{c['desired']}); "
            + restore,
            ORDER_NOTE,
        ]
        return Preview(
            lines=lines,
            fingerprint=seen.fingerprint,
            plan={"duration_s": int(duration.total_seconds())},
        )

    def validate(self, ctx: ActionContext, args: dict[str, Any], preview: Preview) -> None:
        settings = maintenance_settings(ctx)
        duration = self._duration(ctx, args)
        if duration <= timedelta(0) or duration > settings.max_duration:
            raise ActionError(
                f"--duration must be more than 0 and at most {format_duration(settings.max_duration)} "
                "(`maintenance.max_duration` in the config)"
            )
        if preview.fingerprint["window"]:
            window = read_maintenance(ctx.clients.kube, ctx.pipeline.kubernetes.maintenance_configmap)
            raise ActionError(
                f"A maintenance window is already open on `{ctx.pipeline.name}` "
                f"({window.describe(datetime.now(UTC))}). End it first: `/cdc maintenance end {ctx.pipeline.name}`."
            )
        refuse_if_running(ctx)

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        return run_workflow(START_FLOW, ctx)


class MaintenanceEnd(Action):
    name = END
    title = "End the maintenance window (resume, scale back, verify)"
    usage = "maintenance-end"
    command = "/cdc maintenance end"
    summary = "Resume the connector, scale pii-masking back, clear the ConfigMap, verify the data flow"
    risk = "Capture restarts from Debezium's stored offsets: expect a burst of changes and lag while it catches up."
    resumable = True

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        k, settings, seen = ctx.pipeline.kubernetes, maintenance_settings(ctx), observe_window(ctx)
        now, window, c = seen.now, seen.window, seen.replicas
        recorded, start = recorded_replicas(state_store(ctx), ctx.pipeline.name)
        target = recorded or settings.default_replicas
        source = (
            f"recorded when {start.requested_by}'s window opened at {start.created_at.strftime('%Y-%m-%d %H:%M UTC')}"
            if recorded and start is not None
            else "not recorded: the runbook's count (`maintenance.default_replicas`)"
        )
        checks = ", ".join(
            what
            for name, what in (
                ("connector", "connector RUNNING"),
                ("consumer_lag", "lag falling or zero"),
                ("data_freshness", "freshness not CRIT"),
            )
            if name in applicable_checks(ctx.pipeline)
        )
        lines = [
            f"Window: {window_text(window, now)}",
            "Steps, posted in this thread as they run:",
            f"1. Resume KafkaConnector {k.connector}: now {seen.state}, requested {seen.requested} → running",
            f"2. Scale deployment {k.streams_deployment} {c['desired']} → {target} ({source})",
            f"3. Delete ConfigMap {k.namespace}/{k.maintenance_configmap}",
            f"4. Verify the data flow: {checks} (timeout {format_duration(settings.verify_timeout)})",
            "5. Post the post-maintenance check (a health report)",
        ]
        return Preview(
            lines=lines,
            fingerprint=seen.fingerprint,
            plan={"replicas": target, "recorded": bool(recorded)},
        )

    def validate(self, ctx: ActionContext, args: dict[str, Any], preview: Preview) -> None:
        refuse_if_running(ctx)
        fp = preview.fingerprint
        if not fp["window"] and fp["connector"] == "running" and fp["replicas"] > 0:
            raise ActionError(
                f"No maintenance window is open on `{ctx.pipeline.name}`, the connector runs and "
                f"{ctx.pipeline.kubernetes.streams_deployment} has {fp['replicas']} replicas: nothing to end."
            )

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        return run_workflow(END_FLOW, ctx)

"""The runbook's Planned Maintenance Window as two approved, resumable workflows.

`maintenance-start`: set the `maintenance-mode` ConfigMap → pause the connector → wait for the
pipeline to drain → scale the streams deployment to 0. `maintenance-end`: resume the connector →
scale back to the replicas recorded at start → delete the ConfigMap → verify the data flow → post
the post-maintenance check.

Order matters: the runbook scales `pii-masking` to 0 *before* waiting for its lag to drain, which
can never finish (nothing consumes once the consumer is gone). The bot drains first, then scales
down. "Drained" means the groups' lag is 0 and the topics stopped growing between two polls, so
it does not depend on when Strimzi reports the connector as paused.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.actions.base import Action, ActionContext, ActionError, ActionFailed, ActionResult, Preview
from bot.actions.connect import get_connector, request_connector_state
from bot.actions.streams import counts, get_deployment, scale_and_wait
from bot.actions.workflows import Step, StepRun, StepView, WorkflowDefinition, run_workflow, step_views
from bot.alarms.lag_metric import group_lags
from bot.checks.base import MaintenanceWindow, applicable_checks, fmt_int, read_maintenance
from bot.checks.kube import connector_state, requested_state
from bot.clients.base import BackendError
from bot.core.config import MaintenanceSettings, PipelineConfig
from bot.core.durations import format_duration, parse_duration
from bot.core.results import Status
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
# How far back the drain rate looks: long enough to smooth commit bursts, short enough to follow changes.
RATE_WINDOW_S = 60.0


def _settings(ctx: ActionContext) -> MaintenanceSettings:
    return ctx.services.config.maintenance if ctx.services is not None else MaintenanceSettings()


def _store(ctx: ActionContext) -> StateStore:
    if ctx.services is None:
        raise ActionError("maintenance windows need the bot's state store")
    return ctx.services.store


def _utc(value: str | None) -> str:
    if not value:
        return "?"
    return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")


def _lag_text(ctx: ActionContext) -> tuple[str, int | None]:
    """`pii-masking-app 1,234 behind` for the configured groups, and the total (None when unknown)."""
    try:
        lags = group_lags(ctx.pipeline, ctx.clients)
    except BackendError as exc:
        return f"could not read the lag ({exc})", None
    parts = [f"{group} {fmt_int(total)} behind" for group, total in sorted(lags.groups.items())]
    parts += [f"{group}: no committed offsets" for group in lags.skipped]
    total = None if lags.skipped else sum(lags.groups.values())
    return "; ".join(parts) or "no consumer groups configured", total


def _window_text(window: MaintenanceWindow, now: datetime) -> str:
    return window.describe(now) if window.enabled else "not set (no maintenance window open)"


def describe_state(ctx: ActionContext) -> list[str]:
    """ConfigMap, connector, deployment and lag as they are now; each line says when it cannot be read."""
    k, kube, now = ctx.pipeline.kubernetes, ctx.clients.kube, datetime.now(UTC)
    lines = []
    try:
        window = read_maintenance(kube, k.maintenance_configmap)
        lines.append(f"ConfigMap {k.namespace}/{k.maintenance_configmap}: {_window_text(window, now)}")
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
    lines.append(f"Lag: {_lag_text(ctx)[0]}")
    return lines


def _workflows(ctx: ActionContext) -> list[WorkflowRecord]:
    return latest_workflows(_store(ctx), ctx.pipeline.name, KINDS)


def _refuse_if_running(ctx: ActionContext) -> None:
    for wf in _workflows(ctx):
        if wf.status is WorkflowStatus.RUNNING:
            what = DEFINITIONS[wf.kind].title
            step = f" (at step `{wf.step}`)" if wf.step else ""
            raise ActionError(
                f"{what} is still running on `{ctx.pipeline.name}`{step}; wait for it, or press Abort in its thread."
            )


def recorded_replicas(store: StateStore, pipeline: str) -> tuple[int | None, WorkflowRecord | None]:
    """The replica count recorded when the open window started, and that start; (None, None) if not recorded."""
    for wf in latest_workflows(store, pipeline, KINDS):
        if wf.kind == END and wf.status is WorkflowStatus.SUCCEEDED:
            return None, None  # the latest window was closed already; a newer one was opened by hand
        if wf.kind == START and wf.saved.get("replicas"):
            return int(wf.saved["replicas"]), wf
    return None, None


# --- parsing ---------------------------------------------------------------------------------------------


def _flag(words: list[str], index: int, name: str) -> tuple[str, int]:
    word = words[index]
    if word.startswith(f"{name}="):
        return word.split("=", 1)[1], index + 1
    if index + 1 >= len(words):
        raise ActionError(f"`{name}` needs a value")
    return words[index + 1], index + 2


def _pipeline_flag(words: list[str]) -> tuple[list[str], str | None]:
    """Take `--pipeline P` (or `--pipeline=P`) out of the words."""
    for index, word in enumerate(words):
        if word == "--pipeline" or word.startswith("--pipeline="):
            pipeline, after = _flag(words, index, "--pipeline")
            return words[:index] + words[after:], pipeline
    return list(words), None


def split_start_words(words: list[str], pipelines: list[str]) -> tuple[list[str], str | None]:
    """`[reason] [--duration 2h] [pipeline]`: the trailing word is the pipeline when it names one exactly.

    With several pipelines, a trailing word that is nearly a pipeline's name is a mistake to point out,
    not part of the reason: maintenance on the wrong pipeline is the costly mix-up.
    """
    own, pipeline = _pipeline_flag(words)
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


# --- start ---------------------------------------------------------------------------------------------


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
        return _pipeline_flag(words)

    def parse(self, words: list[str], pipeline: PipelineConfig) -> dict[str, Any]:
        reason: list[str] = []
        duration: timedelta | None = None
        index = 0
        while index < len(words):
            word = words[index]
            if word == "--duration" or word.startswith("--duration="):
                value, index = _flag(words, index, "--duration")
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
        return timedelta(seconds=seconds) if seconds is not None else _settings(ctx).default_duration

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        k, settings, now = ctx.pipeline.kubernetes, _settings(ctx), datetime.now(UTC)
        window = read_maintenance(ctx.clients.kube, k.maintenance_configmap)
        connector = get_connector(ctx)
        state, tasks = connector_state(connector)
        requested = requested_state(connector)
        c = counts(get_deployment(ctx))
        lag, _total = _lag_text(ctx)
        duration = self._duration(ctx, args)
        task_text = ", ".join(f"task {t.get('id')} {t.get('state')}" for t in tasks) or "no tasks"
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
            f"2. Pause KafkaConnector {k.connector}: now {state}, requested {requested}; {task_text}",
            f"3. Wait until the pipeline drains: lag now {lag}; done when 0 and the topics stop growing "
            f"(timeout {format_duration(settings.drain_timeout)}, Abort button while it waits)",
            f"4. Scale deployment {k.streams_deployment} {c['desired']} → 0 (ready now {c['ready']}/{c['desired']}); "
            + restore,
            ORDER_NOTE,
        ]
        return Preview(
            lines=lines,
            fingerprint={"window": window.enabled, "connector": requested, "replicas": c["desired"]},
            plan={"duration_s": int(duration.total_seconds())},
        )

    def validate(self, ctx: ActionContext, args: dict[str, Any], preview: Preview) -> None:
        settings = _settings(ctx)
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
        _refuse_if_running(ctx)

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        return run_workflow(START_FLOW, ctx)


def _prepare_start(ctx: ActionContext) -> dict[str, Any]:
    assert ctx.approval is not None
    approval = ctx.approval
    now = datetime.now(UTC)
    duration = (
        timedelta(seconds=int(approval.preview.get("plan", {}).get("duration_s") or 0))
        or _settings(ctx).default_duration
    )
    c = counts(get_deployment(ctx))
    connector = get_connector(ctx)
    lag, total = _lag_text(ctx)
    return {
        "reason": approval.args.get("reason") or DEFAULT_REASON,
        "started_by": approval.requester,
        "approved_by": approval.decided_by,
        "until": (now + duration).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": int(duration.total_seconds()),
        # 0 is not worth restoring: `maintenance end` then falls back to the runbook's count.
        "replicas": c["desired"] or None,
        "connector_before": requested_state(connector),
        "lag_before": lag,
        "lag_total_before": total,
    }


def _enable_maintenance_mode(run: StepRun) -> str:
    k, saved = run.ctx.pipeline.kubernetes, run.workflow.saved
    data = {
        "enabled": "true",
        "message": str(saved["reason"]),
        "started_by": str(saved["started_by"]),
        "until": str(saved["until"]),
    }
    if saved.get("approved_by"):
        data["approved_by"] = str(saved["approved_by"])
    run.ctx.clients.kube.apply_configmap(k.maintenance_configmap, data)
    return (
        f"ConfigMap {k.namespace}/{k.maintenance_configmap}: enabled until {_utc(saved['until'])}; "
        "health checks now expect the pause"
    )


def _pause_connector(run: StepRun) -> str:
    ctx, name = run.ctx, run.ctx.pipeline.kubernetes.connector
    requested = requested_state(get_connector(ctx))
    if requested in ("paused", "stopped"):
        return f"KafkaConnector {name} was already {requested}"
    request_connector_state(ctx, "paused")
    state, _tasks = connector_state(get_connector(ctx))
    return f"KafkaConnector {name}: paused requested (Connect last reported {state}); no new changes enter Kafka"


def _drain(run: StepRun) -> str:
    ctx = run.ctx
    samples: list[tuple[float, int]] = []
    last_ends: dict[Any, int] | None = None
    started = datetime.now(UTC)

    def probe() -> tuple[bool, str]:
        nonlocal last_ends
        lags = group_lags(ctx.pipeline, ctx.clients)
        now = datetime.now(UTC)
        waited = f"waited {format_duration(now - started)} of {format_duration(ctx.timeout)}"
        if lags.skipped:
            text = f"{', '.join(lags.skipped)} has no committed offsets: cannot tell whether it drained"
            return False, f"{text} · {waited}"
        total = sum(lags.groups.values())
        moment = now.timestamp()
        samples.append((moment, total))
        while len(samples) > 2 and moment - samples[0][0] > RATE_WINDOW_S:
            samples.pop(0)
        growing = last_ends is not None and lags.ends != last_ends
        settled = last_ends is not None and not growing
        last_ends = dict(lags.ends)
        per_group = "; ".join(f"{g} {fmt_int(v)}" for g, v in sorted(lags.groups.items()))
        parts = [f"{fmt_int(total)} behind" + (f" ({per_group})" if len(lags.groups) > 1 else "")]
        (t0, lag0), (t1, lag1) = samples[0], samples[-1]
        rate = (lag0 - lag1) / (t1 - t0) if t1 > t0 else 0.0
        if total and rate > 0:
            parts.append(f"draining {rate:,.0f}/s, about {format_duration(total / rate)} left")
        elif total and len(samples) > 1:
            parts.append("not falling: is the consumer running?")
        if total == 0 and not settled:
            parts.append("topics still growing" if growing else "checking that the topics stopped growing")
        parts.append(waited)
        return total == 0 and settled, " · ".join(parts)

    try:
        status = ctx.wait_until("drain", probe)
    except ActionFailed as exc:
        raise ActionFailed(
            f"the pipeline did not drain within {format_duration(ctx.timeout)}",
            state_now=[f"Drain: {exc.state_now[0]}" if exc.state_now else "Drain: unknown"],
        ) from None
    took = format_duration(datetime.now(UTC) - started)
    return f"drained: {status.split(' · ')[0]}, topics stopped growing (took {took})"


def _scale_down(run: StepRun) -> str:
    ctx, name = run.ctx, run.ctx.pipeline.kubernetes.streams_deployment
    c = counts(get_deployment(ctx))
    if c["desired"] == 0 and c["replicas"] == 0:
        return f"Deployment {name} was already at 0 replicas"
    status = scale_and_wait(ctx, 0)
    return f"Deployment {name}: {c['desired']} → 0 replicas ({status})"


def _start_result(wf: WorkflowRecord) -> ActionResult:
    saved = wf.saved
    return ActionResult(
        summary=f"Maintenance window open until {_utc(saved.get('until'))}; "
        f"end it with /cdc maintenance end {wf.pipeline}",
        before=[
            f"Connector requested {saved.get('connector_before')}",
            f"Replicas: {saved.get('replicas') or 0}",
            f"Lag: {saved.get('lag_before')}",
        ],
        after=[f"{i}. {v.title}: {v.text}" for i, v in enumerate(step_views(START_FLOW, wf), start=1)],
        details={"workflow": wf.id, "until": saved.get("until"), "replicas_before": saved.get("replicas")},
    )


def _start_state_now(ctx: ActionContext, wf: WorkflowRecord) -> list[str]:
    lines = describe_state(ctx)
    replicas = wf.saved.get("replicas")
    if replicas:
        lines.append(f"Replicas before the window: {replicas} (what `/cdc maintenance end` restores)")
    return lines


START_FLOW = WorkflowDefinition(
    kind=START,
    title="Maintenance start",
    steps=(
        Step("configmap", "Enable maintenance mode", _enable_maintenance_mode),
        Step("pause", "Pause the connector", _pause_connector),
        Step(
            "drain",
            "Wait for the pipeline to drain",
            _drain,
            timeout=lambda config: config.maintenance.drain_timeout,
            abortable=True,
        ),
        Step("scale_down", "Scale the streams deployment to 0", _scale_down),
    ),
    prepare=_prepare_start,
    result=_start_result,
    state_now=_start_state_now,
    done_note=lambda wf: (
        f"Maintenance window open until {_utc(wf.saved.get('until'))}: nothing new is captured or masked. "
        f"When the work is done: `/cdc maintenance end {wf.pipeline}`."
    ),
    recovery="Resume pipeline",
)


# --- end -----------------------------------------------------------------------------------------------


class MaintenanceEnd(Action):
    name = END
    title = "End the maintenance window (resume, scale back, verify)"
    usage = "maintenance-end"
    command = "/cdc maintenance end"
    summary = "Resume the connector, scale pii-masking back, clear the ConfigMap, verify the data flow"
    risk = "Capture restarts from Debezium's stored offsets: expect a burst of changes and lag while it catches up."
    resumable = True

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        k, settings, now = ctx.pipeline.kubernetes, _settings(ctx), datetime.now(UTC)
        window = read_maintenance(ctx.clients.kube, k.maintenance_configmap)
        connector = get_connector(ctx)
        state, _tasks = connector_state(connector)
        requested = requested_state(connector)
        c = counts(get_deployment(ctx))
        recorded, start = recorded_replicas(_store(ctx), ctx.pipeline.name)
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
            f"Window: {_window_text(window, now)}",
            "Steps, posted in this thread as they run:",
            f"1. Resume KafkaConnector {k.connector}: now {state}, requested {requested} → running",
            f"2. Scale deployment {k.streams_deployment} {c['desired']} → {target} ({source})",
            f"3. Delete ConfigMap {k.namespace}/{k.maintenance_configmap}",
            f"4. Verify the data flow: {checks} (timeout {format_duration(settings.verify_timeout)})",
            "5. Post the post-maintenance check (a health report)",
        ]
        return Preview(
            lines=lines,
            fingerprint={"window": window.enabled, "connector": requested, "replicas": c["desired"]},
            plan={"replicas": target, "recorded": bool(recorded)},
        )

    def validate(self, ctx: ActionContext, args: dict[str, Any], preview: Preview) -> None:
        _refuse_if_running(ctx)
        fp = preview.fingerprint
        if not fp["window"] and fp["connector"] == "running" and fp["replicas"] > 0:
            raise ActionError(
                f"No maintenance window is open on `{ctx.pipeline.name}`, the connector runs and "
                f"{ctx.pipeline.kubernetes.streams_deployment} has {fp['replicas']} replicas: nothing to end."
            )

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        return run_workflow(END_FLOW, ctx)


def _prepare_end(ctx: ActionContext) -> dict[str, Any]:
    assert ctx.approval is not None
    plan = ctx.approval.preview.get("plan") or {}
    window = read_maintenance(ctx.clients.kube, ctx.pipeline.kubernetes.maintenance_configmap)
    return {
        "replicas_target": int(plan.get("replicas") or _settings(ctx).default_replicas),
        "recorded": bool(plan.get("recorded")),
        "window": _window_text(window, datetime.now(UTC)),
        "replicas_before": counts(get_deployment(ctx))["desired"],
    }


def _resume_connector(run: StepRun) -> str:
    ctx, name = run.ctx, run.ctx.pipeline.kubernetes.connector
    if requested_state(get_connector(ctx)) == "running":
        return f"KafkaConnector {name} was already running"
    request_connector_state(ctx, "running")
    return f"KafkaConnector {name}: running requested; Debezium continues from its stored offsets"


def _scale_back(run: StepRun) -> str:
    ctx, name = run.ctx, run.ctx.pipeline.kubernetes.streams_deployment
    target = int(run.workflow.saved["replicas_target"])
    c = counts(get_deployment(ctx))
    if c["desired"] == target and c["ready"] == target:
        return f"Deployment {name} already had {target} replicas ready"
    status = scale_and_wait(ctx, target)
    return f"Deployment {name}: {c['desired']} → {target} replicas ({status})"


def _clear_maintenance_mode(run: StepRun) -> str:
    k = run.ctx.pipeline.kubernetes
    run.ctx.clients.kube.delete_configmap(k.maintenance_configmap)
    return (
        f"ConfigMap {k.namespace}/{k.maintenance_configmap} deleted: a paused connector or 0 replicas "
        "count as problems again"
    )


def _verify(run: StepRun) -> str:
    ctx = run.ctx
    assert ctx.services is not None
    services = ctx.services
    names = [n for n in ("connector", "consumer_lag", "data_freshness") if n in applicable_checks(ctx.pipeline)]
    peak: dict[str, int] = {}

    def probe() -> tuple[bool, str]:
        report = services.health(ctx.pipeline.name, names)
        parts: list[str] = []
        good = True
        connector = report.check("connector")
        if connector is not None:
            state = connector.details.get("state", "UNKNOWN")
            ok = connector.status is not Status.CRIT and state == "RUNNING"
            good &= ok
            parts.append(f"connector {state} {'✓' if ok else '✗'}")
        lag = report.check("consumer_lag")
        if lag is not None:
            totals = [g.get("total") for g in (lag.details.get("groups") or {}).values()]
            if lag.status is Status.UNKNOWN or any(t is None for t in totals):
                good = False
                parts.append(f"lag unknown ({lag.summary}) ✗")
            else:
                total = sum(int(t) for t in totals)
                top = peak["lag"] = max(peak.get("lag", total), total)
                ok = total == 0 or total < top
                good &= ok
                trend = "zero" if total == 0 else (f"falling from {fmt_int(top)}" if ok else "not falling yet")
                parts.append(f"lag {fmt_int(total)}, {trend} {'✓' if ok else '✗'}")
        freshness = report.check("data_freshness")
        if freshness is not None:
            ok = freshness.status not in (Status.CRIT, Status.UNKNOWN)
            good &= ok
            parts.append(f"freshness {freshness.status.value} {'✓' if ok else '✗'}")
        return good, " · ".join(parts) or "nothing to verify"

    try:
        status = ctx.wait_until("verify", probe)
    except ActionFailed as exc:
        raise ActionFailed(
            f"the data flow did not look right within {format_duration(ctx.timeout)}",
            state_now=[f"Last check: {exc.state_now[0]}" if exc.state_now else "Last check: unknown"],
        ) from None
    return f"data flows: {status}"


def _post_check(run: StepRun) -> str:
    services = run.ctx.services
    assert services is not None
    report = services.health(run.ctx.pipeline.name)
    run.publisher.post_report(run.workflow, f"Post-maintenance check: {run.ctx.pipeline.name}", report)
    bad = [f"{c.name} {c.status.value}" for c in report.worst_first() if c.status is not Status.OK]
    return f"posted below: {report.status.value}" + (f" ({', '.join(bad)})" if bad else ", every check OK")


def _end_result(wf: WorkflowRecord) -> ActionResult:
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
        Step("resume", "Resume the connector", _resume_connector),
        Step("scale_up", "Scale the streams deployment back", _scale_back),
        Step("configmap", "Clear maintenance mode", _clear_maintenance_mode),
        Step("verify", "Verify the data flow", _verify, timeout=lambda config: config.maintenance.verify_timeout),
        Step("report", "Post-maintenance check", _post_check),
    ),
    prepare=_prepare_end,
    result=_end_result,
    state_now=lambda ctx, wf: describe_state(ctx),
    done_note=lambda wf: (
        f"Maintenance over on `{wf.pipeline}`: connector running, {wf.saved.get('replicas_target')} replicas, "
        "maintenance mode cleared, data flowing."
    ),
    recovery="Resume pipeline",
)

DEFINITIONS = {START: START_FLOW, END: END_FLOW}


# --- /cdc maintenance status -----------------------------------------------------------------------------


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
    workflows = _workflows(ctx)
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

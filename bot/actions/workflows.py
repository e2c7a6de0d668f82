"""Runs a workflow's steps in order, recording each in the state store and in a Slack thread.

A workflow is the `run` of an approved, resumable action (`Action.resumable`): the approval runner
calls `run_workflow(definition, ctx)` from the action's `run`. Each step is posted in the approval
message's thread and then updated in place. Everything the next step needs is in the `workflows`
row, so a bot that stops part-way resumes at the first step not done:

- the runner holds the lease `workflow:<id>` (renewed at every poll) and releases it when it stops;
  every write it makes is fenced by the lease's generation, so a runner that stalled while another
  took over writes nothing more: its first write fails and it stops (ActionInterrupted);
- `WorkflowSweeper` (bot/actions/workflow_sweeper.py, one per bot) finds running approvals of
  resumable actions whose lease has lapsed and hands them back to the approval runner, which
  calls the action's `run` again;
- a runner that cannot renew its lease, or sees the bot stopping, raises ActionInterrupted: the
  approval stays `running`, the lease goes (or lapses), and whoever resumes skips the steps done.

A step that fails or is aborted stops the workflow, says what state things are in, and offers the
way back (the definition's `recovery`). Nothing here imports Slack: messages go through the
`WorkflowPublisher` protocol.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.actions.base import ActionContext, ActionError, ActionFailed, ActionInterrupted, ActionResult
from bot.clients.base import BackendError
from bot.core.config import Config
from bot.core.results import HealthReport
from bot.store.models import Workflow, utcnow
from bot.store.workflows import StepState, WorkflowRecord, WorkflowStatus, lease_name

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


class WorkflowAborted(Exception):
    def __init__(self, by: str) -> None:
        super().__init__(f"aborted by {by}")
        self.by = by


@dataclass(frozen=True)
class StepView:
    """One step as its thread message shows it."""

    workflow_id: str
    workflow_title: str
    index: int  # 1-based
    total: int
    name: str
    title: str
    state: str
    text: str
    abortable: bool = False
    started_at: datetime | None = None
    finished_at: datetime | None = None
    abort_requested_by: str | None = None


@dataclass(frozen=True)
class WorkflowNote:
    """A thread message about the workflow as a whole: resumed, finished, or stopped (with what state things are in)."""

    kind: str  # resumed | succeeded | failed | aborted
    text: str
    lines: list[str] = field(default_factory=list)
    # Label of the button that asks for the way back (e.g. "Resume pipeline"); None for no button.
    recovery: str | None = None


@runtime_checkable
class WorkflowPublisher(Protocol):
    """Where a workflow's thread goes (Slack in production)."""

    def post_step(self, workflow: WorkflowRecord, step: StepView) -> str | None:
        """Post a step's message in the workflow's thread; returns its ts."""
        ...

    def update_step(self, workflow: WorkflowRecord, step: StepView, ts: str) -> None: ...

    def post_note(self, workflow: WorkflowRecord, note: WorkflowNote) -> None: ...

    def post_report(self, workflow: WorkflowRecord, title: str, report: HealthReport) -> None: ...


class _NoThread:
    """For callers without a Slack surface (the approval publisher of a test or the CLI)."""

    def post_step(self, workflow: WorkflowRecord, step: StepView) -> str | None:
        return None

    def update_step(self, workflow: WorkflowRecord, step: StepView, ts: str) -> None:
        return None

    def post_note(self, workflow: WorkflowRecord, note: WorkflowNote) -> None:
        return None

    def post_report(self, workflow: WorkflowRecord, title: str, report: HealthReport) -> None:
        return None


@dataclass
class StepRun:
    """What a step's function gets: a context whose waits poll, heartbeat and time out for this step."""

    ctx: ActionContext
    workflow: WorkflowRecord
    publisher: WorkflowPublisher
    save: Callable[..., None]  # record values in the workflow's `saved` (for later steps / workflows)


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    run: Callable[[StepRun], str]  # returns the step's result line; raises ActionFailed (with state_now) etc.
    timeout: Callable[[Config], timedelta] = lambda config: config.actions.timeout
    abortable: bool = False


@dataclass(frozen=True)
class WorkflowDefinition:
    kind: str
    title: str
    steps: tuple[Step, ...]
    # Values to record before the first step (read from the world as approved).
    prepare: Callable[[ActionContext], dict[str, Any]]
    # The approval's result once every step is done.
    result: Callable[[WorkflowRecord], ActionResult]
    # What things look like now, for the message of a workflow that stopped.
    state_now: Callable[[ActionContext, WorkflowRecord], list[str]]
    done_note: Callable[[WorkflowRecord], str]
    recovery: str | None = None


def step_views(definition: WorkflowDefinition, workflow: WorkflowRecord) -> list[StepView]:
    return [_view(definition, workflow, index, step) for index, step in enumerate(definition.steps, start=1)]


def _view(definition: WorkflowDefinition, workflow: WorkflowRecord, index: int, step: Step) -> StepView:
    record = workflow.steps.get(step.name) or {}
    return StepView(
        workflow_id=workflow.id,
        workflow_title=definition.title,
        index=index,
        total=len(definition.steps),
        name=step.name,
        title=step.title,
        state=str(record.get("state") or "pending"),
        text=str(record.get("text") or ""),
        abortable=step.abortable,
        started_at=_time(record.get("started_at")),
        finished_at=_time(record.get("finished_at")),
        abort_requested_by=workflow.abort_requested_by,
    )


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def run_workflow(definition: WorkflowDefinition, ctx: ActionContext) -> ActionResult:
    """Run (or resume) the workflow of the approval in `ctx`; see the module docstring."""
    return _Runner(definition, ctx).run()


class _Runner:
    def __init__(self, definition: WorkflowDefinition, ctx: ActionContext) -> None:
        if ctx.services is None or ctx.approval is None:
            raise ActionError(f"{definition.title} runs only from an approved request")
        self.definition, self.ctx = definition, ctx
        self.services, self.approval = ctx.services, ctx.approval
        self.store = ctx.services.store
        self.config = ctx.services.config
        publisher = ctx.publisher
        self.publisher: WorkflowPublisher = publisher if isinstance(publisher, WorkflowPublisher) else _NoThread()
        # Unique per run, so a second run in this same process cannot renew this one's lease.
        self.holder = f"{ctx.services.instance_id}/{secrets.token_hex(4)}"
        self.lease = lease_name(ctx.approval.id)
        self.ttl = self.config.maintenance.lease
        self.poll = self.config.maintenance.poll_interval.total_seconds()
        self.progress_interval = self.config.actions.progress_interval.total_seconds()
        self.approval_progress = ctx.progress
        self.workflow: WorkflowRecord | None = None
        self.generation = 0  # the lease generation this run holds: every write it makes is fenced by it

    # --- lifecycle -------------------------------------------------------------------------------

    def run(self) -> ActionResult:
        generation = self.store.leases.take(self.lease, self.holder, self.ttl)
        if generation is None:
            raise ActionInterrupted("another bot instance is running this workflow")
        self.generation = generation
        try:
            return self._run()
        finally:
            self.store.leases.release(self.lease, self.holder)

    def _run(self) -> ActionResult:
        approval = self.approval
        workflow = self._load(approval.id)
        resumed = workflow is not None
        if workflow is None:
            try:
                saved = self.definition.prepare(self.ctx)
            except (ActionError, BackendError) as exc:
                raise ActionFailed(f"could not read the pipeline to start, so nothing was done: {exc}") from None
            row = Workflow(
                id=approval.id,
                pipeline=approval.pipeline,
                kind=self.definition.kind,
                status=WorkflowStatus.RUNNING.value,
                steps={},
                saved=saved,
                args=dict(approval.args),
                approval_id=approval.id,
                requested_by=approval.requester,
                # A request made inside a thread keeps its steps in that thread (Slack threads are one level).
                channel=approval.channel,
                thread_ts=approval.thread_ts or approval.message_ts,
                generation=self.generation,
            )
            created = self.store.workflows.create(row)
            workflow = WorkflowRecord.model_validate(created) if created else self._load(approval.id)
            assert workflow is not None
        # From here on this run alone writes the row (until another takes the lease over).
        if not self.store.workflows.fence(workflow.id, self.generation):
            raise self._lost()
        self.workflow = workflow.model_copy(update={"generation": self.generation})
        if workflow.status is WorkflowStatus.SUCCEEDED:
            return self.definition.result(workflow)  # it finished; only the approval did not record it
        if workflow.status is not WorkflowStatus.RUNNING:
            raise ActionFailed(workflow.error or f"the workflow {workflow.status.value}", state_now=self._state_now())
        steps = self.definition.steps
        if resumed:
            self._note_resumed()
        for index, step in enumerate(steps, start=1):
            if self.workflow.step_state(step.name) == StepState.DONE:
                continue
            self._run_step(index, step)
        self._transition(WorkflowStatus.SUCCEEDED, finished_at=utcnow())
        self._reload()
        assert self.workflow is not None
        self._post_note(WorkflowNote(kind="succeeded", text=self.definition.done_note(self.workflow)))
        return self.definition.result(self.workflow)

    def _note_resumed(self) -> None:
        assert self.workflow is not None
        done = [
            f"{i}. {s.title}"
            for i, s in enumerate(self.definition.steps, start=1)
            if self.workflow.step_state(s.name) == StepState.DONE
        ]
        pending = [
            (i, s)
            for i, s in enumerate(self.definition.steps, start=1)
            if self.workflow.step_state(s.name) != StepState.DONE
        ]
        where = f"step {pending[0][0]}/{len(self.definition.steps)} ({pending[0][1].title})" if pending else "the end"
        text = f"Picked up again after the bot restarted ({self.services.instance_id}); continuing at {where}."
        lines = [f"Done before, not repeated: {', '.join(done)}"] if done else ["No step had finished before."]
        self._post_note(WorkflowNote(kind="resumed", text=text, lines=lines))

    # --- one step ----------------------------------------------------------------------------------

    def _run_step(self, index: int, step: Step) -> None:
        assert self.workflow is not None
        record = dict(self.workflow.steps.get(step.name) or {})
        resumed_here = record.get("state") in (StepState.RUNNING, StepState.INTERRUPTED)
        record.update(
            state=StepState.RUNNING.value,
            text="Resuming…" if resumed_here else "Starting…",
            started_at=record.get("started_at") or utcnow().isoformat(),
            finished_at=None,
        )
        self._save_step(step, record)
        view = _view(self.definition, self._current(), index, step)
        if record.get("ts"):
            self._update_message(view, str(record["ts"]))
        else:
            try:
                ts = self.publisher.post_step(self._current(), view)
            except Exception:  # Slack down: the store is the truth, the thread a view of it
                log.exception("could not post step %s of workflow %s", step.name, self._current().id)
                ts = None
            if ts:
                record["ts"] = ts
                self._save_step(step, record)
        self.approval_progress(f"Step {index}/{len(self.definition.steps)} · {step.title}")
        step_ctx = replace(
            self.ctx,
            timeout=step.timeout(self.config).total_seconds(),
            poll_interval=self.poll,
            progress=self._step_progress(index, step, record),
            sleep=self._sleep,
        )
        try:
            self._heartbeat()
            text = step.run(StepRun(ctx=step_ctx, workflow=self._current(), publisher=self.publisher, save=self._save))
        except WorkflowAborted as exc:
            self._stop(index, step, record, StepState.ABORTED, WorkflowStatus.ABORTED, f"aborted by {exc.by}", [])
        except ActionInterrupted:
            if self.services.stopped.is_set():  # our own shutdown: say where it will pick up
                record.update(state=StepState.INTERRUPTED.value, text="the bot stopped here; it continues on restart")
                self._save_step(step, record)
                self._update_message(_view(self.definition, self._current(), index, step), record.get("ts"))
            raise
        except ActionFailed as exc:
            self._stop(index, step, record, StepState.FAILED, WorkflowStatus.FAILED, str(exc), exc.state_now)
        except (ActionError, BackendError) as exc:
            self._stop(index, step, record, StepState.FAILED, WorkflowStatus.FAILED, str(exc), [])
        except Exception as exc:
            log.exception("step %s of workflow %s crashed", step.name, self._current().id)
            error = f"the bot hit an internal error ({type(exc).__name__}); see its log"
            self._stop(index, step, record, StepState.FAILED, WorkflowStatus.FAILED, error, [])
        record.update(state=StepState.DONE.value, text=text, finished_at=utcnow().isoformat())
        self._save_step(step, record)
        self._update_message(_view(self.definition, self._current(), index, step), record.get("ts"))

    def _stop(
        self,
        index: int,
        step: Step,
        record: dict[str, Any],
        state: StepState,
        status: WorkflowStatus,
        error: str,
        state_now: list[str],
    ) -> None:
        """Record why the workflow stopped, say what state things are in, offer the way back; raises ActionFailed."""
        record.update(state=state.value, text=error, finished_at=utcnow().isoformat())
        self._save_step(step, record)
        self._update_message(_view(self.definition, self._current(), index, step), record.get("ts"))
        lines = [*state_now, *self._state_now()]
        where = f"step {index}/{len(self.definition.steps)} ({step.title})"
        message = f"{self.definition.title} stopped at {where}: {error}"
        self._transition(status, finished_at=utcnow(), error=message)
        self._reload()
        self._post_note(WorkflowNote(kind=status.value, text=message, lines=lines, recovery=self.definition.recovery))
        raise ActionFailed(message, state_now=lines)

    def _state_now(self) -> list[str]:
        try:
            return self.definition.state_now(self.ctx, self._current())
        except Exception as exc:  # the backend that broke the step may be down
            return [f"could not read the state now: {exc}"]

    def _step_progress(self, index: int, step: Step, record: dict[str, Any]) -> Callable[[str], None]:
        last: dict[str, Any] = {"text": None, "at": float("-inf")}

        def progress(text: str) -> None:
            # Only changes, and not more often than chat.update allows.
            now = time.monotonic()
            if text == last["text"] or now - last["at"] < self.progress_interval:
                return
            last.update(text=text, at=now)
            record["text"] = text
            self._save_step(step, record)  # so `/cdc maintenance status` shows it too
            self._update_message(_view(self.definition, self._current(), index, step), record.get("ts"))
            self.approval_progress(f"Step {index}/{len(self.definition.steps)} · {step.title}: {text}")

        return progress

    # --- polling: stop, lease, abort ------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        if self.services.stopped.wait(seconds):
            raise ActionInterrupted("the bot is stopping")
        self._heartbeat()

    def _heartbeat(self) -> None:
        if self.services.stopped.is_set():
            raise ActionInterrupted("the bot is stopping")
        if self.store.leases.take(self.lease, self.holder, self.ttl) != self.generation:
            raise self._lost()
        self._reload()
        by = self._current().abort_requested_by
        if by:
            raise WorkflowAborted(by)

    # --- state ---------------------------------------------------------------------------------------

    def _current(self) -> WorkflowRecord:
        assert self.workflow is not None
        return self.workflow

    def _load(self, workflow_id: str) -> WorkflowRecord | None:
        row = self.store.workflows.get(workflow_id)
        return WorkflowRecord.model_validate(row) if row is not None else None

    def _reload(self) -> None:
        self.workflow = self._load(self._current().id) or self.workflow

    def _save_step(self, step: Step, record: dict[str, Any]) -> None:
        steps = {**self._current().steps, step.name: dict(record)}
        if not self.store.workflows.update(self._current().id, self.generation, steps=steps, step=step.name):
            raise self._lost()
        self.workflow = self._current().model_copy(update={"steps": steps, "step": step.name})

    def _save(self, **values: Any) -> None:
        saved = {**self._current().saved, **values}
        if not self.store.workflows.update(self._current().id, self.generation, saved=saved):
            raise self._lost()
        self.workflow = self._current().model_copy(update={"saved": saved})

    def _transition(self, status: WorkflowStatus, **values: Any) -> None:
        workflow_id = self._current().id
        if self.store.workflows.transition(workflow_id, {WorkflowStatus.RUNNING}, status, self.generation, **values):
            return
        now = self._load(workflow_id)
        if now is None or now.generation != self.generation:
            raise self._lost()

    def _lost(self) -> ActionInterrupted:
        # Another runner took the workflow over (this one stalled past its lease): it owns the row
        # and the thread now, so this one stops where it is and writes nothing more.
        log.warning("workflow %s: lease generation %d lost; this runner stops", self.lease, self.generation)
        return ActionInterrupted("lost the workflow's lease: another bot instance took it over")

    def _update_message(self, view: StepView, ts: Any) -> None:
        if not ts:
            return
        try:
            self.publisher.update_step(self._current(), view, str(ts))
        except Exception:
            log.exception("could not update step %s of workflow %s", view.name, view.workflow_id)

    def _post_note(self, note: WorkflowNote) -> None:
        try:
            self.publisher.post_note(self._current(), note)
        except Exception:
            log.exception("could not post a note on workflow %s", self._current().id)

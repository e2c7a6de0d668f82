"""Workflow writes are fenced by the lease's generation: when a runner stalls past its lease and another
takes the workflow over, only the holder's writes land and the stale runner stops at its next write."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.actions.base import ActionContext, ActionInterrupted, ActionResult
from bot.actions.workflows import Step, StepRun, StepView, WorkflowDefinition, WorkflowNote, run_workflow
from bot.app.wiring import build_services
from bot.core.config import Config
from bot.core.results import HealthReport
from bot.services import Services
from bot.store.models import utcnow
from bot.store.workflows import WorkflowRecord, WorkflowStatus, get_workflow, lease_name

FAST_MAINTENANCE = {"poll_interval": "0.1s", "lease": "1s"}


@dataclass(frozen=True)
class Approved:
    """The approval a workflow runs under, as far as the runner reads it."""

    id: str
    pipeline: str
    requester: str = "U0OPERATOR"
    channel: str = "C0OPS"
    thread_ts: str | None = None
    message_ts: str | None = "1.000001"
    args: dict[str, Any] = field(default_factory=dict)


class Thread:
    """A workflow publisher that records what each runner showed in the workflow's thread."""

    def __init__(self, runner: str, log: list[tuple[str, str]]) -> None:
        self.runner, self.log = runner, log

    def post_step(self, workflow: WorkflowRecord, step: StepView) -> str | None:
        self.log.append((self.runner, f"post {step.name} {step.state}"))
        return f"ts-{step.name}"

    def update_step(self, workflow: WorkflowRecord, step: StepView, ts: str) -> None:
        self.log.append((self.runner, f"update {step.name} {step.state}"))

    def post_note(self, workflow: WorkflowRecord, note: WorkflowNote) -> None:
        self.log.append((self.runner, f"note {note.kind}"))

    def post_report(self, workflow: WorkflowRecord, title: str, report: HealthReport) -> None:
        self.log.append((self.runner, f"report {title}"))


def _definition(second_step: Callable[[StepRun], str]) -> WorkflowDefinition:
    return WorkflowDefinition(
        kind="fencing-test",
        title="Fencing test",
        steps=(
            Step("first", "First", lambda run: "first done"),
            Step("second", "Second", second_step, timeout=lambda config: timedelta(seconds=30)),
        ),
        prepare=lambda ctx: {"prepared": True},
        result=lambda workflow: ActionResult("done", [], [], {"saved": workflow.saved}),
        state_now=lambda ctx, workflow: [],
        done_note=lambda workflow: "all done",
    )


def _context(services: Services, approval: Approved, publisher: Thread) -> ActionContext:
    pipeline = services.config.pipeline()
    return ActionContext(
        pipeline=pipeline, clients=services.clients(pipeline), services=services, approval=approval, publisher=publisher
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_stalled_runner_cannot_write_after_another_took_over(
    backend: str, make_config: Callable[..., Config], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path}/state.db" if backend == "sqlite" else str(request.getfixturevalue("pg_url"))
    config = make_config(maintenance=FAST_MAINTENANCE)
    # Two replicas on one database.
    stalled_services, taker_services = build_services(config, url), build_services(config, url)
    approval = Approved(id=f"fence-{time.monotonic_ns()}", pipeline=stalled_services.config.pipeline().name)
    shown: list[tuple[str, str]] = []
    in_second_step, resume_stalled = threading.Event(), threading.Event()

    def second(run: StepRun) -> str:
        if run.ctx.services is stalled_services:
            in_second_step.set()
            resume_stalled.wait(30)  # stalled: no poll, no lease renewal (a GC pause, a hung call)
            run.save(written_by="stalled")  # the first write after waking up
            return "stalled runner finished the step"
        run.save(written_by="taker")
        return "taker finished the step"

    definition = _definition(second)
    stalled_error: list[BaseException] = []

    def run_stalled() -> None:
        try:
            run_workflow(definition, _context(stalled_services, approval, Thread("stalled", shown)))
        except BaseException as exc:  # what the runner raised is the point of the test
            stalled_error.append(exc)

    stalled = threading.Thread(target=run_stalled, name="stalled-runner")
    stalled.start()
    assert in_second_step.wait(30)
    first_lease = taker_services.store.leases.get(lease_name(approval.id))
    assert first_lease is not None and first_lease.generation >= 1
    # Its lease lapses; another replica (the sweeper's resume) takes the workflow over.
    deadline = time.monotonic() + 10
    while taker_services.store.leases.get(lease_name(approval.id)).expires_at > utcnow():  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    result = run_workflow(definition, _context(taker_services, approval, Thread("taker", shown)))
    assert result.details["saved"] == {"prepared": True, "written_by": "taker"}
    taken = taker_services.store.leases.get(lease_name(approval.id))
    assert taken is not None and taken.generation == first_lease.generation + 1

    # The stalled runner wakes up: its first write is refused and it stops, writing nothing more.
    shown_before = list(shown)
    resume_stalled.set()
    stalled.join(30)
    assert not stalled.is_alive()
    assert len(stalled_error) == 1 and isinstance(stalled_error[0], ActionInterrupted)
    assert "lost the workflow's lease" in str(stalled_error[0])
    workflow = get_workflow(taker_services.store, approval.id)
    assert workflow is not None and workflow.status is WorkflowStatus.SUCCEEDED
    assert workflow.saved == {"prepared": True, "written_by": "taker"}
    assert workflow.steps["second"]["text"] == "taker finished the step"
    assert workflow.generation == taken.generation
    assert shown == shown_before  # nothing more in the thread from the stalled runner
    assert ("taker", "note resumed") in shown and ("taker", "note succeeded") in shown
    for services in (stalled_services, taker_services):
        services.close()
        services.store.engine.dispose()


def test_every_workflow_write_is_compare_and_set_on_the_generation(make_services: Callable[..., Services]) -> None:
    from bot.store.models import Workflow

    store = make_services().store
    store.workflows.create(Workflow(id="w1", pipeline="p", kind="k", status="running", channel="C", generation=1))
    assert store.workflows.update("w1", 1, step="a")
    assert store.workflows.fence("w1", 2)
    assert not store.workflows.fence("w1", 1)  # an older runner cannot fence it back
    assert not store.workflows.update("w1", 1, step="stale")
    assert not store.workflows.transition("w1", {"running"}, "failed", 1)
    assert store.workflows.update("w1", 2, step="b")
    assert store.workflows.transition("w1", {"running"}, "succeeded", 2)
    row = store.workflows.get("w1")
    assert row is not None and (row.step, row.status, row.generation) == ("b", "succeeded", 2)


def test_the_lease_generation_rises_only_when_the_holder_changes(make_services: Callable[..., Services]) -> None:
    store = make_services().store
    a, b = "replica-a", "replica-b"
    t0 = utcnow()
    ttl = timedelta(seconds=10)
    assert store.leases.take("gen", a, ttl, now=t0) == 1
    assert store.leases.take("gen", a, ttl, now=t0 + timedelta(seconds=5)) == 1  # a renewal
    assert store.leases.take("gen", b, ttl, now=t0 + timedelta(seconds=6)) is None
    assert store.leases.take("gen", b, ttl, now=t0 + timedelta(seconds=16)) == 2  # a takeover
    assert store.leases.take("gen", a, ttl, now=t0 + timedelta(seconds=17)) is None
    store.leases.release("gen", b, now=t0 + timedelta(seconds=18))
    assert store.leases.take("gen", a, ttl, now=t0 + timedelta(seconds=18)) == 3

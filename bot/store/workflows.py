"""Workflow rows in the state store: create, read, compare-and-set status, step records, abort requests.

Who runs a workflow is decided by the lease `workflow:<id>` in `leader_leases` (the same atomic
take-or-renew the scheduler's leader election uses), not by a column here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.store.state import Approval, StateStore, Workflow, utcnow


class WorkflowStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABORTED = "aborted"


class StepState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"


def lease_name(workflow_id: str) -> str:
    return f"workflow:{workflow_id}"


@dataclass(frozen=True)
class WorkflowRecord:
    """One workflow as the engine, renderers and commands see it: a plain snapshot of the row."""

    id: str
    pipeline: str
    kind: str
    status: WorkflowStatus
    channel: str
    created_at: datetime
    updated_at: datetime
    step: str | None = None
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    saved: dict[str, Any] = field(default_factory=dict)
    args: dict[str, Any] = field(default_factory=dict)
    approval_id: str | None = None
    requested_by: str | None = None
    thread_ts: str | None = None
    abort_requested_by: str | None = None
    finished_at: datetime | None = None
    error: str | None = None

    @classmethod
    def from_row(cls, row: Workflow) -> WorkflowRecord:
        return cls(
            id=row.id,
            pipeline=row.pipeline,
            kind=row.kind,
            status=WorkflowStatus(row.status),
            channel=row.channel,
            created_at=row.created_at,
            updated_at=row.updated_at,
            step=row.step,
            steps={k: dict(v) for k, v in (row.steps or {}).items()},
            saved=dict(row.saved or {}),
            args=dict(row.args or {}),
            approval_id=row.approval_id,
            requested_by=row.requested_by,
            thread_ts=row.thread_ts,
            abort_requested_by=row.abort_requested_by,
            finished_at=row.finished_at,
            error=row.error,
        )

    def step_state(self, name: str) -> str | None:
        return (self.steps.get(name) or {}).get("state")


def create_workflow(store: StateStore, row: Workflow) -> WorkflowRecord | None:
    """Insert a new workflow; None when one with this id exists already (another runner made it)."""
    try:
        with store.session() as session:
            session.add(row)
    except IntegrityError:
        return None
    return WorkflowRecord.from_row(row)


def get_workflow(store: StateStore, workflow_id: str) -> WorkflowRecord | None:
    with store.session() as session:
        row = session.get(Workflow, workflow_id)
        return WorkflowRecord.from_row(row) if row is not None else None


def update_workflow(store: StateStore, workflow_id: str, **values: Any) -> None:
    """Fields other than `status` (steps, current step, saved values); only the lease holder calls it."""
    assert "status" not in values
    with store.session() as session:
        session.execute(
            update(Workflow)
            .where(Workflow.id == workflow_id)
            .values(updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )


def transition_workflow(
    store: StateStore, workflow_id: str, from_states: Iterable[str], to_state: str, **values: Any
) -> bool:
    """Compare-and-set on status: True for exactly one caller."""
    states = sorted(str(s) for s in from_states)
    statement = (
        update(Workflow)
        .where(Workflow.id == workflow_id, Workflow.status.in_(states))
        .values(status=str(to_state), updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    with store.session() as session:
        return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]


def request_abort(store: StateStore, workflow_id: str, user: str) -> bool:
    """Ask a running workflow to stop; True for the first press only. The runner acts on it at its next poll."""
    statement = (
        update(Workflow)
        .where(
            Workflow.id == workflow_id,
            Workflow.status == WorkflowStatus.RUNNING.value,
            Workflow.abort_requested_by.is_(None),
        )
        .values(abort_requested_by=user, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    with store.session() as session:
        return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]


def latest_workflows(store: StateStore, pipeline: str, kinds: Iterable[str], limit: int = 10) -> list[WorkflowRecord]:
    """Newest first."""
    query = (
        select(Workflow)
        .where(Workflow.pipeline == pipeline, Workflow.kind.in_(list(kinds)))
        .order_by(Workflow.created_at.desc())
        .limit(limit)
    )
    with store.session() as session:
        return [WorkflowRecord.from_row(row) for row in session.scalars(query)]


def running_approvals(store: StateStore, actions: Iterable[str]) -> list[tuple[str, datetime | None]]:
    """(id, started_at) of approvals in `running` for these actions: a workflow run, or one whose bot stopped."""
    query = select(Approval.id, Approval.started_at).where(
        Approval.state == "running", Approval.action.in_(list(actions))
    )
    with store.session() as session:
        return [(row.id, row.started_at) for row in session.execute(query)]

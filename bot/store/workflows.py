"""Workflow rows: create, read, compare-and-set status, step records, abort requests.

Who runs a workflow is decided by the lease `workflow:<id>` in `leader_leases` (the same atomic
take-or-renew the scheduler's leader election uses). Its generation is the fencing token: a
runner first raises the row's `generation` to the one it took the lease under (`fence`), and its
every write is a compare-and-set on it, so once another runner has taken over, a stalled one's
writes land nowhere and it stops.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import Workflow, utcnow


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


class WorkflowRecord(BaseModel):
    """One workflow as the engine, renderers and commands see it: an immutable snapshot of the row."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    pipeline: str
    kind: str
    status: WorkflowStatus
    channel: str
    created_at: datetime
    updated_at: datetime
    step: str | None = None
    steps: dict[str, dict[str, Any]] = Field(default_factory=dict)
    saved: dict[str, Any] = Field(default_factory=dict)
    args: dict[str, Any] = Field(default_factory=dict)
    approval_id: str | None = None
    requested_by: str | None = None
    thread_ts: str | None = None
    abort_requested_by: str | None = None
    finished_at: datetime | None = None
    error: str | None = None
    generation: int = 0

    def step_state(self, name: str) -> str | None:
        return (self.steps.get(name) or {}).get("state")


class WorkflowRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def create(self, row: Workflow) -> Workflow | None:
        """Insert a new workflow; None when one with this id exists already (another runner made it)."""
        try:
            with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            return None
        return row

    def get(self, workflow_id: str) -> Workflow | None:
        with self._sessions.begin() as session:
            return session.get(Workflow, workflow_id)

    def fence(self, workflow_id: str, generation: int) -> bool:
        """Make `generation` the row's writer; False when a newer runner has fenced it already."""
        statement = (
            update(Workflow)
            .where(Workflow.id == workflow_id, Workflow.generation <= generation)
            .values(generation=generation)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            return bool(session.execute(statement).rowcount == 1)  # type: ignore[attr-defined]

    def update(self, workflow_id: str, generation: int, **values: Any) -> bool:
        """Fields other than `status` (steps, current step, saved values), by the runner of `generation`
        only; False (nothing written) once another runner has taken the workflow over."""
        assert "status" not in values
        statement = (
            update(Workflow)
            .where(Workflow.id == workflow_id, Workflow.generation == generation)
            .values(updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            return bool(session.execute(statement).rowcount == 1)  # type: ignore[attr-defined]

    def transition(
        self,
        workflow_id: str,
        from_states: Iterable[str],
        to_state: str,
        generation: int | None = None,
        **values: Any,
    ) -> bool:
        """Compare-and-set on status (and on the runner's `generation` when given): True for exactly one caller."""
        states = sorted(str(s) for s in from_states)
        fenced = [Workflow.generation == generation] if generation is not None else []
        statement = (
            update(Workflow)
            .where(Workflow.id == workflow_id, Workflow.status.in_(states), *fenced)
            .values(status=str(to_state), updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        with self._sessions.begin() as session:
            return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]

    def request_abort(self, workflow_id: str, user: str) -> bool:
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
        with self._sessions.begin() as session:
            return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]

    def latest(self, pipeline: str, kinds: Iterable[str], limit: int = 10) -> list[Workflow]:
        """Newest first."""
        query = (
            select(Workflow)
            .where(Workflow.pipeline == pipeline, Workflow.kind.in_(list(kinds)))
            .order_by(Workflow.created_at.desc())
            .limit(limit)
        )
        with self._sessions.begin() as session:
            return list(session.scalars(query))


# The functions below are the module's older interface, still used by commands/ and the maintenance
# action; new code calls `store.workflows` and maps rows with `WorkflowRecord.model_validate`.


class _Store(Protocol):
    """A StateStore, as far as these functions need one (naming the class would make a circle with state.py)."""

    @property
    def workflows(self) -> WorkflowRepository: ...


def get_workflow(store: _Store, workflow_id: str) -> WorkflowRecord | None:
    row = store.workflows.get(workflow_id)
    return WorkflowRecord.model_validate(row) if row is not None else None


def request_abort(store: _Store, workflow_id: str, user: str) -> bool:
    return store.workflows.request_abort(workflow_id, user)


def latest_workflows(store: _Store, pipeline: str, kinds: Iterable[str], limit: int = 10) -> list[WorkflowRecord]:
    return [WorkflowRecord.model_validate(row) for row in store.workflows.latest(pipeline, kinds, limit)]

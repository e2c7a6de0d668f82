"""What the listener modules are given: everything is built by the app's wiring, none of it here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.actions.service import ApprovalPublisher, ApprovalService
from bot.core.access import AccessPolicy
from bot.incidents.flows import IncidentFlows
from bot.services import Services


class ScheduleRowView(Protocol):
    """One row of `/cdc schedule` (the scheduler's `ScheduleRow`; commands do not import the scheduler)."""

    @property
    def job(self) -> str: ...

    @property
    def schedule(self) -> str: ...

    @property
    def next_run(self) -> datetime | None: ...

    @property
    def last_run(self) -> str: ...


# Every scheduled job with its next and last run, and a line saying which replica leads.
ScheduleOverview = Callable[[], tuple[Sequence[ScheduleRowView], str]]


@dataclass(frozen=True)
class CommandDeps:
    services: Services
    access: AccessPolicy
    # The bot's one ApprovalService: the Approve/Deny buttons decide with it, the scheduler sweeps with it.
    approvals: ApprovalService
    approval_publisher: ApprovalPublisher
    incidents: IncidentFlows
    schedule_overview: ScheduleOverview

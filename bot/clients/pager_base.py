"""What the bot needs from PagerDuty, as a Protocol, plus the plain records it returns.

Kept apart from `bot.clients.base` so the PagerDuty work does not collide with other edits there;
features depend on `Pager` and these records only, never on the `pagerduty` package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from bot.clients.base import BackendError

# Why a PagerDuty call failed, for callers that answer differently (e.g. "link your PagerDuty
# account" for an unknown user, "PagerDuty is down, page by phone" when unreachable).
PagerFailure = Literal["auth", "forbidden", "unknown_user", "not_found", "rejected", "rate_limited", "unreachable"]

# Events API v2 severities, in PagerDuty's own words.
EventSeverity = Literal["critical", "error", "warning", "info"]


class PagerError(BackendError):
    """PagerDuty refused or could not answer a call; `reason` says which kind of failure it was."""

    def __init__(self, reason: PagerFailure, message: str) -> None:
        super().__init__(message)
        self.reason: PagerFailure = reason


@dataclass(frozen=True)
class PagerUser:
    id: str
    name: str
    # References inside incidents and log entries carry no email; full user records do.
    email: str | None = None


@dataclass(frozen=True)
class PagerIncident:
    id: str
    number: int
    title: str
    status: str  # triggered | acknowledged | resolved
    urgency: str
    service_id: str
    service_name: str
    created_at: datetime
    html_url: str
    dedup_key: str | None
    # Who has it now. PagerDuty exposes no escalation level on an incident: the assignees are
    # the targets of the level it is at.
    assignees: tuple[PagerUser, ...] = ()
    acknowledged_by: PagerUser | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        """How long the incident waited for its first acknowledgement (None: never acknowledged)."""
        if self.acknowledged_at is None:
            return None
        return self.acknowledged_at - self.created_at


@dataclass(frozen=True)
class OnCallLevel:
    """One rule of an escalation policy and who is on call for it now (empty: nobody)."""

    level: int
    users: tuple[PagerUser, ...]
    until: datetime | None = None


class Pager(Protocol):
    def trigger(
        self,
        dedup_key: str,
        summary: str,
        severity: EventSeverity,
        source: str,
        links: Sequence[tuple[str, str]] = (),
    ) -> str: ...
    def acknowledge(self, incident_id: str, as_email: str) -> PagerIncident: ...
    def resolve(self, incident_id: str, as_email: str) -> PagerIncident: ...
    def escalate(self, incident_id: str, as_email: str, level: int) -> PagerIncident: ...
    def incident(self, incident_id: str) -> PagerIncident: ...
    def find_incident_by_dedup_key(self, dedup_key: str) -> PagerIncident | None: ...
    def incidents_since(self, since: datetime, service_ids: Sequence[str] = ()) -> list[PagerIncident]: ...
    def user_by_email(self, email: str) -> PagerUser | None: ...
    def oncall(self, escalation_policy_id: str) -> list[OnCallLevel]: ...

"""Platform-neutral results: what checks return and renderers (Slack, terminal, JSON) read."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Status(StrEnum):
    OK = "OK"
    WARN = "WARN"
    CRIT = "CRIT"
    UNKNOWN = "UNKNOWN"

    @property
    def severity(self) -> int:
        """Worst-first ordering: a check that could not run is worse than a warning."""
        return {"OK": 0, "WARN": 1, "UNKNOWN": 2, "CRIT": 3}[self.value]

    @property
    def exit_code(self) -> int:
        """The Nagios plugin convention."""
        return {"OK": 0, "WARN": 1, "CRIT": 2, "UNKNOWN": 3}[self.value]

    @property
    def emoji(self) -> str:
        return {
            "OK": ":large_green_circle:",
            "WARN": ":large_yellow_circle:",
            "CRIT": ":red_circle:",
            "UNKNOWN": ":white_circle:",
        }[self.value]


def worst(statuses: list[Status]) -> Status:
    return max(statuses, key=lambda s: s.severity, default=Status.OK)


class Finding(BaseModel):
    """One line worth a human's attention inside a check (a lagging partition, a failed task)."""

    status: Status
    text: str


class CheckResult(BaseModel):
    name: str
    status: Status
    summary: str
    duration_ms: int = 0
    details: dict[str, Any] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list)

    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=lambda f: -f.status.severity)


class HealthReport(BaseModel):
    pipeline: str
    status: Status
    generated_at: datetime
    duration_ms: int
    checks: list[CheckResult]
    # Set when a maintenance window is open: checks treat paused/scaled-down as expected.
    notes: list[str] = Field(default_factory=list)

    @classmethod
    def from_checks(
        cls,
        pipeline: str,
        checks: list[CheckResult],
        duration_ms: int,
        generated_at: datetime | None = None,
        notes: list[str] | None = None,
    ) -> HealthReport:
        return cls(
            pipeline=pipeline,
            status=worst([c.status for c in checks]),
            generated_at=generated_at or datetime.now(UTC),
            duration_ms=duration_ms,
            checks=checks,
            notes=notes or [],
        )

    def worst_first(self) -> list[CheckResult]:
        return sorted(self.checks, key=lambda c: -c.status.severity)

    def check(self, name: str) -> CheckResult | None:
        return next((c for c in self.checks if c.name == name), None)

    def to_json_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude={"checks"})
        data["generated_at"] = self.generated_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        data["checks"] = [c.model_dump(mode="json") for c in self.checks]
        return data

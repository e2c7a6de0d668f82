"""The runbook's 9:00 Morning Health Check: dashboard, freshness, lag, and what happened overnight."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.clients.base import Alarm, PipelineClients
from bot.core.config import PipelineConfig
from bot.core.results import HealthReport, Status, worst
from bot.reports.pipelines import PipelinesReport, attempt, for_each_pipeline
from bot.services import Services

OVERNIGHT = timedelta(hours=24)


@dataclass
class OvernightAlarms:
    """Alarms in ALARM now, or whose state changed in the last 24 h.

    CloudWatch's alarm history API is not used: describe_alarms gives each alarm's current state
    and when it last changed, which shows an alarm that fired and recovered overnight only as
    'changed', not how often it flapped. The report says so.
    """

    firing: list[Alarm] = field(default_factory=list)
    changed: list[Alarm] = field(default_factory=list)
    error: str | None = None
    limitation: str = "from each alarm's current state and last change; flaps in between are not counted"


@dataclass
class PipelineMorning:
    health: HealthReport
    overnight: OvernightAlarms


@dataclass
class MorningReport(PipelinesReport[PipelineMorning]):
    @property
    def status(self) -> Status:
        return worst([p.health.status for p in self.pipelines])


def overnight_alarms(alarms: list[Alarm], now: datetime, window: timedelta = OVERNIGHT) -> OvernightAlarms:
    result = OvernightAlarms()
    for alarm in sorted(alarms, key=lambda a: a.updated_at or now, reverse=True):
        if alarm.state == "ALARM":
            result.firing.append(alarm)
        elif alarm.updated_at is not None and now - alarm.updated_at <= window:
            result.changed.append(alarm)
    return result


def build_morning_report(
    services: Services,
    pipelines: list[str] | None = None,
    now: datetime | None = None,
    late_by: timedelta | None = None,
) -> MorningReport:
    at = now or datetime.now(UTC)

    def morning(pipeline: PipelineConfig, clients: PipelineClients) -> PipelineMorning:
        health = services.health(pipeline.name)
        alarms, error = attempt(lambda: clients.aws.describe_alarms(None))
        overnight = overnight_alarms(alarms, at) if alarms is not None else OvernightAlarms(error=error)
        return PipelineMorning(health=health, overnight=overnight)

    return MorningReport(generated_at=at, pipelines=for_each_pipeline(services, pipelines, morning), late_by=late_by)

"""Incidents: the runbook's Incident Response as a workflow.

Domain only: the use cases are `flows.IncidentFlows`, which publish through the `IncidentPublisher`
protocol; the Slack implementation is `bot.slack.incident_publisher`, the listeners are in `commands`.
"""

from bot.incidents.service import (
    ClosingSummary,
    EventKind,
    IncidentError,
    IncidentRecord,
    IncidentService,
    IncidentStatus,
    SnapshotTaken,
    TimelineEntry,
    parse_ref,
)
from bot.incidents.severity import Severity

__all__ = [
    "ClosingSummary",
    "EventKind",
    "IncidentError",
    "IncidentRecord",
    "IncidentService",
    "IncidentStatus",
    "Severity",
    "SnapshotTaken",
    "TimelineEntry",
    "parse_ref",
]

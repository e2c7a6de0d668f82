"""Incidents: the runbook's Incident Response as a workflow (domain only; Slack lives in commands/incidents.py)."""

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

"""Where an incident's messages go: the `IncidentPublisher` protocol (Slack in production).

The incident flows say *what* to publish (a checklist, a snapshot, a closing summary); the
publisher decides how it looks and where it is posted. Nothing here imports Slack.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.core.results import CheckResult, HealthReport
from bot.incidents.service import ClosingSummary, IncidentRecord, SnapshotTaken, TimelineEntry
from bot.incidents.severity import Severity
from bot.incidents.verify import VerifyResult


class PublishError(Exception):
    """The message could not be posted or updated; `reason` is short enough for a log line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@runtime_checkable
class IncidentPublisher(Protocol):
    """Posts an incident's root message and its thread; raises PublishError when the chat refuses."""

    def post_root(self, incident: IncidentRecord, channel: str) -> tuple[str, str]:
        """Post the incident's root message in `channel`; returns (channel id, message ts)."""
        ...

    def update_root(self, incident: IncidentRecord) -> None: ...

    def post_checklist(self, incident: IncidentRecord) -> None: ...

    def post_snapshot(self, incident: IncidentRecord, taken: SnapshotTaken) -> None: ...

    def upload_snapshot_files(self, incident: IncidentRecord, taken: SnapshotTaken) -> None: ...

    def post_files_not_uploaded(self, incident: IncidentRecord, number: int) -> None: ...

    def post_snapshot_failed(self, incident: IncidentRecord, reason: str) -> None: ...

    def post_severity_change(self, incident: IncidentRecord, old: Severity, actor: str) -> None: ...

    def post_note(self, incident: IncidentRecord, actor: str, text: str, at: datetime) -> None: ...

    def post_timeline(self, incident: IncidentRecord, entries: Sequence[TimelineEntry]) -> None: ...

    def post_escalation(
        self,
        incident: IncidentRecord,
        actor: str,
        contacts: dict[str, str | None],
        ops_channel: str,
        alerts_channel: str,
    ) -> None: ...

    def post_closing(self, closing: ClosingSummary) -> None: ...

    def post_acknowledged(self, incident: IncidentRecord, actor: str) -> None: ...

    def post_health(self, incident: IncidentRecord, report: HealthReport, title: str) -> None: ...

    def post_check(self, incident: IncidentRecord, result: CheckResult, pipeline: str) -> None: ...

    def post_verify(self, incident: IncidentRecord, result: VerifyResult, pipeline: str) -> None: ...

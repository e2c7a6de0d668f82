"""Incidents in the state store: declare, snapshot, note, change severity, escalate, resolve, read the timeline.

Slack-free: the command layer posts what these return. Every state change is one row in
`incident_events` (the timeline); actions requested in the incident's thread are approvals, read
from `approvals` by the thread they were posted in, so their outcomes are always current.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.actions.approvals import ApprovalRecord, ApprovalState
from bot.core.redaction import redact_text
from bot.incidents.diff import Change, diff_snapshots
from bot.incidents.severity import Severity
from bot.incidents.snapshot import SummaryLine, summarize, take_snapshot
from bot.services import Services
from bot.store.incidents import IncidentStatus
from bot.store.models import Incident, utcnow

TITLE_MAX = 200
_REF = re.compile(r"(?i)^(?:INC-?)(\d{1,9})$")


class IncidentError(Exception):
    """The request cannot be done as asked (no such incident, already resolved, same severity)."""


class EventKind(StrEnum):
    DECLARED = "declared"
    SNAPSHOT = "snapshot"
    NOTE = "note"
    SEVERITY = "severity"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    CHECK = "check"
    RESOLVED = "resolved"


def incident_ref(incident_id: int) -> str:
    return f"INC-{incident_id}"


def parse_ref(word: str) -> int | None:
    """`INC-3`, `inc3` → 3; anything else (plain words, bare numbers) → None."""
    match = _REF.match(word.strip())
    return int(match.group(1)) if match else None


class IncidentRecord(BaseModel):
    """One incident as commands and renderers see it: an immutable snapshot of its row."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    pipeline: str
    severity: Severity
    title: str
    affected: str | None
    commander: str
    status: IncidentStatus
    channel: str
    thread_ts: str | None
    started_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    summary: str | None = None

    @property
    def ref(self) -> str:
        return incident_ref(self.id)

    @property
    def is_open(self) -> bool:
        return self.status is IncidentStatus.OPEN

    def duration(self, now: datetime | None = None) -> timedelta:
        return (self.resolved_at or now or utcnow()) - self.started_at


class EventRecord(BaseModel):
    """One timeline entry, as stored."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    incident_id: int
    at: datetime
    actor: str
    kind: str
    text: str
    data: dict[str, Any]


@dataclass(frozen=True)
class SnapshotTaken:
    incident: IncidentRecord
    number: int
    at: datetime
    snapshot: dict[str, Any]
    summary: list[SummaryLine]
    # None for the first snapshot; otherwise what changed since `previous_number`.
    changes: list[Change] | None = None
    previous_number: int | None = None
    previous_at: datetime | None = None


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    kind: str
    text: str


@dataclass(frozen=True)
class ClosingSummary:
    incident: IncidentRecord
    duration: timedelta
    severity_changes: list[tuple[datetime, str, str, str]] = field(default_factory=list)  # at, actor, from, to
    actions: list[ApprovalRecord] = field(default_factory=list)
    snapshots: list[tuple[int, datetime, str]] = field(default_factory=list)  # number, at, overall status
    notes: int = 0
    escalations: int = 0
    checks: int = 0


@dataclass(frozen=True)
class Choice:
    """Which incident a command is about: one, or the open ones to pick from."""

    incident: IncidentRecord | None
    candidates: list[IncidentRecord]
    # The words left once an incident reference was taken out.
    rest: list[str]
    error: str | None = None


class IncidentService:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store

    # --- reading ---------------------------------------------------------------------------------------

    def get(self, incident_id: int) -> IncidentRecord | None:
        row = self.store.incidents.get(incident_id)
        return IncidentRecord.model_validate(row) if row is not None else None

    def require(self, incident_id: int) -> IncidentRecord:
        found = self.get(incident_id)
        if found is None:
            raise IncidentError(f"There is no incident {incident_ref(incident_id)}.")
        return found

    def open_incidents(self, channel: str | None = None) -> list[IncidentRecord]:
        return [IncidentRecord.model_validate(row) for row in self.store.incidents.open(channel)]

    def events(self, incident_id: int, kind: str | None = None) -> list[EventRecord]:
        return [EventRecord.model_validate(row) for row in self.store.incidents.events(incident_id, kind)]

    def choose(self, channel: str, words: list[str], ref_positions: int = 1) -> Choice:
        """The incident a command means: an `INC-n` among the first `ref_positions` words, else the one
        open incident of the channel (or, if the channel has none, of the whole workspace)."""
        rest = list(words)
        for index, word in enumerate(words[:ref_positions]):
            incident_id = parse_ref(word)
            if incident_id is not None:
                rest.pop(index)
                found = self.get(incident_id)
                if found is None:
                    return Choice(
                        None, self.open_incidents(), rest, f"There is no incident {incident_ref(incident_id)}."
                    )
                return Choice(found, [], rest)
        # Slash commands carry no thread: the channel's single open incident is the one meant.
        candidates = self.open_incidents(channel) or self.open_incidents()
        if len(candidates) == 1:
            return Choice(candidates[0], candidates, rest)
        if not candidates:
            return Choice(None, [], rest, "There is no open incident. Declare one with `/cdc incident declare`.")
        return Choice(None, candidates, rest, "Several incidents are open: say which one.")

    def actions(self, incident: IncidentRecord) -> list[ApprovalRecord]:
        """Runbook actions requested in the incident's thread, oldest first, as the approvals table has them."""
        if not incident.thread_ts:
            return []
        rows = self.store.approvals.in_thread(incident.channel, incident.thread_ts)
        return [ApprovalRecord.model_validate(row) for row in rows]

    # --- changing ----------------------------------------------------------------------------------------

    def record(
        self, incident_id: int, actor: str, kind: EventKind, text: str = "", data: dict[str, Any] | None = None
    ) -> EventRecord:
        return EventRecord.model_validate(self.store.incidents.add_event(incident_id, actor, kind.value, text, data))

    def declare(
        self,
        *,
        pipeline: str | None,
        severity: Severity,
        title: str,
        commander: str,
        channel: str,
        affected: str | None = None,
        now: datetime | None = None,
    ) -> IncidentRecord:
        """Store a new open incident (UnknownPipeline for a pipeline the config does not name)."""
        pipeline_config = self.services.config.pipeline(pipeline)
        # Typed text can hold anything, a pasted password included: it is redacted like a snapshot.
        title = redact_text(" ".join(title.split()))[:TITLE_MAX]
        if not title:
            raise IncidentError("An incident needs a title (what is wrong, in a few words).")
        affected_text = redact_text(affected.strip()) if affected and affected.strip() else None
        now = now or utcnow()
        row = Incident(
            pipeline=pipeline_config.name,
            severity=severity.value,
            title=title,
            affected=affected_text,
            commander=commander,
            status=IncidentStatus.OPEN.value,
            channel=channel,
            started_at=now,
        )
        record = IncidentRecord.model_validate(self.store.incidents.add(row))
        self.record(
            record.id,
            commander,
            EventKind.DECLARED,
            f"declared {severity.value}: {title}",
            {"severity": severity.value, "pipeline": record.pipeline, "affected": affected_text},
        )
        self.store.audit_log.record(
            commander, "incident.declared", record.pipeline, record.ref, {"severity": severity.value}
        )
        return record

    def attach_thread(self, incident_id: int, channel: str, thread_ts: str) -> IncidentRecord:
        row = self.store.incidents.attach_thread(incident_id, channel, thread_ts)
        if row is None:
            raise IncidentError(f"There is no incident {incident_ref(incident_id)}.")
        return IncidentRecord.model_validate(row)

    def snapshot(self, incident: IncidentRecord, actor: str) -> SnapshotTaken:
        """Take a snapshot of the incident's pipeline, store it, and compare it with the previous one."""
        pipeline = self.services.config.pipeline(incident.pipeline)
        now = utcnow()
        document = take_snapshot(self.services, pipeline, now)
        previous = self._last_snapshot(incident.id)
        number = self._count(incident.id, EventKind.SNAPSHOT) + 1
        changes = diff_snapshots(previous.data["snapshot"], document) if previous is not None else None
        # The thread gets the short version: each check's summary and its two worst findings.
        summary = summarize(document, findings_per_check=2)
        text = f"snapshot #{number}: {document.get('status')}"
        if changes is not None:
            text += f", {len(changes)} change{'s' if len(changes) != 1 else ''} since #{previous.data.get('number')}"  # type: ignore[union-attr]
        self.record(
            incident.id,
            actor,
            EventKind.SNAPSHOT,
            text,
            {
                "number": number,
                "status": document.get("status"),
                "snapshot": document,
                "changes": [c.text for c in changes or []],
            },
        )
        return SnapshotTaken(
            incident=incident,
            number=number,
            at=now,
            snapshot=document,
            summary=summary,
            changes=changes,
            previous_number=previous.data.get("number") if previous else None,
            previous_at=previous.at if previous else None,
        )

    def _last_snapshot(self, incident_id: int) -> EventRecord | None:
        row = self.store.incidents.last_event(incident_id, EventKind.SNAPSHOT.value)
        return EventRecord.model_validate(row) if row is not None else None

    def _count(self, incident_id: int, kind: EventKind) -> int:
        return self.store.incidents.count_events(incident_id, kind.value)

    def set_severity(self, incident: IncidentRecord, severity: Severity, actor: str) -> IncidentRecord:
        if not incident.is_open:
            raise IncidentError(f"{incident.ref} is resolved; its severity stays {incident.severity.value}.")
        if severity is incident.severity:
            raise IncidentError(f"{incident.ref} is already {severity.value}.")
        # Compare-and-set on the severity read, so two people changing it at once both see the truth.
        if not self.store.incidents.change_severity(incident.id, incident.severity.value, severity.value):
            fresh = self.require(incident.id)
            raise IncidentError(
                f"{incident.ref} changed meanwhile: it is {fresh.severity.value}, {fresh.status.value}."
            )
        self.record(
            incident.id,
            actor,
            EventKind.SEVERITY,
            f"severity {incident.severity.value} → {severity.value}",
            {"from": incident.severity.value, "to": severity.value},
        )
        return self.require(incident.id)

    def note(self, incident: IncidentRecord, actor: str, text: str) -> EventRecord:
        cleaned = redact_text(text.strip())
        if not cleaned:
            raise IncidentError("A note needs some text: `/cdc incident note TEXT`.")
        return self.record(incident.id, actor, EventKind.NOTE, cleaned)

    def resolve(self, incident: IncidentRecord, actor: str, summary: str | None = None) -> ClosingSummary:
        summary_text = redact_text(summary.strip()) if summary and summary.strip() else None
        now = utcnow()
        if not self.store.incidents.resolve(incident.id, at=now, by=actor, summary=summary_text):
            raise IncidentError(f"{incident.ref} is already resolved.")
        self.record(incident.id, actor, EventKind.RESOLVED, f"resolved{': ' + summary_text if summary_text else ''}")
        resolved = self.require(incident.id)
        self.store.audit_log.record(
            actor,
            "incident.resolved",
            resolved.pipeline,
            resolved.ref,
            {"duration_s": int(resolved.duration().total_seconds())},
        )
        return self.closing_summary(resolved)

    # --- summaries ---------------------------------------------------------------------------------------

    def closing_summary(self, incident: IncidentRecord) -> ClosingSummary:
        events = self.events(incident.id)
        return ClosingSummary(
            incident=incident,
            duration=incident.duration(),
            severity_changes=[
                (e.at, e.actor, str(e.data.get("from")), str(e.data.get("to")))
                for e in events
                if e.kind == EventKind.SEVERITY.value
            ],
            actions=self.actions(incident),
            snapshots=[
                (int(e.data.get("number") or 0), e.at, str(e.data.get("status")))
                for e in events
                if e.kind == EventKind.SNAPSHOT.value
            ],
            notes=sum(1 for e in events if e.kind == EventKind.NOTE.value),
            escalations=sum(1 for e in events if e.kind == EventKind.ESCALATED.value),
            checks=sum(1 for e in events if e.kind == EventKind.CHECK.value),
        )

    def timeline(self, incident: IncidentRecord) -> list[TimelineEntry]:
        """Stored events and the thread's approvals (requested, decided, finished), in time order."""
        entries = [TimelineEntry(e.at, e.actor, e.kind, e.text) for e in self.events(incident.id)]
        for a in self.actions(incident):
            what = " ".join([a.action, *a.argv])
            entries.append(
                TimelineEntry(a.created_at, a.requester, "action", f"requested {what} (approval {a.id[:8]})")
            )
            if a.decided_at and a.decided_by:
                verb = "approved" if a.state not in (ApprovalState.DENIED,) else "denied"
                if a.state is ApprovalState.DENIED and a.decided_by == a.requester:
                    verb = "withdrew"
                entries.append(TimelineEntry(a.decided_at, a.decided_by, "action", f"{verb} {what}"))
            if a.finished_at and a.state in (ApprovalState.SUCCEEDED, ApprovalState.FAILED, ApprovalState.DRIFTED):
                entries.append(TimelineEntry(a.finished_at, "cdc-bot", "action", action_outcome(a)))
            elif a.state is ApprovalState.EXPIRED:
                entries.append(TimelineEntry(a.finished_at or a.expires_at, "cdc-bot", "action", f"{what} expired"))
        entries.sort(key=lambda e: e.at)
        return entries


def action_outcome(a: ApprovalRecord) -> str:
    """One line: what became of a requested action (never a secret: results hold none, and it is redacted)."""
    what = " ".join([a.action, *a.argv])
    result = a.result or {}
    if a.state is ApprovalState.SUCCEEDED:
        text = f"{what} succeeded: {result.get('summary') or 'done'}"
    elif a.state is ApprovalState.FAILED:
        text = f"{what} failed: {a.error or 'unknown error'}"
    elif a.state is ApprovalState.DRIFTED:
        text = f"{what} not run: the pipeline changed since the preview"
    elif a.state is ApprovalState.DENIED:
        text = f"{what} denied" if a.decided_by != a.requester else f"{what} withdrawn"
    elif a.state is ApprovalState.EXPIRED:
        text = f"{what} expired unapproved"
    else:
        text = f"{what} {a.state.value}"
    return redact_text(text)

"""The incident use cases: declare, snapshot, checklist steps, notes, severity, escalate, resolve.

Each operation changes the incident through `IncidentService` (the state store) and says so in
the incident's thread through an `IncidentPublisher`; checklist actions are approval requests
posted through an `ApprovalPublisher`. Both publishers are injected by the app's wiring, so
nothing here knows Slack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.actions.service import ApprovalPublisher, request_action
from bot.clients.base import BackendError
from bot.core.access import AccessPolicy
from bot.core.config import UnknownPipeline
from bot.core.redaction import redact
from bot.core.results import CheckResult, HealthReport
from bot.incidents.publisher import IncidentPublisher, PublishError
from bot.incidents.service import EventKind, IncidentError, IncidentRecord, IncidentService
from bot.incidents.severity import Button, Severity, StepKind
from bot.incidents.verify import DEFAULT_COUNT, verify_data_flow
from bot.services import Services

log = logging.getLogger(__name__)


class IncidentFlows:
    """One per bot: every incident operation, whichever door (slash command, button, modal) asked."""

    def __init__(
        self,
        services: Services,
        publisher: IncidentPublisher,
        approvals: ApprovalPublisher,
        access: AccessPolicy,
        check_label: Callable[[str], str] = str,
    ) -> None:
        self.services = services
        # How a check is named for people ("Consumer lag"): presentation, so injected by the wiring.
        self.check_label = check_label
        self.publisher = publisher
        self.approvals = approvals
        self.access = access
        self.incidents = IncidentService(services)

    def _update_root(self, incident: IncidentRecord) -> None:
        try:
            self.publisher.update_root(incident)
        except PublishError as exc:  # the thread still says it; a stale root message is not worth failing for
            log.warning("could not update the root message of %s: %s", incident.ref, exc.reason)

    def declare(
        self,
        *,
        pipeline: str | None,
        severity: Severity,
        title: str,
        commander: str,
        origin_channel: str,
        affected: str | None = None,
    ) -> IncidentRecord:
        ops_channel = self.services.config.slack.ops_channel
        incident = self.incidents.declare(
            pipeline=pipeline,
            severity=severity,
            title=title,
            commander=commander,
            channel=ops_channel,
            affected=affected,
        )
        posted: tuple[str, str] | None = None
        for channel in dict.fromkeys([ops_channel, origin_channel]):
            if not channel:
                continue
            try:
                posted = self.publisher.post_root(incident, channel)
                break
            except PublishError as exc:  # not in the ops channel, or the chat is unreachable: try where declared
                log.warning("could not post %s in %s: %s", incident.ref, channel, exc.reason)
        if posted is None:
            # Closed at once, so the channel's "one open incident" is never one without a thread.
            self.incidents.resolve(incident, commander, "not posted: the bot could not post the incident")
            raise IncidentError(
                f"Could not post {incident.ref} in {ops_channel} or here; invite the bot to {ops_channel} and declare "
                "again."
            )
        # The posted channel is an id, which threads, files and approvals need.
        incident = self.incidents.attach_thread(incident.id, *posted)
        log.info("%s declared (%s) by %s on %s", incident.ref, severity.value, commander, incident.pipeline)
        self.publisher.post_checklist(incident)
        self.snapshot(incident, commander)
        return incident

    def snapshot(self, incident: IncidentRecord, actor: str) -> None:
        try:
            taken = self.incidents.snapshot(incident, actor)
        except (BackendError, UnknownPipeline) as exc:
            self.publisher.post_snapshot_failed(incident, str(exc))
            return
        log.info("%s snapshot #%d: %s", incident.ref, taken.number, taken.snapshot.get("status"))
        self.publisher.post_snapshot(incident, taken)
        try:
            self.publisher.upload_snapshot_files(incident, taken)
        except Exception as exc:  # no files:write, too large: the snapshot is stored, say where
            log.warning("could not upload snapshot #%d of %s: %s", taken.number, incident.ref, type(exc).__name__)
            self.publisher.post_files_not_uploaded(incident, taken.number)

    def set_severity(self, incident: IncidentRecord, severity: Severity, actor: str) -> None:
        old = incident.severity
        updated = self.incidents.set_severity(incident, severity, actor)
        self._update_root(updated)
        self.publisher.post_severity_change(updated, old, actor)
        self.publisher.post_checklist(updated)

    def note(self, incident: IncidentRecord, actor: str, text: str) -> None:
        event = self.incidents.note(incident, actor, text)
        self.publisher.post_note(incident, actor, event.text, event.at)

    def timeline(self, incident: IncidentRecord) -> None:
        self.publisher.post_timeline(incident, self.incidents.timeline(incident))

    def escalate(self, incident: IncidentRecord, actor: str) -> None:
        self.incidents.record(incident.id, actor, EventKind.ESCALATED, f"escalated ({incident.severity.value})")
        slack = self.services.config.slack
        contacts = self.services.config.contacts.model_dump()
        self.publisher.post_escalation(incident, actor, contacts, slack.ops_channel, slack.alerts_channel)

    def resolve(self, incident: IncidentRecord, actor: str, summary: str | None) -> None:
        closing = self.incidents.resolve(incident, actor, summary)
        self._update_root(closing.incident)
        self.publisher.post_closing(closing)

    def run_step(self, incident: IncidentRecord, button: Button, actor: str) -> None:
        """One checklist button: a read-only check posted in the thread, or an approval request there."""
        pipeline = self.services.config.pipeline(incident.pipeline)
        if button.kind is StepKind.ACK:
            self.incidents.record(incident.id, actor, EventKind.ACKNOWLEDGED, "acknowledged")
            self.publisher.post_acknowledged(incident, actor)
        elif button.kind is StepKind.SNAPSHOT:
            self.snapshot(incident, actor)
        elif button.kind is StepKind.HEALTH:
            report = _redacted_report(self.services.health(pipeline.name))
            self.publisher.post_health(incident, report, f"{incident.ref}: pipeline {pipeline.name}")
            self.incidents.record(incident.id, actor, EventKind.CHECK, f"health checks: {report.status.value}")
        elif button.kind is StepKind.CHECK:
            result = _redacted_check(self.services.health(pipeline.name, [button.target]).checks[0])
            self.publisher.post_check(incident, result, pipeline.name)
            self.incidents.record(
                incident.id,
                actor,
                EventKind.CHECK,
                f"{self.check_label(result.name)}: {result.status.value} — {result.summary}",
            )
        elif button.kind is StepKind.VERIFY:
            if not pipeline.topics:
                raise IncidentError(f"Pipeline {pipeline.name} has no `topics` configured to sample.")
            flow = verify_data_flow(self.services.clients(pipeline).kafka, pipeline.topics[0], DEFAULT_COUNT)
            self.publisher.post_verify(incident, flow, pipeline.name)
            self.incidents.record(
                incident.id,
                actor,
                EventKind.CHECK,
                f"verify data flow on {flow.topic}: {len(flow.messages)} latest messages",
            )
        elif button.kind is StepKind.ACTION:
            request_action(
                self.services,
                self.approvals,
                action=button.target,
                words=list(button.words),
                requester=actor,
                channel=incident.channel,
                pipeline=incident.pipeline,
                thread_ts=incident.thread_ts,
                access=self.access,
            )


def _redacted_report(report: HealthReport) -> HealthReport:
    # Check summaries quote traces and reasons, which can quote secrets: the same pass as snapshots.
    return HealthReport.model_validate(redact(report.model_dump(mode="json")))


def _redacted_check(result: CheckResult) -> CheckResult:
    return CheckResult.model_validate(redact(result.model_dump(mode="json")))

"""Golden files for the message kinds the other render tests do not pin: each in both renderings,
`tests/golden/NAME.json` (Block Kit) and `tests/golden/NAME.txt` (what the CLI and the shell print).

Regenerate after an intended change: `UPDATE_GOLDEN=1 python -m pytest tests/test_render_goldens.py`,
then review the diff of tests/golden/.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace

import pytest

from bot.actions import ACTIONS
from bot.actions.maintenance import MaintenanceStatus
from bot.actions.service import ApprovalState
from bot.actions.upgrades import MskVersions, VersionOption
from bot.actions.workflows import StepView, WorkflowNote
from bot.checks.base import MaintenanceWindow
from bot.clients.base import Alarm
from bot.core.results import CheckResult, Finding, HealthReport, Status
from bot.incidents.diff import Change
from bot.incidents.service import ClosingSummary, IncidentRecord, IncidentStatus, SnapshotTaken, TimelineEntry
from bot.incidents.severity import Severity
from bot.incidents.snapshot import SummaryLine
from bot.incidents.verify import MessageShape, VerifyResult
from bot.render.approvals import render_action_list, render_approval
from bot.render.blockkit import SlackMessage
from bot.render.incidents import (
    render_checklist,
    render_closing,
    render_declared_notice,
    render_escalation,
    render_incident_choice,
    render_incident_list,
    render_note,
    render_root,
    render_severity_change,
    render_snapshot,
    render_timeline,
    render_verify,
)
from bot.render.maintenance import (
    render_maintenance_status,
    render_msk_versions,
    render_workflow_note,
    render_workflow_step,
)
from bot.render.message import Message
from bot.render.reports import morning_report_text, render_morning_report
from bot.render.scheduled import render_schedule
from bot.render.slack import render_check_detail, render_contacts, render_error, render_health_report
from bot.render.text import render_text
from bot.reports.morning import MorningReport, OvernightAlarms, PipelineMorning
from bot.store.workflows import WorkflowRecord, WorkflowStatus
from tests.test_render import AT, all_ok_checks, assert_golden, assert_within_limits, lag_warn, mixed_report
from tests.test_render_approvals import in_state

TZ = "Asia/Singapore"


# --- fixtures ---------------------------------------------------------------------------------------------


def incident(open_: bool = True) -> IncidentRecord:
    return IncidentRecord(
        id=7,
        pipeline="prod",
        severity=Severity.SEV2,
        title="Redshift staging tables stale <orders>",
        affected="staging.orders_stream, the 10:00 finance extract",
        commander="U0ALICE",
        status=IncidentStatus.OPEN if open_ else IncidentStatus.RESOLVED,
        channel="C0OPS",
        thread_ts="1795700000.000100",
        started_at=AT,
        resolved_at=None if open_ else AT + timedelta(minutes=47),
        resolved_by=None if open_ else "U0BOB",
        summary=None if open_ else "Connector task restarted after ORA-01291; lag drained in 20 minutes.",
    )


def snapshot(changes: bool) -> SnapshotTaken:
    document = {
        "status": "CRIT",
        "pipeline": "prod",
        "duration_ms": 1840,
        "kubernetes": {
            "namespace": "kafka",
            "pods": [
                {"name": "pii-masking-0", "is_ready": True, "phase": "Running", "restarts": 0},
                {"name": "debezium-connect-0", "is_ready": False, "phase": "Running", "restarts": 4},
            ],
            "deployments": [{"name": "pii-masking"}],
            "events": [{"reason": "BackOff"}],
            "connector": {"found": True, "state": "RUNNING", "tasks": [{"id": 0, "state": "FAILED"}]},
        },
        "msk": {"state": "ACTIVE"},
    }
    summary = [
        SummaryLine(Status.CRIT, "connector: task 0 FAILED: ORA-01291: missing logfile", "connector"),
        SummaryLine(Status.WARN, "consumer_lag: pii-masking-app 52,310 behind", "consumer_lag"),
    ]
    diff = [
        Change("lag", "pii-masking-app: 12,000 → 52,310 behind", better=False),
        Change("pods", "debezium-connect-0 restarted (3 → 4)", better=None),
        Change("alarms", "MSK-HighCPU back to OK", better=True),
    ]
    return SnapshotTaken(
        incident=incident(),
        number=2 if changes else 1,
        at=AT + timedelta(minutes=12),
        snapshot=document,
        summary=summary,
        changes=diff if changes else None,
        previous_number=1 if changes else None,
        previous_at=AT + timedelta(minutes=2) if changes else None,
    )


def closing() -> ClosingSummary:
    return ClosingSummary(
        incident=incident(open_=False),
        duration=timedelta(minutes=47),
        severity_changes=[(AT + timedelta(minutes=5), "U0ALICE", "SEV3", "SEV2")],
        actions=[in_state(ApprovalState.SUCCEEDED), in_state(ApprovalState.DENIED)],
        snapshots=[(1, AT + timedelta(minutes=2), "CRIT"), (2, AT + timedelta(minutes=40), "OK")],
        notes=3,
        escalations=1,
        checks=2,
    )


def verify() -> VerifyResult:
    shapes = [
        MessageShape(2, 41_000, AT - timedelta(seconds=30), True, 8, 812, "u", ["ID", "STATUS"], ["ID", "STATUS"]),
        MessageShape(0, 17_310, AT - timedelta(seconds=95), True, 5, 640, "c", ["ID", "EMAIL"], None),
        MessageShape(1, 9_002, None, False, None, 0, None, None, None, note="tombstone"),
    ]
    return VerifyResult("oracle.inventory.orders", 3, AT, shapes)


def step(state: str, text: str) -> StepView:
    started = AT + timedelta(minutes=1)
    return StepView(
        workflow_id="wf-1",
        workflow_title="Maintenance start",
        index=3,
        total=4,
        name="drain",
        title="Wait for pii-masking-app to drain",
        state=state,
        text=text,
        abortable=True,
        started_at=started,
        finished_at=started + timedelta(seconds=95) if state == "done" else None,
    )


def maintenance_status() -> MaintenanceStatus:
    running = WorkflowRecord(
        id="wf-1",
        pipeline="prod",
        kind="maintenance_start",
        status=WorkflowStatus.RUNNING,
        channel="C0OPS",
        created_at=AT,
        updated_at=AT + timedelta(minutes=2),
        requested_by="U0ALICE",
    )
    window = MaintenanceWindow(True, "Oracle patching", "U0ALICE", AT + timedelta(hours=2))
    steps = [
        StepView("wf-1", "Maintenance start", 1, 4, "window", "Open the window", "done", "window open for 2h"),
        StepView("wf-1", "Maintenance start", 2, 4, "pause", "Pause the connector", "done", "connector PAUSED"),
        StepView("wf-1", "Maintenance start", 3, 4, "drain", "Drain", "running", "52,310 behind, falling"),
        StepView("wf-1", "Maintenance start", 4, 4, "scale", "Scale pii-masking to 0", "pending", ""),
    ]
    return MaintenanceStatus(
        pipeline="prod",
        generated_at=AT + timedelta(minutes=3),
        window=window,
        running=running,
        running_title="Maintenance start",
        steps=steps,
        state_lines=["connector PAUSED", "pii-masking 2/2 ready", "lag 52,310"],
    )


def msk_versions() -> MskVersions:
    return MskVersions(
        pipeline="prod",
        cluster="demo-msk",
        current="3.5.1",
        clients=[("Debezium connect", "3.6.0"), ("pii-masking", "3.5.1")],
        candidates=[
            VersionOption("3.6.0", "ACTIVE", True, "clients already on 3.6"),
            VersionOption("3.7.x", "ACTIVE", False, "Debezium 2.4 is not tested on it"),
        ],
        skipped=4,
    )


def morning() -> MorningReport:
    alarm = Alarm("CDC-HighConsumerLag", "ALARM", "Threshold Crossed: 3 datapoints > 10000", AT - timedelta(hours=2))
    changed = Alarm("MSK-HighCPU", "OK", "back under 80", AT - timedelta(hours=5))
    prod = HealthReport.from_checks("prod", [*all_ok_checks()[:3], lag_warn(), *all_ok_checks()[4:]], 812, AT)
    dr = HealthReport.from_checks("dr", all_ok_checks(), 640, AT, notes=["maintenance window open by U0ALICE"])
    return MorningReport(
        generated_at=AT,
        pipelines=[
            PipelineMorning(prod, OvernightAlarms(firing=[alarm], changed=[changed])),
            PipelineMorning(dr, OvernightAlarms()),
        ],
        late_by=timedelta(minutes=12),
    )


def workloads() -> CheckResult:
    return CheckResult(
        name="kubernetes_workloads",
        status=Status.WARN,
        summary="pii-masking 1/2 ready, Connect 1/1 pods ready",
        duration_ms=230,
        details={"namespace": "kafka", "streams_ready": "1/2", "connect_ready": "1/1", "restarts": 6},
        findings=[
            Finding(status=Status.WARN, text="pii-masking-7c9d-x2: not Ready (CrashLoopBackOff), 6 restarts"),
            Finding(status=Status.OK, text="debezium-connect-0 Ready"),
        ],
    )


CONTACTS = {"L1": "#cdc-oncall", "L2": "@data-platform", "L3": "Vendor support", "tech_lead": "Dana <dana@x>"}
CHANNELS = SimpleNamespace(ops_channel="#cdc-pipeline-ops", alerts_channel="#cdc-pipeline-alerts")
ENTRIES = [
    TimelineEntry(AT, "U0ALICE", "declared", "declared SEV3: Redshift staging tables stale"),
    TimelineEntry(AT + timedelta(minutes=2), "cdc-bot", "snapshot", "snapshot #1: CRIT"),
    TimelineEntry(AT + timedelta(minutes=5), "U0ALICE", "severity", "SEV3 → SEV2"),
    TimelineEntry(AT + timedelta(minutes=9), "U0BOB", "note", "restarting the connector task <task 0>"),
    TimelineEntry(AT + timedelta(minutes=47), "U0BOB", "resolved", "resolved"),
]

KINDS: dict[str, Callable[[], SlackMessage]] = {
    # approvals: the states the other goldens do not cover
    "approval_approved": lambda: render_approval(in_state(ApprovalState.APPROVED), TZ, progress="Scaling…"),
    "approval_running": lambda: render_approval(in_state(ApprovalState.RUNNING), TZ, progress="3/5 ready"),
    "approval_failed": lambda: render_approval(in_state(ApprovalState.FAILED), TZ),
    "approval_denied": lambda: render_approval(in_state(ApprovalState.DENIED), TZ),
    "approval_expired": lambda: render_approval(in_state(ApprovalState.EXPIRED), TZ),
    "action_list": lambda: render_action_list([(a.usage, a.summary) for a in ACTIONS.values()]),
    # incidents
    "incident_root_open": lambda: render_root(incident(), TZ),
    "incident_root_resolved": lambda: render_root(incident(open_=False), TZ),
    "incident_declared": lambda: render_declared_notice(incident()),
    "incident_checklist": lambda: render_checklist(incident()),
    "incident_snapshot_first": lambda: render_snapshot(snapshot(changes=False), TZ),
    "incident_snapshot_changes": lambda: render_snapshot(snapshot(changes=True), TZ),
    "incident_timeline": lambda: render_timeline(incident(open_=False), ENTRIES, TZ),
    "incident_closing": lambda: render_closing(closing(), TZ),
    "incident_escalation": lambda: render_escalation(incident(), "U0ALICE", CONTACTS, "#ops", "#alerts"),
    "incident_note": lambda: render_note(incident(), "U0BOB", "restarting <task 0> & watching", AT, TZ),
    "incident_severity": lambda: render_severity_change(incident(), Severity.SEV3, "U0ALICE"),
    "incident_list": lambda: render_incident_list([incident()], TZ),
    "incident_choice": lambda: render_incident_choice(
        "Which incident?", [incident()], "/cdc incident snapshot INC-?", TZ
    ),
    "incident_verify": lambda: render_verify(verify(), "prod", TZ, incident()),
    # maintenance and upgrades
    "workflow_step_running": lambda: render_workflow_step(step("running", "52,310 behind, falling"), TZ),
    "workflow_step_done": lambda: render_workflow_step(step("done", "drained: 0 behind"), TZ),
    "workflow_note_failed": lambda: render_workflow_note(
        "wf-1",
        WorkflowNote("failed", "Maintenance start failed at step 3", ["connector PAUSED"], "Resume the pipeline"),
    ),
    "maintenance_status": lambda: render_maintenance_status(maintenance_status(), TZ),
    "msk_versions": lambda: render_msk_versions(msk_versions()),
    # reports and replies
    "report_morning": lambda: render_morning_report(morning(), TZ),
    "detail_workloads": lambda: render_check_detail(workloads(), "prod", TZ),
    "health_titled_late": lambda: render_health_report(
        mixed_report(), title="Morning report", tz=TZ, late="posted 12 minutes late"
    ),
    "error": lambda: render_error("No check named `lagg`. Did you mean `consumer_lag`?"),
    "contacts": lambda: render_contacts(CONTACTS, CHANNELS),
    "schedule": lambda: render_schedule(
        [["morning report", "0 9 * * *", "2026-11-27 09:00", "2026-11-26 09:00"]], "this replica leads", TZ
    ),
}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_golden(name: str) -> None:
    message = KINDS[name]()
    assert_within_limits(message)
    assert isinstance(message.message, Message)
    assert_golden(name, message)


# --- what people see, in both renderings ------------------------------------------------------------------


def test_text_numbers_buttons_in_the_order_slack_shows_them() -> None:
    message = render_root(incident(), TZ)
    text = render_text(message.message)  # type: ignore[arg-type]
    assert "[1] Snapshot  [2] Timeline  [3] Escalate  [4] Resolve" in text
    slack_buttons = [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b.action_id for b in message.message.buttons()] == slack_buttons  # type: ignore[union-attr]


def test_text_shows_user_text_as_typed_and_slack_escapes_it() -> None:
    message = render_note(incident(), "U0BOB", "restart <!channel> & *watch*", AT, TZ)
    assert "restart &lt;!channel&gt; &amp; *watch*" in message.blocks[0]["text"]["text"]
    text = render_text(message.message)  # type: ignore[arg-type]
    assert "restart <!channel> & watch" in text and "by @U0BOB" in text


def test_morning_text_is_the_same_message_as_the_post() -> None:
    report = morning()
    text = morning_report_text(report, TZ)
    assert text.splitlines()[0] == "Morning health check · Thu 26 Nov 2026: WARN"
    assert "[WARN] consumer_lag" in text and "Overnight" in text and "CDC-HighConsumerLag in ALARM" in text
    assert render_text(render_morning_report(report, TZ).message) == text  # type: ignore[arg-type]


def test_snapshot_message_carries_its_files_for_the_thread() -> None:
    message = render_snapshot(snapshot(changes=True), TZ).message
    assert message is not None
    assert [a.filename.rsplit(".", 1)[1] for a in message.attachments] == ["txt", "json"]
    assert "INC-" in render_text(message).splitlines()[-1] or "snapshot #2" in render_text(message)


def test_oversized_parts_are_cut_with_a_marker() -> None:
    from bot.render.blockkit import to_slack
    from bot.render.message import Actions, Button, Fields, Section

    message = Message("x", [Section("y" * 5000)] * 60 + [Fields([(f"k{i}", "v") for i in range(14)])])
    rendered = to_slack(message)
    assert len(rendered.blocks) == 50
    assert rendered.blocks[0]["text"]["text"].endswith("…") and len(rendered.blocks[0]["text"]["text"]) == 3000
    assert "…and 12 more blocks" in rendered.blocks[-1]["elements"][0]["text"]
    approve = Actions([Button("Approve", "approval_approve", "a1")])
    with_buttons = to_slack(Message("x", [Section("y")] * 60 + [approve]))
    assert len(with_buttons.blocks) == 50 and with_buttons.blocks[-1]["type"] == "actions"
    assert "…and 12 more blocks" in with_buttons.blocks[-2]["elements"][0]["text"]
    fields = to_slack(Message("x", [Fields([(f"k{i}", "v") for i in range(14)])])).blocks[0]["fields"]
    assert len(fields) == 10 and fields[-1]["text"].endswith("…and 4 more fields")

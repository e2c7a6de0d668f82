"""Severity levels and each level's checklist, as the runbook's Incident Response section defines them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    @property
    def definition(self) -> str:
        return DEFINITIONS[self]

    @classmethod
    def parse(cls, word: str) -> Severity | None:
        """`sev1`, `SEV1`, `1` and `S1` all mean SEV1; None for anything else."""
        text = word.strip().upper().removeprefix("SEV").removeprefix("S")
        return cls.__members__.get(f"SEV{text}")


# The runbook's "Severity Levels", word for word (they are the modal's option descriptions).
DEFINITIONS = {
    Severity.SEV1: "Complete pipeline failure, no data flowing",
    Severity.SEV2: "Partial failure, degraded performance",
    Severity.SEV3: "Minor issues, monitoring alerts",
    Severity.SEV4: "Informational, no immediate action",
}


class StepKind(StrEnum):
    NOTE = "note"  # a reminder; nothing for the bot to do
    ACK = "ack"  # records who acknowledged, in the timeline
    CHECK = "check"  # runs a read-only check and posts it in the thread
    HEALTH = "health"  # all checks
    VERIFY = "verify"  # samples the latest messages of the first topic (field names only)
    SNAPSHOT = "snapshot"  # a new diagnostic snapshot, with what changed
    ACTION = "action"  # requests a runbook action; it still needs an approver


@dataclass(frozen=True)
class Button:
    """One thing a checklist step offers: `key` is stable (it is the button's action id suffix)."""

    key: str
    label: str
    kind: StepKind
    # The check name for CHECK, the action name and its words for ACTION.
    target: str = ""
    words: tuple[str, ...] = ()
    style: str | None = None


@dataclass(frozen=True)
class Step:
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Phase:
    title: str
    steps: tuple[Step, ...] = field(default_factory=tuple)


_ACK = Button("ack", "Acknowledged", StepKind.ACK)
_HEALTH = Button("health", "Run health checks", StepKind.HEALTH)
_SNAPSHOT = Button("snapshot", "New snapshot", StepKind.SNAPSHOT)
_CONNECTOR = Button("connector", "Connector + tasks", StepKind.CHECK, "connector")
_WORKLOADS = Button("workloads", "Pods", StepKind.CHECK, "kubernetes_workloads")
_MSK = Button("msk", "MSK cluster", StepKind.CHECK, "msk_cluster")
_LAG = Button("lag", "Consumer lag", StepKind.CHECK, "consumer_lag")
_FRESHNESS = Button("freshness", "Freshness", StepKind.CHECK, "data_freshness")
_ALARMS = Button("alarms", "Alarms", StepKind.CHECK, "alarms")
_VERIFY = Button("verify", "Verify data flow", StepKind.VERIFY)
_RESTART_STREAMS = Button("restart-streams", "Restart pii-masking", StepKind.ACTION, "restart-streams", style="danger")
_RESTART_CONNECT = Button("restart-connect", "Restart Connect pods", StepKind.ACTION, "restart-connect", style="danger")
_SCALE_STREAMS = Button("scale-streams", "Scale pii-masking to 5", StepKind.ACTION, "scale-streams", ("5",))
_SCALE_NODES = Button("scale-nodegroup", "Scale nodegroup to 5", StepKind.ACTION, "scale-nodegroup", ("5",))
_TUNE = Button("tune-streams", "Increase batch sizes", StepKind.ACTION, "tune-streams")
_METRICS = Button("enable-metrics", "Enable detailed metrics", StepKind.ACTION, "enable-metrics")

CHECKLISTS: dict[Severity, tuple[Phase, ...]] = {
    Severity.SEV1: (
        Phase(
            "Initial response (0–15 minutes)",
            (
                Step("1. *Acknowledge the incident* in PagerDuty", (_ACK,)),
                Step("2. *Join the incident bridge*: #incident-response"),
                Step("3. *Run diagnostics* (quick health check, capture state)", (_HEALTH, _SNAPSHOT)),
            ),
        ),
        Phase(
            "Mitigation (15–30 minutes)",
            (
                Step(
                    "1. *Identify the root cause*: MSK cluster down → AWS Health Dashboard; Debezium crashed → "
                    "pod logs (in the snapshot); network issues → security groups/NACLs",
                    (_MSK, _CONNECTOR, _WORKLOADS),
                ),
                Step("2. *Apply quick fixes*: restart failed components", (_RESTART_STREAMS, _RESTART_CONNECT)),
                Step("3. *Verify data flow*: are events flowing?", (_VERIFY, _LAG)),
            ),
        ),
    ),
    Severity.SEV2: (
        Phase(
            "Symptoms",
            (
                Step(
                    "Consumer lag > 100k messages · processing latency > 5 minutes · CPU/memory > 80%", (_LAG, _ALARMS)
                ),
            ),
        ),
        Phase(
            "Response",
            (
                Step(
                    "1. *Scale resources*: the Kafka Streams app, and EKS nodes if needed",
                    (_SCALE_STREAMS, _SCALE_NODES),
                ),
                Step("2. *Optimize configuration*: increase batch sizes", (_TUNE,)),
                Step("3. *Add monitoring*: enable detailed metrics", (_METRICS,)),
            ),
        ),
    ),
    Severity.SEV3: (
        Phase(
            "Minor issues, monitoring alerts",
            (
                Step("1. *Look at what fired*", (_ALARMS, _LAG, _FRESHNESS)),
                Step("2. *Confirm data still flows*", (_VERIFY, _HEALTH)),
                Step("3. *Escalate to SEV2* if lag or latency keeps growing (`/cdc incident severity sev2`)"),
            ),
        ),
    ),
    Severity.SEV4: (
        Phase(
            "Informational, no immediate action",
            (Step("Record what was seen with `/cdc incident note TEXT`; resolve when done.", (_HEALTH,)),),
        ),
    ),
}


def checklist(severity: Severity) -> tuple[Phase, ...]:
    return CHECKLISTS[severity]


def find_button(key: str) -> Button | None:
    """A checklist button by key, whatever the severity (a press on an older checklist still works)."""
    for phases in CHECKLISTS.values():
        for phase in phases:
            for step in phase.steps:
                for button in step.buttons:
                    if button.key == key:
                        return button
    return None

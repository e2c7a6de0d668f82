"""Mid-month DR check: the primary and the DR pipeline side by side (`dr: {primary, secondary}` in config).

Each side is seen the way it is configured: its `topics` on its own brokers (partitions, records
ever written = the sum of end offsets), its `consumer_groups`' committed positions there, and the
row counts of its staging tables (matched between the sides by table name without the schema).
The report lists what differs; it changes nothing and simulates no failover.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.clients.base import BackendError, PipelineClients
from bot.core.config import PipelineConfig
from bot.core.results import Status
from bot.reports.pipelines import for_each_pipeline
from bot.services import Services


@dataclass
class SideState:
    pipeline: str
    topics: dict[str, int] = field(default_factory=dict)  # topic → partitions
    records: dict[str, int] = field(default_factory=dict)  # topic → sum of end offsets
    positions: dict[str, dict[str, int]] = field(default_factory=dict)  # group → topic → summed committed
    rows: dict[str, tuple[str, int]] = field(default_factory=dict)  # table name → (qualified, count)
    errors: list[str] = field(default_factory=list)


@dataclass
class Difference:
    area: str  # topics | partitions | records | groups | rows
    subject: str
    primary: str
    secondary: str


@dataclass
class DrReport:
    generated_at: datetime
    primary: SideState | None
    secondary: SideState | None
    differences: list[Difference] = field(default_factory=list)
    late_by: timedelta | None = None
    not_configured: bool = False

    @property
    def status(self) -> Status:
        if self.not_configured:
            return Status.UNKNOWN
        sides = [s for s in (self.primary, self.secondary) if s is not None]
        if any(s.errors for s in sides):
            return Status.UNKNOWN
        return Status.WARN if self.differences else Status.OK


def capture_state(pipeline: PipelineConfig, clients: PipelineClients) -> SideState:
    """The runbook's `capture-state.sh`: what this side has, read-only."""
    state = SideState(pipeline=pipeline.name)
    try:
        live = clients.kafka.list_topics()
        state.topics = {t: live[t].partitions for t in pipeline.topics if t in live}
        partitions = [(t, p) for t, count in state.topics.items() for p in range(count)]
        ends = clients.kafka.end_offsets(partitions)
        for (topic, _p), offset in ends.items():
            state.records[topic] = state.records.get(topic, 0) + offset
        committed = clients.kafka.committed_offsets(pipeline.consumer_groups)
        for group in pipeline.consumer_groups:
            per_topic: dict[str, int] = {}
            for (topic, _p), offset in committed.get(group, {}).items():
                per_topic[topic] = per_topic.get(topic, 0) + offset
            state.positions[group] = per_topic
    except BackendError as exc:
        state.errors.append(f"Kafka: {exc}")
    if clients.warehouse is not None:
        for rule in pipeline.freshness:
            try:
                count = clients.warehouse.query(f"SELECT COUNT(*) FROM {rule.table}").rows[0][0]
                state.rows[rule.table.rsplit(".", 1)[-1]] = (rule.table, int(count))
            except BackendError as exc:
                state.errors.append(f"{rule.table}: {exc}")
    return state


def _fmt(value: int | None) -> str:
    return f"{value:,}" if value is not None else "missing"


def compare(primary: SideState, secondary: SideState) -> list[Difference]:
    found: list[Difference] = []
    for topic in sorted(set(primary.topics) | set(secondary.topics)):
        a, b = primary.topics.get(topic), secondary.topics.get(topic)
        if a is None or b is None:
            found.append(Difference("topics", topic, "present" if a else "missing", "present" if b else "missing"))
            continue
        if a != b:
            found.append(Difference("partitions", topic, f"{a} partitions", f"{b} partitions"))
        ra, rb = primary.records.get(topic, 0), secondary.records.get(topic, 0)
        if ra != rb:
            found.append(Difference("records", topic, _fmt(ra), _fmt(rb)))
    for group in sorted(set(primary.positions) | set(secondary.positions)):
        a_pos, b_pos = primary.positions.get(group), secondary.positions.get(group)
        if a_pos is None or b_pos is None:
            a_text = "configured" if a_pos is not None else "not configured"
            b_text = "configured" if b_pos is not None else "not configured"
            found.append(Difference("groups", group, a_text, b_text))
            continue
        for topic in sorted(set(a_pos) | set(b_pos)):
            pa, pb = a_pos.get(topic), b_pos.get(topic)
            if pa != pb:
                found.append(Difference("groups", f"{group} on {topic}", _fmt(pa), _fmt(pb)))
    for table in sorted(set(primary.rows) | set(secondary.rows)):
        a_row, b_row = primary.rows.get(table), secondary.rows.get(table)
        if a_row is None or b_row is None or a_row[1] != b_row[1]:
            found.append(
                Difference(
                    "rows",
                    table,
                    f"{a_row[0]}: {_fmt(a_row[1])}" if a_row else "missing",
                    f"{b_row[0]}: {_fmt(b_row[1])}" if b_row else "missing",
                )
            )
    return found


def build_dr_report(
    services: Services,
    pipelines: list[str] | None = None,
    now: datetime | None = None,
    late_by: timedelta | None = None,
) -> DrReport:
    now = now or datetime.now(UTC)
    dr = services.config.dr
    # Two pipelines named by the caller (`--pipeline A --pipeline B`, `/cdc report dr A B`) override the pair.
    if pipelines and len(pipelines) == 2:
        names = list(pipelines)
    elif dr is not None:
        names = [dr.primary, dr.secondary]
    else:
        return DrReport(generated_at=now, primary=None, secondary=None, late_by=late_by, not_configured=True)
    sides = for_each_pipeline(services, names, capture_state)
    return DrReport(
        generated_at=now,
        primary=sides[0],
        secondary=sides[1],
        differences=compare(sides[0], sides[1]),
        late_by=late_by,
    )

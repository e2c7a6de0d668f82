"""consumer_lag: committed offsets vs end offsets, per group, topic and partition."""

from __future__ import annotations

from dataclasses import dataclass

from bot.checks.base import CheckContext, check, fmt_int, plural
from bot.clients.base import TopicPartition
from bot.core.config import Thresholds
from bot.core.results import CheckResult, Finding, Status, worst

WORST_PARTITIONS = 5


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int
    end: int

    @property
    def lag(self) -> int:
        # A committed offset past the end (a truncated or recreated topic) is no lag, not negative lag.
        return max(0, self.end - self.committed)


@dataclass(frozen=True)
class GroupLag:
    group: str
    partitions: list[PartitionLag]

    @property
    def total(self) -> int:
        return sum(p.lag for p in self.partitions)

    def per_topic(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for p in self.partitions:
            totals[p.topic] = totals.get(p.topic, 0) + p.lag
        return dict(sorted(totals.items(), key=lambda kv: -kv[1]))

    def worst_partitions(self, count: int = WORST_PARTITIONS) -> list[PartitionLag]:
        return sorted((p for p in self.partitions if p.lag > 0), key=lambda p: -p.lag)[:count]


def lag_status(total: int, thresholds: Thresholds) -> Status:
    if total > thresholds.lag_crit:
        return Status.CRIT
    if total > thresholds.lag_warn:
        return Status.WARN
    return Status.OK


def evaluate_lag(
    groups: list[str],
    committed: dict[str, dict[TopicPartition, int]],
    end_offsets: dict[TopicPartition, int],
    thresholds: Thresholds,
) -> CheckResult:
    """Pure: turn offsets into a verdict. Separate from I/O so it is unit-testable."""
    findings: list[Finding] = []
    statuses: list[Status] = []
    summaries: list[tuple[Status, int, str]] = []
    details: dict[str, object] = {
        "groups": {},
        "thresholds": {"warn": thresholds.lag_warn, "crit": thresholds.lag_crit},
    }
    for group in groups:
        offsets = committed.get(group, {})
        if not offsets:
            statuses.append(Status.WARN)
            text = f"{group}: no committed offsets (the group has never committed, or does not exist)"
            summaries.append((Status.WARN, 0, text))
            findings.append(Finding(status=Status.WARN, text=text))
            details["groups"][group] = {"total": None, "topics": {}, "partitions": []}  # type: ignore[index]
            continue
        lag = GroupLag(
            group, [PartitionLag(t, p, c, end_offsets.get((t, p), c)) for (t, p), c in sorted(offsets.items())]
        )
        status = lag_status(lag.total, thresholds)
        statuses.append(status)
        bound = thresholds.lag_crit if status is Status.CRIT else thresholds.lag_warn
        limit = (
            f" ({'crit' if status is Status.CRIT else 'warn'} > {fmt_int(bound)})" if status is not Status.OK else ""
        )
        summaries.append((status, lag.total, f"{group}: {fmt_int(lag.total)} behind{limit}"))
        for p in lag.worst_partitions():
            findings.append(
                Finding(
                    status=status if p.lag > 0 else Status.OK,
                    text=f"{group} {p.topic}[{p.partition}]: {fmt_int(p.lag)} behind "
                    f"(committed {fmt_int(p.committed)}, end {fmt_int(p.end)})",
                )
            )
        details["groups"][group] = {  # type: ignore[index]
            "total": lag.total,
            "topics": lag.per_topic(),
            "partitions": [
                {"topic": p.topic, "partition": p.partition, "committed": p.committed, "end": p.end, "lag": p.lag}
                for p in lag.partitions
            ],
        }
    # Worst verdict first, and the furthest-behind group first among equals.
    summaries.sort(key=lambda s: (-s[0].severity, -s[1]))
    summary = "; ".join(text for _, _, text in summaries) or "no consumer groups configured"
    return CheckResult(name="consumer_lag", status=worst(statuses), summary=summary, details=details, findings=findings)


@check("consumer_lag")
def consumer_lag(ctx: CheckContext) -> CheckResult:
    groups = ctx.pipeline.consumer_groups
    committed = ctx.clients.kafka.committed_offsets(groups)
    partitions = sorted({tp for offsets in committed.values() for tp in offsets})
    # One batched ListOffsets for every partition of every group.
    ends = ctx.clients.kafka.end_offsets(partitions)
    result = evaluate_lag(groups, committed, ends, ctx.pipeline.thresholds)
    result.details["partitions_checked"] = len(partitions)
    if not partitions and groups:
        result.summary += f" ({plural(len(groups), 'group')} checked)"
    return result

"""Consumer lag to CloudWatch every minute, so the runbook's `CDC-HighConsumerLag` alarm has data.

Per group: `CustomMetrics/CDC` `ConsumerLag` with the dimension `ConsumerGroup`. The runbook's
alarm is defined with no dimensions, and a CloudWatch alarm only sees the metric with exactly its
dimensions, so the largest group's lag is also published without dimensions: that series is the
one `CDC-HighConsumerLag` (Maximum > 100,000 over 5 minutes) evaluates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.checks.kafka import GroupLag, PartitionLag
from bot.clients.base import PipelineClients, TopicPartition
from bot.core.config import PipelineConfig

NAMESPACE = "CustomMetrics/CDC"
METRIC = "ConsumerLag"
DIMENSION = "ConsumerGroup"


@dataclass
class LagPublication:
    pipeline: str
    groups: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # groups with no committed offsets: no lag to report
    ends: dict[TopicPartition, int] = field(default_factory=dict)  # the end offsets read (growing topics)

    @property
    def largest(self) -> int | None:
        return max(self.groups.values()) if self.groups else None


def group_lags(pipeline: PipelineConfig, clients: PipelineClients) -> LagPublication:
    committed = clients.kafka.committed_offsets(pipeline.consumer_groups)
    ends = clients.kafka.end_offsets(sorted({tp for offsets in committed.values() for tp in offsets}))
    result = LagPublication(pipeline=pipeline.name, ends=ends)
    for group in pipeline.consumer_groups:
        offsets = committed.get(group) or {}
        if not offsets:
            result.skipped.append(group)
            continue
        lag = GroupLag(group, [PartitionLag(t, p, c, ends.get((t, p), c)) for (t, p), c in offsets.items()])
        result.groups[group] = lag.total
    return result


def publish_lag(pipeline: PipelineConfig, clients: PipelineClients) -> LagPublication:
    result = group_lags(pipeline, clients)
    values: list[tuple[dict[str, str], float]] = [({DIMENSION: g}, float(v)) for g, v in sorted(result.groups.items())]
    if result.largest is not None:
        values.append(({}, float(result.largest)))
    if values:
        clients.aws.put_metric_values(NAMESPACE, METRIC, values)
    return result

"""The runbook's two CloudWatch alarms, and `/cdc alarms ensure`: create the missing ones, touch nothing else.

The definitions are the runbook's `aws cloudwatch put-metric-alarm` commands field for field. Note
that neither has dimensions: `MSK-HighCPU` watches a `CpuUser` series without `Cluster Name` /
`Broker ID`, which MSK itself does not publish, so on a real cluster it stays INSUFFICIENT_DATA
until someone adds dimensions; `CDC-HighConsumerLag` gets its dimensionless series from
`bot.alarms.lag_metric`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.clients.base import Aws

# Monitoring Alerts Configuration → CloudWatch Alarms.
RUNBOOK_ALARMS: list[dict[str, Any]] = [
    {
        "AlarmName": "MSK-HighCPU",
        "AlarmDescription": "MSK CPU usage above 80%",
        "MetricName": "CpuUser",
        "Namespace": "AWS/Kafka",
        "Statistic": "Average",
        "Period": 300,
        "Threshold": 80.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "EvaluationPeriods": 2,
    },
    {
        "AlarmName": "CDC-HighConsumerLag",
        "AlarmDescription": "Consumer lag above 100k messages",
        "MetricName": "ConsumerLag",
        "Namespace": "CustomMetrics/CDC",
        "Statistic": "Maximum",
        "Period": 300,
        "Threshold": 100000.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "EvaluationPeriods": 1,
    },
]


@dataclass
class EnsureResult:
    pipeline: str
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    # An existing alarm that watches something else than the runbook says: reported, not overwritten.
    drift: list[str] = field(default_factory=list)


def ensure_alarms(aws: Aws, pipeline: str, definitions: list[dict[str, Any]] | None = None) -> EnsureResult:
    """Create each alarm that does not exist; idempotent, and never changes an existing alarm or its state."""
    definitions = definitions if definitions is not None else RUNBOOK_ALARMS
    result = EnsureResult(pipeline=pipeline)
    present = {a.name: a for a in aws.describe_alarms([d["AlarmName"] for d in definitions])}
    for definition in definitions:
        name = definition["AlarmName"]
        alarm = present.get(name)
        if alarm is None:
            aws.put_metric_alarm(dict(definition))
            result.created.append(name)
            continue
        result.existing.append(name)
        wanted = (definition["Namespace"], definition["MetricName"], float(definition["Threshold"]))
        actual = (alarm.namespace, alarm.metric, float(alarm.threshold) if alarm.threshold is not None else None)
        if actual != wanted:
            result.drift.append(
                f"{name} watches {actual[0]}/{actual[1]} > {actual[2]:g}, the runbook says "
                f"{wanted[0]}/{wanted[1]} > {wanted[2]:g}"
                if actual[2] is not None
                else f"{name} watches {actual[0]}/{actual[1]}, the runbook says {wanted[0]}/{wanted[1]}"
            )
    return result

"""The runbook's Kafka/MSK Upgrade, step 1: which Kafka versions could the cluster move to, for these clients?

The runbook's `aws kafka list-kafka-versions --query 'KafkaVersions[?contains(SupportedClientVersions, ...)]'`
filters on a field ListKafkaVersions does not return (it gives `Version` and `Status` only), so the
client side is judged here instead: the known clients are Kafka Connect (its KafkaConnect resource's
`spec.version` is the Kafka version of its client libraries), and the rule that matters is KIP-896 —
Kafka 4.0 brokers dropped the protocol versions of clients older than 2.1. MSK cannot downgrade, so
only versions newer than the cluster's are candidates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.checks.base import get_path
from bot.clients.base import BackendError, PipelineClients
from bot.core.config import PipelineConfig

# KIP-896: Kafka 4.0 brokers accept clients from 2.1 on.
KAFKA4_MIN_CLIENT = (2, 1)


def version_key(version: str) -> tuple[int, ...]:
    """`3.7.x.kraft` → (3, 7): the leading numbers, for ordering and comparisons."""
    numbers = []
    for part in version.split("."):
        match = re.match(r"\d+", part)
        if not match:
            break
        numbers.append(int(match.group()))
    return tuple(numbers)


@dataclass(frozen=True)
class VersionOption:
    version: str
    status: str
    supported: bool
    note: str


@dataclass
class MskVersions:
    pipeline: str
    cluster: str | None = None
    current: str | None = None
    clients: list[tuple[str, str]] = field(default_factory=list)  # (client, Kafka version)
    candidates: list[VersionOption] = field(default_factory=list)
    skipped: int = 0  # offered versions not newer than the cluster's, or deprecated
    unavailable: str | None = None  # why ListKafkaVersions could not be used
    problems: list[str] = field(default_factory=list)


def evaluate_versions(
    current: str | None, offered: list[tuple[str, str]], clients: list[tuple[str, str]]
) -> tuple[list[VersionOption], int]:
    """Pure: the ACTIVE versions newer than `current`, each judged against the clients' versions."""
    now = version_key(current) if current else ()
    options, skipped = [], 0
    for version, status in sorted(offered, key=lambda vs: version_key(vs[0])):
        key = version_key(version)
        if status.upper() == "DEPRECATED" or (now and key <= now):
            skipped += 1
            continue
        if key >= (4,):
            old = [f"{name} {v}" for name, v in clients if version_key(v) < KAFKA4_MIN_CLIENT]
            if old:
                options.append(
                    VersionOption(version, status, False, f"needs clients ≥ 2.1 (KIP-896): {', '.join(old)}")
                )
                continue
            known = ", ".join(f"{name} {v}" for name, v in clients) or "no known clients"
            note = f"clients ≥ 2.1 required (KIP-896): {known} ok; check the streams app's kafka-clients too"
            options.append(VersionOption(version, status, True, note))
        else:
            options.append(VersionOption(version, status, True, "every client ≥ 0.10 talks to it"))
    return options, skipped


def msk_versions(pipeline: PipelineConfig, clients: PipelineClients) -> MskVersions:
    result = MskVersions(pipeline=pipeline.name)
    if pipeline.msk_cluster_arn:
        try:
            cluster = clients.aws.describe_msk_cluster(pipeline.msk_cluster_arn)
            if cluster is None:
                result.problems.append(f"MSK cluster {pipeline.msk_cluster_arn} not found")
            else:
                result.cluster, result.current = cluster.name, cluster.kafka_version
        except BackendError as exc:
            result.problems.append(f"could not describe the MSK cluster: {exc}")
    else:
        result.problems.append("no `msk_cluster_arn` configured for this pipeline: its current version is unknown")
    k = pipeline.kubernetes
    try:
        connect = clients.kube.get_custom("kafkaconnects", k.connect_cluster)
        version = get_path(connect, "spec", "version")
        if version:
            result.clients.append((f"Kafka Connect {k.connect_cluster}", str(version)))
    except BackendError as exc:
        result.problems.append(f"could not read KafkaConnect {k.connect_cluster}: {exc}")
    try:
        offered = clients.aws.list_kafka_versions()
    except BackendError as exc:
        result.unavailable = str(exc)
        return result
    result.candidates, result.skipped = evaluate_versions(result.current, offered, result.clients)
    return result

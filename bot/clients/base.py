"""What the domain needs from each backend, as Protocols, plus the plain records they return.

Domain code (checks, actions, incidents) depends on these only; `bot.services` builds the real
adapters. Kubernetes objects travel as plain dicts in the API's own JSON shape (camelCase),
which is what `kubectl get -o json` shows and what snapshots store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

TopicPartition = tuple[str, int]


class BackendError(Exception):
    """A backend could not answer (down, timed out, refused auth); the message says which and why."""


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SampledMessage:
    topic: str
    partition: int
    offset: int
    timestamp: datetime | None
    key: bytes | None
    value: bytes | None


class KafkaAdmin(Protocol):
    def broker_count(self) -> int: ...
    def list_topics(self) -> dict[str, TopicInfo]: ...
    def end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]: ...
    def committed_offsets(self, groups: list[str]) -> dict[str, dict[TopicPartition, int]]: ...
    def list_groups(self) -> list[str]: ...
    def create_topics(self, topics: list[TopicInfo]) -> dict[str, str | None]: ...
    def topic_configs(self, topics: list[str]) -> dict[str, dict[str, str]]: ...
    def sample_messages(self, topic: str, count: int) -> list[SampledMessage]: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class MskCluster:
    arn: str
    name: str
    state: str
    broker_count: int
    kafka_version: str | None = None


@dataclass(frozen=True)
class RedshiftCluster:
    identifier: str
    status: str
    availability: str | None
    node_count: int | None = None
    endpoint: str | None = None


@dataclass(frozen=True)
class Alarm:
    name: str
    state: str
    reason: str
    updated_at: datetime | None
    namespace: str | None = None
    metric: str | None = None
    threshold: float | None = None
    description: str | None = None


@dataclass(frozen=True)
class Nodegroup:
    cluster: str
    name: str
    desired: int
    minimum: int
    maximum: int
    status: str


class Aws(Protocol):
    def describe_msk_cluster(self, arn: str) -> MskCluster | None: ...
    def list_kafka_versions(self) -> list[tuple[str, str]]: ...
    def describe_redshift_cluster(self, identifier: str) -> RedshiftCluster | None: ...
    def describe_alarms(self, names: list[str] | None = None) -> list[Alarm]: ...
    def put_metric_data(self, namespace: str, metric: str, value: float, dimensions: dict[str, str]) -> None: ...
    def metric_statistics(
        self,
        namespace: str,
        metric: str,
        dimensions: dict[str, str],
        start: datetime,
        end: datetime,
        period_s: int,
        statistic: str,
    ) -> list[tuple[datetime, float]]: ...
    def describe_nodegroup(self, cluster: str, nodegroup: str) -> Nodegroup | None: ...
    def update_nodegroup_size(self, cluster: str, nodegroup: str, desired: int) -> None: ...
    def describe_secret(self, secret_id: str) -> dict[str, Any] | None: ...
    def get_secret_value(self, secret_id: str) -> str | None: ...
    def put_secret_value(self, secret_id: str, value: str) -> None: ...
    def put_object(self, bucket: str, key: str, body: bytes) -> None: ...
    def get_object(self, bucket: str, key: str) -> bytes: ...
    def list_objects(self, bucket: str, prefix: str) -> list[dict[str, Any]]: ...
    def redshift_credentials(self, cluster_identifier: str, user: str, database: str) -> tuple[str, str]: ...
    def put_metric_values(self, namespace: str, metric: str, values: list[tuple[dict[str, str], float]]) -> None: ...
    def put_metric_alarm(self, definition: dict[str, Any]) -> None: ...
    def list_role_policies(self, role: str) -> list[str] | None: ...
    def get_role_policy(self, role: str, policy: str) -> dict[str, Any] | None: ...
    def tagged_resources(self, tag_key: str, tag_value: str) -> list[tuple[str, dict[str, str]]]: ...


class Kube(Protocol):
    namespace: str

    def get_deployment(self, name: str) -> dict[str, Any] | None: ...
    def list_deployments(self) -> list[dict[str, Any]]: ...
    def list_statefulsets(self) -> list[dict[str, Any]]: ...
    def list_services(self) -> list[dict[str, Any]]: ...
    def list_pods(self, label_selector: str | None = None) -> list[dict[str, Any]]: ...
    def list_events(self, field_selector: str | None = None) -> list[dict[str, Any]]: ...
    def read_pod_log(self, name: str, tail_lines: int = 50, container: str | None = None) -> str: ...
    def delete_pod(self, name: str, uid: str | None = None) -> None: ...
    def patch_deployment(self, name: str, patch: dict[str, Any]) -> dict[str, Any]: ...
    def scale_deployment(self, name: str, replicas: int) -> None: ...
    def get_custom(self, plural: str, name: str) -> dict[str, Any] | None: ...
    def patch_custom(self, plural: str, name: str, patch: dict[str, Any]) -> dict[str, Any]: ...
    def get_secret(self, name: str) -> dict[str, Any] | None: ...
    def replace_secret(self, name: str, string_data: dict[str, str]) -> None: ...
    def update_secret(
        self, name: str, string_data: dict[str, str], annotations: dict[str, str] | None = None
    ) -> None: ...
    def get_configmap(self, name: str) -> dict[str, Any] | None: ...
    def apply_configmap(self, name: str, data: dict[str, str]) -> None: ...
    def delete_configmap(self, name: str) -> None: ...


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


class Warehouse(Protocol):
    def query(self, sql: str, params: tuple[Any, ...] = ()) -> QueryResult: ...
    def describe(self) -> str: ...


@dataclass
class PipelineClients:
    """The backends of one pipeline. Built once per pipeline by the app's wiring."""

    kafka: KafkaAdmin
    aws: Aws
    kube: Kube
    warehouse: Warehouse | None

"""boto3 adapter: one session per pipeline region; AWS_ENDPOINT_URL works as boto3 defines it."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import boto3
import botocore.session
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from bot.clients.base import Alarm, BackendError, MskCluster, Nodegroup, RedshiftCluster
from bot.clients.sensitive import sensitive
from bot.core.config import AwsSettings


def _translate(exc: Exception, service: str, operation: str, missing: tuple[str, ...]) -> None:
    """None for a `missing` error code; otherwise a BackendError that says which call failed and why."""
    if isinstance(exc, ClientError):
        code = _error_code(exc)
        if code in missing:
            return None
        # An endpoint without this operation (a VPC proxy, a local AWS) answers 404 with an HTML page.
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404 and not code.isalpha():
            raise BackendError(f"AWS {service} {operation}: not served by this endpoint (HTTP 404)") from None
        message = exc.response.get("Error", {}).get("Message", "")
        raise BackendError(f"AWS {service} {operation}: {code}: {message}") from None
    raise BackendError(f"AWS {service} {operation} failed: {exc}") from None


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Boto3Aws:
    def __init__(self, region: str, timeout: float = 5.0, settings: AwsSettings | None = None) -> None:
        self.region = region
        settings = settings or AwsSettings()
        core = botocore.session.Session(profile=settings.profile)
        if settings.credentials_file:
            core.set_config_variable("credentials_file", settings.credentials_file)
        self._session = boto3.session.Session(botocore_session=core, region_name=region)
        self._endpoint_url = settings.endpoint_url
        self._config = BotoConfig(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 2, "mode": "standard"},
        )
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        # boto3 clients are thread-safe once built; building them is not, hence the lock.
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service, config=self._config, endpoint_url=self._endpoint_url
                )
            return self._clients[service]

    def _call(self, service: str, operation: str, missing: tuple[str, ...] = (), **kwargs: Any) -> Any:
        """One API call; None when it answers with one of the `missing` error codes (not found)."""
        try:
            return getattr(self.client(service), operation)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            return _translate(exc, service, operation, missing)

    def _pages(self, service: str, operation: str, key: str, missing: tuple[str, ...] = (), **kwargs: Any) -> Any:
        """Every item under `key` across the operation's pages; None when the answer is one of `missing`."""
        items: list[Any] = []
        try:
            for page in self.client(service).get_paginator(operation).paginate(**kwargs):
                items.extend(page.get(key, []))
        except (ClientError, BotoCoreError) as exc:
            return _translate(exc, service, operation, missing)
        return items

    def describe_msk_cluster(self, arn: str) -> MskCluster | None:
        answer = self._call(
            "kafka", "describe_cluster", missing=("NotFoundException", "ResourceNotFoundException"), ClusterArn=arn
        )
        if answer is None:
            return None
        info = answer["ClusterInfo"]
        return MskCluster(
            arn=info["ClusterArn"],
            name=info.get("ClusterName", ""),
            state=info.get("State", "UNKNOWN"),
            broker_count=int(info.get("NumberOfBrokerNodes", 0)),
            kafka_version=(info.get("CurrentBrokerSoftwareInfo") or {}).get("KafkaVersion"),
        )

    def list_kafka_versions(self) -> list[tuple[str, str]]:
        """(version, status) of every Kafka version MSK offers in the region (ListKafkaVersions)."""
        return [
            (v["Version"], v.get("Status", "")) for v in self._pages("kafka", "list_kafka_versions", "KafkaVersions")
        ]

    def describe_redshift_cluster(self, identifier: str) -> RedshiftCluster | None:
        clusters = self._pages(
            "redshift", "describe_clusters", "Clusters", missing=("ClusterNotFound",), ClusterIdentifier=identifier
        )
        if not clusters:
            return None
        c = clusters[0]
        endpoint = c.get("Endpoint") or {}
        return RedshiftCluster(
            identifier=c["ClusterIdentifier"],
            status=c.get("ClusterStatus", "unknown"),
            availability=c.get("ClusterAvailabilityStatus"),
            node_count=c.get("NumberOfNodes"),
            endpoint=f"{endpoint['Address']}:{endpoint.get('Port')}" if endpoint.get("Address") else None,
        )

    def describe_alarms(self, names: list[str] | None = None) -> list[Alarm]:
        kwargs: dict[str, Any] = {"AlarmNames": names} if names else {}
        return [
            Alarm(
                name=a["AlarmName"],
                state=a.get("StateValue", "INSUFFICIENT_DATA"),
                reason=a.get("StateReason", ""),
                updated_at=a.get("StateUpdatedTimestamp"),
                namespace=a.get("Namespace"),
                metric=a.get("MetricName"),
                threshold=a.get("Threshold"),
                description=a.get("AlarmDescription"),
            )
            for a in self._pages("cloudwatch", "describe_alarms", "MetricAlarms", **kwargs)
        ]

    def put_metric_data(self, namespace: str, metric: str, value: float, dimensions: dict[str, str]) -> None:
        self.put_metric_values(namespace, metric, [(dimensions, value)])

    def metric_statistics(
        self,
        namespace: str,
        metric: str,
        dimensions: dict[str, str],
        start: datetime,
        end: datetime,
        period_s: int,
        statistic: str,
    ) -> list[tuple[datetime, float]]:
        answer = self._call(
            "cloudwatch",
            "get_metric_statistics",
            Namespace=namespace,
            MetricName=metric,
            Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
            StartTime=start,
            EndTime=end,
            Period=period_s,
            Statistics=[statistic],
        )
        return sorted((p["Timestamp"], float(p[statistic])) for p in answer.get("Datapoints", []))

    def describe_nodegroup(self, cluster: str, nodegroup: str) -> Nodegroup | None:
        answer = self._call(
            "eks",
            "describe_nodegroup",
            missing=("ResourceNotFoundException",),
            clusterName=cluster,
            nodegroupName=nodegroup,
        )
        if answer is None:
            return None
        ng = answer["nodegroup"]
        scaling = ng.get("scalingConfig", {})
        return Nodegroup(
            cluster=cluster,
            name=nodegroup,
            desired=int(scaling.get("desiredSize", 0)),
            minimum=int(scaling.get("minSize", 0)),
            maximum=int(scaling.get("maxSize", 0)),
            status=ng.get("status", "UNKNOWN"),
        )

    def update_nodegroup_size(self, cluster: str, nodegroup: str, desired: int) -> None:
        self._call(
            "eks",
            "update_nodegroup_config",
            clusterName=cluster,
            nodegroupName=nodegroup,
            scalingConfig={"desiredSize": desired},
        )

    def describe_secret(self, secret_id: str) -> dict[str, Any] | None:
        """A Secrets Manager secret's metadata (never its value); None when it does not exist."""
        answer = self._call(
            "secretsmanager", "describe_secret", missing=("ResourceNotFoundException",), SecretId=secret_id
        )
        if answer is None:
            return None
        return {"name": answer.get("Name"), "arn": answer.get("ARN"), "last_changed": answer.get("LastChangedDate")}

    def get_secret_value(self, secret_id: str) -> str | None:
        """The current SecretString of a Secrets Manager secret (None for a binary one)."""
        with sensitive():
            answer = self._call("secretsmanager", "get_secret_value", SecretId=secret_id)
        return answer.get("SecretString")

    def put_secret_value(self, secret_id: str, value: str) -> None:
        # A new version becomes AWSCURRENT; the previous one stays as AWSPREVIOUS for a rollback.
        with sensitive():
            self._call("secretsmanager", "put_secret_value", SecretId=secret_id, SecretString=value)

    def put_object(self, bucket: str, key: str, body: bytes) -> None:
        self._call("s3", "put_object", Bucket=bucket, Key=key, Body=body)

    def get_object(self, bucket: str, key: str) -> bytes:
        return self._call("s3", "get_object", Bucket=bucket, Key=key)["Body"].read()

    def list_objects(self, bucket: str, prefix: str) -> list[dict[str, Any]]:
        return list(self._pages("s3", "list_objects_v2", "Contents", Bucket=bucket, Prefix=prefix))

    def put_metric_values(self, namespace: str, metric: str, values: list[tuple[dict[str, str], float]]) -> None:
        """Several datapoints of one metric (one per dimension set) in one call; at most 1,000 per call."""
        for start in range(0, len(values), 1000):
            self._call(
                "cloudwatch",
                "put_metric_data",
                Namespace=namespace,
                MetricData=[
                    {
                        "MetricName": metric,
                        "Value": float(value),
                        "Unit": "Count",
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                    }
                    for dimensions, value in values[start : start + 1000]
                ],
            )

    def put_metric_alarm(self, definition: dict[str, Any]) -> None:
        """`aws cloudwatch put-metric-alarm` with the same fields (AlarmName, MetricName, Namespace, ...)."""
        self._call("cloudwatch", "put_metric_alarm", **definition)

    def list_role_policies(self, role: str) -> list[str] | None:
        """Inline policy names of an IAM role; None when the role does not exist."""
        return self._pages("iam", "list_role_policies", "PolicyNames", missing=("NoSuchEntity",), RoleName=role)

    def get_role_policy(self, role: str, policy: str) -> dict[str, Any] | None:
        """An inline policy's document (boto3 decodes it to a dict); None when role or policy does not exist."""
        answer = self._call("iam", "get_role_policy", missing=("NoSuchEntity",), RoleName=role, PolicyName=policy)
        if answer is None:
            return None
        document = answer.get("PolicyDocument") or {}
        if isinstance(document, str):  # URL-encoded JSON when a client does not decode it
            import json
            from urllib.parse import unquote

            document = json.loads(unquote(document))
        return dict(document)

    def tagged_resources(self, tag_key: str, tag_value: str) -> list[tuple[str, dict[str, str]]]:
        """(ARN, tags) of every resource carrying tag_key=tag_value in the region (Resource Groups Tagging API)."""
        items = self._pages(
            "resourcegroupstaggingapi",
            "get_resources",
            "ResourceTagMappingList",
            TagFilters=[{"Key": tag_key, "Values": [tag_value]}],
        )
        return [(item["ResourceARN"], {t["Key"]: t["Value"] for t in item.get("Tags", [])}) for item in items]

    def redshift_credentials(self, cluster_identifier: str, user: str, database: str) -> tuple[str, str]:
        """Temporary IAM database credentials; the answer holds `DbPassword`, so payload logging is off."""
        with sensitive():
            answer = self._call(
                "redshift",
                "get_cluster_credentials",
                DbUser=user,
                DbName=database,
                ClusterIdentifier=cluster_identifier,
                AutoCreate=False,
                DurationSeconds=900,
            )
        return answer["DbUser"], answer["DbPassword"]

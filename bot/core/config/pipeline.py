"""One pipeline's section: its Kafka, Redshift, AWS and Kubernetes endpoints and its thresholds."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bot.core.config.base import IDENTIFIER, PIPELINE_NAME, ConfigModel, Duration, check_identifier


class KafkaSettings(ConfigModel):
    bootstrap_servers: str
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    # AWS_MSK_IAM selects SASL/OAUTHBEARER with tokens signed for the pipeline's region.
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "AWS_MSK_IAM"] | None = None
    sasl_username: str | None = None
    sasl_password_env: str | None = None
    ssl_ca_location: str | None = None
    # Extra librdkafka properties, for what the fields above do not cover.
    properties: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _sasl_consistent(self) -> KafkaSettings:
        if self.security_protocol.startswith("SASL") and not self.sasl_mechanism:
            raise ValueError(f"security_protocol {self.security_protocol} needs sasl_mechanism")
        if self.sasl_mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512") and not (
            self.sasl_username and self.sasl_password_env
        ):
            raise ValueError(f"sasl_mechanism {self.sasl_mechanism} needs sasl_username and sasl_password_env")
        return self


class RedshiftSettings(ConfigModel):
    cluster_identifier: str | None = None
    host: str
    port: int = Field(5439, gt=0, lt=65536)
    database: str = "cdcdemo"
    user: str = "admin"
    password_env: str | None = "REDSHIFT_PASSWORD"
    # A file holding the password (a mounted Kubernetes Secret); read when set, before password_env.
    password_file: str | None = None
    iam: bool = False
    ssl: bool = True

    @model_validator(mode="after")
    def _auth(self) -> RedshiftSettings:
        if self.iam and not self.cluster_identifier:
            raise ValueError("iam: true needs cluster_identifier (for get_cluster_credentials)")
        if not self.iam and not (self.password_env or self.password_file):
            raise ValueError("set password_env or password_file (where the password is), or iam: true")
        return self


class AwsSettings(ConfigModel):
    """Usually empty: boto3's own chain (env, profile, IRSA) applies. Set for VPC endpoints or a local AWS."""

    endpoint_url: str | None = None
    profile: str | None = None
    credentials_file: str | None = None


class KubernetesSettings(ConfigModel):
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str = "kafka"
    connect_cluster: str = "debezium-connect-cluster"
    connector: str = "oracle-cdc-connector"
    streams_deployment: str = "pii-masking"
    credentials_secret: str = "debezium-credentials"
    maintenance_configmap: str = "maintenance-mode"
    # An AWS Secrets Manager secret that holds the same Debezium password; when set,
    # `rotate-credentials` writes the new password there too (the runbook itself has none).
    secrets_manager_secret: str | None = None


class EksSettings(ConfigModel):
    cluster: str = "debezium-cdc-cluster"
    nodegroup: str = "debezium-nodes"


class FreshnessRule(ConfigModel):
    table: str
    column: str = "kafka_timestamp"
    warn_after: Duration = timedelta(minutes=5)
    error_after: Duration = timedelta(minutes=15)

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        return check_identifier(value, "table name")

    @field_validator("column")
    @classmethod
    def _column(cls, value: str) -> str:
        if not IDENTIFIER.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid column name")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> FreshnessRule:
        if self.warn_after > self.error_after:
            raise ValueError("warn_after must not be longer than error_after")
        return self


class Thresholds(ConfigModel):
    lag_warn: int = Field(10_000, ge=0)
    lag_crit: int = Field(100_000, ge=0)
    latency_crit: Duration = timedelta(minutes=5)
    cpu_warn: float = Field(70, ge=0, le=100)
    cpu_crit: float = Field(80, ge=0, le=100)
    memory_crit: float = Field(80, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.lag_warn > self.lag_crit:
            raise ValueError("lag_warn must not be above lag_crit")
        if self.cpu_warn > self.cpu_crit:
            raise ValueError("cpu_warn must not be above cpu_crit")
        return self


class BackupSettings(ConfigModel):
    bucket: str = "demo-rt-the-one-backups"
    prefix: str = "kafka/"


class IamPolicyRef(ConfigModel):
    role: str
    # Inline policy names to read; empty means every inline policy of the role.
    policies: list[str] = Field(default_factory=list)


class SecuritySettings(ConfigModel):
    """What the first-Monday security review inspects (defaults: the runbook's names)."""

    iam_roles: list[IamPolicyRef] = Field(
        default_factory=lambda: [
            IamPolicyRef(role="oracle-cdc-pipeline-demo-msk-access-role", policies=["msk-access-policy"])
        ]
    )
    # Resources carrying this tag belong to the project; their `LastUsed` tag says when they were last used.
    project_tag_key: str = "Project"
    project_tag_value: str = "demo_rt_the_one"
    unused_after: Duration = timedelta(days=90)
    # The runbook rotates the Debezium credentials monthly.
    credentials_max_age: Duration = timedelta(days=30)


class Limits(ConfigModel):
    """Bounds on what an approved action may set (guards against a typo like 50 for 5)."""

    streams_replicas_max: int = Field(10, ge=1)
    nodegroup_size_max: int = Field(10, ge=1)


_RUNBOOK_TOPICS = ["oracle.inventory.customers", "oracle.inventory.products", "oracle.inventory.orders"]
_RUNBOOK_FRESHNESS = [
    {"table": f"staging.{name}_stream", "column": "kafka_timestamp"} for name in ("customers", "products", "orders")
]


class PipelineConfig(ConfigModel):
    name: str
    region: str = "ap-southeast-1"
    msk_cluster_arn: str | None = None
    expected_brokers: int | None = Field(None, ge=1)
    kafka: KafkaSettings
    aws: AwsSettings = Field(default_factory=AwsSettings)
    redshift: RedshiftSettings | None = None
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    eks: EksSettings = Field(default_factory=EksSettings)
    topics: list[str] = Field(default_factory=lambda: list(_RUNBOOK_TOPICS))
    consumer_groups: list[str] = Field(default_factory=lambda: ["pii-masking-app"])
    freshness: list[FreshnessRule] = Field(default_factory=lambda: [FreshnessRule(**r) for r in _RUNBOOK_FRESHNESS])
    thresholds: Thresholds = Field(default_factory=Thresholds)
    backups: BackupSettings = Field(default_factory=BackupSettings)
    alarms: list[str] = Field(default_factory=lambda: ["MSK-HighCPU", "CDC-HighConsumerLag"])
    limits: Limits = Field(default_factory=Limits)
    security: SecuritySettings = Field(default_factory=SecuritySettings)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not PIPELINE_NAME.fullmatch(value):
            raise ValueError(f"{value!r}: use lower-case letters, digits, - and _ (it is typed in /cdc commands)")
        return value

    @field_validator("msk_cluster_arn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("arn:aws:kafka:"):
            raise ValueError(f"{value!r} is not an MSK cluster ARN (arn:aws:kafka:...)")
        return value

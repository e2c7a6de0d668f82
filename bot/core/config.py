"""The YAML config, validated with pydantic, with errors that name the place in the file.

Every name defaults to the runbook's, so a config only has to say what differs.
"""

from __future__ import annotations

import difflib
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.core.durations import format_duration, parse_duration

DEFAULT_CONFIG_PATH = "cdc-bot.yml"

Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda d: format_duration(d).replace(" ", ""), return_type=str),
]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def _check_identifier(value: str, what: str) -> str:
    # Table and column names are interpolated into SQL (identifiers cannot be bound), so
    # only plain identifiers are accepted.
    parts = value.split(".")
    if len(parts) > 2 or not all(_IDENTIFIER.fullmatch(p) for p in parts):
        raise ValueError(f"{value!r} is not a valid {what} (letters, digits, _ and an optional schema.)")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=True)


class SlackSettings(_Model):
    ops_channel: str = "#cdc-pipeline-ops"
    alerts_channel: str = "#cdc-pipeline-alerts"
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like Asia/Singapore") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class AccessSettings(_Model):
    operators: list[str] = Field(default_factory=list)
    approvers: list[str] = Field(default_factory=list)
    approval_ttl_minutes: int = Field(15, gt=0, le=24 * 60)

    @field_validator("operators", "approvers")
    @classmethod
    def _slack_ids(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.fullmatch(r"[USW][A-Z0-9]{2,}", value):
                raise ValueError(f"{value!r} is not a Slack user id (U...) or user-group id (S...)")
        return values


class KafkaSettings(_Model):
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


class RedshiftSettings(_Model):
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


class AwsSettings(_Model):
    """Usually empty: boto3's own chain (env, profile, IRSA) applies. Set for VPC endpoints or a local AWS."""

    endpoint_url: str | None = None
    profile: str | None = None
    credentials_file: str | None = None


class KubernetesSettings(_Model):
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


class EksSettings(_Model):
    cluster: str = "debezium-cdc-cluster"
    nodegroup: str = "debezium-nodes"


class FreshnessRule(_Model):
    table: str
    column: str = "kafka_timestamp"
    warn_after: Duration = timedelta(minutes=5)
    error_after: Duration = timedelta(minutes=15)

    @field_validator("table")
    @classmethod
    def _table(cls, value: str) -> str:
        return _check_identifier(value, "table name")

    @field_validator("column")
    @classmethod
    def _column(cls, value: str) -> str:
        if not _IDENTIFIER.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid column name")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> FreshnessRule:
        if self.warn_after > self.error_after:
            raise ValueError("warn_after must not be longer than error_after")
        return self


class Thresholds(_Model):
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


class BackupSettings(_Model):
    bucket: str = "demo-rt-the-one-backups"
    prefix: str = "kafka/"


class IamPolicyRef(_Model):
    role: str
    # Inline policy names to read; empty means every inline policy of the role.
    policies: list[str] = Field(default_factory=list)


class SecuritySettings(_Model):
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


class Limits(_Model):
    """Bounds on what an approved action may set (guards against a typo like 50 for 5)."""

    streams_replicas_max: int = Field(10, ge=1)
    nodegroup_size_max: int = Field(10, ge=1)


_RUNBOOK_TOPICS = ["oracle.inventory.customers", "oracle.inventory.products", "oracle.inventory.orders"]
_RUNBOOK_FRESHNESS = [
    {"table": f"staging.{name}_stream", "column": "kafka_timestamp"} for name in ("customers", "products", "orders")
]


class PipelineConfig(_Model):
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
        if not _NAME.fullmatch(value):
            raise ValueError(f"{value!r}: use lower-case letters, digits, - and _ (it is typed in /cdc commands)")
        return value

    @field_validator("msk_cluster_arn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("arn:aws:kafka:"):
            raise ValueError(f"{value!r} is not an MSK cluster ARN (arn:aws:kafka:...)")
        return value


_DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def crontab_weekdays_as_names(value: str) -> str:
    """Numeric weekdays as crontab means them (0 and 7 Sunday), written as names.

    APScheduler counts 0 as Monday, so `0 9 * * 1` would fire on Tuesdays; names mean the same
    to both.
    """
    fields = value.split()
    if len(fields) != 5:
        return value

    def name(token: str) -> str:
        if not token.isdigit() or not 0 <= int(token) <= 7:
            raise ValueError(f"day of week {token!r} is not 0-7 or a name (mon, tue, ...)")
        return _DAY_NAMES[int(token)]

    parts = []
    for part in fields[4].split(","):
        base, _, step = part.partition("/")
        if base != "*" and any(c.isdigit() for c in base):
            low, _, high = base.partition("-")
            base = name(low) + (f"-{name(high)}" if high else "")
        parts.append(base + (f"/{step}" if step else ""))
    return " ".join([*fields[:4], ",".join(parts)])


def _valid_cron(value: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    if not isinstance(value, str):
        raise ValueError('expected a crontab expression like "0 9 * * mon"')
    try:
        value = crontab_weekdays_as_names(value)
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a crontab expression ({exc})") from None
    return value


Cron = Annotated[str, BeforeValidator(_valid_cron)]


class Schedules(_Model):
    morning: Cron = "0 9 * * *"
    weekly_performance: Cron = "0 9 * * mon"
    capacity: Cron = "0 9 * * wed"
    backups: Cron = "0 9 * * fri"
    security: Cron = "0 9 1-7 * mon"
    dr: Cron = "0 9 15 * *"
    backup_job: Cron = "0 2 * * *"
    # A report whose time was missed (bot down) is still posted, marked late, within this grace.
    misfire_grace: Duration = timedelta(minutes=30)
    # Consumer lag goes to CloudWatch this often, so the runbook's CDC-HighConsumerLag alarm has data.
    lag_metric_interval: Duration = timedelta(minutes=1)
    # With several replicas, the one holding this lease in the state store runs the jobs; renewed at a third.
    leader_lease: Duration = timedelta(seconds=30)


class Contacts(_Model):
    L1: str | None = "ops-team@company.com (24/7)"
    L2: str | None = "platform-team@company.com (business hours)"
    L3: str | None = "architecture-team@company.com (on-call)"
    product_owner: str | None = "jane.doe@company.com"
    tech_lead: str | None = "john.smith@company.com"
    aws_tam: str | None = "tam@aws.com"


class ActionsSettings(_Model):
    """How approved runbook actions wait for the cluster to settle (rollouts, pods Ready)."""

    timeout: Duration = timedelta(minutes=5)
    poll_interval: Duration = timedelta(seconds=2)
    # Progress edits of the approval message at most this often (chat.update is rate limited).
    progress_interval: Duration = timedelta(seconds=1)
    # A Strimzi Connect image build (debezium-rebuild) downloads plugins and pushes an image: minutes.
    build_timeout: Duration = timedelta(minutes=20)


class MaintenanceSettings(_Model):
    """Guided maintenance windows (`/cdc maintenance`): how long their steps may take and how they poll."""

    default_duration: Duration = timedelta(hours=2)
    max_duration: Duration = timedelta(hours=24)
    drain_timeout: Duration = timedelta(minutes=30)
    # After `maintenance end`: how long to wait for the connector, lag and freshness to look right.
    verify_timeout: Duration = timedelta(minutes=10)
    poll_interval: Duration = timedelta(seconds=5)
    # A running workflow's lease in the state store, renewed at every poll; when its bot dies,
    # another replica (or the next start) resumes the workflow once the lease has lapsed.
    lease: Duration = timedelta(seconds=30)
    # Replicas to restore when the count before the window was not recorded (the runbook's `--replicas=3`).
    default_replicas: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _lease_outlives_polls(self) -> MaintenanceSettings:
        if self.lease < 3 * self.poll_interval:
            raise ValueError("lease must be at least 3 poll_intervals (it is renewed once per poll)")
        return self


class ChecksSettings(_Model):
    # Each check's own deadline: one slow backend costs this, not the whole report.
    timeout: Duration = timedelta(seconds=5)


class DrSettings(_Model):
    """The mid-month DR check compares these two pipelines (names from `pipelines`)."""

    primary: str
    secondary: str


class Config(_Model):
    slack: SlackSettings = Field(default_factory=SlackSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    pipelines: list[PipelineConfig] = Field(min_length=1)
    schedules: Schedules = Field(default_factory=Schedules)
    contacts: Contacts = Field(default_factory=Contacts)
    checks: ChecksSettings = Field(default_factory=ChecksSettings)
    actions: ActionsSettings = Field(default_factory=ActionsSettings)
    maintenance: MaintenanceSettings = Field(default_factory=MaintenanceSettings)
    dr: DrSettings | None = None

    @field_validator("pipelines")
    @classmethod
    def _unique_names(cls, pipelines: list[PipelineConfig]) -> list[PipelineConfig]:
        names = [p.name for p in pipelines]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"pipeline names must be unique; repeated: {', '.join(duplicates)}")
        return pipelines

    @model_validator(mode="after")
    def _dr_pipelines(self) -> Config:
        if self.dr is not None:
            names = self.pipeline_names
            for side in ("primary", "secondary"):
                value = getattr(self.dr, side)
                if value not in names:
                    raise ValueError(f"dr.{side}: no pipeline named {value!r} (known: {', '.join(names)})")
            if self.dr.primary == self.dr.secondary:
                raise ValueError("dr.primary and dr.secondary must be two different pipelines")
        return self

    def pipeline(self, name: str | None = None) -> PipelineConfig:
        """The named pipeline, or the first one; raises UnknownPipeline with a suggestion."""
        if name is None:
            return self.pipelines[0]
        for pipeline in self.pipelines:
            if pipeline.name == name:
                return pipeline
        raise UnknownPipeline(name, [p.name for p in self.pipelines])

    @property
    def pipeline_names(self) -> list[str]:
        return [p.name for p in self.pipelines]


class UnknownPipeline(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name, self.known = name, known
        self.suggestion = (difflib.get_close_matches(name, known, n=1) or [None])[0]
        hint = f" Did you mean `{self.suggestion}`?" if self.suggestion else ""
        super().__init__(f"No pipeline named `{name}`.{hint} Known pipelines: {', '.join(known)}.")


class ConfigError(Exception):
    """A config that cannot be used; `problems` holds one readable line per mistake."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        super().__init__(f"{path}: " + "; ".join(problems))


def resolve_config_path(explicit: str | None = None) -> str:
    return explicit or os.environ.get("CDC_BOT_CONFIG") or DEFAULT_CONFIG_PATH


def load_config(path: str | None = None) -> Config:
    path = resolve_config_path(path)
    file = Path(path)
    if not file.exists():
        raise ConfigError(
            path,
            [
                "config file not found. Pass --config PATH, set CDC_BOT_CONFIG, or create ./cdc-bot.yml "
                "(`cdc-bot sandbox` writes a working one)."
            ],
        )
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, [f"cannot read the file: {exc.strerror}"]) from None
    return parse_config(text, path)


def parse_config(text: str, path: str = "<config>") -> Config:
    try:
        data = yaml.safe_load(text)
        lines = _line_numbers(yaml.compose(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, [f"{where}not valid YAML: {problem}"]) from None
    if data is None:
        raise ConfigError(path, ["the file is empty; it needs at least `pipelines:` with one pipeline"])
    if not isinstance(data, dict):
        raise ConfigError(path, ["the top level must be a mapping of keys (slack:, access:, pipelines:, ...)"])
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(err, lines) for err in exc.errors()]
        # In file order, so the list reads top to bottom like the file.
        problems.sort(key=lambda p: int(m.group(1)) if (m := re.match(r"line (\d+):", p)) else 0)
        raise ConfigError(path, problems) from None


def _line_numbers(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map each key path to its line in the file, so errors can say where to look."""
    found: dict[tuple[Any, ...], int] = {}
    if node is None:
        return found
    found[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            found[(*path, key.value)] = key.start_mark.line + 1
            found.update({k: v for k, v in _line_numbers(value, (*path, key.value)).items() if k != (*path, key.value)})
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found.update(_line_numbers(item, (*path, index)))
    return found


def format_location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


_FRIENDLY_TYPES = {
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "float_parsing": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected text",
    "list_type": "expected a list",
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
}


def _describe(err: Any, lines: dict[tuple[Any, ...], int]) -> str:
    # pydantic puts validator names of unions and models into loc; keep only real keys.
    loc = tuple(p for p in err["loc"] if isinstance(p, int) or not str(p).startswith(("function-", "lax-")))
    where = format_location(loc)
    line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), None)
    prefix = f"line {line}: {where}" if line else where
    kind = err["type"]
    given = err.get("input")
    if kind == "extra_forbidden":
        siblings = _known_fields(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), siblings, n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else (f" (known: {', '.join(siblings)})" if siblings else "")
        return f"{prefix}: unknown key{hint}"
    if kind == "missing":
        return f"{prefix}: required but missing"
    if kind in _FRIENDLY_TYPES:
        return f"{prefix}: {_FRIENDLY_TYPES[kind]}, got {given!r}"
    if kind == "literal_error":
        return f"{prefix}: {err['msg'].replace('Input should be', 'must be one of')}, got {given!r}"
    message = err["msg"].removeprefix("Value error, ")
    return f"{prefix}: {message}"


def _known_fields(loc: tuple[Any, ...]) -> list[str]:
    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        model = _model_of(field.annotation)
        if model is None:
            return []
    return list(model.model_fields) if hasattr(model, "model_fields") else []


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None

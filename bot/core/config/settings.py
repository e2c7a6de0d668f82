"""The bot-wide sections (Slack, access, actions, maintenance, DR) and the whole `Config`."""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from bot.core.config.base import ConfigModel, Duration
from bot.core.config.pipeline import PipelineConfig
from bot.core.config.schedules import Schedules


class SlackSettings(ConfigModel):
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


class AccessSettings(ConfigModel):
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


class Contacts(ConfigModel):
    L1: str | None = "ops-team@company.com (24/7)"
    L2: str | None = "platform-team@company.com (business hours)"
    L3: str | None = "architecture-team@company.com (on-call)"
    product_owner: str | None = "jane.doe@company.com"
    tech_lead: str | None = "john.smith@company.com"
    aws_tam: str | None = "tam@aws.com"


class ActionsSettings(ConfigModel):
    """How approved runbook actions wait for the cluster to settle (rollouts, pods Ready)."""

    timeout: Duration = timedelta(minutes=5)
    poll_interval: Duration = timedelta(seconds=2)
    # Progress edits of the approval message at most this often (chat.update is rate limited).
    progress_interval: Duration = timedelta(seconds=1)
    # A Strimzi Connect image build (debezium-rebuild) downloads plugins and pushes an image: minutes.
    build_timeout: Duration = timedelta(minutes=20)


class MaintenanceSettings(ConfigModel):
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


class ChecksSettings(ConfigModel):
    # Each check's own deadline: one slow backend costs this, not the whole report.
    timeout: Duration = timedelta(seconds=5)


class DrSettings(ConfigModel):
    """The mid-month DR check compares these two pipelines (names from `pipelines`)."""

    primary: str
    secondary: str


class Config(ConfigModel):
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
        close = difflib.get_close_matches(name, known, n=1)
        self.suggestion: str | None = close[0] if close else None
        hint = f" Did you mean `{self.suggestion}`?" if self.suggestion else ""
        super().__init__(f"No pipeline named `{name}`.{hint} Known pipelines: {', '.join(known)}.")

"""First-Monday security review: wildcard IAM policies, unused tagged resources, the Debezium credentials' age.

Rotation itself is the `rotate-credentials` action (behind an approval); the report only says how
old the credentials are and offers a button that requests it. Their age is taken from the
annotation that action writes (`cdc-bot/rotated-at`), else the Secret's creationTimestamp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.actions.connect import ROTATED_AT
from bot.clients.base import BackendError, PipelineClients
from bot.core.config import PipelineConfig
from bot.core.results import Status, worst
from bot.reports.pipelines import PipelinesReport, for_each_pipeline
from bot.services import Services

LAST_USED_TAG = "LastUsed"


@dataclass
class PolicyFinding:
    role: str
    policy: str
    statement: str
    problem: str


@dataclass
class PolicyReview:
    inspected: list[str] = field(default_factory=list)
    findings: list[PolicyFinding] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class UnusedResource:
    arn: str
    last_used: str
    age_days: int | None


@dataclass
class ResourceReview:
    tag: str
    total: int = 0
    unused: list[UnusedResource] = field(default_factory=list)
    untagged: list[str] = field(default_factory=list)
    unreadable: list[UnusedResource] = field(default_factory=list)
    error: str | None = None


@dataclass
class CredentialsAge:
    secret: str
    namespace: str
    since: datetime | None = None
    rotated: bool = False
    max_age: timedelta = timedelta(days=30)
    error: str | None = None
    found: bool = True

    def age(self, now: datetime) -> timedelta | None:
        return now - self.since if self.since else None

    def due(self, now: datetime) -> bool:
        age = self.age(now)
        return age is not None and age > self.max_age


@dataclass
class PipelineSecurity:
    pipeline: str
    policies: PolicyReview
    resources: ResourceReview
    credentials: CredentialsAge
    unused_after: timedelta

    def status(self, now: datetime) -> Status:
        statuses = [Status.OK]
        if self.policies.findings or self.policies.missing:
            statuses.append(Status.WARN)
        if self.resources.unused:
            statuses.append(Status.WARN)
        if self.credentials.due(now) or not self.credentials.found:
            statuses.append(Status.WARN)
        if self.policies.error or self.resources.error or self.credentials.error:
            statuses.append(Status.UNKNOWN)
        return worst(statuses)


@dataclass
class SecurityReport(PipelinesReport[PipelineSecurity]):
    @property
    def status(self) -> Status:
        return worst([p.status(self.generated_at) for p in self.pipelines])


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def wildcard_problems(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(statement label, problem) for each Allow statement with a wildcard action or resource."""
    problems = []
    for index, statement in enumerate(_as_list(document.get("Statement"))):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        label = str(statement.get("Sid") or f"statement {index + 1}")
        for action in _as_list(statement.get("Action")):
            action = str(action)
            if action == "*":
                problems.append((label, "Action `*` (every action of every service)"))
            elif action.endswith(":*"):
                problems.append((label, f"Action `{action}` (every action of {action[:-2]})"))
        if "NotAction" in statement:
            problems.append((label, "NotAction with Allow (allows everything not listed)"))
        if any(str(r) == "*" for r in _as_list(statement.get("Resource"))):
            problems.append((label, "Resource `*` (every resource)"))
    return problems


def review_policies(pipeline: PipelineConfig, clients: PipelineClients) -> PolicyReview:
    review = PolicyReview()
    try:
        for ref in pipeline.security.iam_roles:
            names = ref.policies or clients.aws.list_role_policies(ref.role)
            if names is None:
                review.missing.append(f"role {ref.role}")
                continue
            for name in names:
                document = clients.aws.get_role_policy(ref.role, name)
                if document is None:
                    review.missing.append(f"{ref.role}/{name}")
                    continue
                review.inspected.append(f"{ref.role}/{name}")
                for label, problem in wildcard_problems(document):
                    review.findings.append(PolicyFinding(ref.role, name, label, problem))
    except BackendError as exc:
        review.error = str(exc)
    return review


def _parse_day(value: str) -> datetime | None:
    text = value.strip()
    for parser in (
        lambda t: datetime.fromisoformat(t.replace("Z", "+00:00")),
        lambda t: datetime.strptime(t, "%Y%m%d"),
    ):
        try:
            parsed = parser(text)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def review_resources(pipeline: PipelineConfig, clients: PipelineClients, now: datetime) -> ResourceReview:
    settings = pipeline.security
    review = ResourceReview(tag=f"{settings.project_tag_key}={settings.project_tag_value}")
    try:
        found = clients.aws.tagged_resources(settings.project_tag_key, settings.project_tag_value)
    except BackendError as exc:
        review.error = str(exc)
        return review
    review.total = len(found)
    for arn, tags in sorted(found):
        last_used = tags.get(LAST_USED_TAG)
        if last_used is None:
            review.untagged.append(arn)
            continue
        when = _parse_day(last_used)
        if when is None:
            review.unreadable.append(UnusedResource(arn, last_used, None))
            continue
        age = now - when
        if age > settings.unused_after:
            review.unused.append(UnusedResource(arn, last_used, age.days))
    review.unused.sort(key=lambda r: -(r.age_days or 0))
    return review


def credentials_age(pipeline: PipelineConfig, clients: PipelineClients) -> CredentialsAge:
    k8s = pipeline.kubernetes
    result = CredentialsAge(
        secret=k8s.credentials_secret, namespace=k8s.namespace, max_age=pipeline.security.credentials_max_age
    )
    try:
        secret = clients.kube.get_secret(k8s.credentials_secret)
    except BackendError as exc:
        result.error = str(exc)
        return result
    if secret is None:
        result.found = False
        return result
    metadata = secret.get("metadata") or {}
    rotated = _parse_day(str((metadata.get("annotations") or {}).get(ROTATED_AT) or ""))
    created = _parse_day(str(metadata.get("creationTimestamp") or ""))
    result.since, result.rotated = (rotated, True) if rotated else (created, False)
    return result


def build_security_report(
    services: Services,
    pipelines: list[str] | None = None,
    now: datetime | None = None,
    late_by: timedelta | None = None,
) -> SecurityReport:
    at = now or datetime.now(UTC)

    def security(pipeline: PipelineConfig, clients: PipelineClients) -> PipelineSecurity:
        return PipelineSecurity(
            pipeline=pipeline.name,
            policies=review_policies(pipeline, clients),
            resources=review_resources(pipeline, clients, at),
            credentials=credentials_age(pipeline, clients),
            unused_after=pipeline.security.unused_after,
        )

    return SecurityReport(generated_at=at, pipelines=for_each_pipeline(services, pipelines, security), late_by=late_by)

"""Wednesday capacity planning: broker disk use, its trend and days until full; topic growth from offsets.

Disk: CloudWatch `KafkaDataLogsDiskUsed` (a percentage, namespace AWS/Kafka) per broker. MSK
publishes it with the dimensions `Cluster Name` and `Broker ID` (the runbook's `ClusterName`
matches no metric), daily averages over the last 7 complete UTC days, a least-squares trend, and
`(100 - latest) / trend` days until full when the trend is upward.

Topic growth: confluent-kafka has no DescribeLogDirs, so sizes on disk are not known. Growth is
counted in records: the sum of each topic's partition end offsets now, minus the same sum in the
nightly offsets backup closest to 7 days ago, per day elapsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.backups.offsets import OffsetsBackup, list_offsets_dates, read_offsets_backup
from bot.backups.topics import BackupError
from bot.clients.base import BackendError, PipelineClients
from bot.core.config import PipelineConfig
from bot.core.results import Status, worst
from bot.reports.pipelines import PipelinesReport, attempt, for_each_pipeline
from bot.services import Services

DISK_NAMESPACE = "AWS/Kafka"
DISK_METRIC = "KafkaDataLogsDiskUsed"
DAYS = 7
# Days until full below which the report warns / is critical; and disk use that alone warns.
DAYS_LEFT_WARN = 30
DAYS_LEFT_CRIT = 7
USED_WARN = 80.0
USED_CRIT = 90.0


@dataclass
class BrokerDisk:
    broker_id: str
    daily: list[tuple[date, float]] = field(default_factory=list)

    @property
    def latest(self) -> float | None:
        return self.daily[-1][1] if self.daily else None

    @property
    def trend_per_day(self) -> float | None:
        """Least-squares slope in percentage points per day; None with fewer than two days."""
        if len(self.daily) < 2:
            return None
        xs = [(d - self.daily[0][0]).days for d, _ in self.daily]
        ys = [v for _, v in self.daily]
        mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
        denominator = sum((x - mean_x) ** 2 for x in xs)
        if denominator == 0:
            return None
        return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / denominator

    @property
    def days_left(self) -> float | None:
        """Days until 100% at the trend's rate; None when not growing (or unknown)."""
        trend, latest = self.trend_per_day, self.latest
        if trend is None or latest is None or trend <= 0:
            return None
        return max(0.0, (100.0 - latest) / trend)

    @property
    def status(self) -> Status:
        latest, left = self.latest, self.days_left
        if latest is None:
            return Status.UNKNOWN
        if latest >= USED_CRIT or (left is not None and left < DAYS_LEFT_CRIT):
            return Status.CRIT
        if latest >= USED_WARN or (left is not None and left < DAYS_LEFT_WARN):
            return Status.WARN
        return Status.OK


@dataclass
class TopicGrowth:
    topic: str
    end_now: int | None
    end_before: int | None

    @property
    def records(self) -> int | None:
        if self.end_now is None or self.end_before is None:
            return None
        return max(0, self.end_now - self.end_before)


@dataclass
class PipelineCapacity:
    pipeline: str
    cluster_name: str | None = None
    brokers: list[BrokerDisk] = field(default_factory=list)
    disk_error: str | None = None
    growth: list[TopicGrowth] = field(default_factory=list)
    growth_basis: OffsetsBackup | None = None
    growth_days: float | None = None
    growth_error: str | None = None

    @property
    def status(self) -> Status:
        statuses = [b.status for b in self.brokers]
        if self.disk_error:
            statuses.append(Status.UNKNOWN)
        return worst(statuses)


@dataclass
class CapacityReport(PipelinesReport[PipelineCapacity]):
    @property
    def status(self) -> Status:
        return worst([p.status for p in self.pipelines])


def cluster_name_from_arn(arn: str) -> str | None:
    # arn:aws:kafka:REGION:ACCOUNT:cluster/NAME/UUID
    resource = arn.split(":", 5)[-1]
    parts = resource.split("/")
    return parts[1] if len(parts) >= 2 and parts[0] == "cluster" else None


def broker_disks(pipeline: PipelineConfig, clients: PipelineClients, now: datetime) -> tuple[str, list[BrokerDisk]]:
    if not pipeline.msk_cluster_arn:
        raise BackendError("no msk_cluster_arn configured")
    cluster = clients.aws.describe_msk_cluster(pipeline.msk_cluster_arn)
    # The metric's `Cluster Name` is the cluster's name; the ARN carries it too (cluster/NAME/UUID).
    name = (cluster.name if cluster else None) or cluster_name_from_arn(pipeline.msk_cluster_arn)
    if name is None:
        raise BackendError(f"MSK cluster {pipeline.msk_cluster_arn} not found, and its ARN names no cluster")
    count = cluster.broker_count if cluster and cluster.broker_count else (pipeline.expected_brokers or 0)
    if not count:
        raise BackendError(f"MSK cluster {name}: broker count unknown")
    end = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=DAYS)
    disks = []
    # MSK numbers its brokers 1..N.
    for broker in range(1, count + 1):
        points = clients.aws.metric_statistics(
            DISK_NAMESPACE,
            DISK_METRIC,
            {"Cluster Name": name, "Broker ID": str(broker)},
            start,
            end,
            86400,
            "Average",
        )
        disks.append(BrokerDisk(str(broker), [(ts.astimezone(UTC).date(), value) for ts, value in points]))
    return name, disks


def _growth_basis(pipeline: PipelineConfig, clients: PipelineClients, now: datetime) -> OffsetsBackup | None:
    """The offsets backup closest to 7 days before now, among those at least a day old."""
    backups = pipeline.backups
    days = list_offsets_dates(clients.aws, backups.bucket, backups.prefix)
    target = (now - timedelta(days=DAYS)).date()
    candidates = [d for d in days if d <= (now - timedelta(days=1)).date()]
    if not candidates:
        return None
    chosen = min(candidates, key=lambda d: abs((d - target).days))
    return read_offsets_backup(clients.aws, backups.bucket, backups.prefix, chosen)


def topic_growth(
    pipeline: PipelineConfig, clients: PipelineClients, now: datetime
) -> tuple[OffsetsBackup | None, list[TopicGrowth]]:
    basis = _growth_basis(pipeline, clients, now)
    partitions = clients.kafka.list_topics()
    wanted = [(t, p) for t in pipeline.topics if t in partitions for p in range(partitions[t].partitions)]
    ends = clients.kafka.end_offsets(wanted)
    growth = []
    for topic in pipeline.topics:
        values = [offset for (t, _p), offset in ends.items() if t == topic]
        growth.append(
            TopicGrowth(
                topic=topic,
                end_now=sum(values) if values else None,
                end_before=basis.topic_end(topic) if basis else None,
            )
        )
    return basis, growth


def build_capacity_report(
    services: Services,
    pipelines: list[str] | None = None,
    now: datetime | None = None,
    late_by: timedelta | None = None,
) -> CapacityReport:
    at = now or datetime.now(UTC)

    def capacity(pipeline: PipelineConfig, clients: PipelineClients) -> PipelineCapacity:
        item = PipelineCapacity(pipeline=pipeline.name)
        disks, item.disk_error = attempt(lambda: broker_disks(pipeline, clients, at))
        if disks is not None:
            item.cluster_name, item.brokers = disks
        growth, item.growth_error = attempt(lambda: topic_growth(pipeline, clients, at), (BackendError, BackupError))
        if growth is not None:
            item.growth_basis, item.growth = growth
            if item.growth_basis is not None:
                item.growth_days = (at - item.growth_basis.taken_at).total_seconds() / 86400
        return item

    return CapacityReport(generated_at=at, pipelines=for_each_pipeline(services, pipelines, capacity), late_by=late_by)

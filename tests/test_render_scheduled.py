"""Golden Block Kit for the weekly, monthly and backup reports (regenerate: UPDATE_GOLDEN=1, then review the diff)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.alarms.runbook_alarms import EnsureResult
from bot.backups.nightly import BackupRun
from bot.backups.offsets import OffsetsBackup
from bot.clients.base import TopicInfo
from bot.render.charts import performance_chart
from bot.render.scheduled import (
    backups_view,
    capacity_view,
    dr_view,
    performance_view,
    render_alarms_ensure,
    render_backup_failure,
    render_report_view,
    report_view_text,
    security_view,
)
from bot.reports.backup_check import BackupObject, BackupsReport, DryRunRestore, PipelineBackups, TopicDifference
from bot.reports.capacity import BrokerDisk, CapacityReport, PipelineCapacity, TopicGrowth
from bot.reports.dr import Difference, DrReport, SideState
from bot.reports.performance import DailyStats, PerformanceReport, PipelinePerformance, TablePerformance
from bot.reports.security import (
    CredentialsAge,
    PipelineSecurity,
    PolicyFinding,
    PolicyReview,
    ResourceReview,
    SecurityReport,
    UnusedResource,
)
from tests.test_render import assert_golden, assert_within_limits, everything, texts

TZ = "Asia/Singapore"
MONDAY = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 09:00 in Singapore


def performance() -> PerformanceReport:
    first = date(2026, 11, 23)

    def table(name: str, counts: list[int], before: int | None, age: float) -> TablePerformance:
        days = [DailyStats(first + timedelta(days=i), n, (7 - i) * 86400.0 - 43200) for i, n in enumerate(counts)]
        return TablePerformance(name, days, before, age)

    return PerformanceReport(
        generated_at=MONDAY,
        pipelines=[
            PipelinePerformance(
                "prod",
                [
                    table("staging.customers_stream", [240, 250, 260, 240, 230, 220, 240], 1600, 45.0),
                    table("staging.products_stream", [100, 90, 80, 70, 60, 50, 40], 0, 300.0),
                    TablePerformance("staging.orders_stream", error="relation does not exist"),
                ],
            )
        ],
    )


def test_performance_golden_and_chart() -> None:
    report = performance()
    chart = performance_chart(report)
    assert chart is not None and chart.startswith(b"\x89PNG")
    message = render_report_view(performance_view(report, chart), TZ)
    assert_within_limits(message.message)
    assert [f.filename for f in message.files] == ["weekly-performance-20261130.png"]
    assert texts(message.message, "header") == [":white_circle: Weekly performance review · Mon 30 Nov 2026"]
    assert "+5.0%" in everything(message.message)  # 1,680 vs 1,600
    assert_golden("report_weekly_performance", message.message)


def test_capacity_golden() -> None:
    daily = [(date(2026, 11, 18) + timedelta(days=i), 50.0 + 2 * i) for i in range(7)]
    basis = OffsetsBackup(
        date(2026, 11, 23), datetime(2026, 11, 22, 18, 0, tzinfo=UTC), "prod", {}, {}, "kafka/offsets-20261123.json"
    )
    report = CapacityReport(
        generated_at=datetime(2026, 11, 25, 1, 0, tzinfo=UTC),
        pipelines=[
            PipelineCapacity(
                "prod",
                "demo-msk",
                [BrokerDisk("1", daily), BrokerDisk("2", [(d, 40.0) for d, _ in daily]), BrokerDisk("3", [])],
                growth=[
                    TopicGrowth("oracle.inventory.orders", 15_000, 8_000),
                    TopicGrowth("oracle.inventory.new", 100, None),
                    TopicGrowth("oracle.inventory.gone", None, 5),
                ],
                growth_basis=basis,
                growth_days=2.29,
            )
        ],
    )
    message = render_report_view(capacity_view(report), TZ)
    assert_within_limits(message.message)
    assert "19 days (~14 Dec)" in everything(message.message)
    assert_golden("report_capacity", message.message)


def test_backups_golden() -> None:
    now = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    restore = DryRunRestore(
        topics_key="kafka/topics-20261127.json",
        taken_at=datetime(2026, 11, 26, 18, 0, 3, tzinfo=UTC),
        backup_topics=4,
        would_create=[TopicInfo("oracle.inventory.customers", 3, 3, {"retention.ms": "604800000"})],
        unchanged=2,
        different=[
            TopicDifference("oracle.inventory.orders", TopicInfo("x", 6, 3), TopicInfo("oracle.inventory.orders", 3, 3))
        ],
        offsets_key="kafka/offsets-20261127.json",
        groups_in_backup=2,
        groups_missing=["old-app"],
        groups_present=1,
    )
    report = BackupsReport(
        generated_at=now,
        pipelines=[
            PipelineBackups(
                "prod",
                "demo-rt-the-one-backups",
                "kafka/",
                date(2026, 11, 27),
                [
                    BackupObject("kafka/topics-20261127.json", True, 2_345, now - timedelta(hours=7)),
                    BackupObject("kafka/offsets-20261127.json", False),
                ],
                restore=restore,
            )
        ],
    )
    message = render_report_view(backups_view(report), TZ)
    assert_within_limits(message.message)
    assert texts(message.message, "header")[0].startswith(":red_circle: Backup verification")
    assert_golden("report_backups", message.message)
    text = report_view_text(backups_view(report), TZ)
    assert "A restore would create 1 missing topic:" in text and "MISSING" in text


def test_security_golden_has_the_rotate_button() -> None:
    now = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    item = PipelineSecurity(
        pipeline="prod",
        policies=PolicyReview(
            inspected=["oracle-cdc-pipeline-demo-msk-access-role/msk-access-policy"],
            findings=[
                PolicyFinding(
                    "oracle-cdc-pipeline-demo-msk-access-role",
                    "msk-access-policy",
                    "statement 1",
                    "Resource `*` (every resource)",
                )
            ],  # fmt: skip
        ),
        resources=ResourceReview(
            tag="Project=demo_rt_the_one",
            total=5,
            unused=[UnusedResource("arn:aws:s3:::demo-rt-the-one-old", "2024-01-01", 1071)],
            untagged=["arn:aws:sqs:ap-southeast-1:123456789012:q"],
        ),
        credentials=CredentialsAge(
            "debezium-credentials", "kafka", datetime(2026, 10, 1, 2, 0, tzinfo=UTC), rotated=True
        ),
        unused_after=timedelta(days=90),
    )
    message = render_report_view(security_view(SecurityReport(now, [item]), TZ), TZ)
    assert_within_limits(message.message)
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]  # type: ignore[index]
    assert [(b["action_id"], b["value"], b.get("style")) for b in buttons] == [
        ("request_rotate_credentials", "prod", "primary")
    ]
    assert_golden("report_security", message.message)


def test_dr_golden_and_not_configured() -> None:
    at = datetime(2026, 12, 15, 1, 0, tzinfo=UTC)
    report = DrReport(
        generated_at=at,
        primary=SideState("prod"),
        secondary=SideState("dr"),
        differences=[
            Difference("topics", "oracle.inventory.audit", "present", "missing"),
            Difference("partitions", "oracle.inventory.orders", "3 partitions", "6 partitions"),
            Difference("groups", "pii-masking-app on oracle.inventory.orders", "15,000", "11,000"),
            Difference("rows", "orders_stream", "staging.orders_stream: 1,920", "staging.orders_stream: 1,800"),
        ],
    )
    message = render_report_view(dr_view(report), TZ)
    assert_within_limits(message.message)
    assert_golden("report_dr", message.message)
    missing = render_report_view(dr_view(DrReport(at, None, None, not_configured=True)), TZ)
    assert "dr: {primary: PIPELINE, secondary: PIPELINE}" in everything(missing.message)


def test_alarms_ensure_and_backup_failure_golden() -> None:
    ensure = render_alarms_ensure(
        [
            EnsureResult("prod", created=["CDC-HighConsumerLag"], existing=["MSK-HighCPU"]),
            EnsureResult("dr", existing=["MSK-HighCPU"], drift=["MSK-HighCPU watches AWS/Kafka/CpuUser > 90"]),
        ]
    )
    assert_within_limits(ensure)
    assert_golden("alarms_ensure", ensure)
    run = BackupRun(
        "prod",
        "demo-rt-the-one-backups",
        date(2026, 11, 27),
        datetime(2026, 11, 26, 18, 0, tzinfo=UTC),
        topics_key="kafka/topics-20261127.json",
        error="Kafka did not answer list_offsets within 4s",
    )
    failure = render_backup_failure([run])
    assert_within_limits(failure)
    assert_golden("backup_failure", failure)

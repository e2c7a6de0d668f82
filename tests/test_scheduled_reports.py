"""The weekly, monthly and backup routines against the real local backends, with figures seeded here.

Each test seeds its own tables, topics, groups, buckets, roles, alarms and namespaces next to the
sandbox's, and points a pipeline config at them, so the seeded pipeline other tests read is untouched.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.alarms.lag_metric import publish_lag
from bot.alarms.runbook_alarms import RUNBOOK_ALARMS, ensure_alarms
from bot.app.cli import REPORT_KINDS as CLI_REPORT_KINDS
from bot.app.cli import main as cli_main
from bot.app.wiring import build_services
from bot.backups.nightly import run_backup
from bot.backups.offsets import read_offsets_backup, write_offsets_backup
from bot.backups.topics import TopicInfo, read_topic_backup, write_topic_backup
from bot.core.config import Config
from bot.render.report_messages import REPORT_KINDS, report_message, report_text
from bot.reports.backup_check import build_backups_report
from bot.reports.capacity import build_capacity_report
from bot.reports.dr import build_dr_report
from bot.reports.performance import build_performance_report
from bot.reports.security import build_security_report
from bot.sandbox.demo import MSK_ROLE, REGION, Sandbox, aws_session, commit_offsets, seed_kafka
from bot.sandbox.fake_slack import FakeSlackServer
from bot.sandbox.kafka_local import LocalKafka
from bot.services import Services
from bot.slack.client import make_web_client
from bot.slack.posting import slack_poster
from scheduler.jobs import REPORTS, Outcome, run_due_report
from tests.conftest import BotServer, _merge

SGT = ZoneInfo("Asia/Singapore")


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _bucket(sandbox: Sandbox, name: str) -> str:
    aws_session(sandbox.aws.endpoint_url)("s3").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return name


def _wait_for_blocks(slack: FakeSlackServer, needle: str, timeout: float = 20) -> Any:
    return slack.wait_for("chat.postMessage", timeout=timeout, predicate=lambda c: needle in json.dumps(c.args))[-1]


def test_report_kinds_are_the_same_everywhere() -> None:
    assert CLI_REPORT_KINDS == REPORT_KINDS
    assert {k.replace("-", "_") for k in REPORT_KINDS} | {"backup_job"} == set(REPORTS)


# --- Monday: performance -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def perf_tables(sandbox: Sandbox) -> list[str]:
    """Two tables with known events per day: a_stream 10·k on day −k (k=1..7), 50 a day the week before;
    b_stream 24 a day this week and nothing before. Rows at noon, relative to the database's CURRENT_DATE."""
    schema = "perftest"
    sandbox.redshift.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    for table in ("a_stream", "b_stream"):
        sandbox.redshift.execute(f"CREATE TABLE {schema}.{table} (id bigint, kafka_timestamp timestamp)")
    sandbox.redshift.execute(
        f"INSERT INTO {schema}.a_stream SELECT k, CURRENT_DATE - k * interval '1 day' + interval '12 hours' "
        "FROM generate_series(1, 7) k, generate_series(1, 10 * k) n"
    )
    sandbox.redshift.execute(
        f"INSERT INTO {schema}.a_stream SELECT k, CURRENT_DATE - k * interval '1 day' + interval '12 hours' "
        "FROM generate_series(8, 14) k, generate_series(1, 50) n"
    )
    sandbox.redshift.execute(
        f"INSERT INTO {schema}.b_stream SELECT k, CURRENT_DATE - k * interval '1 day' + interval '12 hours' "
        "FROM generate_series(1, 7) k, generate_series(1, 24) n"
    )
    return [f"{schema}.a_stream", f"{schema}.b_stream"]


def test_weekly_performance_figures_and_chart_in_the_thread(
    make_services: Callable[..., Services], perf_tables: list[str], slack: FakeSlackServer
) -> None:
    services = make_services({"freshness": [{"table": t} for t in perf_tables]})
    report = build_performance_report(services)
    a, b = report.pipelines[0].tables
    assert a.error is None and b.error is None
    # The runbook's SQL: one row per day, oldest first; a_stream has 10·k events k days ago.
    assert [d.events for d in a.days] == [70, 60, 50, 40, 30, 20, 10]
    assert [(d.day - a.days[0].day).days for d in a.days] == list(range(7))
    assert a.this_week == 280 and a.previous_week == 350 and a.change == pytest.approx(-0.2)
    assert b.this_week == 168 and b.previous_week == 0 and b.change is None
    # The newest rows are from yesterday noon: a day or so old, per the database's clock.
    assert 12 * 3600 < (a.newest_age_seconds or 0) < 36 * 3600 + 120
    assert report.pipelines[0].busiest_day == (a.days[0].day, 94)

    # The scheduled post: table in the message, the chart as a PNG in its thread.
    post = slack_poster(make_web_client(token=slack.bot_token, base_url=slack.api_url))
    monday_9 = datetime(2026, 11, 30, 9, 0, 20, tzinfo=SGT)
    cron = services.config.schedules.weekly_performance
    assert run_due_report(services, "weekly_performance", cron, REPORTS["weekly_performance"], post, now=monday_9) is (
        Outcome.POSTED
    )
    posted = slack.calls_to("chat.postMessage")
    assert len(posted) == 1 and posted[0].args["channel"] == "#cdc-pipeline-ops"
    blocks = json.dumps(posted[0].args["blocks"])
    assert "Weekly performance review" in blocks and "-20.0%" in blocks and "100,000 records/s" in blocks
    [upload] = slack.uploaded_files
    assert upload["thread_ts"] == posted[0].answer["ts"]
    assert upload["content"].startswith(b"\x89PNG\r\n\x1a\n") and upload["filename"].endswith(".png")


def test_slash_report_posts_here_with_the_chart(
    make_services: Callable[..., Services],
    perf_tables: list[str],
    start_bot: Callable[[Services], BotServer],
    slack: FakeSlackServer,
) -> None:
    bot = start_bot(make_services({"freshness": [{"table": t} for t in perf_tables]}))
    status, _ = bot.command("report weekly-performance")
    assert status == 200
    posted = _wait_for_blocks(slack, "Weekly performance review")
    assert posted.args["channel"] == "C0OPS"
    slack.wait_for("files.completeUploadExternal", timeout=20)
    assert slack.uploaded_files[0]["thread_ts"] == posted.answer["ts"]
    # A typo gets a did-you-mean, privately.
    bot.command("report capacty")
    reply = slack.wait_for("response_url", predicate=lambda c: "capacity" in json.dumps(c.args), timeout=10)[-1]
    assert reply.args["response_type"] == "ephemeral"


# --- Wednesday: capacity --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def capacity_setup(sandbox: Sandbox) -> dict[str, Any]:
    client = aws_session(sandbox.aws.endpoint_url)
    name = _unique("capacity-msk")
    arn = client("kafka").create_cluster(
        ClusterName=name,
        KafkaVersion="3.5.1",
        NumberOfBrokerNodes=3,
        BrokerNodeGroupInfo={"InstanceType": "kafka.m5.large", "ClientSubnets": ["subnet-a"]},
    )["ClusterArn"]
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    # Daily averages k days ago (two samples a day around them): broker 1 grows 2 points a day to 62%,
    # broker 2 stays at 40%, broker 3 grows 4 points a day to 84%.
    data = []
    for k in range(1, 8):
        for broker, value in ((1, 50 + 2 * (7 - k)), (2, 40), (3, 60 + 4 * (7 - k))):
            for hour, delta in ((6, -1.0), (18, 1.0)):
                data.append(
                    {
                        "MetricName": "KafkaDataLogsDiskUsed",
                        "Timestamp": today - timedelta(days=k) + timedelta(hours=hour),
                        "Value": value + delta,
                        "Dimensions": [
                            {"Name": "Cluster Name", "Value": name},
                            {"Name": "Broker ID", "Value": str(broker)},
                        ],
                    }
                )
    for start in range(0, len(data), 20):
        client("cloudwatch").put_metric_data(Namespace="AWS/Kafka", MetricData=data[start : start + 20])
    # A topic that holds 1,500 records now and held 800 at the offsets backup a week ago.
    topic = _unique("cap.orders")
    seed_kafka(sandbox.kafka.bootstrap_servers, {topic: 1500}, group=None)
    bucket = _bucket(sandbox, _unique("cap-backups"))
    week_ago = datetime.now(UTC) - timedelta(days=7)
    from bot.clients.aws import Boto3Aws
    from bot.core.config import AwsSettings

    aws = Boto3Aws(REGION, settings=AwsSettings(**sandbox.pipeline_config()["aws"]))
    write_offsets_backup(
        aws, bucket, "kafka/", "sandbox", {(topic, 0): 300, (topic, 1): 250, (topic, 2): 250}, {}, week_ago,
        week_ago.astimezone(SGT).date(),
    )  # fmt: skip
    return {"arn": arn, "name": name, "topic": topic, "bucket": bucket}


def test_capacity_disk_trend_days_left_and_topic_growth(
    make_services: Callable[..., Services], capacity_setup: dict[str, Any]
) -> None:
    services = make_services(
        {
            "msk_cluster_arn": capacity_setup["arn"],
            "topics": [capacity_setup["topic"]],
            "backups": {"bucket": capacity_setup["bucket"], "prefix": "kafka/"},
        }
    )
    report = build_capacity_report(services)
    item = report.pipelines[0]
    assert item.disk_error is None and item.cluster_name == capacity_setup["name"]
    one, two, three = item.brokers
    assert [v for _, v in one.daily] == [50, 52, 54, 56, 58, 60, 62]
    assert one.trend_per_day == pytest.approx(2.0) and one.days_left == pytest.approx(19.0)
    assert two.trend_per_day == pytest.approx(0.0) and two.days_left is None
    assert three.latest == 84 and three.days_left == pytest.approx(4.0)
    assert report.status.value == "CRIT"  # broker 3 is full in 4 days
    [growth] = item.growth
    assert (growth.end_now, growth.end_before, growth.records) == (1500, 800, 700)
    assert item.growth_days == pytest.approx(7.0, abs=0.01)
    text = report_text(services, "capacity")
    assert "19 days" in text and "4 days" in text and "not growing" in text
    assert "100" in text.split(capacity_setup["topic"])[-1].splitlines()[0]  # 700 records / 7 days
    assert "offsets-" in text and "DescribeLogDirs" in text


# --- Nightly backup and Friday verification -------------------------------------------------------------


def test_nightly_backup_is_read_back_by_the_dry_run_restore(
    make_services: Callable[..., Services], sandbox: Sandbox, slack: FakeSlackServer
) -> None:
    bucket = _bucket(sandbox, _unique("nightly"))
    services = make_services({"backups": {"bucket": bucket, "prefix": "kafka/"}})
    pipeline = services.config.pipeline()
    clients = services.clients(pipeline)
    tz = services.config.slack.tz

    # The scheduled job: nothing posted when it works.
    post = slack_poster(make_web_client(token=slack.bot_token, base_url=slack.api_url))
    two_am = datetime.now(SGT).replace(hour=2, minute=0, second=30, microsecond=0)
    if two_am > datetime.now(SGT):
        two_am -= timedelta(days=1)
    outcome = run_due_report(services, "backup_job", "0 2 * * *", REPORTS["backup_job"], post, now=two_am)
    assert outcome is Outcome.DONE and not slack.calls_to("chat.postMessage")

    run = run_backup(pipeline, clients, tz)
    assert run.ok and run.day == datetime.now(SGT).date()
    assert run.topics_key == f"kafka/topics-{run.day:%Y%m%d}.json"
    assert run.offsets_key == f"kafka/offsets-{run.day:%Y%m%d}.json"
    topics = read_topic_backup(clients.aws, bucket, "kafka/", run.day)
    by_name = {t.name: t for t in topics.topics}
    assert by_name["oracle.inventory.orders"].partitions == 3
    offsets = read_offsets_backup(clients.aws, bucket, "kafka/", run.day)
    live = clients.kafka.committed_offsets(["pii-masking-app"])["pii-masking-app"]
    assert {tp: o for tp, o in offsets.groups["pii-masking-app"].items() if tp[0].startswith("oracle.")} == {
        tp: o for tp, o in live.items() if tp[0].startswith("oracle.")
    }
    assert offsets.end_offsets[("oracle.inventory.orders", 0)] >= live[("oracle.inventory.orders", 0)]

    report = build_backups_report(services)
    item = report.pipelines[0]
    listed = {o["Key"]: o["Size"] for o in clients.aws.list_objects(bucket, "kafka/")}
    assert [(o.key, o.present, o.size) for o in item.objects] == [
        (run.topics_key, True, listed[run.topics_key]),
        (run.offsets_key, True, listed[run.offsets_key]),
    ]
    restore = item.restore
    assert restore is not None and restore.topics_key == run.topics_key
    assert restore.would_create == [] and restore.unchanged == run.topics
    assert restore.offsets_key == run.offsets_key and restore.groups_missing == []
    assert report.status.value == "OK"


def test_dry_run_restore_says_what_it_would_create(make_services: Callable[..., Services], sandbox: Sandbox) -> None:
    bucket = _bucket(sandbox, _unique("restore"))
    services = make_services({"backups": {"bucket": bucket, "prefix": "kafka/"}})
    aws = services.clients(services.config.pipeline()).aws
    day = datetime.now(SGT).date() - timedelta(days=2)
    write_topic_backup(
        aws,
        bucket,
        "kafka/",
        "sandbox",
        [
            TopicInfo("oracle.inventory.customers", 3, 1),
            TopicInfo("oracle.inventory.orders", 6, 1),  # 3 partitions live: left alone
            TopicInfo("restore.only.in.backup", 4, 1, {"retention.ms": "604800000"}),
        ],
        taken_at=datetime.now(UTC) - timedelta(days=2),
        day=day,
    )
    write_offsets_backup(
        aws, bucket, "kafka/", "sandbox", {}, {"pii-masking-app": {}, "gone-group": {("x", 0): 5}},
        datetime.now(UTC) - timedelta(days=2), day,
    )  # fmt: skip
    item = build_backups_report(services).pipelines[0]
    # Nothing for today: both expected objects are missing.
    assert [(o.present, o.size) for o in item.objects] == [(False, None), (False, None)]
    restore = item.restore
    assert restore is not None
    assert [(t.name, t.partitions, t.configs) for t in restore.would_create] == [
        ("restore.only.in.backup", 4, {"retention.ms": "604800000"})
    ]
    assert [d.name for d in restore.different] == ["oracle.inventory.orders"] and restore.unchanged == 1
    assert restore.groups_missing == ["gone-group"] and restore.groups_present == 1
    assert item.status.value == "CRIT"
    assert "restore.only.in.backup" not in services.clients(services.config.pipeline()).kafka.list_topics()


def test_cli_backup_and_report(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    bucket = _bucket(sandbox, _unique("cli"))
    data = sandbox.config()
    data["pipelines"] = [_merge(sandbox.pipeline_config(), {"backups": {"bucket": bucket, "prefix": "nightly/"}})]
    path = tmp_path / "cdc-bot.yml"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("CDC_BOT_DATABASE_URL", f"sqlite:///{tmp_path}/state.db")
    assert cli_main(["backup", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    day = datetime.now(SGT).date()
    assert f"s3://{bucket}/nightly/topics-{day:%Y%m%d}.json" in out and "groups" in out
    assert cli_main(["report", "backups", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Backup verification" in out and "A restore would create nothing" in out
    assert cli_main(["backup", "--config", str(path), "--pipeline", "nope"]) == 2


# --- First Monday: security ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def security_setup(sandbox: Sandbox) -> dict[str, Any]:
    client = aws_session(sandbox.aws.endpoint_url)
    iam = client("iam")
    role = _unique("sec-role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    iam.put_role_policy(
        RoleName=role,
        PolicyName="wide-open",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "All", "Effect": "Allow", "Action": "kafka:*", "Resource": "*"},
                    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"},
                    {
                        "Sid": "Cluster",
                        "Effect": "Allow",
                        "Action": ["kafka-cluster:*"],
                        "Resource": "arn:aws:kafka:ap-southeast-1:123456789012:cluster/c/*",
                    },
                    {"Effect": "Deny", "Action": "*", "Resource": "*"},
                ],
            }
        ),
    )
    tag = _unique("sec_project")
    now = datetime.now(UTC)
    s3 = client("s3")
    buckets = {
        "old": (now - timedelta(days=400)).strftime("%Y-%m-%d"),
        "recent": (now - timedelta(days=10)).strftime("%Y-%m-%d"),
        "garbled": "last week",
        "never": None,
    }
    names = {}
    for label, last_used in buckets.items():
        name = _bucket(sandbox, _unique(f"sec-{label}"))
        tags = [{"Key": "Project", "Value": tag}] + ([{"Key": "LastUsed", "Value": last_used}] if last_used else [])
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags})
        names[label] = name
    namespace = _unique("sec")
    rotated = (now - timedelta(days=45)).isoformat()
    sandbox.kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    sandbox.kube.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": "debezium-credentials",
                "namespace": namespace,
                "annotations": {"cdc-bot/rotated-at": rotated},
            },
            "stringData": {"username": "debezium", "password": "not-a-real-one"},
        }
    )
    return {"role": role, "tag": tag, "buckets": names, "namespace": namespace, "old": buckets["old"]}


def _security_pipeline(setup: dict[str, Any]) -> dict[str, Any]:
    return {
        "kubernetes": {"namespace": setup["namespace"]},
        "security": {
            "iam_roles": [
                {"role": setup["role"]},
                {"role": MSK_ROLE, "policies": ["msk-access-policy"]},
                {"role": "no-such-role"},
            ],
            "project_tag_value": setup["tag"],
        },
    }


def test_security_review_figures(make_services: Callable[..., Services], security_setup: dict[str, Any]) -> None:
    services = make_services(_security_pipeline(security_setup))
    report = build_security_report(services)
    item = report.pipelines[0]
    role = security_setup["role"]
    assert [(f.role, f.policy, f.statement, f.problem.split(" (")[0]) for f in item.policies.findings] == [
        (role, "wide-open", "All", "Action `kafka:*`"),
        (role, "wide-open", "All", "Resource `*`"),
        (role, "wide-open", "Cluster", "Action `kafka-cluster:*`"),
        # The runbook's own policy: specific actions, but on every resource.
        (MSK_ROLE, "msk-access-policy", "statement 1", "Resource `*`"),
    ]
    assert item.policies.missing == ["role no-such-role"]
    resources = item.resources
    buckets = security_setup["buckets"]
    assert resources.total == 4
    assert [(r.arn, r.last_used, r.age_days) for r in resources.unused] == [
        (f"arn:aws:s3:::{buckets['old']}", security_setup["old"], 400)
    ]
    assert resources.untagged == [f"arn:aws:s3:::{buckets['never']}"]
    assert [r.arn for r in resources.unreadable] == [f"arn:aws:s3:::{buckets['garbled']}"]
    creds = item.credentials
    assert creds.rotated and creds.due(report.generated_at)
    assert creds.age(report.generated_at).days == 45  # type: ignore[union-attr]
    assert report.status.value == "WARN"


def test_security_button_requests_rotation_through_an_approval(
    make_services: Callable[..., Services],
    security_setup: dict[str, Any],
    start_bot: Callable[[Services], BotServer],
    slack: FakeSlackServer,
) -> None:
    bot = start_bot(make_services(_security_pipeline(security_setup)))
    bot.command("report security")
    posted = _wait_for_blocks(slack, "Security review")
    [button] = [e for b in posted.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["action_id"] == "request_rotate_credentials" and button["value"] == "sandbox"
    # Someone who is not an operator cannot ask.
    bot.press("request_rotate_credentials", "sandbox", "U0RANDOM", posted.answer["ts"])
    denied = slack.wait_for("response_url", timeout=10, predicate=lambda c: "operators" in json.dumps(c.args))
    assert denied[-1].args["response_type"] == "ephemeral"
    bot.press("request_rotate_credentials", "sandbox", "U0OPERATOR", posted.answer["ts"])
    approval = _wait_for_blocks(slack, "Rotate the Debezium database credentials")
    # The approval request is posted in the report's thread, with the usual Approve / Deny.
    assert approval.args["thread_ts"] == posted.answer["ts"]
    ids = {e["action_id"] for b in approval.args["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert {"approval_approve", "approval_deny"} <= ids


# --- Mid-month: DR -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dr_broker() -> Iterator[LocalKafka]:
    with LocalKafka() as broker:
        yield broker


def test_dr_check_reports_the_differences(sandbox: Sandbox, dr_broker: LocalKafka, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    orders, customers, only_prod = f"dr{tag}.orders", f"dr{tag}.customers", f"dr{tag}.only_prod"
    group = f"dr{tag}-app"
    seed_kafka(sandbox.kafka.bootstrap_servers, {orders: 300, customers: 90, only_prod: 30}, group=group)
    seed_kafka(dr_broker.bootstrap_servers, {customers: 90}, group=None)
    seed_kafka(dr_broker.bootstrap_servers, {orders: 240}, group=None, partitions=6)
    commit_offsets(
        dr_broker.bootstrap_servers,
        group,
        {**{(customers, p): 30 for p in range(3)}, **{(orders, p): 30 for p in range(6)}},
    )
    for schema, rows in ((f"drprod{tag}", 50), (f"drdr{tag}", 45)):
        sandbox.redshift.execute(
            f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.orders_stream (id bigint, kafka_timestamp timestamp)"
        )
        sandbox.redshift.execute(
            f"INSERT INTO {schema}.orders_stream SELECT g, now() FROM generate_series(1, {rows}) g"
        )
    data = sandbox.config()
    data["pipelines"] = [
        _merge(
            sandbox.pipeline_config("prod"),
            {
                "topics": [orders, customers, only_prod],
                "consumer_groups": [group],
                "freshness": [{"table": f"drprod{tag}.orders_stream"}],
            },
        ),
        _merge(
            sandbox.pipeline_config("dr"),
            {
                "kafka": {"bootstrap_servers": dr_broker.bootstrap_servers},
                "topics": [orders, customers],
                "consumer_groups": [group],
                "freshness": [{"table": f"drdr{tag}.orders_stream"}],
            },
        ),
    ]
    data["dr"] = {"primary": "prod", "secondary": "dr"}
    services = build_services(Config.model_validate(data), database_url=f"sqlite:///{tmp_path}/state.db")
    report = build_dr_report(services)
    found = [(d.area, d.subject, d.primary, d.secondary) for d in report.differences]
    assert found == [
        ("topics", only_prod, "present", "missing"),
        ("partitions", orders, "3 partitions", "6 partitions"),
        ("records", orders, "300", "240"),
        ("groups", f"{group} on {only_prod}", "30", "missing"),
        ("groups", f"{group} on {orders}", "300", "180"),
        ("rows", "orders_stream", f"drprod{tag}.orders_stream: 50", f"drdr{tag}.orders_stream: 45"),
    ]
    assert report.status.value == "WARN"
    message = report_message(services, "dr")
    assert "DR consistency check: prod vs dr" in json.dumps(message.blocks)


# --- The lag metric and the runbook's alarms ------------------------------------------------------------


def test_lag_metric_reaches_cloudwatch(make_services: Callable[..., Services], sandbox: Sandbox) -> None:
    topic, group = _unique("lag.t"), _unique("lag-group")
    seed_kafka(sandbox.kafka.bootstrap_servers, {topic: 300}, group=group, lag_per_partition={topic: 10})
    services = make_services({"topics": [topic], "consumer_groups": [group, _unique("never-committed")]})
    pipeline = services.config.pipeline()
    result = publish_lag(pipeline, services.clients(pipeline))
    assert result.groups == {group: 30} and len(result.skipped) == 1
    cloudwatch = aws_session(sandbox.aws.endpoint_url)("cloudwatch")
    now = datetime.now(UTC)

    def maximum(dimensions: list[dict[str, str]]) -> list[float]:
        answer = cloudwatch.get_metric_statistics(
            Namespace="CustomMetrics/CDC",
            MetricName="ConsumerLag",
            Dimensions=dimensions,
            StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=1),
            Period=60,
            Statistics=["Maximum"],
        )
        return [p["Maximum"] for p in answer["Datapoints"]]

    assert maximum([{"Name": "ConsumerGroup", "Value": group}]) == [30.0]
    # The dimensionless series the runbook's alarm watches got a datapoint too.
    assert max(maximum([])) >= 30.0


def test_ensure_alarms_creates_the_runbook_definitions_once(
    make_services: Callable[..., Services], sandbox: Sandbox
) -> None:
    services = make_services()
    aws = services.clients(services.config.pipeline()).aws
    suffix = uuid.uuid4().hex[:6]
    definitions = [{**d, "AlarmName": f"{d['AlarmName']}-{suffix}"} for d in RUNBOOK_ALARMS]
    first = ensure_alarms(aws, "sandbox", definitions)
    assert first.created == [d["AlarmName"] for d in definitions] and first.existing == []
    second = ensure_alarms(aws, "sandbox", definitions)
    assert second.created == [] and second.existing == first.created and second.drift == []
    described = aws_session(sandbox.aws.endpoint_url)("cloudwatch").describe_alarms(
        AlarmNames=[d["AlarmName"] for d in definitions]
    )["MetricAlarms"]
    fields = ("AlarmDescription", "MetricName", "Namespace", "Statistic", "Period", "Threshold",
              "ComparisonOperator", "EvaluationPeriods")  # fmt: skip
    by_name = {a["AlarmName"]: a for a in described}
    for definition in definitions:
        assert {f: by_name[definition["AlarmName"]][f] for f in fields} == {f: definition[f] for f in fields}
        assert by_name[definition["AlarmName"]].get("Dimensions", []) == []


def test_slash_alarms_ensure_is_for_operators_and_leaves_existing_alarms(
    make_services: Callable[..., Services],
    sandbox: Sandbox,
    start_bot: Callable[[Services], BotServer],
    slack: FakeSlackServer,
) -> None:
    cloudwatch = aws_session(sandbox.aws.endpoint_url)("cloudwatch")
    names = ["MSK-HighCPU", "CDC-HighConsumerLag"]

    def states() -> dict[str, tuple[str, Any]]:
        alarms = cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
        return {a["AlarmName"]: (a["StateValue"], a["StateUpdatedTimestamp"]) for a in alarms}

    before = states()
    bot = start_bot(make_services())
    bot.command("alarms ensure", user_id="U0RANDOM")
    denied = slack.wait_for("response_url", timeout=10, predicate=lambda c: "operators" in json.dumps(c.args))
    assert denied[-1].args["response_type"] == "ephemeral"
    bot.command("alarms ensure")
    posted = _wait_for_blocks(slack, "already there")
    assert "MSK-HighCPU, CDC-HighConsumerLag" in json.dumps(posted.args["blocks"])
    assert states() == before
    # Plain `/cdc alarms` is still the read-only detail, for anyone.
    bot.command("alarms", user_id="U0RANDOM")
    _wait_for_blocks(slack, "MSK-HighCPU", timeout=20)


def test_slash_schedule_lists_jobs(
    make_services: Callable[..., Services], start_bot: Callable[[Services], BotServer], slack: FakeSlackServer
) -> None:
    bot = start_bot(make_services())
    bot.command("schedule")
    reply = slack.wait_for("response_url", timeout=10, predicate=lambda c: "Scheduled jobs" in json.dumps(c.args))
    text = json.dumps(reply[-1].args)
    assert reply[-1].args["response_type"] == "ephemeral"
    for job in ("morning report", "weekly_performance report", "nightly backup", "consumer lag to CloudWatch"):
        assert job in text
    assert "dr report" not in text  # not scheduled until `dr:` is configured
    assert "0 9 * * mon" in text and "0 2 * * *" in text


def test_every_report_runs_on_the_seeded_sandbox(make_services: Callable[..., Services]) -> None:
    """The runbook's defaults against the seeded pipeline: nothing configured beyond what the sandbox writes."""
    services = make_services()
    texts = {kind: report_text(services, kind) for kind in REPORT_KINDS if kind != "morning"}
    # 8 days × 240 rows a day: the seven whole days in the runbook's window have 240 rows each.
    performance = build_performance_report(services).pipelines[0]
    assert all(d.events == 240 for t in performance.tables for d in t.days[1:-1])
    assert "KafkaDataLogsDiskUsed data" in texts["capacity"]  # the sandbox's broker publishes none
    security = build_security_report(services).pipelines[0]
    assert [(f.role, f.problem.split(" (")[0]) for f in security.policies.findings] == [(MSK_ROLE, "Resource `*`")]
    assert [r.last_used for r in security.resources.unused] == ["2024-01-01"]
    assert security.resources.unused[0].arn.endswith(":demo-rt-the-one-legacy-events")
    assert "Set `dr: {primary: PIPELINE, secondary: PIPELINE}`" in texts["dr"]


def test_config_defaults_and_dr_validation() -> None:
    from bot.core.config import ConfigError, parse_config

    config = parse_config("pipelines: [{name: prod, kafka: {bootstrap_servers: 'b:9092'}}]")
    security = config.pipelines[0].security
    assert [(r.role, r.policies) for r in security.iam_roles] == [
        ("oracle-cdc-pipeline-demo-msk-access-role", ["msk-access-policy"])
    ]
    assert (security.project_tag_key, security.project_tag_value) == ("Project", "demo_rt_the_one")
    assert config.schedules.backup_job == "0 2 * * *" and config.schedules.lag_metric_interval == timedelta(minutes=1)
    assert config.dr is None
    with pytest.raises(ConfigError) as error:
        parse_config(
            "pipelines: [{name: prod, kafka: {bootstrap_servers: 'b:9092'}}]\ndr: {primary: prod, secondary: drr}"
        )
    assert "dr.secondary: no pipeline named 'drr'" in str(error.value)

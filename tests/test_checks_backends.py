"""Health checks against the real local backends: seeded conditions come back as the right verdicts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from confluent_kafka import Producer

from bot.app.cli import main
from bot.checks.base import CHECK_NAMES
from bot.clients.base import TopicInfo
from bot.clients.kafka import ConfluentKafkaAdmin
from bot.core.config import KafkaSettings
from bot.core.results import Status
from bot.sandbox.demo import NAMESPACE, Sandbox, aws_session, commit_offsets, connector_status
from bot.sandbox.kafka_local import LocalKafka
from bot.services import Services

MakeServices = Callable[..., Services]


@pytest.fixture(scope="module")
def lagging_groups(sandbox: Sandbox) -> dict[str, str]:
    """One partition with 150,001 records; one group 50,000 behind, one 150,000 behind."""
    bootstrap = sandbox.kafka.bootstrap_servers
    admin = ConfluentKafkaAdmin(KafkaSettings(bootstrap_servers=bootstrap), "ap-southeast-1")
    assert admin.create_topics([TopicInfo("lag.test", 1, 1)]) == {"lag.test": None}
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 50,
            "batch.num.messages": 10000,
            "queue.buffering.max.messages": 200_000,
        }
    )
    for _ in range(150_000):
        producer.produce("lag.test", value=b'{"op":"c"}')
    producer.flush(60)
    producer.produce("lag.test", value=b'{"op":"c"}')  # alone in its batch: exact end offsets on Tansu
    producer.flush(60)
    commit_offsets(bootstrap, "lag-50k", {("lag.test", 0): 150_001 - 50_000})
    commit_offsets(bootstrap, "lag-150k", {("lag.test", 0): 150_001 - 150_000})
    return {"warn": "lag-50k", "crit": "lag-150k"}


def test_sandbox_pipeline_is_seen_as_seeded(make_services: MakeServices) -> None:
    report = make_services().health()
    by_name = {c.name: c for c in report.checks}
    assert set(by_name) == set(CHECK_NAMES)
    # The sandbox group is ~12,400 behind: above the runbook's 10k baseline, below its 100k SEV2 line.
    assert by_name["consumer_lag"].status is Status.WARN
    assert "pii-masking-app: 12,405 behind (warn > 10,000)" in by_name["consumer_lag"].summary
    assert by_name["connector"].status is Status.OK
    assert by_name["kubernetes_workloads"].status is Status.OK
    assert "pii-masking 3/3 ready" in by_name["kubernetes_workloads"].summary
    assert by_name["data_freshness"].status is Status.OK
    assert by_name["alarms"].status is Status.OK
    assert by_name["redshift_cluster"].status is Status.OK
    # moto keeps new MSK clusters in CREATING: the check must not call that healthy.
    assert by_name["msk_cluster"].status is Status.WARN
    assert "CREATING" in by_name["msk_cluster"].summary
    assert report.status is Status.WARN


def test_lag_thresholds_from_the_runbook(make_services: MakeServices, lagging_groups: dict[str, str]) -> None:
    warn = make_services({"consumer_groups": [lagging_groups["warn"]]}).health(names=["consumer_lag"]).checks[0]
    assert warn.status is Status.WARN
    assert warn.details["groups"]["lag-50k"]["total"] == 50_000
    crit = make_services({"consumer_groups": [lagging_groups["crit"]]}).health(names=["consumer_lag"]).checks[0]
    assert crit.status is Status.CRIT
    assert "lag-150k: 150,000 behind (crit > 100,000)" in crit.summary
    assert crit.details["groups"]["lag-150k"]["topics"] == {"lag.test": 150_000}


def test_group_without_commits_is_reported(make_services: MakeServices) -> None:
    result = make_services({"consumer_groups": ["never-committed"]}).health(names=["consumer_lag"]).checks[0]
    assert result.status is Status.WARN
    assert "no committed offsets" in result.summary


def test_stale_table_past_error_after_is_crit(sandbox: Sandbox, make_services: MakeServices) -> None:
    sandbox.redshift.execute("CREATE TABLE IF NOT EXISTS staging.stale_stream (id int, kafka_timestamp timestamp)")
    sandbox.redshift.execute("TRUNCATE staging.stale_stream")
    sandbox.redshift.execute(
        "INSERT INTO staging.stale_stream VALUES (1, (now() AT TIME ZONE 'UTC') - interval '10 minutes')"
    )
    services = make_services(
        {
            "freshness": [
                {"table": "staging.stale_stream", "warn_after": "2m", "error_after": "5m"},
                {"table": "staging.customers_stream", "warn_after": "5m", "error_after": "15m"},
            ]
        }
    )
    result = services.health(names=["data_freshness"]).checks[0]
    assert result.status is Status.CRIT
    assert result.summary.startswith("staging.stale_stream: 10m")
    assert "(error after 5m)" in result.summary
    fresh = [t for t in result.details["tables"] if t["table"] == "staging.customers_stream"][0]
    assert fresh["status"] == "OK"


def test_missing_table_and_empty_table_are_findings_not_crashes(sandbox: Sandbox, make_services: MakeServices) -> None:
    sandbox.redshift.execute("CREATE TABLE IF NOT EXISTS staging.empty_stream (id int, kafka_timestamp timestamp)")
    services = make_services(
        {
            "freshness": [
                {"table": "staging.no_such_stream"},
                {"table": "staging.empty_stream"},
                {"table": "staging.customers_stream", "column": "no_such_column"},
            ]
        }
    )
    result = services.health(names=["data_freshness"]).checks[0]
    assert result.status is Status.CRIT
    texts = " | ".join(f.text for f in result.findings)
    assert "staging.no_such_stream" in texts and "does not exist" in texts
    assert "staging.empty_stream: empty" in texts
    assert "no_such_column" in texts


def test_failed_connector_task_is_crit_with_its_trace(sandbox: Sandbox, make_services: MakeServices) -> None:
    trace = (
        "org.apache.kafka.connect.errors.ConnectException: ORA-01017: invalid username/password\n"
        "\tat io.debezium.connector.oracle.OracleConnectorTask.start(OracleConnectorTask.java:61)"
    )
    sandbox.kube.put(
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaConnector",
            "metadata": {"name": "failing-connector", "namespace": NAMESPACE},
            "spec": {"class": "io.debezium.connector.oracle.OracleConnector", "tasksMax": 1},
            "status": connector_status("RUNNING", ["FAILED"], trace=trace),
        }
    )
    result = make_services({"kubernetes": {"connector": "failing-connector"}}).health(names=["connector"]).checks[0]
    assert result.status is Status.CRIT
    assert "ORA-01017: invalid username/password" in result.summary
    assert "OracleConnectorTask.java" not in result.summary  # the first line only
    assert result.details["tasks"][0]["state"] == "FAILED"


def test_paused_connector_is_warn_unless_maintenance(sandbox: Sandbox, make_services: MakeServices) -> None:
    sandbox.kube.put(
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaConnector",
            "metadata": {"name": "paused-connector", "namespace": NAMESPACE},
            "spec": {"state": "paused"},
            "status": connector_status("PAUSED", ["PAUSED"]),
        }
    )
    services = make_services({"kubernetes": {"connector": "paused-connector", "maintenance_configmap": "mm-test"}})
    assert services.health(names=["connector"]).checks[0].status is Status.WARN
    sandbox.kube.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "mm-test", "namespace": NAMESPACE},
            "data": {"enabled": "true", "message": "Scheduled maintenance in progress", "started_by": "U0OPERATOR"},
        }
    )
    report = services.health(names=["connector"])
    assert report.checks[0].status is Status.OK
    assert "(maintenance)" in report.checks[0].summary
    assert report.notes and "maintenance window open" in report.notes[0]


def test_deployment_one_of_three_ready_is_not_ok(sandbox: Sandbox, make_services: MakeServices) -> None:
    sandbox.kube.put(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "degraded-streams",
                "namespace": NAMESPACE,
                "annotations": {"sandbox.cdc-bot/controller": "off"},
            },
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "degraded-streams"}},
                "template": {
                    "metadata": {"labels": {"app": "degraded-streams"}},
                    "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
                },
            },
            "status": {"replicas": 3, "readyReplicas": 1, "availableReplicas": 1},
        }
    )
    result = (
        make_services({"kubernetes": {"streams_deployment": "degraded-streams"}})
        .health(names=["kubernetes_workloads"])
        .checks[0]
    )
    assert result.status in (Status.WARN, Status.CRIT)
    assert "degraded-streams 1/3 ready" in result.summary


def test_alarm_in_alarm_state_shows(sandbox: Sandbox, make_services: MakeServices) -> None:
    cloudwatch = aws_session(sandbox.aws.endpoint_url)("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="Test-Firing",
        MetricName="CpuUser",
        Namespace="AWS/Kafka",
        Statistic="Average",
        Period=300,
        Threshold=80.0,
        ComparisonOperator="GreaterThanThreshold",
        EvaluationPeriods=2,
    )
    cloudwatch.set_alarm_state(
        AlarmName="Test-Firing", StateValue="ALARM", StateReason="Threshold Crossed: 2 datapoints [91.2, 88.0] > 80"
    )
    result = make_services({"alarms": ["MSK-HighCPU", "Test-Firing", "Not-Created"]}).health(names=["alarms"]).checks[0]
    assert result.status is Status.CRIT
    assert result.summary == "1 alarm in ALARM: Test-Firing"
    texts = [f.text for f in result.findings]
    assert any(t.startswith("Test-Firing in ALARM since") and "91.2" in t for t in texts)
    assert any("Not-Created: alarm does not exist" in t for t in texts)


def test_broker_down_makes_lag_unknown_within_the_deadline(
    sandbox: Sandbox, tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    doomed = LocalKafka().start()
    doomed.stop()  # a port where no broker answers any more
    config = sandbox.config()
    config["pipelines"][0]["kafka"]["bootstrap_servers"] = doomed.bootstrap_servers
    config["checks"] = {"timeout": "3s"}
    path = f"{tmp_path}/down.yml"
    with open(path, "w") as f:
        yaml.safe_dump(config, f)
    started = time.monotonic()
    code = main(["check", "--config", path, "--format", "json"])
    elapsed = time.monotonic() - started
    report = json.loads(capsys.readouterr().out)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["consumer_lag"]["status"] == "UNKNOWN"
    assert "Kafka" in checks["consumer_lag"]["summary"]
    assert checks["connector"]["status"] == "OK"
    assert checks["data_freshness"]["status"] == "OK"
    assert report["status"] in ("UNKNOWN", "CRIT")
    assert code in (2, 3)
    # Deadline plus process overhead; a hang would take librdkafka's default of a minute.
    assert elapsed < timedelta(seconds=3 + 5).total_seconds()


def test_stale_tables_are_expected_during_a_maintenance_window(sandbox: Sandbox, make_services: MakeServices) -> None:
    sandbox.redshift.execute("CREATE TABLE IF NOT EXISTS staging.paused_stream (id int, kafka_timestamp timestamp)")
    sandbox.redshift.execute("TRUNCATE staging.paused_stream")
    sandbox.redshift.execute(
        "INSERT INTO staging.paused_stream VALUES (1, (now() AT TIME ZONE 'UTC') - interval '40 minutes')"
    )
    services = make_services(
        {"freshness": [{"table": "staging.paused_stream"}], "kubernetes": {"maintenance_configmap": "mm-fresh"}}
    )
    assert services.health(names=["data_freshness"]).checks[0].status is Status.CRIT
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    sandbox.kube.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "mm-fresh", "namespace": NAMESPACE},
            "data": {"enabled": "true", "started_by": "U0OPERATOR", "until": until},
        }
    )
    result = services.health(names=["data_freshness"]).checks[0]
    assert result.status is Status.OK
    assert "(maintenance: expected)" in result.summary
    assert result.findings[0].text.startswith("stale data expected: maintenance window open by U0OPERATOR")

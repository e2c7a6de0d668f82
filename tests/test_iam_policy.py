"""deploy/iam-policy.json (the IRSA role's policy): exactly the AWS actions the bot performs.

tests/conftest.py records every operation the bot's AWS adapter performs against moto during the
suite (a botocore `before-call` handler on every client); at the end of the session an operation
the policy does not allow fails the run, and so does, after the whole suite, an allowed action
nothing performed. The tests here check the policy's shape and the mapping itself.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parent.parent
POLICY_PATH = ROOT / "deploy" / "iam-policy.json"

# botocore service name -> IAM service prefix, where they differ
IAM_PREFIX = {"resourcegroupstaggingapi": "tag"}
# "service:Operation" -> the IAM action that authorizes it, where the names differ
IAM_ACTION = {"s3:ListObjectsV2": "s3:ListBucket"}

# MSK IAM authentication: the Kafka protocol calls of bot/clients/kafka.py, which are not boto3
# operations, so they are mapped here (AWS: "IAM access control for Amazon MSK", actions per API).
# action -> the KafkaAdmin methods that need it (Connect: every connection).
KAFKA_CLUSTER_ACTIONS = {
    "kafka-cluster:Connect": ("broker_count", "list_topics", "sample_messages"),
    "kafka-cluster:DescribeCluster": ("broker_count",),
    "kafka-cluster:DescribeTopic": ("list_topics", "topic_partitions", "end_offsets", "committed_offsets"),
    "kafka-cluster:DescribeTopicDynamicConfiguration": ("topic_configs",),
    "kafka-cluster:DescribeGroup": ("list_groups", "committed_offsets"),
    "kafka-cluster:ReadData": ("sample_messages",),
    "kafka-cluster:CreateTopic": ("create_topics",),
}

# Actions whose Resource must be "*": AWS has no resource-level permission for them.
NO_RESOURCE_LEVEL = {
    "kafka:ListKafkaVersions",
    "redshift:DescribeClusters",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:PutMetricData",  # scoped by the cloudwatch:namespace condition instead
    "tag:GetResources",
}


def load_policy() -> dict[str, Any]:
    return json.loads(POLICY_PATH.read_text())


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allowed_actions(policy: dict[str, Any] | None = None) -> list[str]:
    return [a for s in _statements(policy or load_policy()) if s["Effect"] == "Allow" for a in _as_list(s["Action"])]


def iam_action(operation: str) -> str:
    """ "cloudwatch:PutMetricData" (botocore service:Operation) -> its IAM action."""
    service, name = operation.split(":", 1)
    return IAM_ACTION.get(operation, f"{IAM_PREFIX.get(service, service)}:{name}")


def _allows(patterns: list[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def policy_gaps(operations: dict[str, int]) -> tuple[list[str], list[str]]:
    """(operations the policy does not allow, allowed boto3-level actions no operation used)."""
    patterns = allowed_actions()
    performed = {iam_action(op) for op in operations}
    not_allowed = sorted(f"{op} (needs {iam_action(op)})" for op in operations if not _allows(patterns, iam_action(op)))
    unused = sorted(
        p for p in patterns if not p.startswith("kafka-cluster:") and not any(_allows([p], a) for a in performed)
    )
    return not_allowed, unused


def test_policy_is_valid_json_with_allow_statements_only() -> None:
    policy = load_policy()
    assert policy["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in _statements(policy)]
    assert len(sids) == len(set(sids))
    for statement in _statements(policy):
        assert statement["Effect"] == "Allow"
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource", "Condition"}
        assert not any("*" in a for a in _as_list(statement["Action"])), "no wildcard actions"


def test_resources_are_scoped_wherever_aws_allows() -> None:
    for statement in _statements(load_policy()):
        resources = _as_list(statement["Resource"])
        actions = set(_as_list(statement["Action"]))
        if "*" in resources:
            assert actions <= NO_RESOURCE_LEVEL, f"{statement['Sid']}: {actions - NO_RESOURCE_LEVEL} can be scoped"
        else:
            assert all(r.startswith("arn:aws:") for r in resources)
    metric = next(s for s in _statements(load_policy()) if "cloudwatch:PutMetricData" in _as_list(s["Action"]))
    assert metric["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CustomMetrics/CDC"}}


def test_every_action_names_a_real_operation() -> None:
    """Each boto3-level action is an operation of that service's API (botocore's models), so no typo hides."""
    session = boto3.session.Session(region_name="ap-southeast-1")
    services = {"tag": "resourcegroupstaggingapi"}
    reverse = {v: k for k, v in IAM_ACTION.items()}
    for action in allowed_actions():
        if action.startswith("kafka-cluster:"):
            continue
        operation = reverse.get(action, action)
        prefix, name = operation.split(":", 1)
        model = session._session.get_service_model(services.get(prefix, prefix))
        assert name in model.operation_names, f"{action}: no such {prefix} operation"


def test_msk_iam_data_plane_actions_are_the_kafka_clients_calls() -> None:
    granted = {a for a in allowed_actions() if a.startswith("kafka-cluster:")}
    assert granted == set(KAFKA_CLUSTER_ACTIONS)
    source = (ROOT / "bot" / "clients" / "kafka.py").read_text()
    for methods in KAFKA_CLUSTER_ACTIONS.values():
        for name in methods:
            assert f"def {name}(" in source, f"KafkaAdmin has no {name} any more: update the mapping and the policy"


def test_operation_names_map_to_iam_actions() -> None:
    assert iam_action("kafka:DescribeCluster") == "kafka:DescribeCluster"
    assert iam_action("redshift:GetClusterCredentials") == "redshift:GetClusterCredentials"
    assert iam_action("s3:ListObjectsV2") == "s3:ListBucket"
    assert iam_action("resourcegroupstaggingapi:GetResources") == "tag:GetResources"


def test_gaps_name_an_operation_outside_the_policy_and_an_unused_action() -> None:
    not_allowed, unused = policy_gaps({"kafka:DescribeCluster": 1, "kafka:DeleteCluster": 1})
    assert not_allowed == ["kafka:DeleteCluster (needs kafka:DeleteCluster)"]
    assert "kafka:DescribeCluster" not in unused and "s3:PutObject" in unused


@pytest.mark.parametrize("operation", ["s3:DeleteObject", "iam:PutRolePolicy", "secretsmanager:DeleteSecret"])
def test_destructive_operations_the_bot_never_makes_are_not_allowed(operation: str) -> None:
    assert not _allows(allowed_actions(), iam_action(operation))


def test_the_suite_records_the_bots_aws_operations(make_services: Any) -> None:
    """The recorder in conftest sees the bot's clients (and only through bot/clients/aws.py)."""
    from tests.conftest import AWS_OPERATIONS

    before = AWS_OPERATIONS.get("cloudwatch:DescribeAlarms", 0)
    make_services().health(names=["alarms"])
    assert AWS_OPERATIONS.get("cloudwatch:DescribeAlarms", 0) > before


def test_redshift_iam_auth_gets_temporary_credentials(make_services: Any) -> None:
    """redshift.iam: true: the adapter asks GetClusterCredentials (moto) for a password that lasts 15 minutes."""
    from bot.sandbox.demo import REDSHIFT_CLUSTER

    services = make_services({"redshift": {"iam": True, "cluster_identifier": REDSHIFT_CLUSTER}})
    aws = services.clients(services.config.pipelines[0]).aws
    user, password = aws.redshift_credentials(REDSHIFT_CLUSTER, "cdc_bot_ro", "cdcdemo")
    assert user.endswith("cdc_bot_ro") and password

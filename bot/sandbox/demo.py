"""The sandbox: real local backends seeded with a demo pipeline named like the runbook's.

Kafka is Tansu, AWS is moto's server, Redshift is PostgreSQL behind PgBouncer (what
redshift_connector can talk to), Kubernetes is the in-memory API server. The seed functions
are also what the test suite uses to set up conditions.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import yaml
from confluent_kafka import Consumer, Producer
from confluent_kafka import TopicPartition as KafkaTopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

# The runbook's two alarms, seeded exactly as `/cdc alarms ensure` creates them.
from bot.alarms.runbook_alarms import RUNBOOK_ALARMS
from bot.sandbox.aws_local import SANDBOX_CREDENTIALS, LocalAws
from bot.sandbox.fake_kube import FakeKubeServer
from bot.sandbox.kafka_local import LocalKafka
from bot.sandbox.redshift_local import LocalRedshift

REGION = "ap-southeast-1"
NAMESPACE = "kafka"
MSK_CLUSTER = "oracle-cdc-pipeline-demo-msk"
REDSHIFT_CLUSTER = "oracle-cdc-pipeline-demo-redshift"
BACKUP_BUCKET = "demo-rt-the-one-backups"
EKS_CLUSTER = "debezium-cdc-cluster"
NODEGROUP = "debezium-nodes"
CONNECT_CLUSTER = "debezium-connect-cluster"
CONNECTOR = "oracle-cdc-connector"
STREAMS = "pii-masking"
GROUP = "pii-masking-app"
TOPICS = ["oracle.inventory.customers", "oracle.inventory.products", "oracle.inventory.orders"]
PARTITIONS = 3
MSK_ROLE = "oracle-cdc-pipeline-demo-msk-access-role"
PROJECT_TAG = "demo_rt_the_one"
# One Tansu broker stands in for the MSK cluster, so the sandbox's MSK cluster has one broker too.
SANDBOX_BROKERS = 1

_FIRST = ["Ana", "Ben", "Chloe", "Dev", "Eun-ji", "Farah", "Gopal", "Hana", "Ivan", "Jun"]
_LAST = ["Lim", "Tan", "Ng", "Kumar", "Wong", "Lee", "Ong", "Goh", "Chua", "Teo"]


# --- Kafka -------------------------------------------------------------------------------------


def cdc_event(topic: str, index: int, rng: random.Random) -> dict[str, Any]:
    """A Debezium change event envelope; customers carry PII, as the real topics do."""
    table = topic.rsplit(".", 1)[-1]
    if table == "customers":
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        after: dict[str, Any] = {
            "ID": index,
            "FIRST_NAME": first,
            "LAST_NAME": last,
            "EMAIL": f"{first.lower()}.{last.lower()}{index}@example.com",
            "PHONE": f"+65 9{rng.randint(1000000, 9999999)}",
        }
    elif table == "products":
        after = {"ID": index, "NAME": f"product-{index}", "PRICE": round(rng.uniform(1, 500), 2)}
    else:
        after = {
            "ID": index,
            "CUSTOMER_ID": rng.randint(1, 5000),
            "AMOUNT": round(rng.uniform(5, 900), 2),
            "STATUS": rng.choice(["NEW", "PAID", "SHIPPED"]),
        }
    op = "c" if index % 5 else "u"
    return {
        "before": None if op == "c" else after,
        "after": after,
        "op": op,
        "ts_ms": int(datetime.now(UTC).timestamp() * 1000),
        "source": {
            "connector": "oracle",
            "name": "oracle",
            "schema": "INVENTORY",
            "table": table.upper(),
            "scn": str(1_000_000 + index),
        },
    }


def seed_kafka(
    bootstrap: str,
    counts: dict[str, int],
    group: str | None = GROUP,
    lag_per_partition: dict[str, int] | None = None,
    partitions: int = PARTITIONS,
    seed: int = 7,
) -> dict[tuple[str, int], int]:
    """Create topics, produce CDC events, commit `group` behind the end. Returns the end offsets."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in counts], request_timeout=10
    )
    for future in futures.values():
        future.result(timeout=10)
    rng = random.Random(seed)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    ends: dict[tuple[str, int], int] = {}
    for topic, count in counts.items():
        per_partition = [count // partitions + (1 if p < count % partitions else 0) for p in range(partitions)]
        index = 0
        for p, n in enumerate(per_partition):
            # The last record of each partition is produced alone, after a flush: Tansu reports the
            # end offset as the start of the partition's last batch + 1 (its bug, not Kafka's).
            for _ in range(max(0, n - 1)):
                index += 1
                producer.produce(
                    topic, key=str(index).encode(), value=json.dumps(cdc_event(topic, index, rng)), partition=p
                )
            producer.flush(30)
            if n:
                index += 1
                producer.produce(
                    topic, key=str(index).encode(), value=json.dumps(cdc_event(topic, index, rng)), partition=p
                )
                producer.flush(30)
            ends[(topic, p)] = n
    if group:
        lags = lag_per_partition or {}
        commit_offsets(bootstrap, group, {tp: max(0, end - lags.get(tp[0], 0)) for tp, end in ends.items()})
    return ends


def commit_offsets(bootstrap: str, group: str, offsets: dict[tuple[str, int], int]) -> None:
    """Commit offsets for a group with `assign` + `commit`: immediate, no group join."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[KafkaTopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False)
    finally:
        consumer.close()


# --- AWS ---------------------------------------------------------------------------------------


def aws_session(endpoint_url: str, region: str = REGION) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=SANDBOX_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=SANDBOX_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url)

    return client


def seed_aws(endpoint_url: str, region: str = REGION) -> dict[str, str]:
    """MSK and Redshift clusters, the runbook's alarms, the backups bucket, EKS nodegroup, IAM role."""
    client = aws_session(endpoint_url, region)
    msk = client("kafka").create_cluster(
        ClusterName=MSK_CLUSTER,
        KafkaVersion="3.5.1",
        NumberOfBrokerNodes=SANDBOX_BROKERS,
        BrokerNodeGroupInfo={"InstanceType": "kafka.m5.large", "ClientSubnets": ["subnet-a"]},
    )
    client("redshift").create_cluster(
        ClusterIdentifier=REDSHIFT_CLUSTER,
        NodeType="dc2.large",
        MasterUsername="admin",
        MasterUserPassword="Sandbox-Only-1",
        DBName="cdcdemo",
        ClusterType="multi-node",
        NumberOfNodes=2,
    )
    cloudwatch = client("cloudwatch")
    for alarm in RUNBOOK_ALARMS:
        cloudwatch.put_metric_alarm(**alarm)
        cloudwatch.set_alarm_state(
            AlarmName=alarm["AlarmName"], StateValue="OK", StateReason="Threshold not breached (sandbox seed)"
        )
    client("s3").create_bucket(Bucket=BACKUP_BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    # Project tags for the security review's unused-resource check: the bucket is in use, the queue is not.
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    client("s3").put_bucket_tagging(
        Bucket=BACKUP_BUCKET,
        Tagging={"TagSet": [{"Key": "Project", "Value": PROJECT_TAG}, {"Key": "LastUsed", "Value": today}]},
    )
    client("sqs").create_queue(
        QueueName="demo-rt-the-one-legacy-events", tags={"Project": PROJECT_TAG, "LastUsed": "2024-01-01"}
    )
    iam = client("iam")
    role = iam.create_role(
        RoleName=MSK_ROLE,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]
    iam.put_role_policy(
        RoleName=MSK_ROLE,
        PolicyName="msk-access-policy",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["kafka-cluster:Connect", "kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    eks = client("eks")
    eks.create_cluster(
        name=EKS_CLUSTER, roleArn=role["Arn"], resourcesVpcConfig={"subnetIds": ["subnet-a", "subnet-b"]}
    )
    eks.create_nodegroup(
        clusterName=EKS_CLUSTER,
        nodegroupName=NODEGROUP,
        nodeRole=role["Arn"],
        subnets=["subnet-a", "subnet-b"],
        scalingConfig={"minSize": 2, "maxSize": 10, "desiredSize": 3},
    )
    return {"msk_cluster_arn": msk["ClusterArn"]}


# --- Redshift (PostgreSQL behind PgBouncer) ------------------------------------------------------

STAGING_TABLES = {
    "customers_stream": "id bigint, first_name varchar(64), last_name varchar(64), email varchar(128), op char(1)",
    "products_stream": "id bigint, name varchar(128), price numeric(10,2), op char(1)",
    "orders_stream": "id bigint, customer_id bigint, amount numeric(10,2), status varchar(16), op char(1)",
}


def seed_warehouse(
    redshift: LocalRedshift, newest_age: dict[str, timedelta] | None = None, days: int = 8, rows_per_day: int = 240
) -> None:
    """`staging.*_stream` tables with a week of history; the newest row of each is `newest_age` old."""
    ages = newest_age or {}
    redshift.execute("CREATE SCHEMA IF NOT EXISTS staging")
    for table, columns in STAGING_TABLES.items():
        redshift.execute(f"DROP TABLE IF EXISTS staging.{table}")
        redshift.execute(f"CREATE TABLE staging.{table} ({columns}, kafka_timestamp timestamp)")
        age = ages.get(table, timedelta(seconds=45))
        # One row per `step` over the history, ending exactly `age` ago (timestamps in UTC, like Redshift).
        step = timedelta(days=1) / rows_per_day
        redshift.execute(
            f"INSERT INTO staging.{table} (id, op, kafka_timestamp) "
            "SELECT g, 'c', (now() AT TIME ZONE 'UTC') - %s::interval - (g * %s::interval) "
            "FROM generate_series(0, %s) AS g",
            (f"{int(age.total_seconds())} seconds", f"{step.total_seconds()} seconds", days * rows_per_day - 1),
        )


# --- Kubernetes --------------------------------------------------------------------------------


def seed_kube(
    kube: FakeKubeServer, namespace: str = NAMESPACE, streams_replicas: int = 3, connect_replicas: int = 1
) -> None:
    """The runbook's namespace: the pii-masking deployment, Strimzi Connect pods and KafkaConnector."""
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    kube.put(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": STREAMS, "namespace": namespace, "labels": {"app": STREAMS}},
            "spec": {
                "replicas": streams_replicas,
                "selector": {"matchLabels": {"app": STREAMS}},
                "template": {
                    "metadata": {"labels": {"app": STREAMS}},
                    "spec": {
                        "containers": [
                            {
                                "name": STREAMS,
                                "image": "example/pii-masking:1.4.2",
                                "env": [
                                    {"name": "KAFKA_BATCH_SIZE", "value": "16384"},
                                    {"name": "KAFKA_LINGER_MS", "value": "5"},
                                ],
                            }
                        ]
                    },
                },
            },
        }
    )
    kube.put(
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaConnect",
            "metadata": {
                "name": CONNECT_CLUSTER,
                "namespace": namespace,
                "annotations": {"strimzi.io/use-connector-resources": "true"},
            },
            "spec": {
                "replicas": connect_replicas,
                "version": "3.5.1",
                "bootstrapServers": "msk:9098",
                "build": {
                    "plugins": [
                        {
                            "name": "debezium-oracle",
                            "artifacts": [
                                {
                                    "type": "tgz",
                                    "url": "https://repo1.maven.org/debezium-connector-oracle-2.4.0.Final-plugin.tar.gz",
                                }
                            ],
                        }
                    ]
                },
            },
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "replicas": connect_replicas},
        }
    )
    for index in range(connect_replicas):
        kube.put(connect_pod(namespace, index))
    kube.put(
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaConnector",
            "metadata": {"name": CONNECTOR, "namespace": namespace, "labels": {"strimzi.io/cluster": CONNECT_CLUSTER}},
            "spec": {
                "class": "io.debezium.connector.oracle.OracleConnector",
                "tasksMax": 1,
                "state": "running",
                "config": {
                    "database.hostname": "oracle.example.internal",
                    "database.user": "debezium",
                    "database.password": "${secrets:kafka/debezium-credentials:password}",
                    "topic.prefix": "oracle",
                    "table.include.list": "INVENTORY.CUSTOMERS,INVENTORY.PRODUCTS,INVENTORY.ORDERS",
                },
            },
            "status": connector_status("RUNNING", ["RUNNING"]),
        }
    )
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": "debezium-credentials", "namespace": namespace},
            "stringData": {"username": "debezium", "password": secrets.token_urlsafe(18)},
        }
    )
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"{CONNECT_CLUSTER}-connect-api", "namespace": namespace},
            "spec": {
                "ports": [{"port": 8083, "name": "rest-api"}],
                "selector": {"strimzi.io/cluster": CONNECT_CLUSTER},
            },
        }
    )


def connect_pod(
    namespace: str, index: int, ready: bool = True, waiting_reason: str | None = None, restarts: int = 0
) -> dict[str, Any]:
    name = f"{CONNECT_CLUSTER}-connect-{index}"
    state: dict[str, Any] = (
        {"waiting": {"reason": waiting_reason}}
        if waiting_reason
        else {"running": {"startedAt": datetime.now(UTC).isoformat()}}
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "strimzi.io/cluster": CONNECT_CLUSTER,
                "strimzi.io/kind": "KafkaConnect",
                "strimzi.io/name": f"{CONNECT_CLUSTER}-connect",
            },
            "ownerReferences": [
                {
                    "apiVersion": "core.strimzi.io/v1beta2",
                    "kind": "StrimziPodSet",
                    "name": f"{CONNECT_CLUSTER}-connect",
                    "uid": "podset-1",
                }
            ],
        },
        "spec": {"containers": [{"name": f"{CONNECT_CLUSTER}-connect", "image": "example/debezium-connect:2.4"}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [
                {
                    "name": f"{CONNECT_CLUSTER}-connect",
                    "ready": ready,
                    "restartCount": restarts,
                    "state": state,
                    "image": "example/debezium-connect:2.4",
                    "imageID": "docker-pullable://example/debezium-connect@sha256:5eed",
                }
            ],
        },
    }


def connector_status(state: str, task_states: list[str], trace: str | None = None) -> dict[str, Any]:
    tasks = []
    for task_id, task_state in enumerate(task_states):
        task: dict[str, Any] = {"id": task_id, "state": task_state, "worker_id": "10.0.1.23:8083"}
        if task_state == "FAILED":
            task["trace"] = trace or "org.apache.kafka.connect.errors.ConnectException: failed"
        tasks.append(task)
    ready = state == "RUNNING" and all(t == "RUNNING" for t in task_states)
    return {
        "connectorStatus": {
            "name": CONNECTOR,
            "connector": {"state": state, "worker_id": "10.0.1.23:8083"},
            "tasks": tasks,
            "type": "source",
        },
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "reason": None if ready else "ConnectorNotRunning",
            }
        ],
        "tasksMax": len(task_states),
    }


# --- the whole sandbox --------------------------------------------------------------------------


@dataclass
class Sandbox:
    """All four backends, seeded; `config()` is a cdc-bot config that points at them."""

    # Orders are ~4,000 behind per partition: the group is somewhat behind, as at 9:00 on a busy day.
    counts: dict[str, int] = field(
        default_factory=lambda: {
            "oracle.inventory.customers": 3_000,
            "oracle.inventory.products": 1_200,
            "oracle.inventory.orders": 15_000,
        }
    )
    lag_per_partition: dict[str, int] = field(
        default_factory=lambda: {
            "oracle.inventory.customers": 120,
            "oracle.inventory.products": 15,
            "oracle.inventory.orders": 4_000,
        }
    )
    workdir: Path | None = None
    kafka: LocalKafka = field(default_factory=LocalKafka)
    aws: LocalAws = field(default_factory=LocalAws)
    redshift: LocalRedshift = field(default_factory=LocalRedshift)
    kube: FakeKubeServer = field(default_factory=FakeKubeServer)
    seeded: dict[str, str] = field(default_factory=dict)
    end_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    _owns_workdir: bool = False

    def start(self) -> Sandbox:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="cdc-bot-sandbox-"))
            self._owns_workdir = True
        try:
            self.kafka.start()
            self.aws.start()
            self.kube.start()
            self.redshift.start()
            self.end_offsets = seed_kafka(self.kafka.bootstrap_servers, self.counts, GROUP, self.lag_per_partition)
            self.seeded = seed_aws(self.aws.endpoint_url)
            seed_warehouse(self.redshift)
            seed_kube(self.kube)
            self._write_support_files()
        except BaseException:
            self.stop()
            raise
        return self

    def _write_support_files(self) -> None:
        assert self.workdir is not None
        self.kube.write_kubeconfig(str(self.workdir / "kubeconfig"), context="sandbox", namespace=NAMESPACE)
        password = self.workdir / "redshift-password"
        password.write_text(self.redshift.password)
        password.chmod(0o600)
        credentials = self.workdir / "aws-credentials"
        credentials.write_text(
            "[default]\naws_access_key_id = {AWS_ACCESS_KEY_ID}\n"
            "aws_secret_access_key = {AWS_SECRET_ACCESS_KEY}\n".format(**SANDBOX_CREDENTIALS)
        )
        credentials.chmod(0o600)

    def pipeline_config(self, name: str = "sandbox") -> dict[str, Any]:
        assert self.workdir is not None
        return {
            "name": name,
            "region": REGION,
            "msk_cluster_arn": self.seeded["msk_cluster_arn"],
            "expected_brokers": SANDBOX_BROKERS,
            "kafka": {"bootstrap_servers": self.kafka.bootstrap_servers, "security_protocol": "PLAINTEXT"},
            "aws": {"endpoint_url": self.aws.endpoint_url, "credentials_file": str(self.workdir / "aws-credentials")},
            "redshift": {
                "cluster_identifier": REDSHIFT_CLUSTER,
                "host": self.redshift.host,
                "port": self.redshift.port,
                "database": self.redshift.database,
                "user": self.redshift.user,
                "password_file": str(self.workdir / "redshift-password"),
                "ssl": False,
            },
            "kubernetes": {
                "kubeconfig": str(self.workdir / "kubeconfig"),
                "context": "sandbox",
                "namespace": NAMESPACE,
            },
            "backups": {"bucket": BACKUP_BUCKET, "prefix": "kafka/"},
        }

    def config(self) -> dict[str, Any]:
        return {
            "slack": {
                "ops_channel": "#cdc-pipeline-ops",
                "alerts_channel": "#cdc-pipeline-alerts",
                "timezone": "Asia/Singapore",
            },
            "access": {
                "operators": ["U0OPERATOR", "U0APPROVER", "S0ONCALL"],
                "approvers": ["U0APPROVER", "U0LEAD"],
                "approval_ttl_minutes": 15,
            },
            "pipelines": [self.pipeline_config()],
        }

    def write_config(self, path: str | os.PathLike[str]) -> Path:
        out = Path(path)
        header = "# Written by `cdc-bot sandbox`: points at local backends that live only while it runs.\n"
        out.write_text(header + yaml.safe_dump(self.config(), sort_keys=False))
        return out

    def stop(self) -> None:
        for backend in (self.kube, self.redshift, self.aws, self.kafka):
            try:
                backend.stop()
            except Exception:  # stopping one backend must not leave the others running
                continue
        if self._owns_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class SandboxTraffic(threading.Thread):
    """Keeps a long-running sandbox alive: new change events, the group keeping pace, fresh staging rows.

    Without it a sandbox left running for a quarter of an hour would show stale tables as CRIT,
    which is true of a stopped pipeline but not what a demo of a running one should show.
    """

    def __init__(self, sandbox: Sandbox, interval: float = 5.0, per_partition: int = 20) -> None:
        super().__init__(name="sandbox-traffic", daemon=True)
        self.sandbox, self.interval, self.per_partition = sandbox, interval, per_partition
        self._stopped = threading.Event()
        self._rng = random.Random(11)
        self._producer = Producer({"bootstrap.servers": sandbox.kafka.bootstrap_servers, "linger.ms": 5})

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self.tick()
            except Exception:  # a backend being stopped under us at shutdown; the next tick retries
                continue

    def tick(self) -> None:
        box = self.sandbox
        # Play the pipeline's parts by what the demo cluster says: a paused connector captures
        # nothing new, and a consumer scaled to 0 commits nothing, so maintenance drains for real.
        connector = box.kube.get("kafka.strimzi.io/v1beta2", "KafkaConnector", NAMESPACE, CONNECTOR) or {}
        spec = connector.get("spec") or {}
        paused = str(spec.get("state", "running")).lower() in ("paused", "stopped") or bool(spec.get("pause"))
        self._report_connector_state(connector, paused)
        streams = box.kube.get("apps/v1", "Deployment", NAMESPACE, STREAMS) or {}
        consuming = int((streams.get("spec") or {}).get("replicas", 0) or 0) > 0
        if not paused:
            self._produce()
        if consuming:
            lags = {} if paused else box.lag_per_partition
            commit_offsets(
                box.kafka.bootstrap_servers,
                GROUP,
                {tp: max(0, end - lags.get(tp[0], 0)) for tp, end in box.end_offsets.items()},
            )
        if not paused:
            self._insert_rows()

    def _report_connector_state(self, connector: dict[str, Any], paused: bool) -> None:
        # The sandbox has no Strimzi operator: report the state the spec asks for, as it would.
        if not connector:
            return
        reported = (connector.get("status") or {}).get("connectorStatus") or {}
        state = (reported.get("connector") or {}).get("state")
        wanted = "PAUSED" if paused else "RUNNING"
        if state in ("RUNNING", "PAUSED") and state != wanted:
            task_states = [wanted] * len(reported.get("tasks") or [])
            self.sandbox.kube.put({**connector, "status": connector_status(wanted, task_states or [wanted])})

    def _produce(self) -> None:
        box = self.sandbox
        for (topic, partition), end in sorted(box.end_offsets.items()):
            # The last record of the tick goes alone, so Tansu's end offsets stay exact.
            for chunk in (self.per_partition - 1, 1):
                for i in range(chunk):
                    event = cdc_event(topic, end + i, self._rng)
                    self._producer.produce(topic, value=json.dumps(event), partition=partition)
                self._producer.flush(10)
                end += chunk
            box.end_offsets[(topic, partition)] = end

    def _insert_rows(self) -> None:
        box = self.sandbox
        for table in STAGING_TABLES:
            box.redshift.execute(
                f"INSERT INTO staging.{table} (id, op, kafka_timestamp) "
                "SELECT g, 'c', (now() AT TIME ZONE 'UTC') - (g * interval '1 second') FROM generate_series(0, 4) g"
            )

"""The whole sandbox (all four backends, seeded) and the background traffic that keeps it moving."""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import Producer

from bot.sandbox.aws_local import SANDBOX_CREDENTIALS, LocalAws
from bot.sandbox.demo.aws import seed_aws
from bot.sandbox.demo.kafka import cdc_event, commit_offsets, seed_kafka
from bot.sandbox.demo.kube import connector_status, seed_kube
from bot.sandbox.demo.names import (
    BACKUP_BUCKET,
    CONNECTOR,
    GROUP,
    NAMESPACE,
    REDSHIFT_CLUSTER,
    REGION,
    SANDBOX_BROKERS,
    STREAMS,
)
from bot.sandbox.demo.warehouse import STAGING_TABLES, seed_warehouse
from bot.sandbox.fake_kube import FakeKubeServer
from bot.sandbox.kafka_local import LocalKafka
from bot.sandbox.lifecycle import StartStop
from bot.sandbox.redshift_local import LocalRedshift


@dataclass
class Sandbox(StartStop):
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

"""The sandbox: real local backends seeded with a demo pipeline named like the runbook's.

Kafka is Tansu, AWS is moto's server, Redshift is PostgreSQL behind PgBouncer (what
redshift_connector can talk to), Kubernetes is the in-memory API server. The seed functions
are also what the test suite uses to set up conditions.

One module per backend's seeding (`kafka`, `aws`, `warehouse`, `kube`), the demo's names in
`names`, and the whole `Sandbox` with its background traffic in `sandbox`.
"""

from bot.sandbox.demo.aws import aws_session, seed_aws
from bot.sandbox.demo.kafka import cdc_event, commit_offsets, seed_kafka
from bot.sandbox.demo.kube import connect_pod, connector_status, seed_kube
from bot.sandbox.demo.names import (
    BACKUP_BUCKET,
    CONNECT_CLUSTER,
    CONNECTOR,
    EKS_CLUSTER,
    GROUP,
    MSK_CLUSTER,
    MSK_ROLE,
    NAMESPACE,
    NODEGROUP,
    PARTITIONS,
    PROJECT_TAG,
    REDSHIFT_CLUSTER,
    REGION,
    SANDBOX_BROKERS,
    STREAMS,
    TOPICS,
)
from bot.sandbox.demo.sandbox import Sandbox, SandboxTraffic
from bot.sandbox.demo.warehouse import STAGING_TABLES, seed_warehouse

__all__ = [
    "BACKUP_BUCKET",
    "CONNECTOR",
    "CONNECT_CLUSTER",
    "EKS_CLUSTER",
    "GROUP",
    "MSK_CLUSTER",
    "MSK_ROLE",
    "NAMESPACE",
    "NODEGROUP",
    "PARTITIONS",
    "PROJECT_TAG",
    "REDSHIFT_CLUSTER",
    "REGION",
    "SANDBOX_BROKERS",
    "STAGING_TABLES",
    "STREAMS",
    "Sandbox",
    "SandboxTraffic",
    "TOPICS",
    "aws_session",
    "cdc_event",
    "commit_offsets",
    "connect_pod",
    "connector_status",
    "seed_aws",
    "seed_kafka",
    "seed_kube",
    "seed_warehouse",
]

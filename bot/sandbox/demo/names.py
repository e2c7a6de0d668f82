"""The demo pipeline's names, as in the runbook, shared by the seeders and the sandbox."""

from __future__ import annotations

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

"""AWS seeding: the MSK cluster, Redshift cluster, backup bucket, EKS node group, IAM role and alarms."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3

# The runbook's two alarms, seeded exactly as `/cdc alarms ensure` creates them.
from bot.alarms.runbook_alarms import RUNBOOK_ALARMS
from bot.sandbox.aws_local import SANDBOX_CREDENTIALS
from bot.sandbox.demo.names import (
    BACKUP_BUCKET,
    EKS_CLUSTER,
    MSK_CLUSTER,
    MSK_ROLE,
    NODEGROUP,
    PROJECT_TAG,
    REDSHIFT_CLUSTER,
    REGION,
    SANDBOX_BROKERS,
)


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

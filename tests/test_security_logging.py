"""Secret-bearing AWS calls keep their secrets out of DEBUG logs (botocore logs request and response bodies)."""

from __future__ import annotations

import logging

import pytest

from bot.clients.aws import Boto3Aws
from bot.core.config import AwsSettings
from bot.sandbox.demo import REDSHIFT_CLUSTER, REGION, Sandbox


def test_redshift_iam_password_never_reaches_a_debug_log(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    aws = Boto3Aws(REGION, settings=AwsSettings(**sandbox.pipeline_config()["aws"]))
    caplog.set_level(logging.DEBUG)
    user, password = aws.redshift_credentials(REDSHIFT_CLUSTER, "cdc_bot", "cdcdemo")
    assert password and user.endswith("cdc_bot")
    logged = [r.getMessage() for r in caplog.records]
    # DEBUG was on and botocore did log this call (its endpoint line), so absence below means something.
    assert any("GetClusterCredentials" in line or "get_cluster_credentials" in line.lower() for line in logged)
    leaked = [line for line in logged if password in line]
    assert not leaked, leaked[:1]
    # Outside the sensitive call botocore logs bodies again: the filter is scoped, not a global mute.
    caplog.clear()
    aws.describe_redshift_cluster(REDSHIFT_CLUSTER)
    assert any("Response body" in r.getMessage() for r in caplog.records)

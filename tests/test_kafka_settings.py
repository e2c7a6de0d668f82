"""librdkafka properties from a pipeline's `kafka` settings: what reaches the client for each auth mode."""

from __future__ import annotations

import pytest

from bot.clients.base import BackendError
from bot.clients.kafka import client_properties
from bot.core.config import KafkaSettings


def test_plaintext_and_extra_properties() -> None:
    props = client_properties(
        KafkaSettings(bootstrap_servers="b-1:9092", properties={"socket.keepalive.enable": "true"}), "ap-southeast-1"
    )
    assert props["bootstrap.servers"] == "b-1:9092"
    assert props["security.protocol"] == "PLAINTEXT"
    assert props["socket.keepalive.enable"] == "true"
    assert "sasl.mechanism" not in props


def test_scram_reads_the_password_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = KafkaSettings(
        bootstrap_servers="b-1:9096",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="cdc-bot",
        sasl_password_env="KAFKA_PASSWORD",
        ssl_ca_location="/ca.pem",
    )
    monkeypatch.setenv("KAFKA_PASSWORD", "from-the-environment")
    props = client_properties(settings, "ap-southeast-1")
    assert props["sasl.mechanism"] == "SCRAM-SHA-512"
    assert props["sasl.username"] == "cdc-bot" and props["sasl.password"] == "from-the-environment"
    assert props["ssl.ca.location"] == "/ca.pem"
    monkeypatch.delenv("KAFKA_PASSWORD")
    with pytest.raises(BackendError, match="KAFKA_PASSWORD is not set"):
        client_properties(settings, "ap-southeast-1")


def test_msk_iam_uses_oauthbearer_with_a_token_callback() -> None:
    settings = KafkaSettings(bootstrap_servers="b-1:9098", security_protocol="SASL_SSL", sasl_mechanism="AWS_MSK_IAM")
    props = client_properties(settings, "ap-southeast-1")
    assert props["sasl.mechanism"] == "OAUTHBEARER"
    assert callable(props["oauth_cb"])
    assert "sasl.password" not in props


def test_msk_iam_token_is_signed_locally_for_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import time

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASANDBOXEXAMPLE0")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sandbox-secret")
    settings = KafkaSettings(bootstrap_servers="b-1:9098", security_protocol="SASL_SSL", sasl_mechanism="AWS_MSK_IAM")
    token, expires_at = client_properties(settings, "ap-southeast-1")["oauth_cb"]("")
    url = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    assert url.startswith("https://kafka.ap-southeast-1.amazonaws.com/?Action=kafka-cluster%3AConnect")
    assert expires_at > time.time()

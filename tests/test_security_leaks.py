"""No seeded secret or PII leaves the bot: Slack, DEBUG logs and the state store, end to end.

Every form a security review found leaking is seeded into the real fake Kubernetes API (pod env,
a crash-looping pod's log, the KafkaConnector's config and trace, a Warning event), into a Kafka
topic that is not a Debezium envelope (PII in its field names, a customer id as its key) and
into what an operator types. Then the bot is driven over signed Slack requests: `/cdc health`,
an incident declared (which uploads a snapshot), `/cdc verify` on that topic, a note. None of the
seeded values may appear in any Slack call (files included), in any log record at DEBUG, or in
any row of the state store.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import string
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from bot.clients.base import SampledMessage
from bot.incidents.snapshot import env_value_shown
from bot.incidents.verify import shape
from bot.sandbox.demo import CONNECT_CLUSTER, CONNECTOR, STREAMS, Sandbox, connect_pod, connector_status
from bot.sandbox.fake_slack import FakeSlackServer
from bot.services import Services
from tests.conftest import BotServer

CHANNEL = "C0OPS"
_rng = random.Random()


def _letters(n: int = 10) -> str:
    return "".join(_rng.choices(string.ascii_lowercase, k=n))


def _alnum(n: int) -> str:
    return "".join(_rng.choices(string.ascii_letters + string.digits, k=n))


def _luhn_card() -> str:
    digits = [4] + [_rng.randrange(10) for _ in range(14)]
    total = sum(d if i % 2 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits)))
    number = "".join(map(str, digits)) + str((10 - total % 10) % 10)
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


class Seeds:
    """Fresh values per test run, so that a hit can only come from the seeding."""

    def __init__(self) -> None:
        self.secrets = {
            "flag": "hunter" + _letters(),  # `--password hunter...`: no digit, no symbol
            "glued": "S3cret1" + _letters(),  # `mysql -pS3cret1...`
            "urlencoded": "Hunter2" + _letters(),  # `password%3D...`
            "ghp": "ghp_" + _alnum(36),
            "gho": "gho_" + _alnum(36),
            "github_pat": "github_pat_" + _alnum(22) + "_" + _alnum(59),
            "hex32": "".join(_rng.choices("0123456789abcdef", k=31)) + "a",
            "DB_PW": "dbpw-" + _letters(),
            "DB_CREDS": "debezium:" + _letters(),
            "MASKING_KEY": "mk-" + _letters(),
            "HMAC_KEY": "hmac-" + _letters(),
            "HASH_SALT": "salt-" + _letters(),
            "PII_ENCRYPTION_KEY": "enc-" + _letters(),
            "DATABASE_URL_PASSWORD": "Pg-" + _letters(),
            "connector": "Conn3ct-" + _letters(),
            "typed": "Typed-" + _letters(),
            "jvm": "jks-" + _letters(),
            "record_key": "cust-" + _letters(),
        }
        self.pii = {
            "email": f"{_letters(6)}.tan@example.com",
            "intl_phone": f"+65 9{_rng.randrange(100, 999)} {_rng.randrange(1000, 9999)}",
            "sg_phone": f"8{_rng.randrange(100, 999)} {_rng.randrange(1000, 9999)}",
            "us_phone": f"(555) {_rng.randrange(100, 999)}-{_rng.randrange(1000, 9999)}",
            "nric": f"S{_rng.randrange(1000000, 9999999)}D",
            "ssn": f"{_rng.randrange(100, 899)}-{_rng.randrange(10, 99)}-{_rng.randrange(1000, 9999)}",
            "card": _luhn_card(),
            "name": "Sally" + _letters(6).capitalize(),
        }

    def all(self) -> dict[str, str]:
        return {**self.secrets, **self.pii}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _env(s: Seeds) -> list[dict[str, Any]]:
    return [
        {"name": "KAFKA_BATCH_SIZE", "value": "16384"},  # on the allow-list: shown
        {"name": "KAFKA_HEAP_OPTS", "value": f"-Xmx4g -Xms4g -Djavax.net.ssl.keyStorePassword={s.secrets['jvm']}"},
        {"name": "DB_PW", "value": s.secrets["DB_PW"]},
        {"name": "DB_CREDS", "value": s.secrets["DB_CREDS"]},
        {"name": "MASKING_KEY", "value": s.secrets["MASKING_KEY"]},
        {"name": "HMAC_KEY", "value": s.secrets["HMAC_KEY"]},
        {"name": "HASH_SALT", "value": s.secrets["HASH_SALT"]},
        {"name": "PII_ENCRYPTION_KEY", "value": s.secrets["PII_ENCRYPTION_KEY"]},
        {"name": "DATABASE_URL", "value": f"postgresql://app:{s.secrets['DATABASE_URL_PASSWORD']}@db:5432/app"},
        {"name": "OWNER_EMAIL", "value": s.pii["email"]},
        {"name": "SALT_REF", "valueFrom": {"secretKeyRef": {"name": "masking-salt", "key": "salt"}}},
    ]


def _log(s: Seeds) -> str:
    p, q = s.secrets, s.pii
    return "\n".join(
        [
            "INFO Starting Debezium Oracle connector",
            f"DEBUG exec: mysqladmin --password {p['flag']} -h db status",
            f"DEBUG exec: mysql -uroot -p{p['glued']} -h db",
            f"WARN callback GET /hook?user=bob&password%3D{p['urlencoded']} failed",
            f"DEBUG git clone https://github.com/x/y with {p['ghp']} / {p['gho']} / {p['github_pat']}",
            f"DEBUG datadog api key {p['hex32']}",
            f"ERROR row rejected: customer_name={q['name']} email {q['email']} phone {q['intl_phone']}",
            f"ERROR row rejected: nric {q['nric']} ssn {q['ssn']} card {q['card']}",
            f"ERROR callback to {q['sg_phone']} or {q['us_phone']} failed",
            "ERROR Task threw an uncaught and unrecoverable exception",
        ]
    )


def _seed_kube(sandbox: Sandbox, namespace: str, s: Seeds) -> None:
    kube = sandbox.kube
    kube.put(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": STREAMS, "namespace": namespace, "labels": {"app": STREAMS}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": STREAMS}},
                "template": {
                    "metadata": {"labels": {"app": STREAMS}},
                    "spec": {"containers": [{"name": STREAMS, "image": "example/pii-masking:1.4.2", "env": _env(s)}]},
                },
            },
        }
    )
    kube.put(connect_pod(namespace, 0, ready=False, waiting_reason="CrashLoopBackOff", restarts=3))
    kube.set_pod_log(namespace, f"{CONNECT_CLUSTER}-connect-0", _log(s))
    trace = (
        "org.apache.kafka.connect.errors.DataException: bad row "
        f"customer_name={s.pii['name']}, nric={s.pii['nric']}, contact {s.pii['email']}\n"
        "\tat io.debezium.connector.oracle.OracleConnectorTask.poll(OracleConnectorTask.java:120)"
    )
    kube.put(
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaConnector",
            "metadata": {
                "name": CONNECTOR,
                "namespace": namespace,
                "labels": {"strimzi.io/cluster": CONNECT_CLUSTER},
            },
            "spec": {
                "class": "io.debezium.connector.oracle.OracleConnector",
                "tasksMax": 1,
                "state": "running",
                "config": {
                    "database.user": "debezium",
                    "database.password": s.secrets["connector"],
                    "database.url": f"jdbc:oracle:thin:debezium/{s.secrets['connector']}@oracle:1521/ORCL",
                    "notification.github.token": s.secrets["ghp"],
                    "errors.log.include.messages": "true",
                },
            },
            "status": connector_status("RUNNING", ["FAILED"], trace=trace),
        }
    )
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": unique("rejected"), "namespace": namespace},
            "type": "Warning",
            "reason": "RowRejected",
            "message": f"row for {s.pii['email']} ({s.pii['nric']}) rejected",
            "involvedObject": {"kind": "Pod", "name": f"{CONNECT_CLUSTER}-connect-0", "namespace": namespace},
            "lastTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "count": 2,
        }
    )


def _seed_topic(bootstrap: str, topic: str, s: Seeds) -> None:
    """A topic whose messages are not Debezium envelopes: an `op` that is data, PII as field names."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
        future.result(timeout=10)
    producer = Producer({"bootstrap.servers": bootstrap})
    for _ in range(3):
        value = {
            "op": s.pii["name"],
            "after": {s.pii["email"]: s.pii["nric"]},
            s.pii["email"]: {"phone": s.pii["intl_phone"]},
        }
        producer.produce(topic, key=s.secrets["record_key"].encode(), value=json.dumps(value).encode())
        producer.flush(10)
    producer.produce(topic, key=b"42", value=json.dumps({"op": "c", "after": {"ID": 1}, "before": None}).encode())
    producer.flush(10)


def _everything_slack_saw(slack: FakeSlackServer) -> str:
    files = [f["content"].decode("utf-8", "replace") + f["filename"] + f["title"] for f in slack.uploaded_files]
    return json.dumps([c.args for c in slack.calls], ensure_ascii=False, default=str) + "\n".join(files)


def _state_rows(path: Path) -> str:
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {t: db.execute(f'SELECT * FROM "{t}"').fetchall() for t in tables}
    assert rows, "no tables in the state store"
    return json.dumps(rows, default=lambda v: v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))


def _forms(value: str) -> list[str]:
    """The value, and the parts a partial redaction could leave behind (a card's digits without spaces)."""
    compact = value.replace(" ", "")
    return [value] if compact == value else [value, compact]


def test_seeded_secrets_and_pii_reach_no_slack_call_log_record_or_stored_row(
    sandbox: Sandbox,
    make_services: Callable[..., Services],
    start_bot: Callable[[Services], BotServer],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    seeds = Seeds()
    namespace, topic = unique("leaks"), unique("leaks.inventory.raw")
    _seed_kube(sandbox, namespace, seeds)
    _seed_topic(sandbox.kafka.bootstrap_servers, topic, seeds)
    services = make_services(
        {"kubernetes": {"namespace": namespace}, "topics": [topic]},
        slack={"ops_channel": CHANNEL, "alerts_channel": "#cdc-pipeline-alerts"},
    )
    bot = start_bot(services)
    slack = bot.slack

    assert bot.command("health")[0] == 200
    slack.wait_for("chat.postMessage", predicate=lambda c: "Pipeline sandbox" in json.dumps(c.args), timeout=30)

    typed = f'sev1 "login broken, was password={seeds.secrets["typed"]} for {seeds.pii["email"]}"'
    status, body = bot.command(f"incident declare {typed}")
    assert status == 200 and b"Declaring" in body
    slack.wait_for("files.completeUploadExternal", count=1, timeout=30)

    assert bot.command(f"verify {topic} 5")[0] == 200
    verify = slack.wait_for("chat.postMessage", predicate=lambda c: "latest messages" in json.dumps(c.args), timeout=20)
    shown = json.dumps(verify[-1].args)
    assert "not a Debezium envelope (3 top-level fields)" in shown and "create" in shown and "ID" in shown
    assert "byte key" in shown

    note = f"rotated: old was --password {seeds.secrets['flag']}, caller {seeds.pii['us_phone']} / {seeds.pii['nric']}"
    assert bot.command(f"incident note {note}")[0] == 200
    slack.wait_for("chat.postMessage", predicate=lambda c: "rotated: old was" in json.dumps(c.args), timeout=20)
    time.sleep(0.3)  # the last background posts and their log records

    seen = _everything_slack_saw(slack)
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    stored = _state_rows(tmp_path / "state.db")
    # Each place really holds what was captured, so absence below means something.
    snapshot_file = next(f["content"].decode() for f in slack.uploaded_files if f["filename"].endswith(".txt"))
    assert "KAFKA_BATCH_SIZE=16384" in snapshot_file and "KAFKA_HEAP_OPTS=-Xmx4g -Xms4g [hidden]" in snapshot_file
    assert "DB_PW=[hidden]" in snapshot_file and "secretKeyRef: masking-salt/salt" in snapshot_file
    assert "Task threw an uncaught and unrecoverable exception" in snapshot_file
    assert "DEBUG" in logged and "chat.postMessage" in logged
    assert "DB_PW" in stored and "rotated: old was" in stored

    leaks = [
        (name, where)
        for name, value in seeds.all().items()
        for form in _forms(value)
        for where, text in (("slack", seen), ("logs", logged), ("state store", stored))
        if form in text
    ]
    assert not leaks, leaks


# --- the parts on their own --------------------------------------------------------------------------------------


def test_env_values_are_shown_only_for_tuning_settings() -> None:
    for name in ("KAFKA_BATCH_SIZE", "KAFKA_LINGER_MS", "COMPRESSION_TYPE", "max.poll.records", "NUM_STREAM_THREADS"):
        assert env_value_shown(name), name
    for name in ("KAFKA_HEAP_OPTS", "KAFKA_JVM_PERFORMANCE_OPTS", "JAVA_OPTS"):
        assert env_value_shown(name), name
    for name in ("DB_PW", "DB_CREDS", "MASKING_KEY", "HMAC_KEY", "HASH_SALT", "PII_ENCRYPTION_KEY", "DATABASE_URL"):
        assert not env_value_shown(name), name
    assert not env_value_shown("BATCH_SIZE_SECRET") and not env_value_shown("MY_BATCH_SIZE")


def test_verify_shows_no_key_material_and_no_fields_of_a_non_envelope() -> None:
    numeric = shape(SampledMessage("t", 0, 1, None, b"1234567", json.dumps({"op": "c", "after": {"ID": 1}}).encode()))
    assert (numeric.key_present, numeric.key_length, numeric.key_info) == (True, 7, "7-byte key")
    assert "1234567" not in repr(numeric) and "8bb0cf6e" not in repr(numeric)  # neither the key nor a hash
    foreign = {"op": "ann@example.com", "after": {"ann@example.com": 1}}
    found = shape(SampledMessage("t", 0, 2, None, None, json.dumps(foreign).encode()))
    assert (found.op, found.after_fields, found.note) == (None, None, "not a Debezium envelope (2 top-level fields)")
    assert "ann@example.com" not in repr(found) and found.key_info is None
    extra_field = {"op": "c", "after": {"ID": 1}, "customer": "Sally"}
    assert shape(SampledMessage("t", 0, 3, None, None, json.dumps(extra_field).encode())).after_fields is None

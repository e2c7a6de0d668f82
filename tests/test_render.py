"""Renderers: golden Block Kit for the messages people see, plus the limits Slack enforces.

Regenerate the goldens after an intended change: `UPDATE_GOLDEN=1 python -m pytest tests/test_render.py`,
then review the diff of tests/golden/.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, PlainTextObject, SectionBlock

from bot.core.results import CheckResult, Finding, HealthReport, Status
from bot.render import (
    SlackMessage,
    check_detail_text,
    health_report_text,
    render_check_detail,
    render_error,
    render_health_report,
    render_help,
    render_text,
)
from bot.sandbox.slack_viewer import block_buttons, blocks_to_text

GOLDEN = Path(__file__).parent / "golden"
TZ = "Asia/Singapore"
AT = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 09:00 in Singapore: the morning report


# --- fixtures --------------------------------------------------------------------------------------


def ok(name: str, summary: str, **details: Any) -> CheckResult:
    return CheckResult(name=name, status=Status.OK, summary=summary, duration_ms=40, details=details)


def all_ok_checks() -> list[CheckResult]:
    return [
        ok("msk_cluster", "demo-msk: ACTIVE, 3 brokers, Kafka 3.6.0", state="ACTIVE", brokers=3),
        ok("redshift_cluster", "cdc-demo: available (Available), accepts connections"),
        ok("data_freshness", "3 tables fresh, newest data 42s old at worst"),
        ok("consumer_lag", "pii-masking-app: 120 behind"),
        ok("connector", "oracle-cdc-connector: RUNNING, 1/1 task running"),
        ok("kubernetes_workloads", "pii-masking 2/2 ready, Connect 1/1 pods ready"),
        ok("alarms", "2 of 2 alarms OK"),
    ]


def lag_warn() -> CheckResult:
    return CheckResult(
        name="consumer_lag",
        status=Status.WARN,
        duration_ms=120,
        summary="pii-masking-app: 52,310 behind (warn > 10,000)",
        findings=[
            Finding(
                status=Status.WARN,
                text="pii-masking-app oracle.inventory.orders[2]: 40,000 behind (committed 1,000, end 41,000)",
            ),
            Finding(
                status=Status.WARN,
                text="pii-masking-app oracle.inventory.orders[0]: 12,310 behind (committed 5,000, end 17,310)",
            ),
        ],
    )


def connector_failed() -> CheckResult:
    trace = "org.apache.kafka.connect.errors.ConnectException: ORA-01291: missing logfile <redo03.log>"
    return CheckResult(
        name="connector",
        status=Status.CRIT,
        duration_ms=35,
        summary=f"oracle-cdc-connector: RUNNING, 0/1 task running; task 0 FAILED on 10.0.1.7:8083: {trace}",
        details={
            "connector": "oracle-cdc-connector",
            "state": "RUNNING",
            "requested_state": "running",
            "maintenance": False,
            "ready": "True",
            "tasks": [{"id": 0, "state": "FAILED", "worker_id": "10.0.1.7:8083", "trace": trace}],
        },
        findings=[Finding(status=Status.CRIT, text=f"task 0 FAILED on 10.0.1.7:8083: {trace}")],
    )


def msk_unknown() -> CheckResult:
    return CheckResult(
        name="msk_cluster",
        status=Status.UNKNOWN,
        duration_ms=5000,
        summary="no answer within 5s (backend slow or unreachable)",
    )


def mixed_report() -> HealthReport:
    # Deliberately in registry order, not severity order: the renderer must sort.
    checks = [
        msk_unknown(),
        *[c for c in all_ok_checks() if c.name in ("redshift_cluster", "data_freshness")],
        lag_warn(),
        connector_failed(),
        *[c for c in all_ok_checks() if c.name in ("kubernetes_workloads", "alarms")],
    ]
    return HealthReport.from_checks("prod", checks, 812, generated_at=AT)


def maintenance_report() -> HealthReport:
    checks = [c for c in all_ok_checks() if c.name != "connector"]
    checks.append(ok("connector", "oracle-cdc-connector: PAUSED, 0/1 task running (maintenance)"))
    note = "maintenance window open by U0ALICE until 2026-11-26 03:00 UTC (Oracle patching)"
    return HealthReport.from_checks("prod", checks, 640, generated_at=AT, notes=[note])


def many_findings_report() -> HealthReport:
    findings = [Finding(status=Status.WARN, text=f"pii-masking-{i:02d}: restarted {i + 5} times") for i in range(40)]
    workloads = CheckResult(
        name="kubernetes_workloads",
        status=Status.WARN,
        duration_ms=300,
        findings=findings,
        summary="pii-masking 40/40 ready, Connect 1/1 pods ready",
    )
    checks = [c for c in all_ok_checks() if c.name != "kubernetes_workloads"] + [workloads]
    return HealthReport.from_checks("prod", checks, 900, generated_at=AT)


def big_lag() -> CheckResult:
    """200 partitions across 4 topics, every one behind: the detail must still fit one message."""
    topics = [f"oracle.inventory.{t}" for t in ("customers", "products", "orders", "order_items")]
    partitions = []
    for t_index, topic in enumerate(topics):
        for p in range(50):
            committed = 1_000_000 + p * 1_000
            lag = (t_index + 1) * 1_000 + p * 37
            partitions.append(
                {"topic": topic, "partition": p, "committed": committed, "end": committed + lag, "lag": lag}
            )
    per_topic: dict[str, int] = {}
    for part in partitions:
        per_topic[part["topic"]] = per_topic.get(part["topic"], 0) + part["lag"]
    total = sum(per_topic.values())
    return CheckResult(
        name="consumer_lag",
        status=Status.CRIT,
        duration_ms=150,
        summary=f"pii-masking-app: {total:,} behind (crit > 100,000)",
        details={
            "groups": {
                "pii-masking-app": {"total": total, "topics": per_topic, "partitions": partitions},
                "audit-sink": {"total": None, "topics": {}, "partitions": []},
            },
            "thresholds": {"warn": 10_000, "crit": 100_000},
            "partitions_checked": 200,
        },
    )


def freshness() -> CheckResult:
    return CheckResult(
        name="data_freshness",
        status=Status.CRIT,
        duration_ms=210,
        summary="staging.orders_stream: 22m 5s behind (error after 15m)",
        details={
            "tables": [
                {
                    "table": "staging.customers_stream",
                    "column": "kafka_timestamp",
                    "warn_after": "5m",
                    "error_after": "15m",
                    "status": "OK",
                    "latest_update": "2026-11-26T00:59:18+00:00",
                    "age_seconds": 42,
                },
                {
                    "table": "staging.orders_stream",
                    "column": "kafka_timestamp",
                    "warn_after": "5m",
                    "error_after": "15m",
                    "status": "CRIT",
                    "latest_update": "2026-11-26T00:37:55+00:00",
                    "age_seconds": 1325,
                },
                {
                    "table": "staging.products_stream",
                    "column": "kafka_timestamp",
                    "warn_after": "5m",
                    "error_after": "15m",
                    "status": "CRIT",
                    "error": 'relation "staging.products_stream" does not exist',
                },
            ]
        },
    )


def alarms() -> CheckResult:
    return CheckResult(
        name="alarms",
        status=Status.CRIT,
        duration_ms=90,
        summary="1 alarm in ALARM: CDC-HighConsumerLag",
        details={
            "alarms": [
                {
                    "name": "MSK-HighCPU",
                    "state": "OK",
                    "reason": "Threshold Crossed: 1 datapoint [41.2] was not greater than the threshold (80.0).",
                    "updated_at": "2026-11-25T22:10:00+00:00",
                    "metric": "CpuUser",
                    "threshold": 80.0,
                },
                {
                    "name": "CDC-HighConsumerLag",
                    "state": "ALARM",
                    "reason": "Threshold Crossed: 3 datapoints were greater than the threshold (10000.0).",
                    "updated_at": "2026-11-26T00:40:00+00:00",
                    "metric": "SumOffsetLag",
                    "threshold": 10000.0,
                },
            ]
        },
        findings=[
            Finding(status=Status.CRIT, text="CDC-HighConsumerLag in ALARM since 20m ago: Threshold Crossed"),
            Finding(
                status=Status.WARN, text="CDC-ConnectorDown: alarm does not exist (`/cdc alarms ensure` creates it)"
            ),
        ],
    )


# --- helpers ---------------------------------------------------------------------------------------


def assert_golden(name: str, message: SlackMessage) -> None:
    """Both renderings of one message: `NAME.json` (Block Kit) and `NAME.txt` (CLI and shell text)."""
    assert message.message is not None, f"{name}: the SlackMessage does not carry its neutral Message"
    renderings = {
        GOLDEN / f"{name}.json": json.dumps(message.blocks, indent=2, ensure_ascii=False) + "\n",
        GOLDEN / f"{name}.txt": render_text(message.message) + "\n",
    }
    for path, content in renderings.items():
        if os.environ.get("UPDATE_GOLDEN") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
            continue
        assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 and review it"
        expected = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            assert message.blocks == json.loads(expected), f"{name} differs from {path}; regenerate: UPDATE_GOLDEN=1"
        else:
            assert content == expected, f"{name} differs from {path}; if intended, regenerate with UPDATE_GOLDEN=1"


def assert_within_limits(message: SlackMessage) -> None:
    assert 0 < len(message.blocks) <= 50
    assert 0 < len(message.text) <= 4000
    for block in message.blocks:
        # Round-trip through slack_sdk: its validators are Slack's documented limits.
        Block.parse(block).validate_json()
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150


def texts(message: SlackMessage, kind: str) -> list[str]:
    return [b["text"]["text"] for b in message.blocks if b["type"] == kind and "text" in b]


def everything(message: SlackMessage) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


# --- health report ---------------------------------------------------------------------------------


def test_all_ok_report() -> None:
    report = HealthReport.from_checks("prod", all_ok_checks(), 812, generated_at=AT)
    message = render_health_report(report, tz=TZ)
    assert_within_limits(message)
    assert texts(message, "header") == [":large_green_circle: Pipeline prod: OK"]
    assert message.text == "Pipeline prod: OK, all 7 checks OK"
    assert "Generated 09:00 SGT · 812 ms" in everything(message)
    # Healthy checks get their one line and nothing under it.
    assert all("\n" not in t for t in texts(message, "section"))
    assert_golden("health_all_ok", message)


def test_mixed_report_is_worst_first() -> None:
    message = render_health_report(mixed_report(), tz=TZ)
    assert_within_limits(message)
    assert "CRIT" in texts(message, "header")[0]
    sections = texts(message, "section")
    order = [s.split("*")[1] for s in sections]
    assert order[:3] == ["Debezium connector", "MSK cluster", "Consumer lag"]
    assert sections[0].startswith(":red_circle: *Debezium connector*")
    # Findings only under non-OK checks, and Slack's control characters escaped.
    assert "• task 0 FAILED" in sections[0] and "&lt;redo03.log&gt;" in sections[0]
    assert "• pii-masking-app oracle.inventory.orders[2]: 40,000 behind" in sections[2]
    assert all("\n" not in s for s in sections[3:])
    assert message.text.startswith("Pipeline prod: CRIT — Debezium connector CRIT")
    assert_golden("health_mixed", message)


def test_report_title_and_late_notice() -> None:
    message = render_health_report(
        mixed_report(), title="Morning report", tz=TZ, late="posted 12 minutes late: the scheduler was down"
    )
    assert_within_limits(message)
    assert texts(message, "header") == [":red_circle: Morning report: CRIT"]
    footer = message.blocks[-1]
    assert footer["type"] == "context"
    assert [e["text"] for e in footer["elements"]] == [
        "Pipeline `prod` · Generated 09:00 SGT · 812 ms",
        ":hourglass_flowing_sand: posted 12 minutes late: the scheduler was down",
    ]


def test_maintenance_note() -> None:
    message = render_health_report(maintenance_report(), tz=TZ)
    assert_within_limits(message)
    assert message.blocks[1]["type"] == "context"
    assert "maintenance window open by U0ALICE" in message.blocks[1]["elements"][0]["text"]
    # The note sits above the checks; the first section is still a check line.
    assert message.blocks[2]["type"] == "section"
    assert_golden("health_maintenance", message)


def test_many_findings_are_cut_to_five() -> None:
    message = render_health_report(many_findings_report(), tz=TZ)
    assert_within_limits(message)
    first = texts(message, "section")[0]
    assert first.startswith(":large_yellow_circle: *Kubernetes workloads*")
    assert first.count("\n• ") == 5
    assert first.endswith("…and 35 more")
    assert_golden("health_many_findings", message)


def test_oversized_content_is_cut_not_raised() -> None:
    huge = "x" * 5000
    findings = [Finding(status=Status.CRIT, text=f"{i}: " + "y" * 900) for i in range(5)]
    checks = [
        CheckResult(
            name=f"check_{i}",
            status=Status.CRIT if i == 0 else Status.OK,
            summary=huge,
            findings=findings if i == 0 else [],
        )
        for i in range(80)
    ]
    report = HealthReport.from_checks("prod", checks, 5, generated_at=AT, notes=[huge, huge])
    message = render_health_report(report, title="t" * 400, tz=TZ, late=huge)
    assert_within_limits(message)
    assert len(message.blocks) == 50
    assert "…and 33 more checks" in texts(message, "section")[-1]
    assert "…and" in texts(message, "section")[0]  # the 5 long findings do not all fit in 3000


def test_bad_timezone_falls_back_to_utc() -> None:
    message = render_health_report(
        HealthReport.from_checks("prod", all_ok_checks(), 812, generated_at=AT), tz="Mars/Olympus_Mons"
    )
    assert "Generated 01:00 UTC" in everything(message)


# --- check details ---------------------------------------------------------------------------------


def test_lag_detail_with_200_partitions_stays_within_limits() -> None:
    message = render_check_detail(big_lag(), "prod", tz=TZ)
    assert_within_limits(message)
    assert texts(message, "header") == [":red_circle: Consumer lag on prod: CRIT"]
    body = everything(message)
    table = next(t for t in texts(message, "section") if "```" in t)
    rows = table.split("```")[1].strip("\n").splitlines()
    assert rows[0].split() == ["topic", "partition", "committed", "end", "lag"]
    # Worst partition first, numbers right-aligned with thousands separators.
    assert rows[1].split() == ["oracle.inventory.order_items", "49", "1,049,000", "1,054,813", "5,813"]
    assert len({len(r) for r in rows[1:]}) == 1
    assert table.endswith("…and 180 more rows")
    assert "*audit-sink* — no committed offsets" in body
    assert "warn > 10,000, crit > 100,000" in body
    assert_golden("detail_lag_200", message)


def test_freshness_detail() -> None:
    message = render_check_detail(freshness(), "prod", tz=TZ)
    assert_within_limits(message)
    table = next(t for t in texts(message, "section") if "```" in t)
    assert "staging.orders_stream" in table.splitlines()[2]  # worst first, under the header row
    assert "2026-11-26 08:37 SGT" in table and "22m 5s" in table
    assert any('relation "staging.products_stream" does not exist' in t for t in texts(message, "section"))
    assert_golden("detail_freshness", message)


def test_alarms_detail() -> None:
    message = render_check_detail(alarms(), "prod", tz=TZ)
    assert_within_limits(message)
    first = texts(message, "section")[1]
    assert first.startswith(":red_circle: *CDC-HighConsumerLag* — ALARM since 2026-11-26 08:40 SGT")
    assert "CDC-ConnectorDown: alarm does not exist" in everything(message)
    assert_golden("detail_alarms", message)


def test_connector_detail() -> None:
    message = render_check_detail(connector_failed(), "prod", tz=TZ)
    assert_within_limits(message)
    body = everything(message)
    assert "task 0 *FAILED* on `10.0.1.7:8083`" in body
    assert "ORA-01291" in body
    assert_golden("detail_connector", message)


def test_unknown_check_detail_shows_what_it_has() -> None:
    message = render_check_detail(msk_unknown(), "prod")
    assert_within_limits(message)
    assert texts(message, "section") == ["no answer within 5s (backend slow or unreachable)"]


def test_long_lag_table_in_many_groups() -> None:
    lag = big_lag()
    group = lag.details["groups"]["pii-masking-app"]
    lag.details["groups"] = {f"group-{i:02d}": group for i in range(40)}
    message = render_check_detail(lag, "prod")
    assert_within_limits(message)
    assert "…and 17 more groups" in everything(message)


# --- ephemeral replies -----------------------------------------------------------------------------


def test_error_and_help() -> None:
    error = render_error("No check named `lagg`. Did you mean `consumer_lag`?")
    assert_within_limits(error)
    assert texts(error, "section") == [":warning: No check named `lagg`. Did you mean `consumer_lag`?"]
    help_msg = render_help(
        [
            ("/cdc health [pipeline]", "run every health check"),
            ("/cdc lag", "consumer lag per group, topic and partition"),
        ]
    )
    assert_within_limits(help_msg)
    assert "`/cdc lag` — consumer lag per group, topic and partition" in texts(help_msg, "section")[1]
    assert_golden("help", help_msg)
    long_help = render_help([(f"/cdc cmd{i}", "d" * 200) for i in range(60)])
    assert_within_limits(long_help)
    assert sum(t.count("`/cdc cmd") for t in texts(long_help, "section")) == 60


# --- terminal --------------------------------------------------------------------------------------


def test_health_report_text() -> None:
    text = health_report_text(mixed_report(), tz=TZ)
    lines = text.splitlines()
    assert lines[0] == "Pipeline prod: CRIT (1 CRIT, 1 UNKNOWN, 1 WARN, 4 OK)"
    assert lines[1].startswith("[CRIT] connector ")
    assert re.search(r"^\[WARN\] consumer_lag +pii-masking-app: 52,310 behind \(warn > 10,000\)$", text, re.M)
    assert "    - pii-masking-app oracle.inventory.orders[2]: 40,000 behind" in text
    assert lines[-1] == "Generated 09:00 SGT · 812 ms"  # the same footer as in Slack


def test_health_report_text_cuts_findings() -> None:
    text = health_report_text(many_findings_report())
    assert text.count("    - pii-masking-") == 5
    assert "    …and 35 more" in text


def test_check_detail_text() -> None:
    text = check_detail_text(big_lag(), "prod", tz=TZ)
    assert text.startswith("Consumer lag on prod: CRIT\n")
    assert "…and 180 more rows" in text
    freshness_text = check_detail_text(freshness(), "prod", tz=TZ)
    assert re.search(r"staging\.orders_stream +2026-11-26 08:37 SGT +22m 5s +CRIT", freshness_text)


def test_blocks_to_text_numbers_buttons() -> None:
    blocks = [
        SectionBlock(
            text="*Restart* `pii-masking`? &lt;requested by <@U0ALICE>&gt;",
            accessory=ButtonElement(text="Details", action_id="details", value="1"),
        ).to_dict(),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text=PlainTextObject(text="Approve"), action_id="approval_approve", value="a1", style="primary"
                ),
                ButtonElement(text=PlainTextObject(text="Deny"), action_id="approval_deny", value="a1", style="danger"),
            ]
        ).to_dict(),
    ]
    text = blocks_to_text(blocks)
    assert "[2] Approve  [3] Deny" in text
    assert "[1] Details" in text
    assert "<requested by @U0ALICE>" in text  # entities decoded, mention readable
    assert [b["action_id"] for b in block_buttons(blocks)] == ["details", "approval_approve", "approval_deny"]


def test_blocks_to_text_renders_a_report() -> None:
    text = blocks_to_text(render_health_report(mixed_report(), tz=TZ).blocks)
    assert text.splitlines()[0] == "🔴 Pipeline prod: CRIT"
    assert "🔴 *Debezium connector* — oracle-cdc-connector" in text
    assert "<redo03.log>" in text
    assert "Generated 09:00 SGT · 812 ms" in text


@pytest.mark.parametrize(
    "tz, expected", [("UTC", "01:00 UTC"), ("Asia/Kolkata", "06:30 IST"), ("Asia/Singapore", "09:00 SGT")]
)
def test_generated_time_zone(tz: str, expected: str) -> None:
    text = health_report_text(HealthReport.from_checks("prod", all_ok_checks(), 10, generated_at=AT), tz=tz)
    assert expected in text.splitlines()[-1]

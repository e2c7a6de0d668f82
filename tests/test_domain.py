"""Pure domain logic: lag and freshness verdicts, status ordering, durations, the check runner's deadline."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from bot.checks import run_checks
from bot.checks.base import REGISTRY
from bot.checks.kafka import evaluate_lag
from bot.checks.warehouse import freshness_status
from bot.clients.base import PipelineClients
from bot.core.config import FreshnessRule, KafkaSettings, PipelineConfig, Thresholds
from bot.core.durations import format_duration, parse_duration
from bot.core.results import CheckResult, Status, worst


def test_lag_verdicts_follow_the_runbook_thresholds() -> None:
    thresholds = Thresholds()
    ends = {("t", 0): 60_000, ("t", 1): 60_000}
    result = evaluate_lag(["g"], {"g": {("t", 0): 60_000, ("t", 1): 60_000}}, ends, thresholds)
    assert result.status is Status.OK and result.summary == "g: 0 behind"
    result = evaluate_lag(["g"], {"g": {("t", 0): 30_000, ("t", 1): 60_000}}, ends, thresholds)
    assert result.status is Status.WARN and result.summary == "g: 30,000 behind (warn > 10,000)"
    result = evaluate_lag(["g"], {"g": {("t", 0): 0, ("t", 1): 0}}, ends, thresholds)
    assert result.status is Status.CRIT and result.summary == "g: 120,000 behind (crit > 100,000)"
    assert result.findings[0].text.startswith("g t[0]: 60,000 behind")


def test_lag_edge_cases() -> None:
    thresholds = Thresholds(lag_warn=10, lag_crit=20)
    # Exactly at the threshold is not above it.
    assert evaluate_lag(["g"], {"g": {("t", 0): 0}}, {("t", 0): 10}, thresholds).status is Status.OK
    # A commit past the end (recreated topic) counts as no lag, not negative lag.
    assert evaluate_lag(["g"], {"g": {("t", 0): 50}}, {("t", 0): 10}, thresholds).details["groups"]["g"]["total"] == 0
    # The worst group leads the summary.
    result = evaluate_lag(["a", "b"], {"a": {("t", 0): 9}, "b": {("t", 0): 0}}, {("t", 0): 30}, thresholds)
    assert result.status is Status.CRIT and result.summary.startswith("b: 30 behind")
    # A group without commits is a finding of its own.
    assert "no committed offsets" in evaluate_lag(["x"], {}, {}, thresholds).summary


def test_freshness_thresholds_are_dbt_style() -> None:
    rule = FreshnessRule(table="staging.t", warn_after="5m", error_after="15m")
    assert freshness_status(timedelta(minutes=4), rule) is Status.OK
    assert freshness_status(timedelta(minutes=6), rule) is Status.WARN
    assert freshness_status(timedelta(minutes=16), rule) is Status.CRIT


def test_status_order_and_exit_codes() -> None:
    assert worst([Status.OK, Status.WARN, Status.UNKNOWN]) is Status.UNKNOWN
    assert worst([Status.UNKNOWN, Status.CRIT]) is Status.CRIT
    assert worst([]) is Status.OK
    assert [s.exit_code for s in (Status.OK, Status.WARN, Status.CRIT, Status.UNKNOWN)] == [0, 1, 2, 3]


@pytest.mark.parametrize(("text", "seconds"), [("5m", 300), ("1h30m", 5400), ("45s", 45), ("2d", 172800), (90, 90)])
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


def test_duration_errors_and_formatting() -> None:
    with pytest.raises(ValueError):
        parse_duration("five minutes")
    assert format_duration(timedelta(minutes=4, seconds=12)) == "4m 12s"
    assert format_duration(timedelta(hours=2, minutes=5)) == "2h 5m"
    assert format_duration(timedelta(days=3, hours=4)) == "3d 4h"


def test_a_hung_check_costs_its_deadline_not_the_report() -> None:
    """The runner's own contract: a check that never returns is UNKNOWN at the deadline."""
    pipeline = PipelineConfig(name="p", kafka=KafkaSettings(bootstrap_servers="x:1"))
    original = dict(REGISTRY)
    try:
        REGISTRY["alarms"] = lambda ctx: time.sleep(30) or CheckResult(name="alarms", status=Status.OK, summary="")
        REGISTRY["connector"] = lambda ctx: CheckResult(name="connector", status=Status.OK, summary="fine")
        REGISTRY["consumer_lag"] = lambda ctx: 1 / 0  # a bug in a check
        started = time.monotonic()
        report = run_checks(
            pipeline,
            PipelineClients(None, None, None, None),  # type: ignore[arg-type]
            ["alarms", "connector", "consumer_lag"],
            timeout=0.5,
        )
        assert time.monotonic() - started < 2
    finally:
        REGISTRY.clear()
        REGISTRY.update(original)
    by_name = {c.name: c for c in report.checks}
    assert by_name["alarms"].status is Status.UNKNOWN and "no answer within 0.5s" in by_name["alarms"].summary
    assert by_name["connector"].status is Status.OK
    assert by_name["consumer_lag"].status is Status.UNKNOWN and "ZeroDivisionError" in by_name["consumer_lag"].summary
    assert report.status is Status.UNKNOWN

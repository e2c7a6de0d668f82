"""Config loading and `cdc-bot config validate`: every mistake named with its place in the file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.cli import main
from bot.core.config import ConfigError, UnknownPipeline, load_config, parse_config

MINIMAL = """
pipelines:
  - name: prod
    kafka: {bootstrap_servers: "b-1.msk:9098"}
"""

FIVE_MISTAKES = """
slack:
  timezone: Mars/Olympus
acess:
  operators: [U123]
pipelines:
  - name: prod
    kafka:
      bootsrap_servers: "b-1:9092"
    thresholds:
      lag_warn: lots
    freshness:
      - table: staging.customers_stream
      - table: staging.orders_stream
        warn_after: 5 minutes
schedules:
  morning: "0 25 * * *"
"""


def test_minimal_config_takes_runbook_defaults() -> None:
    config = parse_config(MINIMAL)
    prod = config.pipeline("prod")
    assert prod.topics == ["oracle.inventory.customers", "oracle.inventory.products", "oracle.inventory.orders"]
    assert prod.consumer_groups == ["pii-masking-app"]
    assert prod.thresholds.lag_warn == 10_000 and prod.thresholds.lag_crit == 100_000
    assert prod.kubernetes.namespace == "kafka" and prod.kubernetes.streams_deployment == "pii-masking"
    assert prod.freshness[0].table == "staging.customers_stream"
    assert prod.freshness[0].error_after == timedelta(minutes=15)
    assert config.schedules.morning == "0 9 * * *"
    assert config.slack.ops_channel == "#cdc-pipeline-ops"


def test_durations_and_several_pipelines() -> None:
    config = parse_config("""
pipelines:
  - name: prod
    kafka: {bootstrap_servers: a:9092}
    freshness: [{table: staging.t, warn_after: 90s, error_after: 1h30m}]
  - name: dr
    region: us-west-2
    kafka: {bootstrap_servers: b:9092}
""")
    assert config.pipeline_names == ["prod", "dr"]
    assert config.pipeline("prod").freshness[0].warn_after == timedelta(seconds=90)
    assert config.pipeline("prod").freshness[0].error_after == timedelta(hours=1, minutes=30)
    assert config.pipeline("dr").region == "us-west-2"
    with pytest.raises(UnknownPipeline) as unknown:
        config.pipeline("prd")
    assert "Did you mean `prod`?" in str(unknown.value)


def test_five_mistakes_are_all_named_with_their_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cdc-bot.yml"
    path.write_text(FIVE_MISTAKES.lstrip())
    assert main(["config", "validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "7 problems" in out
    assert "line 2: slack.timezone: unknown time zone 'Mars/Olympus'" in out
    assert "line 3: acess: unknown key (did you mean `access`?)" in out
    assert "pipelines[0].kafka.bootsrap_servers: unknown key (did you mean `bootstrap_servers`?)" in out
    assert "pipelines[0].kafka.bootstrap_servers: required but missing" in out
    assert "line 10: pipelines[0].thresholds.lag_warn: expected a whole number, got 'lots'" in out
    assert "line 14: pipelines[0].freshness[1].warn_after: '5 minutes' is not a duration" in out
    assert "line 16: schedules.morning: '0 25 * * *' is not a crontab expression" in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pipelines: [\n  {name: prod", "not valid YAML"),
        ("", "the file is empty"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("pipelines: []\n", "pipelines: List should have at least 1 item"),
        ("pipelines:\n  - {name: Prod!, kafka: {bootstrap_servers: x}}\n", "pipelines[0].name: 'Prod!'"),
        (
            "pipelines:\n  - {name: a, kafka: {bootstrap_servers: x}}\n  - {name: a, kafka: {bootstrap_servers: y}}\n",
            "pipeline names must be unique; repeated: a",
        ),
        (
            "pipelines:\n  - name: a\n    kafka: {bootstrap_servers: x}\n    freshness: [{table: 'x; drop table y'}]\n",
            "is not a valid table name",
        ),
        (
            "pipelines:\n  - name: a\n    kafka: {bootstrap_servers: x, security_protocol: SASL_SSL}\n",
            "needs sasl_mechanism",
        ),
        (
            "access: {approvers: [jane]}\npipelines:\n  - {name: a, kafka: {bootstrap_servers: x}}\n",
            "'jane' is not a Slack user id",
        ),
        (
            "pipelines:\n  - name: a\n    kafka: {bootstrap_servers: x}\n    thresholds: {lag_warn: 200000}\n",
            "lag_warn must not be above lag_crit",
        ),
    ],
)
def test_each_kind_of_mistake_has_its_own_message(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(text, "cdc-bot.yml")
    assert any(expected in problem for problem in error.value.problems), error.value.problems


def test_missing_file_says_where_config_comes_from(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(str(tmp_path / "nope.yml"))
    assert "config file not found" in error.value.problems[0]
    assert main(["config", "validate", str(tmp_path / "nope.yml")]) == 1
    assert "CDC_BOT_CONFIG" in capsys.readouterr().out


def test_validate_ok_names_the_pipelines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ok.yml"
    path.write_text(MINIMAL)
    assert main(["config", "validate", str(path)]) == 0
    assert "OK (1 pipeline: prod)" in capsys.readouterr().out


def test_config_path_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "env.yml"
    path.write_text(MINIMAL)
    monkeypatch.setenv("CDC_BOT_CONFIG", str(path))
    assert main(["config", "validate"]) == 0
    assert str(path) in capsys.readouterr().out


def test_numeric_weekdays_mean_what_crontab_means() -> None:
    config = parse_config(
        MINIMAL + 'schedules: {weekly_performance: "0 9 * * 1", backups: "0 9 * * 5", dr: "0 9 * * 0"}\n'
    )
    # APScheduler counts 0 as Monday; names keep crontab's meaning (1 = Monday, 0 = Sunday).
    assert config.schedules.weekly_performance == "0 9 * * mon"
    assert config.schedules.backups == "0 9 * * fri"
    assert config.schedules.dr == "0 9 * * sun"


def test_durations_too_long_are_config_errors_not_crashes() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(
            MINIMAL.replace("kafka:", "freshness: [{table: staging.t, error_after: 99999999999d}]\n    kafka:")
        )
    assert any("too long" in p for p in error.value.problems)


def test_config_flag_works_before_the_subcommand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "before.yml"
    path.write_text(MINIMAL)
    assert main(["--config", str(path), "config", "validate"]) == 0
    assert str(path) in capsys.readouterr().out

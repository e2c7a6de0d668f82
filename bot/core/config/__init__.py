"""The YAML config, validated with pydantic, with errors that name the place in the file.

Every name defaults to the runbook's, so a config only has to say what differs. The models live
in one module per section; this package re-exports them so `from bot.core.config import X` stays.
"""

from bot.core.config.base import Duration
from bot.core.config.loading import (
    DEFAULT_CONFIG_PATH,
    ConfigError,
    format_location,
    load_config,
    parse_config,
    resolve_config_path,
)
from bot.core.config.pipeline import (
    AwsSettings,
    BackupSettings,
    EksSettings,
    FreshnessRule,
    IamPolicyRef,
    KafkaSettings,
    KubernetesSettings,
    Limits,
    PipelineConfig,
    RedshiftSettings,
    SecuritySettings,
    Thresholds,
)
from bot.core.config.schedules import Cron, Schedules, crontab_weekdays_as_names
from bot.core.config.settings import (
    AccessSettings,
    ActionsSettings,
    ChecksSettings,
    Config,
    Contacts,
    DrSettings,
    MaintenanceSettings,
    SlackSettings,
    UnknownPipeline,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "AccessSettings",
    "ActionsSettings",
    "AwsSettings",
    "BackupSettings",
    "ChecksSettings",
    "Config",
    "ConfigError",
    "Contacts",
    "Cron",
    "DrSettings",
    "Duration",
    "EksSettings",
    "FreshnessRule",
    "IamPolicyRef",
    "KafkaSettings",
    "KubernetesSettings",
    "Limits",
    "MaintenanceSettings",
    "PipelineConfig",
    "RedshiftSettings",
    "Schedules",
    "SecuritySettings",
    "SlackSettings",
    "Thresholds",
    "UnknownPipeline",
    "crontab_weekdays_as_names",
    "format_location",
    "load_config",
    "parse_config",
    "resolve_config_path",
]

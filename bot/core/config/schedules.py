"""When the scheduled reports and jobs run: crontab expressions, checked as APScheduler reads them."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator

from bot.core.config.base import ConfigModel, Duration

_DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def crontab_weekdays_as_names(value: str) -> str:
    """Numeric weekdays as crontab means them (0 and 7 Sunday), written as names.

    APScheduler counts 0 as Monday, so `0 9 * * 1` would fire on Tuesdays; names mean the same
    to both.
    """
    fields = value.split()
    if len(fields) != 5:
        return value

    def name(token: str) -> str:
        if not token.isdigit() or not 0 <= int(token) <= 7:
            raise ValueError(f"day of week {token!r} is not 0-7 or a name (mon, tue, ...)")
        return _DAY_NAMES[int(token)]

    parts = []
    for part in fields[4].split(","):
        base, _, step = part.partition("/")
        if base != "*" and any(c.isdigit() for c in base):
            low, _, high = base.partition("-")
            base = name(low) + (f"-{name(high)}" if high else "")
        parts.append(base + (f"/{step}" if step else ""))
    return " ".join([*fields[:4], ",".join(parts)])


def _valid_cron(value: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    if not isinstance(value, str):
        raise ValueError('expected a crontab expression like "0 9 * * mon"')
    try:
        value = crontab_weekdays_as_names(value)
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a crontab expression ({exc})") from None
    return value


Cron = Annotated[str, BeforeValidator(_valid_cron)]


class Schedules(ConfigModel):
    morning: Cron = "0 9 * * *"
    weekly_performance: Cron = "0 9 * * mon"
    capacity: Cron = "0 9 * * wed"
    backups: Cron = "0 9 * * fri"
    security: Cron = "0 9 1-7 * mon"
    dr: Cron = "0 9 15 * *"
    backup_job: Cron = "0 2 * * *"
    # A report whose time was missed (bot down) is still posted, marked late, within this grace.
    misfire_grace: Duration = timedelta(minutes=30)
    # Consumer lag goes to CloudWatch this often, so the runbook's CDC-HighConsumerLag alarm has data.
    lag_metric_interval: Duration = timedelta(minutes=1)
    # With several replicas, the one holding this lease in the state store runs the jobs; renewed at a third.
    leader_lease: Duration = timedelta(seconds=30)

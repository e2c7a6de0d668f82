"""APScheduler jobs that call the same services and renderers as the slash commands.

Jobs live in the state database (SQLAlchemyJobStore on the store's engine), in the configured
time zone, with a misfire grace and coalescing: after a restart a job whose time passed within
the grace runs once, late. Only the replica holding the leader lease runs a scheduler at all
(`scheduler.leader`); the others start theirs when they take the lease over. Every scheduled post
is also claimed per scheduled time in the state store (`run_due_report`), so neither a restart
nor a change of leader posts anything twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.services import Services
from scheduler.jobs import (
    GRACE_OVERRIDES,
    INSTANCE_ID,
    REPORTS,
    SchedulerRuntime,
    register_runtime,
    unregister_runtime,
)
from scheduler.leader import LeaderElector

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
JOBS_TABLE = "apscheduler_jobs"
REPORT_FUNC = "scheduler.jobs:scheduled_report"
LAG_FUNC = "scheduler.jobs:publish_lag_job"
LAG_GRACE = timedelta(seconds=30)
EXPIRE_FUNC = "scheduler.jobs:expire_approvals_job"
EXPIRE_EVERY = timedelta(seconds=30)
OUTBOX_FUNC = "scheduler.jobs:deliver_outbox_job"
# Posts waiting in the outbox are tried this often (each also waits its own backoff).
OUTBOX_EVERY = timedelta(seconds=15)


@dataclass(frozen=True)
class JobSpec:
    id: str
    name: str
    func: str
    args: tuple[Any, ...]
    trigger: BaseTrigger
    grace_seconds: int
    schedule: str  # as configured, for `/cdc schedule`


def scheduled_kinds(services: Services) -> list[str]:
    # The DR check needs two pipelines to compare: not scheduled until `dr:` is configured.
    return [kind for kind in REPORTS if kind != "dr" or services.config.dr is not None]


def job_specs(services: Services, lease: str = LEASE_NAME) -> list[JobSpec]:
    config = services.config
    tz = config.slack.tz
    grace = int(config.schedules.misfire_grace.total_seconds())
    specs = []
    for kind in scheduled_kinds(services):
        cron = getattr(config.schedules, kind)
        kind_grace = max(grace, int(GRACE_OVERRIDES.get(kind, timedelta(0)).total_seconds()))
        specs.append(
            JobSpec(
                f"report:{kind}",
                f"{kind} report" if kind != "backup_job" else "nightly backup",
                REPORT_FUNC,
                (lease, kind),
                CronTrigger.from_crontab(cron, timezone=tz),
                kind_grace,
                cron,
            )
        )
    every = config.schedules.lag_metric_interval
    specs.append(
        JobSpec(
            "lag-metric",
            "consumer lag to CloudWatch",
            LAG_FUNC,
            (lease,),
            IntervalTrigger(seconds=max(1, int(every.total_seconds())), timezone=tz),
            int(LAG_GRACE.total_seconds()),
            f"every {int(every.total_seconds())}s",
        )
    )
    specs.append(
        JobSpec(
            "expire-approvals",
            "expire approval requests past their time",
            EXPIRE_FUNC,
            (lease,),
            IntervalTrigger(seconds=int(EXPIRE_EVERY.total_seconds()), timezone=tz),
            int(EXPIRE_EVERY.total_seconds()),
            f"every {int(EXPIRE_EVERY.total_seconds())}s",
        )
    )
    specs.append(
        JobSpec(
            "outbox",
            "retry scheduled posts Slack did not take",
            OUTBOX_FUNC,
            (lease,),
            IntervalTrigger(seconds=int(OUTBOX_EVERY.total_seconds()), timezone=tz),
            int(OUTBOX_EVERY.total_seconds()),
            f"every {int(OUTBOX_EVERY.total_seconds())}s",
        )
    )
    return specs


@dataclass
class JobRunner:
    """This process's part in scheduling: a leader elector, and a scheduler while it leads.

    Built by the app's wiring; nothing runs (no thread, no lease) until `start()`.
    """

    runtime: SchedulerRuntime
    lease: str = LEASE_NAME
    jobs_table: str = JOBS_TABLE
    identity: str = INSTANCE_ID
    scheduler: BackgroundScheduler | None = field(default=None, init=False)
    elector: LeaderElector | None = field(default=None, init=False)

    @property
    def services(self) -> Services:
        return self.runtime.services

    @property
    def is_leader(self) -> bool:
        return self.elector is not None and self.elector.leading

    def start(self) -> JobRunner:
        self.elector = LeaderElector(
            self.services.store,
            self.lease,
            self.identity,
            self.services.config.schedules.leader_lease,
            self._start_leading,
            self._stop_leading,
        ).start()
        return self

    def _start_leading(self) -> None:
        register_runtime(self.lease, self.runtime)
        scheduler = BackgroundScheduler(
            timezone=self.services.config.slack.tz,
            jobstores={"default": SQLAlchemyJobStore(engine=self.services.store.engine, tablename=self.jobs_table)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        # Paused first: jobs already in the store are reconciled before any of them can fire.
        scheduler.start(paused=True)
        specs = job_specs(self.services, self.lease)
        wanted = {spec.id for spec in specs}
        for job in scheduler.get_jobs():
            if job.id not in wanted and not job.id.startswith("catch-up:"):
                job.remove()
        for spec in specs:
            existing = scheduler.get_job(spec.id)
            # An unchanged job keeps its stored next run time: a time missed while no replica led
            # then fires once, late, within its misfire grace.
            if existing is not None and _same(existing, spec):
                continue
            scheduler.add_job(
                spec.func,
                spec.trigger,
                args=list(spec.args),
                id=spec.id,
                name=spec.name,
                misfire_grace_time=spec.grace_seconds,
                replace_existing=True,
            )
        # Catch up a post missed while no replica ran (within the grace); the claim prevents doubles.
        now = datetime.now(UTC)
        for kind in scheduled_kinds(self.services):
            scheduler.add_job(
                REPORT_FUNC,
                DateTrigger(run_date=now, timezone=UTC),
                args=[self.lease, kind],
                id=f"catch-up:{kind}",
                name=f"{kind} catch-up",
                misfire_grace_time=int(self.services.config.schedules.misfire_grace.total_seconds()),
                replace_existing=True,
            )
        scheduler.resume()
        self.scheduler = scheduler

    def _stop_leading(self) -> None:
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        unregister_runtime(self.lease, self.runtime)

    def get_jobs(self) -> list[Job]:
        """The jobs this process runs: all of them on the leader, none elsewhere."""
        return self.scheduler.get_jobs() if self.scheduler is not None else []

    def shutdown(self, wait: bool = False) -> None:
        if self.elector is not None:
            self.elector.stop()
        else:
            self._stop_leading()


def _same(job: Job, spec: JobSpec) -> bool:
    return (
        str(job.trigger) == str(spec.trigger)
        and tuple(job.args) == spec.args
        and job.func_ref == spec.func
        and job.misfire_grace_time == spec.grace_seconds
    )


@dataclass(frozen=True)
class ScheduleRow:
    job: str
    schedule: str
    next_run: datetime | None
    last_run: str


def schedule_overview(
    services: Services, lease: str = LEASE_NAME, now: datetime | None = None
) -> tuple[list[ScheduleRow], str]:
    """Every scheduled job with its next and last run, and who leads; readable on any replica."""
    now = now or datetime.now(UTC)
    tz = services.config.slack.tz
    outcomes = services.store.report_runs.latest_by_kind()
    rows = []
    for spec in job_specs(services, lease):
        next_run = spec.trigger.get_next_fire_time(None, now.astimezone(tz))
        kind = spec.args[1] if len(spec.args) > 1 else None
        run = outcomes.get(kind) if kind else None
        last = f"{run.scheduled_for.astimezone(tz):%Y-%m-%d %H:%M} {run.outcome or 'running'}" if run else ""
        rows.append(ScheduleRow(spec.name, spec.schedule, next_run, last))
    holder = services.store.lease(lease)
    if holder is None:
        leader = "No replica has led the scheduler yet"
    elif holder.expires_at <= now:
        leader = f"No leader now (the last, {holder.holder}, let its lease expire)"
    else:
        leader = f"Jobs run on {holder.holder} (lease renewed {holder.renewed_at.astimezone(tz):%H:%M:%S})"
    return rows, leader

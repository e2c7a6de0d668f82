"""Monday performance review: the runbook's 7-day SQL per staging table, week over week, against the baseline.

The runbook's `avg_lag_seconds` is `CURRENT_TIMESTAMP - kafka_timestamp` averaged over a day's rows:
how old those rows are when the report runs, not how long they took to arrive. The tables carry no
source timestamp, so end-to-end latency cannot be measured from them; the report shows the age of
the newest row (the freshness lag) as the closest figure to the baseline's "< 1 s", and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.clients.base import BackendError, PipelineClients, Warehouse
from bot.core.config import FreshnessRule, PipelineConfig
from bot.reports.pipelines import PipelinesReport, for_each_pipeline
from bot.services import Services

# Performance Tuning Guide → Baseline Metrics.
BASELINE_RECORDS_PER_SECOND = 100_000
BASELINE_LATENCY_SECONDS = 1.0

# The runbook's weekly-performance.sql, for one table (identifiers are validated by the config).
RUNBOOK_SQL = """WITH daily_stats AS (
  SELECT
    DATE_TRUNC('day', {column}) as day,
    COUNT(*) as events_processed,
    AVG(EXTRACT(EPOCH FROM (CURRENT_TIMESTAMP - {column}))) as avg_lag_seconds
  FROM {table}
  WHERE {column} > CURRENT_DATE - INTERVAL '7 days'
  GROUP BY 1
)
SELECT * FROM daily_stats ORDER BY day"""

# The week before, for the week-over-week change, and the newest row's age, in one scan.
CONTEXT_SQL = """SELECT
  SUM(CASE WHEN {column} <= CURRENT_DATE - INTERVAL '7 days' THEN 1 ELSE 0 END) AS previous_week,
  EXTRACT(EPOCH FROM (CURRENT_TIMESTAMP - MAX({column}))) AS newest_age_seconds
FROM {table}
WHERE {column} > CURRENT_DATE - INTERVAL '14 days'"""


@dataclass
class DailyStats:
    day: date
    events: int
    avg_lag_seconds: float | None


@dataclass
class TablePerformance:
    table: str
    days: list[DailyStats] = field(default_factory=list)
    previous_week: int | None = None
    newest_age_seconds: float | None = None
    error: str | None = None

    @property
    def this_week(self) -> int:
        return sum(d.events for d in self.days)

    @property
    def change(self) -> float | None:
        """Week-over-week change of events, as a fraction; None without a previous week to compare."""
        if not self.previous_week:
            return None
        return (self.this_week - self.previous_week) / self.previous_week


@dataclass
class PipelinePerformance:
    pipeline: str
    tables: list[TablePerformance] = field(default_factory=list)
    error: str | None = None

    @property
    def busiest_day(self) -> tuple[date, int] | None:
        totals: dict[date, int] = {}
        for table in self.tables:
            for d in table.days:
                totals[d.day] = totals.get(d.day, 0) + d.events
        if not totals:
            return None
        day = max(totals, key=lambda k: totals[k])
        return day, totals[day]

    @property
    def worst_newest_age(self) -> float | None:
        ages = [t.newest_age_seconds for t in self.tables if t.newest_age_seconds is not None]
        return max(ages) if ages else None


@dataclass
class PerformanceReport(PipelinesReport[PipelinePerformance]):
    """The week's figures per pipeline; no status: it compares, it does not judge."""


def _day(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


def table_performance(warehouse: Warehouse | None, rule: FreshnessRule) -> TablePerformance:
    result = TablePerformance(table=rule.table)
    if warehouse is None:
        result.error = "no redshift configured"
        return result
    try:
        rows = warehouse.query(RUNBOOK_SQL.format(table=rule.table, column=rule.column)).rows
        result.days = [
            DailyStats(_day(day), int(events), float(lag) if lag is not None else None) for day, events, lag in rows
        ]
        context = warehouse.query(CONTEXT_SQL.format(table=rule.table, column=rule.column)).rows[0]
        result.previous_week = int(context[0]) if context[0] is not None else 0
        result.newest_age_seconds = float(context[1]) if context[1] is not None else None
    except BackendError as exc:
        result.error = str(exc)
    return result


def build_performance_report(
    services: Services,
    pipelines: list[str] | None = None,
    now: datetime | None = None,
    late_by: timedelta | None = None,
) -> PerformanceReport:

    def performance(pipeline: PipelineConfig, clients: PipelineClients) -> PipelinePerformance:
        item = PipelinePerformance(pipeline=pipeline.name)
        if pipeline.redshift is None:
            item.error = "no redshift configured"
        else:
            item.tables = [table_performance(clients.warehouse, rule) for rule in pipeline.freshness]
        return item

    results = for_each_pipeline(services, pipelines, performance)
    return PerformanceReport(generated_at=now or datetime.now(UTC), pipelines=results, late_by=late_by)

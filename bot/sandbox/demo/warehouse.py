"""Redshift seeding: the staging tables the freshness checks read."""

from __future__ import annotations

from datetime import timedelta

from bot.sandbox.redshift_local import LocalRedshift

STAGING_TABLES = {
    "customers_stream": "id bigint, first_name varchar(64), last_name varchar(64), email varchar(128), op char(1)",
    "products_stream": "id bigint, name varchar(128), price numeric(10,2), op char(1)",
    "orders_stream": "id bigint, customer_id bigint, amount numeric(10,2), status varchar(16), op char(1)",
}


def seed_warehouse(
    redshift: LocalRedshift, newest_age: dict[str, timedelta] | None = None, days: int = 8, rows_per_day: int = 240
) -> None:
    """`staging.*_stream` tables with a week of history; the newest row of each is `newest_age` old."""
    ages = newest_age or {}
    redshift.execute("CREATE SCHEMA IF NOT EXISTS staging")
    for table, columns in STAGING_TABLES.items():
        redshift.execute(f"DROP TABLE IF EXISTS staging.{table}")
        redshift.execute(f"CREATE TABLE staging.{table} ({columns}, kafka_timestamp timestamp)")
        age = ages.get(table, timedelta(seconds=45))
        # One row per `step` over the history, ending exactly `age` ago (timestamps in UTC, like Redshift).
        step = timedelta(days=1) / rows_per_day
        redshift.execute(
            f"INSERT INTO staging.{table} (id, op, kafka_timestamp) "
            "SELECT g, 'c', (now() AT TIME ZONE 'UTC') - %s::interval - (g * %s::interval) "
            "FROM generate_series(0, %s) AS g",
            (f"{int(age.total_seconds())} seconds", f"{step.total_seconds()} seconds", days * rows_per_day - 1),
        )

"""Small helpers the report views share: short table names, day labels, capped lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

# Lines of one list shown before "…and N more": a report is a summary, the details are a command away.
LIST_CAP = 10


def short_table(table: str) -> str:
    return table.rsplit(".", 1)[-1]


def day_label(value: date) -> str:
    return f"{value:%a %d %b}"


def percent(value: float) -> str:
    return f"{value:+.1%}"


def capped(lines: Sequence[str], cap: int = LIST_CAP, noun: str = "") -> list[str]:
    shown = list(lines[:cap])
    if len(lines) > cap:
        shown.append(f"…and {len(lines) - cap} more{' ' + noun if noun else ''}")
    return shown

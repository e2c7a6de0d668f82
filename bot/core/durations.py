"""Human durations (`5m`, `1h30m`, `45s`) as used in the config and in slash commands."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


MAX_DURATION = timedelta(days=366)


def parse_duration(value: object) -> timedelta:
    """Parse `5m`, `1h30m`, `90s`, `2d` or a bare number of seconds (up to a year)."""
    try:
        parsed = _parse(value)
    except OverflowError:
        raise ValueError(f"{value!r} is too long; the longest duration is 366d") from None
    if parsed > MAX_DURATION:
        raise ValueError(f"{value!r} is too long; the longest duration is 366d")
    return parsed


def _parse(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration like 5m, 1h or 30s")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError("expected a duration like 5m, 1h or 30s")
    text = value.strip().lower().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return timedelta(seconds=float(text))
    pos, seconds = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"{value!r} is not a duration; use forms like 5m, 1h30m, 30s or 2d")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta | float) -> str:
    """Short human form: `4m 12s`, `2h 5m`, `3d 4h`; what people read in Slack."""
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 1:
        return f"{sign}{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{sign}{seconds:.0f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{sign}{minutes}m {secs}s" if secs else f"{sign}{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{sign}{hours}h {minutes}m" if minutes else f"{sign}{hours}h"
    days, hours = divmod(hours, 24)
    return f"{sign}{days}d {hours}h" if hours else f"{sign}{days}d"

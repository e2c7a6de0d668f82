"""What every config section shares: strict frozen models, durations and SQL identifier checks."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from bot.core.durations import format_duration, parse_duration

Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda d: format_duration(d).replace(" ", ""), return_type=str),
]

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
PIPELINE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def check_identifier(value: str, what: str) -> str:
    # Table and column names are interpolated into SQL (identifiers cannot be bound), so
    # only plain identifiers are accepted.
    parts = value.split(".")
    if len(parts) > 2 or not all(IDENTIFIER.fullmatch(p) for p in parts):
        raise ValueError(f"{value!r} is not a valid {what} (letters, digits, _ and an optional schema.)")
    return value


class ConfigModel(BaseModel):
    # Unknown keys are errors (a typo must not be silently ignored); loaded config never changes.
    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=True)

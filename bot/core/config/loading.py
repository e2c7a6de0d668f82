"""Reading the YAML file and turning pydantic's errors into lines that name the place in the file."""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bot.core.config.settings import Config

DEFAULT_CONFIG_PATH = "cdc-bot.yml"


class ConfigError(Exception):
    """A config that cannot be used; `problems` holds one readable line per mistake."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        super().__init__(f"{path}: " + "; ".join(problems))


def resolve_config_path(explicit: str | None = None) -> str:
    return explicit or os.environ.get("CDC_BOT_CONFIG") or DEFAULT_CONFIG_PATH


def load_config(path: str | None = None) -> Config:
    path = resolve_config_path(path)
    file = Path(path)
    if not file.exists():
        raise ConfigError(
            path,
            [
                "config file not found. Pass --config PATH, set CDC_BOT_CONFIG, or create ./cdc-bot.yml "
                "(`cdc-bot sandbox` writes a working one)."
            ],
        )
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, [f"cannot read the file: {exc.strerror}"]) from None
    return parse_config(text, path)


def parse_config(text: str, path: str = "<config>") -> Config:
    try:
        data = yaml.safe_load(text)
        lines = _line_numbers(yaml.compose(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(path, [f"{where}not valid YAML: {problem}"]) from None
    if data is None:
        raise ConfigError(path, ["the file is empty; it needs at least `pipelines:` with one pipeline"])
    if not isinstance(data, dict):
        raise ConfigError(path, ["the top level must be a mapping of keys (slack:, access:, pipelines:, ...)"])
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(err, lines) for err in exc.errors()]
        # In file order, so the list reads top to bottom like the file.
        problems.sort(key=lambda p: int(m.group(1)) if (m := re.match(r"line (\d+):", p)) else 0)
        raise ConfigError(path, problems) from None


def _line_numbers(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map each key path to its line in the file, so errors can say where to look."""
    found: dict[tuple[Any, ...], int] = {}
    if node is None:
        return found
    found[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            found[(*path, key.value)] = key.start_mark.line + 1
            found.update({k: v for k, v in _line_numbers(value, (*path, key.value)).items() if k != (*path, key.value)})
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found.update(_line_numbers(item, (*path, index)))
    return found


def format_location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


_FRIENDLY_TYPES = {
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "float_parsing": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected text",
    "list_type": "expected a list",
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
}


def _describe(err: Any, lines: dict[tuple[Any, ...], int]) -> str:
    # pydantic puts validator names of unions and models into loc; keep only real keys.
    loc = tuple(p for p in err["loc"] if isinstance(p, int) or not str(p).startswith(("function-", "lax-")))
    where = format_location(loc)
    line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), None)
    prefix = f"line {line}: {where}" if line else where
    kind = err["type"]
    given = err.get("input")
    if kind == "extra_forbidden":
        siblings = _known_fields(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), siblings, n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else (f" (known: {', '.join(siblings)})" if siblings else "")
        return f"{prefix}: unknown key{hint}"
    if kind == "missing":
        return f"{prefix}: required but missing"
    if kind in _FRIENDLY_TYPES:
        return f"{prefix}: {_FRIENDLY_TYPES[kind]}, got {given!r}"
    if kind == "literal_error":
        return f"{prefix}: {err['msg'].replace('Input should be', 'must be one of')}, got {given!r}"
    message = err["msg"].removeprefix("Value error, ")
    return f"{prefix}: {message}"


def _known_fields(loc: tuple[Any, ...]) -> list[str]:
    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        model = _model_of(field.annotation)
        if model is None:
            return []
    return list(model.model_fields) if hasattr(model, "model_fields") else []


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None

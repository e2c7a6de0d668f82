"""Label and field selectors, parsed and matched as the API server does."""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox.fake_kube.model import Obj, Requirement

_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SET_TERM = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$")


def _split_terms(text: str) -> list[str]:
    # commas separate requirements, except inside the value set of `in (a,b)`
    terms: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [term.strip() for term in terms if term.strip()]


def _check_key(key: str) -> str:
    if not _LABEL_KEY.match(key) or len(key.rpartition("/")[2]) > 63:
        raise ValueError(f"invalid label key {key!r}")
    return key


def _check_value(value: str) -> str:
    if not _LABEL_VALUE.match(value) or len(value) > 63:
        raise ValueError(f"invalid label value {value!r}")
    return value


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse `a=b,c!=d,e in (x,y),f notin (z),g,!h` into requirements (ValueError if malformed)."""
    requirements: list[Requirement] = []
    for term in _split_terms(text):
        set_term = _SET_TERM.match(term)
        if set_term:
            key, operator, raw_values = set_term.groups()
            values = frozenset(_check_value(v.strip()) for v in raw_values.split(",") if v.strip())
            if not values:
                raise ValueError(f"{term!r}: a value set must not be empty")
            requirements.append((_check_key(key), operator, values))
        elif "!=" in term:
            key, _, value = term.partition("!=")
            requirements.append((_check_key(key.strip()), "notin", frozenset({_check_value(value.strip())})))
        elif "=" in term:
            key, _, value = term.partition("==") if "==" in term else term.partition("=")
            requirements.append((_check_key(key.strip()), "in", frozenset({_check_value(value.strip())})))
        elif term.startswith("!"):
            requirements.append((_check_key(term[1:].strip()), "!", frozenset()))
        else:
            requirements.append((_check_key(term), "exists", frozenset()))
    return requirements


def labels_match(requirements: list[Requirement], labels: dict[str, str]) -> bool:
    """Kubernetes semantics: `!=` and `notin` also match objects that lack the key."""
    for key, operator, values in requirements:
        present = key in labels
        if operator == "in" and not (present and labels[key] in values):
            return False
        if operator == "notin" and present and labels[key] in values:
            return False
        if operator == "exists" and not present:
            return False
        if operator == "!" and present:
            return False
    return True


def selector_requirements(selector: Any) -> list[Requirement]:
    """A metav1.LabelSelector (matchLabels + matchExpressions), as in Deployment.spec.selector."""
    if not isinstance(selector, dict):
        return []
    requirements: list[Requirement] = [
        (key, "in", frozenset({str(value)})) for key, value in (selector.get("matchLabels") or {}).items()
    ]
    operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expression in selector.get("matchExpressions") or []:
        operator = operators.get(expression.get("operator", ""))
        if operator:
            values = frozenset(str(v) for v in expression.get("values") or [])
            requirements.append((expression.get("key", ""), operator, values))
    return requirements


def selector_string(selector: Any) -> str:
    # the `status.selector` of a Scale is the selector in its query-string form
    parts: list[str] = []
    for key, operator, values in selector_requirements(selector):
        if operator == "in" and len(values) == 1:
            parts.append(f"{key}={next(iter(values))}")
        elif operator in ("in", "notin"):
            parts.append(f"{key} {operator} ({','.join(sorted(values))})")
        else:
            parts.append(key if operator == "exists" else f"!{key}")
    return ",".join(parts)


def parse_field_selector(text: str) -> list[tuple[str, bool, str]]:
    """Parse `metadata.name=x,status.phase!=Running` into (path, equal, value) triples."""
    terms: list[tuple[str, bool, str]] = []
    for term in _split_terms(text):
        if "!=" in term:
            path, _, value = term.partition("!=")
            terms.append((path.strip(), False, value.strip()))
        elif "=" in term:
            path, _, value = term.partition("==") if "==" in term else term.partition("=")
            terms.append((path.strip(), True, value.strip()))
        else:
            raise ValueError(f"invalid field selector term {term!r}")
    return terms


def _field_value(obj: Obj, path: str) -> str:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return ""
        current = current.get(part)
    if current is None:
        return ""  # the API server compares unset fields as empty strings
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def fields_match(terms: list[tuple[str, bool, str]], obj: Obj) -> bool:
    return all((_field_value(obj, path) == value) == equal for path, equal, value in terms)

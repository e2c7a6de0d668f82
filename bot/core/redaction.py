"""The redaction pass every snapshot, summary and note goes through before it is stored or shown.

Two layers, because secrets hide in two ways:
- by key: a mapping key (or an env var's `name`) that says password/secret/token/credential/
  apikey/... has its value replaced whole, whatever it looks like;
- by pattern, in every string: `password=...`/`"token": "..."` pairs, credentials in URLs,
  Slack (`xox?-`, `xapp-`) and AWS keys, bearer tokens, JWTs, private-key blocks, base64 blobs
  (the shape of Kubernetes Secret data), and PII shapes (e-mail addresses, phone numbers) that
  pod logs and traces can quote from CDC records.
Kubernetes Secrets are never fetched into a snapshot; a Secret-shaped object that gets in anyway
keeps only its key names.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_WORDS = (
    r"password|passwd|passphrase|(?<![a-z])pass(?![a-z])|pwd|secret|token|credentials?|api[-_.]?key|apikey|private[-_.]?key|"
    r"access[-_.]?key|secret[-_.]?key|session[-_.]?key|auth(?:orization|[-_.]?token)|jaas|signature|cookie"
)
# A key is secret when one of the words appears in it (`database.password`, `SLACK_BOT_TOKEN`, `apiKey`).
SECRET_KEY = re.compile(rf"(?i)(?:{_SECRET_WORDS})")
# References to secrets carry only names (`secretKeyRef: {name, key}`): useful in a snapshot, and safe.
_REFERENCE_KEYS = frozenset({"secretkeyref", "secretref", "secretname", "credentials_secret", "secrets_manager_secret"})
# `key=value`, `key: value`, `"key": "value"` where the key names a secret; the key stays readable.
_PAIR_QUOTED = re.compile(rf"(?i)([\w.-]*(?:{_SECRET_WORDS})[\w.-]*[\"']?\s*[:=]\s*)([\"'])(.*?)(\2)")
_PAIR_PLAIN = re.compile(rf"(?i)([\w.-]*(?:{_SECRET_WORDS})[\w.-]*[\"']?\s*[:=]\s*)(?![\"'\s{{\[])([^\s,;&}}\]\"')]+)")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s:@]+):([^/\s@]+)@")
# Oracle's JDBC thin form puts them without a scheme separator: `jdbc:oracle:thin:user/password@host`.
_ORACLE_CREDENTIALS = re.compile(r"(?i)\b(jdbc:oracle:[a-z0-9]+:)([^/\s:@]+)/([^\s@]+)@")
_SLACK_TOKEN = re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]+")
_AWS_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)
# 40 characters of base64 alphabet on their own: the shape of an AWS secret access key.
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
# Longer base64 runs (Secret `data` values, encoded credentials); checked to decode before redacting.
_BASE64 = re.compile(r"(?<![A-Za-z0-9/+=_-])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9/+=_-])")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_PHONE = re.compile(r"(?<![\w+])\+\d[\d ().-]{6,}\d\b")
_LOCAL_PHONE = re.compile(r"(?<![\w.-])\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4}(?![\w.-])")
_SSN = re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")
# 13-19 digits, spaced or dashed in groups: a card number when its Luhn checksum holds.
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
# `password hunter2`, `PGPASSWORD hunter2`: a secret word followed by a value without `=` or `:`.
# The value must look like one (a digit or a symbol in it), so prose such as "the password fix" stays.
_PAIR_SPACED = re.compile(r"(?i)\b(password|passwd|pgpassword|pwd|passphrase)\s+(?![:=\[])(?=\S*[\d!@#$%^&*])(\S+)")
# Records as Kafka Connect and Debezium print them into traces and logs: their values are CDC data.
_RECORD_OPENERS = re.compile(r"""(?:\bStruct\{|["']?(?:after|before|payload)["']?\s*[:=]\s*\{)""")


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[REDACTED:card]" if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


def _blank_records(text: str) -> str:
    """`Struct{NAME=Sally,...}` and `"after": {...}` keep their shape but lose every value."""
    out, pos = [], 0
    for match in _RECORD_OPENERS.finditer(text):
        if match.start() < pos:
            continue  # inside a record already blanked
        depth, end = 1, match.end()
        while end < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            end += 1
        out.append(text[pos : match.end()] + "[REDACTED:record]" + ("}" if depth == 0 else ""))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _mixed(token: str) -> bool:
    # Hex digests, names and plain words are not credentials; real keys mix cases and digits.
    return any(c.isupper() for c in token) and any(c.islower() for c in token) and any(c.isdigit() for c in token)


def _aws_secret(match: re.Match[str]) -> str:
    return REDACTED if _mixed(match.group(0)) else match.group(0)


def _base64_blob(match: re.Match[str]) -> str:
    token = match.group(0)
    if not _mixed(token) or len(token) % 4:
        return token
    try:
        base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return token
    return REDACTED


_PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (_PRIVATE_KEY, REDACTED),
    (_URL_CREDENTIALS, rf"\1\2:{REDACTED}@"),
    (_ORACLE_CREDENTIALS, rf"\1\2/{REDACTED}@"),
    # Before the pairs: in `Authorization: Bearer x` the pair rule alone would only hide the word Bearer.
    (_BEARER, rf"\1 {REDACTED}"),
    (_PAIR_QUOTED, rf"\1\2{REDACTED}\4"),
    (_PAIR_SPACED, rf"\1 {REDACTED}"),
    (_PAIR_PLAIN, rf"\1{REDACTED}"),
    (_SLACK_TOKEN, REDACTED),
    (_AWS_ACCESS_KEY, REDACTED),
    (_JWT, REDACTED),
    (_AWS_SECRET, _aws_secret),
    (_BASE64, _base64_blob),
    (_EMAIL, "[REDACTED:email]"),
    (_PHONE, "[REDACTED:phone]"),
    (_SSN, "[REDACTED:id]"),
    (_CARD, _card),
    (_LOCAL_PHONE, "[REDACTED:phone]"),
]


def redact_text(text: str) -> str:
    """Every secret- or PII-shaped part of a string replaced; the rest left readable."""
    if not text:
        return text
    text = _blank_records(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def is_secret_key(key: str) -> bool:
    return key.lower() not in _REFERENCE_KEYS and bool(SECRET_KEY.search(key))


def _blank(value: Any) -> Any:
    # Keep absence visible (None, "") so a reader can tell "not set" from "set, hidden".
    return value if value in (None, "") else REDACTED


def redact(value: Any) -> Any:
    """A deep copy of JSON-like data with secret values removed (by key and by pattern)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("kind") == "Secret":
        # A Secret that got in anyway: its key names, never its data.
        data_keys = sorted({*(value.get("data") or {}), *(value.get("stringData") or {})})
        metadata = value.get("metadata") or {}
        return {"kind": "Secret", "name": metadata.get("name"), "keys": data_keys}
    # An env var or config entry given as {"name": ..., "value": ...}: the name decides.
    named = value.get("name")
    secret_entry = isinstance(named, str) and is_secret_key(named)
    out: dict[str, Any] = {}
    for key, item in value.items():
        key_text = str(key)
        if secret_entry and key_text == "value":
            out[key] = _blank(item)
        elif is_secret_key(key_text):
            out[key] = _blank(item) if not isinstance(item, dict | list) else REDACTED
        else:
            out[key] = redact(item)
    return out

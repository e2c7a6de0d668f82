"""The redaction pass every snapshot, summary and note goes through before it is stored or shown.

Two layers, because secrets hide in two ways:
- by key: a mapping key (or an env var's `name`) that says password/secret/token/credential/
  apikey/... has its value replaced whole, whatever it looks like;
- by pattern, in every string: `password=...`/`"token": "..."`/`--password x`/`password%3D...` pairs,
  credentials in URLs, Slack (`xox?-`, `xapp-`), GitHub (`ghp_`, `github_pat_`) and AWS keys, 32-hex API
  keys, bearer tokens, JWTs, private-key blocks, base64 blobs (the shape of Kubernetes Secret data),
  and PII shapes (e-mail addresses, phone numbers, national ids, card numbers) that pod logs and
  traces can quote from CDC records.
Kubernetes Secrets are never fetched into a snapshot; a Secret-shaped object that gets in anyway
keeps only its key names.

Linear time, by construction: a log line is attacker-shaped input (a CDC record can put anything
in it), and a backtracking blow-up holds the GIL and stalls every thread of the bot. So no pattern
here may scan the same stretch of text from many start positions:
- every unbounded run is anchored at the start of its run (a lookbehind for the run's own
  alphabet), so inside a run there is no second start;
- where a scan could run past the next possible start (`key=value` pairs, JDBC URLs), it is a
  tokenizing loop in Python (`_redact_pairs`) that resumes after what it scanned, or the scanned
  alphabet excludes the next start's first characters.
tests/test_redact.py holds that to a scaling ratio on adversarial inputs; bench/bench_redaction.py
measures it. A pattern added here (or passed in as `extra_pii`) must keep that property.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

REDACTED = "[REDACTED]"
# A value left out on purpose (an environment variable not on the snapshot's allow-list), not found secret.
HIDDEN = "[hidden]"

_SECRET_WORDS = (
    r"password|passwd|passphrase|(?<![a-z])pass(?![a-z])|pwd|secret|token|credentials?|api[-_.]?key|apikey|private[-_.]?key|"
    r"access[-_.]?key|secret[-_.]?key|session[-_.]?key|auth(?:orization|[-_.]?token)|jaas|signature|cookie"
)
# A key is secret when one of the words appears in it (`database.password`, `SLACK_BOT_TOKEN`, `apiKey`).
SECRET_KEY = re.compile(rf"(?i)(?:{_SECRET_WORDS})")
# References to secrets carry only names (`secretKeyRef: {name, key}`): useful in a snapshot, and safe.
_REFERENCE_KEYS = frozenset({"secretkeyref", "secretref", "secretname", "credentials_secret", "secrets_manager_secret"})

# --- `key=value` pairs: one tokenizing pass ------------------------------------------------------------------
# A key is a whole run of `[\w.-]` (never a suffix of one: the lookbehind), matched possessively, then
# either a separator (`=`, `:`, URL-encoded `%3D`/`%3A`, quotes around the key allowed) or blanks.
# Whether the key names a secret, and how far its value goes, is decided in `_redact_pairs`.
_QUOTE = r"(?:[\"']|%2[27])"
_PAIR_START = re.compile(
    rf"""(?<![\w.-])(?:
        (?P<key>[\w.-]++)(?P<sep>{_QUOTE}?\s*+(?:[:=]|%3[aAdD])\s*+(?:%2[27])?)
      | (?P<flag>-[\w.-]++|(?i:[\w.-]*?(?:password|passwd|pwd|passphrase)))(?P<blank>[ \t]++)
    )""",
    re.X,
)
_PLAIN_VALUE = re.compile(r"[^\s,;&}\]\"')]+")
# After a URL-encoded separator the value ends at the next encoded quote or `&` (`%26`).
_ENCODED_VALUE = re.compile(r"(?:[^\s%&,;\"')}\]]|%(?!2[267])[0-9A-Fa-f]{2})+")
_BLANK_VALUE = re.compile(r"\S+")
# `password hunter2`, `PGPASSWORD hunter2`: a secret word then a value without `=` or `:`. The value must
# look like one (a digit or a symbol in it), so prose such as "the password fix" stays.
_SPACED_WORD = re.compile(r"(?i)(?:[\w.-]*[_.-])?(?:pg)?(?:password|passwd|pwd|passphrase)")
_CREDENTIAL_LIKE = re.compile(r"[\d!@#$%^&*]")


def _redact_pairs(text: str) -> str:
    out: list[str] = []
    pos = 0  # everything before pos is written (or replaced) already
    for match in _PAIR_START.finditer(text):
        if match.start() < pos:
            continue  # inside a value that was replaced already
        end = match.end()
        if match.group("key") is not None:
            if not is_secret_key(match.group("key")):
                continue
            sep = match.group("sep")
            if end >= len(text) or text[end] in "{[":
                continue  # a nested object (its own keys are looked at), or nothing to hide
            opener = text[end]
            if opener in "\"'":
                close = text.find(opener, end + 1, _line_end(text, end))
                stop = close if close >= 0 else _line_end(text, end)
                out += [text[pos : end + 1], REDACTED]
                pos = stop
                continue
            encoded = "%" in sep
            value = (_ENCODED_VALUE if encoded else _PLAIN_VALUE).match(text, end)
            if value is None:
                continue
        else:
            flag = match.group("flag")
            value = _BLANK_VALUE.match(text, end)
            if value is None or value.group(0)[0] in "-:=[":
                continue
            if flag.startswith("-"):
                if not is_secret_key(flag):
                    continue
            elif not (_SPACED_WORD.fullmatch(flag) and _CREDENTIAL_LIKE.search(value.group(0))):
                continue
        out += [text[pos : value.start()], REDACTED]
        pos = value.end()
    out.append(text[pos:])
    return "".join(out)


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    return len(text) if end < 0 else end


# --- tokens and credentials of a known shape ------------------------------------------------------------------
# The scheme is anchored at its run's start; the password cannot contain `/`, which every next `://` has.
_URL_CREDENTIALS = re.compile(r"(?i)(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*+://)([^/\s:@]+):([^/\s@]+)@")
# Oracle's JDBC thin form puts them without a scheme separator: `jdbc:oracle:thin:user/password@host`.
# The password stops before a next `jdbc:` so that one failing scan never covers the next start.
_ORACLE_CREDENTIALS = re.compile(r"(?i)(?<![\w.-])(jdbc:oracle:[a-z0-9]+:)([^/\s:@]+)/((?:[^\s@j]|j(?!dbc:))+)@")
_SLACK_TOKEN = re.compile(r"(?<![\w-])x(?:ox[abposre]|app)-[A-Za-z0-9-]+")
_GITHUB_TOKEN = re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")
_AWS_ACCESS_KEY = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?![A-Z0-9])")
_BEARER = re.compile(r"(?i)\b(bearer|basic)[ \t]++[A-Za-z0-9._~+/=-]{8,}")
_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----.*?(?:-----END [A-Z ]{0,40}PRIVATE KEY-----|\Z)", re.S
)
# `mysql -pS3cret1`: the password glued to `-p` (quoted, or with a digit or symbol in it).
_GLUED_P = re.compile(r"""(?<![\w.-])-p(?:(["'])[^"'\n]*\1|(?=[^\s"']*[\d!@#$%^&*])[^\s"']+)""")
# 40 characters of base64 alphabet on their own: the shape of an AWS secret access key.
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
# Longer base64 runs (Secret `data` values, encoded credentials); checked to decode before redacting.
_BASE64 = re.compile(r"(?<![A-Za-z0-9/+=_-])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9/+=_-])")
# Exactly 32 hex digits on their own: the shape of most API keys (Datadog, New Relic, ...). An MD5 digest
# looks the same and goes too; 40- and 64-hex digests (git, sha256 image digests) stay readable.
_HEX32 = re.compile(r"(?<![0-9A-Za-z])(?=[0-9]*[A-Fa-f])(?=[A-Fa-f]*[0-9])[0-9A-Fa-f]{32}(?![0-9A-Za-z])")


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


_SECRET_PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (_PRIVATE_KEY, REDACTED),
    (_URL_CREDENTIALS, rf"\1\2:{REDACTED}@"),
    (_ORACLE_CREDENTIALS, rf"\1\2/{REDACTED}@"),
    # Before the pairs: in `Authorization: Bearer x` the pair rule alone would only hide the word Bearer.
    (_BEARER, rf"\1 {REDACTED}"),
]
_TOKEN_PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    (_GLUED_P, f"-p{REDACTED}"),
    (_SLACK_TOKEN, REDACTED),
    (_GITHUB_TOKEN, REDACTED),
    (_AWS_ACCESS_KEY, REDACTED),
    (_JWT, REDACTED),
    (_AWS_SECRET, _aws_secret),
    (_BASE64, _base64_blob),
    (_HEX32, REDACTED),
]


# --- PII ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PiiPattern:
    """One kind of personal data: what it looks like, and (optionally) a check that a match really is one.

    The match (or its `value` group, when the pattern has one) becomes `[REDACTED:kind]`. `everywhere`
    patterns apply to all redacted text; the others only to log lines (`redact_log_text`), where a
    looser shape (an 8-digit local phone number, a `first_name=` field) is worth its false positives.
    A pattern must be linear-time on any input (see the module docstring). Without a `value` group the whole
    match is replaced; with one, only that group (e-mail addresses: always the whole address).
    """

    kind: str
    pattern: re.Pattern[str]
    check: Callable[[str], bool] | None = None
    everywhere: bool = True


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_card(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return 13 <= len(digits) <= 19 and _luhn(digits)


def _has_tld(text: str) -> bool:
    tld = text.rsplit(".", 1)[-1]
    return len(tld) >= 2 and tld.isascii() and tld.isalpha()


# Field names whose values are personal data wherever they are printed (`first_name=Sally`, `"dob": "..."`),
# also at the end of a longer name (`CUSTOMER_FIRST_NAME`, `customer.dob`).
_PII_FIELDS = (
    r"(?:first|last|full|given|family|middle|maiden|customer|contact|person|holder)[_.-]?name|surname|"
    r"date[_.-]?of[_.-]?birth|birth[_.-]?date|dob|nric|ssn|national[_.-]?id|passport[_.-]?(?:no|number)?|"
    r"home[_.-]?address|street[_.-]?address|postal[_.-]?address"
)

PII_PATTERNS: tuple[PiiPattern, ...] = (
    # The local part is anchored at its run's start and possessive; the domain's last label must be a TLD.
    PiiPattern(
        "email",
        re.compile(r"(?<![\w.%+-])[\w.%+-]++@(?P<value>[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)++)"),
        check=_has_tld,
    ),
    PiiPattern("phone", re.compile(r"(?<![\w+])\+\d[\d ().-]{6,}\d\b")),
    PiiPattern("id", re.compile(r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])")),  # US SSN
    PiiPattern("id", re.compile(r"(?<![A-Za-z0-9])[STFGMstfgm]\d{7}[A-Za-z](?![A-Za-z0-9])")),  # SG NRIC/FIN
    # 13-19 digits, spaced or dashed in groups: a card number when its Luhn checksum holds.
    PiiPattern("card", re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])"), check=_is_card),
    PiiPattern("phone", re.compile(r"(?<![\w.-])\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4}(?![\w.-])")),  # US local
    # `first_name=Sally`, `"dob": "1980-01-02"`: the field name says what the value is.
    PiiPattern(
        "pii",
        re.compile(
            rf"(?i)(?<![A-Za-z0-9])(?=[bcdfghlmnps])(?:{_PII_FIELDS})[\"']?\s*[:=]\s*[\"']?(?P<value>[^\"'\n,;&}}\]]+)"
        ),
    ),
    # Log lines only: shapes that an ordinary number can take too.
    PiiPattern("phone", re.compile(r"(?<![\w.+-])[689]\d{3}[ -]?\d{4}(?![\w.-])"), everywhere=False),  # SG local
    PiiPattern("phone", re.compile(r"(?<![\w.+-])0\d{1,4}[ -]\d{3,4}[ -]?\d{3,4}(?![\w.-])"), everywhere=False),
)
_EVERYWHERE = tuple(p for p in PII_PATTERNS if p.everywhere)
_LOGS_ONLY = tuple(p for p in PII_PATTERNS if not p.everywhere)


def redact_pii(text: str, patterns: Iterable[PiiPattern] = PII_PATTERNS) -> str:
    """Personal data of the given kinds (all of `PII_PATTERNS` by default) replaced by `[REDACTED:kind]`."""
    for pii in patterns:
        text = pii.pattern.sub(_pii_replacer(pii), text)
    return text


def _pii_replacer(pii: PiiPattern) -> Callable[[re.Match[str]], str]:
    marker = f"[REDACTED:{pii.kind}]"
    has_value = "value" in pii.pattern.groupindex

    def replace(match: re.Match[str]) -> str:
        if has_value and match.group("value") is not None:
            start, end = match.span("value")
            if pii.check is not None and not pii.check(match.group("value")):
                return match.group(0)
            if pii.kind == "email":
                return marker  # the whole address, local part included
            whole = match.group(0)
            offset = match.start()
            return whole[: start - offset] + marker + whole[end - offset :]
        if pii.check is not None and not pii.check(match.group(0)):
            return match.group(0)
        return marker

    return replace


# --- records -------------------------------------------------------------------------------------------------
# Records as Kafka Connect and Debezium print them into traces and logs: their values are CDC data.
_RECORD_OPENERS = re.compile(r"""(?:\bStruct\{|["']?(?:after|before|payload)["']?[ \t]*+[:=][ \t]*+\{)""")
_BRACES = re.compile(r"[{}]")


def _blank_records(text: str) -> str:
    """`Struct{NAME=Sally,...}` and `"after": {...}` keep their shape but lose every value."""
    out, pos = [], 0
    for match in _RECORD_OPENERS.finditer(text):
        if match.start() < pos:
            continue  # inside a record already blanked
        depth, end = 1, len(text)
        for brace in _BRACES.finditer(text, match.end()):
            depth += 1 if brace.group(0) == "{" else -1
            if not depth:
                end = brace.end()
                break
        out.append(text[pos : match.end()] + "[REDACTED:record]" + ("}" if depth == 0 else ""))
        pos = end
    out.append(text[pos:])
    return "".join(out)


# --- the passes ---------------------------------------------------------------------------------------------


def redact_text(text: str) -> str:
    """Every secret- or PII-shaped part of a string replaced; the rest left readable."""
    if not text:
        return text
    text = _blank_records(text)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    text = _redact_pairs(text)
    for pattern, replacement in _TOKEN_PATTERNS:
        text = pattern.sub(replacement, text)
    return redact_pii(text, _EVERYWHERE)


def redact_log_text(text: str, extra_pii: Iterable[PiiPattern] = ()) -> str:
    """A pod log tail or a trace: `redact_text`, then every PII pattern (log-only ones too) and `extra_pii`."""
    if not text:
        return text
    return redact_pii(redact_text(text), (*_LOGS_ONLY, *extra_pii))


def is_secret_key(key: str) -> bool:
    # Logs repeat the same keys; only short ones are cached, so the cache cannot hold a megabyte of input.
    return _secret_key_cached(key) if len(key) <= 128 else _secret_key(key)


def _secret_key(key: str) -> bool:
    return key.lower() not in _REFERENCE_KEYS and bool(SECRET_KEY.search(key))


_secret_key_cached = functools.lru_cache(maxsize=4096)(_secret_key)


def _blank(value: Any) -> Any:
    # Keep absence visible (None, "") so a reader can tell "not set" from "set, hidden".
    return value if value in (None, "", HIDDEN) else REDACTED


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

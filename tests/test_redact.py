"""CDC records quoted in traces and logs lose their values; ordinary diagnostics stay readable."""

from __future__ import annotations

import re
import time

import pytest

from bot.core.redaction import PII_PATTERNS, PiiPattern, redact_log_text, redact_text


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("Struct{FIRST_NAME=Sally,LAST_NAME=Thomas,SSN=123-45-6789}", ["Sally", "Thomas", "123-45-6789"]),
        ("DataException: Struct{after=Struct{ID=1,NAME=Sally},op=c} failed", ["Sally"]),
        ('{"after":{"name":"Sally Thomas","dob":"1980-01-02"},"op":"u"}', ["Sally", "1980-01-02"]),
        ("card 4111 1111 1111 1111 on file", ["4111 1111 1111 1111"]),
        ("ssn 123-45-6789, call 555.123.4567", ["123-45-6789", "555.123.4567"]),
        ("export PGPASSWORD hunter2", ["hunter2"]),
        ("password Secr3tPw", ["Secr3tPw"]),
    ],
)
def test_values_are_removed(text: str, gone: list[str]) -> None:
    redacted = redact_text(text)
    for value in gone:
        assert value not in redacted


@pytest.mark.parametrize(
    "text",
    [
        "offset 1234567890123456 partition 3 at 2026-11-26T09:00:00Z took 15 ms",
        "org.apache.kafka.connect.errors.ConnectException: ORA-01017: invalid username/password; logon denied",
        "pii-masking-app oracle.inventory.orders[0]: 4,000 behind (committed 1,000, end 5,000)",
    ],
)
def test_diagnostics_stay_readable(text: str) -> None:
    assert redact_text(text) == text


def test_prose_about_passwords_is_not_a_password() -> None:
    assert redact_text("task restarted after the password fix") == "task restarted after the password fix"


# --- linear time -------------------------------------------------------------------------------------------------
# Redaction runs on attacker-shaped text (a CDC record can put anything in a log line) and holds the GIL while
# it runs: a quadratic pattern on one long token once stalled every thread of the bot for seconds. Each input
# below is one repeated unit, the shape that made the old patterns backtrack; the time for 10x the input must
# grow about 10x (quadratic growth gives 100x). CPU time of this thread, so other processes on the machine
# do not count; the better of two runs, so a page fault does not either.
ADVERSARIAL_UNITS = [
    "A",  # one long base64 token
    "ab12",  # hex
    "x_",  # word characters
    "1",  # a long digit run
    "1 ",  # digits in groups (card, phone shapes)
    "a=b:",  # many `=` / `:` pairs
    "\"'",  # nested quotes
    "'a': ",  # quoted keys without values
    'password="',  # secret keys whose quoted value never closes
    "password=",
    "password%3D",
    "--password ",
    "password ",
    "token",  # a secret word repeated inside one key
    "a.",  # dotted runs (e-mail local parts, URL schemes)
    "a-",
    "a@",
    "+1",
    "x://a:",
    "jdbc:oracle:a:u/p,",
    "eyJ-",
    "aB3/",
    "QUJD=",
    "Struct{",
    "first_name=",
    "S1234567",
    "9123 ",
    "ghp_",
    "-p1",
    "Bearer ",
]


def _cpu_time(text: str) -> float:
    best = float("inf")
    for _ in range(2):
        started = time.thread_time()
        redact_log_text(text)
        best = min(best, time.thread_time() - started)
    return max(best, 1e-6)


def _repeat(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


@pytest.mark.parametrize("unit", ADVERSARIAL_UNITS)
def test_redaction_time_grows_linearly_with_the_input(unit: str) -> None:
    # 1 kB -> 10 kB first: quadratic code fails here in seconds instead of hanging on the 100 kB input.
    small, medium = _cpu_time(_repeat(unit, 1_000)), _cpu_time(_repeat(unit, 10_000))
    assert medium / small < 30, f"{unit!r}: 10x the input took {medium / small:.0f}x the time"
    large = _cpu_time(_repeat(unit, 100_000))
    assert large / medium < 30, f"{unit!r}: 10 kB -> 100 kB took {large / medium:.0f}x the time ({large:.2f} s)"


# --- the forms a security review found missing -------------------------------------------------------------------
GITHUB_CLASSIC = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
GITHUB_OAUTH = "gho_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"
GITHUB_FINE = "github_pat_11ABCDEFG0123456789abc_" + "x" * 30 + "Y7" * 14
HEX_KEY = "3f9a1c0b7d2e4f6a8b9c0d1e2f3a4b5c"


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("mysqladmin --password hunter -h db", ["hunter"]),
        ("psql --db-password=hunter --host db", ["hunter"]),
        ("mysql -uroot -pS3cret1 -h db", ["S3cret1"]),
        ("mysql -uroot -p'hunter two' db", ["hunter two"]),
        ("GET /login?user=bob&password%3DHunter2%21x HTTP/1.1", ["Hunter2"]),
        ("form=user%3Dbob%26password%3DHunter2", ["Hunter2"]),
        ("body={%22password%22%3A%22Hunter2%22}", ["Hunter2"]),
        (f"clone with {GITHUB_CLASSIC} then {GITHUB_OAUTH}", [GITHUB_CLASSIC, GITHUB_OAUTH]),
        (f"GITHUB {GITHUB_FINE}", [GITHUB_FINE]),
        (f"DD_API_KEY {HEX_KEY}", [HEX_KEY]),
        (f"key {HEX_KEY.upper()} used", [HEX_KEY.upper()]),
        ("DB_PASSWORD hunter2", ["hunter2"]),
        ('password="never closed and more', ["never closed"]),
        ("-Djavax.net.ssl.trustStorePassword=changeit -Xmx4g", ["changeit"]),
        ("nric S1234567D, ssn 123-45-6789", ["S1234567D", "123-45-6789"]),
    ],
)
def test_secret_forms_found_in_review_are_removed(text: str, gone: list[str]) -> None:
    redacted = redact_text(text)
    for value in gone:
        assert value not in redacted, redacted


@pytest.mark.parametrize(
    "text",
    [
        "kubectl logs -p debezium-connect-0 --tail 50",
        "image example/app@sha256:" + "ab" * 32,  # 64-hex digests stay readable
        "commit 3f9a1c0b7d2e4f6a8b9c0d1e2f3a4b5c6d7e8f90",  # 40-hex git ids too
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "export KAFKA_HEAP_OPTS=-Xmx4g; --batch-size 1000000",
    ],
)
def test_lookalikes_stay_readable(text: str) -> None:
    assert redact_text(text) == text


# --- PII in log lines ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "gone"),
    [
        ("ERROR row rejected for S1234567D (tel 9123 4567)", ["S1234567D", "9123 4567"]),
        ("WARN call 91234567 or +65 6123 4567 failed", ["91234567", "6123 4567"]),
        ("WARN callback 020 7946 0958 unreachable", ["020 7946 0958"]),
        ("ERROR customer_name=Sally Tan, email sally.tan@example.com", ["Sally Tan", "sally.tan@example.com"]),
        ('DEBUG {"FIRST_NAME": "Sally", "dob": "1980-01-02"}', ["Sally", "1980-01-02"]),
        ("INFO CUSTOMER_LAST_NAME=Thomas ssn=123-45-6789", ["Thomas", "123-45-6789"]),
        ("INFO paid with 4111-1111-1111-1111", ["4111-1111-1111-1111"]),
    ],
)
def test_log_lines_lose_personal_data(line: str, gone: list[str]) -> None:
    redacted = redact_log_text(line)
    for value in gone:
        assert value not in redacted, redacted


def test_log_pii_keeps_what_is_not_personal() -> None:
    line = "INFO committed offset 12345678 of partition 3; card-like 4111 1111 1111 1112 fails Luhn; took 15 ms"
    assert redact_log_text(line) == line
    # The loose shapes (an 8-digit local number) are for log lines only: a figure in a report stays.
    assert redact_text("lag 91234567 records") == "lag 91234567 records"


def test_the_pii_table_can_be_extended_by_a_parameter() -> None:
    mykad = PiiPattern("id", re.compile(r"(?<!\d)\d{6}-\d{2}-\d{4}(?!\d)"))  # Malaysia's MyKad number
    line = "ERROR rejected 900101-14-5678 from ana@example.com"
    assert "900101-14-5678" in redact_log_text(line)
    assert redact_log_text(line, extra_pii=[mykad]) == "ERROR rejected [REDACTED:id] from [REDACTED:email]"
    assert mykad not in PII_PATTERNS  # the parameter extends one call, not the module's table

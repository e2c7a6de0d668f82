"""CDC records quoted in traces and logs lose their values; ordinary diagnostics stay readable."""

from __future__ import annotations

import pytest

from bot.core.redaction import redact_text


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

"""What the fake Slack shares: its ids, recorded calls, method errors and request-body decoding."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from email.utils import collapse_rfc2231_value
from typing import Any

BOT_USER_ID = "UBOT"
BOT_ID = "B0SANDBOX"
TEAM_ID = "T0SANDBOX"
TEAM_DOMAIN = "cdc-sandbox"
PERMALINK_BASE = f"https://{TEAM_DOMAIN}.slack.com"

# Form-encoded callers (and slack_sdk for files.completeUploadExternal) send these as JSON strings;
# decoding them makes form and JSON calls look the same to assertions.
JSON_FORM_FIELDS = frozenset({"blocks", "attachments", "files", "view", "metadata"})

Args = dict[str, Any]
Answer = dict[str, Any]


@dataclass
class RecordedCall:
    method: str
    args: Args
    token: str | None
    at: float = field(default_factory=time.time)
    # What the fake answered (set just after recording): e.g. the `ts` of a posted message.
    answer: Answer | None = None


@dataclass
class PendingUpload:
    file_id: str
    filename: str
    length: int
    content: bytes | None = None


class MethodError(Exception):
    """Raised by a method handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def require_arg(args: Args, name: str, error: str | None = None) -> Any:
    value = args.get(name)
    if value is None or value == "":
        raise MethodError(error or "invalid_arguments")
    return value


def channel_display_name(channel: str, known: dict[str, str]) -> str:
    if channel.startswith("#"):
        return channel[1:]
    return known.get(channel, channel.lower())


def decode_json_fields(args: Args) -> Args:
    for key in JSON_FORM_FIELDS & args.keys():
        value = args[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            # left as sent when it is not JSON; the handler may reject it like Slack would
            with contextlib.suppress(json.JSONDecodeError):
                args[key] = json.loads(value)
    return args


def parse_multipart(content_type: str, body: bytes) -> tuple[Args, dict[str, tuple[str | None, bytes]]]:
    """Split a multipart/form-data body into text fields and file parts (name -> (filename, bytes))."""
    header = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
    fields: Args = {}
    files: dict[str, tuple[str | None, bytes]] = {}
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        param = part.get_param("name", header="content-disposition") or ""
        # an RFC 2231 encoded parameter comes back as (charset, language, value)
        name = collapse_rfc2231_value(param) if isinstance(param, tuple) else param
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, payload)
        else:
            fields[name] = payload.decode("utf-8", errors="replace")
    return fields, files

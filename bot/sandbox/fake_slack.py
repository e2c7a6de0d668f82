"""A local Slack Web API: the sandbox's Slack and the test suite's Slack backend.

It answers the Web API methods the bot calls the way slack.com does (HTTP 200 with
``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``, HTTP 429 with ``Retry-After``),
records every call, and keeps posted messages so ``chat.update`` and
``conversations.replies`` behave like the real thing. Reach it with
``WebClient(base_url=server.api_url)``. Stdlib only, so the product can ship it.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

BOT_USER_ID = "UBOT"
BOT_ID = "B0SANDBOX"
TEAM_ID = "T0SANDBOX"
TEAM_DOMAIN = "cdc-sandbox"
PERMALINK_BASE = f"https://{TEAM_DOMAIN}.slack.com"

# Form-encoded callers (and slack_sdk for files.completeUploadExternal) send these as JSON strings;
# decoding them makes form and JSON calls look the same to assertions.
_JSON_FORM_FIELDS = frozenset({"blocks", "attachments", "files", "view", "metadata"})

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
class _PendingUpload:
    file_id: str
    filename: str
    length: int
    content: bytes | None = None


class _ApiError(Exception):
    """Raised by a method handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _require(args: Args, name: str, error: str | None = None) -> Any:
    value = args.get(name)
    if value is None or value == "":
        raise _ApiError(error or "invalid_arguments")
    return value


def _channel_display_name(channel: str, known: dict[str, str]) -> str:
    if channel.startswith("#"):
        return channel[1:]
    return known.get(channel, channel.lower())


def _decode_json_fields(args: Args) -> Args:
    for key in _JSON_FORM_FIELDS & args.keys():
        value = args[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            # left as sent when it is not JSON; the handler may reject it like Slack would
            with contextlib.suppress(json.JSONDecodeError):
                args[key] = json.loads(value)
    return args


def _parse_multipart(content_type: str, body: bytes) -> tuple[Args, dict[str, tuple[str | None, bytes]]]:
    """Split a multipart/form-data body into text fields and file parts (name -> (filename, bytes))."""
    header = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
    fields: Args = {}
    files: dict[str, tuple[str | None, bytes]] = {}
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition") or ""
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, payload)
        else:
            fields[name] = payload.decode("utf-8", errors="replace")
    return fields, files


class FakeSlackServer:
    """An in-process HTTP server that speaks the subset of the Slack Web API the bot uses."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_token: str = "xoxb-sandbox",
        user_groups: dict[str, list[str]] | None = None,
        channels: dict[str, str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.bot_token = bot_token
        self.user_groups: dict[str, list[str]] = dict(user_groups or {})
        # channel id -> name, for conversations.info / list; any other channel is still accepted
        self.channels: dict[str, str] = dict(channels or {"C0OPS": "cdc-pipeline-ops"})
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.uploaded_files: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self._calls: list[RecordedCall] = []
        self._cond = threading.Condition(threading.RLock())
        self._rate_limits: dict[str, deque[int]] = {}
        self._failures: dict[str, deque[str]] = {}
        self._server_errors: dict[str, deque[int]] = {}
        self._uploads: dict[str, _PendingUpload] = {}
        self._response_urls: set[str] = set()
        self._joined: set[str] = set()
        self._last_ts_us = 0
        self._ids = itertools.count(1)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, Callable[[Args], Answer]] = {
            "api.test": lambda args: {"ok": True, "args": args},
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "conversations.info": self._conversations_info,
            "conversations.list": self._conversations_list,
            "conversations.join": self._conversations_join,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "reactions.add": self._reactions_add,
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlackServer:
        if self._httpd is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> FakeSlackServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self) -> str:
        url_id = uuid.uuid4().hex
        with self._cond:
            self._response_urls.add(url_id)
        return f"{self.base_url}/response_url/{url_id}"

    # ------------------------------------------------------------------ inspection

    @property
    def calls(self) -> list[RecordedCall]:
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        with self._cond:
            return [c for c in self._calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        predicate: Callable[[RecordedCall], bool] | None = None,
    ) -> list[RecordedCall]:
        """Block until ``count`` calls of ``method`` (matching ``predicate``) were recorded."""

        def matching() -> list[RecordedCall]:
            return [c for c in self._calls if c.method == method and (predicate is None or predicate(c))]

        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = matching()
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = "\n".join(f"  {c.method} {json.dumps(c.args, default=str)[:300]}" for c in self._calls)
                    raise AssertionError(
                        f"expected {count} call(s) to {method}"
                        f"{' matching the predicate' if predicate else ''} within {timeout}s, "
                        f"got {len(found)}; recorded calls:\n{seen or '  (none)'}"
                    )
                self._cond.wait(remaining)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self._cond:
            found = self.messages.get((channel, ts))
            return copy.deepcopy(found) if found is not None else None

    def clear(self) -> None:
        """Forget calls, messages, files, views and pending failures (user groups stay)."""
        with self._cond:
            self._calls.clear()
            self.messages.clear()
            self.uploaded_files.clear()
            self.views.clear()
            self._rate_limits.clear()
            self._failures.clear()
            self._server_errors.clear()
            self._uploads.clear()
            self._joined.clear()

    # ------------------------------------------------------------------ fault injection

    def rate_limit_next(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        with self._cond:
            self._rate_limits.setdefault(method, deque()).extend([retry_after] * times)

    def server_error_next(self, method: str, times: int = 1, status: int = 500) -> None:
        """Answer the next calls with an HTTP 5xx, as Slack does in an outage."""
        with self._cond:
            self._server_errors.setdefault(method, deque()).extend([status] * times)

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        with self._cond:
            self._failures.setdefault(method, deque()).extend([error] * times)

    # ------------------------------------------------------------------ request dispatch

    def _record(self, method: str, args: Args, token: str | None) -> RecordedCall:
        call = RecordedCall(method=method, args=copy.deepcopy(args), token=token)
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        return call

    def handle_api(self, method: str, args: Args, token: str | None) -> tuple[int, dict[str, str], Answer]:
        """Answer one Web API call: (HTTP status, extra headers, JSON body)."""
        call = self._record(method, args, token)
        status, headers, answer = self._answer(method, args, token)
        call.answer = answer
        return status, headers, answer

    def _answer(self, method: str, args: Args, token: str | None) -> tuple[int, dict[str, str], Answer]:
        with self._cond:
            if method not in self._methods:
                return 200, {}, {"ok": False, "error": "unknown_method"}
            if method != "api.test" and token != self.bot_token:
                return 200, {}, {"ok": False, "error": "invalid_auth"}
            limits = self._rate_limits.get(method)
            if limits:
                retry_after = limits.popleft()
                return 429, {"Retry-After": str(retry_after)}, {"ok": False, "error": "ratelimited"}
            server_errors = self._server_errors.get(method)
            if server_errors:
                return server_errors.popleft(), {}, {"ok": False, "error": "internal_error"}
            failures = self._failures.get(method)
            if failures:
                return 200, {}, {"ok": False, "error": failures.popleft()}
            try:
                return 200, {}, self._methods[method](args)
            except _ApiError as err:
                return 200, {}, {"ok": False, "error": err.error}

    def handle_response_url(self, url_id: str, body: Any) -> tuple[int, Answer]:
        with self._cond:
            known = url_id in self._response_urls
        args: Args = dict(body) if isinstance(body, dict) else {"body": body}
        args["url_id"] = url_id
        self._record("response_url", args, None)
        if not known:
            return 404, {"ok": False, "error": "no_such_response_url"}
        return 200, {"ok": True}

    def handle_upload(self, file_id: str, content: bytes) -> tuple[int, str]:
        with self._cond:
            upload = self._uploads.get(file_id)
            if upload is None:
                return 404, "file not found"
            upload.content = content
        self._record("files.upload_url", {"file_id": file_id, "size": len(content)}, None)
        return 200, f"OK - {len(content)}"

    # ------------------------------------------------------------------ helpers

    def _next_ts(self) -> str:
        # Slack ts values are unique per channel and increase; microseconds of wall time, bumped if equal
        now_us = int(time.time() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _channel_object(self, channel: str) -> dict[str, Any]:
        name = _channel_display_name(channel, self.channels)
        return {
            "id": channel,
            "name": name,
            "is_channel": True,
            "is_private": False,
            "is_archived": False,
            "is_member": True,
            "is_general": False,
            "created": 1764158400,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "num_members": 1,
        }

    def _find_message(self, args: Args, ts_field: str = "ts") -> tuple[str, str, dict[str, Any]]:
        channel = str(_require(args, "channel", "channel_not_found"))
        ts = str(_require(args, ts_field, "message_not_found"))
        found = self.messages.get((channel, ts))
        if found is None:
            raise _ApiError("message_not_found")
        return channel, ts, found

    # ------------------------------------------------------------------ methods

    def _auth_test(self, args: Args) -> Answer:
        return {
            "ok": True,
            "url": f"{PERMALINK_BASE}/",
            "team": "CDC Sandbox",
            "user": "cdc-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: Args) -> Answer:
        channel = str(_require(args, "channel", "channel_not_found"))
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            raise _ApiError("no_text")
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "team": TEAM_ID,
            "text": args.get("text") or "",
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata"):
            if args.get(key):
                message[key] = args[key]
        thread_ts = args.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
            parent = self.messages.get((channel, str(thread_ts)))
            if parent is not None:
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = ts
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_update(self, args: Args) -> Answer:
        channel, ts, found = self._find_message(args)
        if "text" in args:
            found["text"] = args["text"] or ""
        for key in ("blocks", "attachments", "metadata"):
            if key in args:
                found[key] = args[key]
        found["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": found.get("text", ""),
            "message": copy.deepcopy(found),
        }

    def _chat_post_ephemeral(self, args: Args) -> Answer:
        _require(args, "channel", "channel_not_found")
        _require(args, "user", "user_not_in_channel")
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            raise _ApiError("no_text")
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_delete(self, args: Args) -> Answer:
        channel, ts, _ = self._find_message(args)
        del self.messages[(channel, ts)]
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_get_permalink(self, args: Args) -> Answer:
        channel, ts, _ = self._find_message(args, ts_field="message_ts")
        slug = channel.lstrip("#")
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"{PERMALINK_BASE}/archives/{slug}/p{ts.replace('.', '')}",
        }

    def _files_get_upload_url(self, args: Args) -> Answer:
        filename = str(_require(args, "filename", "invalid_arguments"))
        try:
            length = int(_require(args, "length", "invalid_arguments"))
        except ValueError as err:
            raise _ApiError("invalid_arguments") from err
        file_id = self._next_id("F")
        self._uploads[file_id] = _PendingUpload(file_id=file_id, filename=filename, length=length)
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/v1/{file_id}"}

    def _files_complete_upload(self, args: Args) -> Answer:
        files = _require(args, "files", "invalid_arguments")
        if not isinstance(files, list):
            raise _ApiError("invalid_arguments")
        channel = args.get("channel_id") or None
        if channel is None and args.get("channels"):
            channel = str(args["channels"]).split(",")[0]
        answered: list[dict[str, Any]] = []
        uploads: list[tuple[_PendingUpload, str]] = []
        for item in files:
            upload = self._uploads.get(str(item.get("id")))
            if upload is None or upload.content is None:
                raise _ApiError("file_not_found" if upload is None else "file_upload_not_completed")
            uploads.append((upload, str(item.get("title") or upload.filename)))
        for upload, title in uploads:
            del self._uploads[upload.file_id]
            self.uploaded_files.append(
                {
                    "id": upload.file_id,
                    "filename": upload.filename,
                    "title": title,
                    "content": upload.content,
                    "channel_id": channel,
                    "thread_ts": args.get("thread_ts") or None,
                    "initial_comment": args.get("initial_comment") or None,
                }
            )
            answered.append(
                {
                    "id": upload.file_id,
                    "name": upload.filename,
                    "title": title,
                    "size": len(upload.content or b""),
                    "user": BOT_USER_ID,
                    "permalink": f"{PERMALINK_BASE}/files/{BOT_USER_ID}/{upload.file_id}/{upload.filename}",
                    "channels": [channel] if channel else [],
                }
            )
        return {"ok": True, "files": answered}

    def _store_view(self, view: Any, view_id: str | None = None) -> dict[str, Any]:
        if not isinstance(view, dict) or "type" not in view:
            raise _ApiError("invalid_arguments")
        stored = copy.deepcopy(view)
        stored.update(
            {
                "id": view_id or self._next_id("V"),
                "team_id": TEAM_ID,
                "app_id": "A0SANDBOX",
                "bot_id": BOT_ID,
                "hash": uuid.uuid4().hex[:16],
                "state": {"values": {}},
            }
        )
        self.views[stored["id"]] = stored
        return copy.deepcopy(stored)

    def _views_open(self, args: Args) -> Answer:
        _require(args, "trigger_id", "invalid_trigger_id")
        return {"ok": True, "view": self._store_view(args.get("view"))}

    def _views_update(self, args: Args) -> Answer:
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = next((vid for vid, v in self.views.items() if v.get("external_id") == args["external_id"]), None)
        if not view_id or view_id not in self.views:
            raise _ApiError("not_found")
        return {"ok": True, "view": self._store_view(args.get("view"), view_id=str(view_id))}

    def _views_publish(self, args: Args) -> Answer:
        _require(args, "user_id", "user_not_found")
        return {"ok": True, "view": self._store_view(args.get("view"))}

    def _conversations_info(self, args: Args) -> Answer:
        channel = str(_require(args, "channel", "channel_not_found"))
        return {"ok": True, "channel": self._channel_object(channel)}

    def _conversations_list(self, args: Args) -> Answer:
        seen = dict.fromkeys(list(self.channels) + [c for c, _ in self.messages] + sorted(self._joined))
        return {
            "ok": True,
            "channels": [self._channel_object(c) for c in seen],
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_join(self, args: Args) -> Answer:
        channel = str(_require(args, "channel", "channel_not_found"))
        self._joined.add(channel)
        return {"ok": True, "channel": self._channel_object(channel)}

    def _conversations_replies(self, args: Args) -> Answer:
        channel = str(_require(args, "channel", "channel_not_found"))
        ts = str(_require(args, "ts", "thread_not_found"))
        parent = self.messages.get((channel, ts))
        if parent is None:
            raise _ApiError("thread_not_found")
        replies = sorted(
            (m for (c, _), m in self.messages.items() if c == channel and m.get("thread_ts") == ts and m is not parent),
            key=lambda m: float(m["ts"]),
        )
        return {
            "ok": True,
            "messages": copy.deepcopy([parent, *replies]),
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_history(self, args: Args) -> Answer:
        channel = str(_require(args, "channel", "channel_not_found"))
        limit = int(args.get("limit") or 100)
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        top_level = [
            m
            for (c, _), m in self.messages.items()
            if c == channel and m.get("thread_ts", m["ts"]) == m["ts"] and oldest <= float(m["ts"]) <= latest
        ]
        top_level.sort(key=lambda m: float(m["ts"]), reverse=True)
        return {
            "ok": True,
            "messages": copy.deepcopy(top_level[:limit]),
            "has_more": len(top_level) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _users_info(self, args: Args) -> Answer:
        user = str(_require(args, "user", "user_not_found"))
        name = "cdc-bot" if user == BOT_USER_ID else user.lower()
        return {
            "ok": True,
            "user": {
                "id": user,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": name,
                "tz": "UTC",
                "tz_offset": 0,
                "is_bot": user == BOT_USER_ID,
                "deleted": False,
                "profile": {"display_name": name, "real_name": name, "email": f"{name}@sandbox.invalid"},
            },
        }

    def _usergroups_users_list(self, args: Args) -> Answer:
        group = str(_require(args, "usergroup", "no_such_subteam"))
        if group not in self.user_groups:
            raise _ApiError("no_such_subteam")
        return {"ok": True, "users": list(self.user_groups[group])}

    def _reactions_add(self, args: Args) -> Answer:
        name = str(_require(args, "name", "invalid_name"))
        _, _, found = self._find_message(args, ts_field="timestamp")
        reactions: list[dict[str, Any]] = found.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if BOT_USER_ID in reaction["users"]:
                    raise _ApiError("already_reacted")
                reaction["users"].append(BOT_USER_ID)
                reaction["count"] += 1
                break
        else:
            reactions.append({"name": name, "users": [BOT_USER_ID], "count": 1})
        return {"ok": True}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlackServer  # bound per server in FakeSlackServer.start
    server_version = "FakeSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # calls are recorded; stderr noise would drown test output

    def do_GET(self) -> None:
        self._dispatch(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._dispatch(self.rfile.read(length) if length else b"")

    def _dispatch(self, body: bytes) -> None:
        url = urlsplit(self.path)
        path = url.path
        content_type = self.headers.get("Content-Type") or ""
        if path.startswith("/api/"):
            self._api(path[len("/api/") :], url.query, content_type, body)
        elif path.startswith("/response_url/"):
            try:
                payload: Any = json.loads(body or b"{}")
            except json.JSONDecodeError:
                payload = dict(parse_qsl(body.decode("utf-8", errors="replace")))
            status, answer = self.fake.handle_response_url(path.rsplit("/", 1)[-1], payload)
            self._send_json(status, answer)
        elif path.startswith("/upload/v1/"):
            # slack_sdk posts the raw bytes (urllib labels them form-urlencoded); others send multipart
            content = body
            if content_type.startswith("multipart/form-data"):
                _, files = _parse_multipart(content_type, body)
                if files:
                    content = files.get("file", next(iter(files.values())))[1]
            status, text = self.fake.handle_upload(path.rsplit("/", 1)[-1], content)
            self._send(status, text.encode(), "text/plain; charset=utf-8")
        else:
            self._send(404, b"not found", "text/plain; charset=utf-8")

    def _api(self, method: str, query: str, content_type: str, body: bytes) -> None:
        args: Args = dict(parse_qsl(query, keep_blank_values=True))
        if content_type.startswith("application/json"):
            try:
                decoded = json.loads(body or b"{}")
            except json.JSONDecodeError:
                self._send_json(200, {"ok": False, "error": "invalid_json"})
                return
            if isinstance(decoded, dict):
                args.update(decoded)
        elif content_type.startswith("multipart/form-data"):
            fields, files = _parse_multipart(content_type, body)
            args.update(fields)
            args.update({name: content for name, (_, content) in files.items()})
        elif body:
            args.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        _decode_json_fields(args)
        token = args.pop("token", None)
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            token = auth[len("bearer ") :].strip()
        status, headers, answer = self.fake.handle_api(method, args, token)
        self._send_json(status, answer, headers)

    def _send_json(self, status: int, answer: Answer, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(answer).encode(), "application/json; charset=utf-8", headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

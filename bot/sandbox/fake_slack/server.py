"""The fake Slack server: lifecycle, recorded calls and waiting on them, fault injection, dispatch."""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

from bot.sandbox.fake_slack.methods import SlackMethods
from bot.sandbox.fake_slack.transport import SlackRequestHandler
from bot.sandbox.fake_slack.wire import Answer, Args, MethodError, PendingUpload, RecordedCall
from bot.sandbox.lifecycle import StartStop


class FakeSlackServer(SlackMethods, StartStop):
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
        self._server_errors: dict[str, deque[int]] = {}
        self._failures: dict[str, deque[str]] = {}
        self._uploads: dict[str, PendingUpload] = {}
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
        handler = type("_BoundHandler", (SlackRequestHandler,), {"fake": self})
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
            self._server_errors.clear()
            self._failures.clear()
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
            except MethodError as err:
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

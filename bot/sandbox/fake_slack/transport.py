"""The HTTP side: Web API calls, response_url posts and file uploads, decoded and handed to the server."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox.fake_slack.wire import Answer, Args, decode_json_fields, parse_multipart

if TYPE_CHECKING:
    from bot.sandbox.fake_slack.server import FakeSlackServer


class SlackRequestHandler(BaseHTTPRequestHandler):
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
                _, files = parse_multipart(content_type, body)
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
            fields, files = parse_multipart(content_type, body)
            args.update(fields)
            args.update({name: content for name, (_, content) in files.items()})
        elif body:
            args.update(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
        decode_json_fields(args)
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

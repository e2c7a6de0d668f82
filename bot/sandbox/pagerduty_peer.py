"""A local PagerDuty: REST API v2 and Events API v2 over HTTPS on 127.0.0.1.

The official `pagerduty` client accepts only https:// base URLs, so the peer serves TLS with a
throwaway CA made at start (`ca_path`); clients trust it by path. Behaves like PagerDuty for the
calls the bot makes: `Authorization: Token token=…` or 401; writes need a `From` header naming a
known user (400 otherwise); lists paginate with offset/limit/more/total; `/v2/enqueue` answers
202 and links a repeated dedup_key to the open incident. Every request is recorded, and
`outage()` makes the peer refuse connections, answer 500, or hang.

    with PagerDutyPeer(api_token="t0k") as peer:
        alice = peer.account.add_user("Alice", "alice@example.com")
        ...
        client = RestApiV2Client("t0k", base_url=peer.url, verify=peer.client_ssl_context())
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from bot.sandbox.pagerduty_account import ApiError, JsonObject, PagerDutyAccount
from bot.sandbox.throwaway_tls import LoopbackTls, make_loopback_tls

OutageMode = Literal["refused", "error", "hang"]

MAX_PAGE = 100  # PagerDuty caps `limit` at 100
ITERATION_LIMIT = 10_000  # offset + limit beyond this is refused, as PagerDuty does


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    from_header: str | None
    authorization: str | None
    body: Any
    status: int = 0


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., tuple[int, JsonObject]]
    rest: bool = True  # REST v2 needs the token; Events v2 authenticates by routing_key in the body


@dataclass
class _Outage:
    mode: OutageMode | None = None
    ended: threading.Event = field(default_factory=threading.Event)


class PagerDutyPeer:
    def __init__(self, api_token: str = "pd-sandbox-token", host: str = "127.0.0.1", port: int = 0) -> None:
        self.api_token = api_token
        self.account = PagerDutyAccount()
        self.requests: list[RecordedRequest] = []
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._outage = _Outage()
        self._tempdir = tempfile.TemporaryDirectory(prefix="pd-peer-")
        self._tls: LoopbackTls = make_loopback_tls(Path(self._tempdir.name), "PagerDuty peer")
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        self._routes = [
            _Route("GET", re.compile(r"/incidents"), self._list_incidents),
            _Route("GET", re.compile(r"/incidents/(?P<id>[^/]+)"), self._get_incident),
            _Route("PUT", re.compile(r"/incidents/(?P<id>[^/]+)"), self._put_incident),
            _Route("GET", re.compile(r"/incidents/(?P<id>[^/]+)/log_entries"), self._log_entries),
            _Route("GET", re.compile(r"/users"), self._users),
            _Route("GET", re.compile(r"/oncalls"), self._oncalls),
            _Route("GET", re.compile(r"/escalation_policies/(?P<id>[^/]+)"), self._escalation_policy),
            _Route("POST", re.compile(r"/v2/enqueue"), self._enqueue, rest=False),
        ]

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL of both APIs (REST v2 and Events v2 share the server; their paths differ)."""
        return f"https://{self._host}:{self._port}"

    @property
    def ca_path(self) -> Path:
        return self._tls.ca_path

    def client_ssl_context(self) -> ssl.SSLContext:
        """A context that trusts only the peer's throwaway CA (for raw `pagerduty` clients in tests)."""
        return self._tls.client_context()

    def start(self) -> PagerDutyPeer:
        self._listen()
        return self

    def stop(self) -> None:
        self._outage.ended.set()  # release hanging handlers
        self._close_listener()
        self._tempdir.cleanup()

    def __enter__(self) -> PagerDutyPeer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _listen(self) -> None:
        server = ThreadingHTTPServer((self._host, self._port), _handler_for(self))
        server.daemon_threads = True
        # Handshake lazily in the handler thread, so a client that never speaks TLS blocks no one else.
        server.socket = self._tls.server_context().wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="pagerduty-peer", daemon=True
        )
        self._thread.start()

    def _close_listener(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- outage switch --------------------------------------------------------------------------

    def outage(self, mode: OutageMode | None) -> None:
        """Simulate PagerDuty being down: "refused" (nothing listens on the port), "error" (HTTP 500),
        "hang" (accepts and never answers); None restores service on the same URL."""
        with self._lock:
            previous = self._outage
            if previous.mode == mode:
                return
            previous.ended.set()
            self._outage = _Outage(mode)
        if mode == "refused":
            self._close_listener()
            self._drop_connections()
        elif previous.mode == "refused":
            self._listen()

    def _drop_connections(self) -> None:
        # Kept-alive connections would still be served: a PagerDuty that is down answers no one.
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def _track(self, connection: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    # -- recording ------------------------------------------------------------------------------

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    # -- dispatch -------------------------------------------------------------------------------

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> tuple[int, JsonObject] | None:
        """Answer one request: (status, body), or None to hang up without answering."""
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        outage = self._outage
        status, answer = self._answer(method, parts.path, query, handler.headers, body, outage)
        self._record(
            RecordedRequest(
                method,
                parts.path,
                query,
                handler.headers.get("From"),
                handler.headers.get("Authorization"),
                body,
                0 if outage.mode == "hang" else status,  # 0: never answered
            )
        )
        if outage.mode == "hang":
            outage.ended.wait()  # until the outage ends or the peer stops
            return None
        return status, answer

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: Any, outage: _Outage
    ) -> tuple[int, JsonObject]:
        if outage.mode in ("error", "hang"):
            return 500, {"error": {"message": "Internal Server Error", "code": 2500}}
        for route in self._routes:
            match = route.pattern.fullmatch(path)
            if match is None or route.method != method:
                continue
            try:
                if route.rest and headers.get("Authorization") != f"Token token={self.api_token}":
                    raise ApiError(401, "Unauthorized", 2006)
                return route.handler(query=query, from_email=headers.get("From"), body=body, **match.groupdict())
            except ApiError as error:
                return error.status, error.body
        return 404, {"error": {"message": "Not Found", "code": 2100}}

    # -- endpoints ------------------------------------------------------------------------------

    def _list_incidents(self, query: dict[str, list[str]], **_: Any) -> tuple[int, JsonObject]:
        return _page("incidents", self.account.list_incidents(query), query)

    def _get_incident(self, id: str, **_: Any) -> tuple[int, JsonObject]:
        return 200, self.account.get_incident(id)

    def _put_incident(self, id: str, from_email: str | None, body: Any, **_: Any) -> tuple[int, JsonObject]:
        return 200, self.account.update_incident(id, from_email, body)

    def _log_entries(self, id: str, query: dict[str, list[str]], **_: Any) -> tuple[int, JsonObject]:
        return _page("log_entries", self.account.log_entries(id), query)

    def _users(self, query: dict[str, list[str]], **_: Any) -> tuple[int, JsonObject]:
        return _page("users", self.account.find_users((query.get("query") or [""])[-1]), query)

    def _oncalls(self, query: dict[str, list[str]], **_: Any) -> tuple[int, JsonObject]:
        include_users = "users" in query.get("include[]", [])
        entries = self.account.oncalls(query.get("escalation_policy_ids[]", []), include_users)
        return _page("oncalls", entries, query)

    def _escalation_policy(self, id: str, **_: Any) -> tuple[int, JsonObject]:
        return 200, self.account.escalation_policy(id)

    def _enqueue(self, body: Any, **_: Any) -> tuple[int, JsonObject]:
        return self.account.enqueue(body)


def _page(wrapper: str, items: list[JsonObject], query: dict[str, list[str]]) -> tuple[int, JsonObject]:
    """Classic pagination: `limit` (default 25, at most 100), `offset`, `more`; `total` only when asked."""
    try:
        limit = min(int((query.get("limit") or ["25"])[-1]), MAX_PAGE)
        offset = int((query.get("offset") or ["0"])[-1])
    except ValueError:
        raise ApiError(400, "Invalid Input Provided", 2001, ["limit and offset must be integers"]) from None
    if limit < 1 or offset < 0:
        raise ApiError(400, "Invalid Input Provided", 2001, ["limit and offset must be positive"])
    if offset + limit > ITERATION_LIMIT:
        raise ApiError(400, "Invalid Input Provided", 2001, [f"Offset must be less than {ITERATION_LIMIT}"])
    want_total = (query.get("total") or ["false"])[-1] == "true"
    return 200, {
        wrapper: items[offset : offset + limit],
        "limit": limit,
        "offset": offset,
        "more": offset + limit < len(items),
        "total": len(items) if want_total else None,
    }


def _handler_for(peer: PagerDutyPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._serve("GET")

        def do_PUT(self) -> None:  # noqa: N802
            self._serve("PUT")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def _serve(self, method: str) -> None:
            answer = peer.handle(self, method)
            if answer is None:
                self.close_connection = True
                return
            status, body = answer
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def setup(self) -> None:
            super().setup()
            # Headers and body go out as separate writes: without NODELAY, Nagle and delayed ACKs
            # add ~40 ms to every kept-alive request.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer._track(self.connection, open_=True)

        def finish(self) -> None:
            peer._track(self.connection, open_=False)
            with contextlib.suppress(OSError):
                super().finish()

        def handle(self) -> None:
            # A client that gives up mid-request (timeouts, outage tests) must not print tracebacks.
            with contextlib.suppress(OSError):  # timeouts and resets are OSErrors
                super().handle()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
            pass

    return Handler

"""The server itself: loopback HTTP, lifecycle, client configuration, and seeding helpers for tests."""

from __future__ import annotations

import copy
import http.server
import json
import threading
from typing import Any

import kubernetes

from bot.sandbox.fake_kube.model import BUILTIN_RESOURCES, DEFAULT_NAMESPACES, Obj
from bot.sandbox.fake_kube.routing import ApiRoutes
from bot.sandbox.kube_rbac import CLUSTER_ADMIN_TOKEN, Authorizer
from bot.sandbox.lifecycle import StartStop

# --- HTTP plumbing ----------------------------------------------------------------------------------


class _HTTPServer(http.server.ThreadingHTTPServer):
    # handler threads may be sleeping in an injected latency; they must not keep stop() waiting
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeKubeServer) -> None:
        super().__init__(address, _Handler)
        self.fake = fake


class _Handler(http.server.BaseHTTPRequestHandler):
    # keep-alive, as the client's urllib3 pool expects; every response carries Content-Length
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes; with Nagle on, delayed ACKs add ~40 ms to each request
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep the demo console and the pytest output quiet

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        rbac = self.server.fake.rbac  # the bot's Role, checked when set (bot.sandbox.kube_rbac)
        denied = rbac.check(method, self.path, self.headers.get("Authorization")) if rbac is not None else None
        code, payload = (
            (403, denied)
            if denied
            else self.server.fake._serve(method, self.path, self.headers.get("Content-Type", ""), raw)
        )
        if isinstance(payload, str):
            body, content_type = payload.encode(), "text/plain; charset=utf-8"
        else:
            body, content_type = json.dumps(payload).encode(), "application/json"
        try:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # the client gave up (e.g. its _request_timeout fired during an injected latency)
            self.close_connection = True


class FakeKubeServer(ApiRoutes, StartStop):
    """In-memory Kubernetes API server; see the package docstring.

    Thread-safe: one re-entrant lock guards the store, so HTTP handlers, controller timers and
    the seeding helpers (put/get/list/...) can run concurrently.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, controller_delay: float = 0.0) -> None:
        super().__init__(controller_delay=controller_delay)
        self._latency = 0.0
        self._failure = None
        self.requests = []
        for rt in BUILTIN_RESOURCES:
            self.register_resource(rt)
        for namespace in DEFAULT_NAMESPACES:
            self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        # bind now so that url and configuration() are usable before start()
        self._http = _HTTPServer((host, port), self)
        self._thread: threading.Thread | None = None
        self.rbac: Authorizer | None = None
        bound_host, bound_port = self._http.server_address[:2]
        self.url = f"http://{bound_host!s}:{bound_port}"

    # lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FakeKubeServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-kube", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in an injected latency
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._http.server_close()

    # client configuration --------------------------------------------------------------------------------

    def configuration(self) -> kubernetes.client.Configuration:
        configuration = kubernetes.client.Configuration()
        configuration.host = self.url
        configuration.verify_ssl = False
        configuration.proxy = None  # loopback traffic must never go to an HTTP(S)_PROXY from the environment
        configuration.api_key = {"authorization": f"Bearer {CLUSTER_ADMIN_TOKEN}"}  # tests' own actors, not the bot
        return configuration

    def write_kubeconfig(self, path: str, context: str = "sandbox", namespace: str = "kafka") -> None:
        # JSON is valid YAML, so the kubeconfig needs no YAML library
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}],
            "current-context": context,
            "preferences": {},
        }
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(kubeconfig, handle, indent=2)

    # seeding and inspection ----------------------------------------------------------------------------

    # seeding and inspection ----------------------------------------------------------------------------

    def put(self, obj: Obj) -> Obj:
        """Create or replace an object as given, status included, and let the controller react.

        Fills metadata (uid, resourceVersion, creationTimestamp, generation, labels, annotations)
        and creates a missing namespace, so a demo or test can seed state in any order. A Pod
        given without `status` gets a Running, Ready one.
        """
        with self._lock:
            rt = self._kind(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
            metadata = obj.get("metadata") or {}
            name = metadata.get("name")
            if not name:
                raise ValueError("put() needs metadata.name")
            namespace = (metadata.get("namespace") or "default") if rt.namespaced else None
            if namespace is not None and self._lookup(self._kind("v1", "Namespace"), None, namespace) is None:
                self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
            new = self._check_body(rt, namespace, obj, name)
            old = self._lookup(rt, namespace, name)
            if rt.kind == "Secret":
                self._normalize_secret(rt, new)
            if rt.kind == "Namespace":
                new.setdefault("spec", {"finalizers": ["kubernetes"]})
                new.setdefault("status", {"phase": "Active"})
            if rt.kind == "Pod" and "status" not in new:
                # a seeded pod without status is taken as scheduled and running, as the kubelet would make it
                self._default_pod_spec(new.setdefault("spec", {}), name)
                new["status"] = self._pod_status(new, ready=True)
            self._fill_metadata(new, old)
            saved = self._save(new)
            self._after_write(rt, old, saved)
            return copy.deepcopy(self._objects.get(self._key(rt, namespace, name), saved))

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj | None:
        with self._lock:
            found = self._lookup(self._kind(api_version, kind), namespace, name)
            return copy.deepcopy(found) if found is not None else None

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[Obj]:
        with self._lock:
            rt = self._kind(api_version, kind)
            return self._select(rt, namespace, label_selector, None)

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> bool:
        """Delete as the API would (garbage collection and controllers react); False if missing."""
        with self._lock:
            rt = self._kind(api_version, kind)
            found = self._lookup(rt, namespace, name)
            if found is None:
                return False
            self._remove(rt, found, direct=True)
            return True

    def set_latency(self, seconds: float) -> None:
        with self._lock:
            self._latency = max(0.0, seconds)

    def set_failure(self, status: int | None) -> None:
        with self._lock:
            self._failure = status

"""`cdc-bot serve`: HTTP mode on waitress (a production WSGI server), or Socket Mode.

Both modes serve /healthz, /readyz and /metrics for Kubernetes probes and Prometheus; HTTP
mode also serves bolt on /slack/events.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import make_wsgi_app
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app.wiring import build_bot, build_services
from bot.core.config import Config
from bot.services import Services
from bot.slack.client import make_web_client

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _plain(start_response: Callable[..., Any], status: str, body: str) -> list[bytes]:
    data = body.encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))])
    return [data]


def make_wsgi(services: Services, bolt_app: App | None) -> WSGIApp:
    """One WSGI app: bolt on /slack/events, probes and metrics beside it."""
    slack_handler = SlackRequestHandler(bolt_app) if bolt_app is not None else None
    metrics = make_wsgi_app()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/slack/events" and slack_handler is not None:
            return slack_handler(environ, start_response)
        if path == "/healthz":
            return _plain(start_response, "200 OK", "ok\n")
        if path == "/readyz":
            try:
                services.store.ping()
            except Exception as exc:  # the state store is what the bot cannot work without
                return _plain(start_response, "503 Service Unavailable", f"state store unreachable: {exc}\n")
            return _plain(start_response, "200 OK", "ready\n")
        if path == "/metrics":
            return metrics(environ, start_response)
        return _plain(start_response, "404 Not Found", "not found\n")

    return application


def serve(config: Config, host: str = "0.0.0.0", port: int = 3000, scheduler: bool = True, threads: int = 32) -> int:
    from waitress.server import create_server

    services = build_services(config)
    client = make_web_client()
    app_token = os.environ.get("SLACK_APP_TOKEN")
    signing_secret = os.environ.get("SLACK_SIGNING_SECRET")
    if not os.environ.get("SLACK_BOT_TOKEN"):
        log.error("SLACK_BOT_TOKEN is not set")
        return 2
    if not app_token and not signing_secret:
        log.error("HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for Socket Mode)")
        return 2
    bot = build_bot(services, client=client, signing_secret=signing_secret, verify_requests=not app_token)
    # Built, nothing running yet: the sweepers and (unless --no-scheduler) the scheduler start here.
    bot.start(scheduler=scheduler)
    server = create_server(
        make_wsgi(services, None if app_token else bot.app), host=host, port=port, threads=threads, ident="cdc-bot"
    )
    stop = threading.Event()

    def shutdown(*_args: object) -> None:
        stop.set()
        server.close()

    signal.signal(signal.SIGTERM, shutdown)
    socket_mode = None
    if app_token:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        socket_mode = SocketModeHandler(bot.app, app_token)
        socket_mode.connect()
        log.info("Socket Mode connected; probes and metrics on http://%s:%d", host, port)
    else:
        log.info("listening on http://%s:%d/slack/events", host, port)
    try:
        server.run()
    except (KeyboardInterrupt, OSError):
        pass
    finally:
        # Running workflows stop at their next poll and release their leases: another replica resumes them.
        bot.close()
        if socket_mode is not None:
            socket_mode.close()
    return 0

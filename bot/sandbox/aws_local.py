"""A local AWS: moto's threaded server, reached through the standard AWS_ENDPOINT_URL."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.sandbox.lifecycle import StartStop
from bot.sandbox.ports import free_port, wait_for_port

if TYPE_CHECKING:  # moto is an optional dependency (the sandbox extra)
    from moto.server import ThreadedMotoServer

SANDBOX_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "sandbox",
    "AWS_SECRET_ACCESS_KEY": "sandbox",
}


class LocalAws(StartStop):
    def __init__(self) -> None:
        self.port = 0
        self._server: ThreadedMotoServer | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self, region: str) -> dict[str, str]:
        """What a process needs to talk to this server: boto3's own variables, nothing bespoke."""
        return {
            **SANDBOX_CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
        }

    def start(self) -> LocalAws:
        try:
            from moto.server import ThreadedMotoServer
        except ImportError:
            raise RuntimeError("the AWS sandbox needs moto: pip install 'cdc-bot[sandbox]'") from None
        # moto's server logs every request through werkzeug; the bot's own logs matter more here.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.port = free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

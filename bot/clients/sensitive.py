"""Keep secret values out of the log: client libraries log request and response bodies at DEBUG.

botocore logs every request's parameters (`botocore.endpoint`) and every response body
(`botocore.parsers`) at DEBUG, so a Secrets Manager call would write the password into any
DEBUG log. Calls that carry a secret run inside `sensitive()`: while it is active, records from
those loggers in the same thread are dropped. Other threads keep logging normally.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Loggers that write payloads (bodies, parameters) of the calls they make.
PAYLOAD_LOGGERS = ("botocore.endpoint", "botocore.parsers", "urllib3.connectionpool", "kubernetes.client.rest")

_state = threading.local()
_install_lock = threading.Lock()
_installed = False


class _DropWhileSensitive(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Logger filters run in the thread that logs, so the thread-local flag is the caller's.
        return not getattr(_state, "depth", 0)


_FILTER = _DropWhileSensitive()


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        for name in PAYLOAD_LOGGERS:
            logging.getLogger(name).addFilter(_FILTER)
        _installed = True


@contextmanager
def sensitive() -> Iterator[None]:
    """Run a backend call whose request or answer holds a secret, with payload logging off."""
    _install()
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1

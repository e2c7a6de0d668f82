"""The one lifecycle every sandbox backend has: `start()`, `stop()`, and `with` doing both."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self


class StartStop(ABC):
    """`with Backend() as backend:` starts it and stops it on the way out, error or not."""

    @abstractmethod
    def start(self) -> object:
        """Start the backend (idempotent where the backend allows it) and return it."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the backend and release what it holds; safe to call when not started."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

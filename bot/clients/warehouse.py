"""redshift_connector adapter: password from the environment or IAM temporary credentials."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redshift_connector

from bot.clients.base import BackendError, QueryResult
from bot.core.config import RedshiftSettings

CredentialsProvider = Callable[[str, str, str], tuple[str, str]]


class RedshiftWarehouse:
    def __init__(
        self, settings: RedshiftSettings, timeout: float = 5.0, iam_credentials: CredentialsProvider | None = None
    ) -> None:
        self._settings = settings
        self._timeout = timeout
        self._iam_credentials = iam_credentials

    def describe(self) -> str:
        s = self._settings
        return f"{s.user}@{s.host}:{s.port}/{s.database}"

    def _credentials(self) -> tuple[str, str]:
        s = self._settings
        if s.iam:
            if self._iam_credentials is None or s.cluster_identifier is None:
                raise BackendError("Redshift IAM auth needs AWS access and a cluster_identifier")
            return self._iam_credentials(s.cluster_identifier, s.user, s.database)
        if s.password_file:
            try:
                return s.user, Path(s.password_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise BackendError(f"cannot read Redshift password_file: {exc.strerror}") from None
        password = os.environ.get(s.password_env or "")
        if password is None:
            raise BackendError(f"Redshift password variable {s.password_env} is not set")
        return s.user, password

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> QueryResult:
        user, password = self._credentials()
        s = self._settings
        try:
            # `timeout` bounds the connect and every socket read, so a hung cluster cannot stall a check.
            conn = redshift_connector.connect(
                host=s.host,
                port=s.port,
                database=s.database,
                user=user,
                password=password,
                ssl=s.ssl,
                timeout=max(1, int(self._timeout)),
            )
        except Exception as exc:  # the driver raises many types (socket, interface, programming)
            raise BackendError(f"cannot connect to Redshift at {s.host}:{s.port}: {_first_line(exc)}") from None
        try:
            cursor = conn.cursor()
            cursor.execute(sql, params or None)
            columns = [d[0] for d in cursor.description or []]
            rows = [tuple(r) for r in (cursor.fetchall() or [])] if cursor.description else []
            return QueryResult(columns=columns, rows=rows)
        except redshift_connector.ProgrammingError as exc:
            raise QueryError(_server_message(exc)) from None
        except Exception as exc:
            raise BackendError(f"Redshift query failed: {_first_line(exc)}") from None
        finally:
            # Closing a broken connection must not hide the real error.
            with contextlib.suppress(Exception):
                conn.close()


class QueryError(BackendError):
    """The warehouse answered, but rejected the query (missing table or column, syntax)."""


def _server_message(exc: Exception) -> str:
    # redshift_connector puts the server's fields in a dict-like first argument.
    arg = exc.args[0] if exc.args else exc
    if isinstance(arg, dict):
        return str(arg.get("M") or arg)
    return _first_line(exc)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]

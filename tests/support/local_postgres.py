"""A throwaway PostgreSQL cluster for tests and benchmarks.

    from tests.support.local_postgres import LocalPostgres

    with LocalPostgres(max_connections=40, superuser_reserved_connections=3) as pg:
        conn = pg.connect()            # pg8000.native.Connection as the test role
        print(pg.host, pg.port, pg.user, pg.password, pg.dbname)

What it does: ``initdb`` into a new temporary directory, password (SCRAM)
authentication for TCP, a non-superuser test role owning a test database,
listening on a free loopback port only; ``start()`` waits until the server
accepts connections and ``stop()`` (also run by ``with`` and at interpreter
exit) stops it and deletes the directory. Durability is switched off
(``fsync=off``): the data is thrown away anyway.

PostgreSQL refuses to run as root, so when this process is root the server
binaries run as the ``postgres`` OS user (``runuser``), which Debian's
``postgresql`` package creates. Binaries are found through ``PG_BIN_DIR``,
``initdb`` on PATH, or ``/usr/lib/postgresql/<version>/bin`` (newest first).
Without them :class:`PostgresNotInstalled` says what to install; nothing is
skipped silently.

Standalone: only the standard library, plus pg8000 (imported lazily) to create
the role and for :meth:`LocalPostgres.connect`. ``python tests/support/local_postgres.py``
starts a server and prints its connection settings until Ctrl-C.
"""

from __future__ import annotations

import importlib
import os
import re
import secrets
import shlex
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.support.throwaway_server import (
    DEFAULT_URL_PARAMS,
    ThrowawayServer,
    free_port,
    serve_until_interrupted,
)

__all__ = ["DEFAULT_URL_PARAMS", "LocalPostgres", "PostgresNotInstalled", "PostgresStartError",
           "find_bin_dir", "free_port"]

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH, in $PG_BIN_DIR or in "
    "/usr/lib/postgresql/*/bin. The runtime tests need a real server: install Debian's "
    "`postgresql` package (sudo apt-get install postgresql), or point PG_BIN_DIR at a bin directory."
)


class PostgresNotInstalled(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


class PostgresStartError(RuntimeError):
    """initdb or pg_ctl failed; the message carries the server log's tail."""


def find_bin_dir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``."""
    candidates: list[Path] = []
    if os.environ.get("PG_BIN_DIR"):
        candidates.append(Path(os.environ["PG_BIN_DIR"]))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", path.parent.name)) or (0,)

    candidates.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=version, reverse=True))
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    raise PostgresNotInstalled(INSTALL_HINT)


class LocalPostgres(ThrowawayServer):
    """One private PostgreSQL server; see the module docstring."""

    ENGINE = "postgres"
    DIR_PREFIX = "dp-pg-"
    StartError = PostgresStartError

    def __init__(
        self,
        *,
        max_connections: int = 40,
        superuser_reserved_connections: int = 3,
        user: str = "dp_test",
        password: str | None = None,
        dbname: str = "dp_test",
        superuser: str = "postgres",
        ssl: bool = False,
        settings: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        base_dir: str | None = None,
    ) -> None:
        if max_connections <= superuser_reserved_connections:
            raise ValueError(f"max_connections={max_connections} must exceed "
                             f"superuser_reserved_connections={superuser_reserved_connections}")
        for name in (user, dbname, superuser):
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                raise ValueError(f"{name!r}: use a lowercase SQL identifier")
        super().__init__(host=host, user=user, password=password or secrets.token_hex(16), dbname=dbname,
                         base_dir=base_dir)
        self.max_connections = max_connections
        self.superuser_reserved_connections = superuser_reserved_connections
        self.superuser = superuser
        self.superuser_password = secrets.token_hex(16)
        self.ssl = ssl
        self.settings = dict(settings or {})
        self.bin_dir: Path | None = None
        self._running = False

    # ------------------------------------------------------------------ paths

    @property
    def data_dir(self) -> Path:
        return self._root / "data"

    @property
    def log_path(self) -> Path:
        return self._root / "postgres.log"

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self._running

    def _start(self) -> None:
        """initdb, start and create the test role and database."""
        self.bin_dir = find_bin_dir()
        self._own(self._root)
        self._initdb()
        self._configure()
        self._start_server()
        self._create_role_and_database()

    def _stop(self) -> None:
        """pg_ctl stop, immediately: the data is discarded."""
        if self._running and self.bin_dir is not None and self.root is not None:
            self._running = False
            self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate",
                       "-w", "-t", "30", "stop"], timeout=60)

    def go_down(self, mode: str = "fast") -> None:
        """Stop the server but keep its data and port: ``fast`` (sessions get admin_shutdown, a clean
        checkpoint: a restart) or ``immediate`` (processes killed, crash recovery on the next start)."""
        if mode not in ("fast", "immediate") or self.bin_dir is None or not self._running:
            raise ValueError(f"cannot stop in mode {mode!r} (running: {self._running})")
        result = self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w",
                            "-t", "60", "stop"], timeout=90)
        if result.returncode != 0:
            raise PostgresStartError(f"pg_ctl stop -m {mode} failed:\n{result.stdout}\n{result.stderr}")
        self._running = False

    def come_back(self) -> None:
        """Start again on the same port after :meth:`go_down`; returns once it accepts connections."""
        assert self.bin_dir is not None
        result = self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_path),
                            "-w", "-t", "60", "-o", f"-p {self.port}", "start"], timeout=90)
        if result.returncode != 0:
            raise PostgresStartError(f"pg_ctl start failed:\n{result.stdout}\n{result.stderr}\n"
                                     f"{self._log_tail()}")
        self._running = True

    def restart(self, *, mode: str = "fast") -> None:
        """Stop the server and start it again on the same port, keeping its data.

        ``mode``: ``fast`` (a clean shutdown: sessions get admin_shutdown, 57P01) or
        ``immediate`` (like a crash: backends are killed, recovery runs at start).
        """
        self.go_down(mode)
        self.come_back()

    # ------------------------------------------------------------------ clients

    def connect(self, *, user: str | None = None, password: str | None = None, dbname: str | None = None,
                application_name: str | None = None, **kwargs: Any) -> Any:
        """A ``pg8000.native.Connection`` (default: the test role on the test database, no TLS)."""
        native = importlib.import_module("pg8000.native")
        if user is None:
            user, password = self.user, self.password
        kwargs.setdefault("ssl_context", False)
        return native.Connection(
            user, host=self.host, port=self.port, database=dbname or self.dbname, password=password,
            application_name=application_name, **kwargs)

    def admin(self, *, dbname: str | None = None) -> Any:
        """A superuser connection (for pg_stat_activity, pg_terminate_backend, ...)."""
        return self.connect(user=self.superuser, password=self.superuser_password, dbname=dbname)

    # ------------------------------------------------------------------ internals

    def _as_server_user(self, cmd: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return cmd
        if shutil.which("runuser"):
            return ["runuser", "-u", "postgres", "--", *cmd]
        return ["su", "-s", "/bin/sh", "postgres", "-c", shlex.join(cmd)]

    def _own(self, path: Path) -> None:
        """As root, hand ``path`` to the postgres OS user (the server refuses to run as root)."""
        if os.geteuid() != 0:
            return
        import pwd

        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresStartError(
                "running as root needs a 'postgres' OS user to own the cluster; install Debian's "
                "`postgresql` package (it creates the user) or run the tests as a normal user") from None
        os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, cmd: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        return subprocess.run(self._as_server_user(cmd), cwd=self._root, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def _write(self, path: Path, text: str, mode: int = 0o600) -> None:
        path.write_text(text)
        path.chmod(mode)
        self._own(path)

    def _initdb(self) -> None:
        assert self.bin_dir is not None
        pwfile = self._root / "pwfile"
        self._write(pwfile, self.superuser_password + "\n")
        result = self._run([str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", self.superuser,
                            f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=scram-sha-256",
                            "-E", "UTF8", "--locale=C", "--no-sync"], timeout=120)
        pwfile.unlink()
        if result.returncode != 0:
            raise PostgresStartError(
                f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def _configure(self) -> None:
        lines = {
            "listen_addresses": f"'{self.host}'",
            "unix_socket_directories": f"'{self._root}'",
            "max_connections": str(self.max_connections),
            "superuser_reserved_connections": str(self.superuser_reserved_connections),
            "password_encryption": "'scram-sha-256'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "'16MB'",
            "log_min_messages": "warning",
        }
        if self.ssl:
            self._make_certificate()
            lines.update(ssl="on", ssl_cert_file=f"'{self.cert_path}'", ssl_key_file=f"'{self.key_path}'")
        lines.update(self.settings)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# deploy-paradigms LocalPostgres\n")
            conf.writelines(f"{key} = {value}\n" for key, value in lines.items())

    def _make_certificate(self) -> None:
        super()._make_certificate()
        self._own(self.key_path)  # the server (the postgres OS user, as root) must read them
        self._own(self.cert_path)

    def _start_server(self) -> None:
        assert self.bin_dir is not None
        last_log = ""
        for _attempt in range(3):  # a free port can be taken between probing and binding
            self.port = free_port(self.host)
            result = self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l",
                                str(self.log_path), "-w", "-t", "60", "-o", f"-p {self.port}", "start"],
                               timeout=90)
            if result.returncode == 0:
                self._running = True
                return
            last_log = self._log_tail()
            if "already in use" not in last_log:
                break
        raise PostgresStartError(f"pg_ctl start failed:\n{result.stdout}\n{result.stderr}\n{last_log}")

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _create_role_and_database(self) -> None:
        native = importlib.import_module("pg8000.native")
        deadline = time.monotonic() + 10
        while True:
            try:
                admin = self.admin(dbname="postgres")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        try:
            ident, literal = native.identifier, native.literal
            admin.run(f"CREATE ROLE {ident(self.user)} LOGIN PASSWORD {literal(self.password)}")
            admin.run(f"CREATE DATABASE {ident(self.dbname)} OWNER {ident(self.user)}")
        finally:
            admin.close()


def main() -> None:
    """Start a server and print its settings until interrupted (for benchmarks and debugging)."""
    pg = LocalPostgres()
    serve_until_interrupted(pg, f"superuser {pg.superuser} password {pg.superuser_password}")


if __name__ == "__main__":
    main()


def empty_sample_posts(server: LocalPostgres, *also_drop: str) -> None:
    """The sample catalog's ``posts`` table on ``server``, created if needed, with no rows and ids from 1
    (and the ``also_drop`` tables gone)."""
    from deploy_paradigms.catalog import sample_catalog

    conn = server.connect()
    try:
        for statement in sample_catalog().schema:
            conn.run(statement)
        conn.run("TRUNCATE posts RESTART IDENTITY")
        for table in also_drop:
            conn.run(f"DROP TABLE IF EXISTS {table}")
    finally:
        conn.close()

"""A throwaway MariaDB server for tests of the runtime's MySQL-family path.

    from tests.support.local_mysql import LocalMySQL

    with LocalMySQL(max_connections=12, ssl=True) as db:
        conn = db.connect()            # pymysql Connection as the test user, autocommit
        print(db.host, db.port, db.user, db.password, db.dbname)

What it does: ``mariadb-install-db`` into a new temporary directory, then its
own ``mariadbd`` (never the system service, never /etc/mysql/*.cnf:
``--no-defaults``) with its data directory, socket, pid file and log in that
directory, listening on a free loopback port only, host names not resolved.
An init file creates a test database, a test user owning it and an admin user
(all privileges, so it may ``KILL`` any session and gets MariaDB's one extra
connection above ``max_connections``). Both users authenticate with
``mysql_native_password`` (MariaDB's default), which PyMySQL speaks without
optional packages (``ed25519`` would need PyNaCl, ``caching_sha2_password``
over plaintext needs ``cryptography``). ``start()`` waits until the server
accepts connections; ``stop()`` (also run by ``with`` and at interpreter exit)
stops it and deletes the directory. Durability is switched off: the data is
thrown away anyway.

``ssl=True`` gives the server a self-signed certificate made by ``openssl``
(CN=localhost, SAN 127.0.0.1); ``require_secure_transport=True`` makes it
refuse plaintext sessions as well.

mariadbd refuses to run as root unless told to, so as root it gets
``--user=root`` (the data directory is ours; no ``mysql`` OS user needed).
Binaries are found through ``MARIADB_BIN_DIR``, PATH, ``/usr/sbin`` and
``/usr/bin``. Without them :class:`MySQLNotInstalled` says what to install;
nothing is skipped silently.

Standalone apart from PyMySQL (imported lazily, for :meth:`LocalMySQL.connect`).
``python -m tests.support.local_mysql`` starts a server and prints its
connection settings until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import secrets
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

__all__ = ["DEFAULT_URL_PARAMS", "LocalMySQL", "MySQLNotInstalled", "MySQLStartError", "find_binaries"]

INSTALL_HINT = (
    "MariaDB server binaries (mariadbd, mariadb-install-db) were not found on PATH, in $MARIADB_BIN_DIR, "
    "/usr/sbin or /usr/bin. The runtime's MySQL tests need a real server: install Debian's "
    "`mariadb-server` package (sudo apt-get install mariadb-server; the tests start their own server, "
    "the system service is not used), or point MARIADB_BIN_DIR at a directory holding both."
)

# Small and fast rather than durable or big.
_SERVER_OPTIONS = (
    "--innodb-buffer-pool-size=16M",
    "--innodb-log-file-size=4M",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--innodb-fast-shutdown=2",
    "--performance-schema=OFF",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
)


class MySQLNotInstalled(RuntimeError):
    """No MariaDB server binaries on this machine."""


class MySQLStartError(RuntimeError):
    """mariadb-install-db or mariadbd failed; the message carries the server log's tail."""


def find_binaries() -> tuple[Path, Path]:
    """``(mariadbd, mariadb-install-db)``."""
    dirs: list[Path] = []
    if os.environ.get("MARIADB_BIN_DIR"):
        dirs.append(Path(os.environ["MARIADB_BIN_DIR"]))

    def find(names: tuple[str, ...]) -> Path | None:
        for directory in (*dirs, None, Path("/usr/sbin"), Path("/usr/bin")):
            for name in names:
                found = shutil.which(name, path=None if directory is None else str(directory))
                if found:
                    return Path(found)
        return None

    server = find(("mariadbd", "mysqld"))
    install = find(("mariadb-install-db", "mysql_install_db"))
    if server is None or install is None:
        raise MySQLNotInstalled(INSTALL_HINT)
    return server, install


def _literal(value: str) -> str:
    """A MariaDB string literal (the default sql_mode treats backslash as an escape)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class LocalMySQL(ThrowawayServer):
    """One private MariaDB server; see the module docstring."""

    ENGINE = "mariadb"
    DIR_PREFIX = "dp-mysql-"
    StartError = MySQLStartError

    def __init__(
        self,
        *,
        max_connections: int = 40,
        user: str = "dp_test",
        password: str | None = None,
        dbname: str = "dp_test",
        admin_user: str = "dp_admin",
        ssl: bool = False,
        require_secure_transport: bool = False,
        settings: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        base_dir: str | None = None,
    ) -> None:
        if max_connections < 2:
            raise ValueError(f"max_connections={max_connections}: the tests need at least 2")
        if require_secure_transport and not ssl:
            raise ValueError("require_secure_transport=True needs ssl=True")
        for name in (user, dbname, admin_user):
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                raise ValueError(f"{name!r}: use a lowercase SQL identifier")
        super().__init__(host=host, user=user, password=password or secrets.token_hex(16), dbname=dbname,
                         base_dir=base_dir)
        self.max_connections = max_connections
        self.admin_user = admin_user
        self.admin_password = secrets.token_hex(16)
        self.ssl = ssl
        self.require_secure_transport = require_secure_transport
        self.settings = dict(settings or {})
        self.server_bin: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ paths

    @property
    def data_dir(self) -> Path:
        return self._root / "data"

    @property
    def log_path(self) -> Path:
        return self._root / "mariadb.log"

    @property
    def socket_path(self) -> Path:
        return self._root / "mariadb.sock"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        return self._process is not None

    def _start(self) -> None:
        """Install the system tables, start the server with the test users."""
        self.server_bin, install_bin = find_binaries()
        self._install_db(install_bin)
        if self.ssl:
            self._make_certificate()
        self._start_server()

    def _stop(self) -> None:
        """SIGTERM; SIGKILL after 15 s."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)

    # ------------------------------------------------------------------ clients

    def connect(self, *, user: str | None = None, password: str | None = None, database: str | None = None,
                **kwargs: Any) -> Any:
        """A PyMySQL connection, autocommit (default: the test user on the test database).

        Plaintext unless the server requires TLS (then TLS without verification).
        """
        pymysql = importlib.import_module("pymysql")
        if user is None:
            user, password = self.user, self.password
        if self.require_secure_transport:
            kwargs.setdefault("ssl", {"verify_mode": False, "check_hostname": False})
        else:
            kwargs.setdefault("ssl_disabled", True)
        kwargs.setdefault("autocommit", True)
        kwargs.setdefault("connect_timeout", 5)
        return pymysql.connect(host=self.host, port=self.port, user=user, password=password,
                               database=database or self.dbname, **kwargs)

    def admin(self, **kwargs: Any) -> Any:
        """A connection as the admin user (may KILL any session, has the extra connection)."""
        return self.connect(user=self.admin_user, password=self.admin_password, **kwargs)

    # ------------------------------------------------------------------ internals

    def _run(self, cmd: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MYSQL")}
        env.update(LC_ALL="C", LANG="C")
        return subprocess.run(cmd, cwd=self._root, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def _as_root_flag(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def _install_db(self, install_bin: Path) -> None:
        result = self._run([str(install_bin), "--no-defaults", f"--datadir={self.data_dir}",
                            "--auth-root-authentication-method=normal", "--skip-test-db",
                            "--skip-name-resolve", *self._as_root_flag(), *_SERVER_OPTIONS], timeout=120)
        if result.returncode != 0:
            raise MySQLStartError(
                f"mariadb-install-db failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def _init_sql(self) -> str:
        db, user, admin = f"`{self.dbname}`", f"'{self.user}'@'%'", f"'{self.admin_user}'@'%'"
        return "".join(f"{line};\n" for line in (
            f"CREATE DATABASE {db}",
            f"CREATE USER {user} IDENTIFIED VIA mysql_native_password "
            f"USING PASSWORD({_literal(self.password)})",
            f"GRANT ALL PRIVILEGES ON {db}.* TO {user}",
            f"CREATE USER {admin} IDENTIFIED VIA mysql_native_password "
            f"USING PASSWORD({_literal(self.admin_password)})",
            f"GRANT ALL PRIVILEGES ON *.* TO {admin} WITH GRANT OPTION",
        ))

    def _server_command(self, init_file: Path) -> list[str]:
        assert self.server_bin is not None
        cmd = [
            str(self.server_bin), "--no-defaults", f"--datadir={self.data_dir}",
            f"--socket={self.socket_path}", f"--port={self.port}", f"--bind-address={self.host}",
            "--skip-name-resolve", f"--pid-file={self._root / 'mariadb.pid'}", f"--tmpdir={self._root}",
            f"--log-error={self.log_path}", f"--init-file={init_file}",
            f"--max-connections={self.max_connections}", *self._as_root_flag(), *_SERVER_OPTIONS,
        ]
        if self.ssl:
            cmd += [f"--ssl-cert={self.cert_path}", f"--ssl-key={self.key_path}"]
        if self.require_secure_transport:
            cmd.append("--require-secure-transport=ON")
        cmd += [f"--{key.replace('_', '-')}={value}" for key, value in self.settings.items()]
        return cmd

    def _start_server(self) -> None:
        init_file = self._root / "init.sql"
        init_file.write_text(self._init_sql())
        init_file.chmod(0o600)
        try:
            last_log = ""
            for _attempt in range(3):  # a free port can be taken between probing and binding
                self.port = free_port(self.host)
                with contextlib.suppress(FileNotFoundError):
                    self.log_path.unlink()
                self._process = subprocess.Popen(
                    self._server_command(init_file), cwd=self._root, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                if self._wait_ready(timeout=30):
                    self._check_logins()
                    return
                last_log = self._log_tail()
                self._kill()
                if "already in use" not in last_log and "Do you already have another" not in last_log:
                    break
            raise MySQLStartError(f"mariadbd did not start:\n{last_log}")
        finally:
            # The init file holds the passwords; the server has read it once it is ready.
            init_file.unlink(missing_ok=True)

    def _check_logins(self) -> None:
        """mariadbd only logs a failing init file and starts anyway: make sure the users exist."""
        for connect in (self.connect, self.admin):
            try:
                connect().close()
            except Exception as exc:
                raise MySQLStartError(f"the test users could not log in ({exc}); server log:\n"
                                      f"{self._log_tail()}") from exc

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
        if process is not None:
            process.wait(timeout=15)

    def _wait_ready(self, *, timeout: float) -> bool:
        """True once the server logs readiness (after the init file ran); False if it exited."""
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            if "ready for connections" in self._log_text():
                return True
            time.sleep(0.02)
        return False

    def _log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def _log_tail(self, lines: int = 30) -> str:
        return "\n".join(self._log_text().splitlines()[-lines:])


def main() -> None:
    """Start a server and print its settings until interrupted (for debugging)."""
    db = LocalMySQL(ssl=shutil.which("openssl") is not None)
    serve_until_interrupted(db, f"admin {db.admin_user} password {db.admin_password}")


if __name__ == "__main__":
    main()

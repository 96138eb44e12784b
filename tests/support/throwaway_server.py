"""What the throwaway database servers share (``local_postgres``, ``local_mysql``): a private
temporary directory, a free loopback port, a self-signed certificate, the DATABASE_*
variables the constructs set, stop at ``with`` exit and at interpreter exit, and a
``main()`` that serves until Ctrl-C. Standard library only."""

from __future__ import annotations

import atexit
import contextlib
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

#: URL parameters for a local server: one connection, no TLS.
DEFAULT_URL_PARAMS = "connection_limit=1&pool_timeout=10&connect_timeout=5&sslmode=disable"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the server start retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ThrowawayServer:
    """Base of the local servers: subclasses set ``ENGINE``, ``DIR_PREFIX``, ``StartError`` and
    implement ``_start()`` / ``_stop()``; ``start()``/``stop()`` manage the directory."""

    ENGINE = ""
    DIR_PREFIX = "dp-db-"
    StartError: type[RuntimeError] = RuntimeError

    def __init__(self, *, host: str, user: str, password: str, dbname: str, base_dir: str | None) -> None:
        self.host = host
        self.user = user
        self.password = password
        self.dbname = dbname
        self.port = 0
        self.base_dir = base_dir
        self.root: Path | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        raise NotImplementedError

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        """Create the directory and start the server (see the subclass). Returns self."""
        if self.running:
            return self
        self.root = Path(tempfile.mkdtemp(prefix=self.DIR_PREFIX, dir=self.base_dir))
        atexit.register(self.stop)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (its data is discarded) and delete its directory."""
        atexit.unregister(self.stop)
        with contextlib.suppress(Exception):
            self._stop()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------------ paths and settings

    @property
    def _root(self) -> Path:
        if self.root is None:
            raise RuntimeError("the server has not been started")
        return self.root

    @property
    def cert_path(self) -> Path:
        """The self-signed server certificate (CN=localhost, SAN 127.0.0.1) when ``ssl=True``."""
        return self._root / "server.crt"

    @property
    def key_path(self) -> Path:
        return self._root / "server.key"

    def environ(self, url_params: str = DEFAULT_URL_PARAMS, *,
                include_password: bool = False) -> dict[str, str]:
        """The DATABASE_* variables the constructs set, pointing at this server."""
        env = {
            "DATABASE_HOST": self.host,
            "DATABASE_PORT": str(self.port),
            "DATABASE_NAME": self.dbname,
            "DATABASE_USER": self.user,
            "DATABASE_ENGINE": self.ENGINE,
            "DATABASE_URL_PARAMS": url_params,
        }
        if include_password:
            env["DATABASE_PASSWORD"] = self.password
        return env

    def _make_certificate(self) -> None:
        """A self-signed EC certificate and key in the server's directory (``openssl`` needed)."""
        openssl = shutil.which("openssl")
        if openssl is None:
            raise self.StartError("ssl=True needs the openssl command to make a test certificate")
        result = subprocess.run(
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", str(self.key_path), "-out", str(self.cert_path), "-days", "2",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise self.StartError(f"openssl could not make a test certificate:\n{result.stderr}")
        self.key_path.chmod(0o600)
        self.cert_path.chmod(0o644)


def serve_until_interrupted(server: ThrowawayServer, note: str) -> None:
    """Start ``server``, print its settings as shell exports, wait for Ctrl-C or SIGTERM."""
    with server:
        for key, value in server.environ(include_password=True).items():
            print(f"export {key}={shlex.quote(value)}")
        print(f"# {note}; Ctrl-C to stop", flush=True)

        def interrupt(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)

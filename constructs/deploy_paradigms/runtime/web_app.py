"""The PaaS example's container: a small threaded HTTP server with a bounded connection pool.

Run with ``python -m deploy_paradigms.runtime.web_app`` (the Dockerfile's CMD).

The containers paradigm spends its budget as *pool size x tasks at the peak
of a rolling deploy*. The planner puts the pool size into the pool contract
(``DATABASE_POOL_MAX``, and ``connection_limit`` in ``DATABASE_URL_PARAMS`` for
Prisma 6); this server never opens more connections than that, however many
requests arrive: a request waits up to ``DATABASE_POOL_TIMEOUT_MS`` for a free
connection and then gets 503 (Prisma's P2024 behaviour), instead of pushing the
database past ``max_connections``. Connections idle past
``DATABASE_IDLE_TIMEOUT_MS`` are closed, giving their slots back.

At start it builds ``DATABASE_URL`` (exported for ORMs running in the same
process) from ``DATABASE_HOST/PORT/NAME/USER``, ``DATABASE_URL_PARAMS`` and
``DATABASE_PASSWORD``, which ECS injects from Secrets Manager when the task
starts (it never appears in the task definition).

Routes: ``GET /`` runs a query through the pool and returns JSON;
``GET /healthz`` touches no database (the ALB health check must stay fast and
must not take connections) and answers 503 once the server is draining.

Faults: after a dropped connection every idle connection is dropped too (a
restarted database killed them all), so the first request after the database
accepts connections again succeeds. Credentials rotate: ECS resolves the
secret only when a task starts, and RDS rotates a managed secret every 7 days,
so when the server refuses the password this process re-reads
``DATABASE_SECRET_ARN`` (:func:`resolve_password`) and tries once more.
``/healthz`` is liveness, not readiness: a database outage leaves it at 200
(replacing every task would not bring the database back, and a new task would
meet the same outage), but a credential path still refused after that re-read
answers 503 ``credentials_rejected``, so the ALB replaces the task instead of
keeping a task that can never serve. Error bodies are generic with a
``request_id``; details go to the log.

SIGTERM (ECS stopping the task) and SIGINT: stop accepting connections, let
in-flight requests finish, close the pool, exit 0.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .connection import (
    AuthenticationFailed,
    DatabaseConnection,
    DatabaseUnavailable,
    QueryTimeout,
    connect,
    database_url,
    describe_error,
    idle_timeout_s,
    is_disconnect,
    is_postgres,
    redact_url,
    resolve_password,
    url_parameters,
)
from .errors import request_id_of
from .settings import PASSWORD_FROM_ECS_SECRET, DatabaseSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_PORT = 8080
ENV_PORT = "PORT"

_POSTGRES_SQL = ("SELECT current_database() AS database, current_user AS \"user\", now() AS now, "
                 "pg_backend_pid() AS backend_pid")
_MYSQL_SQL = ("SELECT DATABASE() AS `database`, CURRENT_USER() AS `user`, NOW(6) AS `now`, "
              "CONNECTION_ID() AS backend_pid")


class Credentials:
    """The database password: the one ECS injected at task start, re-read from the secret when the
    server refuses it (at most one read at a time; concurrent refusals share its result)."""

    def __init__(self, settings: DatabaseSettings, password: str) -> None:
        self.settings = settings
        self._password = password
        self._version = 0
        self._lock = threading.Lock()
        #: True while the server refuses even a freshly read password (``/healthz`` answers 503).
        self.rejected = False

    def current(self) -> tuple[str, int]:
        with self._lock:
            return self._password, self._version

    def refresh(self, seen_version: int) -> str:
        """A newer password than version ``seen_version``: re-read unless another thread just did."""
        with self._lock:
            if self._version == seen_version:
                self._password = resolve_password(self.settings)
                self._version += 1
            return self._password

    def connect(self) -> DatabaseConnection:
        """Connect; on an authentication failure re-read the secret and try once more."""
        password, version = self.current()
        try:
            conn = connect(self.settings, password)
        except AuthenticationFailed as exc:
            logger.warning("the database refused the password (%s); re-reading the secret", exc.cause)
            try:
                fresh = self.refresh(version)
            except Exception as read_error:  # no secret configured, or it cannot be read
                logger.error("could not re-read the database secret: %s", read_error)
                self.rejected = True
                raise exc from read_error
            try:
                conn = connect(self.settings, fresh)
            except AuthenticationFailed:
                self.rejected = True
                raise
        self.rejected = False
        return conn


class PoolTimeout(RuntimeError):
    """No pooled connection became free within ``pool_timeout``."""


class PoolClosed(RuntimeError):
    """The pool is shutting down."""


class _Waiter:
    """A request queued for a connection: :meth:`ConnectionPool.release` hands it one directly."""

    __slots__ = ("conn", "event", "slot")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.conn: DatabaseConnection | None = None  # an idle connection handed over, or
        self.slot = False  # the right to open one (a discarded connection's place)


class ConnectionPool:
    """A thread-safe pool of at most ``size`` connections, opened on demand.

    Waiting requests are served first come, first served: a returned connection
    goes straight to the longest waiter, so under saturation no request waits
    much longer than the queue ahead of it (a free-for-all lets some requests
    lose every race until ``pool_timeout``). ``timeout_s=None`` waits forever
    (Prisma's ``pool_timeout=0``).
    """

    def __init__(self, factory: Callable[[], DatabaseConnection], *, size: int,
                 timeout_s: float | None, idle_timeout_s: float | None = None) -> None:
        if size < 1:
            raise ValueError(f"connection_limit={size} must be at least 1")
        self.size = size
        self.timeout_s = timeout_s
        self.idle_timeout_s = idle_timeout_s  # None: idle connections stay open
        self._factory = factory
        self._lock = threading.Lock()
        self._idle: list[DatabaseConnection] = []
        self._waiters: deque[_Waiter] = deque()
        self._open = 0
        self._peak = 0
        self._timeouts = 0
        self._idle_closed = 0
        self._closed = False

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"size": self.size, "open": self._open, "idle": len(self._idle),
                    "in_use": self._open - len(self._idle), "peak_open": self._peak,
                    "timeouts": self._timeouts, "waiting": len(self._waiters),
                    "idle_closed": self._idle_closed}

    def close_idle(self) -> int:
        """Close connections idle for longer than ``idle_timeout_s`` (DATABASE_IDLE_TIMEOUT_MS),
        giving their slots back to the database; returns how many were closed."""
        if self.idle_timeout_s is None:
            return 0
        with self._lock:
            # Idle connections are reused last-in first-out, so the stalest are at the front.
            stale: list[DatabaseConnection] = []
            while self._idle and self._idle[0].idle_s > self.idle_timeout_s:
                stale.append(self._idle.pop(0))
            self._open -= len(stale)
            self._idle_closed += len(stale)
        for conn in stale:
            conn.close()
        return len(stale)

    def acquire(self) -> DatabaseConnection:
        """A connection for this thread's exclusive use; give it back with :meth:`release`."""
        with self._lock:
            if self._closed:
                raise PoolClosed("the connection pool is closed (the server is shutting down)")
            reserved = False
            hung_up: list[DatabaseConnection] = []
            if not self._waiters:  # nobody queued ahead of us
                if self._idle and not self._idle[-1].peer_spoke():
                    return self._idle.pop()  # most recently used first: it is the warmest
                if self._idle:
                    # The server closed the warmest while it sat idle (a restart, a failover, an
                    # idle cut): the others went with it. Open a fresh one before any request is sent.
                    hung_up, self._idle = self._idle, []
                    self._open -= len(hung_up)
                if self._open < self.size:
                    self._open += 1  # reserve the slot; connect below, outside the lock
                    self._peak = max(self._peak, self._open)
                    reserved = True
            if not reserved:
                waiter = _Waiter()
                self._waiters.append(waiter)
        for conn in hung_up:
            conn.close()
        if reserved:
            return self._open_reserved()
        waiter.event.wait(self.timeout_s)
        with self._lock:
            if not waiter.event.is_set():  # nothing was handed over in time
                self._waiters.remove(waiter)
                self._timeouts += 1
                raise PoolTimeout(
                    f"no database connection became free within pool_timeout={self.timeout_s:g} s "
                    f"(all connection_limit={self.size} are busy); add tasks within the connection "
                    f"budget or make requests faster")
        if waiter.conn is not None:
            return waiter.conn
        if waiter.slot:
            return self._open_reserved()
        raise PoolClosed("the connection pool is closed (the server is shutting down)")

    def _open_reserved(self) -> DatabaseConnection:
        """Connect in a slot already counted in ``_open``; on failure pass the slot on."""
        try:
            return self._factory()
        except BaseException:
            with self._lock:
                self._free_slot()
            raise

    def _free_slot(self) -> None:
        """A slot became free (lock held): the longest waiter may open a connection in it."""
        if self._waiters and not self._closed:
            waiter = self._waiters.popleft()
            waiter.slot = True
            waiter.event.set()
        else:
            self._open -= 1

    def release(self, conn: DatabaseConnection, *, discard: bool = False) -> None:
        """Return ``conn``; ``discard=True`` (a dead connection) closes it and frees its slot."""
        with self._lock:
            keep = not (discard or self._closed or conn.closed)
            if keep and self._waiters:
                waiter = self._waiters.popleft()
                waiter.conn = conn
                waiter.event.set()
            elif keep:
                self._idle.append(conn)
            else:
                self._free_slot()
        if not keep:
            conn.close()

    @contextmanager
    def connection(self) -> Iterator[DatabaseConnection]:
        conn = self.acquire()
        broken = False
        try:
            yield conn
        except BaseException as exc:
            broken = is_disconnect(exc)
            raise
        finally:
            self.release(conn, discard=broken or conn.closed)
            if broken:
                self.drop_idle()

    def drop_idle(self) -> int:
        """Close every idle connection (after one was found dead, the others likely are too)."""
        with self._lock:
            idle, self._idle = self._idle, []
            for _ in idle:
                self._free_slot()
        for conn in idle:
            conn.close()
        return len(idle)

    def run(self, fn: Callable[[DatabaseConnection], T]) -> T:
        """Run idempotent ``fn`` on a pooled connection, once more on a fresh one if it was dead."""
        for attempt in range(2):
            conn = self.acquire()
            try:
                result = fn(conn)
            except Exception as exc:
                dead = is_disconnect(exc)
                self.release(conn, discard=dead or conn.closed)
                if dead:
                    # A restart or failover killed them all: the retry must open a fresh one.
                    self.drop_idle()
                if not dead:
                    raise
                if attempt:
                    raise DatabaseUnavailable(conn.settings.host, conn.settings.port,
                                              describe_error(exc)) from exc
                logger.warning("pooled connection was dead (%s); retrying once", describe_error(exc))
                continue
            self.release(conn)
            return result
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Refuse new work, close idle connections now and busy ones when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            while self._waiters:  # wake them: neither conn nor slot means closed
                self._waiters.popleft().event.set()
        for conn in idle:
            conn.close()


class _Server(ThreadingHTTPServer):
    # Non-daemon request threads, so server_close() waits for in-flight requests.
    daemon_threads = False
    block_on_close = True
    request_queue_size = 128  # the default backlog of 5 drops bursts before they reach the pool
    app: WebApp


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "deploy-paradigms-web/1"
    timeout = 30  # a slow client must not hold a thread (and delay shutdown) forever

    def do_GET(self) -> None:  # http.server's naming
        try:
            self._route()
        except Exception:  # last resort: a generic answer, the details in the log
            request_id = request_id_of()
            logger.exception("request %s: GET %s failed", request_id, self.path[:200])
            self._send(500, {"error": {"code": "internal_error", "message": "the request failed",
                                       "request_id": request_id}})

    def _route(self) -> None:
        path = urlsplit(self.path).path
        app = self.server.app
        if path == "/healthz":
            if app.draining.is_set():
                self._send(503, {"status": "draining"})
            elif app.credentials.rejected:
                self._send(503, {"status": "credentials_rejected"})
            else:
                self._send(200, {"status": "ok"})
        elif path == "/":
            self._send(*app.index())
        else:
            self._send(404, {"error": {"code": "not_found", "message": "no such route; try GET /"}})

    def _send(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(body, sort_keys=True, default=str).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # per-request lines go to debug
        logger.debug("%s - %s", self.address_string(), format % args)


class WebApp:
    """The server, its pool and its shutdown sequence."""

    def __init__(self, settings: DatabaseSettings, password: str, *, host: str = "0.0.0.0",
                 port: int = DEFAULT_PORT) -> None:
        params = url_parameters(settings)  # the pool contract wins over DATABASE_URL_PARAMS
        self.settings = settings
        self.database_url = database_url(settings, password)
        pool_timeout = float(params.get("pool_timeout") or 0)
        self.credentials = Credentials(settings, password)
        self.pool = ConnectionPool(self.credentials.connect,
                                   size=int(params["connection_limit"]),
                                   timeout_s=pool_timeout if pool_timeout > 0 else None,
                                   idle_timeout_s=idle_timeout_s(settings))
        self.draining = threading.Event()
        self._reaper: threading.Thread | None = None
        self.server = _Server((host, port), _Handler)
        self.server.app = self
        self._serving = threading.Event()
        self._closed = False
        self._close_lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, host: str = "0.0.0.0") -> WebApp:
        env = os.environ if environ is None else environ
        password = env.get(PASSWORD_FROM_ECS_SECRET)
        if not password:
            raise RuntimeError(f"{PASSWORD_FROM_ECS_SECRET} is not set: ECS injects it from the database "
                               f"secret; set it yourself when running the container elsewhere")
        return cls(DatabaseSettings.from_env(env), password, host=host,
                   port=int(env.get(ENV_PORT) or DEFAULT_PORT))

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def index(self) -> tuple[int, dict[str, Any], dict[str, str]]:
        """``GET /``: one query through the pool."""
        sql = _POSTGRES_SQL if is_postgres(self.settings) else _MYSQL_SQL
        request_id = request_id_of()
        try:
            row = self.pool.run(lambda conn: conn.query(sql).one())
        except (PoolTimeout, PoolClosed) as exc:
            return _error(503, "pool_timeout", str(exc), request_id, retry=True)
        except DatabaseUnavailable as exc:
            logger.error("request %s: %s", request_id, exc)
            return _error(503, "database_unavailable", exc.public_message, request_id, retry=True)
        except QueryTimeout as exc:
            logger.error("request %s: %s", request_id, exc)
            return _error(504, "query_timeout", "the query did not finish in time", request_id)
        except Exception as exc:
            logger.error("request %s: GET / failed: %s", request_id, describe_error(exc))
            return _error(500, "internal_error", "the query failed", request_id)
        row["pool"] = self.pool.stats()
        return 200, row, {}

    def _close_idle_connections(self) -> None:
        """Every half idle timeout, close the pool's connections idle past it (until draining)."""
        interval = self.pool.idle_timeout_s
        if interval is None:
            return
        while not self.draining.wait(max(interval / 2, 0.05)):
            self.pool.close_idle()

    def serve_forever(self) -> None:
        """Serve until :meth:`stop_accepting` (from another thread or a signal)."""
        if self._reaper is None and self.pool.idle_timeout_s is not None:
            self._reaper = threading.Thread(target=self._close_idle_connections, name="pool-idle-reaper",
                                            daemon=True)
            self._reaper.start()
        self._serving.set()
        try:
            self.server.serve_forever(poll_interval=0.2)
        finally:
            self._serving.clear()

    def stop_accepting(self) -> None:
        """Mark draining and end :meth:`serve_forever` (call from another thread)."""
        self.draining.set()
        if self._serving.is_set():
            self.server.shutdown()

    def close(self) -> None:
        """Stop accepting, wait for in-flight requests, close the pool. Idempotent."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self.stop_accepting()
        self.server.server_close()  # joins the request threads
        self.pool.close()
        logger.info("stopped; pool %s", self.pool.stats())


def _error(status: int, code: str, message: str, request_id: str, *,
           retry: bool = False) -> tuple[int, dict[str, Any], dict[str, str]]:
    body = {"error": {"code": code, "message": message, "request_id": request_id}}
    return status, body, {"Retry-After": "1"} if retry else {}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = WebApp.from_env()
    # Exported for an ORM in the same process (Prisma-style URL, pool size included).
    os.environ["DATABASE_URL"] = app.database_url
    logger.info("listening on :%s, DATABASE_URL=%s", app.port, redact_url(app.database_url))

    def on_signal(signum: int, frame: object) -> None:
        logger.info("signal %s: draining", signum)
        # shutdown() waits for serve_forever() to return, which runs in this
        # (the main) thread: call it from another thread.
        threading.Thread(target=app.stop_accepting, name="shutdown", daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        app.serve_forever()
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

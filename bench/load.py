"""The load engine: callers (threads) that hold connections the way each paradigm does.

Every "invocation" or "request" runs ``SELECT pg_sleep(0.05)`` on a connection it holds,
so concurrency really overlaps on the server; connections are opened with the library's
own runtime (``deploy_paradigms.runtime.connection.connect``: pg8000, TLS per the URL's
``sslmode``), and the containers use the web app's ``ConnectionPool``. A superuser session
samples ``pg_stat_activity`` every 20 ms for the peak number of the app role's server
connections. Everything is bounded: each scenario runs for ``duration_s``; callers stop
at the deadline, threads are daemons joined with a timeout, and connections are closed
in ``finally`` blocks.
"""

from __future__ import annotations

import importlib
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from bench.scenarios import POOLED_KEYS, Scenario
from deploy_paradigms.runtime.connection import DatabaseConnection, connect, describe_error
from deploy_paradigms.runtime.settings import DatabaseSettings
from deploy_paradigms.runtime.web_app import ConnectionPool

#: The trivial query every invocation runs: short, but long enough that callers overlap.
QUERY = "SELECT pg_sleep(0.05)"
QUERY_S = 0.05
SAMPLE_INTERVAL_S = 0.02
#: A caller whose invocation failed waits this long before the next one (a client retry).
ERROR_BACKOFF_S = 0.25
#: A throttled caller retries after this long (the AWS SDK backs off on 429 TooManyRequests).
THROTTLE_BACKOFF_S = 0.05
JOIN_GRACE_S = 15.0
#: Server messages that mean "the database is out of connection slots" (SQLSTATE 53300).
SLOT_ERRORS = ("too many clients", "remaining connection slots are reserved", "53300")


def with_sslmode(url_params: str, sslmode: str) -> str:
    """``url_params`` with ``sslmode`` replaced (only when the local server has no TLS)."""
    params = dict(parse_qsl(url_params))
    params["sslmode"] = sslmode
    return urlencode(params)


@dataclass(frozen=True)
class Endpoint:
    """Where callers connect: the server directly or the proxy stand-in."""

    host: str
    port: int
    dbname: str
    user: str
    password: str

    def settings(self, url_params: str) -> DatabaseSettings:
        return DatabaseSettings(host=self.host, port=self.port, name=self.dbname, user=self.user,
                                engine="postgres", url_params=tuple(parse_qsl(url_params)))

    def connect(self, settings: DatabaseSettings) -> DatabaseConnection:
        return connect(settings, self.password)


# --------------------------------------------------------------------------- recording


def _error_key(exc: BaseException) -> str:
    """A short, stable description of an error (numbers and addresses scrubbed)."""
    text = str(exc) if not (exc.args and isinstance(exc.args[0], dict)) else describe_error(exc)
    match = re.search(r"is unavailable: (.*)$", text, re.DOTALL)
    if match:
        text = match.group(1)
    text = text.split("; the database is out of connections")[0]
    return re.sub(r"(?<!SQLSTATE )\b\d+(\.\d+)*(:\d+)?\b", "N", text)[:160]


def is_slot_error(exc: BaseException) -> bool:
    text = str(exc) + (describe_error(exc) if exc.args and isinstance(exc.args[0], dict) else "")
    return any(marker in text for marker in SLOT_ERRORS)


@dataclass
class Recorder:
    """Thread-safe counters and latencies of one scenario."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    completed: list[tuple[float, float, int]] = field(default_factory=list)  # (end, latency s, queries)
    invocations_ok: int = 0
    queries_ok: int = 0
    failed_invocations: int = 0
    connection_errors: int = 0
    other_errors: int = 0
    throttles: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def ok(self, latency_s: float, queries: int = 1) -> None:
        with self.lock:
            self.invocations_ok += 1
            self.queries_ok += queries
            self.completed.append((time.perf_counter(), latency_s, queries))

    def window(self, start: float, end: float) -> tuple[list[float], int, int]:
        """Latencies, invocations and queries of the invocations that ended in ``[start, end]``."""
        with self.lock:
            inside = [(lat, q) for t, lat, q in self.completed if start <= t <= end]
        return [lat for lat, _ in inside], len(inside), sum(q for _, q in inside)

    def throttle(self) -> None:
        with self.lock:
            self.throttles += 1

    def failed(self, exc: BaseException) -> None:
        key = _error_key(exc)
        with self.lock:
            self.failed_invocations += 1
            if is_slot_error(exc):
                self.connection_errors += 1
            else:
                self.other_errors += 1
            self.errors[key] = self.errors.get(key, 0) + 1


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0-100) or None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


class Sampler(threading.Thread):
    """Samples the app role's server connections (and all client backends) from a superuser session."""

    SQL = ("SELECT count(*) FILTER (WHERE usename = :app), count(*) FROM pg_stat_activity "
           "WHERE backend_type = 'client backend'")

    def __init__(self, admin: Any, app_user: str, *, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        super().__init__(name="pg_stat_activity-sampler", daemon=True)
        self.admin = admin
        self.app_user = app_user
        self.interval_s = interval_s
        self.halt = threading.Event()
        self.started_at = time.perf_counter()
        self.peak_app = 0
        self.peak_all = 0
        self.samples = 0
        self.timeline: dict[int, int] = {}  # 0.5 s bucket -> most app connections seen in it
        self.error: str | None = None

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                app, total = (int(v) for v in self.admin.run(self.SQL, app=self.app_user)[0])
                self.peak_app = max(self.peak_app, app)
                self.peak_all = max(self.peak_all, total)
                self.samples += 1
                bucket = int((time.perf_counter() - self.started_at) * 2)
                self.timeline[bucket] = max(self.timeline.get(bucket, 0), app)
                self.halt.wait(self.interval_s)
        except Exception as exc:  # reported; a run without samples is not trusted
            self.error = f"{type(exc).__name__}: {exc}"

    def finish(self) -> None:
        self.halt.set()
        self.join(timeout=5)


def app_connections(admin: Any, app_user: str) -> int:
    rows = admin.run("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                     "AND usename = :app", app=app_user)
    return int(rows[0][0])


def wait_until_idle(admin: Any, app_user: str, *, timeout_s: float = 30) -> int:
    """Wait until the app role holds no server connection; terminate leftovers after the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if app_connections(admin, app_user) == 0:
            return 0
        time.sleep(0.1)
    rows = admin.run("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                     "WHERE backend_type = 'client backend' AND usename = :app", app=app_user)
    return int(rows[0][0])


# --------------------------------------------------------------------------- callers


def _pipelined(conns: list[DatabaseConnection], sql: str) -> None:
    """Run ``sql`` on every connection at once from one thread, as Prisma's async engine
    runs a handler's parallel queries on its pool: send all, then read all replies.

    Uses pg8000's simple-query primitives (``send_QUERY``/``handle_messages``), which its
    own ``execute_simple`` is made of.
    """
    core = importlib.import_module("pg8000.core")
    for conn in conns:
        conn.raw.send_QUERY(sql)
        core._flush(conn.raw._sock)
    for conn in conns:
        conn.raw.handle_messages(core.Context(sql))


def _close_all(conns: list[DatabaseConnection]) -> None:
    for conn in conns:
        conn.close()
    conns.clear()


def common_default_caller(scenario: Scenario, endpoint: Endpoint, rec: Recorder,
                          stop: threading.Event) -> Callable[[], None]:
    """(a) One Lambda instance: a pool of up to 5, its handler runs 5 queries in parallel."""
    settings = endpoint.settings(scenario.url_params)
    pool = scenario.connections_per_caller

    def run() -> None:
        conns: list[DatabaseConnection] = []
        try:
            while not stop.is_set():
                started = time.perf_counter()
                failure: BaseException | None = None
                while len(conns) < pool:  # the pool opens connections as the parallel queries need them
                    try:
                        conns.append(endpoint.connect(settings))
                    except Exception as exc:  # the query that needed this connection fails
                        failure = exc
                        break
                try:
                    if conns:
                        _pipelined(conns, QUERY)
                except Exception as exc:
                    _close_all(conns)
                    failure = failure or exc
                if failure is not None:
                    rec.failed(failure)
                    stop.wait(ERROR_BACKOFF_S)
                else:
                    rec.ok(time.perf_counter() - started, queries=pool)
        finally:
            _close_all(conns)

    return run


def single_connection_caller(scenario: Scenario, endpoint: Endpoint, rec: Recorder,
                             stop: threading.Event) -> Callable[[], None]:
    """(b) One execution environment with ``connection_limit=1``, kept open while warm."""
    settings = endpoint.settings(scenario.url_params)

    def run() -> None:
        conn: DatabaseConnection | None = None
        try:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    if conn is None:
                        conn = endpoint.connect(settings)
                    conn.query(QUERY)
                    rec.ok(time.perf_counter() - started)
                except Exception as exc:
                    rec.failed(exc)
                    if conn is not None:
                        conn.close()
                        conn = None
                    stop.wait(ERROR_BACKOFF_S)
        finally:
            if conn is not None:
                conn.close()

    return run


class LambdaService:
    """Reserved concurrency in front of warm execution environments (one connection each).

    An invocation over the reserved concurrency is throttled at once (Lambda answers 429
    ``TooManyRequestsException``); an admitted one reuses an idle environment or starts one,
    which opens its connection on first use and keeps it while warm.
    """

    def __init__(self, reserved_concurrency: int, endpoint: Endpoint, settings: DatabaseSettings) -> None:
        self.slots = threading.BoundedSemaphore(reserved_concurrency)
        self.endpoint = endpoint
        self.settings = settings
        self.lock = threading.Lock()
        self.idle: list[DatabaseConnection] = []
        self.environments: list[DatabaseConnection] = []

    def invoke(self, rec: Recorder) -> bool:
        """True when admitted (succeeded or failed), False when throttled."""
        if not self.slots.acquire(blocking=False):
            rec.throttle()
            return False
        try:
            started = time.perf_counter()
            with self.lock:
                env = self.idle.pop() if self.idle else None
            try:
                if env is None:  # a cold start
                    env = self.endpoint.connect(self.settings)
                    with self.lock:
                        self.environments.append(env)
                env.query(QUERY)
                rec.ok(time.perf_counter() - started)
                with self.lock:
                    self.idle.append(env)
            except Exception as exc:
                rec.failed(exc)
                if env is not None:
                    env.close()
            return True
        finally:
            self.slots.release()

    def close(self) -> None:
        with self.lock:
            _close_all(self.environments)
            self.idle.clear()


def invoker(service: LambdaService, rec: Recorder, stop: threading.Event) -> Callable[[], None]:
    """(c) A client invoking the function back to back; throttled calls are retried after a pause."""

    def run() -> None:
        while not stop.is_set():
            if not service.invoke(rec):
                stop.wait(THROTTLE_BACKOFF_S)

    return run


@dataclass
class Task:
    """(d) One Fargate task: a ``ConnectionPool`` of the planned size, serving from ``start_s`` to
    ``stop_s``."""

    name: str
    start_s: float
    stop_s: float
    pool: ConnectionPool
    draining: threading.Event = field(default_factory=threading.Event)


def request_caller(task: Task, rec: Recorder, stop: threading.Event, t0: float) -> Callable[[], None]:
    def run() -> None:
        if stop.wait(max(0.0, t0 + task.start_s - time.perf_counter())):
            return
        while not stop.is_set() and time.perf_counter() < t0 + task.stop_s:
            started = time.perf_counter()
            try:
                task.pool.run(lambda conn: conn.query(QUERY))
                rec.ok(time.perf_counter() - started)
            except Exception as exc:
                rec.failed(exc)
                stop.wait(ERROR_BACKOFF_S)

    return run


# --------------------------------------------------------------------------- one scenario


@dataclass
class Outcome:
    scenario: Scenario
    rec: Recorder
    sampler: Sampler
    window_s: float
    measure_start: float
    measure_end: float
    stragglers: int
    terminated_after: int
    extra: dict[str, Any] = field(default_factory=dict)


def run_scenario(scenario: Scenario, endpoint: Endpoint, admin: Any, *, duration_s: float,
                 warmup_s: float, app_user: str, settle: bool = True) -> Outcome:
    """Run one scenario for ``warmup_s + duration_s`` seconds.

    Errors, throttles and the peak count over the whole run (a cold start that fails is a
    failure); throughput and latency over the last ``duration_s`` only (steady state).
    ``settle=False`` skips waiting for the app role's server connections to close: behind
    the proxy stand-in they stay pooled until the proxy stops, and the caller waits then
    (and sets :attr:`Outcome.terminated_after`).
    """
    rec = Recorder()
    stop = threading.Event()
    extra: dict[str, Any] = {}
    targets: list[Callable[[], None]] = []
    cleanup: list[Callable[[], None]] = []
    t0 = time.perf_counter()
    if scenario.key == "a":
        targets = [common_default_caller(scenario, endpoint, rec, stop) for _ in range(scenario.callers)]
    elif scenario.key == "b":
        targets = [single_connection_caller(scenario, endpoint, rec, stop) for _ in range(scenario.callers)]
    elif scenario.key == "c":
        assert scenario.concurrency_cap is not None
        service = LambdaService(scenario.concurrency_cap, endpoint, endpoint.settings(scenario.url_params))
        targets = [invoker(service, rec, stop) for _ in range(scenario.callers)]
        cleanup.append(service.close)
        extra["environments"] = lambda: len(service.environments)
    elif scenario.key in POOLED_KEYS:
        targets, tasks = _rolling_deploy(scenario, endpoint, rec, stop, t0, warmup_s, duration_s)
        cleanup.extend(task.pool.close for task in tasks)
        extra["pool_peaks"] = lambda: sorted({t.pool.stats()["peak_open"] for t in tasks})
        extra["tasks"] = [{"name": t.name, "start_s": round(t.start_s, 2), "stop_s": round(t.stop_s, 2)}
                          for t in tasks]
    else:
        raise ValueError(f"unknown scenario {scenario.key!r}")

    sampler = Sampler(admin, app_user)
    sampler.start()
    threads = [threading.Thread(target=target, name=f"{scenario.key}-{i}", daemon=True)
               for i, target in enumerate(targets)]
    try:
        for thread in threads:
            thread.start()
        stop.wait(max(0.0, t0 + warmup_s + duration_s - time.perf_counter()))
    finally:
        stop.set()
        ended = time.perf_counter()
        window_s = max(0.0, ended - (t0 + warmup_s))
        deadline = time.monotonic() + JOIN_GRACE_S
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        stragglers = sum(thread.is_alive() for thread in threads)
        resolved = {k: (v() if callable(v) else v) for k, v in extra.items()}
        for close in cleanup:
            close()
        sampler.finish()
    terminated = wait_until_idle(admin, app_user) if settle else 0
    return Outcome(scenario, rec, sampler, window_s, t0 + warmup_s, ended, stragglers, terminated, resolved)


def _rolling_deploy(scenario: Scenario, endpoint: Endpoint, rec: Recorder, stop: threading.Event,
                    t0: float, warmup_s: float, duration_s: float,
                    ) -> tuple[list[Callable[[], None]], list[Task]]:
    """Old tasks serve from the start to two thirds of the measured window, new ones from one
    third to the end: old and new together (the deploy's peak) in the middle third."""
    settings = endpoint.settings(scenario.url_params)
    params = dict(settings.url_params)
    pool_size = int(params["connection_limit"])
    pool_timeout = float(params.get("pool_timeout") or 0)
    peak_tasks = scenario.old_tasks + scenario.new_tasks
    requests_per_task = scenario.callers // peak_tasks
    tasks: list[Task] = []
    for i in range(peak_tasks):
        is_old = i < scenario.old_tasks
        # No new tasks (g: environments, no deploy): every pool serves the whole run.
        old_until = warmup_s + duration_s * (2 / 3 if scenario.new_tasks else 1)
        start, end = ((0.0, old_until) if is_old else (warmup_s + duration_s / 3, warmup_s + duration_s))
        pool = ConnectionPool(lambda: endpoint.connect(settings), size=pool_size,
                              timeout_s=pool_timeout if pool_timeout > 0 else None)
        tasks.append(Task(f"{'old' if is_old else 'new'}-{i}", start, end, pool))
    targets = [request_caller(task, rec, stop, t0) for task in tasks for _ in range(requests_per_task)]
    return targets, tasks

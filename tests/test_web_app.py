"""The PaaS sample server: bounded pool under concurrency, health check, SIGTERM."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from deploy_paradigms.runtime.connection import DatabaseConnection, DatabaseUnavailable
from deploy_paradigms.runtime.settings import DatabaseSettings
from deploy_paradigms.runtime.web_app import ConnectionPool, PoolClosed, PoolTimeout, WebApp
from tests.support.local_postgres import LocalPostgres, free_port

ROOT = Path(__file__).resolve().parents[1]


def get(url: str, timeout: float = 10) -> tuple[int, dict[str, Any], dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


# ----------------------------------------------------------------------------- pool (no database)


class FakeConn:
    def __init__(self, n: int) -> None:
        self.n = n
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def peer_spoke(self) -> bool:  # a live idle session: the server has nothing to say
        return self.closed


def fake_pool(size: int, timeout: float | None) -> tuple[ConnectionPool, list[FakeConn]]:
    made: list[FakeConn] = []

    def factory() -> Any:
        made.append(FakeConn(len(made)))
        return made[-1]

    return ConnectionPool(factory, size=size, timeout_s=timeout), made


def test_pool_opens_on_demand_and_never_exceeds_its_size() -> None:
    pool, made = fake_pool(2, 0.1)
    assert made == [] and pool.stats()["open"] == 0
    a, b = pool.acquire(), pool.acquire()
    with pytest.raises(PoolTimeout, match="pool_timeout=0.1 s.*connection_limit=2"):
        pool.acquire()
    pool.release(a)
    assert pool.acquire() is a  # reused, not reopened
    pool.release(b, discard=True)  # a dead one frees its slot
    assert b.closed and pool.stats()["open"] == 1
    c = pool.acquire()
    assert len(made) == 3 and pool.stats() == {"size": 2, "open": 2, "idle": 0, "in_use": 2,
                                                "peak_open": 2, "timeouts": 1, "waiting": 0,
                                                   "idle_closed": 0}
    pool.release(c)
    pool.close()
    assert c.closed and not a.closed  # a is still in use: closed when it comes back
    pool.release(a)
    assert a.closed and pool.stats()["open"] == 0
    with pytest.raises(PoolClosed):
        pool.acquire()


def test_pool_waiters_get_released_connections() -> None:
    pool, made = fake_pool(1, 5)
    held = pool.acquire()
    got: list[Any] = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire()))
    waiter.start()
    time.sleep(0.05)
    pool.release(held)
    waiter.join(2)
    assert got == [held] and len(made) == 1


def queue_waiters(pool: ConnectionPool, count: int, got: list[tuple[int, Any]]) -> list[threading.Thread]:
    """Start ``count`` threads that acquire one after another (each queued before the next starts)."""
    threads = []
    for n in range(count):
        def take(n: int = n) -> None:
            try:
                got.append((n, pool.acquire()))
            except PoolClosed as exc:
                got.append((n, exc))
        threads.append(threading.Thread(target=take))
        threads[-1].start()
        deadline = time.monotonic() + 2
        while pool.stats()["waiting"] < n + 1 and time.monotonic() < deadline:
            time.sleep(0.005)
    return threads


def test_pool_serves_waiters_first_come_first_served() -> None:
    pool, made = fake_pool(1, 5)
    held = pool.acquire()
    got: list[tuple[int, Any]] = []
    threads = queue_waiters(pool, 4, got)
    for n in range(4):  # each release goes to the longest waiter, never to a newcomer
        pool.release(held)
        deadline = time.monotonic() + 2
        while len(got) < n + 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert [who for who, _ in got] == list(range(n + 1))
        held = got[-1][1]
    for thread in threads:
        thread.join(2)
    assert len(made) == 1 and pool.stats()["waiting"] == 0


def test_pool_discarded_connection_hands_its_slot_to_a_waiter_and_close_wakes_the_rest() -> None:
    pool, made = fake_pool(1, 5)
    held = pool.acquire()
    got: list[tuple[int, Any]] = []
    threads = queue_waiters(pool, 2, got)
    pool.release(held, discard=True)  # dead: waiter 0 opens a fresh one in its place
    threads[0].join(2)
    assert got[0][0] == 0 and got[0][1] is made[1] and pool.stats()["open"] == 1
    pool.close()  # waiter 1 is woken with PoolClosed, not left to time out
    threads[1].join(2)
    assert isinstance(got[1][1], PoolClosed)


def test_pool_factory_failure_frees_the_slot() -> None:
    def failing() -> DatabaseConnection:
        raise DatabaseUnavailable("db", 5432, "refused")

    pool = ConnectionPool(failing, size=1, timeout_s=0.05)
    for _ in range(3):
        with pytest.raises(DatabaseUnavailable):
            pool.acquire()
    assert pool.stats()["open"] == 0


# ----------------------------------------------------------------------------- server with PostgreSQL


def app_settings(server: LocalPostgres, app: str, limit: int, pool_timeout: str = "10",
                 port: int | None = None) -> DatabaseSettings:
    return DatabaseSettings(
        host=server.host, port=port or server.port, name=server.dbname, user=server.user,
        url_params=(("connection_limit", str(limit)), ("pool_timeout", pool_timeout),
                    ("connect_timeout", "5"), ("sslmode", "disable"), ("application_name", app)))


def sessions(server: LocalPostgres, app: str) -> int:
    admin = server.admin()
    try:
        rows = admin.run("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a", a=app)
        return int(rows[0][0])
    finally:
        admin.close()


def wait_sessions(server: LocalPostgres, app: str, expected: int, timeout: float = 5) -> int:
    deadline = time.monotonic() + timeout
    count = sessions(server, app)
    while count != expected and time.monotonic() < deadline:
        time.sleep(0.02)
        count = sessions(server, app)
    return count


@pytest.fixture
def running() -> Iterator[list[WebApp]]:
    """Apps started by a test; all are closed afterwards."""
    apps: list[WebApp] = []
    yield apps
    for app in apps:
        app.close()


def start(app: WebApp, apps: list[WebApp]) -> str:
    apps.append(app)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{app.port}"


@pytest.mark.postgres
def test_forty_concurrent_requests_use_at_most_connection_limit(postgres_server: LocalPostgres,
                                                                running: list[WebApp]) -> None:
    name = f"web-{uuid.uuid4().hex[:10]}"
    app = WebApp(app_settings(postgres_server, name, limit=3), postgres_server.password,
                 host="127.0.0.1", port=0)
    base = start(app, running)

    peak = 0
    stop = threading.Event()
    monitor = postgres_server.admin()

    def watch() -> None:  # samples the server's view while the burst runs
        nonlocal peak
        while not stop.is_set():
            rows = monitor.run("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a", a=name)
            peak = max(peak, int(rows[0][0]))

    watcher = threading.Thread(target=watch)
    watcher.start()
    barrier = threading.Barrier(40)

    def request(_: int) -> tuple[int, dict[str, Any], dict[str, str]]:
        barrier.wait()
        return get(base + "/")

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(request, range(40)))
    stop.set()
    watcher.join()
    monitor.close()

    assert [status for status, _, _ in results] == [200] * 40
    pids = {body["backend_pid"] for _, body, _ in results}
    assert 1 <= len(pids) <= 3 and results[0][1]["database"] == postgres_server.dbname
    assert 1 <= peak <= 3, peak
    stats = app.pool.stats()
    # The burst really contended for the pool (it filled up) and never went past it.
    assert stats["peak_open"] == 3 and stats["open"] == 3 and stats["timeouts"] == 0
    assert sessions(postgres_server, name) <= 3
    app.close()
    assert wait_sessions(postgres_server, name, 0) == 0  # close() closes the pool


@pytest.mark.postgres
def test_pool_timeout_answers_503(postgres_server: LocalPostgres, running: list[WebApp]) -> None:
    name = f"web-{uuid.uuid4().hex[:10]}"
    app = WebApp(app_settings(postgres_server, name, limit=1, pool_timeout="0.3"), postgres_server.password,
                 host="127.0.0.1", port=0)
    base = start(app, running)
    held = app.pool.acquire()  # the only connection is busy
    status, body, headers = get(base + "/")
    assert status == 503 and body["error"]["code"] == "pool_timeout" and headers["Retry-After"] == "1"
    app.pool.release(held)
    assert get(base + "/")[0] == 200
    assert sessions(postgres_server, name) == 1


@pytest.mark.postgres
def test_healthz_needs_no_database(postgres_server: LocalPostgres, running: list[WebApp]) -> None:
    unreachable = app_settings(postgres_server, "web-down", limit=2, port=free_port())
    app = WebApp(unreachable, "pw", host="127.0.0.1", port=0)
    base = start(app, running)
    started = time.monotonic()
    assert get(base + "/healthz")[:2] == (200, {"status": "ok"})
    assert time.monotonic() - started < 1
    status, body, _ = get(base + "/")
    assert status == 503 and body["error"]["code"] == "database_unavailable"
    assert get(base + "/nope")[0] == 404
    app.draining.set()
    assert get(base + "/healthz")[:2] == (503, {"status": "draining"})
    assert app.pool.stats()["open"] == 0


def test_from_env_builds_the_url_and_requires_the_password() -> None:
    env = {"DATABASE_HOST": "db", "DATABASE_PORT": "5432", "DATABASE_NAME": "app", "DATABASE_USER": "web",
           "DATABASE_URL_PARAMS": "connection_limit=4&pool_timeout=10&connect_timeout=5&sslmode=require",
           "PORT": "0"}
    with pytest.raises(RuntimeError, match="DATABASE_PASSWORD is not set"):
        WebApp.from_env(env, host="127.0.0.1")
    app = WebApp.from_env({**env, "DATABASE_PASSWORD": "p@ss"}, host="127.0.0.1")
    try:
        assert app.database_url == ("postgresql://web:p%40ss@db:5432/app"
                                    "?connection_limit=4&pool_timeout=10&connect_timeout=5&sslmode=require")
        assert app.pool.size == 4 and app.pool.timeout_s == 10
    finally:
        app.close()


@pytest.mark.postgres
def test_sigterm_drains_and_closes_the_pool(postgres_server: LocalPostgres) -> None:
    name = f"web-{uuid.uuid4().hex[:10]}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    env.update(postgres_server.environ(
        f"connection_limit=2&pool_timeout=10&connect_timeout=5&sslmode=disable&application_name={name}",
        include_password=True))
    env.update(PORT=str(port), PYTHONPATH=str(ROOT / "constructs"))
    proc = subprocess.Popen([sys.executable, "-m", "deploy_paradigms.runtime.web_app"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                if get(base + "/healthz", timeout=1)[0] == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        status, body, _ = get(base + "/")
        assert status == 200 and body["pool"]["open"] == 1
        assert sessions(postgres_server, name) == 1
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert "draining" in output and "DATABASE_URL=postgresql://" in output
    assert postgres_server.password not in output  # the URL is logged redacted
    assert wait_sessions(postgres_server, name, 0) == 0
    with pytest.raises(OSError):
        get(f"http://127.0.0.1:{port}/healthz", timeout=1)


@pytest.mark.postgres
def test_a_refused_password_without_a_secret_to_re_read_fails_health(postgres_server: LocalPostgres,
                                                                      running: list[WebApp]) -> None:
    """Outside ECS (no DATABASE_SECRET_ARN, no provider) a refused password cannot be refreshed:
    503 database_unavailable, and /healthz says the credentials are rejected."""
    app = WebApp(app_settings(postgres_server, "no-secret", limit=1), "not-the-password",
                 host="127.0.0.1", port=0)
    url = start(app, running)
    status, body, _ = get(url + "/")
    assert (status, body["error"]["code"]) == (503, "database_unavailable")
    assert get(url + "/healthz")[1] == {"status": "credentials_rejected"}


@pytest.mark.postgres
def test_the_pool_contract_wins_over_the_url_and_idle_connections_are_given_back(
        postgres_server: LocalPostgres, running: list[WebApp]) -> None:
    name = f"web-{uuid.uuid4().hex[:10]}"
    # The URL says 9 (an older renderer, or Prisma 6's value); the contract says 2 and 300 ms idle.
    settings = dataclasses.replace(app_settings(postgres_server, name, limit=9), pool_max=2,
                                   idle_timeout_ms=300)
    app = WebApp(settings, postgres_server.password, host="127.0.0.1", port=0)
    base = start(app, running)
    barrier = threading.Barrier(12)

    def request(_: int) -> int:
        barrier.wait()
        return get(base + "/")[0]

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(request, range(12)))
    assert statuses == [200] * 12
    assert app.pool.size == 2 and app.pool.stats()["peak_open"] == 2
    # The reaper closes both after DATABASE_IDLE_TIMEOUT_MS: their slots are back on the server.
    assert wait_sessions(postgres_server, name, 0) == 0
    assert app.pool.stats()["idle_closed"] == 2 and app.pool.stats()["open"] == 0

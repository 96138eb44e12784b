"""Real clients configured from the pool contract stay within their allocation under load.

Each test plans a service on the local PostgreSQL (pool 2 x 4 tasks at the peak of a
deploy = 8 connections), runs one client pool per task with the *generated recipe* and
the rendered ``DATABASE_POOL_*`` variables, drives more concurrent requests than the pool
holds, and samples ``pg_stat_activity``: the peak stays within the 8 connections and no
request fails. The same load through the client's defaults goes over the allocation,
which is why the contract exists.

Prisma 7 is not run here: ``prisma generate`` (7.10.1) downloads its schema engine from
binaries.prisma.sh, which this offline machine cannot reach (see docs/clients.md); its
``@prisma/adapter-pg`` passes the same options to node-postgres ``Pool``, which is tested
below with the same settings.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from deploy_paradigms.budget import ConnectionLedger, describe_connection_limit, plan_containers
from deploy_paradigms.budget.plan import ContainerPlan
from deploy_paradigms.budget.recipes import recipe

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
WORKERS_PER_TASK = 6  # concurrent requests per task, more than its pool of 2
LOAD_S = 1.2
QUERY = "SELECT pg_sleep(0.02)"


def service_plan(server: Any) -> ContainerPlan:
    """Pool 2 x 4 tasks at the deploy peak: a service allocated 8 of the server's connections."""
    limit = describe_connection_limit("postgres", max_connections=server.max_connections)
    plan = plan_containers(limit, ConnectionLedger(limit).available, max_tasks=2, connections=8)
    assert (plan.pool.pool_max, plan.peak_tasks, plan.connections) == (2, 4, 8)
    return plan


@contextmanager
def peak_connections(server: Any, application_name: str) -> Iterator[list[int]]:
    """Sample the server's connections for ``application_name``; the list gets the peak."""
    admin = server.admin()
    stop = threading.Event()
    seen = [0]

    def sample() -> None:
        while not stop.is_set():
            rows = admin.run("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n",
                             n=application_name)
            seen[0] = max(seen[0], int(rows[0][0]))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result: list[int] = []
    try:
        yield result
    finally:
        stop.set()
        sampler.join()
        admin.close()
        result.append(seen[0])


def contract_env(server: Any, plan: ContainerPlan, scheme: str, app: str) -> dict[str, str]:
    url = f"{scheme}://{server.user}:{server.password}@{server.host}:{server.port}/{server.dbname}"
    return {**plan.pool.environment(), "DATABASE_URL": url, "PGAPPNAME": app, "PGSSLMODE": "disable"}


def drive(run_query: Callable[[], None]) -> tuple[int, list[str]]:
    """``WORKERS_PER_TASK`` threads call ``run_query`` for ``LOAD_S``; (calls, errors)."""
    errors: list[str] = []
    calls = [0]
    deadline = time.monotonic() + LOAD_S

    def worker() -> None:
        while time.monotonic() < deadline:
            try:
                run_query()
                calls[0] += 1
            except Exception as exc:  # every failure is reported by the test
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker) for _ in range(WORKERS_PER_TASK)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return calls[0], errors


def run_tasks(make_task: Callable[[], Callable[[], None]], tasks: int) -> tuple[int, list[str]]:
    """``tasks`` client pools (one per task), each driven by its own workers at the same time."""
    runners = [make_task() for _ in range(tasks)]
    results: list[tuple[int, list[str]]] = []
    threads = [threading.Thread(target=lambda r=r: results.append(drive(r))) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(c for c, _ in results), [e for _, errs in results for e in errs]


def exec_recipe(code: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, name: str) -> Any:
    """Run a Python recipe exactly as printed, with the contract in os.environ; return ``name``."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    namespace: dict[str, Any] = {}
    exec(compile(code, "<recipe>", "exec"), namespace)
    return namespace[name]


def run_pools(server: Any, application_name: str, tasks: int, open_pool: Callable[[], Any],
              use: Callable[[Any], None]) -> tuple[int, list[str], int, list[Any]]:
    """``tasks`` pools from ``open_pool`` under load, each query through ``use(pool)``:
    (calls, errors, peak server connections, the pools)."""
    pools: list[Any] = []

    def task() -> Callable[[], None]:
        pool = open_pool()
        pools.append(pool)
        return lambda: use(pool)

    with peak_connections(server, application_name) as peak:
        calls, errors = run_tasks(task, tasks)
    return calls, errors, peak[0], pools


def test_sqlalchemy_recipe_stays_within_the_allocation_and_defaults_do_not(
        postgres_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy  # a test-only dependency (dev extra)

    plan = service_plan(postgres_server)
    code = recipe("sqlalchemy", plan.pool).code
    env = contract_env(postgres_server, plan, "postgresql+psycopg", "dp-sqlalchemy-contract")

    def use(engine: Any) -> None:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(QUERY))

    calls, errors, peak, engines = run_pools(
        postgres_server, "dp-sqlalchemy-contract", plan.peak_tasks,
        lambda: exec_recipe(code, env, monkeypatch, "engine"), use)
    with engines[0].connect() as conn:
        statement_timeout = conn.execute(sqlalchemy.text("SHOW statement_timeout")).scalar()
    monkeypatch.setenv("PGAPPNAME", "dp-sqlalchemy-default")
    _, _, default_peak, defaults = run_pools(  # pool_size 5 + max_overflow 10
        postgres_server, "dp-sqlalchemy-default", plan.peak_tasks,
        lambda: sqlalchemy.create_engine(env["DATABASE_URL"]), use)
    for engine in engines + defaults:
        engine.dispose()
    assert errors == [] and calls > 0
    assert 0 < peak <= plan.connections, f"peak {peak} > allocation {plan.connections}"
    assert statement_timeout == "28s"
    assert default_peak > plan.connections, f"defaults peaked at {default_peak}"


def test_psycopg_pool_recipe_stays_within_the_allocation_and_defaults_do_not(
        postgres_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from psycopg_pool import ConnectionPool  # a test-only dependency (dev extra)

    plan = service_plan(postgres_server)
    code = recipe("psycopg-pool", plan.pool).code
    env = contract_env(postgres_server, plan, "postgresql", "dp-psycopg-contract")

    def use(pool: Any) -> None:
        with pool.connection() as conn:
            conn.execute(QUERY)

    calls, errors, peak, pools = run_pools(
        postgres_server, "dp-psycopg-contract", plan.peak_tasks,
        lambda: exec_recipe(code, env, monkeypatch, "pool"), use)
    with pools[0].connection() as conn:
        row = conn.execute("SHOW statement_timeout").fetchone()
    monkeypatch.setenv("PGAPPNAME", "dp-psycopg-default")
    _, _, default_peak, defaults = run_pools(  # min_size 4 = max_size
        postgres_server, "dp-psycopg-default", plan.peak_tasks,
        lambda: ConnectionPool(env["DATABASE_URL"], open=True), use)
    for pool in pools + defaults:
        pool.close()
    assert errors == [] and calls > 0
    assert 0 < peak <= plan.connections, f"peak {peak} > allocation {plan.connections}"
    assert row is not None and row[0] == "28s"
    assert default_peak > plan.connections, f"defaults peaked at {default_peak}"


NODE_DRIVER = """
const [recipePath, mode, workers, loadMs, sql] = process.argv.slice(2);
let pool;
if (mode === "contract") {
  ({ pool } = await import(recipePath));
} else {
  const pg = (await import("pg")).default;
  pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });  // max 10, waits forever
}
const deadline = Date.now() + Number(loadMs);
let calls = 0;
const errors = [];
async function worker() {
  while (Date.now() < deadline) {
    try { await pool.query(sql); calls += 1; } catch (e) { errors.push(String(e)); }
  }
}
await Promise.all(Array.from({ length: Number(workers) }, worker));
const timeout = (await pool.query("SHOW statement_timeout")).rows[0].statement_timeout;
await pool.end();
console.log(JSON.stringify({ calls, errors, timeout }));
"""


def run_node_tasks(recipe_dir: Path, mode: str, env: dict[str, str], tasks: int) -> list[dict[str, Any]]:
    """``tasks`` Node.js processes, each one task with its own pg.Pool, at the same time."""
    procs = [subprocess.Popen(
        ["node", str(recipe_dir / "driver.mjs"), str(recipe_dir / "pool.mjs"), mode,
         str(WORKERS_PER_TASK * 2), str(int(LOAD_S * 1000)), QUERY],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(tasks)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    return results


def test_node_postgres_recipe_stays_within_the_allocation_and_defaults_do_not(postgres_server: Any) -> None:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "pg").is_dir():
        pytest.fail("node and node_modules/pg are needed: run `make setup`", pytrace=False)
    plan = service_plan(postgres_server)
    # Inside the repository so the recipe's `import pg from "pg"` resolves to node_modules/pg.
    recipe_dir = Path(tempfile.mkdtemp(prefix=".test-node-recipe-", dir=ROOT))
    try:
        (recipe_dir / "pool.mjs").write_text(recipe("node-postgres", plan.pool).code)
        (recipe_dir / "driver.mjs").write_text(NODE_DRIVER)
        env = contract_env(postgres_server, plan, "postgresql", "dp-node-contract")
        with peak_connections(postgres_server, "dp-node-contract") as peak:
            results = run_node_tasks(recipe_dir, "contract", env, plan.peak_tasks)
        env["PGAPPNAME"] = "dp-node-default"
        with peak_connections(postgres_server, "dp-node-default") as default_peak:
            run_node_tasks(recipe_dir, "default", env, plan.peak_tasks)
    finally:
        shutil.rmtree(recipe_dir, ignore_errors=True)
    assert all(r["errors"] == [] and r["calls"] > 0 for r in results), results
    assert {r["timeout"] for r in results} == {"28s"}
    assert 0 < peak[0] <= plan.connections, f"peak {peak[0]} > allocation {plan.connections}"
    assert default_peak[0] > plan.connections, f"defaults peaked at {default_peak[0]}"

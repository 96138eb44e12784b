"""``python -m bench faults``: a database restart and a crash under write load, both paths at once.

One local PostgreSQL (``synchronous_commit=on``, so an acknowledged commit survives a crash
as on RDS). Every request inserts one row with a unique key into a table without a unique
constraint, so a write applied twice shows up as two rows:

* **serverless**: one Lambda execution environment (one thread, requests one after another),
  writing through ``connection.with_connection(..., idempotent=False)``, the path the data
  endpoint's writes take (the module keeps one connection per environment);
* **container**: ``web_app.ConnectionPool`` (``connection_limit`` 4) with four request threads,
  each writing on ``pool.connection()``.

Faults, in turn, with load before and after: **restart** (``pg_ctl stop -m fast``: sessions get
``admin_shutdown``) and **crash** (``pg_ctl stop -m immediate``: processes killed, crash
recovery at the next start), each once under load and once *idle* (no requests while it is
down, so the first request after it meets connections closed behind its back); the server is
down ``--downtime`` seconds and comes back on the same port. Per fault and path: requests
that failed while it was down, whether the first request that started after it accepted
connections again succeeded, the time from then to the
first success, failures after it was back; over the run: acknowledged writes missing (lost),
keys present twice (duplicated), failed requests whose row exists anyway (applied though
reported as failed: the connection dropped after the commit).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import machine
from bench.stack_settings import BenchError

POOL_SIZE = 4
PACE_S = 0.02  # pause between one worker's requests
WARMUP_S = 1.0
#: (name, pg_ctl stop mode, load while the database is down). "idle" faults pause the load for the
#: outage, like a function nobody calls for a while or a quiet night: the first request after it
#: finds connections the server closed while nobody was looking.
FAULTS = (("restart", "fast", True), ("crash", "immediate", True),
          ("restart, idle", "fast", False), ("crash, idle", "immediate", False))


@dataclass(frozen=True)
class Request:
    path: str
    key: str
    started: float
    ended: float
    ok: bool
    error: str = ""


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[Request] = []

    def add(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


def _worker(path: str, write: Callable[[str], None], rec: Recorder, stop: threading.Event,
            running: threading.Event) -> None:
    while not stop.is_set():
        if not running.wait(0.05):
            continue
        key = uuid.uuid4().hex
        started = time.monotonic()
        try:
            write(key)
            rec.add(Request(path, key, started, time.monotonic(), True))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:200]
            rec.add(Request(path, key, started, time.monotonic(), False, error))
        stop.wait(PACE_S)


def fault_outcome(requests: list[Request], *, down_at: float, ready_at: float,
                  next_fault_at: float) -> dict[str, Any]:
    """One path's numbers for one fault (``requests`` sorted by start)."""
    during = [r for r in requests if down_at <= r.started < ready_at or (r.started < down_at <= r.ended)]
    after = [r for r in requests if ready_at <= r.started < next_fault_at]
    first = after[0] if after else None
    first_ok = next((r for r in after if r.ok), None)
    return {
        "failed_during_outage": sum(not r.ok for r in during),
        "requests_during_outage": len(during),
        "first_request_after_ok": None if first is None else first.ok,
        "first_success_after_ms": None if first_ok is None else round((first_ok.ended - ready_at) * 1000, 1),
        "failed_after_back": sum(not r.ok for r in after),
        "requests_after_back": len(after),
        "errors": sorted({r.error.split(":")[0] + ": " + r.error.split(":", 1)[-1][:80].strip()
                          for r in during + after if not r.ok})[:4],
    }


def write_outcome(requests: list[Request], rows: dict[str, int]) -> dict[str, int]:
    """Lost, duplicated and applied-though-failed writes, from the table's ``key -> count``."""
    acked = [r for r in requests if r.ok]
    failed = [r for r in requests if not r.ok]
    return {"acknowledged": len(acked), "failed": len(failed),
            "lost": sum(rows.get(r.key, 0) == 0 for r in acked),
            "duplicated": sum(count > 1 for count in rows.values()),
            "applied_though_failed": sum(rows.get(r.key, 0) > 0 for r in failed)}


def measure(server: Any, *, downtime_s: float, after_s: float) -> dict[str, Any]:
    """Run both faults against ``server`` (a LocalPostgres this call may stop and start)."""
    from deploy_paradigms.runtime import connection, web_app
    from deploy_paradigms.runtime.settings import DatabaseSettings

    admin = server.connect()
    admin.run("CREATE TABLE IF NOT EXISTS bench_writes (key text NOT NULL, path text NOT NULL)")
    admin.run("TRUNCATE bench_writes")
    admin.close()
    environ = server.environ("connection_limit=1&pool_timeout=2&connect_timeout=2&sslmode=disable")
    settings = DatabaseSettings.from_env(environ)
    insert = "INSERT INTO bench_writes (key, path) VALUES (:key, :path)"
    connection.set_password_provider(lambda _s: server.password)
    pool = web_app.ConnectionPool(lambda: connection.connect(settings, server.password), size=POOL_SIZE,
                                  timeout_s=2.0)

    def serverless_write(key: str) -> None:
        connection.with_connection(lambda c: c.query(insert, {"key": key, "path": "serverless"}),
                                   settings=settings, idempotent=False)

    def container_write(key: str) -> None:
        with pool.connection() as conn:
            conn.query(insert, {"key": key, "path": "container"})

    rec, stop, running = Recorder(), threading.Event(), threading.Event()
    running.set()
    threads = [threading.Thread(target=_worker, args=("serverless", serverless_write, rec, stop, running),
                                daemon=True)]
    threads += [threading.Thread(target=_worker, args=("container", container_write, rec, stop, running),
                                 daemon=True) for _ in range(POOL_SIZE)]
    marks: list[tuple[str, float, float]] = []
    try:
        for thread in threads:
            thread.start()
        time.sleep(WARMUP_S)
        for name, mode, busy in FAULTS:
            if not busy:
                running.clear()
                time.sleep(0.3)  # requests in flight finish
            down_at = time.monotonic()
            server.go_down(mode)
            time.sleep(downtime_s)
            server.come_back()
            marks.append((name, down_at, time.monotonic()))
            running.set()
            time.sleep(after_s)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        pool.close()
        connection.close_connection()
        connection.set_password_provider(None)
        if not server.running:
            server.come_back()
    admin = server.connect()
    try:
        rows = {str(k): int(n) for k, n in admin.run("SELECT key, count(*) FROM bench_writes GROUP BY key")}
    finally:
        admin.close()
    requests = sorted(rec.requests, key=lambda r: r.started)
    if not requests:
        raise BenchError("no requests were made")
    paths: dict[str, Any] = {}
    for path in ("serverless", "container"):
        mine = [r for r in requests if r.path == path]
        faults = {}
        for i, (name, down_at, ready_at) in enumerate(marks):
            next_fault = marks[i + 1][1] if i + 1 < len(marks) else float("inf")
            faults[name] = fault_outcome(mine, down_at=down_at, ready_at=ready_at, next_fault_at=next_fault)
        paths[path] = {"faults": faults, "writes": write_outcome(mine, rows)}
    targets = all(f["first_request_after_ok"] and f["failed_after_back"] == 0
                  for p in paths.values() for f in p["faults"].values())
    zero_loss = all(p["writes"]["lost"] == 0 and p["writes"]["duplicated"] == 0 for p in paths.values())
    return {"downtime_s": downtime_s, "after_s": after_s, "pool_size": POOL_SIZE, "paths": paths,
            "outages_s": {name: round(ready - down, 2) for name, down, ready in marks},
            "target_first_request_after": targets, "target_zero_lost_or_duplicated": zero_loss}


def run(*, downtime_s: float = 2.0, after_s: float = 3.0, json_out: Path | None = None) -> int:
    from tests.support.local_postgres import LocalPostgres

    started = time.monotonic()
    info = machine.machine()
    with LocalPostgres(max_connections=20, settings={"synchronous_commit": "on"}) as server:
        report = measure(server, downtime_s=downtime_s, after_s=after_s)
    report = {"command": f"python -m bench faults --downtime {downtime_s:g} --after {after_s:g}",
              "machine": info, "elapsed_s": round(time.monotonic() - started, 1), **report}
    path = machine.write_json(json_out or machine.RESULTS / "faults.json", report)
    print(table(report))
    print(f"bench: wrote {path}")
    return 0 if report["target_first_request_after"] and report["target_zero_lost_or_duplicated"] else 1


def verdict(report: dict[str, Any]) -> str:
    first = "met" if report["target_first_request_after"] else "NOT met"
    writes = "met" if report["target_zero_lost_or_duplicated"] else "NOT met"
    return (f"Targets: the first request after the database is back succeeds, none fail after it: {first}; "
            f"zero lost or duplicated writes: {writes}. Down {report['downtime_s']:g} s per fault, load "
            f"{report['after_s']:g} s after each.")


def table(report: dict[str, Any]) -> str:
    rows = ["| path | fault | failed while down | first request after back | first success after "
            "| failed after back | lost / duplicated writes | applied though failed |",
            "|---|---|---:|---|---:|---:|---:|---:|"]
    order = [name for name, _mode, _busy in FAULTS]
    for path in ("serverless", "container"):
        data = report["paths"][path]
        w = data["writes"]
        for name in sorted(data["faults"], key=lambda n: order.index(n) if n in order else len(order)):
            f = data["faults"][name]
            first = {True: "ok", False: "failed", None: "-"}[f["first_request_after_ok"]]
            success = "-" if f["first_success_after_ms"] is None else f"{f['first_success_after_ms']:g} ms"
            rows.append(f"| {path} | {name} | {f['failed_during_outage']} of {f['requests_during_outage']} "
                        f"| {first} | {success} | {f['failed_after_back']} of {f['requests_after_back']} "
                        f"| {w['lost']} / {w['duplicated']} of {w['acknowledged']} "
                        f"| {w['applied_though_failed']} |")
    return "\n".join(rows)

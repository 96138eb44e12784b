"""``python -m bench changes``: the change stream on a real PostgreSQL (wal_level=logical).

Three measurements, with the consumer code the Lambda runs (``runtime.change_consumer``) and a
local EventBridge stub that checks every request's SigV4 signature (``tests/support``):

1. throughput: ``rows`` rows committed in transactions of ``per_transaction``, then one
   consumer drains them; events per second from the first read to the last accepted PutEvents.
2. latency: a writer commits one row every ``1/rate`` s for ``duration`` s while the consumer
   polls every second, as the deployed function does (``CHANGE_POLL_SECONDS`` 1); commit to
   EventBridge acceptance p50/p99 (the poll interval dominates it).
3. a kill: a writer commits while the consumer runs as its own process; the stub SIGKILLs it
   right after EventBridge accepted its third PutEvents (before the slot advance); a new
   consumer process then drains. Lost = rows written whose idempotency key never arrived.

Writes ``bench/results/changes.json``; ``python -m bench readme`` renders the table.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench import machine
from bench.stack_settings import BenchError
from deploy_paradigms.runtime import aws_sigv4, change_consumer, connection
from deploy_paradigms.runtime.settings import DatabaseSettings
from tests.support.local_postgres import LocalPostgres
from tests.support.stub_eventbridge import StubEventBridge

CREDENTIALS = aws_sigv4.AwsCredentials("AKIDCHANGEBENCH", "change-bench-secret")
SOURCE = change_consumer.DEFAULT_SOURCE


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


class _Bench:
    def __init__(self, server: LocalPostgres, bus: StubEventBridge) -> None:
        self.server = server
        self.bus = bus
        self.settings = DatabaseSettings(host=server.host, port=server.port, name=server.dbname,
                                         user=server.user, url_params=(("sslmode", "disable"),))
        self._names = itertools.count()

    def stream(self) -> tuple[str, Any]:
        n = next(self._names)
        table, slot = f"bench_orders_{n}", f"dp_bench_{n}"
        sql = self.server.connect()
        sql.run(f"CREATE TABLE {table} (id bigint PRIMARY KEY, status text, total numeric, note text)")
        conn = connection.connect(self.settings, self.server.password)
        change_consumer.bootstrap(conn, slot=slot, publication=slot, tables=[table])
        sql.close()
        return table, conn

    def consumer(self, conn: Any, slot: str) -> change_consumer.ChangeConsumer:
        return change_consumer.ChangeConsumer(conn, slot=slot, publication=slot,
                                              target=change_consumer.EventTarget("changes", SOURCE, slot))

    def throughput(self, rows: int, per_transaction: int) -> dict[str, Any]:
        table, conn = self.stream()
        slot = table.replace("bench_orders_", "dp_bench_")
        sql = self.server.connect()
        for start in range(0, rows, per_transaction):
            sql.run(f"INSERT INTO {table} SELECT g, 'new', g * 1.5, 'order ' || g FROM "
                    f"generate_series({start + 1}, {min(rows, start + per_transaction)}) g")
        sql.close()
        before = len(self.bus.accepted)
        began = time.perf_counter()
        stats = self.consumer(conn, slot).run_once()
        elapsed = time.perf_counter() - began
        conn.close()
        delivered = len(self.bus.accepted) - before
        if delivered != rows:
            raise BenchError(f"throughput: {delivered} events for {rows} rows")
        return {"rows": rows, "per_transaction": per_transaction, "elapsed_s": round(elapsed, 3),
                "events_per_s": round(rows / elapsed, 1), "put_events_calls": stats.put_calls}

    def _writer(self, table: str, rate: float, duration_s: float, written: list[int],
                stop: threading.Event) -> threading.Thread:
        def write() -> None:
            sql = self.server.connect()
            try:
                deadline = time.monotonic() + duration_s
                for n in itertools.count(1):
                    if stop.is_set() or time.monotonic() > deadline:
                        return
                    sql.run(f"INSERT INTO {table} (id, status) VALUES (:id, 'new')", id=n)
                    written.append(n)
                    time.sleep(1.0 / rate)
            finally:
                sql.close()

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        return thread

    def latency(self, rate: float, duration_s: float, poll_s: float) -> dict[str, Any]:
        table, conn = self.stream()
        slot = table.replace("bench_orders_", "dp_bench_")
        consumer = self.consumer(conn, slot)
        written: list[int] = []
        stop = threading.Event()
        writer = self._writer(table, rate, duration_s, written, stop)
        latencies: list[float] = []
        while writer.is_alive():
            latencies += consumer.run_once().latencies_s
            time.sleep(poll_s)
        latencies += consumer.run_once().latencies_s
        conn.close()
        if len(latencies) != len(written):
            raise BenchError(f"latency: {len(latencies)} events for {len(written)} rows")
        return {"rate_per_s": rate, "duration_s": duration_s, "poll_s": poll_s, "events": len(latencies),
                "p50_ms": round(_percentile(latencies, 0.5) * 1000, 1),
                "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
                "max_ms": round(max(latencies) * 1000, 1)}

    def kill(self, rate: float, duration_s: float) -> dict[str, Any]:
        table, conn = self.stream()
        slot = table.replace("bench_orders_", "dp_bench_")
        conn.close()
        target = self.bus.subscribe({"source": [SOURCE], "detail": {"table": [f"public.{table}"]}})
        written: list[int] = []
        stop = threading.Event()
        writer = self._writer(table, rate, duration_s, written, stop)
        env = {**os.environ, **self.server.environ(), "DP_TEST_DATABASE_PASSWORD": self.server.password,
               change_consumer.SLOT: slot, change_consumer.PUBLICATION: slot, change_consumer.TABLES: table,
               change_consumer.EVENT_BUS: "changes", change_consumer.RUN_SECONDS: str(int(duration_s) + 5),
               "AWS_ENDPOINT_URL_EVENTBRIDGE": self.bus.url, "PYTHONPATH": str(machine.ROOT)}
        command = [sys.executable, "-m", "tests.support.run_change_consumer"]
        process = subprocess.Popen(command, env=env, cwd=machine.ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        calls = itertools.count(1)
        self.bus.after_accept = lambda _events: (os.kill(process.pid, signal.SIGKILL)
                                                 if next(calls) == 3 else None)
        process.wait(timeout=120)
        self.bus.after_accept = None
        killed = process.returncode == -signal.SIGKILL
        before_restart = len(target)
        writer.join()
        env[change_consumer.RUN_SECONDS] = "0"
        subprocess.run(command, env=env, cwd=machine.ROOT, check=True, capture_output=True, timeout=120)
        keys = [e["detail"]["idempotency_key"] for e in target]
        delivered_ids = {e["detail"]["key"]["id"] for e in target}
        first_seen: list[str] = list(dict.fromkeys(e["detail"]["sequence"] for e in target))
        return {"rows_written": len(written), "killed": killed, "events_before_kill": before_restart,
                "events_delivered": len(keys), "distinct_events": len(set(keys)),
                "duplicates": len(keys) - len(set(keys)),
                "lost": len(set(written) - delivered_ids),
                "in_commit_order": first_seen == sorted(first_seen)}


def run(*, rows: int = 5000, per_transaction: int = 100, rate: float = 50.0, duration_s: float = 10.0,
        json_out: Path | None = None) -> int:
    """Run the three measurements and write the JSON (see the module docstring)."""
    began = time.perf_counter()
    server = LocalPostgres(max_connections=30, settings={
        "wal_level": "logical", "max_replication_slots": "10", "synchronous_commit": "on"})
    os.environ.update(AWS_REGION="eu-west-1", AWS_ACCESS_KEY_ID=CREDENTIALS.access_key_id,
                      AWS_SECRET_ACCESS_KEY=CREDENTIALS.secret_access_key)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    aws_sigv4.reset_default_credentials()
    with server, StubEventBridge(CREDENTIALS) as bus:
        os.environ["AWS_ENDPOINT_URL_EVENTBRIDGE"] = bus.url
        admin = server.admin()
        admin.run(f"ALTER ROLE {server.user} REPLICATION")
        version = str(admin.run("SHOW server_version")[0][0])
        admin.close()
        bench = _Bench(server, bus)
        report = {
            "command": f"python -m bench changes --rows {rows} --rate {rate:g} --duration {duration_s:g}",
            "machine": machine.machine(postgres=version),
            "throughput": bench.throughput(rows, per_transaction),
            "latency": bench.latency(rate, duration_s, poll_s=1.0),
            "kill": bench.kill(rate, duration_s),
            "rejected_signatures": len(bus.rejected),
        }
    report["elapsed_s"] = round(time.perf_counter() - began, 1)
    path = machine.write_json(json_out or machine.RESULTS / "changes.json", report)
    print(table(report))
    print(f"written {path}")
    kill = report["kill"]
    return 0 if kill["lost"] == 0 and kill["killed"] and kill["in_commit_order"] else 1


def table(report: dict[str, Any]) -> str:
    """The BENCHMARKS.md / README table of one changes report."""
    t, lat, k = report["throughput"], report["latency"], report["kill"]
    return "\n".join([
        "| measurement | result |",
        "|---|---|",
        f"| throughput ({t['rows']:,} rows in transactions of {t['per_transaction']}) "
        f"| {t['events_per_s']:,} events/s ({t['put_events_calls']} PutEvents calls, {t['elapsed_s']} s) |",
        f"| commit to publish, {lat['rate_per_s']:g} commits/s for {lat['duration_s']:g} s, poll every "
        f"{lat['poll_s']:g} s | p50 {lat['p50_ms']:g} ms, p99 {lat['p99_ms']:g} ms, "
        f"max {lat['max_ms']:g} ms |",
        f"| consumer SIGKILLed after its 3rd accepted PutEvents, restarted "
        f"| {k['rows_written']} rows, {k['distinct_events']} distinct events, lost {k['lost']}, "
        f"{k['duplicates']} redelivered, commit order kept: {'yes' if k['in_commit_order'] else 'NO'} |",
    ])

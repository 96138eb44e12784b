"""``python -m bench connections``: the connection budget under load, four scenarios side by side.

Steps: synthesize the example stacks for the instance class and read their settings
(checked against the budget core); install PgBouncer if missing; start a throwaway
PostgreSQL whose ``max_connections`` is the class's and whose reserved slots are the
engine's; run the scenarios one after the other (PgBouncer only for c); print a table;
write ``bench/results/connections-<class>.json``. Exit status 1 when a scenario did not
behave as expected.

Reserved slots: RDS PostgreSQL keeps 10 of ``max_connections`` from applications (the
seed table is 10 below the observed values). Here they are PostgreSQL's
``superuser_reserved_connections = 9`` plus the benchmark's own superuser session that
samples ``pg_stat_activity`` (standing in for RDS's monitoring connection), so
applications can open exactly ``usable = max_connections - 10``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from bench import load, machine
from bench.proxy_standin import PgBouncer, ensure_pgbouncer, pgbouncer_version
from bench.scenarios import BURST_FACTOR, Scenario, check_outcome, plan_scenarios
from bench.stack_settings import BenchError, StackSettings, read_settings
from tests.support.local_postgres import LocalPostgres, find_bin_dir

#: Superuser sessions the benchmark itself holds during the load (the sampler).
MONITOR_SESSIONS = 1
DEFAULT_DURATION_S = 6.0
DEFAULT_WARMUP_S = 3.0


def _postgres_version() -> str | None:
    try:
        binary = find_bin_dir() / "postgres"
    except Exception:
        return None
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False)
    parts = out.stdout.split()
    return parts[-1] if parts else None


def summarise(outcome: load.Outcome, *, max_connections: int, usable: int) -> dict[str, Any]:
    rec, sampler = outcome.rec, outcome.sampler
    lat, invocations, queries = rec.window(outcome.measure_start, outcome.measure_end)
    peak = sampler.peak_app
    window = outcome.window_s
    attempted = rec.invocations_ok + rec.failed_invocations
    problems = check_outcome(outcome.scenario, connection_errors=rec.connection_errors,
                             other_errors=rec.other_errors, throttles=rec.throttles,
                             peak_connections=peak, usable=usable)
    if sampler.error or sampler.samples == 0:
        problems.append(f"pg_stat_activity sampling failed: {sampler.error or 'no samples'}")
    if outcome.stragglers:
        problems.append(f"{outcome.stragglers} caller thread(s) did not stop within the grace period")

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    result: dict[str, Any] = {
        "window_s": round(window, 2),
        "invocations_ok": rec.invocations_ok,
        "queries_ok": rec.queries_ok,
        "failed_invocations": rec.failed_invocations,
        "failure_rate": round(rec.failed_invocations / attempted, 3) if attempted else None,
        "connection_errors": rec.connection_errors,
        "other_errors": rec.other_errors,
        "throttles": rec.throttles,
        "errors": dict(sorted(rec.errors.items())),
        "peak_connections": peak,
        "peak_client_backends_incl_monitor": sampler.peak_all,
        "max_connections": max_connections,
        "usable": usable,
        "utilisation": round(peak / usable, 3),
        "invocations_per_s": round(invocations / window, 1) if window else None,
        "queries_per_s": round(queries / window, 1) if window else None,
        "latency_ms": {"p50": ms(load.percentile(lat, 50)), "p99": ms(load.percentile(lat, 99)),
                       "max": ms(max(lat) if lat else None)},
        "samples": sampler.samples,
        "timeline_peak_connections_per_0_5s": [sampler.timeline[k] for k in sorted(sampler.timeline)],
        "leftover_connections_terminated": outcome.terminated_after,
        "as_expected": not problems,
        "problems": problems,
    }
    result.update(outcome.extra)
    return result


def run(instance_class: str, *, duration_s: float = DEFAULT_DURATION_S,
        warmup_s: float = DEFAULT_WARMUP_S, json_out: Path | None = None, only: str = "abcdefg") -> int:
    started = time.perf_counter()
    host = machine.machine()  # before the load: its load average is the machine's, not ours
    print(f"bench connections: synthesizing the example stacks for {instance_class} ...", flush=True)
    stack = read_settings(instance_class)
    limit = stack.limit
    print(f"  {limit.describe()}\n"
          f"  Serverless: reserved concurrency {stack.serverless.reserved_concurrency}, "
          f"proxy {stack.serverless.proxy_max_connections_percent}% = "
          f"{stack.serverless.proxy_database_connections} connections, {stack.serverless.url_params}\n"
          f"  Paas: pool {stack.paas.pool_size} x {stack.paas.peak_tasks} tasks at a deploy "
          f"({stack.paas.max_tasks} max x {stack.paas.maximum_percent}%)\n"
          f"  templates == budget plans: yes (synth {stack.synth_s:.1f} s)", flush=True)
    bouncer_binary = ensure_pgbouncer() if "c" in only else None
    tls = shutil.which("openssl") is not None
    tls_mode = "require" if tls else "disable"
    scenarios = [s for s in plan_scenarios(limit, stack.serverless, stack.paas, tls_mode=tls_mode)
                 if s.key in only]
    if not tls:
        scenarios = [_without_tls(s) for s in scenarios]
        print("  note: openssl is missing, so the local server has no TLS; sslmode=disable", flush=True)

    reserved_by_server = limit.reserved - MONITOR_SESSIONS
    server = LocalPostgres(max_connections=limit.max_connections,
                           superuser_reserved_connections=reserved_by_server, ssl=tls,
                           user="dp_app", dbname="dp_bench")
    results: list[dict[str, Any]] = []
    proxy_info: dict[str, Any] = {}
    server_version = None
    with server:
        admin = server.admin()
        try:
            server_version = str(admin.run("SHOW server_version")[0][0])
            for scenario in scenarios:
                print(f"  ({scenario.key}) {scenario.name}: {scenario.callers} callers, "
                      f"{warmup_s:g} s warm-up + {duration_s:g} s ...",
                      flush=True)
                if scenario.route == "proxy":
                    assert bouncer_binary is not None
                    sv = stack.serverless
                    bouncer = PgBouncer(server, pool_size=sv.proxy_database_connections,
                                        max_client_conn=scenario.callers + 10,
                                        query_wait_timeout_s=sv.proxy_borrow_timeout_s,
                                        client_idle_timeout_s=sv.proxy_idle_client_timeout_s,
                                        tls=tls and sv.proxy_require_tls, binary=bouncer_binary)
                    with bouncer:
                        endpoint = load.Endpoint(bouncer.host, bouncer.port, server.dbname, server.user,
                                                 server.password)
                        outcome = load.run_scenario(scenario, endpoint, admin, duration_s=duration_s,
                                                    warmup_s=warmup_s, app_user=server.user, settle=False)
                        proxy_info = {"software": f"PgBouncer {pgbouncer_version(bouncer_binary)}",
                                      "settings": bouncer.public_settings()}
                    # The proxy keeps its server connections pooled while it runs; stopping it
                    # closes them, so nothing should be left to terminate.
                    outcome.terminated_after = load.wait_until_idle(admin, server.user)
                else:
                    endpoint = load.Endpoint(server.host, server.port, server.dbname, server.user,
                                             server.password)
                    outcome = load.run_scenario(scenario, endpoint, admin, duration_s=duration_s,
                                                warmup_s=warmup_s, app_user=server.user)
                summary = summarise(outcome, max_connections=limit.max_connections, usable=limit.usable)
                results.append({**scenario.as_dict(), "result": summary})
                print("    " + _one_line(scenario, summary), flush=True)
        finally:
            admin.close()

    pgbouncer = proxy_info.get("software", "").replace("PgBouncer ", "") or None
    report = {
        "benchmark": "connections",
        "command": (f"python -m bench connections --instance-class {limit.instance_class} "
                    f"--warmup {warmup_s:g} --duration {duration_s:g}"),
        "instance_class": limit.instance_class,
        "engine": limit.engine.value,
        "machine": {**host, "versions": {**host["versions"], "pgbouncer": pgbouncer,
                                         "postgres": server_version or _postgres_version()}},
        "database": {
            "max_connections": limit.max_connections,
            "reserved": limit.reserved,
            "superuser_reserved_connections": reserved_by_server,
            "monitor_sessions": MONITOR_SESSIONS,
            "usable": limit.usable,
            "limit_source": limit.source,
            "limit_is_estimate": limit.estimate,
            "tls": tls,
            "server_version": server_version,
        },
        "settings": stack.as_dict(),
        "proxy_standin": proxy_info,
        "parameters": {"duration_s": duration_s, "warmup_s": warmup_s, "query": load.QUERY,
                       "burst_factor": BURST_FACTOR,
                       "error_backoff_s": load.ERROR_BACKOFF_S, "throttle_backoff_s": load.THROTTLE_BACKOFF_S,
                       "sample_interval_s": load.SAMPLE_INTERVAL_S},
        "scenarios": results,
        "all_as_expected": all(r["result"]["as_expected"] for r in results),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    out = json_out or machine.RESULTS / f"connections-{limit.instance_class}.json"
    machine.write_json(out, report)
    print()
    print(table(report))
    print(f"\nwritten: {_relative(out)} ({report['elapsed_s']} s)")
    if not report["all_as_expected"]:
        for r in results:
            for problem in r["result"]["problems"]:
                print(f"NOT AS EXPECTED ({r['key']}) {r['name']}: {problem}")
        return 1
    return 0


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(machine.ROOT))
    except ValueError:
        return str(path)


def _without_tls(scenario: Scenario) -> Scenario:
    from dataclasses import replace

    return replace(scenario, url_params=load.with_sslmode(scenario.url_params, "disable"))


def _one_line(scenario: Scenario, r: dict[str, Any]) -> str:
    return (f"errors {r['connection_errors']} (+{r['other_errors']} other), throttles {r['throttles']}, "
            f"peak {r['peak_connections']}/{r['usable']} usable ({r['utilisation']:.0%}), "
            f"{r['invocations_per_s']}/s, p50 {r['latency_ms']['p50']} ms, p99 {r['latency_ms']['p99']} ms"
            f"{'' if r['as_expected'] else '  <-- NOT AS EXPECTED'}")


def table(report: dict[str, Any]) -> str:
    """The results as a Markdown table (stdout and README)."""
    db, params = report["database"], report["parameters"]
    lines = [
        f"{report['instance_class']}: max_connections {db['max_connections']}, {db['usable']} usable "
        f"(PostgreSQL {db['server_version']}; per scenario {params['warmup_s']:g} s warm-up + "
        f"{params['duration_s']:g} s measured; each invocation `{params['query']}`; "
        f"errors, throttles and peak over the whole run, rates and latency over the measured window)",
        "",
        "| scenario | callers | connection errors | throttles | peak conns / max_connections "
        "| peak / usable | invocations/s | p50 ms | p99 ms | as expected |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in report["scenarios"]:
        r = s["result"]
        lines.append(
            f"| ({s['key']}) {s['name']} | {s['callers']} | {r['connection_errors']}"
            f"{' (+' + str(r['other_errors']) + ' other)' if r['other_errors'] else ''} | {r['throttles']} "
            f"| {r['peak_connections']} / {r['max_connections']} | {r['utilisation']:.0%} "
            f"| {r['invocations_per_s']:g} | {_num(r['latency_ms']['p50'])} | {_num(r['latency_ms']['p99'])} "
            f"| {'yes' if r['as_expected'] else 'NO'} |")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def check_instance_class(instance_class: str) -> StackSettings | None:
    """Fail early with a clear message for classes the PostgreSQL table does not know."""
    from deploy_paradigms.budget import BudgetError, describe_connection_limit

    try:
        describe_connection_limit("postgres", instance_class)
    except BudgetError as exc:
        raise BenchError(f"--instance-class {instance_class}: {exc}") from None
    return None

"""The benchmark's logic that can break quietly: reading settings from the templates, the
scenarios built from them, outcome checks, the CPU-profile summary and the README/BENCHMARKS
renderers. Nothing here starts a server or times anything (``make bench`` does)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from bench import devloop, readme
from bench.load import is_slot_error
from bench.scenarios import MIN_UTILISATION, check_outcome, plan_scenarios
from bench.stack_settings import BenchError, disagreements, expected_plans, read_paas, read_serverless
from deploy_paradigms.budget import describe_connection_limit
from tests.conftest import template_of

CLASS = "db.t3.micro"  # cdk.json's instanceClass, what synth() uses


@pytest.fixture(scope="module")
def templates(synth: Callable[..., Any]) -> dict[str, dict[str, Any]]:
    assembly = synth()  # the session's shared default assembly: no extra synth
    return {name: template_of(assembly, name) for name in ("Serverless", "Paas")}


def test_settings_read_from_the_templates_agree_with_the_budget_plans(templates: dict[str, Any]) -> None:
    limit = describe_connection_limit("postgres", CLASS)
    serverless = read_serverless(templates["Serverless"], limit)
    paas = read_paas(templates["Paas"])
    reserve, splan, cplan = expected_plans(limit)
    assert disagreements(limit, serverless, paas, splan, cplan) == []
    assert serverless.reserved_concurrency == splan.reserved_concurrency
    assert serverless.connection_limit == 1
    assert paas.peak_tasks * paas.pool_size == cplan.connections <= limit.usable - reserve


def test_a_template_that_drifts_from_the_plan_is_reported(templates: dict[str, Any]) -> None:
    limit = describe_connection_limit("postgres", CLASS)
    drifted = copy.deepcopy(templates["Serverless"])
    for resource in drifted["Resources"].values():
        if "ReservedConcurrentExecutions" in resource.get("Properties", {}):
            resource["Properties"]["ReservedConcurrentExecutions"] += 1
    problems = disagreements(limit, read_serverless(drifted, limit), read_paas(templates["Paas"]),
                             *expected_plans(limit)[1:])
    assert len(problems) == 1 and problems[0].startswith("Serverless ReservedConcurrentExecutions")


def test_a_token_where_a_number_belongs_is_refused(templates: dict[str, Any]) -> None:
    limit = describe_connection_limit("postgres", CLASS)
    tokenised = copy.deepcopy(templates["Serverless"])
    for resource in tokenised["Resources"].values():
        if resource["Type"] == "AWS::RDS::DBProxyTargetGroup":
            resource["Properties"]["ConnectionPoolConfigurationInfo"]["MaxConnectionsPercent"] = {"Ref": "P"}
    with pytest.raises(BenchError, match="MaxConnectionsPercent is not a literal"):
        read_serverless(tokenised, limit)


def test_scenarios_follow_the_stack_settings(templates: dict[str, Any]) -> None:
    limit = describe_connection_limit("postgres", CLASS)
    serverless = read_serverless(templates["Serverless"], limit)
    paas = read_paas(templates["Paas"])
    a, b, c, d, *_ = plan_scenarios(limit, serverless, paas)
    assert a.demand > limit.usable and a.expect_connection_errors
    assert b.callers == b.demand == limit.usable and not b.expect_connection_errors
    assert c.concurrency_cap == serverless.reserved_concurrency and c.callers == 2 * c.concurrency_cap
    assert c.expected_peak == min(serverless.reserved_concurrency, serverless.proxy_database_connections)
    assert d.old_tasks == paas.max_tasks and d.old_tasks + d.new_tasks == paas.peak_tasks
    assert d.expected_peak == paas.peak_tasks * paas.pool_size
    # the benchmark's pass mark is reachable with these settings at all
    assert min(c.expected_peak, d.expected_peak) >= MIN_UTILISATION * limit.usable


def test_contract_scenarios_compare_a_prisma7_default_pool_blue_green_and_multi_concurrency(
        templates: dict[str, Any]) -> None:
    limit = describe_connection_limit("postgres", CLASS)
    paas = read_paas(templates["Paas"])
    *_, e, f, g = plan_scenarios(limit, read_serverless(templates["Serverless"], limit), paas)
    assert (e.key, f.key, g.key) == ("e", "f", "g")
    # e: the deploy of d with the adapter's default pool 10 instead of the contract's 9: over the budget.
    assert e.old_tasks + e.new_tasks == paas.peak_tasks and e.connections_per_caller == 10
    assert e.demand == 80 > limit.usable and e.expect_connection_errors
    # f: blue/green runs both revisions at full size, 2 x max_tasks, and the plan fits them.
    assert (f.old_tasks, f.new_tasks) == (paas.max_tasks, paas.max_tasks)
    assert f.demand <= limit.usable and not f.expect_connection_errors
    # g: environments x processes x pool 1, all at once, within the budget.
    assert g.new_tasks == 0 and g.connections_per_caller == 1 and g.demand == g.old_tasks <= limit.usable
    assert min(f.expected_peak, g.expected_peak) >= MIN_UTILISATION * limit.usable


def test_outcome_checks() -> None:
    limit = describe_connection_limit("postgres", CLASS)
    from bench.scenarios import PaasSettings, ServerlessSettings

    sv = ServerlessSettings(reserved_concurrency=70, url_params="connection_limit=1",
                            proxy_max_connections_percent=83, proxy_max_idle_connections_percent=41,
                            proxy_borrow_timeout_s=10, proxy_idle_client_timeout_s=120,
                            proxy_require_tls=True, proxy_database_connections=71)
    pa = PaasSettings(url_params="connection_limit=9", min_tasks=1, max_tasks=4, maximum_percent=200,
                      minimum_healthy_percent=100)
    a, _, c, d, *_ = plan_scenarios(limit, sv, pa)
    usable = limit.usable
    assert check_outcome(a, connection_errors=10, other_errors=0, throttles=0, peak_connections=usable,
                         usable=usable) == []
    assert check_outcome(a, connection_errors=0, other_errors=0, throttles=0, peak_connections=usable,
                         usable=usable)  # the common default must fail
    assert check_outcome(c, connection_errors=0, other_errors=0, throttles=5, peak_connections=70,
                         usable=usable) == []
    low = check_outcome(d, connection_errors=0, other_errors=0, throttles=0, peak_connections=40,
                        usable=usable)
    assert low == [f"peak 40 is under 90% of the {usable} usable connections"]
    assert check_outcome(c, connection_errors=1, other_errors=0, throttles=0, peak_connections=70,
                         usable=usable) == ["1 connection error(s)",
                                            "expected throttles at a burst over the cap, saw none"]


def test_slot_errors_are_told_apart() -> None:
    assert is_slot_error(RuntimeError("sorry, too many clients already"))
    assert is_slot_error(RuntimeError("remaining connection slots are reserved for superuser connections"))
    assert not is_slot_error(RuntimeError("password authentication failed"))


def test_cpu_profile_summary_counts_recursion_once() -> None:
    frame = {"functionName": "", "url": ""}
    profile = {
        "nodes": [
            {"id": 1, "callFrame": {**frame, "functionName": "(root)"}, "children": [2]},
            {"id": 2, "callFrame": {"functionName": "f", "url": "lib/x.js"}, "children": [3]},
            {"id": 3, "callFrame": {"functionName": "f", "url": "lib/x.js"}, "children": [4]},
            {"id": 4, "callFrame": {"functionName": "g", "url": "lib/y.js"}},
        ],
        "samples": [2, 3, 4, 4, 1],
        "timeDeltas": [1000, 2000, 3000, 4000, 500],
    }
    summary = devloop.summarise_cpu_profile(profile, {"f": ("f", "x.js"), "g": ("g", "y.js")})
    assert summary == {"f": 10.0, "g": 7.0, "total": 10.5}


def _connections_report() -> dict[str, Any]:
    result = {"connection_errors": 0, "other_errors": 0, "throttles": 0, "failure_rate": 0.0,
              "peak_connections": 72, "max_connections": 86, "usable": 76, "utilisation": 0.947,
              "invocations_per_s": 940.8, "latency_ms": {"p50": 50.4, "p99": 172.7}, "as_expected": True}
    failing = {**result, "connection_errors": 2113, "failure_rate": 0.994, "peak_connections": 76,
               "utilisation": 1.0, "invocations_per_s": 0.0, "latency_ms": {"p50": None, "p99": None}}
    return {
        "instance_class": CLASS, "command": "python -m bench connections --instance-class db.t3.micro",
        "database": {"max_connections": 86, "usable": 76, "server_version": "15.18 (Debian)"},
        "machine": {"date": "2026-11-30T02:00:00Z", "nproc": 2, "memory_gib": 23.5,
                    "versions": {"pgbouncer": "1.18.0"}},
        "scenarios": [{"key": "a", "name": "common default", "result": failing},
                      {"key": "d", "name": "our containers, rolling deploy", "result": result}],
    }


def _devloop_report() -> dict[str, Any]:
    return {
        "command": "python -m bench devloop --repeat 3",
        "machine": {"date": "2026-11-30T03:00:00Z", "nproc": 2, "memory_gib": 23.5,
                    "versions": {"node": "20.20.2", "cdk-cli": "2.1148.1", "aws-cdk-lib": "2.275.0"}},
        "synth": {"examples": {"stacks": ["Edge", "Edge-us-east-1", "Paas", "Serverless"]},
                  "target_ratio": 2.0,
                  "modes": {"fresh": {"empty_app": {"runs_s": [3.2, 3.3, 3.1], "median_s": 3.2},
                                      "examples": {"runs_s": [6.5, 6.6, 6.7], "median_s": 6.6},
                                      "ratio": 2.06, "within_target": False},
                            "reused": {"empty_app": {"runs_s": [3.2, 3.3, 3.1], "median_s": 3.2},
                                       "examples": {"runs_s": [6.1, 6.0, 6.2], "median_s": 6.1},
                                       "ratio": 1.91, "within_target": True}},
                  "memory": {"empty_app_mib": 120.0, "examples_mib": 210.5, "ratio": 1.75,
                             "target_ratio": 2.0, "within_target": True}},
        "tests": {"summary": "560 passed in 41.00s", "wall_s": 43.2, "target_s": 60.0, "within_target": True,
                  "peak_mib": 830.4, "memory_target_mib": 2048, "memory_within_target": True},
        "packages": [{"kind": "edge", "zipped_bytes": 3686, "unzipped_bytes": 7475, "handler_import_ms": 30.5,
                      "driver_import_ms": None, "share_of_limit": 0.0035,
                      "limit": {"zipped_bytes": 1048576, "unzipped_bytes": None}}],
    }


def test_readme_section_renders_the_compact_tables() -> None:
    text = readme.readme_section([_connections_report()], _devloop_report())
    lines = text.splitlines()
    assert lines[0].startswith("**db.t3.micro** (max_connections 86, 76 usable), PostgreSQL 15.18 + "
                               "PgBouncer 1.18.0; 2026-11-30, 2 CPUs")
    assert ("| (a) common default | 2113 (99.4% of invocations failed) | 76 / 86 | 100% | 0 | - / - "
            "| yes |") in lines
    assert "| (d) our containers, rolling deploy | 0 | 72 / 86 | 95% | 940.8 | 50.4 / 172.7 | yes |" in lines
    assert ("| `cdk synth`, new output dir per run: empty app / all 4 example templates (median of 3) "
            "| 3.20 s / 6.60 s = **2.06x** | <= 2x: NO |") in lines
    assert any(line.startswith("| `cdk synth`, output dir reused")
               and line.endswith("**1.91x** | <= 2x: yes |") for line in lines)
    assert "| whole test suite (`pytest -q`, 560 passed) | 43.2 s | < 60 s: yes |" in lines
    assert ("| `cdk synth` peak memory (largest process): empty app / examples | 120 MiB / 210 MiB = "
            "**1.75x** | <= 2x: yes |") in lines
    assert "| whole test suite, peak memory (largest process) | 830 MiB | < 2048 MiB: yes |" in lines
    assert any(line.startswith("| package `edge`: zipped / unzipped, cold import | 4 KiB / 7 KiB, 30.5 ms")
               for line in lines)


def test_readme_section_is_inserted_before_development_then_replaced_in_place() -> None:
    original = "# x\n\n## Reviewing\n\ntext\n\n## Development\n\nmore\n"
    first = readme.update_readme(original, "table one")
    assert first.index("## Benchmarks") < first.index(readme.README_START) < first.index("table one") \
        < first.index(readme.README_END) < first.index("## Development")
    assert "make bench" in first.split(readme.README_START)[0]
    second = readme.update_readme(first.replace("## Benchmarks", "## Benchmarks (edited)"), "table two")
    assert "table one" not in second and "table two" in second and "## Benchmarks (edited)" in second
    assert readme.update_readme(second, "table two") == second


def test_markers_must_be_there_once() -> None:
    with pytest.raises(BenchError):
        readme.replace_between("no markers", readme.DOC_START, readme.DOC_END, "x")
    with pytest.raises(BenchError):
        readme.update_readme("# x\n\nno development heading\n", "x")


def test_peak_memory_is_the_largest_process_in_the_tree() -> None:
    """A child that holds 64 MiB is seen through its parent, and stderr is handed back clean."""
    import sys

    grandchild = "x = bytearray(64 * 1024 * 1024); import sys; print('hi', file=sys.stderr)"
    child = f"import subprocess, sys; sys.exit(subprocess.call([sys.executable, '-c', {grandchild!r}]))"
    result, peak_mib = devloop.run_measuring_memory([sys.executable, "-c", child], timeout=30)
    assert result.returncode == 0 and result.stderr.strip() == "hi"
    assert 64 <= peak_mib < 512


# ----------------------------------------------------------------------------- coldstart and faults


def _as_run(report: dict[str, Any], command: str) -> dict[str, Any]:
    from bench import machine

    return {"command": command, "machine": machine.machine(), "elapsed_s": 1.0, **report}


def test_coldstart_quick_mode_exercises_both_iam_token_paths(postgres_server: Any) -> None:
    from bench import coldstart

    report = coldstart.measure(postgres_server, runs=1)
    runtime, baseline = report["runtime"], report["baseline"]
    # Four logins (one untimed and one timed per path), each with a token the stand-in checked.
    assert report["tokens_accepted"] == 4
    assert not runtime["boto3_loaded"] and not runtime["scram_loaded"]  # nothing the IAM path does not use
    assert baseline["boto3_loaded"]
    assert report["ratio_median"] == round(runtime["median_ms"] / baseline["median_ms"], 3)
    assert report["target_met"] == (report["ratio_median"] <= coldstart.TARGET_RATIO)
    run = _as_run(report, "python -m bench coldstart --runs 1")
    section = readme.readme_section([], None, coldstart=run)
    assert "boto3 + pg8000, connecting in the handler" in section and "of the baseline" in section
    assert "Runs (ms, handler import to the row)" in readme.benchmarks_section([], None, coldstart=run)


def test_faults_quick_mode_restart_and_crash() -> None:
    from bench import faults
    from tests.support.local_postgres import LocalPostgres

    with LocalPostgres(max_connections=20, settings={"synchronous_commit": "on"}) as server:
        report = faults.measure(server, downtime_s=0.5, after_s=1.0)
    assert set(report["outages_s"]) == {"restart", "crash", "restart, idle", "crash, idle"}
    for path in ("serverless", "container"):
        data = report["paths"][path]
        assert data["writes"]["acknowledged"] > 0
        assert data["writes"]["lost"] == data["writes"]["duplicated"] == 0
        for name, fault in data["faults"].items():
            assert fault["requests_after_back"] > 0 and fault["first_request_after_ok"] is not None
            if "idle" in name:
                assert fault["requests_during_outage"] == 0  # the load paused
            else:  # the outage was seen under load, and a connection found dead then is replaced
                assert fault["failed_during_outage"] > 0 and fault["first_request_after_ok"] is True, fault
    run = _as_run(report, "python -m bench faults --downtime 0.5 --after 1")
    section = readme.readme_section([], None, faults=run)
    assert "| serverless | crash |" in section and "zero lost or duplicated writes: met" in section
    full = readme.benchmarks_section([], None, faults=run)
    assert "Outages (stop to accepting connections again, s)" in full


def test_fault_outcome_counts_from_the_database_coming_back() -> None:
    from bench.faults import Request, fault_outcome, write_outcome

    def r(key: str, started: float, ended: float, ok: bool) -> Request:
        return Request("p", key, started, ended, ok, "" if ok else "DatabaseUnavailable: down")

    requests = [r("a", 0.0, 0.1, True), r("b", 0.9, 1.2, False),  # in flight when it went down
                r("c", 1.5, 1.6, False), r("d", 3.0, 3.1, False),  # down; the first one after back fails
                r("e", 3.2, 3.25, True), r("f", 3.3, 3.4, True)]
    outcome = fault_outcome(requests, down_at=1.0, ready_at=3.0, next_fault_at=10.0)
    assert outcome["failed_during_outage"] == 2 and outcome["requests_during_outage"] == 2
    assert outcome["first_request_after_ok"] is False and outcome["failed_after_back"] == 1
    assert outcome["first_success_after_ms"] == 250.0
    writes = write_outcome(requests, {"a": 1, "c": 1, "e": 2})
    assert writes == {"acknowledged": 3, "failed": 3, "lost": 1, "duplicated": 1, "applied_though_failed": 1}


def test_changes_table_reports_losses_and_order() -> None:
    from bench.changes import table

    report = {"throughput": {"rows": 100, "per_transaction": 10, "elapsed_s": 0.5, "events_per_s": 200.0,
                             "put_events_calls": 10},
              "latency": {"rate_per_s": 5, "duration_s": 2, "poll_s": 1, "p50_ms": 500, "p99_ms": 990,
                          "max_ms": 1000},
              "kill": {"rows_written": 10, "distinct_events": 9, "lost": 1, "duplicates": 0,
                       "in_commit_order": False}}
    text = table(report)
    assert "200.0 events/s" in text and "p99 990 ms" in text
    assert "lost 1" in text and "commit order kept: NO" in text

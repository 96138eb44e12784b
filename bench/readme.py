"""``python -m bench readme``: README.md's and BENCHMARKS.md's numbers from ``bench/results/*.json``.

README.md gets a compact table between ``<!-- bench:start -->`` and ``<!-- bench:end -->``
(inserted with a ``## Benchmarks`` heading before ``## Development`` when the markers are
missing); BENCHMARKS.md gets the full tables between ``<!-- bench-results:start -->`` and
``<!-- bench-results:end -->``. Only the text between the markers is rewritten, so prose
around them is edited by hand. Nothing is measured here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import machine
from bench.stack_settings import BenchError

README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
DOC_START, DOC_END = "<!-- bench-results:start -->", "<!-- bench-results:end -->"
README_ANCHOR = "## Development"
README_INTRO = """## Benchmarks

`make bench` runs the connection budget under load (a real PostgreSQL sized like the RDS
class, PgBouncer standing in for RDS Proxy, four scenarios side by side: about 50 s), then
the developer-loop timings (`cdk synth` against an empty CDK app, the test suite, the
Lambda packages: about 2.5 minutes), the cold start from a fresh process to the first query
with an IAM token next to boto3 + pg8000 (`python -m bench coldstart`, about 1 minute) and
a database restart and crash under load for the serverless and container paths
(`python -m bench faults`, about 30 s), and rewrites the tables below from
`bench/results/*.json`. Commands, machine, what each scenario emulates and the caveats:
[BENCHMARKS.md](BENCHMARKS.md).

"""
DEFAULT_CLASS = "db.t3.micro"


# --------------------------------------------------------------------------- loading


def load_results(results: Path = machine.RESULTS) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The connection reports (default class first) and the devloop report, if any."""
    connections = [json.loads(p.read_text()) for p in sorted(results.glob("connections-*.json"))]
    connections.sort(key=lambda r: (r["instance_class"] != DEFAULT_CLASS, r["instance_class"]))
    return connections, _report(results / "devloop.json")


def _report(path: Path) -> dict[str, Any] | None:
    return dict(json.loads(path.read_text())) if path.exists() else None


def changes_section(report: dict[str, Any] | None) -> list[str]:
    """The change stream's table with its caption (nothing without a report)."""
    if report is None:
        return []
    from bench.changes import table

    return [f"Change stream: {_day(report)}, {_host(report)}, PostgreSQL "
            f"{str(report['machine']['versions'].get('postgres')).split()[0]}, consumer and SigV4-checking "
            f"EventBridge stub on the same machine; "
            f"`{report['command'].replace('python -m', '.venv/bin/python -m')}`:\n\n" + table(report)]


def load_runtime_results(
        results: Path = machine.RESULTS) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The coldstart and faults reports, if any."""
    found = [results / "coldstart.json", results / "faults.json"]
    coldstart, faults = (json.loads(p.read_text()) if p.exists() else None for p in found)
    return coldstart, faults


# --------------------------------------------------------------------------- rendering


def _num(value: float | None, suffix: str = "") -> str:
    return "-" if value is None else f"{value:g}{suffix}"


def _day(report: dict[str, Any]) -> str:
    return str(report["machine"]["date"])[:10]


def _host(report: dict[str, Any]) -> str:
    host = report["machine"]
    return f"{host['nproc']} CPUs, {host['memory_gib']} GiB"


def connections_caption(report: dict[str, Any]) -> str:
    db = report["database"]
    versions = report["machine"]["versions"]
    pg = str(db.get("server_version") or versions.get("postgres") or "?").split()[0]
    bouncer = versions.get("pgbouncer")
    return (f"**{report['instance_class']}** (max_connections {db['max_connections']}, "
            f"{db['usable']} usable), PostgreSQL {pg}" + (f" + PgBouncer {bouncer}" if bouncer else "")
            + f"; {_day(report)}, {_host(report)}; "
            f"`{report['command'].replace('python -m', '.venv/bin/python -m')}`")


def connections_rows(report: dict[str, Any]) -> list[str]:
    """Compact rows: scenario, errors, peak / max_connections, peak / usable, throughput, p50 / p99."""
    rows = ["| scenario | connection errors | peak conns / max_connections | peak / usable "
            "| invocations/s | p50 / p99 ms | as expected |",
            "|---|---:|---:|---:|---:|---:|---|"]
    for s in report["scenarios"]:
        r = s["result"]
        errors = str(r["connection_errors"])
        if r["connection_errors"] and r.get("failure_rate") is not None:
            errors += f" ({r['failure_rate']:.1%} of invocations failed)"
        if r["other_errors"]:
            errors += f" + {r['other_errors']} other"
        if r["throttles"]:
            errors += f"; {r['throttles']} throttled"
        latency = r["latency_ms"]
        rows.append(f"| ({s['key']}) {s['name']} | {errors} "
                    f"| {r['peak_connections']} / {r['max_connections']} | {r['utilisation']:.0%} "
                    f"| {_num(r['invocations_per_s'])} "
                    f"| {_num(latency['p50'])} / {_num(latency['p99'])} "
                    f"| {'yes' if r['as_expected'] else '**no**'} |")
    return rows


def devloop_rows(report: dict[str, Any]) -> list[str]:
    from bench.devloop import table

    return table(report).splitlines()


def devloop_caption(report: dict[str, Any]) -> str:
    versions = report["machine"]["versions"]
    return (f"Developer loop: {_day(report)}, {_host(report)}, Node {versions.get('node')}, "
            f"CDK CLI {versions.get('cdk-cli')}, aws-cdk-lib {versions.get('aws-cdk-lib')}; "
            f"`{report['command'].replace('python -m', '.venv/bin/python -m')}`")


def runtime_caption(title: str, report: dict[str, Any]) -> str:
    return (f"{title}: {_day(report)}, {_host(report)}; "
            f"`{report['command'].replace('python -m', '.venv/bin/python -m')}`")


def coldstart_rows(report: dict[str, Any]) -> list[str]:
    from bench.coldstart import table

    return table(report).splitlines()


def faults_rows(report: dict[str, Any]) -> list[str]:
    from bench.faults import table, verdict

    return table(report).splitlines() + ["", verdict(report)]


def readme_section(connections: list[dict[str, Any]], devloop: dict[str, Any] | None, *,
                   coldstart: dict[str, Any] | None = None, faults: dict[str, Any] | None = None) -> str:
    """What goes between the README markers (no markers)."""
    parts: list[str] = []
    for report in connections:
        parts.append(connections_caption(report) + ":\n\n" + "\n".join(connections_rows(report)))
    if devloop is not None:
        parts.append(devloop_caption(devloop) + ":\n\n" + "\n".join(devloop_rows(devloop)))
    if coldstart is not None:
        parts.append(runtime_caption("Cold start, fresh process to first query with an IAM token", coldstart)
                     + ":\n\n" + "\n".join(coldstart_rows(coldstart)))
    if faults is not None:
        parts.append(runtime_caption("Database restart and crash under write load", faults)
                     + ":\n\n" + "\n".join(faults_rows(faults)))
    parts += changes_section(_report(machine.RESULTS / "changes.json"))
    if not parts:
        parts.append("No results yet: run `make bench`.")
    return "\n\n".join(parts)


def _synth_breakdown(report: dict[str, Any]) -> list[str]:
    profile = report.get("synth_profile") or {}
    full, nonag, empty = profile.get("full"), profile.get("no-nag"), profile.get("empty")
    if not full:
        return []
    lines = ["", "Where the examples' synth time goes (in-process, `python -m bench.synth_profile`; "
             "seconds):", "", "| phase | empty app | examples | examples without cdk-nag |",
             "|---|---:|---:|---:|"]
    phases = ["import_aws_cdk", "import_stacks_and_cdk_nag", "create_app", "build_app", "synth"]
    for phase in phases:
        cells = [(v or {}).get("seconds", {}).get(phase) for v in (empty, full, nonag)]
        lines.append(f"| {phase} | " + " | ".join(_num(c) for c in cells) + " |")
    for label, key in (("constructs", "constructs"), ("jsii round trips", "jsii_calls")):
        cells = [(v or {}).get(key, {}).get("total") for v in (empty, full, nonag)]
        lines.append(f"| {label} | " + " | ".join(_num(c) for c in cells) + " |")
    staged = full["assets_staged"]
    lines.append(f"| assets staged | 0 | {staged['count']} ({staged['bytes'] / 1024 / 1024:.1f} MiB) | |")
    lines.append(f"| Python callbacks from Node | 0 | {full['python_callbacks_from_node']['total']} "
                 f"({full['python_callbacks_from_node']['s']:g} s) | |")
    node_full, node_empty = full.get("node_cpu_profile_ms"), (empty or {}).get("node_cpu_profile_ms")
    if node_full:
        lines += ["", "Inside the jsii Node process (V8 CPU profile, inclusive milliseconds):", "",
                  "| frame | empty app | examples |", "|---|---:|---:|"]
        from bench.devloop import NODE_FRAMES

        for label in [*NODE_FRAMES, "total"]:
            if label in node_full:
                lines.append(f"| {label} | {_num((node_empty or {}).get(label))} | {node_full[label]:g} |")
    return lines


def _packages(report: dict[str, Any]) -> list[str]:
    lines = ["", "Lambda packages (`deploy_paradigms.packaging.lambda_bundle(kind)`, zipped with "
             "`packaging.zipped_size`; import in a fresh `python -I -S -B` that sees only the bundle, "
             "median of 5):", "",
             "| package | handler | files | zipped | unzipped | limit | share | handler import ms "
             "| + driver import ms | vendored |",
             "|---|---|---:|---:|---:|---|---:|---:|---:|---|"]
    for p in report["packages"]:
        lines.append(f"| {p['kind']} | `{p['handler']}` | {p['files']} | {p['zipped_bytes']:,} B "
                     f"| {p['unzipped_bytes']:,} B | {p['limit']['which']} | {p['share_of_limit']:.1%} "
                     f"| {p['handler_import_ms']:g} | {_num(p['driver_import_ms'])} "
                     f"| {', '.join(p['vendored']) or '-'} |")
    return lines


def _runtime_heading(title: str, report: dict[str, Any]) -> str:
    host = report["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in sorted(host["versions"].items()) if v)
    return (f"### {title}\n\nCommand: `{report['command']}` ({report['elapsed_s']} s). "
            f"Measured {host['date']} "
            f"on {host['nproc']} CPUs ({host['cpu']}), {host['memory_gib']} GiB, load average "
            f"{host['load_average_at_start']} at start; versions {versions}.\n\n")


def _errors_seen(path_report: dict[str, Any]) -> str:
    errors = sorted({e for fault in path_report["faults"].values() for e in fault["errors"]})
    return ", ".join(errors) or "none"


def _runtime_sections(coldstart: dict[str, Any] | None, faults: dict[str, Any] | None) -> list[str]:
    parts = []
    if coldstart is not None:
        runs = ", ".join(f"{name} {coldstart[name]['runs_ms']}" for name in ("runtime", "baseline"))
        parts.append(_runtime_heading("Cold start: fresh process to first query (IAM token)", coldstart)
                     + "\n".join(coldstart_rows(coldstart))
                     + f"\n\nRuns (ms, handler import to the row): {runs}. PostgreSQL "
                     f"{coldstart.get('database', {}).get('server_version', '?')} behind the IAM stand-in; "
                     f"bundle `{coldstart['bundle']}`.")
    if faults is not None:
        parts.append(_runtime_heading("Recovery: database restart and crash under write load", faults)
                     + "\n".join(faults_rows(faults))
                     + f"\n\nOutages (stop to accepting connections again, s): {faults['outages_s']}; "
                     f"container pool size {faults['pool_size']}. Errors seen: "
                     + "; ".join(f"{path}: {_errors_seen(data)}" for path, data in faults["paths"].items())
                     + ".")
    return parts


def load_cache(results: Path = machine.RESULTS) -> dict[str, Any] | None:
    """The edge cache report (``python -m bench cache``), if any."""
    return _report(results / "cache.json")


def cache_section(report: dict[str, Any]) -> str:
    """The edge cache table with its caption (BENCHMARKS.md and README.md)."""
    from bench.cache import table

    host, work = report["machine"], report["workload"]
    return (f"### Edge cache: read-after-write, tag invalidation vs TTL only\n\n"
            f"Command: `{report['command']}` ({report['elapsed_s']} s). Measured {host['date']} on "
            f"{host['nproc']} CPUs, {host['memory_gib']} GiB. {work['duration_s']:g} virtual seconds, "
            f"{work['posts']} posts, a read every {work['read_interval_s']:g} s, a write every "
            f"{work['write_interval_s']:g} s on average, probes every {work['probe_interval_s']:g} s; reads "
            f"`{work['cache_control']}`; invalidation latency (a parameter, not a measurement) "
            f"{work['invalidation_latency_s']:g} s.\n\n" + table(report))


def benchmarks_section(connections: list[dict[str, Any]], devloop: dict[str, Any] | None,
                       cache: dict[str, Any] | None = None, *, coldstart: dict[str, Any] | None = None,
                       faults: dict[str, Any] | None = None) -> str:
    """What goes between the BENCHMARKS.md markers: the full tables."""
    from bench.connections import table as connections_table

    parts: list[str] = []
    for report in connections:
        host = report["machine"]
        parts.append(f"### Connection budget: {report['instance_class']}\n\n"
                     f"Command: `{report['command']}` ({report['elapsed_s']} s). Measured {host['date']} on "
                     f"{host['nproc']} CPUs ({host['cpu']}), {host['memory_gib']} GiB, load average "
                     f"{host['load_average_at_start']} at start; {host['platform']}.\n\n"
                     + connections_table(report)
                     + "\n\nSettings read from the synthesized templates: "
                     + _settings_line(report))
    if devloop is not None:
        host = devloop["machine"]
        synth = devloop["synth"]
        lines = [f"### Developer loop\n\nCommand: `{devloop['command']}` ({devloop['elapsed_s']} s). "
                 f"Measured {host['date']} on {host['nproc']} CPUs ({host['cpu']}), "
                 f"{host['memory_gib']} GiB, load average {host['load_average_at_start']} at start; versions "
                 + ", ".join(f"{k} {v}" for k, v in sorted(host["versions"].items()) if v) + ".", "",
                 "\n".join(devloop_rows(devloop)), "",
                 f"`{synth['command']}` with "
                 + ", ".join(f"{k}={v}" for k, v in synth["environment"].items())
                 + f"; example stacks: {', '.join(synth['examples']['stacks'])}. Runs (s):"]
        for mode, m in synth["modes"].items():
            lines.append(f"- {mode} output, {m['what']}: empty app {m['empty_app']['runs_s']}, examples "
                         f"{m['examples']['runs_s']}")
        lines += _synth_breakdown(devloop)
        lines += _packages(devloop)
        tests = devloop.get("tests")
        if tests and tests.get("slowest"):
            lines += ["", f"Slowest tests (`{tests['command']}`; a `setup` time is mostly the session's "
                      "shared synth of the examples, paid by whichever test asks for it first): "
                      + "; ".join(f"{t['s']:g} s {t['phase']} {t['test']}" for t in tests["slowest"]) + "."]
        parts.append("\n".join(lines))
    parts += [f"### Change stream\n\n{section}" for section in
              changes_section(_report(machine.RESULTS / "changes.json"))]
    if cache is not None:
        parts.append(cache_section(cache))
    parts += _runtime_sections(coldstart, faults)
    if not parts:
        parts.append("No results yet: run `make bench`.")
    return "\n\n".join(parts)


def _settings_line(report: dict[str, Any]) -> str:
    settings = report["settings"]
    sv, pa = settings["serverless"], settings["paas"]
    return (f"reserve {settings['reserve']}; Serverless reserved concurrency {sv['reserved_concurrency']}, "
            f"connection_limit {sv['connection_limit']}, RDS Proxy MaxConnectionsPercent "
            f"{sv['proxy_max_connections_percent']} ({sv['proxy_database_connections']} connections), "
            f"borrow timeout {sv['proxy_borrow_timeout_s']} s; Paas pool {pa['pool_size']} x "
            f"{pa['peak_tasks']} tasks at a deploy ({pa['max_tasks']} max x {pa['maximum_percent']}%) "
            f"= {pa['peak_connections']} connections.")


# --------------------------------------------------------------------------- writing


def replace_between(text: str, start: str, end: str, body: str) -> str:
    """``text`` with everything between the ``start`` and ``end`` marker lines replaced by ``body``."""
    i, j = text.find(start), text.find(end)
    if i < 0 or j < 0 or j < i or text.count(start) != 1 or text.count(end) != 1:
        raise BenchError(f"expected one {start} followed by one {end}")
    return text[: i + len(start)] + "\n" + body.strip("\n") + "\n" + text[j:]


def update_readme(text: str, section: str) -> str:
    """README text with the benchmark section replaced, or inserted before ``## Development``."""
    if README_START not in text and README_END not in text:
        anchor = text.find("\n" + README_ANCHOR + "\n")
        if anchor < 0:
            raise BenchError(f"README.md has neither the {README_START} markers nor a "
                             f"'{README_ANCHOR}' heading")
        block = README_INTRO + README_START + "\n" + README_END + "\n\n"
        text = text[: anchor + 1] + block + text[anchor + 1:]
    return replace_between(text, README_START, README_END, section)


def run(root: Path = machine.ROOT) -> int:
    connections, devloop = load_results(root / "bench" / "results")
    coldstart, faults = load_runtime_results(root / "bench" / "results")
    readme = root / "README.md"
    before = readme.read_text()
    after = update_readme(before, readme_section(connections, devloop, coldstart=coldstart, faults=faults))
    if after != before:
        readme.write_text(after)
    doc = root / "BENCHMARKS.md"
    if not doc.exists():
        raise BenchError("BENCHMARKS.md is missing (it holds the prose around the generated results)")
    doc_before = doc.read_text()
    cache = load_cache(root / "bench" / "results")
    section = benchmarks_section(connections, devloop, cache, coldstart=coldstart, faults=faults)
    doc_after = replace_between(doc_before, DOC_START, DOC_END, section)
    if doc_after != doc_before:
        doc.write_text(doc_after)
    print(f"README.md {'updated' if after != before else 'unchanged'}, "
          f"BENCHMARKS.md {'updated' if doc_after != doc_before else 'unchanged'} "
          f"({len(connections)} connection report(s), devloop {'yes' if devloop else 'missing'}, "
          f"coldstart {'yes' if coldstart else 'missing'}, faults {'yes' if faults else 'missing'})")
    return 0

"""``python -m bench devloop``: how fast the developer loop is, and how big the Lambda packages are.

1. ``cdk synth`` with the pinned CLI (``node_modules/.bin/cdk``) of every example stack
   (the app in cdk.json) against an empty CDK app (one empty ``Stack``, same CLI, same
   interpreter): the jsii start-up floor. Runs alternate, after one untimed warm-up of
   each; the median of ``--repeat`` runs is reported with the ratio (target: at most 2x).
   Output goes to temporary directories, never to the repository's ``cdk.out``.
2. Where synth time goes (:mod:`bench.synth_profile` in fresh interpreters): phases,
   constructs, jsii round trips, Python callbacks, assets staged; and a CPU profile of
   the jsii Node process, summarised by the frames that matter (CloudFormation
   validation, asset staging, cdk-nag, module loading, waiting for Python).
3. The whole test suite (``.venv/bin/python -m pytest -q``; target under 60 s), unless
   ``--skip-tests``.
4. The Lambda packages as ``deploy_paradigms.packaging`` builds them: zipped and unzipped
   size against Lambda's limits, and the cold import of each handler module in a fresh
   interpreter that sees only the standard library and the bundle (median of 5).

Writes ``bench/results/devloop.json``; exit status 1 when a synth or the test suite
failed or a package is over its limit (a timing over target is reported, not failed:
timings depend on the machine and its load).
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import machine
from bench.stack_settings import BenchError

#: Target of the issue: all example stacks synthesize within 2x the empty app.
SYNTH_RATIO_TARGET = 2.0
#: Target of the issue: the whole test suite under 60 s on 2 cores.
TEST_SUITE_TARGET_S = 60.0
#: Memory targets (ours: a GitHub-hosted runner has 7 GiB, and two synths may run side by side):
#: the examples' synth peaks within 2x the empty app's, the whole suite under 2 GiB.
SYNTH_MEMORY_RATIO_TARGET = 2.0
TEST_SUITE_MEMORY_TARGET_MIB = 2048
#: Lambda quotas (AWS Lambda developer guide, "Lambda quotas"; ../shared/reference/facts.md):
#: deployment package 50 MB zipped (direct upload), 250 MB unzipped.
LAMBDA_ZIPPED_LIMIT = 50 * 1024 * 1024
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
COLD_IMPORT_RUNS = 5
CLI_TIMEOUT_S = 300
TEST_TIMEOUT_S = 1800

EMPTY_APP = '''"""An empty CDK app: the floor every `cdk synth` pays (Node, jsii, aws-cdk-lib, the CLI)."""
import aws_cdk as cdk

app = cdk.App()
cdk.Stack(app, "Empty")
app.synth()
'''

#: Frames of the jsii Node process's CPU profile worth naming: label -> (function, url part).
NODE_FRAMES: dict[str, tuple[str, str]] = {
    "synthesize (app.synth, all phases)": ("synthesize", "core/lib/private/synthesis.js"),
    "validation plugins (all)": ("validateTemplates", "core/lib/private/synthesis-validation.js"),
    "CloudFormation validator start-up (WebAssembly)": ("_singletonInstance",
                                                        "validation/cloudformation-validate-plugin.js"),
    "CloudFormation validator checking templates": ("validate",
                                                    "validation/cloudformation-validate-plugin.js"),
    "cdk-nag rules": ("validate", "cdk-nag/lib/nag-pack.js"),
    "Python callbacks (e.g. BudgetGuard.validate)": ("callbackHandler", "lib/program.js"),
    "asset staging (copying bundle directories)": ("AssetStaging", "core/lib/asset-staging.js"),
    "loading JavaScript modules": ("Module._load", "node:internal/modules/cjs/loader"),
    "waiting for Python (jsii requests)": ("readLine", "lib/program.js"),
}


def _env() -> dict[str, str]:
    """The environment ``make`` gives the CLI, minus network side trips (telemetry, notices)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(machine.VENV_BIN), str(machine.CDK_CLI.parent), env.get("PATH", "")])
    env.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,22")
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
    return env


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(machine.ROOT))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------- cdk synth


# Runs a command and prints, as its last stderr line, the peak resident memory of the largest
# process in the command's tree (getrusage(RUSAGE_CHILDREN) covers every waited-for descendant:
# the CDK CLI, the Python app and jsii's Node process).
_PEAK_RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "print(f'peak-rss-kib {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run_measuring_memory(command: list[str], **kwargs: Any) -> tuple[subprocess.CompletedProcess[str], float]:
    """``subprocess.run(command, capture_output=True, text=True, **kwargs)``, plus the peak
    resident memory (MiB) of the largest process the command started."""
    result = subprocess.run([sys.executable, "-c", _PEAK_RSS_WRAPPER, *command], capture_output=True,
                            text=True, check=False, **kwargs)
    lines = result.stderr.rstrip("\n").splitlines()
    if not lines or not lines[-1].startswith("peak-rss-kib "):
        raise BenchError(f"could not read the peak memory of {command[0]}:\n{result.stderr[-2000:]}")
    result.stderr = "\n".join(lines[:-1])
    return result, round(int(lines[-1].split()[1]) / 1024, 1)


def cli_synth_command(outdir: Path) -> list[str]:
    return [str(machine.CDK_CLI), "synth", "--quiet", "--no-notices", "--output", str(outdir)]


def _synth_once(cwd: Path, env: dict[str, str], outdir: Path | None) -> tuple[float, float, list[str]]:
    """One CLI synth into ``outdir`` (kept) or a fresh temporary directory (removed):
    (seconds, peak MiB of the largest process, stacks)."""
    target = outdir or Path(tempfile.mkdtemp(prefix="dp-bench-synth-"))
    try:
        started = time.perf_counter()
        result, peak_mib = run_measuring_memory(cli_synth_command(target), cwd=cwd, env=env,
                                                timeout=CLI_TIMEOUT_S)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise BenchError(f"`cdk synth` in {cwd} failed ({result.returncode}):\n"
                             + "\n".join((result.stderr + result.stdout).splitlines()[-30:]))
        stacks = sorted(p.name.removesuffix(".template.json") for p in target.glob("*.template.json"))
        return elapsed, peak_mib, stacks
    finally:
        if outdir is None:
            shutil.rmtree(target, ignore_errors=True)


#: How the output directory is treated: each run a new one, or one kept across runs.
SYNTH_MODES = {
    "fresh": "a new output directory per run (a first synth, CI): every asset is staged (copied) again",
    "reused": ("one output directory per app across runs, as `cdk synth` reuses cdk.out while you edit: "
               "assets whose hash did not change are not copied again"),
}


def time_synth(repeat: int) -> dict[str, Any]:
    """CLI synth of the examples vs an empty app, in both output modes, alternating, after one
    untimed warm-up round (which also fills the reused output directories)."""
    if not machine.CDK_CLI.exists():
        raise BenchError(f"{_relative(machine.CDK_CLI)} is missing; run `make setup` (npm ci) first")
    env = _env()
    work = Path(tempfile.mkdtemp(prefix="dp-bench-synth-work-"))
    try:
        empty_dir = work / "empty-app"
        empty_dir.mkdir()
        (empty_dir / "app.py").write_text(EMPTY_APP)
        (empty_dir / "cdk.json").write_text(json.dumps({"app": "python app.py"}) + "\n")
        apps = {"empty": empty_dir, "examples": machine.ROOT}
        runs: dict[tuple[str, str], list[float]] = {(m, a): [] for m in SYNTH_MODES for a in apps}
        peaks: dict[str, list[float]] = {a: [] for a in apps}
        stacks: dict[str, list[str]] = {}
        for round_ in range(repeat + 1):  # round 0 warms caches (jsii tarballs, bundles) and is not kept
            label = "warm-up" if round_ == 0 else f"run {round_}/{repeat}"
            for mode in SYNTH_MODES:
                for app, cwd in apps.items():
                    outdir = work / f"out-{app}" if mode == "reused" else None
                    elapsed, peak_mib, stacks[app] = _synth_once(cwd, env, outdir)
                    print(f"  cdk synth {app:<8} {mode:<6} output {label:<9} {elapsed:6.2f} s "
                          f"{peak_mib:7.1f} MiB peak", flush=True)
                    if round_:
                        runs[mode, app].append(elapsed)
                        peaks[app].append(peak_mib)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def app_result(mode: str, app: str) -> dict[str, Any]:
        return {"runs_s": [round(x, 2) for x in runs[mode, app]],
                "median_s": round(statistics.median(runs[mode, app]), 2)}

    modes: dict[str, Any] = {}
    for mode, what in SYNTH_MODES.items():
        ratio = statistics.median(runs[mode, "examples"]) / statistics.median(runs[mode, "empty"])
        modes[mode] = {"what": what, "empty_app": app_result(mode, "empty"),
                       "examples": app_result(mode, "examples"), "ratio": round(ratio, 2),
                       "within_target": ratio <= SYNTH_RATIO_TARGET}
    memory_ratio = statistics.median(peaks["examples"]) / statistics.median(peaks["empty"])
    memory = {"what": "peak resident memory of the largest process (the CDK CLI, the Python app or "
                      "jsii's Node), median over all runs",
              "empty_app_mib": statistics.median(peaks["empty"]),
              "examples_mib": statistics.median(peaks["examples"]),
              "ratio": round(memory_ratio, 2), "target_ratio": SYNTH_MEMORY_RATIO_TARGET,
              "within_target": memory_ratio <= SYNTH_MEMORY_RATIO_TARGET}
    return {
        "command": "node_modules/.bin/cdk synth --quiet --no-notices --output <dir>",
        "memory": memory,
        "environment": {"CDK_DISABLE_CLI_TELEMETRY": "true",
                        "PATH": ".venv/bin and node_modules/.bin first (as make runs it)"},
        "empty_app": {"app": "python app.py (one empty cdk.Stack, no context)", "stacks": stacks["empty"]},
        "examples": {"app": "python -m stacks.app (cdk.json)", "stacks": stacks["examples"]},
        "modes": modes,
        "target_ratio": SYNTH_RATIO_TARGET,
    }


# --------------------------------------------------------------------------- where synth time goes


def _node_wrapper(directory: Path, profile_dir: Path) -> Path:
    """A ``node`` that writes a CPU profile (jsii runs ``$JSII_NODE``; NODE_OPTIONS refuses --cpu-prof)."""
    node = shutil.which("node")
    if node is None:
        raise BenchError("node is not on the PATH")
    wrapper = directory / "node-cpu-prof"
    wrapper.write_text(f'#!/bin/sh\nexec "{node}" --cpu-prof --cpu-prof-dir="{profile_dir}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def summarise_cpu_profile(profile: dict[str, Any], frames: dict[str, tuple[str, str]] = NODE_FRAMES,
                          ) -> dict[str, float]:
    """Inclusive milliseconds of the named frames in a V8 ``.cpuprofile`` (a frame that recurses
    counts once per sample), plus ``total``."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", ())}
    per_node: collections.Counter[int] = collections.Counter()
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=False):
        per_node[sample] += delta
    wanted = {(function, part): label for label, (function, part) in frames.items()}
    totals = dict.fromkeys(frames, 0.0)
    for node_id, micros in per_node.items():
        seen: set[str] = set()
        current: int | None = node_id
        while current is not None:
            frame = nodes[current]["callFrame"]
            for (function, part), label in wanted.items():
                if label not in seen and frame["functionName"] == function and part in frame["url"]:
                    totals[label] += micros
                    seen.add(label)
            current = parent.get(current)
    result = {label: round(micros / 1000, 1) for label, micros in totals.items()}
    result["total"] = round(sum(per_node.values()) / 1000, 1)
    return result


def _profile(variant: str, env: dict[str, str], *, node_profile: bool) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="dp-bench-profile-"))
    try:
        run_env = dict(env)
        if node_profile:
            profiles = work / "profiles"
            profiles.mkdir()
            run_env["JSII_NODE"] = str(_node_wrapper(work, profiles))
        result = subprocess.run([sys.executable, "-m", "bench.synth_profile", variant], cwd=machine.ROOT,
                                env=run_env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S,
                                check=False)
        if result.returncode != 0:
            raise BenchError(f"bench.synth_profile {variant} failed ({result.returncode}):\n"
                             + "\n".join(result.stderr.splitlines()[-30:]))
        data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        if node_profile:
            # jsii's runtime starts the kernel in a child node; its profile is the big one.
            files = sorted(profiles.glob("*.cpuprofile"), key=lambda p: p.stat().st_size)
            if files:
                data["node_cpu_profile_ms"] = summarise_cpu_profile(json.loads(files[-1].read_text()))
        return data
    finally:
        shutil.rmtree(work, ignore_errors=True)


def profile_synth() -> dict[str, Any]:
    """In-process profiles: the examples (with a Node CPU profile), without cdk-nag, the empty app."""
    env = _env()
    out: dict[str, Any] = {"command": "python -m bench.synth_profile full|no-nag|empty",
                           "note": ("one fresh interpreter per variant, same context as `cdk synth`; the "
                                    "full variant runs with the Node CPU profiler on (timings a little "
                                    "higher than without)")}
    for variant, node_profile in (("full", True), ("no-nag", False), ("empty", True)):
        data = _profile(variant, env, node_profile=node_profile)
        out[variant] = data
        phases = ", ".join(f"{k} {v:.2f} s" for k, v in data["seconds"].items())
        print(f"  profile {variant:<7} {phases}", flush=True)
    return out


# --------------------------------------------------------------------------- test suite


_SUMMARY = re.compile(r"^=*\s*(\d+ passed.*?)\s*=*$")
_DURATION = re.compile(r"^(\d+\.\d+)s (call|setup|teardown)\s+(\S.*)$")


def time_tests() -> dict[str, Any]:
    command = [str(machine.VENV_BIN / "python"), "-m", "pytest", "-q", "--durations=5"]
    print("  test suite: " + " ".join([".venv/bin/python", *command[1:]]) + " ...", flush=True)
    started = time.perf_counter()
    result, peak_mib = run_measuring_memory(command, cwd=machine.ROOT, env=_env(), timeout=TEST_TIMEOUT_S)
    elapsed = time.perf_counter() - started
    lines = result.stdout.splitlines()
    summary = next((m.group(1) for line in reversed(lines) if (m := _SUMMARY.match(line.strip()))),
                   lines[-1] if lines else "")
    slowest = [{"s": float(m.group(1)), "phase": m.group(2), "test": m.group(3)}
               for line in lines if (m := _DURATION.match(line.strip()))]
    print(f"  test suite: {summary} ({elapsed:.1f} s wall, {peak_mib:.0f} MiB peak)", flush=True)
    return {
        "command": " ".join([".venv/bin/python", *command[1:]]),
        "wall_s": round(elapsed, 1),
        "peak_mib": peak_mib,
        "memory_target_mib": TEST_SUITE_MEMORY_TARGET_MIB,
        "memory_within_target": peak_mib < TEST_SUITE_MEMORY_TARGET_MIB,
        "passed": result.returncode == 0,
        "summary": summary,
        "slowest": slowest,
        "target_s": TEST_SUITE_TARGET_S,
        "within_target": result.returncode == 0 and elapsed < TEST_SUITE_TARGET_S,
    }


# --------------------------------------------------------------------------- Lambda packages


_IMPORT_PROBE = """
import importlib, json, sys, time
bundle, module, driver = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, bundle)
started = time.perf_counter()
mod = importlib.import_module(module)
handler_s = time.perf_counter() - started
assert callable(getattr(mod, "handler")), "no handler"
assert mod.__file__.startswith(bundle), mod.__file__
driver_s = None
if driver:
    started = time.perf_counter()
    drv = importlib.import_module(driver)
    driver_s = time.perf_counter() - started
    assert drv.__file__.startswith(bundle), drv.__file__
print(json.dumps({"handler_s": handler_s, "driver_s": driver_s, "modules": len(sys.modules)}))
"""


def cold_import(bundle: Path, module: str, driver: str | None,
                runs: int = COLD_IMPORT_RUNS) -> dict[str, Any]:
    """Import ``module`` (then the lazily imported ``driver``) from ``bundle`` in fresh interpreters
    that see only the standard library and the bundle (``-I -S``) and write no bytecode (``-B``:
    a deployed package has none, and the bundle directory is a CDK asset that must not change)."""
    handler: list[float] = []
    drivers: list[float] = []
    modules = 0
    for _ in range(runs):
        result = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", _IMPORT_PROBE, str(bundle), module,
                                 driver or ""], capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise BenchError(f"importing {module} from {bundle} failed:\n{result.stderr[-2000:]}")
        data = json.loads(result.stdout)
        handler.append(data["handler_s"])
        if data["driver_s"] is not None:
            drivers.append(data["driver_s"])
        modules = data["modules"]
    return {
        "handler_import_ms": round(statistics.median(handler) * 1000, 1),
        "driver_import_ms": round(statistics.median(drivers) * 1000, 1) if drivers else None,
        "runs": runs,
        "modules_loaded": modules,
    }


def vendored_distributions(bundle: Path) -> list[str]:
    """``name version`` of each third-party distribution in a bundle (from its ``*.dist-info``)."""
    found = []
    for info in sorted(bundle.glob("*.dist-info")):
        name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        found.append(f"{name} {version}")
    return found


def measure_packages() -> list[dict[str, Any]]:
    from deploy_paradigms import packaging
    from deploy_paradigms.plans import edge as edge_plan

    out = []
    for kind in packaging.KINDS:
        bundle = packaging.lambda_bundle(kind)
        files = [p for p in bundle.rglob("*") if p.is_file()]
        unzipped = sum(p.stat().st_size for p in files)
        zipped = packaging.zipped_size(bundle)
        handler = packaging.HANDLERS[kind]
        module = handler.rsplit(".", 1)[0]
        driver = None if kind == "edge" else packaging.DRIVER_REQUIREMENTS[0]
        zipped_limit: int
        unzipped_limit: int | None
        if kind == "edge":  # the Edge example's function runs on viewer requests (EdgeFunction's default)
            zipped_limit, unzipped_limit = edge_plan.VIEWER_LIMITS.max_package_bytes, None
            which = "Lambda@Edge viewer trigger: 1 MB zipped"
        else:
            zipped_limit, unzipped_limit = LAMBDA_ZIPPED_LIMIT, LAMBDA_UNZIPPED_LIMIT
            which = "Lambda: 50 MB zipped (direct upload), 250 MB unzipped"
        limit = {"zipped_bytes": zipped_limit, "unzipped_bytes": unzipped_limit, "which": which}
        timing = cold_import(bundle, module, driver)
        if any(p.name == "__pycache__" for p in bundle.rglob("*")):
            raise BenchError(f"the import probe wrote bytecode into {bundle}; the CDK asset would change")
        share = zipped / zipped_limit
        if unzipped_limit:
            share = max(share, unzipped / unzipped_limit)
        entry = {
            "kind": kind,
            "handler": handler,
            "files": len(files),
            "zipped_bytes": zipped,
            "unzipped_bytes": unzipped,
            "limit": limit,
            "share_of_limit": round(share, 4),
            "within_limit": share <= 1,
            "vendored": vendored_distributions(bundle),
            **timing,
        }
        out.append(entry)
        print(f"  package {kind:<13} {zipped / 1024:8.1f} KiB zipped, {unzipped / 1024:8.1f} KiB unzipped "
              f"({share:.1%} of the limit), import {timing['handler_import_ms']} ms"
              + (f" + driver {timing['driver_import_ms']} ms" if timing["driver_import_ms"] else ""),
              flush=True)
    return out


# --------------------------------------------------------------------------- report


def _size(n: int) -> str:
    if n < 1024 * 1024:
        return f"{n / 1024:,.0f} KiB"
    mib = n / 1024 / 1024
    return f"{mib:,.0f} MiB" if mib == int(mib) else f"{mib:,.2f} MiB"


def _row(measure: str, value: str, target: str, met: bool) -> str:
    """One line of the devloop table: the target is followed by whether it was met."""
    return f"| {measure} | {value} | {target}: {'yes' if met else 'NO'} |"


def table(report: dict[str, Any]) -> str:
    """The devloop numbers as Markdown (stdout, README and BENCHMARKS.md)."""
    synth = report["synth"]
    lines = ["| measure | value | target |", "|---|---:|---|"]
    stacks = len(synth["examples"]["stacks"])
    for mode, m in synth["modes"].items():
        where = "new output dir per run" if mode == "fresh" else "output dir reused, as cdk.out is"
        lines.append(_row(
            f"`cdk synth`, {where}: empty app / all {stacks} example templates "
            f"(median of {len(m['empty_app']['runs_s'])})",
            f"{m['empty_app']['median_s']:.2f} s / {m['examples']['median_s']:.2f} s = **{m['ratio']:.2f}x**",
            f"<= {synth['target_ratio']:g}x", m["within_target"]))
    memory = synth.get("memory")
    if memory:
        lines.append(_row(
            "`cdk synth` peak memory (largest process): empty app / examples",
            f"{memory['empty_app_mib']:.0f} MiB / {memory['examples_mib']:.0f} MiB = "
            f"**{memory['ratio']:.2f}x**",
            f"<= {memory['target_ratio']:g}x", memory["within_target"]))
    tests = report.get("tests")
    if tests:
        lines.append(_row(f"whole test suite (`pytest -q`, {tests['summary'].split(' in ')[0]})",
                          f"{tests['wall_s']:.1f} s", f"< {tests['target_s']:g} s", tests["within_target"]))
        if "peak_mib" in tests:
            lines.append(_row("whole test suite, peak memory (largest process)",
                              f"{tests['peak_mib']:.0f} MiB", f"< {tests['memory_target_mib']:g} MiB",
                              tests["memory_within_target"]))
    for pkg in report["packages"]:
        limit = pkg["limit"]
        limit_text = _size(limit["zipped_bytes"]) + " zipped"
        if limit["unzipped_bytes"]:
            limit_text += f", {_size(limit['unzipped_bytes'])} unzipped"
        driver = f" + pg8000 {pkg['driver_import_ms']:g} ms" if pkg["driver_import_ms"] else ""
        lines.append(f"| package `{pkg['kind']}`: zipped / unzipped, cold import "
                     f"| {_size(pkg['zipped_bytes'])} / {_size(pkg['unzipped_bytes'])}, "
                     f"{pkg['handler_import_ms']:g} ms{driver} "
                     f"| {limit_text}: {pkg['share_of_limit']:.1%} |")
    return "\n".join(lines)


def run(*, repeat: int = 3, skip_tests: bool = False, json_out: Path | None = None) -> int:
    started = time.perf_counter()
    command = f"python -m bench devloop --repeat {repeat}" + (" --skip-tests" if skip_tests else "")
    print(f"bench devloop: {command}", flush=True)
    host = machine.machine()
    synth = time_synth(repeat)
    for mode, m in synth["modes"].items():
        print(f"  synth, {mode} output: examples {m['examples']['median_s']} s / empty "
              f"{m['empty_app']['median_s']} s = {m['ratio']}x (target <= {SYNTH_RATIO_TARGET:g}x)",
              flush=True)
    profile = profile_synth()
    packages = measure_packages()
    tests = None if skip_tests else time_tests()
    report: dict[str, Any] = {
        "benchmark": "devloop",
        "command": command,
        "machine": host,
        "synth": synth,
        "synth_profile": profile,
        "tests": tests,
        "packages": packages,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    out = json_out or machine.RESULTS / "devloop.json"
    machine.write_json(out, report)
    print()
    print(table(report))
    print(f"\nwritten: {_relative(out)} ({report['elapsed_s']} s)")
    failed = [f"package {p['kind']} is over its limit" for p in packages if not p["within_limit"]]
    if tests is not None and not tests["passed"]:
        failed.append(f"the test suite failed: {tests['summary']}")
    for problem in failed:
        print(f"FAILED: {problem}")
    return 1 if failed else 0

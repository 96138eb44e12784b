"""``python -m bench coldstart``: a fresh process from handler import to the first query result.

Two handlers, run alternately in fresh interpreters (``python -I -S -B``) against one local
PostgreSQL behind :class:`tests.support.aws_standins.IamAuthGate`, which accepts a login only
with a valid RDS IAM auth token for the stand-in credentials (it checks the SigV4 signature
and expiry, as RDS does, then logs in to the real server and relays):

* **runtime**: the shipped ``sample`` bundle (``deploy_paradigms.packaging.lambda_bundle``),
  its handler signing the token with the standard library;
* **baseline**: what a user would otherwise write: ``boto3.client("rds")``,
  ``generate_db_auth_token`` and ``pg8000.native.Connection`` inside the handler.

Both see the stand-in credentials as Lambda's variables (``AWS_ACCESS_KEY_ID`` ...), the
bundle's pg8000 (shipped without bytecode, as a zip is), and the baseline also boto3 from this
virtualenv (with its bytecode, as the Lambda runtime provides it). Timed inside each process,
from before the handler import until the handler returned the row.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import machine
from bench.load import percentile
from bench.stack_settings import BenchError

TARGET_RATIO = 0.40
DEFAULT_RUNS = 20

BASELINE_HANDLER = '''\
import json
import os

import boto3
import pg8000.native


def handler(event, context):
    host, port = os.environ["DATABASE_HOST"], int(os.environ["DATABASE_PORT"])
    user = os.environ["DATABASE_USER"]
    rds = boto3.client("rds", region_name=os.environ["AWS_REGION"])
    token = rds.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user)
    conn = pg8000.native.Connection(user, host=host, port=port, database=os.environ["DATABASE_NAME"],
                                    password=token, timeout=5)
    rows = conn.run("SELECT current_database(), current_user, now(), pg_backend_pid()")
    conn.close()
    return {"statusCode": 200, "body": json.dumps({"row": rows[0]}, default=str)}
'''

# Runs in the fresh interpreter: argv = path entries (os.pathsep-joined), module, function.
PROBE = '''\
import sys, time
sys.path[:0] = [p for p in sys.argv[1].split(__import__("os").pathsep) if p]
started = time.perf_counter()
module = __import__(sys.argv[2], fromlist=["_"])
imported = time.perf_counter()
response = getattr(module, sys.argv[3])({}, None)
done = time.perf_counter()
import json
print(json.dumps({"import_ms": (imported - started) * 1000, "total_ms": (done - started) * 1000,
                  "status": response["statusCode"], "boto3_loaded": "boto3" in sys.modules,
                  "scram_loaded": "asn1crypto.x509" in sys.modules,
                  "body": response["body"][:300]}))
'''


def _probe(path: list[str], module: str, function: str, env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", PROBE, os.pathsep.join(path), module,
                             function], capture_output=True, text=True, env=env, timeout=120, check=False)
    if result.returncode != 0:
        raise BenchError(f"the {module} cold start failed:\n{result.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(result.stdout)
    if data["status"] != 200:
        raise BenchError(f"the {module} handler answered {data['status']}: {data['body']}")
    return data


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    totals = [r["total_ms"] for r in runs]
    imports = [r["import_ms"] for r in runs]
    return {"median_ms": round(statistics.median(totals), 1), "p90_ms": round(percentile(totals, 90) or 0, 1),
            "import_median_ms": round(statistics.median(imports), 1),
            "first_request_median_ms": round(statistics.median(
                [r["total_ms"] - r["import_ms"] for r in runs]), 1),
            "runs_ms": [round(t, 1) for t in totals], "boto3_loaded": any(r["boto3_loaded"] for r in runs),
            "scram_loaded": any(r["scram_loaded"] for r in runs)}


def measure(server: Any, *, runs: int) -> dict[str, Any]:
    """Both cold paths ``runs`` times each, alternating, against ``server`` (a running LocalPostgres)."""
    from deploy_paradigms import packaging
    from tests.support.aws_standins import IamAuthGate, credentials_environ

    bundle = packaging.lambda_bundle("sample")
    site_packages = sysconfig.get_paths()["purelib"]
    with tempfile.TemporaryDirectory(prefix="dp-coldstart-") as tmp, IamAuthGate(server) as gate:
        Path(tmp, "baseline_handler.py").write_text(BASELINE_HANDLER)
        env = {"PATH": os.environ.get("PATH", ""), **credentials_environ(), **gate.environ()}
        # What the runtime uses in production is sslmode=require; the gate speaks plaintext, so
        # both paths ask for TLS and go on without it (prefer; pg8000's default in the baseline).
        env["DATABASE_URL_PARAMS"] = "connection_limit=1&connect_timeout=5&sslmode=prefer"
        paths = {"runtime": ([str(bundle)], "deploy_paradigms.runtime.sample_handler", "handler"),
                 "baseline": ([tmp, str(bundle), site_packages], "baseline_handler", "handler")}
        for path, module, function in paths.values():  # once each, untimed: page cache warm
            _probe(path, module, function, env)
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in paths}
        for i in range(runs):
            order = list(paths) if i % 2 == 0 else list(reversed(paths))
            for name in order:
                samples[name].append(_probe(*paths[name], env))
        accepted, refused = gate.accepted, list(gate.refused)
    if refused:
        raise BenchError(f"the IAM stand-in refused tokens: {refused}")
    runtime, baseline = _summary(samples["runtime"]), _summary(samples["baseline"])
    ratio = round(runtime["median_ms"] / baseline["median_ms"], 3)
    return {"runs": runs, "runtime": runtime, "baseline": baseline, "ratio_median": ratio,
            "ratio_p90": round(runtime["p90_ms"] / baseline["p90_ms"], 3), "target_ratio": TARGET_RATIO,
            "target_met": ratio <= TARGET_RATIO, "tokens_accepted": accepted,
            "bundle": bundle.name, "baseline_handler": BASELINE_HANDLER}


def _version(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def run(*, runs: int = DEFAULT_RUNS, json_out: Path | None = None) -> int:
    from tests.support.local_postgres import LocalPostgres

    started = time.monotonic()
    info = machine.machine(boto3=_version("boto3"), botocore=_version("botocore"))
    with LocalPostgres(max_connections=20) as server:
        report = measure(server, runs=runs)
        admin = server.admin()
        try:
            report["database"] = {"server_version": admin.run("SHOW server_version")[0][0]}
        finally:
            admin.close()
    report = {"command": f"python -m bench coldstart --runs {runs}", "machine": info,
              "elapsed_s": round(time.monotonic() - started, 1), **report}
    path = machine.write_json(json_out or machine.RESULTS / "coldstart.json", report)
    print(table(report))
    print(f"bench: wrote {path}")
    return 0 if report["target_met"] else 1


def table(report: dict[str, Any]) -> str:
    rows = ["| path | median ms | p90 ms | handler import ms | first request ms | boto3 imported |",
            "|---|---:|---:|---:|---:|---|"]
    labels = {"runtime": "deploy-paradigms `sample` bundle (standard-library SigV4)",
              "baseline": "boto3 + pg8000, connecting in the handler"}
    for name in ("runtime", "baseline"):
        r = report[name]
        rows.append(f"| {labels[name]} | {r['median_ms']:g} | {r['p90_ms']:g} | {r['import_median_ms']:g} "
                    f"| {r['first_request_median_ms']:g} | {'yes' if r['boto3_loaded'] else 'no'} |")
    verdict = "met" if report["target_met"] else "NOT met"
    rows.append("")
    rows.append(f"Ratio (median): {report['ratio_median']:.0%} of the baseline "
                f"(p90: {report['ratio_p90']:.0%}); "
                f"target at most {report['target_ratio']:.0%}: {verdict}. {report['runs']} runs of each, "
                f"alternating; {report['tokens_accepted']} IAM tokens checked and accepted.")
    return "\n".join(rows)

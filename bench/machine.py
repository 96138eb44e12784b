"""The machine a benchmark ran on, and writing results."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CDK_CLI = ROOT / "node_modules" / ".bin" / "cdk"
VENV_BIN = ROOT / ".venv" / "bin"


def _command_version(cmd: list[str], pattern: str = r"(\d+(?:\.\d+)+)") -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(pattern, out.stdout + out.stderr)
    return match.group(1) if match else None


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine(**extra_versions: str | None) -> dict[str, Any]:
    """nproc, memory, CPU, load and tool versions (``extra_versions`` adds e.g. postgres)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    versions: dict[str, str | None] = {
        "python": platform.python_version(),
        "node": _command_version(["node", "--version"]),
        "aws-cdk-lib": _package_version("aws-cdk-lib"),
        "cdk-cli": _command_version([str(CDK_CLI), "--version"]) if CDK_CLI.exists() else None,
        "pg8000": _package_version("pg8000"),
    }
    versions.update(extra_versions)
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": _memory_gib(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in load] if load else None,
        "versions": versions,
        "python_executable": sys.executable,
    }


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Pretty JSON with sorted keys (stable diffs; timings still vary run to run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path

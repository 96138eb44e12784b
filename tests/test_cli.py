"""The ``deploy-paradigms`` console script, run as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from deploy_paradigms.cli import main


def test_budget_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budget", "--engine", "postgres", "--instance-class", "db.m5.large"]) == 0
    out = capsys.readouterr().out
    assert "max_connections 823" in out
    assert "usable by applications   813" in out
    assert "reserved concurrency     765" in out
    assert "pool per task            96" in out


def test_budget_json_matches_the_planner(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budget", "--instance-class", "m5.large", "--reserve", "0", "--proxy-percent", "100",
                 "--tasks", "8", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["database"]["usable"] == 813
    assert report["serverless"]["reserved_concurrency"] == 813
    assert report["containers"]["peak_tasks"] == 16
    assert report["containers"]["pool_per_task"] == 813 // 16


@pytest.mark.parametrize(("argv", "needle"), [
    (["budget", "--engine", "oracle"], "engine='oracle' is not a known database engine"),
    (["budget", "--instance-class", "db.z9.large"], "max_connections="),
    (["budget", "--instance-class", "db.t3.micro", "--tasks", "500"], "max_tasks <="),
    (["budget", "--instance-class", "db.m5.large", "--reserve", "-1"], "reserve=-1"),
    (["budget", "--instance-class", "db.m5.large", "--proxy-percent", "150"],
     "proxy_max_connections_percent=150"),
    (["budget", "--instance-class", "db.m5.large", "--tasks", "many"], "invalid int value"),
])
def test_bad_input_is_one_line_exit_2(argv: list[str], needle: str) -> None:
    exe = shutil.which("deploy-paradigms") or f"{sys.prefix}/bin/deploy-paradigms"
    proc = subprocess.run([exe, *argv], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr

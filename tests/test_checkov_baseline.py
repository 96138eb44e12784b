"""The Checkov gate (scripts/checkov_check.py): an unlisted finding fails, a stale entry fails,
every accepted finding carries a reason. CI runs Checkov itself (scripts/checkov.sh)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("checkov_check", ROOT / "scripts" / "checkov_check.py")
assert _spec is not None and _spec.loader is not None
checkov_check = importlib.util.module_from_spec(_spec)
sys.modules["checkov_check"] = checkov_check
_spec.loader.exec_module(checkov_check)

BASELINE = json.loads((ROOT / "checkov-baseline.json").read_text())


def report(*failed: tuple[str, str, str]) -> dict[str, Any]:
    return {"check_type": "cloudformation", "results": {"failed_checks": [
        {"file_path": f"/{t}.template.json", "check_id": c, "resource": r} for t, c, r in failed]}}


ACCEPTED = ("Serverless", "CKV_AWS_157", "AWS::RDS::DBInstance.DatabaseF44359DD")


def test_every_entry_has_a_reason_and_is_listed_once() -> None:
    seen = set()
    for entry in BASELINE["accepted"]:
        assert len(entry["reason"]) > 40, entry
        for template in entry["templates"]:
            for resource in entry["resources"]:
                key = (entry["check"], template, resource)
                assert key not in seen, key
                seen.add(key)


def test_a_listed_finding_passes() -> None:
    found = checkov_check.findings(report(ACCEPTED))
    unlisted, _ = checkov_check.compare(found, BASELINE["accepted"])
    assert unlisted == []


def test_a_new_unlisted_finding_fails() -> None:
    new = ("Paas", "CKV_AWS_118", "AWS::RDS::DBInstance.DatabaseF44359DD")  # enhanced monitoring off
    unlisted, _ = checkov_check.compare(checkov_check.findings(report(ACCEPTED, new)), BASELINE["accepted"])
    assert unlisted == [new]


def test_an_entry_that_matches_nothing_is_reported_stale() -> None:
    _, stale = checkov_check.compare(checkov_check.findings(report(ACCEPTED)), BASELINE["accepted"])
    assert {e["check"] for e in stale} >= {"CKV_AWS_68", "CKV_AWS_2"}
    assert all(e["check"] != "CKV_AWS_157" for e in stale)


def test_ci_runs_checkov_after_synth() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make synth-all") < ci.index("scripts/checkov.sh")
    script = (ROOT / "scripts" / "checkov.sh").read_text()
    assert "checkov==$CHECKOV_VERSION" in script and BASELINE["checkov"] in script

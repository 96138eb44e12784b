"""Compare Checkov's findings over synthesized templates with checkov-baseline.json.

    python3 scripts/checkov_check.py <checkov binary> <directory with *.template.json>

Exit 0 when every failed check matches an accepted entry and every entry still matches a
finding; exit 1 otherwise, listing what to fix or to list (with its reason). Standard library only.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BASELINE = Path(__file__).resolve().parents[1] / "checkov-baseline.json"

Finding = tuple[str, str, str]  # (template stem, check id, Type.LogicalId)


def findings(report: Any) -> list[Finding]:
    """Failed checks from Checkov's JSON output (one report, or a list of them)."""
    reports = report if isinstance(report, list) else [report]
    out: list[Finding] = []
    for rep in reports:
        for failed in rep.get("results", {}).get("failed_checks", []):
            template = Path(failed["file_path"]).name.removesuffix(".template.json")
            out.append((template, failed["check_id"], failed["resource"]))
    return sorted(set(out))


def entry_matches(entry: dict[str, Any], finding: Finding) -> bool:
    template, check, resource = finding
    return (entry["check"] == check
            and any(fnmatch.fnmatchcase(template, t) for t in entry["templates"])
            and any(fnmatch.fnmatchcase(resource, r) for r in entry["resources"]))


def compare(found: list[Finding],
            accepted: list[dict[str, Any]]) -> tuple[list[Finding], list[dict[str, Any]]]:
    """(findings no entry accepts, entries that accept nothing)."""
    unlisted = [f for f in found if not any(entry_matches(e, f) for e in accepted)]
    stale = [e for e in accepted if not any(entry_matches(e, f) for f in found)]
    return unlisted, stale


def main(argv: list[str]) -> int:
    checkov, directory = argv[1], argv[2]
    proc = subprocess.run([checkov, "-d", directory, "--framework", "cloudformation", "-o", "json", "--quiet",
                           "--compact", "--skip-download"], capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        print(f"checkov failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}", file=sys.stderr)
        return 2
    baseline = json.loads(BASELINE.read_text())
    found = findings(json.loads(proc.stdout))
    unlisted, stale = compare(found, baseline["accepted"])
    print(f"checkov {baseline['checkov']}: {len(found)} failed checks over {directory}, "
          f"{len(found) - len(unlisted)} accepted in {BASELINE.name}")
    for template, check, resource in unlisted:
        print(f"NEW  {template}: {check} on {resource} - fix it, or list it with its reason", file=sys.stderr)
    for entry in stale:
        print(f"STALE {entry['check']} {entry['resources']} matches nothing any more - remove it",
              file=sys.stderr)
    return 1 if unlisted or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

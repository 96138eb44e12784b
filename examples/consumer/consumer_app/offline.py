"""``python -m consumer_app.offline``: run the Pulumi program without the Pulumi CLI or AWS.

The program runs under deploy-paradigms' preview mocks (deterministic fake ids
and ARNs), the budget guard checks every declared resource, and the resolved
stack outputs are printed as JSON (``--records`` adds the resource records).
Exits 1 when the guard reports a finding, 2 on a budget error.
"""

from __future__ import annotations

import json
import sys

from deploy_paradigms.budget import BudgetError
from deploy_paradigms.pulumi import check_resources
from deploy_paradigms.pulumi.preview import render_program

from . import existing
from .pulumi_program import program


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        preview = render_program(program, {"aws:region": existing.REGION})
    except BudgetError as err:
        print(f"consumer: error: {err}", file=sys.stderr)
        return 2
    findings = check_resources(preview.resources)
    for finding in findings:
        print(f"consumer: budget guard: {finding}", file=sys.stderr)
    report = {"outputs": preview.outputs, "resources": len(preview.resources)}
    if "--records" in args:
        report["records"] = preview.resources
    print(json.dumps(report, indent=2, sort_keys=True))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())

"""cdk-nag's AwsSolutionsChecks over the example app: no unacknowledged finding, and every
acknowledgement in the code carries a specific reason.

``stacks.app.build_app`` adds the checks as a validation plugin, so a finding fails
the session's synth itself; these tests read the validation report it writes and
the acknowledgements in the source.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*(ROOT / "constructs" / "deploy_paradigms").rglob("*.py"),
                  *(ROOT / "stacks").rglob("*.py")])
#: Reasons that say nothing about the resource.
GENERIC = ("not needed", "not required", "n/a", "false positive", "ignore", "todo", "fixme", "no need",
           "not applicable", "by design", "known issue", "suppress")
MIN_REASON = 60


@pytest.fixture(scope="module")
def report(synth: Callable[..., Any]) -> dict[str, Any]:
    assembly = synth(("Serverless", "Paas", "Edge", "Changes"))  # raises on an unacknowledged error
    assert {s.stack_name for s in assembly.stacks} >= {"Serverless", "Paas", "Edge", "Edge-us-east-1",
                                                       "Changes"}
    return dict(json.loads((Path(assembly.directory) / "validation-report.json").read_text()))


def test_examples_synthesize_with_aws_solutions_checks(report: dict[str, Any]) -> None:
    plugins = {r["pluginName"]: r for r in report["pluginReports"]}
    nag = plugins.pop("AwsSolutions", None)
    assert nag is not None, "build_app must add cdk-nag's AwsSolutionsChecks"
    assert nag["conclusion"] == "success"
    assert nag["violations"] == [], [(v["ruleName"], v["violatingConstructs"][0]["constructPath"])
                                     for v in nag["violations"]]
    assert nag["suppressedViolations"], "the examples acknowledge findings; the report must list them"
    for name, plugin in plugins.items():  # CloudFormation Validate, construct annotations: no error
        assert plugin["conclusion"] == "success", name
        assert all(v["severity"] != "error" for v in plugin["violations"]), name


def test_every_acknowledgement_in_the_report_has_a_specific_reason(report: dict[str, Any]) -> None:
    for plugin in report["pluginReports"]:
        for suppressed in plugin.get("suppressedViolations", []):
            where = f"{suppressed['acknowledgedAt']}: {suppressed['acknowledgedId']}"
            _check_reason(suppressed["reason"], where)


def _check_reason(reason: str, where: str) -> None:
    text = reason.strip().lower()
    assert len(text) >= MIN_REASON, f"{where}: reason too short: {reason!r}"
    assert not any(text.startswith(g) or text == g for g in GENERIC), f"{where}: generic reason {reason!r}"


def _literal(node: ast.expr) -> str | None:
    """The text of a string expression (constants, f-strings' literal parts, + and implicit joins)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)  # type: ignore[misc]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left), _literal(node.right)
        return None if left is None or right is None else left + right
    return None


def _acknowledgements() -> Iterator[tuple[str, int, str, str | None]]:
    """(file, line, id, reason) of every Acknowledgment(...) in the source."""
    for path in SOURCES:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (
                    (isinstance(node.func, ast.Attribute) and node.func.attr == "Acknowledgment")
                    or (isinstance(node.func, ast.Name) and node.func.id == "Acknowledgment")):
                kwargs = {k.arg: k.value for k in node.keywords}
                ack_id = _literal(kwargs["id"]) if "id" in kwargs else None
                reason = _literal(kwargs["reason"]) if "reason" in kwargs else None
                yield str(path.relative_to(ROOT)), node.lineno, ack_id or "?", reason


def test_every_acknowledgement_in_the_code_has_a_specific_reason() -> None:
    found = list(_acknowledgements())
    assert found, "expected the constructs and stacks to acknowledge some findings"
    for file, line, ack_id, reason in found:
        where = f"{file}:{line} {ack_id}"
        assert reason is not None, f"{where}: the reason must be a literal string"
        _check_reason(reason, where)
    # Every acknowledge( call passes Acknowledgment(...) objects, so the scan above saw its reasons.
    calls = [node for path in SOURCES for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and node.func.attr == "acknowledge"]
    assert calls and all(call.args for call in calls), "acknowledge() without an Acknowledgment"
    assert sum(len(call.args) for call in calls) <= len(found)

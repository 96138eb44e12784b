"""The edge paradigm's shape (issue 11): renderers only render, as named steps, in functions a reader
can hold in their head; one API shape across frameworks and paradigms (a ``lambda_.Runtime`` works
for ``EdgeFunction`` as for ``ServerlessFunction``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_lambda as lambda_

from deploy_paradigms import packaging
from deploy_paradigms.budget import BudgetError, InputError
from deploy_paradigms.cdk import edge_function as cdk_edge
from deploy_paradigms.plans.edge import EDGE_RUNTIMES
from deploy_paradigms.pulumi import edge_function as pulumi_edge

PACKAGE = Path(cdk_edge.__file__).resolve().parents[1]
MODULES = {
    "cdk": PACKAGE / "cdk" / "edge_function.py",
    "pulumi": PACKAGE / "pulumi" / "edge_function.py",
    "plans": PACKAGE / "plans" / "edge.py",
}
MAX_LINES = 60
#: The steps both constructors take, by the same names (the CDK constructor in this order).
STEPS = (
    "_plan",
    "_create_edge_function",
    "_create_firewall",
    "_create_policies",
    "_create_logging",
    "_create_distribution",
)


def _functions(path: Path) -> dict[str, int]:
    tree = ast.parse(path.read_text())
    return {
        f"{node.name}@{node.lineno}": node.end_lineno - node.lineno + 1  # type: ignore[operator]
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_function_or_method_over_60_lines(module: str) -> None:
    lengths = _functions(MODULES[module])
    assert lengths, module
    assert {name: n for name, n in lengths.items() if n > MAX_LINES} == {}


def test_both_constructors_take_the_same_named_steps() -> None:
    for module in ("cdk", "pulumi"):
        names = {name.split("@")[0] for name in _functions(MODULES[module])}
        assert set(STEPS) <= names, (module, sorted(set(STEPS) - names))
    # The CDK constructor calls its steps in order; nothing else is decided in it.
    init = next(
        n
        for n in ast.walk(ast.parse(MODULES["cdk"].read_text()))
        if isinstance(n, ast.FunctionDef) and n.name == "__init__"
    )
    calls = sorted(
        (c.lineno, c.col_offset, c.func.attr)
        for c in ast.walk(init)
        if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
    )
    called = [name for _, _, name in calls]
    assert [s for s in called if s in STEPS] == list(STEPS)


def test_cdk_runtimes_are_the_plans() -> None:
    assert tuple(cdk_edge._RUNTIMES) == EDGE_RUNTIMES
    assert all(runtime.name == name for name, runtime in cdk_edge._RUNTIMES.items())


def _site(runtime: object, region: str = "eu-west-1") -> cdk_edge.EdgeFunction:
    app = cdk.App(analytics_reporting=False)
    stack = cdk.Stack(app, "Runtimes", env=cdk.Environment(region=region))
    return cdk_edge.EdgeFunction(
        stack,
        "Site",
        code_path=packaging.lambda_bundle("edge"),
        handler=packaging.EDGE_HANDLER,
        runtime=runtime,  # type: ignore[arg-type]
        default_origin=origins.HttpOrigin("example.com"),
    )


def test_cdk_edge_function_takes_a_lambda_runtime_like_serverless_function() -> None:
    assert _site(lambda_.Runtime.PYTHON_3_11).plan.runtime == "python3.11"
    assert _site("nodejs22.x").plan.runtime == "nodejs22.x"  # names keep working
    assert _site(None).plan.runtime == "python3.12"  # omitted


@pytest.mark.parametrize("runtime", [lambda_.Runtime.PYTHON_3_13, lambda_.Runtime.JAVA_21, "python3.99"])
def test_a_runtime_lambda_at_edge_does_not_take_is_an_input_error(runtime: object) -> None:
    with pytest.raises(
        InputError,
        match=r"is not a Lambda@Edge runtime this library supports; use one of: "
        r"python3.11, python3.12, nodejs20.x, nodejs22.x",
    ) as refused:
        _site(runtime)
    assert not isinstance(refused.value, BudgetError)


def test_omitted_inputs_are_none_and_documented() -> None:
    """Constructor defaults are None (resolved in the plan), in both frameworks."""
    import inspect

    cdk_defaults = {
        k: p.default
        for k, p in inspect.signature(cdk_edge.EdgeFunction.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    assert {k: v for k, v in cdk_defaults.items() if v is not None} == {}
    fields = pulumi_edge.EdgeFunctionArgs.__dataclass_fields__
    assert {k for k, f in fields.items() if f.default not in (None,) and k != "handler"} == {"tags"}
    for module, text, marker in (
        ("cdk", cdk_edge.EdgeFunction.__doc__ or "", ":param {}:"),
        ("pulumi", pulumi_edge.EdgeFunctionArgs.__doc__ or "", "\n        {}:"),
    ):
        for name in ("runtime", "event_type", "include_body", "price_class", "rate_limit"):
            assert marker.format(name) in text, (module, name)
            described = re.split(r":param |\n        \w+:", text.split(marker.format(name), 1)[1])[0]
            assert "mitted" in described, (module, name, described)

"""The serverless and data-endpoint renderers read as named steps, alike in CDK and Pulumi (issue 11).

Measured with ``ast`` over the four modules: no function or method is longer than 60 lines, and
each constructor calls the same named steps in the same order in both frameworks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "constructs" / "deploy_paradigms"
RENDERERS = {
    "serverless_function": (
        "ServerlessFunction",
        [PACKAGE / "cdk" / "serverless_function.py", PACKAGE / "pulumi" / "serverless_function.py"],
    ),
    "data_endpoint": (
        "DataEndpoint",
        [PACKAGE / "cdk" / "data_endpoint.py", PACKAGE / "pulumi" / "data_endpoint.py"],
    ),
}
MODULES = [path for _, paths in RENDERERS.values() for path in paths]
MAX_LINES = 60


def _functions(tree: ast.AST) -> list[ast.FunctionDef]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]


def _length(node: ast.FunctionDef) -> int:
    """Lines of the body (signature and docstring included, as a reader sees them)."""
    assert node.end_lineno is not None
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return node.end_lineno - start + 1


@pytest.mark.parametrize("path", MODULES, ids=[f"{p.parent.name}/{p.name}" for p in MODULES])
def test_no_constructor_or_method_is_over_60_lines(path: Path) -> None:
    tree = ast.parse(path.read_text())
    too_long = {
        f"{node.name} (line {node.lineno})": _length(node)
        for node in _functions(tree)
        if _length(node) > MAX_LINES
    }
    assert not too_long, f"{path.name}: over {MAX_LINES} lines: {too_long}"
    assert _functions(tree), "the measurement found no functions"


def _steps(path: Path, cls: str) -> list[str]:
    """The ``self._step(...)`` calls of ``cls.__init__``, in order."""
    tree = ast.parse(path.read_text())
    klass = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    init = next(n for n in klass.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    return [
        node.func.attr
        for node in ast.walk(init)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
        and node.func.attr.startswith("_")
    ]


@pytest.mark.parametrize("paradigm", sorted(RENDERERS))
def test_cdk_and_pulumi_constructors_take_the_same_steps(paradigm: str) -> None:
    cls, (cdk_path, pulumi_path) = RENDERERS[paradigm]
    cdk_steps, pulumi_steps = _steps(cdk_path, cls), _steps(pulumi_path, cls)
    assert cdk_steps == pulumi_steps
    assert {"_plan", "_create_function", "_wire_security"} <= set(cdk_steps)
    if paradigm == "serverless_function":
        # the ledger booking is one step, the shares helper's one place to change
        assert cdk_steps[:2] == ["_plan", "_book_connections"]
        assert "_create_proxy" in cdk_steps and "_create_alarms" in cdk_steps


def test_the_measurement_catches_a_long_function(tmp_path: Path) -> None:
    long = tmp_path / "long.py"
    long.write_text("def f() -> None:\n" + "    x = 1\n" * MAX_LINES)
    (node,) = _functions(ast.parse(long.read_text()))
    assert _length(node) == MAX_LINES + 1


def test_data_endpoint_takes_the_function_options_as_one_object() -> None:
    """Issue 11: DataEndpoint re-declared 16 ServerlessFunction keyword arguments; now one ``function``."""
    import dataclasses
    import inspect

    from deploy_paradigms.cdk.data_endpoint import DataEndpoint as CdkDataEndpoint
    from deploy_paradigms.plans.serverless import FunctionOptions
    from deploy_paradigms.pulumi.data_endpoint import DataEndpointArgs

    options = {f.name for f in dataclasses.fields(FunctionOptions)}
    cdk_inputs = set(inspect.signature(CdkDataEndpoint.__init__).parameters)
    pulumi_inputs = {f.name for f in dataclasses.fields(DataEndpointArgs)}
    for inputs in (cdk_inputs, pulumi_inputs):
        assert "function" in inputs
        assert not inputs & options, sorted(inputs & options)
    assert len(options) >= 15

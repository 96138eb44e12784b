"""ContainerService's renderers only render, in named steps shaped alike (issue 11).

Measured with ``ast`` over both modules and the plan: no function or method over 60 lines,
the CDK and Pulumi constructors call the same named steps, and no renderer decides a number
the plan holds.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from deploy_paradigms.cdk import container_service as cdk_cs
from deploy_paradigms.plans import paas
from deploy_paradigms.pulumi import container_service as pulumi_cs

MAX_LINES = 60
MODULES = (cdk_cs, pulumi_cs, paas)
#: Steps both constructors call, in this order (the CDK pattern's work is ``_create_service``).
SHARED_STEPS = ("_book_connections", "_create_cluster", "_create_logs", "_create_security_groups",
                "_create_access_logs", "_create_service", "_create_scaling", "_wire_security",
                "_create_alarms", "_acknowledge")


def functions(module: object) -> list[tuple[str, int]]:
    tree = ast.parse(Path(inspect.getfile(module)).read_text())  # type: ignore[arg-type]
    return [(node.name, (node.end_lineno or node.lineno) - node.lineno + 1) for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 2)[-2])
def test_no_function_is_over_60_lines(module: object) -> None:
    too_long = [(name, lines) for name, lines in functions(module) if lines > MAX_LINES]
    assert not too_long, f"{module}: {too_long} (split into named steps)"
    assert functions(module)  # the walk found the module's functions


def steps(cls: type) -> list[str]:
    """The ``self._step(...)`` calls of ``cls.__init__``, in order."""
    source = inspect.getsource(cls.__init__)  # type: ignore[misc]
    tree = ast.parse(inspect.cleandoc("\n" + source) if source.startswith(" ") else source)
    calls = [node for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and isinstance(node.func.value, ast.Name) and node.func.value.id == "self"
             and node.func.attr.startswith("_")]
    return [call.func.attr for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset))
            if isinstance(call.func, ast.Attribute)]


def test_cdk_and_pulumi_constructors_call_the_same_steps_in_the_same_order() -> None:
    for cls in (cdk_cs.ContainerService, pulumi_cs.ContainerService):
        called = [step for step in steps(cls) if step in SHARED_STEPS]
        assert called == sorted(called, key=SHARED_STEPS.index), (cls, called)
        assert set(called) == set(SHARED_STEPS), (cls, set(SHARED_STEPS) - set(called))


def test_renderers_hold_no_tuning_constant() -> None:
    """Every number is the plan's: neither renderer imports a tuning constant from plans.paas."""
    tuning = {"HEALTH_CHECK_INTERVAL_S", "HEALTH_CHECK_TIMEOUT_S", "HEALTHY_THRESHOLD", "UNHEALTHY_THRESHOLD",
              "HEALTH_CHECK_GRACE_S", "DEREGISTRATION_DELAY_S", "STOP_TIMEOUT_S", "SCALE_OUT_COOLDOWN_S",
              "SCALE_IN_COOLDOWN_S", "LOG_BUFFER_MIB", "SSL_POLICY_NAME"}
    for module in (cdk_cs, pulumi_cs):
        assert not tuning & set(vars(module)), module

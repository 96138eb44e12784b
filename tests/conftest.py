"""Shared fixtures. CDK synthesis is the slow part of the suite (jsii), so each
example app is synthesized once per session per context and shared."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,22")  # value = majors to silence

_ASSEMBLIES: dict[tuple[Any, ...], Any] = {}


def synth_examples(stacks: tuple[str, ...] = ("Serverless", "Paas", "Edge"), **context: str) -> Any:
    """Synthesize example stacks (cdk-nag plugin included) and return the cloud assembly.

    Cached per (stacks, context): tests read templates, they never mutate them.
    """
    key = (stacks, tuple(sorted(context.items())))
    if key not in _ASSEMBLIES:
        import aws_cdk as cdk

        from stacks.app import build_app

        outdir = tempfile.mkdtemp(prefix="cdk-out-")
        app = cdk.App(outdir=outdir, context=context, analytics_reporting=False)
        _ASSEMBLIES[key] = build_app(app, stacks=stacks).synth()
    return _ASSEMBLIES[key]


def template_of(assembly: Any, stack_name: str) -> dict[str, Any]:
    return dict(assembly.get_stack_by_name(stack_name).template)


@pytest.fixture(scope="session")
def synth() -> Callable[..., Any]:
    """``synth(("Paas",), instanceClass="db.m5.large")`` -> cloud assembly (cached)."""
    return synth_examples

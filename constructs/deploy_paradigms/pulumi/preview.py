"""Offline preview: run the example program under the mock engine and list its resources.

    render("serverless", {"instanceClass": "db.m5.large"})  -> list of records
    preview_json("serverless", {...})                       -> the same list as JSON

Each record is ``{"type", "name", "parent", "inputs"}``: the resource token,
its logical name, the logical name of its parent component (None at the top
level), and its inputs as the engine would receive them, resolved and made
JSON-safe (:func:`.mock_engine.normalise`: keys sorted; secrets shown as
``"[secret]"``; assets and archives as ``{"asset"|"archive": "sha256:<hex of the
content>"}``). Component resources are listed too. Records are sorted by type,
then name, so two renders of the same program and config are identical.

No Pulumi CLI, no AWS account: the programs run under :mod:`.mock_engine`, the
one mock engine preview, ``check_program`` and the tests share. It answers
as AWS does (ids such as ``vpc-<hex>``, ARNs such as
``arn:aws:rds:<region>:123456789012:db-proxy:prx-<hex>``, RDS endpoints, bucket
domain names) and refuses what the engine refuses (duplicate URNs, missing
required inputs).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pulumi

from .mock_engine import (
    ACCOUNT,
    DEFAULT_REGION,
    SECRET,
    UNKNOWN,
    AwsMocks,
    MockRun,
    RecordingMonitor,
    run_program,
)
from .program import PROJECT, check_paradigm, run
from .shares import budget_error_in

__all__ = ["ACCOUNT", "DEFAULT_REGION", "PROJECT", "SECRET", "STACK", "UNKNOWN", "Preview", "PreviewMocks",
           "RecordingMonitor", "forget_earlier_programs", "preview_json", "render", "render_program",
           "render_stack"]

STACK = "preview"
#: A rendered program: resources, stack outputs, options, answered states (:class:`.mock_engine.MockRun`).
Preview = MockRun
#: The mock engine's AWS answers (:class:`.mock_engine.AwsMocks`), under the name preview gave them.
PreviewMocks = AwsMocks


def render_stack(paradigm: str, config: Mapping[str, str] | None = None) -> Preview:
    """Run the example program for ``paradigm`` offline; resources and stack outputs."""
    check_paradigm(paradigm)
    return render_program(lambda: run(paradigm), {**(config or {}), "paradigm": paradigm})


def render_program(program: Callable[[], Any], config: Mapping[str, str] | None = None) -> Preview:
    """Run any Pulumi program function offline under the mock engine (tests use this directly).

    ``config`` keys without a namespace belong to the project (``deploy-paradigms:``);
    ``aws:region`` picks the region of the answers (default us-east-1). Exceptions raised by
    the program (a BudgetError, say) propagate unchanged; what the program returns is ``.result``.
    """
    forget_earlier_programs()
    try:
        return run_program(program, config, project=PROJECT, stack=STACK)
    except ValueError as failure:  # a default share refused after the program body, as Pulumi wraps it
        refused = budget_error_in(failure)
        if refused is None:
            raise
        raise refused.with_traceback(None) from None


def forget_earlier_programs() -> None:
    """Drop what an earlier program refused after its body left behind (as ``pulumi.runtime.test``
    does): Pulumi tracks unfinished outputs in one set for every context, and the resources that
    waited for a refused default share are unfinished for good."""
    pulumi.runtime.settings.SETTINGS.rpc_manager.clear()
    pulumi.runtime.settings.SETTINGS.outputs.clear()


def render(paradigm: str, config: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Resource records of the example program for ``paradigm`` (see the module docs)."""
    return render_stack(paradigm, config).resources


def preview_json(paradigm: str, config: Mapping[str, str] | None = None) -> str:
    """:func:`render` as indented JSON with sorted keys (what ``deploy-paradigms preview`` prints)."""
    return json.dumps(render(paradigm, config), indent=2, sort_keys=True)

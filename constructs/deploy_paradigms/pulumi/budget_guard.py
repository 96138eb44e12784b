"""The connection-budget checks for Pulumi programs: the twin of ``cdk.BudgetGuard``.

The same framework-free rules (:mod:`deploy_paradigms.guard`) over a stack's
resources, three ways:

1. Over resource records (``{"type", "name", "parent", "inputs"}``, optionally
   ``"outputs"``), e.g. what :func:`deploy_paradigms.pulumi.preview.render` returns::

       findings = check_resources(preview.render("serverless"))

2. Over your own program, offline (no CLI, no AWS), in a unit test: the program
   runs under the mock engine preview and the tests use, so every reference
   between resources is known::

       assert check_program(my_program, {"instanceClass": "db.m5.large"}) == []

3. Inside ``pulumi preview`` / ``pulumi up``, as a stack transform that records
   every resource, then a check at the end of the program that fails it::

       guard = BudgetGuard()
       pulumi.runtime.register_resource_transform(guard.transform)   # first line
       ...                                                          # your resources
       guard.finalize()                                             # last line: raises on findings

   (``budget_guard_transform`` and ``finalize`` are the same on a module-level
   guard.) Stack transforms run in the Pulumi engine: the SDK refuses to register
   one with a CLI too old for them, and under ``set_mocks`` (use ``check_program``
   there). During a preview the ids of resources not yet created are unknown;
   references that cannot be resolved are skipped, and a function or service
   that sets ``DATABASE_HOST`` or ``DATABASE_URL`` is taken to reach the stack's
   only governed database. Per-resource checks (the proxy's idle client
   timeout) never need references.

Findings name the rule (``lambda-reserved-concurrency``, ``database-over-allocated``,
``proxy-idle-client-timeout``, ``ecs-pool-exceeds-allocation``), the resource
path (its parent chain) and the numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pulumi

from ..guard import BUDGET_RULES, Finding, GuardError, Rule, check_records
from .mock_engine import normalise, run_program

__all__ = [
    "DEFAULT_GUARD",
    "BudgetGuard",
    "budget_guard_transform",
    "check_program",
    "check_resources",
    "finalize",
]

def check_resources(records: Iterable[Mapping[str, Any]],
                    rules: Sequence[Rule] = BUDGET_RULES) -> list[Finding]:
    """Findings of ``rules`` (default: the four budget rules) over Pulumi resource records."""
    return check_records(records, rules)


def check_program(program: Callable[[], None], config: Mapping[str, str] | None = None, *,
                  rules: Sequence[Rule] = BUDGET_RULES, project: str = "deploy-paradigms") -> list[Finding]:
    """Run ``program`` offline under the mock engine (:mod:`.mock_engine`, the one preview uses)
    and check the resources it declares, references resolved through the ids and ARNs the mocks
    answered.

    ``config`` keys without a namespace get ``project``'s (``{"instanceClass": ...}``).
    """
    run = run_program(program, config, project=project, stack="guard")
    return check_resources(run.records_with_outputs(), rules)


class BudgetGuard:
    """Records the resources of a running Pulumi program and checks them at the end.

    :param rules: omitted, the four budget rules (``guard.BUDGET_RULES``); ``guard.ALL_RULES``
        adds the security rules.
    """

    def __init__(self, rules: Sequence[Rule] = BUDGET_RULES) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.records: list[dict[str, Any]] = []

    def transform(self, args: pulumi.ResourceTransformArgs) -> None:
        """A resource transform (``register_resource_transform``): records, changes nothing."""
        parent = getattr(args.opts, "parent", None) if args.opts is not None else None
        self.records.append({
            "type": args.type_,
            "name": args.name,
            "parent": getattr(parent, "_name", None),
            "inputs": normalise(dict(args.props or {})),
        })

    def check(self) -> list[Finding]:
        """Findings over what was recorded so far."""
        return check_resources(self.records, self.rules)

    def finalize(self) -> None:
        """Wait for pending registrations, then raise :class:`~deploy_paradigms.guard.GuardError`
        (after logging each finding as a Pulumi error) when a rule reports a finding."""
        _wait_for_registrations()
        findings = self.check()
        if findings:
            for finding in findings:
                pulumi.log.error(str(finding))
            raise GuardError(findings)


#: The guard behind the module-level :func:`budget_guard_transform` and :func:`finalize`.
DEFAULT_GUARD = BudgetGuard()


def budget_guard_transform(args: pulumi.ResourceTransformArgs) -> None:
    """``pulumi.runtime.register_resource_transform(budget_guard_transform)``: records into DEFAULT_GUARD."""
    DEFAULT_GUARD.transform(args)


def finalize() -> None:
    """Check what :func:`budget_guard_transform` recorded; raises GuardError on findings."""
    DEFAULT_GUARD.finalize()


def _wait_for_registrations() -> None:
    """Transforms run while the engine registers each resource, after the program's code
    returned from the constructor; wait for those registrations the way
    ``register_resource_transform`` itself does (a private helper of the SDK, pinned <4)."""
    try:
        from pulumi.runtime.stack import _wait_for_pending_rpcs
    except ImportError:  # pragma: no cover - a future SDK without the helper
        return
    try:
        _wait_for_pending_rpcs()
    except RuntimeError:  # no running event loop: called outside a Pulumi program
        return

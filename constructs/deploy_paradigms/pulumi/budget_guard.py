"""The connection-budget checks for Pulumi programs: the twin of ``cdk.BudgetGuard``.

The same framework-free rules (:mod:`deploy_paradigms.guard`) over a stack's
resources, three ways:

1. Over resource records (``{"type", "name", "parent", "inputs"}``, optionally
   ``"outputs"``), e.g. what :func:`deploy_paradigms.pulumi.preview.render` returns::

       findings = check_resources(preview.render("serverless"))

2. Over your own program, offline (no CLI, no AWS), in a unit test: the program
   runs under the preview's deterministic mocks, so every reference between
   resources is known::

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

import contextvars
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pulumi
from pulumi.runtime import rpc

from ..budget.deployment import ACCOUNT_CONCURRENCY_KEY
from ..guard import BUDGET_RULES, Finding, GuardError, Rule, check_records
from .database import config_quota

__all__ = [
    "DEFAULT_GUARD",
    "BudgetGuard",
    "budget_guard_transform",
    "check_program",
    "check_resources",
    "finalize",
]

_UNKNOWN = "[unknown]"
_SECRET = "[secret]"


def check_resources(records: Iterable[Mapping[str, Any]],
                    rules: Sequence[Rule] = BUDGET_RULES, *,
                    account_concurrency_limit: int | None = None) -> list[Finding]:
    """Findings of ``rules`` (default: the budget rules) over Pulumi resource records.
    ``account_concurrency_limit``: the account's Lambda quota; omitted, the running program's
    ``deploy-paradigms:accountConcurrencyLimit`` config (what the constructs read), else 1,000."""
    quota = config_quota() if account_concurrency_limit is None else account_concurrency_limit
    return check_records(records, rules, account_concurrency_limit=quota)


def check_program(program: Callable[[], None], config: Mapping[str, str] | None = None, *,
                  rules: Sequence[Rule] = BUDGET_RULES, project: str = "deploy-paradigms") -> list[Finding]:
    """Run ``program`` offline under the preview's mocks and check the resources it declares.

    ``config`` keys without a namespace get ``project``'s (``{"instanceClass": ...}``).
    """
    settings = {(k if ":" in k else f"{project}:{k}"): str(v) for k, v in (config or {}).items()}
    return check_resources(render_program(program, config, project=project), rules,
                           account_concurrency_limit=config_quota(settings.get(ACCOUNT_CONCURRENCY_KEY, "")))


def render_program(program: Callable[[], None], config: Mapping[str, str] | None = None, *,
                   project: str = "deploy-paradigms") -> list[dict[str, Any]]:
    """Resource records of ``program`` run under the preview mocks (same shape as ``preview.render``)."""
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from .preview import DEFAULT_REGION, PreviewMocks, RecordingMonitor

    settings = {(k if ":" in k else f"{project}:{k}"): str(v) for k, v in (config or {}).items()}
    monitor = RecordingMonitor(PreviewMocks(settings.get("aws:region", DEFAULT_REGION)))

    def in_fresh_context() -> None:
        pulumi.runtime.set_all_config(settings, [])
        pulumi.runtime.set_mocks(monitor.mocks, project=project, stack="guard", preview=False,
                                 monitor=monitor)

        async def run() -> None:
            program()

        _sync_await(run_pulumi_func(run))

    contextvars.Context().run(in_fresh_context)
    return [{"type": typ, "name": name, "parent": _name_of_urn(parent), "inputs": _plain(inputs)}
            for typ, name, parent, inputs in monitor.registrations]


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
            "inputs": _plain(dict(args.props or {})),
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


def _name_of_urn(urn: str) -> str | None:
    if not urn or urn.rsplit("::", 2)[-2].endswith("pulumi:pulumi:Stack"):
        return None
    return urn.rsplit("::", 1)[-1]


def _plain(value: Any) -> Any:
    """Inputs as plain JSON-like data: unknowns and pending outputs as ``[unknown]``, secrets
    masked, resources as ``{"resource": "type::name"}``."""
    if rpc.is_rpc_secret(value):
        return _SECRET
    if isinstance(value, str):
        return _UNKNOWN if value == rpc.UNKNOWN else value
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, pulumi.Resource):
        return {"resource": f"{getattr(value, '_type', '')}::{getattr(value, '_name', '')}"}
    if isinstance(value, pulumi.Output):
        return _UNKNOWN
    return repr(value)

"""The functions of one template reserve no more than their account can."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ...budget.deployment import ACCOUNT_CONCURRENCY_KEY
from ...budget.plan import UNRESERVED_CONCURRENCY_MINIMUM
from ..model import Finding, Model, Resource, Rule, as_int


def _reserved(model: Model) -> list[tuple[Resource, int]]:
    return [(fn, n) for fn in model.of_kind("function")
            if (n := as_int(fn.props.get("reserved_concurrency"))) is not None and n > 0]


def check_across(models: Mapping[str, Model]) -> Iterator[tuple[str, Finding]]:
    """The templates of several stacks deployed to one account and Region (``models``: stack
    name -> model): their functions together, when no one template is over on its own (that is
    :func:`check`'s finding). Yields (stack name, finding on its largest function)."""
    reserved = [(stack, fn, n) for stack, model in models.items() for fn, n in _reserved(model)]
    if not reserved or len(models) < 2:
        return
    model = next(iter(models.values()))
    total, reservable = sum(n for _, _, n in reserved), model.reservable_concurrency
    if total <= reservable or any(sum(n for _, n in _reserved(m)) > reservable for m in models.values()):
        return
    listed = "; ".join(f"{stack}: {fn.path} {n}" for stack, fn, n in reserved)
    stack, largest, _ = max(reserved, key=lambda item: item[2])
    yield stack, Finding(RULE.id, largest.name, largest.path,
                         f"the stacks {', '.join(models)} deploy to one account and Region, and their "
                         f"functions reserve {total} concurrent executions together, over the "
                         f"{reservable} it can reserve (quota {model.account_concurrency_limit} - "
                         f"{UNRESERVED_CONCURRENCY_MINIMUM} unreserved): {listed}", "reserved_concurrency")


def check(model: Model) -> Iterator[Finding]:
    reserved = _reserved(model)
    total = sum(n for _, n in reserved)
    reservable = model.reservable_concurrency
    if total <= reservable:
        return
    listed = "; ".join(f"{fn.path} {n}" for fn, n in reserved)
    largest = max(reserved, key=lambda pair: pair[1])[0]
    quota = (f"the quota {model.account_concurrency_limit} ({ACCOUNT_CONCURRENCY_KEY})" if model.quota_given
             else f"the default quota {model.account_concurrency_limit} (no {ACCOUNT_CONCURRENCY_KEY} given)")
    yield Finding(RULE.id, largest.name, largest.path,
                  f"functions reserve {total} concurrent executions together, over the {reservable} an "
                  f"account with {quota} can reserve ({UNRESERVED_CONCURRENCY_MINIMUM} must stay "
                  f"unreserved): {listed}; the deployment fails at the function that crosses it",
                  "reserved_concurrency")


RULE = Rule(
    id="account-reserved-concurrency",
    category="budget",
    reason="Reserved concurrency comes out of one quota per account and Region (1,000 by default, as few "
           "as 10 on new accounts) and 100 must stay unreserved, so functions that together reserve more "
           "fail to deploy, whatever each database allows.",
    fix="Lower the functions' reserved concurrency, or request a higher quota; read it with `aws lambda "
        "get-account-settings` (AccountLimit.ConcurrentExecutions) and pass it as the "
        "deploy-paradigms:accountConcurrencyLimit CDK context / Pulumi config, which the guard reads too.",
    check=check,
)

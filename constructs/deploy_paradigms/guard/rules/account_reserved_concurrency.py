"""The functions of one template reserve no more than an account can."""

from __future__ import annotations

from collections.abc import Iterator

from ...budget.plan import DEFAULT_ACCOUNT_CONCURRENCY, UNRESERVED_CONCURRENCY_MINIMUM
from ..model import Finding, Model, Rule, as_int

#: What the rule assumes when nothing says otherwise (Lambda's default quota).
RESERVABLE = DEFAULT_ACCOUNT_CONCURRENCY - UNRESERVED_CONCURRENCY_MINIMUM


def check(model: Model) -> Iterator[Finding]:
    reserved = [(fn, n) for fn in model.of_kind("function")
                if (n := as_int(fn.props.get("reserved_concurrency"))) is not None and n > 0]
    total = sum(n for _, n in reserved)
    if total <= RESERVABLE:
        return
    listed = "; ".join(f"{fn.path} {n}" for fn, n in reserved)
    largest = max(reserved, key=lambda pair: pair[1])[0]
    yield Finding(RULE.id, largest.name, largest.path,
                  f"functions reserve {total} concurrent executions together, over the {RESERVABLE} an "
                  f"account "
                  f"with the default quota ({DEFAULT_ACCOUNT_CONCURRENCY}) can reserve: {listed}; the "
                  f"deployment fails at the function that crosses it", "reserved_concurrency")


RULE = Rule(
    id="account-reserved-concurrency",
    category="budget",
    reason="Reserved concurrency comes out of one quota per account and Region (1,000 by default, as few "
           "as 10 on new accounts) and 100 must stay unreserved, so functions that together reserve more "
           "fail to deploy, whatever each database allows.",
    fix="Lower the functions' reserved concurrency, or request a higher quota (read it with `aws lambda "
        "get-account-settings`) and acknowledge this finding with the quota you have.",
    check=check,
)

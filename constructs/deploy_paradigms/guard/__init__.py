"""Guard rules, written once, checked against CDK templates and Pulumi resource graphs.

No CDK or Pulumi import here. Both inputs are normalised into the same list
of :class:`Resource` (see :mod:`.model` for the kinds and their properties):

    from deploy_paradigms import guard

    findings = guard.check_template(template_dict)           # a synthesized template
    findings = guard.check_records(preview.render("paas"))   # Pulumi preview records
    findings = guard.check_records(records, guard.BUDGET_RULES)

Each rule lives in its own module under :mod:`.rules` with an ``id`` (what
you acknowledge), a ``reason``, a ``fix`` and a ``check``. Security rules:
storage encrypted, no public database, TLS at the proxy, deletion protection,
backups >= 7 days, log retention, least-privilege IAM, no secrets. Budget
rules: reserved concurrency on Lambdas that reach a governed database,
allocations within a database's limit, proxy idle client timeout below the
1800 s default, ECS pool x peak tasks within its allocation.

:class:`deploy_paradigms.cdk.BudgetGuard` and
:mod:`deploy_paradigms.pulumi.budget_guard` apply the budget rules to users' apps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..budget import BudgetError as _BudgetError  # not re-exported: its home is budget
from .cfn import from_template
from .model import (
    ALLOCATION_TAG,
    ASSUMED_POOL_SIZE,
    Finding,
    Ingress,
    Model,
    Resource,
    Rule,
    run_rules,
)
from .records import from_records
from .rules import ALL_RULES, BUDGET_RULES, SECURITY_RULES


class GuardError(_BudgetError):
    """Raised by the Pulumi guard (and usable by callers) when rules report findings."""

    def __init__(self, findings: Iterable[Finding]) -> None:
        self.findings = tuple(findings)
        lines = "\n".join(f"  {f}" for f in self.findings)
        super().__init__(f"{len(self.findings)} guard finding(s):\n{lines}")


def rule_by_id(rule_id: str) -> Rule:
    """The rule with this id; unknown ids raise :class:`BudgetError` listing the known ones."""
    for rule in ALL_RULES:
        if rule.id == rule_id:
            return rule
    raise _BudgetError(f"unknown guard rule {rule_id!r}; known: {', '.join(r.id for r in ALL_RULES)}")


def check_template(template: Mapping[str, Any], rules: Iterable[Rule] = ALL_RULES, *,
                   account_concurrency_limit: int | None = None) -> list[Finding]:
    """Findings of ``rules`` over one CloudFormation template (a dict). ``account_concurrency_limit``:
    the account's Lambda concurrency quota; omitted, the default 1,000."""
    return run_rules(Model(from_template(template), account_concurrency_limit=account_concurrency_limit),
                     rules)


def check_records(records: Iterable[Mapping[str, Any]], rules: Iterable[Rule] = ALL_RULES, *,
                  account_concurrency_limit: int | None = None) -> list[Finding]:
    """Findings of ``rules`` over Pulumi resource records (``preview.render`` output);
    ``account_concurrency_limit`` as for :func:`check_template`."""
    return run_rules(Model(from_records(records), account_concurrency_limit=account_concurrency_limit),
                     rules)


__all__ = [
    "ALLOCATION_TAG",
    "ALL_RULES",
    "ASSUMED_POOL_SIZE",
    "BUDGET_RULES",
    "SECURITY_RULES",
    "Finding",
    "GuardError",
    "Ingress",
    "Model",
    "Resource",
    "Rule",
    "check_records",
    "check_template",
    "from_records",
    "from_template",
    "rule_by_id",
    "run_rules",
]

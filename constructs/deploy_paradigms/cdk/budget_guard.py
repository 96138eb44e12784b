"""``BudgetGuard``: the connection-budget checks as a CDK policy validation plugin.

For apps that compose the constructs with resources of their own. One line,
next to cdk-nag::

    app = cdk.App()
    ...                                   # your stacks
    BudgetGuard.of(app)                   # = Validations.of(app).add_plugins(BudgetGuard())

At synth, after the templates are written, it reads every stack's template and
reports, as synth errors naming the construct path of each offender:

* ``lambda-reserved-concurrency``: a Lambda function that can reach a governed
  database (through its security groups, directly or through an RDS Proxy, or by
  its ``DATABASE_HOST``/``DATABASE_URL``) without reserved concurrency;
* ``database-over-allocated``: proxies, functions and services on one database
  that together can hold more connections than it has;
* ``proxy-idle-client-timeout``: an RDS Proxy left at the 1800 s idle client timeout;
* ``ecs-pool-exceeds-allocation``: an ECS service whose max tasks x maximum
  percent x pool exceeds its allocation;
* ``proxy-clients-over-share``: the functions and services behind one RDS Proxy
  (yours or one a ServerlessFunction created) can hold more clients than it opens;
* ``account-reserved-concurrency``: a stack's functions (or those of all the
  stacks of one account and Region together) reserve more than the account's
  quota (the ``deploy-paradigms:accountConcurrencyLimit`` context the constructs
  read, default 1,000) minus the 100 that stay unreserved.

A governed database is one whose connection limit the budget core knows (its
engine and class, or ``max_connections`` in its parameter group). The rules are
the framework-free ones in :mod:`deploy_paradigms.guard` (the Pulumi twin in
:mod:`deploy_paradigms.pulumi.budget_guard` runs the same). Accept a finding on
purpose the way cdk-nag's are accepted::

    cdk.Validations.of(my_function).acknowledge(cdk.Acknowledgment(
        id="BudgetGuard::lambda-reserved-concurrency", reason="<why this one is fine>"))

It is a validation plugin, not an Aspect, because plugins fail ``cdk synth``
(and ``App.synth()``) with a report that carries construct paths and supports
acknowledgements, exactly like cdk-nag 3; an Aspect's error annotations fail
only the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
import jsii
from constructs import IConstruct

from .. import __version__
from ..budget import BudgetError
from ..guard import BUDGET_RULES, Finding, Model, Rule, from_template, run_rules
from ..guard.rules import account_reserved_concurrency
from .database import account_key, context_quota

__all__ = ["BudgetGuard"]


@jsii.implements(cdk.IPolicyValidationPlugin)
class BudgetGuard:
    """A policy validation plugin running the guard's budget rules over every template.

    :param rules: the rules to run; omitted, :data:`deploy_paradigms.guard.BUDGET_RULES`
        (the four budget checks). Pass ``guard.ALL_RULES`` to add the security rules.
    """

    #: Plugin name: findings print ``(BudgetGuard)`` and are acknowledged as ``BudgetGuard::<rule id>``.
    NAME = "BudgetGuard"

    def __init__(self, *, rules: Sequence[Rule] = BUDGET_RULES) -> None:
        if not rules:
            raise BudgetError("rules is empty; omit it to run the budget rules (guard.BUDGET_RULES)")
        self.rules: tuple[Rule, ...] = tuple(rules)
        #: Findings of the last validation, for tests and tooling (the report is what fails synth).
        self.findings: list[Finding] = []

    @classmethod
    def of(cls, app: IConstruct, *, rules: Sequence[Rule] = BUDGET_RULES) -> BudgetGuard:
        """Add a guard to ``app`` and return it.

        :param app: the ``cdk.App`` or ``cdk.Stage`` whose stacks are checked at synth.
        :param rules: as for the constructor; omitted, the budget rules.
        """
        guard = cls(rules=rules)
        cdk.Validations.of(app).add_plugins(guard)
        return guard

    @property
    def name(self) -> str:
        """The plugin name CDK prints in the validation report (``BudgetGuard``)."""
        return self.NAME

    @property
    def version(self) -> str:
        """The deploy-paradigms version, reported as the plugin's version."""
        return __version__

    @property
    def rule_ids(self) -> list[str]:
        """Ids of the rules this guard runs (what ``BudgetGuard::<id>`` acknowledgements name)."""
        return [rule.id for rule in self.rules]

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        """Run the rules over each stack's template; one violation per finding."""
        fixes = {rule.id: rule.fix for rule in self.rules}
        violations: list[cdk.PolicyViolation] = []
        self.findings = []
        # Construct paths only name offenders in messages; walking the tree for them costs
        # a jsii round trip per construct (~0.3 s on the examples), so only when a stack has findings.
        paths: dict[str, dict[str, str]] | None = None
        # The quota the constructs use too (``-c deploy-paradigms:accountConcurrencyLimit=...``).
        quota = context_quota(context.app_construct)
        # Stacks of one account and Region share its reserved concurrency: checked together below.
        by_account: dict[tuple[str, str], dict[str, Model]] = {}
        for stack in context.stack_templates:
            with open(stack.template_path, encoding="utf-8") as handle:
                template = json.load(handle)
            resources = template.get("Resources") or {}
            plain = Model(from_template(template), account_concurrency_limit=quota)
            by_account.setdefault(_stack_env(context.app_construct, stack.stack_construct_path),
                                  {})[stack.stack_construct_path] = plain
            findings = run_rules(plain, self.rules)
            if findings:  # the same findings again, now with construct paths in their messages
                if paths is None:
                    paths = _construct_paths(context.app_construct)
                model = Model(from_template(template, paths.get(stack.stack_construct_path, {})),
                              account_concurrency_limit=quota)
                findings = run_rules(model, self.rules)
            for finding in findings:
                self.findings.append(finding)
                violations.append(_violation(finding, stack, finding.resource in resources, fixes))
        if account_reserved_concurrency.RULE in self.rules:
            templates = {s.stack_construct_path: s for s in context.stack_templates}
            for models in by_account.values():
                for stack_path, finding in account_reserved_concurrency.check_across(models):
                    self.findings.append(finding)
                    violations.append(_violation(finding, templates[stack_path], True, fixes))
        return cdk.PolicyValidationPluginReport(
            success=not violations, violations=violations, plugin_version=__version__)


def _violation(finding: Finding, stack: Any, in_resources: bool,
               fixes: dict[str, str]) -> cdk.PolicyViolation:
    """One violation for ``finding`` in ``stack`` (an entry of the context's ``stack_templates``)."""
    template_path, stack_path = stack.template_path, stack.stack_construct_path
    if in_resources:
        where = cdk.PolicyViolatingResource(
            resource_logical_id=finding.resource, template_path=template_path, locations=[finding.location])
    else:  # an output or parameter: point at the stack
        where = cdk.PolicyViolatingResource(
            construct_path=stack_path, template_path=template_path, locations=[finding.path])
    # severity must be explicit: after an acknowledgement CDK re-derives the report's
    # success from the remaining violations' severities, and an unset one counts as passing.
    return cdk.PolicyViolation(rule_name=finding.rule, description=finding.message,
                               fix=fixes.get(finding.rule), severity="error", violating_resources=[where])


def _stack_env(app: IConstruct, stack_path: str) -> tuple[str, str]:
    """(account, Region) of the stack at ``stack_path``; unresolved ones are the deploying account's."""
    node: IConstruct | None = app
    for part in stack_path.split("/"):
        node = node.node.try_find_child(part) if node is not None else None
    if not isinstance(node, cdk.Stack):
        return ("(unknown)", stack_path)  # not found: checked on its own
    return account_key(node)


def _construct_paths(root: IConstruct) -> dict[str, dict[str, str]]:
    """Stack construct path -> {logical id: construct path}, so messages that name another
    resource (the database a function reaches) show its path, not a hashed logical id."""
    found: dict[str, dict[str, str]] = {}
    for node in root.node.find_all():
        if isinstance(node, cdk.CfnElement) and not isinstance(node, cdk.CfnOutput | cdk.CfnParameter):
            stack = cdk.Stack.of(node)
            logical_id = stack.resolve(node.logical_id)
            if isinstance(logical_id, str):
                found.setdefault(stack.node.path, {})[logical_id] = node.node.path
    return found

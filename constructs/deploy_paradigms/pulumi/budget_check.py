"""``BudgetCheck``: after each ``pulumi up``, the ledger meets the live database.

Pulumi twin of :class:`deploy_paradigms.cdk.budget_check.BudgetCheck`: a small Lambda
function in the database's VPC (:mod:`deploy_paradigms.runtime.budget_check`) that an
``aws.lambda_.Invocation`` runs on every create and on every change of the plan. It
reads the real ``max_connections`` and reserved slots, each proxy's
``MaxDatabaseConnectionsAllowed`` and the account's Lambda quota, and compares them
with the database's ledger, the proxies its functions created and the program's
reserved concurrency. The plan is read when the function exists (after the program
has declared its consumers).

``mode="fail"`` (default) makes the invocation, and so ``pulumi up``, fail on a
shortfall; ``mode="alarm"`` succeeds and puts ``DeployParadigms/BudgetShortfall`` = 1,
which the component's alarm watches. The plan is exported as ``budgetPlan``.

Example::

    BudgetCheck("budget-check", BudgetCheckArgs(database=db))     # or mode="alarm"
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .. import packaging
from ..budget import BudgetError
from ..plans.checks import check_log_retention
from ..plans.helpers import direct_connection_environment, plan_helper_function
from ..runtime import budget_check
from .database import Database, deployment
from .helper_function import create_helper_function
from .serverless_function import _account_key

__all__ = ["BudgetCheck", "BudgetCheckArgs"]

MODES = ("fail", "alarm")


@dataclass(frozen=True, kw_only=True)
class BudgetCheckArgs:
    """Inputs of :class:`BudgetCheck`.

    Attributes:
        database: The :class:`Database` whose ledger is checked.
        mode: ``"fail"`` (default when omitted): a real budget below the plan fails ``pulumi up``;
            ``"alarm"``: it succeeds and the ``shortfall`` alarm goes off.
        subnet_ids: Where the check's function runs. Omitted: the network's private subnets (it calls
            CloudWatch and Lambda over HTTPS), else its isolated ones.
        log_retention_days: The function's log group retention. Omitted: 30.
        tags: Tags on every child. Omitted: none.
    """

    database: Database
    mode: str = "fail"
    subnet_ids: Sequence[pulumi.Input[str]] | None = None
    log_retention_days: int = 30
    tags: Mapping[str, str] = field(default_factory=dict)


class BudgetCheck(pulumi.ComponentResource):
    """Compare the live database, proxies and account quota with the plan after each ``pulumi up``.

    Attributes: ``function``, ``role``, ``security_group``, ``log_group``, ``invocation``
    (``aws.lambda_.Invocation``), ``alarm`` (``mode="alarm"`` only), ``plan`` (an Output of the
    plan's JSON), as in the CDK construct.
    """

    TYPE = "deploy-paradigms:budget:BudgetCheck"

    def __init__(self, name: str, args: BudgetCheckArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        database = args.database
        if args.mode not in MODES:
            raise BudgetError(f"mode={args.mode!r} must be 'fail' (the deployment fails on a shortfall) or "
                              f"'alarm' (it succeeds and an alarm goes off)")
        check_log_retention("log_retention_days", args.log_retention_days)
        network = database.network
        subnet_ids = list(args.subnet_ids or network.private_subnet_ids or network.isolated_subnet_ids)
        if not subnet_ids:
            raise BudgetError("subnet_ids: the network has no private or isolated subnets for the check; "
                              "pass subnet_ids=")
        self._account = deployment().account(*_account_key(), requested_by=name)
        with database.ledger.explaining():
            database.allocate(name, 1, paradigm="budget check", detail="one connection, once per deploy")
        self._account.reserve(name, 1)
        super().__init__(self.TYPE, name, {"mode": args.mode}, opts)
        self.database = database
        self.mode = args.mode
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        bundle = packaging.lambda_bundle("budget_check", engine=database.engine.value)
        helper = create_helper_function(
            self, plan_helper_function("budget_check", name=name, log_retention_days=args.log_retention_days,
                                       details={"mode": args.mode, "target": name}),
            database=database, code=pulumi.FileArchive(str(bundle)),
            environment=direct_connection_environment(
                host=database.endpoint_address, secret_arn=database.secret_arn, port=database.port,
                name=database.database_name, user=database.master_username,
                engine_is_postgres=database.engine.is_postgres, url_params=budget_check.URL_PARAMS,
                iam_auth=False),
            arns={"database_secret": database.secret_arn}, subnet_ids=subnet_ids, tags=tags)
        self.log_group, self.security_group = helper.log_group, helper.security_group
        self.role, self.function = helper.role, helper.function

        # The plan once the function exists: by then the program has declared its consumers.
        names = [pulumi.Output.from_input(n) for n, _ in database.proxies]
        self.plan: pulumi.Output[str] = pulumi.Output.all(self.function.arn, *names).apply(
            lambda values: json.dumps(self.planned([str(v) for v in values[1:]]).as_properties(),
                                      sort_keys=True))
        self.invocation = aws.lambda_.Invocation(
            f"{name}-invocation", function_name=self.function.name,
            input=self.plan.apply(lambda plan: json.dumps({"Plan": plan, "Mode": args.mode})),
            triggers={"plan": self.plan}, opts=child)
        self.alarm: aws.cloudwatch.MetricAlarm | None = None
        if args.mode == "alarm":
            self.alarm = aws.cloudwatch.MetricAlarm(
                f"{name}-shortfall",
                alarm_description=(f"The live connection budget of {database.ledger.name} is below the plan "
                                   f"(max_connections, proxy or Lambda quota): see {name}'s logs"),
                namespace=budget_check.METRIC_NAMESPACE, metric_name=budget_check.METRIC_NAME,
                dimensions={"Database": database.ledger.name}, statistic="Maximum", period=300,
                evaluation_periods=1, threshold=1, comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="notBreaching", tags=tags, opts=child)
        self.register_outputs({"budgetPlan": self.plan, "functionName": self.function.name})

    def planned(self, proxy_names: Sequence[str] | None = None) -> budget_check.PlannedBudget:
        """The plan as it stands; ``proxy_names`` are the resolved names of ``database.proxies``."""
        ledger = self.database.ledger
        limit = ledger.limit
        names = list(proxy_names) if proxy_names is not None else [str(n) for n, _ in self.database.proxies]
        proxies = {name: n for name, (_, n) in zip(names, self.database.proxies, strict=True)}
        return budget_check.PlannedBudget(
            engine=limit.engine.value, max_connections=limit.max_connections,
            reserved_by_engine=limit.reserved, allocated=ledger.allocated, reserve=ledger.reserve,
            proxies=proxies, reserved_concurrency=self._account.reserved, database=ledger.name)


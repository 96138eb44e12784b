"""``BudgetCheck``: after each deploy, the ledger meets the live database.

A CloudFormation custom resource backed by a small Lambda function in the
database's VPC (:mod:`deploy_paradigms.runtime.budget_check`). On every create
and update of the stack it reads the real ``max_connections`` and reserved
slots from the database, each proxy's ``MaxDatabaseConnectionsAllowed`` and the
account's Lambda concurrency quota, and compares them with the plan: the
database's ledger, the proxies its functions created and the app's reserved
concurrency in this account and Region (all read at synth, after every consumer
is constructed).

``mode="fail"`` (default) fails the deployment when the real budget is below the
plan, so CloudFormation rolls back; ``mode="alarm"`` lets it succeed and puts
``DeployParadigms/BudgetShortfall`` = 1, which the construct's alarm watches.
The plan is also a stack output (``BudgetPlan``) for ``deploy-paradigms check --stack``.

Example::

    db = Database(self, "Db", vpc=vpc, instance_class="db.t3.micro")
    ServerlessFunction(self, "Api", database=db, code=..., handler="app.handler")
    BudgetCheck(self, "BudgetCheck", database=db)           # or mode="alarm"

The check's function is itself a consumer: it books one connection on the
ledger and a reserved concurrency of 1 (it runs once per deploy).
"""

from __future__ import annotations

import json

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from .. import packaging
from ..budget import BudgetError
from ..plans.helpers import direct_connection_environment, plan_helper_function
from ..runtime import budget_check
from .database import Database, account_key, deployment_of
from .helper_function import create_helper_function
from .security_groups import exact_egress

__all__ = ["BudgetCheck"]

MODES = ("fail", "alarm")


@jsii.implements(cdk.IAspect)
class _FillPlan:
    """Writes the plan into the custom resource and the output before synthesis, when every
    consumer (in any stack, created before or after the check) has booked on the ledger."""

    def __init__(self, check: BudgetCheck) -> None:
        self.check = check

    def visit(self, node: IConstruct) -> None:
        if node.node.path != self.check.node.path:
            return
        plan = json.dumps(self.check.planned().as_properties(), sort_keys=True)
        resource = self.check.resource.node.default_child
        if isinstance(resource, cdk.CfnResource):
            resource.add_property_override("Plan", plan)
        self.check.output.value = plan


class BudgetCheck(Construct):
    """Compare the live database, proxies and account quota with the plan after each deploy.

    :param database: the :class:`Database` whose ledger is checked (its stack's database, or one
        shared from another stack of the app).
    :param mode: ``"fail"`` (default): a real budget below the plan fails the deployment;
        ``"alarm"``: the deployment succeeds and the ``Shortfall`` alarm goes off.
    :param vpc_subnets: where the check's function runs; omitted, the VPC's private subnets
        with egress (it calls CloudWatch and Lambda over HTTPS), else its isolated ones.
    :param log_retention: the function's log group retention; default one month.
    """

    def __init__(self, scope: Construct, id: str, *, database: Database, mode: str = "fail",
                 vpc_subnets: ec2.SubnetSelection | None = None,
                 log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH) -> None:
        if mode not in MODES:
            raise BudgetError(f"mode={mode!r} must be 'fail' (the deployment fails on a shortfall) or "
                              f"'alarm' (it succeeds and an alarm goes off)")
        path = f"{scope.node.path}/{id}" if scope.node.path else id
        account = deployment_of(scope).account(*account_key(scope), requested_by=path)
        with database.ledger.explaining():
            database.allocate(path, 1, paradigm="budget check", detail="one connection, once per deploy")
        account.reserve(path, 1)
        super().__init__(scope, id)
        exact_egress(self)  # no default allow-all egress beside the explicit rules
        self.database = database
        self.mode = mode
        self._account = account
        secret = database.secret

        def grant(role: iam.IGrantable) -> None:
            # Read-only account and metric calls: none of them has resource-level permissions.
            role.grant_principal.add_to_principal_policy(iam.PolicyStatement(
                actions=["lambda:GetAccountSettings", "cloudwatch:GetMetricStatistics"], resources=["*"]))
            role.grant_principal.add_to_principal_policy(iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"], resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": budget_check.METRIC_NAMESPACE}}))
            secret.grant_read(role)

        bundle = packaging.lambda_archive("budget_check", engine=database.engine.value)
        helper = create_helper_function(
            self, plan_helper_function("budget_check", name=self.node.path,
                                       details={"mode": mode, "target": database.node.path}),
            database=database,
            code=lambda_.Code.from_asset(str(bundle), asset_hash=packaging.archive_hash(bundle)),
            environment=direct_connection_environment(
                host=database.endpoint_address, secret_arn=secret.secret_arn, port=database.port,
                name=database.database_name, user=database.master_username,
                engine_is_postgres=database.engine.is_postgres, url_params=budget_check.URL_PARAMS,
                iam_auth=False),
            log_retention=log_retention, grant=grant, vpc_subnets=vpc_subnets,
            role_description=f"{self.node.path}: read the live connection budget", acknowledge_wildcard=False)
        self.security_group, self.log_group = helper.security_group, helper.log_group
        self.function, self.role = helper.function, helper.role
        cdk.Validations.of(self.role).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="Lambda's VPC interfaces, lambda:GetAccountSettings and CloudWatch metric calls have no "
                   "resource-level permissions; PutMetricData is limited to the DeployParadigms namespace"))

        plan = json.dumps(self.planned().as_properties(), sort_keys=True)  # final value: _FillPlan
        self.resource = cdk.CustomResource(
            self, "Resource", service_token=self.function.function_arn,
            resource_type="Custom::DeployParadigmsBudgetCheck",
            properties={"Plan": plan, "Mode": mode})
        self.output = cdk.CfnOutput(self, "BudgetPlan", value=plan,
                                    description="The connection plan BudgetCheck compares with the live "
                                                "database (deploy-paradigms check --stack reads it)")
        self.alarm: cloudwatch.Alarm | None = None
        if mode == "alarm":
            self.alarm = cloudwatch.Alarm(
                self, "ShortfallAlarm",
                alarm_description=(f"The live connection budget of {database.node.path} is below the plan "
                                   f"(max_connections, proxy or Lambda quota): see the BudgetCheck's logs"),
                metric=cloudwatch.Metric(
                    namespace=budget_check.METRIC_NAMESPACE, metric_name=budget_check.METRIC_NAME,
                    dimensions_map={"Database": database.node.path}, statistic="Maximum",
                    period=cdk.Duration.minutes(5)),
                threshold=1, evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        cdk.Aspects.of(self).add(_FillPlan(self))

    def planned(self) -> budget_check.PlannedBudget:
        """The plan as it stands (at synth: every consumer has booked)."""
        ledger = self.database.ledger
        limit = ledger.limit
        proxies = dict(self.database.proxies)  # names are deploy-time tokens; resolved in the template
        return budget_check.PlannedBudget(
            engine=limit.engine.value, max_connections=limit.max_connections,
            reserved_by_engine=limit.reserved, allocated=ledger.allocated, reserve=ledger.reserve,
            proxies=proxies, reserved_concurrency=self._account.reserved, database=self.database.node.path)

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

The check's function runs once per deploy: its one connection is an admin
session out of the database's reserve (like migrations), so the check fits
wherever it is created, and its reserved concurrency of 1 is booked on the
account. The example stacks use it in the default ``fail`` mode.
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
from ..budget.deployment import book_check_connection
from ..runtime import budget_check, settings
from .database import HELPER_RUNTIME, Database, account_key, deployment_of
from .security_groups import exact_egress
from .serverless_function import function_subnets, vpc_execution_role

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
        book_check_connection(database.ledger, path)  # out of the reserve, like migrations
        account.reserve(path, 1)
        super().__init__(scope, id)
        exact_egress(self)  # no default allow-all egress beside the explicit rules
        self.database = database
        self.mode = mode
        self._account = account
        vpc = database.vpc

        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=vpc, allow_all_outbound=False,
            description=f"{self.node.path}: out to the database and to AWS APIs over HTTPS")
        self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443),
                                            "CloudWatch, Lambda, Secrets Manager, CloudFormation response")
        self.log_group = logs.LogGroup(self, "LogGroup", retention=log_retention)
        self.role = vpc_execution_role(self, self.log_group, acknowledge_wildcard=False,
                                       description=f"{self.node.path}: read the live connection budget")
        # Read-only account and metric calls: none of them has resource-level permissions.
        self.role.add_to_principal_policy(iam.PolicyStatement(
            actions=["lambda:GetAccountSettings", "cloudwatch:GetMetricStatistics"], resources=["*"]))
        self.role.add_to_principal_policy(iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"], resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": budget_check.METRIC_NAMESPACE}}))
        database.secret.grant_read(self.role)
        cdk.Validations.of(self.role).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="Lambda's VPC interfaces, lambda:GetAccountSettings and CloudWatch metric calls have no "
                   "resource-level permissions; PutMetricData is limited to the DeployParadigms namespace"))

        bundle = packaging.lambda_archive("budget_check", engine=database.engine.value)
        self.function = lambda_.Function(
            self, "Function",
            code=lambda_.Code.from_asset(str(bundle), asset_hash=packaging.archive_hash(bundle)),
            handler=packaging.BUDGET_CHECK_HANDLER,
            runtime=HELPER_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=256,
            timeout=cdk.Duration.seconds(60),
            reserved_concurrent_executions=1,
            role=self.role,
            log_group=self.log_group,
            vpc=vpc,
            vpc_subnets=function_subnets(vpc, vpc_subnets),
            security_groups=[self.security_group],
            environment={
                settings.HOST: database.endpoint_address,
                settings.PORT: str(database.port),
                settings.NAME: database.database_name,
                settings.USER: database.master_username,
                settings.ENGINE: "postgres" if database.engine.is_postgres else "mysql",
                settings.IAM_AUTH: "false",
                settings.SECRET_ARN: database.secret.secret_arn,
                settings.URL_PARAMS: budget_check.URL_PARAMS,
            },
            description=f"deploy-paradigms budget check of {database.node.path} ({mode})",
        )
        database.allow_from(self.security_group, f"{self.node.path}: reads max_connections", scope=self)

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

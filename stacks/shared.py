"""Stacks ``SharedDatabase`` + ``SharedApps``: one database, its consumers in another stack.

    cdk synth 'Shared*'                 # both stacks; SharedApps depends on SharedDatabase
    cdk deploy SharedApps               # deploys SharedDatabase first

The composition most apps grow into: the database lives in a long-lived stack,
the services that use it in stacks deployed more often. The same ``Database``
object is handed to the consumer stack, so one ledger spans both stacks (the
function and the service, both with default shares, split it equally when the
app synthesizes: nothing to declare), each consumer's security-group rule lives in the consumer's stack
(no dependency cycle), and the ``ConnectionBudget`` output of ``SharedApps``
shows the whole ledger. See docs/composition.md.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from deploy_paradigms import packaging
from deploy_paradigms.cdk.container_service import ContainerService
from deploy_paradigms.cdk.database import Database
from deploy_paradigms.cdk.serverless_function import ServerlessFunction
from stacks.common import (
    acknowledge_example_database,
    example_budget_check,
    example_database_props,
    example_vpc,
)
from stacks.paas import acknowledge_execution_role, sample_image
from stacks.serverless import SAMPLE_RUNTIME


class SharedDatabaseStack(cdk.Stack):
    """VPC + the database; its default-share consumers in other stacks split it equally."""

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self.vpc: ec2.Vpc = example_vpc(self)
        self.database = Database(self, "Database", vpc=self.vpc, **example_database_props(self))
        acknowledge_example_database(self.database, reached_by="the consumers' security groups in SharedApps")


class SharedAppsStack(cdk.Stack):
    """The sample function and web app, both on ``SharedDatabase``'s database."""

    def __init__(self, scope: Construct, id: str, *, data: SharedDatabaseStack, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        database = data.database
        sample = packaging.lambda_archive("sample", engine=database.engine.value)
        self.function = ServerlessFunction(
            self, "Function", database=database,
            code=lambda_.Code.from_asset(str(sample), asset_hash=packaging.archive_hash(sample)),
            handler=packaging.SAMPLE_HANDLER, runtime=SAMPLE_RUNTIME)
        self.web = ContainerService(self, "Web", database=database, image=sample_image(database.engine.value))
        acknowledge_execution_role(self.web)
        # The check runs here, beside the consumers (their proxies exist when it deploys).
        self.budget_check = example_budget_check(self, database)
        self.template_options.description = (
            f"deploy-paradigms shared-database example: {self.function.plan.summary()}; "
            f"{self.web.plan.summary()}")
        cdk.CfnOutput(self, "ConnectionBudget", value=database.ledger.one_line(),
                      description="The shared database's ledger: both stacks' consumers and what is left")

"""The CDK side: one stack composing deploy-paradigms around an existing VPC and database.

    cdk synth                 # cdk.json runs `python -m consumer_app`

What it shows:

* ``Database.from_existing``: the connection budget of a database this
  repository does not own (its class, secret and security group), so every
  consumer below is sized against it and over-allocation fails the synth;
* three paradigms sharing that budget: a ``ServerlessFunction`` (Lambda behind
  RDS Proxy), a ``ContainerService`` (Fargate behind an ALB) and a
  ``DataEndpoint`` served at the edge by an ``EdgeFunction``;
* the checks a consumer adds to its own app: cdk-nag's AWS Solutions pack and
  ``BudgetGuard``, both as validation plugins that fail the synth.
"""

from __future__ import annotations

import sys
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from deploy_paradigms import packaging
from deploy_paradigms.budget import BudgetError
from deploy_paradigms.catalog import sample_catalog
from deploy_paradigms.cdk import (
    BudgetGuard,
    ContainerService,
    Database,
    DataEndpoint,
    EdgeFunction,
    FunctionOptions,
    ServerlessFunction,
)

from . import existing

STACK_NAME = "Orders"


class OrdersStack(cdk.Stack):
    """An API (Lambda), a web app (Fargate) and an edge site, all on the existing orders database."""

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        # 1. What exists already: the VPC (by attributes, no lookup, so synth needs no
        #    AWS credentials) and the database with its secret and security group.
        vpc = ec2.Vpc.from_vpc_attributes(
            self, "Vpc",
            vpc_id=existing.VPC_ID,
            availability_zones=list(existing.AVAILABILITY_ZONES),
            public_subnet_ids=list(existing.PUBLIC_SUBNET_IDS),
            public_subnet_route_table_ids=list(existing.PUBLIC_ROUTE_TABLE_IDS),
            private_subnet_ids=list(existing.PRIVATE_SUBNET_IDS),
            private_subnet_route_table_ids=list(existing.PRIVATE_ROUTE_TABLE_IDS),
            isolated_subnet_ids=list(existing.ISOLATED_SUBNET_IDS),
            isolated_subnet_route_table_ids=list(existing.ISOLATED_ROUTE_TABLE_IDS),
        )
        self.database = Database.from_existing(
            self, "Database",
            vpc=vpc,
            engine=existing.DB_ENGINE,
            instance_class=existing.DB_INSTANCE_CLASS,
            instance_identifier=existing.DB_INSTANCE_IDENTIFIER,
            endpoint_address=existing.DB_ENDPOINT,
            port=existing.DB_PORT,
            instance_resource_id=existing.DB_RESOURCE_ID,
            database_name=existing.DB_NAME,
            master_username=existing.DB_MASTER_USERNAME,
            share=existing.SHARE,  # what the owning app declared in its external_consumers
            secret=secretsmanager.Secret.from_secret_complete_arn(
                self, "DatabaseSecret", existing.DB_SECRET_ARN),
            # Mutable: consumers add ingress rules on the database port to this group.
            security_group=ec2.SecurityGroup.from_security_group_id(
                self, "DatabaseSecurityGroup", existing.DB_SECURITY_GROUP_ID, allow_all_outbound=False),
        )

        # 2. The consumers, each with an explicit share of the budget (context can change a
        #    share: `cdk synth -c apiConnections=300`; a total over the budget fails the synth).
        # The sample bundle as one .zip (synth stages one file, not ~1,400), hashed by content.
        sample = packaging.lambda_archive("sample", engine=self.database.engine.value)
        self.api = ServerlessFunction(
            self, "Api",
            database=self.database,
            code=lambda_.Code.from_asset(str(sample), asset_hash=packaging.archive_hash(sample)),
            handler=packaging.SAMPLE_HANDLER,
            runtime=lambda_.Runtime.PYTHON_3_14,
            connections=_share(self, "apiConnections", existing.API_CONNECTIONS),
        )
        self.web = ContainerService(
            self, "Web",
            database=self.database,
            # Built by `cdk deploy` from the Dockerfile shipped in the wheel; synth only hashes it.
            image=ecs.ContainerImage.from_asset(
                str(packaging.container_context(engine=self.database.engine.value))),
            max_tasks=4,
            connections=_share(self, "webConnections", existing.WEB_CONNECTIONS),
            certificate=acm.Certificate.from_certificate_arn(self, "Certificate", existing.CERTIFICATE_ARN),
        )
        execution_role = self.web.task_definition.execution_role
        if execution_role is not None:
            # Pulling the image asset from ECR needs ecr:GetAuthorizationToken, which has no
            # resource-level permissions (ECR user guide, "Private registry authentication").
            cdk.Validations.of(execution_role).acknowledge(cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="ecr:GetAuthorizationToken supports only Resource *; every other permission of "
                       "the execution role names its resource"))
        self.data = DataEndpoint(
            self, "Data",
            database=self.database,
            catalog=sample_catalog(self.database.engine.value, writes=False),
            function=FunctionOptions(connections=_share(self, "dataConnections", existing.DATA_CONNECTIONS)),
        )
        self.site = EdgeFunction(
            self, "Site",
            code_path=packaging.lambda_bundle("edge"),
            handler=packaging.EDGE_HANDLER,
            data_endpoint=self.data,
        )

        cdk.CfnOutput(self, "ApiReservedConcurrency", value=str(self.api.plan.reserved_concurrency),
                      description=self.api.plan.summary())
        cdk.CfnOutput(self, "WebPoolSize", value=str(self.web.plan.pool_size),
                      description=self.web.plan.summary())
        cdk.CfnOutput(self, "SiteUrl", value=self.site.url)


def _share(scope: Construct, key: str, default: int) -> int:
    raw = scope.node.try_get_context(key)
    if raw is None:
        return default
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise BudgetError(f"context {key}={raw!r} must be a whole number of connections") from None


def build_app(app: cdk.App | None = None) -> cdk.App:
    """The consumer's app with the two checks a consumer adds: cdk-nag and BudgetGuard."""
    app = app or cdk.App()
    OrdersStack(app, STACK_NAME, env=cdk.Environment(region=existing.REGION))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    BudgetGuard.of(app)
    return app


def main() -> None:
    try:
        build_app().synth()
    except BudgetError as err:  # a budget that does not fit: one line, no template
        print(f"consumer: error: {err}", file=sys.stderr)
        sys.exit(2)

"""Stack ``Paas``: the sample web app on Fargate behind an ALB, pooled against PostgreSQL.

    cdk synth Paas                              # db.t3.micro, the cheapest class
    cdk synth Paas -c instanceClass=db.m5.large # a larger pool per task

Each task's pool (``connection_limit``) is sized so that the service at its
maximum scale, during a rolling deploy, stays within the database's budget
(see ``deploy_paradigms.cdk.ContainerService``); the outputs print it.

The image is built from ``packaging.container_context()`` (Dockerfile + the
runtime package) by ``cdk deploy``; ``cdk synth`` only records the directory
and its content hash, so it needs no Docker engine.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from deploy_paradigms import packaging
from deploy_paradigms.cdk.container_service import ContainerService
from deploy_paradigms.cdk.migrations import DatabaseMigrations
from stacks.common import acknowledge_example_database, example_budget_check, example_database, example_vpc

#: Files that may appear in the context directory without being part of the image;
#: left out of the asset hash so the template (and its snapshot) stays stable.
IMAGE_EXCLUDES = ("**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.mypy_cache")


def sample_image(engine: str = "postgres") -> ecs.ContainerImage:
    """The sample web app (``deploy_paradigms.runtime.web_app``) with ``engine``'s driver,
    built for x86_64 at deploy time."""
    return ecs.ContainerImage.from_asset(
        str(packaging.container_context(engine=engine)),
        exclude=list(IMAGE_EXCLUDES),
        platform=ecr_assets.Platform.LINUX_AMD64,
    )


class PaasStack(cdk.Stack):
    """VPC + PostgreSQL (``Database``) + ``ContainerService`` running the sample web app.

    Context keys: see ``stacks.common.CONTEXT_KEYS`` (``engine``, ``instanceClass``,
    ``maxConnections``, ``reserve``, ``multiAz``).
    """

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        vpc = example_vpc(self)
        self.database = example_database(self, vpc)
        self.web = ContainerService(self, "Web", database=self.database,
                                    image=sample_image(self.database.engine.value))
        # Every deploy that changes the SQL files migrates before the service updates.
        self.migrations = DatabaseMigrations(self, "Migrations", database=self.database,
                                             migrations_dir=packaging.SAMPLE_MIGRATIONS_DIR,
                                             run_before=[self.web])
        plan = self.web.plan  # the pattern already outputs the URL (WebServiceURL...) and DNS name
        self.template_options.description = (
            f"deploy-paradigms PaaS example: {plan.limit.engine.value} {plan.limit.instance_class}, "
            f"{plan.summary()}")

        cdk.CfnOutput(self, "PoolSize", value=str(plan.pool_size),
                      description=f"connection_limit per task; {plan.summary()}")
        cdk.CfnOutput(self, "MaxTasks", value=str(plan.max_tasks),
                      description=f"autoscaling maximum; at most {plan.largest_max_tasks} fit this pool")
        cdk.CfnOutput(self, "ConnectionBudget", value=self.database.ledger.one_line(),
                      description="The database's ledger: reserve, consumers and what is left")
        self._acknowledge_example_choices()

    def _acknowledge_example_choices(self) -> None:
        """cdk-nag findings on the example's deliberate choices, each with its reason."""
        self.budget_check = example_budget_check(self, self.database)
        acknowledge_example_database(self.database, reached_by="the tasks' security group")
        acknowledge_execution_role(self.web)


def acknowledge_execution_role(web: ContainerService) -> None:
    """Pulling a private ECR image needs ecr:GetAuthorizationToken, which has no
    resource-level permissions (ECR user guide, "Private registry authentication")."""
    execution_role = web.task_definition.execution_role
    if execution_role is not None:
        cdk.Validations.of(execution_role).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="ecr:GetAuthorizationToken (pulling the image asset) supports only Resource *; "
                   "every other permission of the execution role names its resource"))


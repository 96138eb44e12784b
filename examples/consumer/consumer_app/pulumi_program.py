"""The Pulumi side: the same composition as the CDK app, as a Pulumi program.

    pulumi up                 # Pulumi.yaml runs ../__main__.py, which calls program()

Offline (no Pulumi CLI, no AWS account), the program runs under
deploy-paradigms' preview mocks::

    from deploy_paradigms.pulumi.preview import render_program
    render_program(program, {"aws:region": "eu-west-1"}).resources
"""

from __future__ import annotations

import pulumi

from deploy_paradigms import packaging
from deploy_paradigms.catalog import sample_catalog
from deploy_paradigms.pulumi import (
    BudgetGuard,
    ContainerService,
    ContainerServiceArgs,
    Database,
    DataEndpoint,
    DataEndpointArgs,
    EdgeFunction,
    EdgeFunctionArgs,
    FunctionOptions,
    Network,
    ServerlessFunction,
    ServerlessFunctionArgs,
)

from . import existing

#: The web app's image, built and pushed by this repository's own pipeline.
WEB_IMAGE = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/orders-web:1.4.2"


def program() -> None:
    """An API (Lambda), a web app (Fargate) and an edge site, all on the existing orders database."""
    # The budget checks over everything this program declares (fails `pulumi up` on a finding).
    guard = BudgetGuard()
    pulumi.runtime.register_resource_transform(guard.transform)

    # 1. What exists already: the network and the database with its secret and security group.
    network = Network.from_existing(
        existing.VPC_ID,
        public_subnet_ids=list(existing.PUBLIC_SUBNET_IDS),
        private_subnet_ids=list(existing.PRIVATE_SUBNET_IDS),
        isolated_subnet_ids=list(existing.ISOLATED_SUBNET_IDS),
    )
    database = Database.from_existing(
        "orders-db",
        network=network,
        engine=existing.DB_ENGINE,
        instance_class=existing.DB_INSTANCE_CLASS,
        endpoint_address=existing.DB_ENDPOINT,
        port=existing.DB_PORT,
        instance_identifier=existing.DB_INSTANCE_IDENTIFIER,
        resource_id=existing.DB_RESOURCE_ID,
        iam_authentication=True,
        database_name=existing.DB_NAME,
        master_username=existing.DB_MASTER_USERNAME,
        secret_arn=existing.DB_SECRET_ARN,
        security_group_id=existing.DB_SECURITY_GROUP_ID,
        share=existing.SHARE,  # what the owning app declared in its external_consumers
    )

    # 2. The consumers, each with an explicit share of the budget.
    api = ServerlessFunction("api", ServerlessFunctionArgs(
        database=database,
        code=pulumi.FileArchive(str(packaging.lambda_bundle("sample"))),
        handler=packaging.SAMPLE_HANDLER,
        runtime="python3.14",
        connections=existing.API_CONNECTIONS,
    ))
    web = ContainerService("web", ContainerServiceArgs(
        database=database,
        image=WEB_IMAGE,
        max_tasks=4,
        connections=existing.WEB_CONNECTIONS,
        certificate_arn=existing.CERTIFICATE_ARN,
    ))
    data = DataEndpoint("data", DataEndpointArgs(
        database=database,
        catalog=sample_catalog(database.engine.value, writes=False),
        function=FunctionOptions(connections=existing.DATA_CONNECTIONS),
    ))
    site = EdgeFunction("site", EdgeFunctionArgs(
        code_path=packaging.lambda_bundle("edge"),
        handler=packaging.EDGE_HANDLER,
        data_endpoint=data,
    ))

    pulumi.export("apiReservedConcurrency", api.plan.reserved_concurrency)
    pulumi.export("webPoolSize", web.plan.pool_size)
    pulumi.export("siteDomain", site.distribution.domain_name)
    pulumi.export("connectionBudget", database.summary())
    guard.finalize()

"""Stack ``Edge`` (and its us-east-1 support stack ``Edge-us-east-1``): an edge-rendered page
whose data comes from a cached, pooled HTTP data endpoint.

    cdk synth Edge                               # db.t3.micro
    cdk synth Edge -c instanceClass=db.m5.large  # more reserved concurrency for the endpoint

``Edge`` holds the VPC, PostgreSQL (``Database``), the ``DataEndpoint`` (the
sample catalog: two cached reads tagged ``posts`` and ``post:{id}``, two writes
that invalidate those tags; its concurrency capped by the connection budget),
the CloudFront distribution (``CacheTagConfig`` on the endpoint's tag header)
and the SSM parameter through which the endpoint learns the distribution's id; ``Edge-us-east-1`` holds
the Lambda@Edge function (the sample viewer-request handler), created by
``cloudfront.experimental.EdgeFunction``. Deploy both: ``cdk deploy Edge``
deploys the support stack first.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import Construct

from deploy_paradigms import packaging
from deploy_paradigms.catalog import sample_catalog
from deploy_paradigms.cdk.data_endpoint import DataEndpoint
from deploy_paradigms.cdk.edge_function import EdgeFunction
from stacks.common import acknowledge_example_database, example_budget_check, example_database, example_vpc


class EdgeStack(cdk.Stack):
    """VPC + PostgreSQL + ``DataEndpoint`` (sample catalog) + ``EdgeFunction`` (sample edge handler).

    Context keys: see ``stacks.common.CONTEXT_KEYS``. Needs an explicit Region (the app
    passes one); the account may stay unresolved.
    """

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        vpc = example_vpc(self)
        self.database = example_database(self, vpc)
        self.data_endpoint = DataEndpoint(
            self, "DataEndpoint",
            database=self.database,
            # Read-only at the edge: no anonymous writes through the distribution.
            catalog=sample_catalog(self.database.engine.value, writes=False),
            # The example creates its ``posts`` table on first use; use migrations in production.
            bootstrap_schema=True,
        )
        self.edge = EdgeFunction(
            self, "Site",
            code_path=packaging.lambda_bundle("edge"),
            handler=packaging.EDGE_HANDLER,
            runtime="python3.12",
            data_endpoint=self.data_endpoint,
        )
        plan = self.data_endpoint.plan
        self.template_options.description = (
            f"deploy-paradigms edge example: {plan.limit.engine.value} {plan.limit.instance_class}, data "
            f"endpoint {plan.summary()}; edge {self.edge.plan.summary()}")

        cdk.CfnOutput(self, "Url", value=self.edge.url,
                      description="The edge-rendered page; /data/<query> serves the catalog")
        cdk.CfnOutput(self, "DataEndpointUrl", value=self.data_endpoint.url.url,
                      description="Function URL (AWS_IAM: only this distribution may call it)")
        cdk.CfnOutput(self, "ReservedConcurrency", value=str(plan.reserved_concurrency),
                      description=plan.summary())
        cdk.CfnOutput(self, "EdgePackageBytes", value=str(self.edge.package_size_bytes),
                      description=f"zipped edge package, limit {self.edge.plan.package_limit_bytes} bytes")
        cdk.CfnOutput(self, "DistributionIdParameter",
                      value=self.data_endpoint.distribution_id_parameter_name or "",
                      description="SSM parameter: the distribution the endpoint invalidates after writes")
        self.budget_check = example_budget_check(self, self.database)
        acknowledge_example_database(self.database, reached_by="the RDS Proxy's security group")


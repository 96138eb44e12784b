"""Stack ``Serverless``: a Python Lambda function querying PostgreSQL through RDS Proxy.

    cdk synth Serverless                              # db.t3.micro, the cheapest class
    cdk synth Serverless -c instanceClass=db.m5.large # reserved concurrency 765

The function's reserved concurrency is the database's connection budget (see
``deploy_paradigms.cdk.ServerlessFunction``); the outputs print it.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from deploy_paradigms import packaging
from deploy_paradigms.cdk.serverless_function import ServerlessFunction
from stacks.common import acknowledge_example_database, example_budget_check, example_database, example_vpc

#: The sample bundle is pure Python (pg8000), so it runs on the newest Python runtime
#: (cdk-nag AwsSolutions-L1 asks for the latest version of the runtime family).
SAMPLE_RUNTIME = lambda_.Runtime.PYTHON_3_14


class ServerlessStack(cdk.Stack):
    """VPC + PostgreSQL (``Database``) + ``ServerlessFunction`` running the sample handler.

    Context keys: see ``stacks.common.CONTEXT_KEYS`` (``engine``, ``instanceClass``,
    ``maxConnections``, ``reserve``, ``multiAz``).
    """

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        vpc = example_vpc(self)
        self.database = example_database(self, vpc)
        # The sample bundle as one .zip: synth stages one file, not ~1,400 (BENCHMARKS.md).
        sample = packaging.lambda_archive("sample", engine=self.database.engine.value)
        self.function = ServerlessFunction(
            self, "Function",
            database=self.database,
            code=lambda_.Code.from_asset(str(sample), asset_hash=packaging.archive_hash(sample)),
            handler=packaging.SAMPLE_HANDLER,
            runtime=SAMPLE_RUNTIME,
        )
        plan = self.function.plan
        self.template_options.description = (
            f"deploy-paradigms serverless example: {plan.limit.engine.value} {plan.limit.instance_class}, "
            f"{plan.summary()}")

        cdk.CfnOutput(self, "ProxyEndpoint", value=self.function.proxy.endpoint,
                      description="RDS Proxy endpoint the function connects to (TLS, IAM auth)")
        cdk.CfnOutput(self, "FunctionName", value=self.function.function.function_name,
                      description="Invoke with: aws lambda invoke --function-name <this> out.json")
        cdk.CfnOutput(self, "ReservedConcurrency", value=str(plan.reserved_concurrency),
                      description=plan.summary())
        cdk.CfnOutput(self, "ConnectionBudget", value=self.database.ledger.one_line(),
                      description="The database's ledger: reserve, consumers and what is left")
        self.budget_check = example_budget_check(self, self.database)
        acknowledge_example_database(self.database, reached_by="the RDS Proxy's security group")



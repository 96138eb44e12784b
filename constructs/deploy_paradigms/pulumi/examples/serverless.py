"""The serverless example (config ``paradigm=serverless``): the sample handler behind RDS Proxy.

Same architecture as the CDK stack ``Serverless`` (``stacks/serverless.py``):
the program's network and database, plus a :class:`ServerlessFunction`
running the sample bundle (pure-Python pg8000, built without Docker) with its
reserved concurrency capped to the database's connection budget.
"""

from __future__ import annotations

import pulumi

from ...packaging import SAMPLE_HANDLER, lambda_bundle
from ..database import Database
from ..network import Network
from ..serverless_function import ServerlessFunction, ServerlessFunctionArgs

#: Same runtime as the CDK example (the bundle is pure Python; newest Python runtime).
SAMPLE_RUNTIME = "python3.14"


#: This example reads no config keys beyond the program's.
CONFIG_KEYS: dict[str, str] = {}

def build(network: Network, database: Database, config: pulumi.Config) -> None:
    function = ServerlessFunction("function", ServerlessFunctionArgs(
        database=database,
        code=pulumi.FileArchive(str(lambda_bundle("sample", engine=database.engine.value))),
        handler=SAMPLE_HANDLER,
        runtime=SAMPLE_RUNTIME,
    ))
    plan = function.plan
    pulumi.export("proxyEndpoint", function.proxy.endpoint)
    pulumi.export("functionName", function.function.name)
    pulumi.export("reservedConcurrency", plan.reserved_concurrency)
    pulumi.export("budget", plan.summary())

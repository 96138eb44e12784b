"""The edge example (config ``paradigm=edge``): an edge-rendered page fed by a cached data endpoint.

Same architecture as the CDK stacks ``Edge`` + ``Edge-us-east-1`` (``stacks/edge.py``):
the program's network and database, a :class:`DataEndpoint` serving the sample
catalog (reserved concurrency capped by the connection budget) and an
:class:`EdgeFunction` running the sample viewer-request handler in us-east-1
(explicit provider) on a CloudFront distribution that caches ``/data/*``. The
catalog's reads carry cache tags (``posts``, ``post:{id}``) and its writes
invalidate them: the distribution gets ``cache_tag_config``, the endpoint an SSM
parameter with the distribution id and ``cloudfront:CreateInvalidation`` on it.
"""

from __future__ import annotations

import pulumi

from ... import packaging
from ...catalog import sample_catalog
from ..data_endpoint import DataEndpoint, DataEndpointArgs
from ..database import Database
from ..edge_function import EdgeFunction, EdgeFunctionArgs
from ..network import Network

#: Same runtime as the CDK example's edge function (a Lambda@Edge runtime).
EDGE_RUNTIME = "python3.12"


#: This example reads no config keys beyond the program's.
CONFIG_KEYS: dict[str, str] = {}

def build(network: Network, database: Database, config: pulumi.Config) -> None:
    del network, config  # the data endpoint reaches the network through the database
    endpoint = DataEndpoint("data", DataEndpointArgs(
        database=database,
        # Read-only at the edge: no anonymous writes through the distribution.
        catalog=sample_catalog(database.engine.value, writes=False),
        # The example creates its ``posts`` table on first use; use migrations in production.
        bootstrap_schema=True,
    ))
    site = EdgeFunction("site", EdgeFunctionArgs(
        code_path=packaging.lambda_bundle("edge"),
        handler=packaging.EDGE_HANDLER,
        runtime=EDGE_RUNTIME,
        data_endpoint=endpoint,
    ))
    plan = endpoint.plan
    pulumi.export("url", site.distribution.domain_name.apply(lambda domain: f"https://{domain}"))
    pulumi.export("dataEndpointUrl", endpoint.url.function_url)
    pulumi.export("reservedConcurrency", plan.reserved_concurrency)
    pulumi.export("edgePackageBytes", site.package_size_bytes)
    pulumi.export("budget", plan.summary())
    pulumi.export("distributionIdParameter", endpoint.distribution_id_parameter_name)

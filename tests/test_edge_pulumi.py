"""Pulumi DataEndpoint + EdgeFunction and the ``edge`` example program, rendered offline (mocks)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.runtime import mocks as pulumi_mocks
from syrupy.extensions.json import JSONSnapshotExtension

from deploy_paradigms import packaging
from deploy_paradigms.budget import BudgetError, InputError
from deploy_paradigms.catalog import CACHE_TAG_HEADER, sample_catalog
from deploy_paradigms.plans.data_endpoint import plan_signing
from deploy_paradigms.plans.edge import MIB, measure_path
from deploy_paradigms.plans.serverless import FunctionOptions
from deploy_paradigms.pulumi import mock_engine
from deploy_paradigms.pulumi.data_endpoint import DataEndpoint, DataEndpointArgs
from deploy_paradigms.pulumi.database import Database, DatabaseArgs
from deploy_paradigms.pulumi.edge_function import (
    CACHING_DISABLED_POLICY_ID,
    EdgeFunction,
    EdgeFunctionArgs,
)
from deploy_paradigms.pulumi.network import Network
from deploy_paradigms.pulumi.preview import STACK, forget_earlier_programs, render_stack
from deploy_paradigms.pulumi.program import PROJECT
from deploy_paradigms.runtime.invalidation import ENV_DISTRIBUTION_ID_PARAMETER

EDGE_CODE = packaging.lambda_bundle("edge")
# A distribution's ARN as CloudFront answers it (the mock engine's, for "site-distribution").
DISTRIBUTION_ARN = mock_engine.AwsMocks().new_resource(pulumi_mocks.MockResourceArgs(
    typ="aws:cloudfront/distribution:Distribution", name="site-distribution", inputs={}, provider="",
    resource_id="", custom=True))[1]["arn"]
HMAC_SECRET_ARN = re.compile(
    r"arn:aws:secretsmanager:us-east-1:123456789012:secret:api-hmac-[0-9a-f]{7}-\w{6}")
Records = list[dict[str, Any]]


# -- helpers -------------------------------------------------------------------------------------

@cache
def example_run() -> mock_engine.MockRun:
    return render_stack("edge", {})


def example() -> tuple[dict[str, Any], ...]:
    return tuple(example_run().resources)


def find(records: Records | tuple[dict[str, Any], ...], rtype: str, name: str | None = None) -> Records:
    return [r for r in records if r["type"] == rtype and (name is None or r["name"] == name)]


def inputs(records: Records | tuple[dict[str, Any], ...], rtype: str, name: str) -> dict[str, Any]:
    found = find(records, rtype, name)
    assert len(found) == 1, (rtype, name, [r["name"] for r in find(records, rtype)])
    return found[0]["inputs"]  # type: ignore[no-any-return]


class ProviderRecordingMocks(mock_engine.AwsMocks):
    """The mock engine's answers, also noting which provider each resource was registered with."""

    def __init__(self) -> None:
        super().__init__()
        self.providers: dict[str, str] = {}

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.providers[args.name] = args.provider or ""
        return super().new_resource(args)


def run_program(build: Callable[[], Any]) -> tuple[Any, Records, dict[str, str]]:
    """Run ``build`` as a Pulumi program under the mock engine: its result, records, providers."""
    mocks = ProviderRecordingMocks()
    forget_earlier_programs()  # what a program refused after its body left waiting
    run = mock_engine.run_program(build, project=PROJECT, stack=STACK, mocks=mocks)
    return run.result, run.resources, mocks.providers


def database() -> Database:
    return Database("db", DatabaseArgs(network=Network("net"), instance_class="db.m5.large"))


def edge_args(**kwargs: Any) -> EdgeFunctionArgs:
    props: dict[str, Any] = {
        "code_path": EDGE_CODE, "handler": packaging.EDGE_HANDLER,
        "default_origin": aws.cloudfront.DistributionOriginArgs(origin_id="web", domain_name="example.com")}
    props.update(kwargs)
    return EdgeFunctionArgs(**props)


# -- the example program ---------------------------------------------------------------------------

def test_url_auth_type_and_both_invoke_permissions() -> None:
    records = example()
    assert inputs(records, "aws:lambda/functionUrl:FunctionUrl", "data-url") == {
        "authorizationType": "AWS_IAM", "functionName": "data-fn-function"}
    permissions = sorted((r["inputs"] for r in find(records, "aws:lambda/permission:Permission")),
                         key=lambda p: p["action"])
    assert permissions == [
        {"action": "lambda:InvokeFunction", "function": "data-fn-function", "invokedViaFunctionUrl": True,
         "principal": "cloudfront.amazonaws.com", "sourceArn": DISTRIBUTION_ARN},
        {"action": "lambda:InvokeFunctionUrl", "function": "data-fn-function",
         "principal": "cloudfront.amazonaws.com", "sourceArn": DISTRIBUTION_ARN},
    ]
    oac = inputs(records, "aws:cloudfront/originAccessControl:OriginAccessControl", "site-data-oac")
    assert (oac["originAccessControlOriginType"], oac["signingBehavior"], oac["signingProtocol"]) == (
        "lambda", "always", "sigv4")
    dist = inputs(records, "aws:cloudfront/distribution:Distribution", "site-distribution")
    origin, unsigned = sorted(dist["origins"], key=lambda o: bool(o.get("originAccessControlId")),
                              reverse=True)
    assert "originAccessControlId" not in unsigned  # the default behaviour's: refused by IAM auth
    assert dist["defaultCacheBehavior"]["targetOriginId"] == unsigned["originId"]
    assert unsigned["domainName"] == origin["domainName"]
    assert example_run().name_of(origin["originAccessControlId"]) == "site-data-oac"
    url = example_run().states["data-url"]["functionUrl"]
    assert re.fullmatch(r"https://[a-z0-9]{32}\.lambda-url\.us-east-1\.on\.aws/", url), url
    assert origin["domainName"] == url.split("/")[2]  # host of the function URL
    assert origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"


def test_distribution_extracts_cache_tags_and_the_endpoint_invalidates_it_only() -> None:
    # The examples' edge catalog is read-only (issue 13): the writes here are signed ("both").
    def build() -> Any:
        endpoint = DataEndpoint("data", DataEndpointArgs(database=Database("db", DatabaseArgs(
            network=Network("net"), instance_class="db.m5.large")), catalog=sample_catalog(), signing="both"))
        return EdgeFunction("site", EdgeFunctionArgs(code_path=EDGE_CODE, handler=packaging.EDGE_HANDLER,
                                                     data_endpoint=endpoint))

    forget_earlier_programs()  # what a program refused after its body left waiting
    run = mock_engine.run_program(build, project=PROJECT, stack=STACK)
    records = run.resources
    dist = inputs(records, "aws:cloudfront/distribution:Distribution", "site-distribution")
    assert dist["cacheTagConfig"] == {"headerName": CACHE_TAG_HEADER}
    (parameter,) = find(records, "aws:ssm/parameter:Parameter")
    assert run.name_of(parameter["inputs"]["insecureValue"]) == "site-distribution"
    assert re.fullmatch(r"E[A-Z0-9]{13}", parameter["inputs"]["insecureValue"])  # a distribution id
    assert parameter["inputs"]["type"] == "String"
    name = parameter["inputs"]["name"]
    assert name.startswith("/deploy-paradigms/") and name.endswith("/data/distribution-id")
    fn = inputs(records, "aws:lambda/function:Function", "data-fn-function")
    assert fn["environment"]["variables"][ENV_DISTRIBUTION_ID_PARAMETER] == name
    policies = [json.loads(r["inputs"]["policy"]) for r in find(records, "aws:iam/rolePolicy:RolePolicy")]
    statements = [st for p in policies for st in p["Statement"]]
    assert [st["Resource"] for st in statements if st["Action"] == "cloudfront:CreateInvalidation"] == [
        DISTRIBUTION_ARN]
    (read,) = [st for st in statements if st["Action"] == "ssm:GetParameter"]
    assert read["Resource"].endswith(f":parameter{name}")


def test_cache_policy_ttls_and_key() -> None:
    records = example()
    policy = inputs(records, "aws:cloudfront/cachePolicy:CachePolicy", "site-data-cache")
    assert (policy["minTtl"], policy["defaultTtl"], policy["maxTtl"]) == (0, 0, 31_536_000)
    key = policy["parametersInCacheKeyAndForwardedToOrigin"]
    assert key["queryStringsConfig"] == {"queryStringBehavior": "whitelist",
                                         "queryStrings": {"items": ["id", "limit"]}}
    assert key["headersConfig"] == {"headerBehavior": "none"}
    assert key["cookiesConfig"] == {"cookieBehavior": "none"}
    dist = inputs(records, "aws:cloudfront/distribution:Distribution", "site-distribution")
    (data,) = dist["orderedCacheBehaviors"]
    name_of = example_run().name_of
    assert data["pathPattern"] == "/data/*" and name_of(data["cachePolicyId"]) == "site-data-cache"
    assert data["cachedMethods"] == ["GET", "HEAD"] and "POST" in data["allowedMethods"]
    assert name_of(data["originRequestPolicyId"]) == "site-data-origin-request"
    orp = inputs(records, "aws:cloudfront/originRequestPolicy:OriginRequestPolicy",
                 "site-data-origin-request")
    assert orp["queryStringsConfig"] == {"queryStringBehavior": "whitelist",
                                         "queryStrings": {"items": ["id", "limit"]}}
    assert orp["headersConfig"] == {"headerBehavior": "whitelist",
                                    "headers": {"items": ["x-amz-content-sha256"]}}
    assert orp["cookiesConfig"] == {"cookieBehavior": "none"}
    assert {(e["errorCode"], e["errorCachingMinTtl"]) for e in dist["customErrorResponses"]} == {
        (code, 0) for code in (400, 403, 404, 405, 414, 500, 501, 502, 503, 504)}
    assert data["viewerProtocolPolicy"] == "redirect-to-https"


def test_edge_version_on_the_default_behaviour_in_us_east_1() -> None:
    records = example()
    fn = inputs(records, "aws:lambda/function:Function", "site-edge")
    assert fn["publish"] is True
    assert (fn["runtime"], fn["memorySize"], fn["timeout"]) == ("python3.12", 128, 5)
    assert not {"environment", "vpcConfig", "layers", "architectures"} & set(fn)
    dist = inputs(records, "aws:cloudfront/distribution:Distribution", "site-distribution")
    default = dist["defaultCacheBehavior"]
    assert default["lambdaFunctionAssociations"] == [{
        "eventType": "viewer-request", "includeBody": False,
        "lambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:site-edge:1"}]  # the qualified ARN
    assert default["cachePolicyId"] == CACHING_DISABLED_POLICY_ID
    assert default["viewerProtocolPolicy"] == "redirect-to-https"
    assert fn["region"] == "us-east-1" and not find(records, "pulumi:providers:aws")
    role = json.loads(inputs(records, "aws:iam/role:Role", "site-edge-role")["assumeRolePolicy"])
    assert role["Statement"][0]["Principal"]["Service"] == [
        "edgelambda.amazonaws.com", "lambda.amazonaws.com"]


def test_the_edge_function_uses_the_stacks_provider() -> None:
    def build() -> EdgeFunction:
        return EdgeFunction("site", edge_args())

    site, records, providers = run_program(build)
    # No explicit provider: the stack's (its profile, assume role, default tags) with region set.
    assert providers["site-edge"] == providers["site-edge-role"] == providers["site-distribution"] == ""
    dist = inputs(records, "aws:cloudfront/distribution:Distribution", "site-distribution")
    assert [o["originId"] for o in dist["origins"]] == ["web"]
    assert "orderedCacheBehaviors" not in dist or dist["orderedCacheBehaviors"] == []
    assert not find(records, "aws:lambda/permission:Permission")
    assert site.cache_plan is None and site.data_cache_policy is None


def test_data_endpoint_concurrency_within_budget() -> None:
    records = example()
    fn = inputs(records, "aws:lambda/function:Function", "data-fn-function")
    targets = inputs(records, "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup",
                     "data-fn-proxy-targets")
    proxy_connections = 86 * targets["connectionPoolConfig"]["maxConnectionsPercent"] // 100  # t3.micro: 86
    assert fn["reservedConcurrentExecutions"] == proxy_connections == 71
    assert fn["handler"] == packaging.DATA_ENDPOINT_HANDLER
    assert fn["environment"]["variables"]["DATA_ENDPOINT_BOOTSTRAP_SCHEMA"] == "true"


def test_package_sizes() -> None:
    site_fn = inputs(example(), "aws:lambda/function:Function", "site-edge")
    assert f"package {measure_path(EDGE_CODE):,} of 1,048,576 bytes" in site_fn["description"]


def test_hmac_endpoint_generates_its_key_and_refuses_cloudfront() -> None:
    def build() -> DataEndpoint:
        endpoint = DataEndpoint("api", DataEndpointArgs(database=database(), catalog=sample_catalog(),
                                                        signing="hmac",
                                                        function=FunctionOptions(connections=10)))
        with pytest.raises(InputError, match="auth type is NONE"):
            endpoint.grant_cloudfront("arn:aws:cloudfront::123456789012:distribution/E1")
        return endpoint

    endpoint, records, _ = run_program(build)
    assert inputs(records, "aws:lambda/functionUrl:FunctionUrl", "api-url")["authorizationType"] == "NONE"
    assert inputs(records, "aws:secretsmanager/secretVersion:SecretVersion", "api-hmac-value")[
        "secretString"] == "[secret]"
    env = inputs(records, "aws:lambda/function:Function", "api-fn-function")["environment"]["variables"]
    assert HMAC_SECRET_ARN.fullmatch(env["DATA_ENDPOINT_HMAC_SECRET_ARN"]), env
    egress = inputs(records, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
                    "api-to-secretsmanager")
    assert (egress["fromPort"], egress["toPort"], egress["ipProtocol"]) == (443, 443, "tcp")
    # One 443 rule serves the HMAC key and the invalidations: AWS refuses a duplicate rule.
    assert [r["name"] for r in find(records, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
            if r["inputs"].get("cidrIpv4") == "0.0.0.0/0" and r["name"].startswith("api-")] == [
        "api-to-secretsmanager"]
    policy = json.loads(inputs(records, "aws:iam/rolePolicy:RolePolicy", "api-hmac-read")["policy"])
    assert policy["Statement"][0]["Resource"] == env["DATA_ENDPOINT_HMAC_SECRET_ARN"]
    assert endpoint.signing_plan.requires_hmac
    assert endpoint.plan.reserved_concurrency == endpoint.function.allocation.connections <= 10


# -- validation ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("props", "message"), [
    ({"environment": {"API_BASE": "https://x"}}, r"Lambda@Edge does not support environment variables"),
    ({"vpc_config": {"subnet_ids": ["s-1"]}}, r"Lambda@Edge cannot run in a VPC"),
    ({"layers": ["arn:aws:lambda:us-east-1:1:layer:x:1"]}, r"Lambda@Edge does not support layers"),
    ({"memory_size": 256}, r"memory_size=256 is outside 128-128"),
    ({"timeout_s": 6}, r"timeout_s=6 is outside 1-5"),
    ({"code": pulumi.AssetArchive({})}, r"pass exactly one of code_path"),
    ({"code_path": None, "code": pulumi.AssetArchive({})}, r"code=AssetArchive cannot be measured"),
    ({"default_origin": None}, r"needs an origin for its default behaviour"),
    ({"aliases": ["a.example.com"]}, r"need acm_certificate_arn"),
    ({"data_endpoint": SimpleNamespace(signing_plan=plan_signing("hmac"), endpoint_name="api",
                                       catalog=sample_catalog(), cache_key_parameters=("id",),
                                       catalog_has_cache_tags=False,
                                       plan=SimpleNamespace(function_timeout_s=15))},
     r"signing='hmac': its URL does not admit CloudFront"),
])
def test_edge_function_validation(props: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message) as refused:
        EdgeFunction("bad", edge_args(**props))
    assert not isinstance(refused.value, BudgetError)  # input refusals, not budget ones (issue 11)


def test_oversized_package_names_its_measured_size(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text("def handler(event, context):\n    return event\n")
    (tmp_path / "blob.bin").write_bytes(os.urandom(1_100_000))
    size = measure_path(tmp_path)
    assert size > MIB
    with pytest.raises(InputError, match=rf"package is {size:,} bytes zipped, over the 1,048,576-byte"):
        EdgeFunction("big", edge_args(code_path=None, code=pulumi.FileArchive(str(tmp_path)),
                                      handler="handler.handler"))


def test_edge_preview_snapshot(snapshot: Any) -> None:
    assert list(example()) == snapshot(extension_class=JSONSnapshotExtension)

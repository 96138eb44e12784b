"""CDK DataEndpoint + EdgeFunction and the ``Edge`` example (with its us-east-1 support stack).

One example synth (default context, shared through the session cache in
conftest, cdk-nag included: it passing is the nag test) plus one small
construct-level app synthesized without aws-cdk-lib's built-in CloudFormation
validation (cfn-lint covers that ground; it would cost ~8 s). Validation errors
are raised at construction, before any synth.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from conftest import template_of
from syrupy.extensions.json import JSONSnapshotExtension

from deploy_paradigms import packaging
from deploy_paradigms.budget import BudgetError, InputError, describe_connection_limit
from deploy_paradigms.budget.plan import default_reserve
from deploy_paradigms.catalog import CACHE_TAG_HEADER, NamedQuery, QueryCatalog, sample_catalog
from deploy_paradigms.cdk.data_endpoint import DataEndpoint
from deploy_paradigms.cdk.database import Database
from deploy_paradigms.cdk.edge_function import EdgeFunction
from deploy_paradigms.plans.edge import MIB, measure_path, plan_edge_function
from deploy_paradigms.plans.serverless import FunctionOptions
from deploy_paradigms.runtime.invalidation import ENV_DISTRIBUTION_ID_PARAMETER

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ONE_YEAR_S = 31_536_000
EDGE_CODE = packaging.lambda_bundle("edge")


# -- helpers -------------------------------------------------------------------------------------

def resources(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == rtype}


def only(template: dict[str, Any], rtype: str, prefix: str = "") -> tuple[str, dict[str, Any]]:
    found = [(k, v["Properties"]) for k, v in resources(template, rtype).items() if k.startswith(prefix)]
    assert len(found) == 1, (rtype, prefix, [k for k, _ in found])
    return found[0]


def distribution_config(template: dict[str, Any], prefix: str = "SiteDistribution") -> dict[str, Any]:
    return only(template, "AWS::CloudFront::Distribution", prefix)[1]["DistributionConfig"]  # type: ignore[no-any-return]


def source_arn_of(distribution_logical_id: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":cloudfront::", {"Ref": "AWS::AccountId"},
                              ":distribution/", {"Ref": distribution_logical_id}]]}


def flat(value: Any) -> str:
    """A string or Fn::Join of strings and Refs, as one string with <Ref> placeholders."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return f"<{value['Ref']}>"
    separator, parts = value["Fn::Join"]
    return str(separator).join(flat(part) for part in parts)


def trusted_services(role: dict[str, Any]) -> list[str]:
    """Services a role trusts, whether CDK wrote one statement per principal or merged them."""
    found: list[str] = []
    for statement in role["AssumeRolePolicyDocument"]["Statement"]:
        service = statement["Principal"]["Service"]
        found += service if isinstance(service, list) else [service]
    return sorted(found)


def small_stack(app: cdk.App, id: str = "Small") -> tuple[cdk.Stack, Database]:
    stack = cdk.Stack(app, id, env=cdk.Environment(region="eu-west-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    return stack, Database(stack, "Db", vpc=vpc, instance_class="db.m5.large")


@pytest.fixture(scope="module")
def assembly(synth: Callable[..., Any]) -> Any:
    return synth(("Edge",))


@pytest.fixture(scope="module")
def edge(assembly: Any) -> dict[str, Any]:
    return template_of(assembly, "Edge")


@pytest.fixture(scope="module")
def support(assembly: Any) -> dict[str, Any]:
    return template_of(assembly, "Edge-us-east-1")


@pytest.fixture(scope="module")
def constructs() -> SimpleNamespace:
    """Non-default choices in one small app: HMAC and both-signing endpoints, a distribution of
    one's own granted with grant_cloudfront, an edge function with a certificate and its own origin."""
    app = cdk.App(analytics_reporting=False, builtin_cloud_formation_validation=False)
    stack, db = small_stack(app)
    hmac = DataEndpoint(stack, "Hmac", database=db, catalog=sample_catalog(), signing="hmac",
                        function=FunctionOptions(connections=10))
    both = DataEndpoint(stack, "Both", database=db, catalog=sample_catalog(), signing="both",
                        function=FunctionOptions(connections=10), response_size_limit_bytes=500_000)
    mine = cloudfront.Distribution(stack, "Mine", default_behavior=cloudfront.BehaviorOptions(
        origin=origins.FunctionUrlOrigin(both.url)))
    permissions = both.grant_cloudfront(mine)
    certificate = acm.Certificate.from_certificate_arn(
        stack, "Cert", "arn:aws:acm:us-east-1:123456789012:certificate/0000")
    origin_site = EdgeFunction(stack, "OriginSite", code_path=EDGE_CODE, handler=packaging.EDGE_HANDLER,
                               event_type="origin-request", memory_size=1024, timeout_s=30,
                               default_origin=origins.HttpOrigin("example.com"),
                               domain_names=["shop.example.com"], certificate=certificate)
    # A stack already in us-east-1 needs no support stack: the function is created in place.
    east = cdk.Stack(app, "East", env=cdk.Environment(region="us-east-1"))
    east_site = EdgeFunction(east, "Site", code_path=EDGE_CODE, handler=packaging.EDGE_HANDLER,
                             default_origin=origins.HttpOrigin("example.com"))
    built = app.synth()
    return SimpleNamespace(stack=stack, db=db, hmac=hmac, both=both, permissions=permissions,
                           origin_site=origin_site, template=template_of(built, "Small"),
                           support=template_of(built, "Small-us-east-1"), east_site=east_site,
                           east=template_of(built, "East"), stacks=[s.stack_name for s in built.stacks])


@pytest.fixture(scope="module")
def invalid() -> SimpleNamespace:
    """A scratch stack for constructions that must fail (never synthesized)."""
    app = cdk.App(analytics_reporting=False, builtin_cloud_formation_validation=False)
    stack = cdk.Stack(app, "Invalid", env=cdk.Environment(region="eu-west-1"))
    counter = iter(range(1000))

    def edge_function(**kwargs: Any) -> EdgeFunction:
        props: dict[str, Any] = {"code_path": EDGE_CODE, "handler": packaging.EDGE_HANDLER,
                                 "default_origin": origins.HttpOrigin("example.com")}
        props.update(kwargs)
        return EdgeFunction(stack, f"Edge{next(counter)}", **props)

    return SimpleNamespace(stack=stack, edge_function=edge_function)


# -- the data endpoint -----------------------------------------------------------------------------

def test_url_admits_only_iam_callers(edge: dict[str, Any]) -> None:
    _, url = only(edge, "AWS::Lambda::Url")
    assert url["AuthType"] == "AWS_IAM"
    fn_id, _ = only(edge, "AWS::Lambda::Function", "DataEndpointFunction")
    assert url["TargetFunctionArn"] == {"Fn::GetAtt": [fn_id, "Arn"]}
    # No public (Principal "*") permission exists: only CloudFront's two.
    assert {p["Properties"]["Principal"] for p in resources(edge, "AWS::Lambda::Permission").values()} == {
        "cloudfront.amazonaws.com"}


def test_origin_access_control_and_both_invoke_permissions(edge: dict[str, Any]) -> None:
    oac_id, oac = only(edge, "AWS::CloudFront::OriginAccessControl")
    assert oac["OriginAccessControlConfig"] | {"Name": None} == {
        "Name": None, "OriginAccessControlOriginType": "lambda", "SigningBehavior": "always",
        "SigningProtocol": "sigv4"}
    dist_id, _ = only(edge, "AWS::CloudFront::Distribution")
    signed, unsigned = sorted(distribution_config(edge)["Origins"],
                              key=lambda o: "OriginAccessControlId" in o, reverse=True)
    assert signed["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    url_id, _ = only(edge, "AWS::Lambda::Url")
    url_host = {"Fn::Select": [2, {"Fn::Split": ["/", {"Fn::GetAtt": [url_id, "FunctionUrl"]}]}]}
    assert signed["DomainName"] == unsigned["DomainName"] == url_host
    # the default behaviour's origin: the same URL unsigned, refused by IAM auth before the function runs
    assert "OriginAccessControlId" not in unsigned
    assert distribution_config(edge)["DefaultCacheBehavior"]["TargetOriginId"] == unsigned["Id"]
    origin = signed
    assert origin["CustomOriginConfig"] == {"OriginProtocolPolicy": "https-only", "OriginReadTimeout": 15,
                                            "OriginSSLProtocols": ["TLSv1.2"]}
    permissions = sorted((p["Properties"] for p in resources(edge, "AWS::Lambda::Permission").values()),
                         key=lambda p: p["Action"])
    assert [p["Action"] for p in permissions] == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    for p in permissions:
        assert p["Principal"] == "cloudfront.amazonaws.com"
        assert p["SourceArn"] == source_arn_of(dist_id)
        assert p["FunctionName"] == {"Fn::GetAtt": [url_id, "FunctionArn"]}
    assert permissions[0]["InvokedViaFunctionUrl"] is True  # InvokeFunction only through the URL


def test_data_endpoint_concurrency_is_the_budget(edge: dict[str, Any]) -> None:
    limit = describe_connection_limit("postgres", "db.t3.micro")
    available = limit.usable - default_reserve(limit)  # the endpoint is the database's only consumer
    _, fn = only(edge, "AWS::Lambda::Function", "DataEndpointFunction")
    assert fn["Environment"]["Variables"]["DATABASE_URL_PARAMS"].startswith("connection_limit=1&")
    _, pool = only(edge, "AWS::RDS::DBProxyTargetGroup")
    percent = pool["ConnectionPoolConfigurationInfo"]["MaxConnectionsPercent"]
    proxy_connections = limit.max_connections * percent // 100
    # One connection per concurrent invocation, no more than the proxy may open, within the ledger.
    assert fn["ReservedConcurrentExecutions"] == proxy_connections == 71 <= available == 72
    assert fn["Handler"] == packaging.DATA_ENDPOINT_HANDLER
    assert fn["Timeout"] == 15 and fn["Runtime"] == "python3.14"
    env = fn["Environment"]["Variables"]
    assert env["DATA_ENDPOINT_MAX_RESPONSE_BYTES"] == "1000000"
    assert env["DATA_ENDPOINT_BOOTSTRAP_SCHEMA"] == "true"
    assert "DATA_ENDPOINT_HMAC_SECRET_ARN" not in env  # signing="cloudfront": no key, no secret
    # no HMAC key; the one secret is the application role's (Database)
    assert [k[:21] for k in resources(edge, "AWS::SecretsManager::Secret")] == ["DatabaseAppUserSecret"]


# -- cache tags and invalidation on write ---------------------------------------------------------

def test_distribution_extracts_the_endpoints_cache_tags(edge: dict[str, Any]) -> None:
    assert distribution_config(edge)["CacheTagConfig"] == {"HeaderName": CACHE_TAG_HEADER}


@pytest.fixture(scope="module")
def signed_writes() -> dict[str, Any]:
    """The sample catalog with its writes, signed (``both``): the examples' edge catalog is
    read-only (no anonymous writes), so invalidation on write is shown here."""
    app = cdk.App(analytics_reporting=False, builtin_cloud_formation_validation=False)
    stack, db = small_stack(app, "Signed")
    endpoint = DataEndpoint(stack, "DataEndpoint", database=db, catalog=sample_catalog(), signing="both")
    EdgeFunction(stack, "Site", code_path=EDGE_CODE, handler=packaging.EDGE_HANDLER, data_endpoint=endpoint)
    return template_of(app.synth(), "Signed")


def test_the_endpoint_may_invalidate_its_distribution_only_via_an_ssm_parameter(
        signed_writes: dict[str, Any]) -> None:
    edge = signed_writes
    dist_id, _ = only(edge, "AWS::CloudFront::Distribution")
    fn_id, fn = only(edge, "AWS::Lambda::Function", "DataEndpointFunction")
    _, parameter = only(edge, "AWS::SSM::Parameter")
    # The id travels through a parameter written after the distribution exists (no cycle) ...
    assert parameter["Value"] == {"Ref": dist_id}
    assert fn["Environment"]["Variables"][ENV_DISTRIBUTION_ID_PARAMETER] == parameter["Name"]
    assert parameter["Name"].startswith("/deploy-paradigms/Signed/")
    statements = [(pid, st) for pid, pol in resources(edge, "AWS::IAM::Policy").items()
                  for st in pol["Properties"]["PolicyDocument"]["Statement"]]
    invalidate = [(pid, st) for pid, st in statements if st["Action"] == "cloudfront:CreateInvalidation"]
    # ... and the one invalidation grant names this distribution's ARN, nothing wider.
    assert [flat(st["Resource"]).replace("<AWS::Partition>", "aws") for _, st in invalidate] == [
        f"arn:aws:cloudfront::<AWS::AccountId>:distribution/<{dist_id}>"]
    read = [st for _, st in statements if st["Action"] == "ssm:GetParameter"]
    assert len(read) == 1 and flat(read[0]["Resource"]).endswith(f":parameter{parameter['Name']}")
    # The function does not wait for the invalidation policy (that would close the cycle).
    assert invalidate[0][0] not in edge["Resources"][fn_id].get("DependsOn", [])


def test_a_catalog_without_tags_leaves_the_distribution_as_it_was(constructs: SimpleNamespace) -> None:
    untagged = QueryCatalog((NamedQuery(name="one", sql="SELECT 1 AS one", cache_ttl_s=5),))
    app = cdk.App(analytics_reporting=False, builtin_cloud_formation_validation=False)
    stack, db = small_stack(app, "Untagged")
    endpoint = DataEndpoint(stack, "Data", database=db, catalog=untagged,
                            function=FunctionOptions(connections=10))
    site = EdgeFunction(stack, "Site", code_path=EDGE_CODE, handler=packaging.EDGE_HANDLER,
                        data_endpoint=endpoint)
    assert endpoint.grant_invalidation(site.distribution) is None and site.cache_tag_header is None
    template = template_of(app.synth(), "Untagged")
    assert "CacheTagConfig" not in distribution_config(template)
    assert not resources(template, "AWS::SSM::Parameter")
    _, fn = only(template, "AWS::Lambda::Function", "DataFunction")
    assert ENV_DISTRIBUTION_ID_PARAMETER not in fn["Environment"]["Variables"]


def test_one_endpoint_invalidates_one_distribution(constructs: SimpleNamespace) -> None:
    app = cdk.App(analytics_reporting=False, builtin_cloud_formation_validation=False)
    stack, db = small_stack(app, "Twice")
    endpoint = DataEndpoint(stack, "Data", database=db, catalog=sample_catalog(),
                            function=FunctionOptions(connections=10))
    EdgeFunction(stack, "Site", code_path=EDGE_CODE, handler=packaging.EDGE_HANDLER, data_endpoint=endpoint,
                 anonymous_writes_reason="this test is about invalidation, not who may write")
    other = cloudfront.Distribution(stack, "Other", default_behavior=cloudfront.BehaviorOptions(
        origin=origins.FunctionUrlOrigin(endpoint.url)))
    with pytest.raises(InputError, match="already invalidates a distribution"):
        endpoint.grant_invalidation(other)


# -- the cache ---------------------------------------------------------------------------------------

def test_cache_policy_honours_cache_control_and_keys_on_query_parameters_only(edge: dict[str, Any]) -> None:
    policy_id, policy = only(edge, "AWS::CloudFront::CachePolicy")
    config = policy["CachePolicyConfig"]
    assert (config["MinTTL"], config["DefaultTTL"], config["MaxTTL"]) == (0, 0, ONE_YEAR_S)
    key = config["ParametersInCacheKeyAndForwardedToOrigin"]
    # The read queries' parameters (recent_posts: limit; post_by_id: id); create_post's are POST-only.
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "whitelist", "QueryStrings": ["id", "limit"]}
    assert key["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    (data,) = distribution_config(edge)["CacheBehaviors"]
    assert data == {
        "PathPattern": "/data/*",
        "AllowedMethods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
        "CachedMethods": ["GET", "HEAD"],  # POST is forwarded, never cached
        "CachePolicyId": {"Ref": policy_id},
        "OriginRequestPolicyId": {"Ref": only(edge, "AWS::CloudFront::OriginRequestPolicy")[0]},
        "Compress": True,
        "TargetOriginId": data["TargetOriginId"],
        "ViewerProtocolPolicy": "redirect-to-https",
    }


def test_origin_request_policy_forwards_the_key_and_the_payload_hash_only(edge: dict[str, Any]) -> None:
    _, policy = only(edge, "AWS::CloudFront::OriginRequestPolicy")
    config = policy["OriginRequestPolicyConfig"]
    assert config["QueryStringsConfig"] == {"QueryStringBehavior": "whitelist",
                                            "QueryStrings": ["id", "limit"]}
    # no Host (a function URL answers only to its own name), no signature headers (signing="cloudfront")
    assert config["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["x-amz-content-sha256"]}
    assert config["CookiesConfig"] == {"CookieBehavior": "none"}
    errors = distribution_config(edge)["CustomErrorResponses"]
    assert sorted(e["ErrorCode"] for e in errors) == [400, 403, 404, 405, 414, 500, 501, 502, 503, 504]
    assert {e["ErrorCachingMinTTL"] for e in errors} == {0}


# -- the edge function and the distribution --------------------------------------------------------

def test_edge_function_version_is_on_the_default_behaviour(edge: dict[str, Any],
                                                           support: dict[str, Any]) -> None:
    default = distribution_config(edge)["DefaultCacheBehavior"]
    (association,) = default["LambdaFunctionAssociations"]
    assert association["EventType"] == "viewer-request"
    reader_id = association["LambdaFunctionARN"]["Fn::GetAtt"][0]
    reader = edge["Resources"][reader_id]
    assert reader["Type"] == "Custom::CrossRegionStringParameterReader"
    assert reader["Properties"]["Region"] == "us-east-1"
    version_id, _ = only(support, "AWS::Lambda::Version")
    _, parameter = only(support, "AWS::SSM::Parameter")
    assert parameter["Name"] == reader["Properties"]["ParameterName"]
    assert parameter["Value"] == {"Ref": version_id}  # the numbered version's ARN, not $LATEST
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["CachePolicyId"] == CACHING_DISABLED
    assert "OriginRequestPolicyId" not in default  # nothing forwarded: the function answers itself
    assert default["AllowedMethods"] == ["GET", "HEAD"]


def test_edge_function_lives_in_us_east_1_without_env_vpc_or_layers(assembly: Any,
                                                                    support: dict[str, Any]) -> None:
    assert assembly.get_stack_by_name("Edge-us-east-1").environment.region == "us-east-1"
    assert assembly.get_stack_by_name("Edge").environment.region == "eu-west-1"
    fn_id, fn = only(support, "AWS::Lambda::Function")
    assert (fn["Runtime"], fn["MemorySize"], fn["Timeout"]) == ("python3.12", 128, 5)
    assert fn["Handler"] == packaging.EDGE_HANDLER
    assert not {"Environment", "VpcConfig", "Layers", "Architectures"} & set(fn)  # Lambda@Edge is x86_64
    _, role = only(support, "AWS::IAM::Role")
    assert trusted_services(role) == ["edgelambda.amazonaws.com", "lambda.amazonaws.com"]
    assert "ManagedPolicyArns" not in role
    _, policy = only(support, "AWS::IAM::Policy")
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    assert [flat(r) for r in statement["Resource"]] == [
        f"arn:aws:logs:*:<AWS::AccountId>:log-group:/aws/lambda/us-east-1.<{fn_id}>:*",
        f"arn:aws:logs:us-east-1:<AWS::AccountId>:log-group:/aws/lambda/<{fn_id}>:*"]


def test_distribution_is_https_only_with_logs(edge: dict[str, Any]) -> None:
    config = distribution_config(edge)
    assert config["HttpVersion"] == "http2and3" and config["PriceClass"] == "PriceClass_100"
    assert "ViewerCertificate" not in config  # *.cloudfront.net (acknowledged: CFR4)
    bucket_id, bucket = only(edge, "AWS::S3::Bucket")
    assert config["Logging"] == {"Bucket": {"Fn::GetAtt": [bucket_id, "RegionalDomainName"]},
                                 "Prefix": "cloudfront/"}
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90
    _, bucket_policy = only(edge, "AWS::S3::BucketPolicy")
    deny = bucket_policy["PolicyDocument"]["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_package_sizes_are_measured(edge: dict[str, Any]) -> None:
    measured = measure_path(EDGE_CODE)
    assert edge["Outputs"]["EdgePackageBytes"]["Value"] == str(measured)
    assert 0 < measured < 64 * 1024  # stdlib only: far below the 1 MB viewer limit
    data_bundle = packaging.lambda_bundle("data_endpoint", catalog_json=sample_catalog().to_json())
    assert packaging.zipped_size(data_bundle) < 50 * MIB  # Lambda's direct-upload limit


# -- non-default choices ---------------------------------------------------------------------------

def test_hmac_signing_refuses_unsigned_callers_in_the_function(constructs: SimpleNamespace) -> None:
    t = constructs.template
    _, url = only(t, "AWS::Lambda::Url", "HmacUrl")
    assert url["AuthType"] == "NONE"
    secret_id, secret = only(t, "AWS::SecretsManager::Secret", "HmacHmacSecret")
    assert "SecretString" not in secret and secret["GenerateSecretString"]["PasswordLength"] == 64
    _, fn = only(t, "AWS::Lambda::Function", "HmacFunction")
    assert fn["Environment"]["Variables"]["DATA_ENDPOINT_HMAC_SECRET_ARN"] == {"Ref": secret_id}
    policies = [p for k, p in resources(t, "AWS::IAM::Policy").items()
                if k.startswith("HmacFunctionServiceRole")]
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert any(s["Resource"] == {"Ref": secret_id} and "secretsmanager:GetSecretValue" in s["Action"]
               for s in statements)
    _, sg = only(t, "AWS::EC2::SecurityGroup", "HmacFunctionSecurityGroup")
    assert {"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "Description": "Secrets Manager API (HMAC signing key)"} in sg["SecurityGroupEgress"]
    assert constructs.hmac.signing_plan.requires_hmac
    with pytest.raises(InputError, match="auth type is NONE, so origin access control cannot be used"):
        constructs.hmac.grant_cloudfront(cloudfront.Distribution.from_distribution_attributes(
            constructs.stack, "Imported", domain_name="d.cloudfront.net", distribution_id="E123"))


def test_both_signing_keeps_iam_and_adds_the_hmac(constructs: SimpleNamespace) -> None:
    t = constructs.template
    assert only(t, "AWS::Lambda::Url", "BothUrl")[1]["AuthType"] == "AWS_IAM"
    env = only(t, "AWS::Lambda::Function", "BothFunction")[1]["Environment"]["Variables"]
    assert "DATA_ENDPOINT_HMAC_SECRET_ARN" in env and env["DATA_ENDPOINT_MAX_RESPONSE_BYTES"] == "500000"


def test_grant_cloudfront_adds_both_permissions_for_one_distribution(constructs: SimpleNamespace) -> None:
    t = constructs.template
    dist_id, _ = only(t, "AWS::CloudFront::Distribution", "Mine")
    fn_id, _ = only(t, "AWS::Lambda::Function", "BothFunction")
    granted = {k: v["Properties"] for k, v in resources(t, "AWS::Lambda::Permission").items()
               if k.startswith("BothCloudFront")}
    assert sorted(p["Action"] for p in granted.values()) == [
        "lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    for p in granted.values():
        assert (p["Principal"], p["SourceArn"], p["FunctionName"]) == (
            "cloudfront.amazonaws.com", source_arn_of(dist_id), {"Fn::GetAtt": [fn_id, "Arn"]})
    assert [p.get("InvokedViaFunctionUrl") for p in sorted(granted.values(), key=lambda p: p["Action"])] == [
        True, None]
    assert len(constructs.permissions) == 2


def test_origin_trigger_with_a_certificate(constructs: SimpleNamespace) -> None:
    config = distribution_config(constructs.template, "OriginSiteDistribution")
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["Aliases"] == ["shop.example.com"]
    assert config["DefaultCacheBehavior"]["LambdaFunctionAssociations"][0]["EventType"] == "origin-request"
    assert "CacheBehaviors" not in config  # no data endpoint, no /data/* route
    assert "OriginRequestPolicyId" not in config["DefaultCacheBehavior"]  # the user's origin decides
    _, fn = only(constructs.support, "AWS::Lambda::Function")
    assert (fn["MemorySize"], fn["Timeout"]) == (1024, 30)
    assert constructs.origin_site.support_stack.node.id == "Small-us-east-1"
    assert constructs.origin_site.data_cache_policy is None


def test_a_stack_in_us_east_1_keeps_the_function_in_place(constructs: SimpleNamespace) -> None:
    assert constructs.east_site.support_stack.node.id == "East"
    assert sorted(constructs.stacks) == ["East", "Small", "Small-us-east-1"]
    _, fn = only(constructs.east, "AWS::Lambda::Function", "SiteEastSite")
    version_id, _ = only(constructs.east, "AWS::Lambda::Version")
    default = distribution_config(constructs.east)["DefaultCacheBehavior"]
    (association,) = default["LambdaFunctionAssociations"]
    assert association["LambdaFunctionARN"] == {"Ref": version_id}
    assert not resources(constructs.east, "Custom::CrossRegionStringParameterReader")
    assert fn["Runtime"] == "python3.12" and "Environment" not in fn


# -- validation at synth -----------------------------------------------------------------------------

@pytest.mark.parametrize(("props", "message"), [
    ({"environment": {"API_BASE": "https://x"}},
     r"environment=\['API_BASE'\] on an edge function: Lambda@Edge does not support environment variables; "
     r"bake configuration into the asset .* or read it from the request"),
    ({"vpc": "a-vpc"}, r"vpc on an edge function: Lambda@Edge cannot run in a VPC"),
    ({"layers": ["a-layer"]}, r"layers \(1\) on an edge function: Lambda@Edge does not support layers"),
    ({"memory_size": 256}, r"memory_size=256 is outside 128-128; Lambda@Edge allows at most 128 MB on viewer "
                           r"triggers; use an origin-request trigger"),
    ({"timeout_s": 10}, r"timeout_s=10 is outside 1-5; Lambda@Edge allows at most 5 s on viewer triggers"),
    ({"event_type": "origin-request", "timeout_s": 31}, r"timeout_s=31 is outside 1-30"),
    ({"runtime": "python3.14"}, r"runtime='python3.14' is not a Lambda@Edge runtime"),
    ({"event_type": "viewer_lookup"}, r"event_type='viewer_lookup' is not a CloudFront trigger"),
    ({"code": lambda_.Code.from_inline("x = 1")}, r"pass exactly one of code_path"),
    ({"default_origin": None}, r"needs an origin for its default behaviour"),
    ({"domain_names": ["a.example.com"]}, r"need certificate"),
])
def test_edge_function_validation(invalid: SimpleNamespace, props: dict[str, Any], message: str) -> None:
    if props.get("vpc") == "a-vpc":
        props = {**props, "vpc": ec2.Vpc.from_vpc_attributes(
            invalid.stack, "ImportedVpc", vpc_id="vpc-1", availability_zones=["eu-west-1a"])}
    with pytest.raises(InputError, match=message):
        invalid.edge_function(**props)


def test_oversized_package_names_its_measured_size(invalid: SimpleNamespace, tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text("def handler(event, context):\n    return event\n")
    (tmp_path / "blob.bin").write_bytes(os.urandom(1_100_000))  # incompressible
    size = measure_path(tmp_path)
    assert size > MIB
    with pytest.raises(InputError, match=rf"the edge function package is {size:,} bytes zipped, over the "
                                          rf"1,048,576-byte \(1 MB\) limit of viewer triggers"):
        invalid.edge_function(code_path=tmp_path, handler="handler.handler")
    # The same package fits an origin trigger (50 MB), and 60 MB does not.
    origin = invalid.edge_function(code_path=tmp_path, handler="handler.handler",
                                   event_type=cloudfront.LambdaEdgeEventType.ORIGIN_REQUEST)
    assert origin.package_size_bytes == size
    with pytest.raises(InputError,
                       match=r"62,914,560 bytes zipped, over the 52,428,800-byte \(50 MB\) limit"):
        plan_edge_function(trigger="origin-response", runtime="python3.12", handler="h.handler",
                           package_size_bytes=60 * MIB)


def test_inline_code_is_measured(invalid: SimpleNamespace) -> None:
    source = "def handler(event, context):\n    return event['Records'][0]['cf']['request']\n"
    fn = invalid.edge_function(code_path=None, code=lambda_.Code.from_inline(source), handler="index.handler")
    assert fn.package_size_bytes == len(source.encode())


def test_data_endpoint_validation(constructs: SimpleNamespace, invalid: SimpleNamespace) -> None:
    db = constructs.db
    with pytest.raises(InputError, match="signing='token' is not a signing mode"):
        DataEndpoint(constructs.stack, "Bad1", database=db, catalog=sample_catalog(), signing="token")
    with pytest.raises(InputError, match="hmac_secret is only used with signing='hmac' or 'both'"):
        DataEndpoint(constructs.stack, "Bad2", database=db, catalog=sample_catalog(),
                     hmac_secret=constructs.hmac.hmac_secret)
    with pytest.raises(InputError, match="response_size_limit_bytes=7000000 must be a whole number "
                                          "between 1 and 6291456"):
        DataEndpoint(constructs.stack, "Bad3", database=db, catalog=sample_catalog(),
                     response_size_limit_bytes=7_000_000)
    with pytest.raises(InputError, match="signing='hmac': its URL does not admit CloudFront") as refused:
        invalid.edge_function(data_endpoint=constructs.hmac)
    assert not isinstance(refused.value, BudgetError)  # an input refusal, not a budget one (issue 11)


# -- the whole templates -----------------------------------------------------------------------------

def test_edge_template_snapshot(edge: dict[str, Any], snapshot: Any) -> None:
    assert edge == snapshot(extension_class=JSONSnapshotExtension)


def test_edge_support_template_snapshot(support: dict[str, Any], snapshot: Any) -> None:
    assert support == snapshot(extension_class=JSONSnapshotExtension)

"""Full-decision parity of the edge paradigm: plan == CDK template == Pulumi graph.

CDK and Pulumi render ``EdgeFunction`` (with a ``Database`` and a ``DataEndpoint``)
from the same inputs, for two engines (PostgreSQL and MySQL, as the Edge example
takes one) and two input sets (the example's defaults; every optional decision
turned: origin trigger, memory, timeout, request body, price class, domain and
certificate, a rate limit, a default origin of one's own, signed writes with
cache tags). Each output is read back by its own reader into one normalised
shape, and so is the plan; all three must be equal, except the framework
differences in ``ALLOW_LIST``, each with its reason (a stale entry fails).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pulumi_aws as aws
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_ec2 as ec2
from conftest import cdk_json_context, template_of

from deploy_paradigms import packaging
from deploy_paradigms.catalog import sample_catalog
from deploy_paradigms.cdk.data_endpoint import DataEndpoint as CdkDataEndpoint
from deploy_paradigms.cdk.database import Database as CdkDatabase
from deploy_paradigms.cdk.edge_function import EdgeFunction as CdkEdgeFunction
from deploy_paradigms.plans.edge import (
    CACHE_POLICY_DATA,
    CACHE_POLICY_DISABLED,
    CACHE_POLICY_GIVEN,
    ORIGIN_DATA,
    ORIGIN_DATA_UNSIGNED,
    ORIGIN_DEFAULT,
    BehaviourPlan,
    EdgePlan,
    RateLimit,
)
from deploy_paradigms.pulumi import Database, DatabaseArgs, Network
from deploy_paradigms.pulumi.data_endpoint import DataEndpoint, DataEndpointArgs
from deploy_paradigms.pulumi.edge_function import CACHING_DISABLED_POLICY_ID, EdgeFunction, EdgeFunctionArgs
from deploy_paradigms.pulumi.preview import render_program

ENGINES = ("postgres", "mysql")
CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0000"


@dataclass(frozen=True)
class Case:
    """One set of inputs, given to both frameworks in their own spelling."""

    name: str
    signing: str = "cloudfront"
    writes: bool = False
    edge: tuple[tuple[str, Any], ...] = ()
    own_origin: bool = False
    certificate: bool = False


CASES = (
    Case("defaults"),
    Case(
        "turned",
        signing="both",
        writes=True,
        own_origin=True,
        certificate=True,
        edge=(
            ("event_type", "origin-request"),
            ("memory_size", 256),
            ("timeout_s", 10),
            ("include_body", True),
            ("price_class", "PriceClass_200"),
            ("rate_limit", RateLimit(500, window_s=60, scope="writes")),
        ),
    ),
)

#: Framework differences: (path in the normalised shape, which side has what, why). The compared
#: dicts drop these paths after checking each one still differs as stated.
ALLOW_LIST: dict[tuple[str, ...], str] = {
    (
        "waf",
        "name",
    ): "physical names come from each framework's identity: CDK the stack name and construct path "
    "(West-Site), Pulumi the project, stack and component name (deploy-paradigms-preview-site); the "
    "plan builds both with one rule (web_acl_name) from the parts each renderer passes",
    ("waf", "visibility", "MetricName"): "the web ACL's metric is named after the web ACL (see waf.name)",
    (
        "waf",
        "rules",
        0,
        "VisibilityConfig",
        "MetricName",
    ): "the rule's metric is named after the web ACL (see waf.name)",
}
#: CloudFront's default origin read timeout (used where an origin does not state one).
CLOUDFRONT_DEFAULT_READ_TIMEOUT_S = 30


# -- normalised shape -----------------------------------------------------------------------------


def _policy(
    ttl: tuple[int, int, int],
    query: tuple[str, list[str]],
    headers: str,
    cookies: str,
    gzip: bool,
    brotli: bool,
) -> dict[str, Any]:
    return {
        "ttl": ttl,
        "query_strings": (query[0], sorted(query[1])),
        "headers": headers,
        "cookies": cookies,
        "gzip": gzip,
        "brotli": brotli,
    }


def _forwarding(query: tuple[str, list[str]], headers: tuple[str, list[str]], cookies: str) -> dict[str, Any]:
    return {
        "query_strings": (query[0], sorted(query[1])),
        "headers": (headers[0], sorted(headers[1])),
        "cookies": cookies,
    }


def _behaviour(
    viewer: str,
    allowed: list[str],
    cached: list[str],
    compress: bool,
    origin: str,
    cache_policy: Any,
    origin_request: Any,
    edge: tuple[str, bool] | None,
) -> dict[str, Any]:
    return {
        "viewer": viewer,
        "allowed": sorted(allowed),
        "cached": sorted(cached),
        "compress": compress,
        "origin": origin,
        "cache_policy": cache_policy,
        "origin_request_policy": origin_request,
        "edge": edge,
    }


def from_plan(plan: EdgePlan) -> dict[str, Any]:
    """The plan in the normalised shape: what both renderers must have created."""
    dist, cp = plan.distribution, plan.cache
    policy = (
        _policy(
            (cp.min_ttl_s, cp.default_ttl_s, cp.max_ttl_s),
            (cp.query_string_behavior, list(cp.query_strings)),
            "none",
            "none",
            True,
            True,
        )
        if cp is not None
        else None
    )
    forwarding = (
        _forwarding(
            (cp.query_string_behavior, list(cp.query_strings)),
            ("whitelist", list(cp.forwarded_headers)),
            "none",
        )
        if cp is not None
        else None
    )
    policies = {
        CACHE_POLICY_DATA: policy,
        CACHE_POLICY_DISABLED: CACHE_POLICY_DISABLED,
        CACHE_POLICY_GIVEN: CACHE_POLICY_GIVEN,
    }

    def behaviour(b: BehaviourPlan) -> dict[str, Any]:
        return _behaviour(
            b.viewer_protocol_policy,
            list(b.allowed_methods),
            list(b.cached_methods),
            b.compress,
            b.origin,
            policies[b.cache_policy],
            forwarding if b.origin_request_policy else None,
            (b.edge_trigger.value, b.include_body) if b.edge_trigger else None,
        )

    data_origins = (
        {}
        if plan.data_endpoint is None
        else {
            ORIGIN_DATA: {
                "signed": True,
                "protocol": dist.origin_protocol_policy,
                "ssl": list(dist.origin_ssl_protocols),
                "read_timeout": dist.data_read_timeout_s,
            }
        }
    )
    if dist.default_behaviour.origin == ORIGIN_DATA_UNSIGNED:
        data_origins[ORIGIN_DATA_UNSIGNED] = {
            "signed": False,
            "protocol": dist.origin_protocol_policy,
            "ssl": list(dist.origin_ssl_protocols),
            "read_timeout": CLOUDFRONT_DEFAULT_READ_TIMEOUT_S,
        }
    bucket = plan.log_bucket
    firewall = plan.firewall
    return {
        "behaviours": {b.path_pattern or "default": behaviour(b) for b in dist.behaviours},
        "origins": data_origins,
        "error_caching": dict(dist.error_caching),
        "distribution": {
            "price_class": dist.price_class,
            "http_version": dist.http_version,
            "ipv6": dist.ipv6,
            "aliases": sorted(dist.aliases),
            "minimum_protocol_version": dist.minimum_protocol_version,
            "cache_tag_header": dist.cache_tag_header,
        },
        "logging": {
            "prefix": dist.log_prefix,
            "include_cookies": dist.log_include_cookies,
            "bucket": None
            if bucket is None
            else {
                "expiration_days": bucket.expiration_days,
                "noncurrent_expiration_days": bucket.noncurrent_expiration_days,
                "versioned": bucket.versioned,
                "ownership": bucket.object_ownership,
                "sse": bucket.sse_algorithm,
                "public_access_blocked": bucket.block_public_access,
                "tls_only": bucket.tls_only,
                "retained": bucket.retain_on_delete,
            },
        },
        "edge_function": {
            "runtime": plan.runtime,
            "handler": plan.handler,
            "memory": plan.memory_size,
            "timeout": plan.timeout_s,
            "trusted_by": sorted(plan.role_services),
            "log_actions": sorted(plan.log_actions),
            "log_retention_days": plan.log_retention_days,
            "region": "us-east-1",
            "forbidden": [],
        },
        "waf": None
        if firewall is None
        else {
            "name": firewall.name,
            "scope": firewall.scope,
            "region": firewall.region,
            "default_action": firewall.default_action,
            "visibility": firewall.visibility_config,
            "rules": firewall.rules,
            "on_distribution": True,
        },
    }


# -- readers ----------------------------------------------------------------------------------------


def _by_type(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == rtype}


def _services(document: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for statement in document["Statement"]:
        service = statement["Principal"]["Service"]
        found += service if isinstance(service, list) else [service]
    return sorted(found)


def _cdk_origin_kinds(config: dict[str, Any], template: dict[str, Any], own_origin: bool) -> dict[str, str]:
    """Origin id -> kind: the function URL with origin access control (data), without it (unsigned
    default), or the user's own."""
    url_ids = set(_by_type(template, "AWS::Lambda::Url"))
    kinds = {}
    for origin in config["Origins"]:
        from_url = any(k in json.dumps(origin["DomainName"]) for k in url_ids)
        kinds[origin["Id"]] = (
            ORIGIN_DEFAULT
            if not from_url
            else ORIGIN_DATA
            if "OriginAccessControlId" in origin
            else ORIGIN_DATA_UNSIGNED
        )
    assert own_origin == (ORIGIN_DEFAULT in kinds.values())
    return kinds


def read_cdk(
    template: dict[str, Any],
    edge_stack: dict[str, Any],
    acl_stack: dict[str, Any] | None,
    acl_region: str | None,
    own_origin: bool,
) -> dict[str, Any]:
    """The normalised decisions of a synthesized CDK template (and its us-east-1 support stack)."""
    ((dist_id, dist),) = _by_type(template, "AWS::CloudFront::Distribution").items()
    config = dist["Properties"]["DistributionConfig"]
    kinds = _cdk_origin_kinds(config, template, own_origin)
    policies = {
        k: v["Properties"]["CachePolicyConfig"]
        for k, v in _by_type(template, "AWS::CloudFront::CachePolicy").items()
    }
    forwarding = {
        k: v["Properties"]["OriginRequestPolicyConfig"]
        for k, v in _by_type(template, "AWS::CloudFront::OriginRequestPolicy").items()
    }

    def cache_policy(ref: Any) -> Any:
        if ref == CACHING_DISABLED_POLICY_ID:
            return CACHE_POLICY_DISABLED
        if isinstance(ref, str):
            return CACHE_POLICY_GIVEN
        p = policies[ref["Ref"]]
        key = p["ParametersInCacheKeyAndForwardedToOrigin"]
        return _policy(
            (p["MinTTL"], p["DefaultTTL"], p["MaxTTL"]),
            (
                key["QueryStringsConfig"]["QueryStringBehavior"],
                key["QueryStringsConfig"].get("QueryStrings", []),
            ),
            key["HeadersConfig"]["HeaderBehavior"],
            key["CookiesConfig"]["CookieBehavior"],
            key["EnableAcceptEncodingGzip"],
            key["EnableAcceptEncodingBrotli"],
        )

    def origin_request(ref: Any) -> Any:
        if ref is None:
            return None
        p = forwarding[ref["Ref"]]
        return _forwarding(
            (p["QueryStringsConfig"]["QueryStringBehavior"], p["QueryStringsConfig"].get("QueryStrings", [])),
            (p["HeadersConfig"]["HeaderBehavior"], p["HeadersConfig"].get("Headers", [])),
            p["CookiesConfig"]["CookieBehavior"],
        )

    def behaviour(b: dict[str, Any]) -> dict[str, Any]:
        (edge,) = b.get("LambdaFunctionAssociations") or [None]
        return _behaviour(
            b["ViewerProtocolPolicy"],
            b["AllowedMethods"],
            b.get("CachedMethods", ["GET", "HEAD"]),
            b["Compress"],
            kinds[b["TargetOriginId"]],
            cache_policy(b["CachePolicyId"]),
            origin_request(b.get("OriginRequestPolicyId")),
            (edge["EventType"], edge.get("IncludeBody", False)) if edge else None,
        )

    bucket = _cdk_bucket(template, config)
    (edge_fn,) = _by_type(edge_stack, "AWS::Lambda::Function").values()
    roles = [
        r["Properties"]
        for r in _by_type(edge_stack, "AWS::IAM::Role").values()
        if "edgelambda.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    (role,) = roles
    (log_policy,) = [
        p["Properties"]
        for p in _by_type(edge_stack, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] and "LogsPolicy" in json.dumps(p["Properties"]["PolicyName"])
    ]
    (log_group,) = _by_type(edge_stack, "AWS::Logs::LogGroup").values()
    return {
        "behaviours": {
            "default": behaviour(config["DefaultCacheBehavior"]),
            **{b["PathPattern"]: behaviour(b) for b in config.get("CacheBehaviors", [])},
        },
        "origins": {
            kinds[o["Id"]]: {
                "signed": "OriginAccessControlId" in o,
                "protocol": o["CustomOriginConfig"]["OriginProtocolPolicy"],
                "ssl": o["CustomOriginConfig"]["OriginSSLProtocols"],
                "read_timeout": o["CustomOriginConfig"].get(
                    "OriginReadTimeout", CLOUDFRONT_DEFAULT_READ_TIMEOUT_S
                ),
            }
            for o in config["Origins"]
            if kinds[o["Id"]] != ORIGIN_DEFAULT
        },
        "error_caching": {
            e["ErrorCode"]: e["ErrorCachingMinTTL"] for e in config.get("CustomErrorResponses", [])
        },
        "distribution": {
            "price_class": config["PriceClass"],
            "http_version": config["HttpVersion"],
            "ipv6": config["IPV6Enabled"],
            "aliases": sorted(config.get("Aliases", [])),
            "minimum_protocol_version": config.get("ViewerCertificate", {}).get("MinimumProtocolVersion"),
            "cache_tag_header": config.get("CacheTagConfig", {}).get("HeaderName"),
        },
        "logging": {
            "prefix": config["Logging"]["Prefix"],
            "include_cookies": config["Logging"].get("IncludeCookies", False),
            "bucket": bucket,
        },
        "edge_function": {
            "runtime": edge_fn["Properties"]["Runtime"],
            "handler": edge_fn["Properties"]["Handler"],
            "memory": edge_fn["Properties"]["MemorySize"],
            "timeout": edge_fn["Properties"]["Timeout"],
            "trusted_by": _services(role["AssumeRolePolicyDocument"]),
            "log_actions": sorted(
                a for st in log_policy["PolicyDocument"]["Statement"] for a in st["Action"]
            ),
            "log_retention_days": log_group["Properties"]["RetentionInDays"],
            "region": "us-east-1",
            "forbidden": sorted({"Environment", "VpcConfig", "Layers"} & set(edge_fn["Properties"])),
        },
        "waf": _cdk_waf(acl_stack, acl_region, config),
    }


def _cdk_bucket(template: dict[str, Any], config: dict[str, Any]) -> dict[str, Any] | None:
    buckets = _by_type(template, "AWS::S3::Bucket")
    if not buckets:
        return None
    ((bucket_id, bucket),) = buckets.items()
    assert config["Logging"]["Bucket"] == {"Fn::GetAtt": [bucket_id, "RegionalDomainName"]}
    props = bucket["Properties"]
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    block = props["PublicAccessBlockConfiguration"]
    (policy,) = [
        p["Properties"]
        for p in _by_type(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    denies_plain_http = any(
        st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for st in policy["PolicyDocument"]["Statement"]
    )
    (sse,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    return {
        "expiration_days": rule["ExpirationInDays"],
        "noncurrent_expiration_days": rule["NoncurrentVersionExpiration"]["NoncurrentDays"],
        "versioned": props["VersioningConfiguration"]["Status"] == "Enabled",
        "ownership": props["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
        "sse": sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "public_access_blocked": all(
            block[k]
            for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        ),
        "tls_only": denies_plain_http,
        "retained": bucket.get("DeletionPolicy") == "Retain",
    }


def _cdk_waf(
    acl_stack: dict[str, Any] | None, region: str | None, config: dict[str, Any]
) -> dict[str, Any] | None:
    acls = _by_type(acl_stack, "AWS::WAFv2::WebACL") if acl_stack is not None else {}
    if not acls:
        assert "WebACLId" not in config
        return None
    ((acl_id, acl),) = acls.items()
    props = acl["Properties"]
    # In place: a reference; across Regions: through the SSM parameter and the reader.
    web_acl_id = json.dumps(config["WebACLId"])
    on_distribution = acl_id in web_acl_id or "WebAclArnReader" in web_acl_id
    return {
        "name": props["Name"],
        "scope": props["Scope"],
        "region": region,
        "default_action": props["DefaultAction"],
        "visibility": props["VisibilityConfig"],
        "rules": props["Rules"],
        "on_distribution": on_distribution,
    }


def read_pulumi(
    records: list[dict[str, Any]], options: dict[str, dict[str, Any]], name: str = "site"
) -> dict[str, Any]:
    """The normalised decisions of a Pulumi resource graph (inputs as registered under the mocks)."""

    def inputs(rtype: str) -> list[dict[str, Any]]:
        return [r["inputs"] for r in records if r["type"] == rtype]

    (dist,) = inputs("aws:cloudfront/distribution:Distribution")
    kinds = {
        o["originId"]: (
            ORIGIN_DATA
            if o.get("originAccessControlId")
            else ORIGIN_DATA_UNSIGNED
            if o["originId"] == ORIGIN_DATA_UNSIGNED
            else ORIGIN_DEFAULT
        )
        for o in dist["origins"]
    }
    policies = inputs("aws:cloudfront/cachePolicy:CachePolicy")
    forwarding = inputs("aws:cloudfront/originRequestPolicy:OriginRequestPolicy")

    def cache_policy(policy_id: str) -> Any:
        if policy_id == CACHING_DISABLED_POLICY_ID:
            return CACHE_POLICY_DISABLED
        ours = {r["outputs"]["id"] for r in records if r["type"] == "aws:cloudfront/cachePolicy:CachePolicy"}
        if policy_id not in ours:
            return CACHE_POLICY_GIVEN
        (p,) = policies
        key = p["parametersInCacheKeyAndForwardedToOrigin"]
        query = key["queryStringsConfig"]
        return _policy(
            (p["minTtl"], p["defaultTtl"], p["maxTtl"]),
            (query["queryStringBehavior"], query.get("queryStrings", {}).get("items", [])),
            key["headersConfig"]["headerBehavior"],
            key["cookiesConfig"]["cookieBehavior"],
            key["enableAcceptEncodingGzip"],
            key["enableAcceptEncodingBrotli"],
        )

    def origin_request(policy_id: str | None) -> Any:
        if policy_id is None:
            return None
        (p,) = forwarding
        query, headers = p["queryStringsConfig"], p["headersConfig"]
        return _forwarding(
            (query["queryStringBehavior"], query.get("queryStrings", {}).get("items", [])),
            (headers["headerBehavior"], headers.get("headers", {}).get("items", [])),
            p["cookiesConfig"]["cookieBehavior"],
        )

    def behaviour(b: dict[str, Any]) -> dict[str, Any]:
        (edge,) = b.get("lambdaFunctionAssociations") or [None]
        return _behaviour(
            b["viewerProtocolPolicy"],
            b["allowedMethods"],
            b["cachedMethods"],
            b["compress"],
            kinds[b["targetOriginId"]],
            cache_policy(b["cachePolicyId"]),
            origin_request(b.get("originRequestPolicyId")),
            (edge["eventType"], edge.get("includeBody", False)) if edge else None,
        )

    (edge_fn,) = [
        r for r in records if r["type"] == "aws:lambda/function:Function" and r["name"] == f"{name}-edge"
    ]
    (role,) = [
        r["inputs"] for r in records if r["type"] == "aws:iam/role:Role" and r["name"] == f"{name}-edge-role"
    ]
    (log_policy,) = [
        json.loads(r["inputs"]["policy"])
        for r in records
        if r["type"] == "aws:iam/rolePolicy:RolePolicy" and r["name"] == f"{name}-edge-logs"
    ]
    (log_group,) = [
        r["inputs"]
        for r in records
        if r["type"] == "aws:cloudwatch/logGroup:LogGroup" and r["name"] == f"{name}-edge-log-group"
    ]
    fn = edge_fn["inputs"]
    certificate = dist["viewerCertificate"]
    return {
        "behaviours": {
            "default": behaviour(dist["defaultCacheBehavior"]),
            **{b["pathPattern"]: behaviour(b) for b in dist.get("orderedCacheBehaviors", [])},
        },
        "origins": {
            kinds[o["originId"]]: {
                "signed": bool(o.get("originAccessControlId")),
                "protocol": o["customOriginConfig"]["originProtocolPolicy"],
                "ssl": o["customOriginConfig"]["originSslProtocols"],
                "read_timeout": o["customOriginConfig"].get(
                    "originReadTimeout", CLOUDFRONT_DEFAULT_READ_TIMEOUT_S
                ),
            }
            for o in dist["origins"]
            if kinds[o["originId"]] != ORIGIN_DEFAULT
        },
        "error_caching": {
            e["errorCode"]: e["errorCachingMinTtl"] for e in dist.get("customErrorResponses", [])
        },
        "distribution": {
            "price_class": dist["priceClass"],
            "http_version": dist["httpVersion"],
            "ipv6": dist["isIpv6Enabled"],
            "aliases": sorted(dist.get("aliases", [])),
            "minimum_protocol_version": certificate.get("minimumProtocolVersion"),
            "cache_tag_header": dist.get("cacheTagConfig", {}).get("headerName"),
        },
        "logging": {
            "prefix": dist["loggingConfig"]["prefix"],
            "include_cookies": dist["loggingConfig"].get("includeCookies", False),
            "bucket": _pulumi_bucket(records, options, name),
        },
        "edge_function": {
            "runtime": fn["runtime"],
            "handler": fn["handler"],
            "memory": fn["memorySize"],
            "timeout": fn["timeout"],
            "trusted_by": _services(json.loads(role["assumeRolePolicy"])),
            "log_actions": sorted(a for st in log_policy["Statement"] for a in st["Action"]),
            "log_retention_days": log_group["retentionInDays"],
            "region": fn["region"],
            "forbidden": sorted({"environment", "vpcConfig", "layers"} & set(fn)),
        },
        "waf": _pulumi_waf(records, dist),
    }


def _pulumi_bucket(
    records: list[dict[str, Any]], options: dict[str, dict[str, Any]], name: str
) -> dict[str, Any] | None:
    def one(rtype: str) -> dict[str, Any]:
        (found,) = [
            r["inputs"] for r in records if r["type"] == rtype and r["name"].startswith(f"{name}-logs")
        ]
        return found

    if not [r for r in records if r["type"] == "aws:s3/bucket:Bucket" and r["name"] == f"{name}-logs"]:
        return None
    (rule,) = one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]
    block = one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    (sse,) = one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")[
        "rules"
    ]
    policy = json.loads(one("aws:s3/bucketPolicy:BucketPolicy")["policy"])
    return {
        "expiration_days": rule["expiration"]["days"],
        "noncurrent_expiration_days": rule["noncurrentVersionExpiration"]["noncurrentDays"],
        "versioned": one("aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"]["status"]
        == "Enabled",
        "ownership": one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")["rule"]["objectOwnership"],
        "sse": sse["applyServerSideEncryptionByDefault"]["sseAlgorithm"],
        "public_access_blocked": all(
            block[k]
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        ),
        "tls_only": any(
            st["Effect"] == "Deny" and st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for st in policy["Statement"]
        ),
        "retained": bool(options[f"{name}-logs"].get("retainOnDelete")),
    }


def _pulumi_waf(records: list[dict[str, Any]], dist: dict[str, Any]) -> dict[str, Any] | None:
    acls = [r for r in records if r["type"] == "aws:wafv2/webAcl:WebAcl"]
    if not acls:
        assert not dist.get("webAclId")
        return None
    (acl,) = acls
    props = acl["inputs"]
    visibility = props["visibilityConfig"]
    return {
        "name": props["name"],
        "scope": props["scope"],
        "region": props["region"],
        "default_action": {k.capitalize(): v for k, v in props["defaultAction"].items()},
        "visibility": {
            "CloudWatchMetricsEnabled": visibility["cloudwatchMetricsEnabled"],
            "MetricName": visibility["metricName"],
            "SampledRequestsEnabled": visibility["sampledRequestsEnabled"],
        },
        "rules": json.loads(props["ruleJson"]),
        "on_distribution": dist["webAclId"] == acl["outputs"]["arn"],
    }


# -- rendering both from the same inputs ------------------------------------------------------------


def _catalog(engine: str, case: Case) -> Any:
    return sample_catalog(engine, writes=case.writes)


@pytest.fixture(scope="module")
def cdk_side() -> dict[tuple[str, str], SimpleNamespace]:
    """Every engine x case in one CDK app (one synth), each in its own eu-west-1 stack."""
    app = cdk.App(
        context=cdk_json_context(), analytics_reporting=False, builtin_cloud_formation_validation=False
    )
    built: dict[tuple[str, str], SimpleNamespace] = {}
    for engine in ENGINES:
        for case in CASES:
            stack_name = f"Edge{engine.capitalize()}{case.name.capitalize()}"
            stack = cdk.Stack(app, stack_name, env=cdk.Environment(region="eu-west-1"))
            vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
            database = CdkDatabase(stack, "Database", vpc=vpc, engine=engine, instance_class="db.m5.large")
            endpoint = CdkDataEndpoint(
                stack, "Data", database=database, catalog=_catalog(engine, case), signing=case.signing
            )
            extra: dict[str, Any] = dict(case.edge)
            if case.own_origin:
                extra["default_origin"] = origins.HttpOrigin("example.com")
            if case.certificate:
                extra["domain_names"] = ["shop.example.com"]
                extra["certificate"] = acm.Certificate.from_certificate_arn(
                    stack, "Certificate", CERTIFICATE_ARN
                )
            site = CdkEdgeFunction(
                stack,
                "Site",
                code_path=packaging.lambda_bundle("edge"),
                handler=packaging.EDGE_HANDLER,
                data_endpoint=endpoint,
                **extra,
            )
            built[(engine, case.name)] = SimpleNamespace(stack_name=stack_name, site=site, case=case)
    assembly = app.synth()
    for entry in built.values():
        entry.template = template_of(assembly, entry.stack_name)
        entry.support = template_of(assembly, f"{entry.stack_name}-us-east-1")
    return built


def _render_pulumi(engine: str, case: Case) -> SimpleNamespace:
    sites: list[EdgeFunction] = []

    def program() -> None:
        database = Database(
            "db", DatabaseArgs(network=Network("net"), engine=engine, instance_class="db.m5.large")
        )
        endpoint = DataEndpoint(
            "data", DataEndpointArgs(database=database, catalog=_catalog(engine, case), signing=case.signing)
        )
        extra: dict[str, Any] = dict(case.edge)
        if case.own_origin:
            extra["default_origin"] = aws.cloudfront.DistributionOriginArgs(
                origin_id="web",
                domain_name="example.com",
                custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                    http_port=80,
                    https_port=443,
                    origin_protocol_policy="https-only",
                    origin_ssl_protocols=["TLSv1.2"],
                ),
            )
        if case.certificate:
            extra["aliases"] = ["shop.example.com"]
            extra["acm_certificate_arn"] = CERTIFICATE_ARN
        sites.append(
            EdgeFunction(
                "site",
                EdgeFunctionArgs(
                    code_path=packaging.lambda_bundle("edge"),
                    handler=packaging.EDGE_HANDLER,
                    data_endpoint=endpoint,
                    **extra,
                ),
            )
        )

    preview = render_program(program, {"aws:region": "eu-west-1"})
    # With what the mock engine answered (ids, ARNs), as `pulumi stack export` has them.
    return SimpleNamespace(site=sites[0], records=preview.records_with_outputs(), options=preview.options)


def _drop(tree: Any, path: tuple[Any, ...]) -> Any:
    """``tree`` without the value at ``path`` (a copy); the path must exist."""
    head, *rest = path
    if isinstance(tree, list):
        copy = list(tree)
        copy[head] = _drop(tree[head], tuple(rest)) if rest else None
        return copy
    assert head in tree, path
    copy = dict(tree)
    if rest:
        copy[head] = _drop(tree[head], tuple(rest))
    else:
        del copy[head]
    return copy


def _at(tree: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _assert_same_but_allowed(cdk_view: dict[str, Any], pulumi_view: dict[str, Any]) -> None:
    for path in ALLOW_LIST:
        if cdk_view.get(path[0]) is None:  # nothing there for this case (no web ACL)
            continue
        assert _at(cdk_view, path) != _at(pulumi_view, path), f"stale ALLOW_LIST entry {path}: now equal"
        cdk_view, pulumi_view = _drop(cdk_view, path), _drop(pulumi_view, path)
    assert cdk_view == pulumi_view


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("engine", ENGINES)
def test_plan_cdk_and_pulumi_make_every_edge_decision_alike(
    engine: str, case: Case, cdk_side: dict[tuple[str, str], SimpleNamespace]
) -> None:
    cdk_built = cdk_side[(engine, case.name)]
    pulumi_built = _render_pulumi(engine, case)
    cdk_plan, pulumi_plan = cdk_built.site.plan, pulumi_built.site.plan
    in_place = cdk_built.support if cdk_plan.firewall is not None else None
    cdk_view = read_cdk(
        cdk_built.template, cdk_built.support, in_place, "us-east-1" if in_place else None, case.own_origin
    )
    pulumi_view = read_pulumi(pulumi_built.records, pulumi_built.options)
    # Each rendering is its plan, exactly; the plans agree but for the allow-listed names.
    assert cdk_view == from_plan(cdk_plan)
    assert pulumi_view == from_plan(pulumi_plan)
    _assert_same_but_allowed(from_plan(cdk_plan), from_plan(pulumi_plan))
    _assert_same_but_allowed(cdk_view, pulumi_view)


def test_the_cases_turn_every_optional_decision(cdk_side: dict[tuple[str, str], SimpleNamespace]) -> None:
    """The two cases differ in every decision an input can turn (else the parity above is thin)."""
    plain, turned = (from_plan(cdk_side[("postgres", c.name)].site.plan) for c in CASES)
    for path in (
        ("behaviours", "default"),
        ("distribution", "price_class"),
        ("distribution", "aliases"),
        ("distribution", "minimum_protocol_version"),
        ("edge_function", "memory"),
        ("edge_function", "timeout"),
        ("waf",),
        ("origins",),
        ("behaviours", "/data/*", "origin_request_policy"),
    ):
        assert _at(plain, path) != _at(turned, path), path
    assert (
        plain["waf"] is None and turned["waf"]["rules"][0]["Statement"]["RateBasedStatement"]["Limit"] == 500
    )

"""The CDK templates (``Edge`` + ``Edge-us-east-1``) and the Pulumi ``edge`` graph make the same decisions.

Each side is read independently (CloudFormation properties vs pulumi-aws inputs)
into one shape: data endpoint concurrency and function settings, URL auth type,
origin access control, CloudFront's invoke permissions, cache policy TTLs and
key, the ``/data/*`` and default behaviours, the edge function and its trigger,
cache tags (the distribution's tag header, the distribution id's SSM parameter,
the invalidation grant's scope).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conftest import template_of

from deploy_paradigms.plans.edge import ACCESS_LOG_EXPIRATION_DAYS, EDGE_FUNCTION_LOG_RETENTION_DAYS
from deploy_paradigms.pulumi.preview import render, render_stack

DATA_ENV = ("DATA_ENDPOINT_BOOTSTRAP_SCHEMA", "DATA_ENDPOINT_MAX_RESPONSE_BYTES")
INVALIDATION_ENV = "DATA_ENDPOINT_DISTRIBUTION_ID_PARAMETER"


def _one(items: list[Any], what: str) -> Any:
    assert len(items) == 1, f"expected one {what}, found {len(items)}"
    return items[0]


def _services(policy: dict[str, Any]) -> list[str]:
    """Services a trust policy names (one statement per principal, or one merged statement)."""
    found: list[str] = []
    for statement in policy["Statement"]:
        service = statement["Principal"]["Service"]
        found += service if isinstance(service, list) else [service]
    return found


def _methods(methods: list[str]) -> list[str]:
    return sorted(methods)


def cdk_decisions(edge: dict[str, Any], support: dict[str, Any]) -> dict[str, Any]:
    res = edge["Resources"]

    def props(rtype: str, prefix: str = "", template: dict[str, Any] = edge) -> list[dict[str, Any]]:
        return [v["Properties"] for k, v in template["Resources"].items()
                if v["Type"] == rtype and k.startswith(prefix)]

    data_fn = _one(props("AWS::Lambda::Function", "DataEndpointFunction"), "data endpoint function")
    dist = _one(props("AWS::CloudFront::Distribution"), "distribution")["DistributionConfig"]
    dist_id = _one([k for k, v in res.items() if v["Type"] == "AWS::CloudFront::Distribution"],
                   "distribution")
    policy = _one(props("AWS::CloudFront::CachePolicy"), "cache policy")["CachePolicyConfig"]
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    oac = _one(props("AWS::CloudFront::OriginAccessControl"), "OAC")["OriginAccessControlConfig"]
    origin = _one([o for o in dist["Origins"] if "OriginAccessControlId" in o], "signed origin")
    data = _one(dist["CacheBehaviors"], "data behaviour")
    orp = _one(props("AWS::CloudFront::OriginRequestPolicy"),
               "origin request policy")["OriginRequestPolicyConfig"]
    default = dist["DefaultCacheBehavior"]
    association = _one(default["LambdaFunctionAssociations"], "edge association")
    edge_fn = _one(props("AWS::Lambda::Function", template=support), "edge function")
    edge_role = _one(props("AWS::IAM::Role", template=support), "edge role")
    source = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":cloudfront::", {"Ref": "AWS::AccountId"},
                                ":distribution/", {"Ref": dist_id}]]}
    statements = [st for p in props("AWS::IAM::Policy") for st in p["PolicyDocument"]["Statement"]]
    # The examples' edge catalog is read-only (issue 13): nothing to invalidate, in either engine.
    cache_tags = {
        "header": dist["CacheTagConfig"]["HeaderName"],
        "invalidation": (len(props("AWS::SSM::Parameter")),
                         len([st for st in statements if st["Action"] == "cloudfront:CreateInvalidation"]),
                         INVALIDATION_ENV in data_fn["Environment"]["Variables"]),
    }
    return {
        "cache_tags": cache_tags,
        "data_endpoint": {
            "reserved_concurrency": data_fn["ReservedConcurrentExecutions"],
            "timeout": data_fn["Timeout"], "memory": data_fn["MemorySize"], "runtime": data_fn["Runtime"],
            "handler": data_fn["Handler"],
            "environment": {k: data_fn["Environment"]["Variables"][k] for k in DATA_ENV},
            "url_auth_type": _one(props("AWS::Lambda::Url"), "URL")["AuthType"],
        },
        "origin_access_control": (oac["OriginAccessControlOriginType"], oac["SigningBehavior"],
                                  oac["SigningProtocol"]),
        "permissions": sorted((p["Action"], p["Principal"], p.get("InvokedViaFunctionUrl", False),
                               p["SourceArn"] == source) for p in props("AWS::Lambda::Permission")),
        "cache_policy": {"ttl": (policy["MinTTL"], policy["DefaultTTL"], policy["MaxTTL"]),
                         "query_strings": (key["QueryStringsConfig"]["QueryStringBehavior"],
                                           key["QueryStringsConfig"].get("QueryStrings", [])),
                         "headers": key["HeadersConfig"]["HeaderBehavior"],
                         "cookies": key["CookiesConfig"]["CookieBehavior"],
                         "compression": (key["EnableAcceptEncodingGzip"], key["EnableAcceptEncodingBrotli"])},
        "origin": (origin["CustomOriginConfig"]["OriginProtocolPolicy"],
                   origin["CustomOriginConfig"]["OriginSSLProtocols"],
                   origin["CustomOriginConfig"]["OriginReadTimeout"]),
        "data_behaviour": {"path": data["PathPattern"], "allowed": _methods(data["AllowedMethods"]),
                           "cached": _methods(data["CachedMethods"]),
                           "origin_request_policy": (
                               orp["QueryStringsConfig"]["QueryStringBehavior"],
                               orp["QueryStringsConfig"].get("QueryStrings", []),
                               orp["HeadersConfig"]["HeaderBehavior"], orp["HeadersConfig"]["Headers"],
                               orp["CookiesConfig"]["CookieBehavior"]),
                           "viewer": data["ViewerProtocolPolicy"], "compress": data["Compress"]},
        "default_behaviour": {"allowed": _methods(default["AllowedMethods"]),
                              "cache_policy": default["CachePolicyId"],
                              "origin_request_policy": default.get("OriginRequestPolicyId"),
                              "viewer": default["ViewerProtocolPolicy"],
                              "trigger": association["EventType"],
                              "include_body": association.get("IncludeBody", False)},
        "error_caching": sorted((e["ErrorCode"], e["ErrorCachingMinTTL"])
                                for e in dist["CustomErrorResponses"]),
        "distribution": {"http": dist["HttpVersion"], "price_class": dist["PriceClass"],
                         "ipv6": dist["IPV6Enabled"], "log_prefix": dist["Logging"]["Prefix"],
                         "default_certificate": "ViewerCertificate" not in dist},
        "edge_function": {"runtime": edge_fn["Runtime"], "handler": edge_fn["Handler"],
                          "memory": edge_fn["MemorySize"], "timeout": edge_fn["Timeout"],
                          "forbidden": sorted({"Environment", "VpcConfig", "Layers"} & set(edge_fn)),
                          "trusted_by": sorted(_services(edge_role["AssumeRolePolicyDocument"]))},
    }


def pulumi_decisions(records: list[dict[str, Any]]) -> dict[str, Any]:
    def inputs(rtype: str, name: str | None = None) -> list[dict[str, Any]]:
        return [r["inputs"] for r in records if r["type"] == rtype and (name is None or r["name"] == name)]

    data_fn = _one(inputs("aws:lambda/function:Function", "data-fn-function"), "data endpoint function")
    dist = _one(inputs("aws:cloudfront/distribution:Distribution"), "distribution")
    policy = _one(inputs("aws:cloudfront/cachePolicy:CachePolicy"), "cache policy")
    key = policy["parametersInCacheKeyAndForwardedToOrigin"]
    oac = _one(inputs("aws:cloudfront/originAccessControl:OriginAccessControl"), "OAC")
    origin = _one([o for o in dist["origins"] if o.get("originAccessControlId")], "signed origin")
    data = _one(dist["orderedCacheBehaviors"], "data behaviour")
    orp = _one(inputs("aws:cloudfront/originRequestPolicy:OriginRequestPolicy"), "origin request policy")
    default = dist["defaultCacheBehavior"]
    association = _one(default["lambdaFunctionAssociations"], "edge association")
    edge_fn = _one(inputs("aws:lambda/function:Function", "site-edge"), "edge function")
    edge_role = json.loads(
        _one(inputs("aws:iam/role:Role", "site-edge-role"), "edge role")["assumeRolePolicy"])
    dist_arn = "arn:aws:cloudfront::123456789012:site-distribution"  # the preview mocks' ARN
    statements = [st for p in inputs("aws:iam/rolePolicy:RolePolicy")
                  for st in json.loads(p["policy"])["Statement"]]
    cache_tags = {
        "header": dist["cacheTagConfig"]["headerName"],
        "invalidation": (len(inputs("aws:ssm/parameter:Parameter")),
                         len([st for st in statements if st["Action"] == "cloudfront:CreateInvalidation"]),
                         INVALIDATION_ENV in data_fn["environment"]["variables"]),
    }
    return {
        "cache_tags": cache_tags,
        "data_endpoint": {
            "reserved_concurrency": data_fn["reservedConcurrentExecutions"],
            "timeout": data_fn["timeout"], "memory": data_fn["memorySize"], "runtime": data_fn["runtime"],
            "handler": data_fn["handler"],
            "environment": {k: data_fn["environment"]["variables"][k] for k in DATA_ENV},
            "url_auth_type": _one(inputs("aws:lambda/functionUrl:FunctionUrl"), "URL")["authorizationType"],
        },
        "origin_access_control": (oac["originAccessControlOriginType"], oac["signingBehavior"],
                                  oac["signingProtocol"]),
        "permissions": sorted((p["action"], p["principal"], p.get("invokedViaFunctionUrl", False),
                               p["sourceArn"] == dist_arn)
                              for p in inputs("aws:lambda/permission:Permission")),
        "cache_policy": {"ttl": (policy["minTtl"], policy["defaultTtl"], policy["maxTtl"]),
                         "query_strings": (key["queryStringsConfig"]["queryStringBehavior"],
                                           key["queryStringsConfig"].get("queryStrings", {})
                                           .get("items", [])),
                         "headers": key["headersConfig"]["headerBehavior"],
                         "cookies": key["cookiesConfig"]["cookieBehavior"],
                         "compression": (key["enableAcceptEncodingGzip"], key["enableAcceptEncodingBrotli"])},
        "origin": (origin["customOriginConfig"]["originProtocolPolicy"],
                   origin["customOriginConfig"]["originSslProtocols"],
                   origin["customOriginConfig"]["originReadTimeout"]),
        "data_behaviour": {"path": data["pathPattern"], "allowed": _methods(data["allowedMethods"]),
                           "cached": _methods(data["cachedMethods"]),
                           "origin_request_policy": (
                               orp["queryStringsConfig"]["queryStringBehavior"],
                               orp["queryStringsConfig"].get("queryStrings", {}).get("items", []),
                               orp["headersConfig"]["headerBehavior"],
                               orp["headersConfig"]["headers"]["items"],
                               orp["cookiesConfig"]["cookieBehavior"]),
                           "viewer": data["viewerProtocolPolicy"], "compress": data["compress"]},
        "default_behaviour": {"allowed": _methods(default["allowedMethods"]),
                              "cache_policy": default["cachePolicyId"],
                              "origin_request_policy": default.get("originRequestPolicyId"),
                              "viewer": default["viewerProtocolPolicy"],
                              "trigger": association["eventType"],
                              "include_body": association.get("includeBody", False)},
        "error_caching": sorted((e["errorCode"], e["errorCachingMinTtl"])
                                for e in dist["customErrorResponses"]),
        "distribution": {"http": dist["httpVersion"], "price_class": dist["priceClass"],
                         "ipv6": dist["isIpv6Enabled"], "log_prefix": dist["loggingConfig"]["prefix"],
                         "default_certificate": (dist["viewerCertificate"]
                                                 == {"cloudfrontDefaultCertificate": True})},
        "edge_function": {"runtime": edge_fn["runtime"], "handler": edge_fn["handler"],
                          "memory": edge_fn["memorySize"], "timeout": edge_fn["timeout"],
                          "forbidden": sorted({"environment", "vpcConfig", "layers"} & set(edge_fn)),
                          "trusted_by": sorted(_services(edge_role))},
    }


def test_cdk_and_pulumi_make_the_same_edge_decisions(synth: Callable[..., Any]) -> None:
    assembly = synth(("Edge",))
    cdk_side = cdk_decisions(template_of(assembly, "Edge"), template_of(assembly, "Edge-us-east-1"))
    pulumi_side = pulumi_decisions(render("edge", {}))
    assert cdk_side == pulumi_side
    # And they are the decisions the issue asks for.
    assert cdk_side["data_endpoint"]["reserved_concurrency"] == 71
    assert cdk_side["data_endpoint"]["url_auth_type"] == "AWS_IAM"
    assert cdk_side["permissions"] == [
        ("lambda:InvokeFunction", "cloudfront.amazonaws.com", True, True),
        ("lambda:InvokeFunctionUrl", "cloudfront.amazonaws.com", False, True)]
    assert cdk_side["cache_policy"]["ttl"] == (0, 0, 31_536_000)
    assert cdk_side["cache_policy"]["query_strings"] == ("whitelist", ["id", "limit"])
    assert (cdk_side["cache_policy"]["headers"], cdk_side["cache_policy"]["cookies"]) == ("none", "none")
    assert cdk_side["default_behaviour"]["trigger"] == "viewer-request"
    assert cdk_side["edge_function"]["forbidden"] == []
    # read-only edge catalog in both examples: the tag header, no invalidation wiring
    assert cdk_side["cache_tags"] == {"header": "x-dp-cache-tags", "invalidation": (0, 0, False)}


def test_edge_logs_and_destroy_behaviour_match(synth: Callable[..., Any]) -> None:
    """The function's us-east-1 log group (retention, kept on destroy) and the access-log bucket
    (expiry, kept on destroy) are decided alike (issue 11: Pulumi had no such log group)."""
    assembly = synth(("Edge",))
    support = template_of(assembly, "Edge-us-east-1")["Resources"]
    (cdk_group,) = [r for r in support.values() if r["Type"] == "AWS::Logs::LogGroup"]
    site = template_of(assembly, "Edge")["Resources"]
    (cdk_bucket,) = [r for r in site.values() if r["Type"] == "AWS::S3::Bucket"]
    (rule,) = cdk_bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    cdk_side = {"log_retention_days": cdk_group["Properties"]["RetentionInDays"],
                "log_group_kept": cdk_group.get("DeletionPolicy") == "Retain",
                "bucket_expiry_days": rule["ExpirationInDays"],
                "bucket_kept": cdk_bucket.get("DeletionPolicy") == "Retain"}

    preview = render_stack("edge", {})
    (group,) = [r for r in preview.resources
                if r["type"] == "aws:cloudwatch/logGroup:LogGroup" and r["parent"] == "site"]
    (lifecycle,) = [r["inputs"] for r in preview.resources
                    if r["type"] == "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
                    and r["parent"] == "site"]
    pulumi_side = {"log_retention_days": group["inputs"]["retentionInDays"],
                   "log_group_kept": preview.options[group["name"]]["retainOnDelete"],
                   "bucket_expiry_days": lifecycle["rules"][0]["expiration"]["days"],
                   "bucket_kept": preview.options["site-logs"]["retainOnDelete"]}
    assert cdk_side == pulumi_side == {"log_retention_days": EDGE_FUNCTION_LOG_RETENTION_DAYS,
                                       "log_group_kept": True,
                                       "bucket_expiry_days": ACCESS_LOG_EXPIRATION_DAYS, "bucket_kept": True}
    assert group["inputs"]["region"] == "us-east-1"

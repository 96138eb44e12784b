"""The CDK templates (``Edge`` + ``Edge-us-east-1``) and the Pulumi ``edge`` graph: the data endpoint's
side of the edge (its decisions belong to ``DataEndpoint``) is decided alike.

Each side is read independently (CloudFormation properties vs pulumi-aws inputs)
into one shape: data endpoint concurrency and function settings, URL auth type,
origin access control, CloudFront's invoke permissions, cache tags (the
distribution's tag header, the distribution id's SSM parameter, the invalidation
grant's scope), and the edge function's log group kept on destroy. Every decision
``EdgeFunction`` makes (behaviours, policies, TTLs, error caching, distribution,
log bucket, the Lambda@Edge function, WAF) is compared in full, plan against both
renderings, by tests/test_parity_edge.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conftest import template_of

from deploy_paradigms.pulumi.preview import render, render_stack
from tests.test_edge_pulumi import DISTRIBUTION_ARN

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
    oac = _one(props("AWS::CloudFront::OriginAccessControl"), "OAC")["OriginAccessControlConfig"]
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
    }


def pulumi_decisions(records: list[dict[str, Any]]) -> dict[str, Any]:
    def inputs(rtype: str, name: str | None = None) -> list[dict[str, Any]]:
        return [r["inputs"] for r in records if r["type"] == rtype and (name is None or r["name"] == name)]

    data_fn = _one(inputs("aws:lambda/function:Function", "data-fn-function"), "data endpoint function")
    dist = _one(inputs("aws:cloudfront/distribution:Distribution"), "distribution")
    oac = _one(inputs("aws:cloudfront/originAccessControl:OriginAccessControl"), "OAC")
    dist_arn = DISTRIBUTION_ARN  # what the mock engine answers for site-distribution
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
    # read-only edge catalog in both examples: the tag header, no invalidation wiring
    assert cdk_side["cache_tags"] == {"header": "x-dp-cache-tags", "invalidation": (0, 0, False)}


def test_edge_function_log_group_is_kept_on_destroy_alike(synth: Callable[..., Any]) -> None:
    """The function's us-east-1 log group is kept on destroy in both (issue 11: Pulumi had no such
    log group); its retention and the access-log bucket are compared in tests/test_parity_edge.py."""
    assembly = synth(("Edge",))
    support = template_of(assembly, "Edge-us-east-1")["Resources"]
    (cdk_group,) = [r for r in support.values() if r["Type"] == "AWS::Logs::LogGroup"]
    preview = render_stack("edge", {})
    (group,) = [r for r in preview.resources
                if r["type"] == "aws:cloudwatch/logGroup:LogGroup" and r["parent"] == "site"]
    assert cdk_group.get("DeletionPolicy") == "Retain"
    assert preview.options[group["name"]]["retainOnDelete"] is True

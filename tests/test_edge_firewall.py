"""``EdgeFunction(rate_limit=...)``: a WAF web ACL with a rate-based rule, CDK and Pulumi alike.

A CloudFront web ACL (scope CLOUDFRONT) must live in us-east-1. CDK: in the
us-east-1 support stack, its ARN read back through an SSM parameter by the
reader ``cloudfront.experimental.EdgeFunction`` already uses, or in place when
the stack is in us-east-1. Pulumi: ``region="us-east-1"`` on the resource.
The synthesized templates go through cdk-nag (as a validation plugin, like the
example app) and cfn-lint; AWS WAF's limits (from the AWS::WAFv2::WebACL schema
cfn-lint ships) are checked against the plan's.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudfront_origins as origins
from cdk_nag import AwsSolutionsChecks
from conftest import cdk_json_context, template_of
from test_edge_pulumi import edge_args, find, run_program

from deploy_paradigms import packaging
from deploy_paradigms.budget import BudgetError, InputError
from deploy_paradigms.cdk.edge_function import EdgeFunction as CdkEdgeFunction
from deploy_paradigms.plans.edge import (
    RATE_LIMIT_MAX,
    RATE_LIMIT_MIN,
    RATE_LIMIT_WINDOWS_S,
    FirewallPlan,
    RateLimit,
    plan_firewall,
    web_acl_name,
)
from deploy_paradigms.pulumi.edge_function import EdgeFunction as PulumiEdgeFunction

ROOT = Path(__file__).resolve().parents[1]
EDGE_CODE = packaging.lambda_bundle("edge")
WEB_ACL = "AWS::WAFv2::WebACL"
READER = "Custom::CrossRegionStringParameterReader"


def _resources(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == rtype}


def _one(template: dict[str, Any], rtype: str) -> tuple[str, dict[str, Any]]:
    found = _resources(template, rtype)
    assert len(found) == 1, (rtype, sorted(found))
    ((key, value),) = found.items()
    return key, value["Properties"]


def _distribution(template: dict[str, Any]) -> dict[str, Any]:
    return _one(template, "AWS::CloudFront::Distribution")[1]["DistributionConfig"]  # type: ignore[no-any-return]


# -- the plan ---------------------------------------------------------------------------------------

def _plan(rate_limit: int | RateLimit, web_acl_id: str | None = None) -> FirewallPlan:
    plan = plan_firewall(rate_limit, web_acl_id=web_acl_id, name_parts=("Stack", "Site"))
    assert plan is not None
    return plan


def test_limits_are_aws_wafs() -> None:
    """The plan's bounds are the ones in the AWS::WAFv2::WebACL resource schema cfn-lint ships."""
    import cfnlint

    schemas = Path(cfnlint.__file__).parent / "data" / "schemas" / "resources"
    (schema,) = [d for f in schemas.glob("*.json")
                 if (d := json.loads(f.read_text())).get("typeName") == WEB_ACL]
    definitions = schema["definitions"]
    assert (definitions["RateLimit"]["minimum"], definitions["RateLimit"]["maximum"]) == (
        RATE_LIMIT_MIN, RATE_LIMIT_MAX) == (10, 2_000_000_000)
    assert tuple(definitions["EvaluationWindowSec"]["enum"]) == RATE_LIMIT_WINDOWS_S == (60, 120, 300, 600)
    assert _plan(RATE_LIMIT_MIN).limit == 10 and _plan(RATE_LIMIT_MAX).limit == 2_000_000_000


@pytest.mark.parametrize(("rate_limit", "message"), [
    (9, r"rate_limit=9 is outside 10-2000000000; AWS WAF counts 10 to 2,000,000,000 requests"),
    (2_000_000_001, r"rate_limit=2000000001 is outside 10-2000000000"),
    (True, r"rate_limit=True must be a whole number"),
    ("2000", r"rate_limit='2000' must be a whole number"),
    (RateLimit(2000, window_s=90), r"rate_limit window_s=90 is not an AWS WAF evaluation window; use one of "
                                   r"60, 120, 300, 600 seconds"),
    (RateLimit(2000, scope="reads"), r"rate_limit scope='reads' is not one of 'all', 'writes', 'data'"),
])
def test_bad_rate_limits_are_input_errors(rate_limit: Any, message: str) -> None:
    with pytest.raises(InputError, match=message) as raised:
        _plan(rate_limit)
    assert not isinstance(raised.value, BudgetError)


def test_rate_limit_and_own_web_acl_are_exclusive() -> None:
    with pytest.raises(InputError, match=r"rate_limit and web_acl_id together: a distribution has one web "
                                         r"ACL") as raised:
        _plan(2000, web_acl_id="arn:aws:wafv2:us-east-1:123456789012:global/webacl/mine/0")
    assert not isinstance(raised.value, BudgetError)
    assert plan_firewall(None, web_acl_id="arn:x", name_parts=("a",)) is None


def test_a_number_means_per_five_minutes_per_ip_and_blocks_with_429() -> None:
    plan = _plan(2000)
    assert (plan.limit, plan.window_s, plan.scope_down, plan.scope, plan.region) == (
        2000, 300, "all", "CLOUDFRONT", "us-east-1")
    (rule,) = plan.rules
    assert rule["Statement"] == {"RateBasedStatement": {"Limit": 2000, "EvaluationWindowSec": 300,
                                                        "AggregateKeyType": "IP"}}
    assert rule["Action"] == {"Block": {"CustomResponse": {
        "ResponseCode": 429, "ResponseHeaders": [{"Name": "retry-after", "Value": "300"}]}}}
    assert rule["VisibilityConfig"] == {"CloudWatchMetricsEnabled": True,
                                        "MetricName": "Stack-Site-rate-limit", "SampledRequestsEnabled": True}
    assert plan.default_action == {"Allow": {}}


def _matches(statement: dict[str, Any], method: str, path: str) -> bool:
    """WAF's evaluation of the statements the plan uses (ByteMatch on Method/UriPath, Or)."""
    if "OrStatement" in statement:
        return any(_matches(s, method, path) for s in statement["OrStatement"]["Statements"])
    match = statement["ByteMatchStatement"]
    assert match["TextTransformations"] == [{"Priority": 0, "Type": "NONE"}]
    value = method if "Method" in match["FieldToMatch"] else path
    wanted = match["SearchString"]
    return bool(value == wanted if match["PositionalConstraint"] == "EXACTLY" else value.startswith(wanted))


@pytest.mark.parametrize(("scope", "counted"), [
    ("writes", {("POST", "/data/create_post"), ("PUT", "/x"), ("DELETE", "/data/x"), ("PATCH", "/")}),
    ("data", {("GET", "/data/recent_posts"), ("POST", "/data/create_post"), ("DELETE", "/data/x")}),
])
def test_scope_down_counts_only_what_it_names(scope: str, counted: set[tuple[str, str]]) -> None:
    statement = _plan(RateLimit(100, window_s=60, scope=scope)).rules[0]["Statement"]["RateBasedStatement"]
    requests = {(m, p) for m in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH")
                for p in ("/", "/x", "/data/recent_posts", "/data/create_post", "/data/x", "/datax")}
    got = {r for r in requests if _matches(statement["ScopeDownStatement"], *r)}
    assert got >= counted
    if scope == "writes":
        assert {m for m, _ in got} == {"DELETE", "PATCH", "POST", "PUT"}
    else:
        assert {p for _, p in got} == {"/data/recent_posts", "/data/create_post", "/data/x"}


def test_web_acl_names_follow_wafs_rule() -> None:
    long = web_acl_name("Stack", *["Nested" * 5] * 10)
    assert len(long) + len("-rate-limit") <= 128 and long != web_acl_name("Stack", *["Nested" * 5] * 11)
    for name in (web_acl_name("my stack", "a/b.c"), long):
        assert all(c.isalnum() or c in "-_" for c in name), name


# -- CDK ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cdk_side(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A stack in eu-west-1 (web ACL in its us-east-1 support stack) and one in us-east-1 (in place),
    synthesized with cdk-nag as a validation plugin, as the example app is."""
    outdir = tmp_path_factory.mktemp("waf-cdk")
    app = cdk.App(outdir=str(outdir), context=cdk_json_context(), analytics_reporting=False,
                  builtin_cloud_formation_validation=False)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    west = cdk.Stack(app, "West", env=cdk.Environment(region="eu-west-1"))
    west_site = CdkEdgeFunction(west, "Site", code_path=EDGE_CODE, handler=packaging.EDGE_HANDLER,
                                default_origin=origins.HttpOrigin("example.com"),
                                rate_limit=RateLimit(100, window_s=60, scope="writes"))
    east = cdk.Stack(app, "East", env=cdk.Environment(region="us-east-1"))
    east_site = CdkEdgeFunction(east, "Site", code_path=EDGE_CODE, handler=packaging.EDGE_HANDLER,
                                default_origin=origins.HttpOrigin("example.com"), rate_limit=2000)
    assembly = app.synth()
    return SimpleNamespace(assembly=assembly, outdir=outdir, west_site=west_site, east_site=east_site,
                           west=template_of(assembly, "West"),
                           support=template_of(assembly, "West-us-east-1"),
                           east=template_of(assembly, "East"))


def test_cdk_web_acl_lives_in_us_east_1_with_the_plans_rule(cdk_side: SimpleNamespace) -> None:
    plan = cdk_side.west_site.firewall_plan
    assert cdk_side.assembly.get_stack_by_name("West-us-east-1").environment.region == "us-east-1"
    assert not _resources(cdk_side.west, WEB_ACL)
    _, acl = _one(cdk_side.support, WEB_ACL)
    assert acl["Scope"] == "CLOUDFRONT" and acl["Name"] == plan.name == "West-Site"
    assert acl["DefaultAction"] == {"Allow": {}}
    assert acl["VisibilityConfig"] == {"CloudWatchMetricsEnabled": True, "MetricName": "West-Site",
                                       "SampledRequestsEnabled": True}
    (rule,) = acl["Rules"]
    rate = rule["Statement"]["RateBasedStatement"]
    assert (rate["Limit"], rate["EvaluationWindowSec"], rate["AggregateKeyType"]) == (100, 60, "IP")
    methods = rate["ScopeDownStatement"]["OrStatement"]["Statements"]
    assert {s["ByteMatchStatement"]["SearchString"] for s in methods} == {"DELETE", "PATCH", "POST", "PUT"}
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    assert acl["Rules"] == plan.rules


def test_cdk_distribution_reads_the_arn_across_regions(cdk_side: SimpleNamespace) -> None:
    acl_id, _ = _one(cdk_side.support, WEB_ACL)
    (parameter,) = [p["Properties"] for p in _resources(cdk_side.support, "AWS::SSM::Parameter").values()
                    if p["Properties"]["Name"].endswith("/web-acl-arn")]
    assert parameter["Value"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    readers = {k: v["Properties"] for k, v in _resources(cdk_side.west, READER).items()
               if v["Properties"]["ParameterName"] == parameter["Name"]}
    ((reader_id, reader),) = readers.items()
    assert reader["Region"] == "us-east-1"
    assert reader["RefreshToken"] == cdk_side.west_site.firewall_plan.digest
    assert _distribution(cdk_side.west)["WebACLId"] == {"Fn::GetAtt": [reader_id, "FunctionArn"]}
    # The reader may read that one parameter (and the function ARNs it was made for), nothing else.
    role = next(v["Properties"] for k, v in _resources(cdk_side.west, "AWS::IAM::Role").items()
                if k.startswith("CustomCrossRegionStringParameterReader"))
    resources = [json.dumps(st["Resource"])
                 for p in role["Policies"] for st in p["PolicyDocument"]["Statement"]]
    assert sorted(r.split("parameter")[-1].strip('"]}') for r in resources) == sorted(
        ["/cdk/EdgeFunctionArn/*", parameter["Name"]])


def test_cdk_stack_in_us_east_1_holds_its_web_acl(cdk_side: SimpleNamespace) -> None:
    acl_id, acl = _one(cdk_side.east, WEB_ACL)
    assert acl["Scope"] == "CLOUDFRONT" and acl["Rules"] == cdk_side.east_site.firewall_plan.rules
    assert _distribution(cdk_side.east)["WebACLId"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert not _resources(cdk_side.east, READER)


def test_cdk_nag_and_cfn_lint_pass_over_the_firewall_templates(cdk_side: SimpleNamespace) -> None:
    report = json.loads((cdk_side.outdir / "validation-report.json").read_text())
    (nag,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    assert nag["conclusion"] == "success" and nag["violations"] == []
    # With a web ACL on the distribution there is nothing to acknowledge about WAF.
    assert not [s for s in nag.get("suppressedViolations", []) if "CFR2" in s["acknowledgedId"]]
    templates = [cdk_side.assembly.get_stack_by_name(n).template_full_path
                 for n in ("West", "West-us-east-1", "East")]
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "cfn-lint"), "--format", "parseable", *templates],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_cdk_refuses_rate_limit_with_an_own_web_acl() -> None:
    app = cdk.App(analytics_reporting=False)
    stack = cdk.Stack(app, "Refused", env=cdk.Environment(region="eu-west-1"))
    with pytest.raises(InputError, match="rate_limit and web_acl_id together"):
        CdkEdgeFunction(stack, "Site", code_path=EDGE_CODE, handler=packaging.EDGE_HANDLER,
                        default_origin=origins.HttpOrigin("example.com"), rate_limit=2000,
                        web_acl_id="arn:aws:wafv2:us-east-1:123456789012:global/webacl/mine/0")


# -- Pulumi -------------------------------------------------------------------------------------------

def test_pulumi_web_acl_in_us_east_1_on_the_distribution() -> None:
    site, records, providers = run_program(lambda: PulumiEdgeFunction("site", edge_args(
        rate_limit=RateLimit(100, window_s=60, scope="writes"))))
    (acl,) = find(records, "aws:wafv2/webAcl:WebAcl")
    inputs = acl["inputs"]
    assert inputs["region"] == "us-east-1" and inputs["scope"] == "CLOUDFRONT"
    assert providers[acl["name"]] == ""  # the stack's provider, with the region set on the resource
    assert inputs["defaultAction"] == {"allow": {}}
    plan = site.firewall_plan
    assert inputs["visibilityConfig"] == {"cloudwatchMetricsEnabled": True, "metricName": plan.name,
                                          "sampledRequestsEnabled": True}
    assert json.loads(inputs["ruleJson"]) == site.firewall_plan.rules
    assert site.firewall_plan.name == "deploy-paradigms-preview-site"
    (dist,) = find(records, "aws:cloudfront/distribution:Distribution")
    # A CloudFront web ACL's ARN, as WAF answers it (the mock engine's): global scope, in us-east-1.
    arn = r"arn:aws:wafv2:us-east-1:\d{12}:global/webacl/deploy-paradigms-preview-site/[0-9a-f-]{36}"
    assert re.fullmatch(arn, dist["inputs"]["webAclId"])


def test_pulumi_without_rate_limit_has_no_web_acl() -> None:
    site, records, _ = run_program(lambda: PulumiEdgeFunction("site", edge_args()))
    assert site.firewall_plan is None and not find(records, "aws:wafv2/webAcl:WebAcl")


def test_pulumi_refuses_rate_limit_with_an_own_web_acl() -> None:
    with pytest.raises(InputError, match="rate_limit and web_acl_id together"):
        run_program(lambda: PulumiEdgeFunction("site", edge_args(rate_limit=2000, web_acl_id="arn:x")))

"""Pulumi programs the real engine accepts (issue 11): what the mocks used to let through.

Each test names the engine (or AWS API) rule it encodes; the options the engine acts on
(``dependsOn``, ``ignoreChanges``, ``retainOnDelete``, the provider) are read from the
preview's recording monitor, as the engine would receive them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pulumi_aws as aws
import pytest
from hypothesis import given
from hypothesis import strategies as st

from deploy_paradigms import packaging
from deploy_paradigms.budget import BudgetError, InputError
from deploy_paradigms.catalog import sample_catalog
from deploy_paradigms.plans.names import RDS_PROXY_NAME, RDS_PROXY_NAME_MAX, rds_proxy_name
from deploy_paradigms.pulumi.container_service import ContainerService, ContainerServiceArgs
from deploy_paradigms.pulumi.data_endpoint import DataEndpoint, DataEndpointArgs
from deploy_paradigms.pulumi.database import Database, DatabaseArgs
from deploy_paradigms.pulumi.edge_function import EdgeFunction, EdgeFunctionArgs
from deploy_paradigms.pulumi.network import Network, NetworkArgs
from deploy_paradigms.pulumi.preview import Preview, render_program, render_stack
from deploy_paradigms.pulumi.program import PROJECT
from deploy_paradigms.pulumi.serverless_function import ServerlessFunction, ServerlessFunctionArgs

Records = list[dict[str, Any]]
# RDS Proxy ARN as RDS returns it (RDS user guide, "Amazon Resource Names for RDS Proxy").
PROXY_ARN = re.compile(r"^arn:aws:rds:[a-z0-9-]+:\d{12}:db-proxy:prx-[0-9a-f]{17}$")


def program(build: Callable[[], Any], **config: str) -> Preview:
    return render_program(build, config)


def only(preview: Preview, rtype: str, name: str | None = None) -> dict[str, Any]:
    found = [r for r in preview.resources if r["type"] == rtype and (name is None or r["name"] == name)]
    assert len(found) == 1, (rtype, name, [r["name"] for r in found])
    return found[0]


def of_type(preview: Preview, rtype: str) -> Records:
    return [r for r in preview.resources if r["type"] == rtype]


def database(**kwargs: Any) -> Database:
    return Database("db", DatabaseArgs(network=Network("net"), **{"instance_class": "db.m5.large", **kwargs}))


def endpoint(signing: str) -> DataEndpoint:
    return DataEndpoint("data", DataEndpointArgs(database=database(), catalog=sample_catalog(),
                                                 signing=signing))


def edge(**kwargs: Any) -> EdgeFunction:
    return EdgeFunction("site", EdgeFunctionArgs(
        code_path=packaging.lambda_bundle("edge"), handler=packaging.EDGE_HANDLER,
        default_origin=aws.cloudfront.DistributionOriginArgs(origin_id="web", domain_name="example.com"),
        **kwargs))


# -- function URL with auth NONE: a resource policy, or every request is a 403 ---------------------

def test_hmac_function_url_gets_the_two_public_invoke_permissions() -> None:
    preview = program(lambda: endpoint("hmac"))
    url = only(preview, "aws:lambda/functionUrl:FunctionUrl")["inputs"]
    assert url["authorizationType"] == "NONE"
    permissions = sorted((r["inputs"] for r in of_type(preview, "aws:lambda/permission:Permission")),
                         key=lambda p: p["action"])
    assert permissions == [
        {"action": "lambda:InvokeFunction", "function": url["functionName"], "invokedViaFunctionUrl": True,
         "principal": "*"},
        {"action": "lambda:InvokeFunctionUrl", "function": url["functionName"],
         "functionUrlAuthType": "NONE", "principal": "*"},
    ]


def test_iam_function_url_is_not_opened_to_everyone() -> None:
    preview = program(lambda: endpoint("cloudfront"))
    permissions = of_type(preview, "aws:lambda/permission:Permission")
    assert not [r for r in permissions if r["inputs"]["principal"] == "*"]


# -- CloudFront and its log bucket --------------------------------------------------------------------

def test_distribution_waits_for_the_log_buckets_ownership_controls() -> None:
    preview = program(edge)
    ownership = only(preview, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership["name"] in preview.options["site-distribution"]["dependsOn"]


def test_distribution_logs_to_the_buckets_domain_name_as_s3_answers_it() -> None:
    preview = program(edge)
    logging = only(preview, "aws:cloudfront/distribution:Distribution")["inputs"]["loggingConfig"]
    assert re.fullmatch(r"site-logs-[0-9a-f]{7}\.s3\.amazonaws\.com", logging["bucket"]), logging


def test_destroy_retains_the_log_bucket_and_the_replicated_edge_function() -> None:
    preview = program(edge)
    bucket_children = [r["name"] for r in preview.resources if r["name"].startswith("site-logs")]
    assert {"site-logs", "site-logs-public-access", "site-logs-ownership", "site-logs-encryption",
            "site-logs-lifecycle", "site-logs-tls-only"} <= set(bucket_children), bucket_children
    assert all(preview.options[name]["retainOnDelete"] for name in bucket_children)
    assert only(preview, "aws:s3/bucket:Bucket")["inputs"]["forceDestroy"] is False
    assert preview.options["site-edge"]["retainOnDelete"] is True
    assert preview.options["site-distribution"]["retainOnDelete"] is False


# -- us-east-1 without a second, unconfigured provider ------------------------------------------------

def test_edge_function_inherits_the_stacks_provider_with_a_region() -> None:
    preview = program(edge)
    assert not of_type(preview, "pulumi:providers:aws")
    function = only(preview, "aws:lambda/function:Function", "site-edge")
    assert function["inputs"]["region"] == "us-east-1"
    assert preview.options["site-edge"]["provider"] is None
    assert preview.options["site-edge-role"]["provider"] is None


def test_an_edge_provider_is_an_override() -> None:
    def build() -> EdgeFunction:
        return edge(edge_provider=aws.Provider("mine", region="us-east-1", profile="edge"))

    preview = program(build)
    assert "region" not in only(preview, "aws:lambda/function:Function", "site-edge")["inputs"]
    assert preview.options["site-edge"]["provider"] == "mine"
    assert preview.options["site-edge-role"]["provider"] == "mine"
    assert preview.options["site-distribution"]["provider"] is None


# -- RDS Proxy names --------------------------------------------------------------------------------

def test_proxy_name_carries_project_stack_and_component() -> None:
    preview = program(lambda: ServerlessFunction("api", ServerlessFunctionArgs(
        database=database(), code=packaging_code(), handler="index.handler")))
    name = only(preview, "aws:rds/proxy:Proxy")["inputs"]["name"]
    assert name == f"{PROJECT}-preview-api-proxy"
    assert RDS_PROXY_NAME.fullmatch(name) and len(name) <= RDS_PROXY_NAME_MAX


def packaging_code() -> Any:
    import pulumi

    return pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(e, c):\n    return None\n")})


def test_same_stack_in_two_projects_gets_two_proxy_names() -> None:
    assert rds_proxy_name("shop", "dev", "api") != rds_proxy_name("blog", "dev", "api")
    long = "x" * 80
    assert rds_proxy_name("shop", "dev", long) != rds_proxy_name("blog", "dev", long)


@given(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80))
def test_proxy_names_obey_rds_proxy_naming_rule(project: str, stack: str, component: str) -> None:
    name = rds_proxy_name(project, stack, component)
    assert len(name) <= RDS_PROXY_NAME_MAX
    assert RDS_PROXY_NAME.fullmatch(name), name


def test_the_encoded_rule_refuses_what_rds_refuses() -> None:
    for bad in ("1proxy", "my--proxy", "proxy-", "my_proxy", "", "a" * 61):
        assert not (RDS_PROXY_NAME.fullmatch(bad) and len(bad) <= RDS_PROXY_NAME_MAX), bad


# -- engine-version drift -----------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "resource", "ignored"), [
    ({}, "db-instance", False),  # the major line only: RDS takes it as a prefix
    ({"engine_version": "17.4"}, "db-instance", True),  # a minor, with automatic minor upgrades on
    ({"engine": "aurora-postgresql", "instance_class": "db.r6g.large"}, "db-cluster", True),
])
def test_engine_version_drift_after_automatic_minor_upgrades_is_ignored(
        kwargs: dict[str, Any], resource: str, ignored: bool) -> None:
    preview = program(lambda: database(**kwargs))
    assert only(preview, "aws:rds/" + ("cluster:Cluster" if "cluster" in resource else "instance:Instance"))
    assert ("engineVersion" in preview.options[resource]["ignoreChanges"]) is ignored


# -- realistic mocks ------------------------------------------------------------------------------------

def test_proxy_arn_is_shaped_like_rds_answers_it() -> None:
    preview = program(lambda: ServerlessFunction("api", ServerlessFunctionArgs(
        database=database(), code=packaging_code(), handler="index.handler")))
    policies = [json.loads(r["inputs"]["policy"]) for r in of_type(preview, "aws:iam/rolePolicy:RolePolicy")]
    resources = json.dumps(policies)
    assert re.search(r"arn:aws:rds-db:us-east-1:123456789012:dbuser:prx-[0-9a-f]{17}/app_user", resources), \
        resources


def test_proxy_arn_format() -> None:
    from pulumi.runtime import mocks as pulumi_mocks

    from deploy_paradigms.pulumi.preview import PreviewMocks

    _, state = PreviewMocks("eu-west-1").new_resource(pulumi_mocks.MockResourceArgs(
        typ="aws:rds/proxy:Proxy", name="api-proxy", inputs={"name": "p-dev-api-proxy"}, provider="",
        resource_id="", custom=True))
    assert PROXY_ARN.fullmatch(state["arn"]), state["arn"]
    assert state["endpoint"].startswith("p-dev-api-proxy.proxy-")


def test_alb_access_logs_grant_the_log_delivery_service_in_every_region() -> None:
    # The Region's ELB account exists only in Regions opened before August 2022; the log-delivery
    # service principal works everywhere (tests/test_paas_plan.py renders the new Regions too).
    preview = render_stack("paas", {"aws:region": "eu-west-1"})
    policies = [r["inputs"]["policy"] for r in of_type(preview, "aws:s3/bucketPolicy:BucketPolicy")]
    assert any('"Service": "logdelivery.elasticloadbalancing.amazonaws.com"' in p for p in policies), policies
    assert not any("156460612806" in p for p in policies), policies


# -- enumerated inputs, validated at construction ---------------------------------------------------

def refusal(build: Callable[[], Any]) -> str:
    with pytest.raises(InputError) as caught:
        program(build)
    return str(caught.value)


@pytest.mark.parametrize(("build", "words"), [
    (lambda: ServerlessFunction("f", ServerlessFunctionArgs(
        database=database(), code=packaging_code(), handler="index.handler", runtime="python3.99")),
     ("runtime='python3.99'", "'python3.12'")),
    (lambda: ServerlessFunction("f", ServerlessFunctionArgs(
        database=database(), code=packaging_code(), handler="index.handler", architecture="sparc")),
     ("architecture='sparc'", "'arm64'", "'x86_64'")),
    (lambda: edge(price_class="PriceClass_999"),
     ("price_class='PriceClass_999'", "'PriceClass_100'", "'PriceClass_All'")),
    (lambda: ContainerService("web", ContainerServiceArgs(database=database(), image="")),
     ("image=''",)),
    (lambda: database(subnet_tier="public"), ("subnet_tier='public'", "'isolated'", "'private'")),
])
def test_enumerated_inputs_are_refused_naming_input_value_and_choices(
        build: Callable[[], Any], words: tuple[str, ...]) -> None:
    message = refusal(build)
    for word in words:
        assert word in message, message


def test_input_errors_are_not_budget_errors() -> None:
    with pytest.raises(InputError) as caught:
        program(lambda: Network("net", NetworkArgs(cidr_block="10.0.0.0/8")))
    assert not isinstance(caught.value, BudgetError)

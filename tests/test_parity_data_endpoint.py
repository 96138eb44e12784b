"""Full-decision parity of DataEndpoint (issue 11): CDK and Pulumi render the same plans.

The endpoint's own plan (:class:`~deploy_paradigms.plans.data_endpoint.DataEndpointPlan`) and the
plan of the function it runs on are read back from the CloudFormation template and from the
Pulumi mock resource graph, for two engines, two instance classes and the signing modes, and
both readbacks must equal the plans. Differences are in ``parity_readers.ALLOW_LIST`` and
:data:`ENDPOINT_ALLOW_LIST`, each with its reason.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from aws_cdk import assertions
from parity_readers import CfnReader, PulumiReader, by_logical_id, cdk_database, from_plan

from deploy_paradigms.catalog import sample_catalog
from deploy_paradigms.cdk.data_endpoint import DataEndpoint as CdkEndpoint
from deploy_paradigms.plans.data_endpoint import DataEndpointPlan
from deploy_paradigms.plans.serverless import FunctionOptions
from deploy_paradigms.pulumi.data_endpoint import DataEndpoint, DataEndpointArgs
from deploy_paradigms.pulumi.database import Database, DatabaseArgs
from deploy_paradigms.pulumi.network import Network
from deploy_paradigms.pulumi.preview import render_program
from deploy_paradigms.runtime import invalidation

#: Framework differences of the endpoint's own resources, each with its reason.
ENDPOINT_ALLOW_LIST = {
    "distribution_id_parameter_name": (
        "/deploy-paradigms/<stack>/<endpoint>/distribution-id in both (plans.data_endpoint); the stack part "
        "is the CloudFormation stack name or <project>-<stack>, the endpoint part aws-cdk's unique id or the "
        "component name: compared by shape"
    ),
    "hmac_key_generation": (
        "CDK asks CloudFormation to generate the key (GenerateSecretString: 64 characters, no punctuation, "
        "no space); Pulumi calls Secrets Manager's GetRandomPassword with the same arguments, an invoke the "
        "mock resource graph does not record. Compared: a key is generated, its description, and (CDK) "
        "the generator's arguments against the plan"
    ),
}
#: Endpoint plan fields and where they are read back; the rest say why not.
ENDPOINT_FIELDS = {
    "signing": "url.auth_type, environment (HMAC key ARN)",
    "response_size_limit_bytes": "environment",
    "bootstrap_schema": "environment",
    "distribution_id_parameter_name": "environment, statements (ssm-parameter)",
    "generate_hmac_key": "hmac_key.generated",
    "hmac_key_description": "hmac_key.description",
    "function": "function (runtime, timeout and every other option, through the function's plan)",
    "environment_values": "environment",
    "extra_environment": "environment",
    "statements": "statements",
    "https_egress": "security_rules",
    "url_permissions": "url.permissions",
}
ENDPOINT_NOT_RENDERED = {
    "label": "the construct path / component name: replaced by <label>",
    "catalog_has_cache_tags": "read by EdgeFunction for its distribution, not rendered by DataEndpoint",
    "cache_key_parameters": "read by EdgeFunction for its cache policy, not rendered by DataEndpoint",
}

CASES = [
    ("postgres", "db.t3.micro", "both", None),
    ("postgres", "db.m5.large", "hmac", None),
    ("mysql", "db.t3.micro", "cloudfront", None),
    ("mysql", "db.m5.large", "both", None),
    (
        "postgres",
        "db.m5.large",
        "hmac",
        FunctionOptions(
            memory_size=1024, timeout_s=20, connections=200, architecture="x86_64", log_retention_days=14
        ),
    ),
]
IDS = [f"{e}-{c}-{s}-{'options' if o else 'defaults'}" for e, c, s, o in CASES]


def render_cdk(
    engine: str, instance_class: str, signing: str, function: FunctionOptions | None
) -> tuple[CdkEndpoint, dict[str, Any]]:
    stack, db = cdk_database(engine, instance_class)
    endpoint = CdkEndpoint(
        stack,
        "Data",
        database=db,
        catalog=sample_catalog(engine),
        signing=signing,
        function=function,
        environment={"LOG_LEVEL": "info"},
    )
    return endpoint, assertions.Template.from_stack(stack).to_json()


def render_pulumi(
    engine: str, instance_class: str, signing: str, function: FunctionOptions | None
) -> tuple[DataEndpoint, list[dict[str, Any]]]:
    built: list[DataEndpoint] = []

    def program() -> None:
        db = Database(
            "db", DatabaseArgs(network=Network("net"), engine=engine, instance_class=instance_class)
        )
        built.append(
            DataEndpoint(
                "data",
                DataEndpointArgs(
                    database=db,
                    catalog=sample_catalog(engine),
                    signing=signing,
                    function=function,
                    environment={"LOG_LEVEL": "info"},
                ),
            )
        )

    records = by_logical_id(render_program(program))
    return built[0], records


def expected(endpoint: Any) -> dict[str, Any]:
    """The function's plan and the endpoint's, in the readers' shape."""
    plan: DataEndpointPlan = endpoint.endpoint_plan
    decided = from_plan(endpoint.function.function_plan, database_port=endpoint.function.database.port)
    statements = decided["statements"] + [[sorted(s.actions), s.resource] for s in plan.statements]
    rules = list(decided["security_rules"])
    if plan.https_egress is not None:
        rule = plan.https_egress
        rules.append(["egress", "function", rule.target, rule.port, rule.description])
    env = _hmac_env(decided["environment"])
    if plan.uses_hmac:
        env["DATA_ENDPOINT_HMAC_SECRET_ARN"] = "<hmac-secret-arn>"
    return {
        **decided,
        "statements": sorted(statements, key=json.dumps),
        "security_rules": sorted(rules, key=json.dumps),
        "environment": env,
        "url": {
            "auth_type": plan.signing.url_auth_type,
            "permissions": sorted(
                (p.action, p.principal, p.url_auth_type, p.via_function_url) for p in plan.url_permissions
            ),
        },
        "hmac_key": {
            "generated": plan.generate_hmac_key,
            "description": plan.hmac_key_description.replace(plan.label, "<endpoint>")
            if plan.generate_hmac_key
            else None,
        },
    }


def _hmac_env(env: dict[str, Any]) -> dict[str, Any]:
    """The key's ARN (a resource's value) and the parameter's name (each framework's stack and endpoint
    id, see ENDPOINT_ALLOW_LIST) as placeholders; the parameter's shape is checked."""
    out = {}
    for key, value in env.items():
        if key == "DATA_ENDPOINT_HMAC_SECRET_ARN":
            value = "<hmac-secret-arn>"
        elif key == invalidation.ENV_DISTRIBUTION_ID_PARAMETER:
            assert re.fullmatch(
                r"/deploy-paradigms/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/distribution-id", value
            ), value
            value = "<distribution-id-parameter>"
        out[key] = value
    return out


def read_cdk(endpoint: CdkEndpoint, template: dict[str, Any]) -> dict[str, Any]:
    read = CfnReader(template, prefix="DataFunction", label="Parity/Data/Function").read()
    res = template["Resources"]
    urls = [
        v["Properties"] for k, v in res.items() if v["Type"] == "AWS::Lambda::Url" and k.startswith("Data")
    ]
    (url,) = urls
    permissions = sorted(
        (p["Action"], p["Principal"], p.get("FunctionUrlAuthType"), p.get("InvokedViaFunctionUrl", False))
        for k, v in res.items()
        if v["Type"] == "AWS::Lambda::Permission" and k.startswith("Data")
        for p in [v["Properties"]]
    )
    secrets = [
        v["Properties"]
        for k, v in res.items()
        if v["Type"] == "AWS::SecretsManager::Secret" and k.startswith("DataHmacSecret")
    ]
    if secrets:  # the generator's arguments are the plan's
        assert secrets[0]["GenerateSecretString"] == {
            "ExcludePunctuation": True,
            "IncludeSpace": False,
            "PasswordLength": 64,
        }
    return {
        **read,
        "environment": _hmac_env(read["environment"]),
        "url": {"auth_type": url["AuthType"], "permissions": permissions},
        "hmac_key": {
            "generated": bool(secrets),
            "description": secrets[0]["Description"].replace("Parity/Data", "<endpoint>")
            if secrets
            else None,
        },
    }


def read_pulumi(records: list[dict[str, Any]]) -> dict[str, Any]:
    read = PulumiReader(records, name="data-fn").read()
    (url,) = [r["inputs"] for r in records if r["type"] == "aws:lambda/functionUrl:FunctionUrl"]
    permissions = sorted(
        (p["action"], p["principal"], p.get("functionUrlAuthType"), p.get("invokedViaFunctionUrl", False))
        for r in records
        if r["type"] == "aws:lambda/permission:Permission"
        for p in [r["inputs"]]
    )
    secrets = [
        r["inputs"]
        for r in records
        if r["type"] == "aws:secretsmanager/secret:Secret" and r["name"] == "data-hmac"
    ]
    return {
        **read,
        "environment": _hmac_env(read["environment"]),
        "url": {"auth_type": url["authorizationType"], "permissions": permissions},
        "hmac_key": {
            "generated": bool(secrets),
            "description": secrets[0]["description"].replace("data", "<endpoint>", 1) if secrets else None,
        },
    }


def test_every_endpoint_plan_field_is_read_back_or_says_why_not() -> None:
    names = {f.name for f in dataclasses.fields(DataEndpointPlan)}
    assert names == set(ENDPOINT_FIELDS) | set(ENDPOINT_NOT_RENDERED)
    assert all(reason.strip() for reason in ENDPOINT_ALLOW_LIST.values())


@pytest.mark.parametrize(("engine", "instance_class", "signing", "function"), CASES, ids=IDS)
def test_cdk_and_pulumi_render_every_decision_of_the_plans(
    engine: str, instance_class: str, signing: str, function: FunctionOptions | None
) -> None:
    cdk_endpoint, template = render_cdk(engine, instance_class, signing, function)
    pulumi_endpoint, records = render_pulumi(engine, instance_class, signing, function)
    planned = expected(cdk_endpoint)
    assert planned == expected(pulumi_endpoint)
    assert read_cdk(cdk_endpoint, template) == planned
    assert read_pulumi(records) == planned
    # the endpoint's own defaults reached the function
    assert planned["function"]["runtime"] == "python3.14"
    assert planned["function"]["timeout_s"] == (function.timeout_s if function and function.timeout_s else 15)
    assert (planned["url"]["auth_type"] == "NONE") == (signing == "hmac")

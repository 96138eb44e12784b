"""Full-decision parity of ServerlessFunction (issue 11): CDK and Pulumi render the same plan.

For two engines and two instance classes (and a variant with every option changed), the same
inputs are rendered by the CDK construct (CloudFormation, via ``aws_cdk.assertions.Template``)
and the Pulumi component (the repository's preview mocks). Every property the plan decides is
read back from both outputs (:mod:`parity_readers`), and both readbacks must equal the plan.
Framework differences are in ``parity_readers.ALLOW_LIST``, each with its reason.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from aws_cdk import assertions
from aws_cdk import aws_lambda as lambda_
from parity_readers import (
    ALLOW_LIST,
    CfnReader,
    PulumiReader,
    by_logical_id,
    cdk_database,
    check_field_maps,
    from_plan,
)

from deploy_paradigms.cdk.serverless_function import ServerlessFunction as CdkFunction
from deploy_paradigms.plans.serverless import FunctionOptions
from deploy_paradigms.pulumi.database import Database, DatabaseArgs
from deploy_paradigms.pulumi.network import Network
from deploy_paradigms.pulumi.preview import render_program
from deploy_paradigms.pulumi.serverless_function import ServerlessFunction, ServerlessFunctionArgs

HANDLER = "index.handler"
CASES = [
    ("postgres", "db.t3.micro", FunctionOptions()),
    ("postgres", "db.m5.large", FunctionOptions()),
    ("mysql", "db.t3.micro", FunctionOptions()),
    ("mysql", "db.m5.large", FunctionOptions()),
    # every option away from its default: secrets-only auth, x86, a larger function, other timeouts
    (
        "mysql",
        "db.m5.large",
        FunctionOptions(
            runtime="python3.13",
            architecture="x86_64",
            memory_size=1024,
            timeout_s=60,
            connections=300,
            reserved_concurrency=200,
            idle_client_timeout_s=300,
            borrow_timeout_s=20,
            iam_auth=False,
            db_user="app_admin",
            master_user_reason="runs migrations",
            log_retention_days=90,
        ),
    ),
    (
        "postgres",
        "db.m5.large",
        FunctionOptions(alarms=False, proxy_max_connections_percent=40, connections=400),
    ),
]
IDS = [
    f"{engine}-{cls}-{'defaults' if not o.given() else 'options'}-{i}"
    for i, (engine, cls, o) in enumerate(CASES)
]


def render_cdk(
    engine: str, instance_class: str, options: FunctionOptions
) -> tuple[CdkFunction, dict[str, Any]]:
    stack, db = cdk_database(engine, instance_class)
    fn = CdkFunction(
        stack,
        "Fn",
        database=db,
        code=lambda_.Code.from_inline("def handler(e, c): pass"),
        handler=HANDLER,
        options=options,
    )
    return fn, assertions.Template.from_stack(stack).to_json()


def render_pulumi(
    engine: str, instance_class: str, options: FunctionOptions
) -> tuple[ServerlessFunction, list[dict[str, Any]]]:
    built: list[ServerlessFunction] = []

    def program() -> None:
        db = Database(
            "db", DatabaseArgs(network=Network("net"), engine=engine, instance_class=instance_class)
        )
        built.append(
            ServerlessFunction(
                "fn",
                ServerlessFunctionArgs(
                    database=db,
                    handler=HANDLER,
                    options=options,
                    code=pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(e, c): pass\n")}),
                ),
            )
        )

    preview = render_program(program)
    return built[0], by_logical_id(preview)


def test_every_plan_field_is_read_back_or_says_why_not() -> None:
    check_field_maps()
    assert all(reason.strip() for reason in ALLOW_LIST.values())


@pytest.mark.parametrize(("engine", "instance_class", "options"), CASES, ids=IDS)
def test_cdk_and_pulumi_render_every_decision_of_the_plan(
    engine: str, instance_class: str, options: FunctionOptions
) -> None:
    cdk_fn, template = render_cdk(engine, instance_class, options)
    pulumi_fn, records = render_pulumi(engine, instance_class, options)
    port = cdk_fn.database.port
    planned = from_plan(cdk_fn.function_plan, database_port=port)
    # One plan: the two renderers planned the same (labels aside).
    assert planned == from_plan(pulumi_fn.function_plan, database_port=pulumi_fn.database.port)
    cdk_side = CfnReader(template, prefix="Fn", label="Parity/Fn").read()
    pulumi_side = PulumiReader(records, name="fn").read()
    assert cdk_side == planned
    assert pulumi_side == planned
    # The decisions the issue names, as plain numbers (not only "equal to each other").
    assert planned["function"]["reserved_concurrency"] == cdk_fn.plan.reserved_concurrency >= 1
    assert planned["environment"]["DATABASE_ENGINE"] == ("mysql" if engine == "mysql" else "postgres")
    assert planned["proxy"]["engine_family"] == ("MYSQL" if engine == "mysql" else "POSTGRESQL")


def test_the_readers_see_a_difference() -> None:
    """A reader that cannot fail proves nothing: a changed plan no longer matches the rendering."""
    cdk_fn, template = render_cdk("postgres", "db.t3.micro", FunctionOptions())
    planned = from_plan(cdk_fn.function_plan, database_port=cdk_fn.database.port)
    read = CfnReader(template, prefix="Fn", label="Parity/Fn").read()
    assert read == planned
    template["Resources"][
        next(
            k
            for k, v in template["Resources"].items()
            if v["Type"] == "AWS::Lambda::Function" and k.startswith("Fn")
        )
    ]["Properties"]["MemorySize"] = 1024
    assert CfnReader(template, prefix="Fn", label="Parity/Fn").read() != planned

"""``deploy_paradigms.cdk.BudgetGuard``: one line on a user's app, synth errors with construct paths.

One deliberately broken app (synthesized once) shows every finding: our own
constructs bent with escape hatches, and the user's own Lambda functions and ECS
service next to them. The examples pass the same plugin cleanly.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_

from deploy_paradigms import guard
from deploy_paradigms.budget import BudgetError
from deploy_paradigms.cdk import BudgetGuard
from deploy_paradigms.cdk.database import Database
from deploy_paradigms.cdk.serverless_function import ServerlessFunction

ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")


def _user_function(stack: cdk.Stack, id: str, vpc: ec2.IVpc, db: Database, **kwargs: Any) -> lambda_.Function:
    fn = lambda_.Function(stack, id, runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
                          code=INLINE, vpc=vpc, vpc_subnets=ISOLATED, **kwargs)
    db.allow_from(fn, f"{id} to the database")
    return fn


def broken_app(outdir: str) -> tuple[cdk.App, BudgetGuard]:
    """Every budget finding at once, plus one acknowledged on purpose."""
    app = cdk.App(outdir=outdir, analytics_reporting=False)
    stack = cdk.Stack(app, "Broken", env=cdk.Environment(region="eu-west-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    db = Database(stack, "Db", vpc=vpc)  # db.t3.micro: 76 usable connections

    # Our construct, bent with escape hatches: no reserved concurrency, the proxy's 1800 s default.
    api = ServerlessFunction(stack, "Api", database=db, code=INLINE, handler="index.handler", connections=30)
    fn_resource = api.function.node.default_child
    assert isinstance(fn_resource, lambda_.CfnFunction)
    fn_resource.add_property_deletion_override("ReservedConcurrentExecutions")
    proxy_resource = api.proxy.node.default_child
    assert isinstance(proxy_resource, cdk.CfnResource)
    proxy_resource.add_property_deletion_override("IdleClientTimeout")

    # The user's own function straight to the database: 40 x connection_limit 2 = 80.
    _user_function(stack, "Reports", vpc, db, reserved_concurrent_executions=40,
                   environment={"DATABASE_URL_PARAMS": "connection_limit=2"})
    # The user's own service: 10 max tasks x 200 % x pool 5 = 100.
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    task = ecs.FargateTaskDefinition(stack, "WorkerTask")
    image = ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/httpd")
    # ... and a Prisma 7 app: the URL's connection_limit is ignored by it.
    task.add_container("worker", image=image, environment={"DATABASE_URL_PARAMS": "connection_limit=5",
                                                           "PRISMA_VERSION": "7.10.1"})
    worker = ecs.FargateService(stack, "Worker", cluster=cluster, task_definition=task, desired_count=2,
                                vpc_subnets=ISOLATED)
    worker.auto_scale_task_count(max_capacity=10)
    db.allow_from(worker, "Worker to the database")

    # A finding accepted on purpose: acknowledged, so it does not fail synth.
    cron = _user_function(stack, "Cron", vpc, db)
    cdk.Validations.of(cron).acknowledge(cdk.Acknowledgment(
        id="BudgetGuard::lambda-reserved-concurrency",
        reason="runs once an hour from one EventBridge schedule, so one execution at a time"))
    return app, BudgetGuard.of(app)


@pytest.fixture(scope="module")
def broken() -> SimpleNamespace:
    outdir = tempfile.mkdtemp(prefix="cdk-out-broken-")
    app, plugin = broken_app(outdir)
    with pytest.raises(RuntimeError) as failure:
        app.synth()
    report = json.loads((Path(outdir) / "validation-report.json").read_text())
    (plugin_report,) = [r for r in report["pluginReports"] if r["pluginName"] == "BudgetGuard"]
    return SimpleNamespace(message=str(failure.value), report=plugin_report, findings=plugin.findings)


def _violations(report: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [v for v in report["violations"] if v["ruleName"] == rule]


def _paths(violation: dict[str, Any]) -> list[str]:
    return [c["constructPath"] for c in violation["violatingConstructs"]]


def test_synth_fails_with_each_finding_and_its_construct_path(broken: SimpleNamespace) -> None:
    assert broken.message.startswith("ValidationFailed")
    for rule in guard.BUDGET_RULES:
        assert f"Acknowledge with 'BudgetGuard::{rule.id}'" in broken.message, rule.id
    for path in ("Broken/Api/Resource/Resource (", "Broken/Db/Resource/Resource (",
                 "Broken/Api/Proxy/Resource (", "Broken/Worker/Service ("):
        assert path in broken.message
    assert broken.report["conclusion"] == "failure"


def test_lambda_without_reserved_concurrency(broken: SimpleNamespace) -> None:
    (violation,) = _violations(broken.report, "lambda-reserved-concurrency")
    assert _paths(violation) == ["Broken/Api/Resource/Resource"]
    assert ("reaches database Broken/Db/Resource/Resource (postgres db.t3.micro, 76 usable connections) "
            "through RDS Proxy Broken/Api/Proxy/Resource without reserved concurrency"
            ) in violation["description"]


def test_database_over_allocated(broken: SimpleNamespace) -> None:
    (violation,) = _violations(broken.report, "database-over-allocated")
    assert _paths(violation) == ["Broken/Db/Resource/Resource"]
    description = violation["description"]
    assert "over the 76 usable on postgres db.t3.micro" in description
    for share in ("Broken/Reports/Resource 80 (reserved concurrency 40 x pool 2)",
                  "Broken/Worker/Service 100 (10 max tasks x 200% during deploys = 20 tasks x pool 5)",
                  "Broken/Api/Proxy/Resource"):
        assert share in description


def test_proxy_idle_client_timeout(broken: SimpleNamespace) -> None:
    (violation,) = _violations(broken.report, "proxy-idle-client-timeout")
    assert _paths(violation) == ["Broken/Api/Proxy/Resource"]
    assert "left at the default (1800 s" in violation["description"]


def test_ecs_pool_exceeds_allocation(broken: SimpleNamespace) -> None:
    (violation,) = _violations(broken.report, "ecs-pool-exceeds-allocation")
    assert _paths(violation) == ["Broken/Worker/Service"]
    assert "= 100 connections, over its allocation of 76" in violation["description"]
    assert violation["suggestedFix"]


def test_acknowledged_finding_is_suppressed_with_its_reason(broken: SimpleNamespace) -> None:
    (suppressed,) = broken.report["suppressedViolations"]
    assert suppressed["ruleName"] == "lambda-reserved-concurrency"
    assert suppressed["violatingConstructs"][0]["constructPath"] == "Broken/Cron/Resource"
    assert "one execution at a time" in suppressed["reason"]
    assert len(broken.findings) == 6  # the five reported plus the acknowledged one


def test_the_examples_pass_the_plugin(synth: Callable[..., Any]) -> None:
    """The plugin's own validate() over every example template (no second synth)."""
    for stack in ("Serverless", "Paas", "Edge"):
        assembly = synth((stack,))
        context = SimpleNamespace(
            app_construct=cdk.App(), stack_templates=[
                SimpleNamespace(stack_construct_path=s.stack_name, template_path=s.template_full_path)
                for s in assembly.stacks])
        plugin = BudgetGuard(rules=guard.ALL_RULES)
        report = plugin.validate(context)  # duck-typed context: the two attributes validate() reads
        assert report.success, [str(f) for f in plugin.findings]


def test_of_registers_one_plugin_and_rules_are_explicit() -> None:
    plugin = BudgetGuard.of(cdk.App())
    assert plugin.name == "BudgetGuard" and plugin.rule_ids == [r.id for r in guard.BUDGET_RULES]
    with pytest.raises(BudgetError, match="rules is empty"):
        BudgetGuard(rules=())

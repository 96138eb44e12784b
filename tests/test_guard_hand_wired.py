"""BudgetGuard on apps wired by hand with plain aws-cdk-lib and pulumi-aws resources (issue 15).

No deploy-paradigms construct in these apps: an ``rds.DatabaseInstance`` (or
``aws.rds.Instance``), an RDS Proxy in front of it, and Lambda functions / an ECS
service that reach it. Each over-commitment below passed the guard before.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pulumi
import pulumi_aws as aws
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk.assertions import Template

from deploy_paradigms import guard
from deploy_paradigms.pulumi import mock_engine

INLINE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")
ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
ENGINES = {
    "postgres": rds.DatabaseInstanceEngine.postgres(version=rds.PostgresEngineVersion.VER_17_6),
    "mysql": rds.DatabaseInstanceEngine.mysql(version=rds.MysqlEngineVersion.VER_8_4_6),
}


def _hand_wired(engine: str, instance_type: str, reserved: tuple[int, ...],
                service_pool: int | None = None) -> dict[str, Any]:
    """A database, a proxy at the default 100 %, functions behind the proxy reserving ``reserved``,
    and optionally an ECS service straight to the database with ``service_pool`` per task."""
    app = cdk.App(analytics_reporting=False)
    stack = cdk.Stack(app, "HandWired", env=cdk.Environment(region="eu-west-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    db = rds.DatabaseInstance(stack, "Db", engine=ENGINES[engine], vpc=vpc, vpc_subnets=ISOLATED,
                              instance_type=ec2.InstanceType(instance_type))
    proxy = rds.DatabaseProxy(stack, "Proxy", proxy_target=rds.ProxyTarget.from_instance(db),
                              secrets=[db.secret] if db.secret else [], vpc=vpc, vpc_subnets=ISOLATED)
    for index, concurrency in enumerate(reserved):
        fn = lambda_.Function(stack, f"Fn{index}", runtime=lambda_.Runtime.PYTHON_3_12,
                              handler="index.handler",
                              code=INLINE, vpc=vpc, vpc_subnets=ISOLATED,
                              reserved_concurrent_executions=concurrency,
                              environment={"DATABASE_HOST": proxy.endpoint,
                                           "DATABASE_URL_PARAMS": "connection_limit=1"})
        proxy.connections.allow_from(fn, ec2.Port.tcp(5432 if engine == "postgres" else 3306))
    if service_pool is not None:
        task = ecs.FargateTaskDefinition(stack, "Task")
        task.add_container("web",
                           image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/httpd"),
                           environment={"DATABASE_URL": f"postgresql://db/app?connection_limit={service_pool}"})
        service = ecs.FargateService(stack, "Web", cluster=ecs.Cluster(stack, "Cluster", vpc=vpc),
                                     task_definition=task, vpc_subnets=ISOLATED)
        service.auto_scale_task_count(max_capacity=4)
        db.connections.allow_default_port_from(service)
    return Template.from_stack(stack).to_json()  # type: ignore[no-any-return]


def _rules(findings: list[guard.Finding]) -> set[str]:
    return {f.rule for f in findings}


@pytest.mark.parametrize(("engine", "instance_type", "reserved", "share"), [
    ("postgres", "t3.micro", 5000, 76),  # 5,000 behind a proxy on 76 usable connections
    ("mysql", "t3.micro", 800, 62),
    ("postgres", "m5.large", 900, 813),
])
def test_one_function_reserving_more_than_the_proxy_holds(engine: str, instance_type: str, reserved: int,
                                                          share: int) -> None:
    findings = guard.check_template(_hand_wired(engine, instance_type, (reserved,)), guard.BUDGET_RULES)
    (finding,) = [f for f in findings if f.rule == "proxy-clients-over-share"]
    assert f"clients can hold {reserved} connections through this proxy, over the {share}" in finding.message


def test_several_functions_on_one_proxy_add_up() -> None:
    findings = guard.check_template(_hand_wired("postgres", "t3.micro", (40, 40)), guard.BUDGET_RULES)
    (finding,) = [f for f in findings if f.rule == "proxy-clients-over-share"]
    assert "clients can hold 80 connections" in finding.message
    assert "Fn0" in finding.message and "Fn1" in finding.message
    # Within the share: no finding.
    assert "proxy-clients-over-share" not in _rules(
        guard.check_template(_hand_wired("postgres", "t3.micro", (30, 30)), guard.BUDGET_RULES))


def test_reserved_concurrency_over_the_account_is_flagged() -> None:
    findings = guard.check_template(_hand_wired("postgres", "m5.2xlarge", (800, 800)), guard.BUDGET_RULES)
    (finding,) = [f for f in findings if f.rule == "account-reserved-concurrency"]
    assert "reserve 1600 concurrent executions together, over the 900" in finding.message


def test_a_service_whose_pools_exceed_the_database() -> None:
    findings = guard.check_template(_hand_wired("postgres", "t3.micro", (10,), service_pool=20),
                                    guard.BUDGET_RULES)
    assert "ecs-pool-exceeds-allocation" in _rules(findings)  # 4 tasks x 200 % x 20 = 160 > 76


def test_pulumi_graph_with_a_hand_wired_proxy() -> None:
    def program() -> None:
        db = aws.rds.Instance("db", engine="postgres", instance_class="db.t3.micro", allocated_storage=20,
                              vpc_security_group_ids=["sg-db"])
        proxy_sg = aws.ec2.SecurityGroup("proxy-sg", vpc_id="vpc-1")
        proxy = aws.rds.Proxy("proxy", engine_family="POSTGRESQL", role_arn="arn:role",
                              vpc_subnet_ids=["a", "b"], vpc_security_group_ids=[proxy_sg.id],
                              auths=[aws.rds.ProxyAuthArgs(secret_arn="arn:secret")])
        group = aws.rds.ProxyDefaultTargetGroup("targets", db_proxy_name=proxy.name)
        aws.rds.ProxyTarget("target", db_proxy_name=proxy.name, target_group_name=group.name,
                            db_instance_identifier=db.identifier)
        for index in range(2):
            aws.lambda_.Function(f"fn{index}", role="arn:role", runtime="python3.12", handler="index.handler",
                                 code=pulumi.AssetArchive({}), reserved_concurrent_executions=600,
                                 environment=aws.lambda_.FunctionEnvironmentArgs(variables={
                                     "DATABASE_HOST": proxy.endpoint,
                                     "DATABASE_URL_PARAMS": "connection_limit=1"}))

    records = mock_engine.run_program(program).records_with_outputs()  # as `pulumi stack export` has them
    findings = guard.check_records(records, guard.BUDGET_RULES)
    assert {"proxy-clients-over-share", "account-reserved-concurrency"} <= _rules(findings)

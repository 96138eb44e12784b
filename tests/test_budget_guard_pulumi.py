"""``deploy_paradigms.pulumi.budget_guard``: the budget checks over a Pulumi stack's resources.

A deliberately broken program (plain pulumi-aws resources, run offline under the
preview mocks) shows every finding; the transform path records resources the
way ``register_resource_transform`` hands them over and fails ``finalize()``;
the example programs pass.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from deploy_paradigms import guard
from deploy_paradigms.budget import BudgetError
from deploy_paradigms.pulumi import (
    BudgetGuard,
    budget_guard_transform,
    check_program,
    check_resources,
    preview,
)
from deploy_paradigms.pulumi import budget_guard as module

PORT = 5432


def _ingress(name: str, group: aws.ec2.SecurityGroup, source: aws.ec2.SecurityGroup) -> None:
    aws.vpc.SecurityGroupIngressRule(name, security_group_id=group.id, referenced_security_group_id=source.id,
                                     ip_protocol="tcp", from_port=PORT, to_port=PORT)


def broken_program() -> None:
    """A user's stack: a db.t3.micro (76 usable), a proxy left at its defaults, a function
    without reserved concurrency, and a service whose peak pools exceed the database."""
    db_sg = aws.ec2.SecurityGroup("db-sg", vpc_id="vpc-1")
    proxy_sg = aws.ec2.SecurityGroup("proxy-sg", vpc_id="vpc-1")
    fn_sg = aws.ec2.SecurityGroup("fn-sg", vpc_id="vpc-1")
    worker_sg = aws.ec2.SecurityGroup("worker-sg", vpc_id="vpc-1")
    db = aws.rds.Instance("db", engine="postgres", instance_class="db.t3.micro", allocated_storage=20,
                          port=PORT, storage_encrypted=True, deletion_protection=True,
                          backup_retention_period=7, manage_master_user_password=True, username="app_admin",
                          vpc_security_group_ids=[db_sg.id])
    proxy = aws.rds.Proxy("proxy", engine_family="POSTGRESQL", require_tls=True,
                          role_arn="arn:aws:iam::1:role/p",
                          vpc_subnet_ids=["subnet-1"], vpc_security_group_ids=[proxy_sg.id],
                          auths=[aws.rds.ProxyAuthArgs(auth_scheme="SECRETS", iam_auth="REQUIRED",
                                                       secret_arn="arn:aws:secretsmanager:us-east-1:1:secret:db")])
    aws.rds.ProxyDefaultTargetGroup("proxy-targets", db_proxy_name=proxy.name,
                                    connection_pool_config=aws.rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs(
                                        max_connections_percent=40))
    aws.rds.ProxyTarget("proxy-target", db_proxy_name=proxy.name, target_group_name="default",
                        db_instance_identifier=db.identifier)
    _ingress("db-from-proxy", db_sg, proxy_sg)
    _ingress("proxy-from-fn", proxy_sg, fn_sg)
    _ingress("db-from-worker", db_sg, worker_sg)
    aws.lambda_.Function("api", role="arn:aws:iam::1:role/api", runtime="python3.12", handler="index.handler",
                         code=pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(e, c): ...")}),
                         environment=aws.lambda_.FunctionEnvironmentArgs(variables={
                             "DATABASE_HOST": proxy.endpoint, "DATABASE_URL_PARAMS": "connection_limit=1"}),
                         vpc_config=aws.lambda_.FunctionVpcConfigArgs(security_group_ids=[fn_sg.id],
                                                                      subnet_ids=["subnet-1"]))
    # The user's own function behind the proxy, reserving more than the proxy's 40 % and the account.
    aws.lambda_.Function("heavy", role="arn:aws:iam::1:role/api", runtime="python3.12",
                         handler="index.handler",
                         code=pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(e, c): ...")}),
                         reserved_concurrent_executions=1000,
                         environment=aws.lambda_.FunctionEnvironmentArgs(variables={
                             "DATABASE_HOST": proxy.endpoint, "DATABASE_URL_PARAMS": "connection_limit=1"}))
    task = aws.ecs.TaskDefinition("worker-task", family="worker", requires_compatibilities=["FARGATE"],
                                  cpu="256", memory="512", network_mode="awsvpc",
                                  container_definitions=json.dumps([{
                                      "name": "worker", "image": "busybox", "essential": True,
                                      "environment": [{"name": "DATABASE_URL_PARAMS",
                                                       "value": "connection_limit=5"},
                                                      {"name": "PRISMA_VERSION", "value": "7.10.1"}]}]))
    cluster = aws.ecs.Cluster("cluster")
    service = aws.ecs.Service("worker", cluster=cluster.arn, task_definition=task.arn, desired_count=2,
                              launch_type="FARGATE",
                              network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                                  subnets=["subnet-1"], security_groups=[worker_sg.id]))
    aws.appautoscaling.Target("worker-scaling", service_namespace="ecs", min_capacity=2, max_capacity=10,
                              scalable_dimension="ecs:service:DesiredCount",
                              resource_id=pulumi.Output.concat("service/", cluster.name, "/", service.name))


@pytest.fixture(scope="module")
def findings() -> dict[str, guard.Finding]:
    found = check_program(broken_program)
    assert len(found) == len({f.rule for f in found}), [str(f) for f in found]
    return {f.rule: f for f in found}


def test_every_budget_finding_on_the_broken_program(findings: dict[str, guard.Finding]) -> None:
    assert set(findings) == {r.id for r in guard.BUDGET_RULES}


def test_lambda_without_reserved_concurrency(findings: dict[str, guard.Finding]) -> None:
    finding = findings["lambda-reserved-concurrency"]
    assert finding.resource == "api"
    assert "reaches database db (postgres db.t3.micro, 76 usable connections) through RDS Proxy proxy" \
           in finding.message


def test_database_over_allocated(findings: dict[str, guard.Finding]) -> None:
    finding = findings["database-over-allocated"]
    assert finding.resource == "db"
    assert "134 connections together, over the 76 usable" in finding.message
    assert "proxy 34 (RDS Proxy at 40% of max_connections 86)" in finding.message
    assert "worker 100 (10 max tasks x 200% during deploys = 20 tasks x pool 5)" in finding.message


def test_proxy_idle_client_timeout(findings: dict[str, guard.Finding]) -> None:
    assert findings["proxy-idle-client-timeout"].resource == "proxy"


def test_ecs_pool_exceeds_allocation(findings: dict[str, guard.Finding]) -> None:
    finding = findings["ecs-pool-exceeds-allocation"]
    assert finding.resource == "worker"
    assert "= 100 connections, over its allocation of 76" in finding.message


@pytest.mark.parametrize("paradigm", ["serverless", "paas", "edge"])
def test_the_example_programs_pass(paradigm: str) -> None:
    assert check_resources(preview.render_stack(paradigm).records_with_outputs()) == []


def _transform_args(typ: str, name: str, props: dict[str, Any]) -> pulumi.ResourceTransformArgs:
    return pulumi.ResourceTransformArgs(custom=True, type_=typ, name=name, props=props,
                                        opts=pulumi.ResourceOptions())


def test_transform_records_and_finalize_raises() -> None:
    """What the engine hands a stack transform: resolved inputs, unknowns where ids are not known."""
    from pulumi.runtime import rpc

    guard_ = BudgetGuard()
    recorded: list[tuple[str, str, dict[str, Any]]] = [
        ("aws:rds/instance:Instance", "db", {"engine": "postgres", "instanceClass": "db.t3.micro",
                                              "vpcSecurityGroupIds": [rpc.UNKNOWN]}),
        ("aws:rds/proxy:Proxy", "proxy", {"requireTls": True, "idleClientTimeout": 1800}),
        ("aws:lambda/function:Function", "api", {"environment": {"variables": {"DATABASE_HOST": rpc.UNKNOWN}},
                                                 "vpcConfig": {"securityGroupIds": [rpc.UNKNOWN]}}),
    ]
    for typ, name, props in recorded:
        guard_.transform(_transform_args(typ, name, props))  # returns None: changes nothing
    assert guard_.records[2]["inputs"]["vpcConfig"] == {"securityGroupIds": ["[unknown]"]}
    assert {f.rule for f in guard_.check()} == {"lambda-reserved-concurrency", "proxy-idle-client-timeout"}
    with pytest.raises(guard.GuardError, match=r"2 guard finding\(s\)") as failure:
        guard_.finalize()
    assert isinstance(failure.value, BudgetError)
    assert {f.resource for f in failure.value.findings} == {"api", "proxy"}


def test_module_level_transform_and_finalize(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "DEFAULT_GUARD", BudgetGuard())
    budget_guard_transform(_transform_args("aws:rds/proxy:Proxy", "proxy", {"idleClientTimeout": 300}))
    module.finalize()  # 300 s: nothing to report
    budget_guard_transform(_transform_args("aws:rds/proxy:Proxy", "other", {}))
    with pytest.raises(guard.GuardError, match="proxy-idle-client-timeout"):
        module.finalize()


def test_all_rules_on_request() -> None:
    def program() -> None:
        aws.cloudwatch.LogGroup("forever")

    (finding,) = check_program(program, rules=guard.ALL_RULES)
    assert finding.rule == "log-retention" and finding.resource == "forever"

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
from test_serverless_pulumi import database as pulumi_database
from test_serverless_pulumi import function as pulumi_function
from test_serverless_pulumi import run_program

from deploy_paradigms import guard
from deploy_paradigms.budget import BudgetError
from deploy_paradigms.cdk.database import Database
from deploy_paradigms.cdk.serverless_function import ServerlessFunction
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


# -- a proxy the app made itself, in front of a Database, with the constructs behind it ---------------
def _own_proxy_app(engine: str, reserved: tuple[int | None, ...], *, percent: int = 20,
                   context: dict[str, Any] | None = None) -> tuple[cdk.App, cdk.Stack]:
    """A ``Database``, the user's own ``rds.DatabaseProxy`` in front of it at ``percent`` %, and
    ``ServerlessFunction``s sharing that proxy (reserved concurrency as given; None: a plain
    unreserved aws-cdk-lib function behind the proxy instead)."""
    app = cdk.App(analytics_reporting=False, context=context or {})
    stack = cdk.Stack(app, "OwnProxy", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    db = Database(stack, "Db", vpc=vpc, engine=engine, instance_class="db.t3.micro")
    proxy = rds.DatabaseProxy(stack, "MyProxy", proxy_target=db.proxy_target(), secrets=[db.app_secret],
                              vpc=vpc, vpc_subnets=ISOLATED, max_connections_percent=percent,
                              idle_client_timeout=cdk.Duration.seconds(120))
    for index, concurrency in enumerate(reserved):
        if concurrency is None:
            fn = lambda_.Function(stack, f"Plain{index}", runtime=lambda_.Runtime.PYTHON_3_12,
                                  handler="index.handler", code=INLINE, vpc=vpc, vpc_subnets=ISOLATED,
                                  environment={"DATABASE_HOST": proxy.endpoint})
            proxy.connections.allow_from(fn, ec2.Port.tcp(db.engine.default_port))
            continue
        # The ledger books each as if it had its own proxy (whole percents: a few connections more).
        ServerlessFunction(stack, f"Fn{index}", database=db, code=INLINE, handler="index.handler",
                           proxy=proxy, connections=concurrency + 5, reserved_concurrency=concurrency)
    return app, stack


@pytest.mark.parametrize(("engine", "share"), [("postgres", 17), ("mysql", 13)])  # 20 % of 86 / of 65
def test_construct_functions_behind_the_users_own_proxy_are_checked_against_its_share(
        engine: str, share: int) -> None:
    """The ledger cannot size a proxy it did not create: the guard checks its clients."""
    _, stack = _own_proxy_app(engine, (10, 10))
    findings = guard.check_template(Template.from_stack(stack).to_json(), guard.BUDGET_RULES)
    (finding,) = [f for f in findings if f.rule == "proxy-clients-over-share"]
    assert f"clients can hold 20 connections through this proxy, over the {share} database" in finding.message
    assert "reserved concurrency 10 x pool 1" in finding.message  # each function, its own numbers
    assert finding.resource.startswith("MyProxy")
    # Within the proxy's share: no finding.
    _, fits = _own_proxy_app(engine, (6, 6))
    assert "proxy-clients-over-share" not in _rules(
        guard.check_template(Template.from_stack(fits).to_json(), guard.BUDGET_RULES))


def test_an_unreserved_function_behind_the_users_proxy_is_flagged() -> None:
    _, stack = _own_proxy_app("postgres", (5, None))
    findings = guard.check_template(Template.from_stack(stack).to_json(), guard.BUDGET_RULES)
    (finding,) = [f for f in findings if f.rule == "lambda-reserved-concurrency"]
    assert finding.resource.startswith("Plain1") and "through RDS Proxy MyProxy" in finding.message


def test_proxies_whose_shares_add_up_over_the_database() -> None:
    """Two proxies of the user's at 60 % each: 51 + 51 connections on 76 usable."""
    _, stack = _own_proxy_app("postgres", (5,), percent=60)
    db = stack.node.find_child("Db")
    assert isinstance(db, Database)
    rds.DatabaseProxy(stack, "SecondProxy", proxy_target=db.proxy_target(), secrets=[db.app_secret],
                      vpc=db.vpc, vpc_subnets=ISOLATED, max_connections_percent=60,
                      idle_client_timeout=cdk.Duration.seconds(120))
    findings = guard.check_template(Template.from_stack(stack).to_json(), guard.BUDGET_RULES)
    (finding,) = [f for f in findings if f.rule == "database-over-allocated"]
    assert "over the 76 usable on postgres db.t3.micro" in finding.message
    assert finding.message.count("RDS Proxy at 60% of max_connections 86") == 2


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_a_service_whose_pools_exceed_the_database_on_each_engine(engine: str) -> None:
    # 4 max tasks x 200 % x pool 20 = 160 on 76 (PostgreSQL) / 62 (MySQL) usable; pool 5 = 40 fits.
    template = _hand_wired(engine, "t3.micro", (10,), service_pool=20)
    findings = guard.check_template(template, guard.BUDGET_RULES)
    (finding,) = [f for f in findings if f.rule == "ecs-pool-exceeds-allocation"]
    usable = 76 if engine == "postgres" else 62
    assert f"= 160 connections, over its allocation of {usable} (all {usable} usable" in finding.message
    assert "ecs-pool-exceeds-allocation" not in _rules(
        guard.check_template(_hand_wired(engine, "t3.micro", (10,), service_pool=5), guard.BUDGET_RULES))


def test_pulumi_construct_functions_behind_the_users_own_proxy() -> None:
    def program() -> None:
        db = pulumi_database("db.t3.micro", engine="mysql")
        proxy_sg = aws.ec2.SecurityGroup("my-proxy-sg", vpc_id=db.network.vpc_id)
        proxy = aws.rds.Proxy("my-proxy", engine_family="MYSQL", role_arn="arn:role", idle_client_timeout=120,
                              vpc_subnet_ids=["a", "b"], vpc_security_group_ids=[proxy_sg.id],
                              require_tls=True, auths=[aws.rds.ProxyAuthArgs(secret_arn=db.app_secret_arn)])
        group = aws.rds.ProxyDefaultTargetGroup(
            "my-proxy-targets", db_proxy_name=proxy.name,
            connection_pool_config=aws.rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs(
                max_connections_percent=20))
        aws.rds.ProxyTarget("my-proxy-target", db_proxy_name=proxy.name, target_group_name=group.name,
                            db_instance_identifier=db.instance_identifier)
        for name in ("one", "two"):
            pulumi_function(db, name, proxy=proxy, proxy_security_group_id=proxy_sg.id, connections=15,
                            reserved_concurrency=10)

    records = mock_engine.run_program(program).records_with_outputs()  # as `pulumi stack export` has them
    findings = guard.check_records(records, guard.BUDGET_RULES)
    (finding,) = [f for f in findings if f.rule == "proxy-clients-over-share"]
    assert "clients can hold 20 connections through this proxy, over the 13 database" in finding.message


# -- the account quota the guard reads -----------------------------------------------------------------
def _guarded_synth(quota: str | None, reserved: tuple[int, ...]) -> list[guard.Finding]:
    """The hand-wired app with BudgetGuard, the quota given as the constructs read it (context)."""
    from deploy_paradigms.cdk import BudgetGuard

    context = {} if quota is None else {"deploy-paradigms:accountConcurrencyLimit": quota}
    app = cdk.App(analytics_reporting=False, context=context)
    stack = cdk.Stack(app, "Quota", env=cdk.Environment(region="eu-west-1"))
    for index, concurrency in enumerate(reserved):
        lambda_.Function(stack, f"Fn{index}", runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
                         code=INLINE, reserved_concurrent_executions=concurrency)
    plugin = BudgetGuard.of(app, rules=[guard.rule_by_id("account-reserved-concurrency")])
    try:
        app.synth()
    except RuntimeError as failure:  # findings fail synth
        assert plugin.findings and "account-reserved-concurrency" in str(failure)
    else:
        assert not plugin.findings
    return plugin.findings


def test_the_account_rule_reads_the_quota_context() -> None:
    # A new account's quota of 10 leaves nothing reservable: one function reserving 5 fails to deploy.
    (finding,) = _guarded_synth("10", (5,))
    assert ("reserve 5 concurrent executions together, over the 0 an account with the quota 10 "
            "(deploy-paradigms:accountConcurrencyLimit) can reserve") in finding.message
    # 1,000 (given, or the default): 900 reservable.
    assert _guarded_synth("1000", (450, 450)) == []
    (finding,) = _guarded_synth("1000", (451, 450))
    assert "reserve 901 concurrent executions together, over the 900" in finding.message
    (finding,) = _guarded_synth(None, (451, 450))
    assert "the default quota 1000 (no deploy-paradigms:accountConcurrencyLimit given)" in finding.message
    # A larger quota lets more through.
    assert _guarded_synth("3000", (1450, 1450)) == []


def test_the_pulumi_guard_reads_the_quota_config() -> None:
    from deploy_paradigms.pulumi.budget_guard import check_program, check_resources

    def program() -> None:
        aws.lambda_.Function("fn", role="arn:role", runtime="python3.12", handler="index.handler",
                             code=pulumi.AssetArchive({}), reserved_concurrent_executions=5)

    rule = [guard.rule_by_id("account-reserved-concurrency")]
    (finding,) = check_program(program, {"accountConcurrencyLimit": "10"}, rules=rule)
    assert "over the 0 an account with the quota 10" in finding.message
    assert check_program(program, {"accountConcurrencyLimit": "1000"}, rules=rule) == []
    assert check_program(program, rules=rule) == []
    _, records = run_program(program)
    assert [f.rule for f in check_resources(records, rule, account_concurrency_limit=10)] == [
        "account-reserved-concurrency"]
    assert check_resources(records, rule, account_concurrency_limit=1000) == []
    with pytest.raises(BudgetError, match="must be a whole number"):
        check_program(program, {"accountConcurrencyLimit": "lots"}, rules=rule)


def test_the_account_rule_sums_the_stacks_of_one_account() -> None:
    """Each stack reserves 500 (within 900 on its own); two in one account and Region reserve 1,000."""
    from deploy_paradigms.cdk import BudgetGuard

    def synth(second_account: str) -> list[guard.Finding]:
        app = cdk.App(analytics_reporting=False)
        for name, account in (("One", "111111111111"), ("Two", second_account)):
            stack = cdk.Stack(app, name, env=cdk.Environment(account=account, region="eu-west-1"))
            lambda_.Function(stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
                             code=INLINE, reserved_concurrent_executions=500)
        plugin = BudgetGuard.of(app)
        try:
            app.synth()
        except RuntimeError as failure:
            assert plugin.findings and "account-reserved-concurrency" in str(failure)
        return plugin.findings

    (finding,) = synth("111111111111")
    assert finding.rule == "account-reserved-concurrency"
    assert ("the stacks One, Two deploy to one account and Region, and their functions reserve 1000 "
            "concurrent executions together, over the 900") in finding.message
    assert synth("222222222222") == []  # two accounts: 500 each

"""CDK ServerlessFunction and the ``Serverless`` example stack.

Two example synths (default context and db.m5.large, both shared through the
session cache in conftest) plus two small construct-level stacks; budget
errors are raised at construction, before any synth.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from conftest import template_of
from syrupy.extensions.json import JSONSnapshotExtension

from deploy_paradigms.budget import BudgetError, BudgetExceededError, InputError
from deploy_paradigms.cdk.database import Database, deployment_of
from deploy_paradigms.cdk.serverless_function import ServerlessFunction, check_extra_environment

M5_LARGE_USABLE = 813  # Prisma seed table, PostgreSQL db.m5.large
SECRET_LIKE = re.compile(
    r"password|passwd|secret_?string|private key|resolve:secretsmanager|resolve:ssm-secure", re.IGNORECASE)
CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")


# -- helpers -------------------------------------------------------------------------------------

def resources(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == rtype}


def only(template: dict[str, Any], rtype: str, prefix: str = "") -> dict[str, Any]:
    """Properties of the one resource of ``rtype`` whose logical id starts with ``prefix``."""
    return template["Resources"][logical_id(template, rtype, prefix)]["Properties"]  # type: ignore[no-any-return]


def logical_id(template: dict[str, Any], rtype: str, prefix: str) -> str:
    ids = [k for k in resources(template, rtype) if k.startswith(prefix)]
    assert len(ids) == 1, (rtype, prefix, ids)
    return ids[0]


def group_id(logical: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, "GroupId"]}


def small_stack(instance_class: str = "db.m5.large", **db: Any) -> tuple[cdk.Stack, Database]:
    app = cdk.App(analytics_reporting=False)
    stack = cdk.Stack(app, "Small", env=cdk.Environment(region="eu-west-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1, subnet_configuration=[
        ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
        ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    return stack, Database(stack, "Db", vpc=vpc, instance_class=instance_class, **db)


def function(stack: cdk.Stack, db: Database, id: str = "Fn", **kwargs: Any) -> ServerlessFunction:
    return ServerlessFunction(stack, id, database=db, code=CODE, handler="index.handler", **kwargs)


@pytest.fixture(scope="module")
def default_template(synth: Callable[..., Any]) -> dict[str, Any]:
    return template_of(synth(("Serverless",)), "Serverless")


@pytest.fixture(scope="module")
def m5_template(synth: Callable[..., Any]) -> dict[str, Any]:
    return template_of(synth(("Serverless",), instanceClass="db.m5.large"), "Serverless")


@pytest.fixture(scope="module")
def full_proxy() -> tuple[ServerlessFunction, dict[str, Any]]:
    """db.m5.large, no reserve, a 100 % proxy: the whole seed budget."""
    stack, db = small_stack(reserve=0)
    fn = function(stack, db, proxy_max_connections_percent=100)
    return fn, Template.from_stack(stack).to_json()


@pytest.fixture(scope="module")
def shared_proxy() -> tuple[ServerlessFunction, ServerlessFunction, dict[str, Any]]:
    """A secrets-only function with its proxy, and a second function sharing that proxy."""
    stack, db = small_stack()
    # A proxy with room for both: 296 connections, 150 of them for First's clients.
    first = function(stack, db, "First", connections=300, reserved_concurrency=150,
                     proxy_max_connections_percent=36, iam_auth=False)
    second = function(stack, db, "Second", proxy=first.proxy, connections=140,
                      environment={"LOG_LEVEL": "info"})
    return first, second, Template.from_stack(stack).to_json()


# -- the budget ----------------------------------------------------------------------------------

def test_m5_large_reserved_concurrency_within_the_seed_budget(m5_template: dict[str, Any]) -> None:
    fn = only(m5_template, "AWS::Lambda::Function", "Function")
    assert math.ceil(0.85 * M5_LARGE_USABLE) <= fn["ReservedConcurrentExecutions"] <= M5_LARGE_USABLE
    assert fn["ReservedConcurrentExecutions"] == 765  # 93 % of 823 through the proxy, 41 reserved
    assert fn["Environment"]["Variables"]["DATABASE_URL_PARAMS"].startswith("connection_limit=1&")


def test_exactly_the_seed_budget_without_reserve_and_with_a_full_proxy(
        full_proxy: tuple[ServerlessFunction, dict[str, Any]]) -> None:
    fn, template = full_proxy
    assert fn.plan.reserved_concurrency == M5_LARGE_USABLE
    assert only(template, "AWS::Lambda::Function", "Fn")["ReservedConcurrentExecutions"] == M5_LARGE_USABLE
    pool = only(template, "AWS::RDS::DBProxyTargetGroup")["ConnectionPoolConfigurationInfo"]
    assert pool["MaxConnectionsPercent"] == 100
    assert fn.allocation.connections == M5_LARGE_USABLE
    assert fn.database.ledger.remaining == 0


def test_default_stack_spends_the_cheap_class_budget(default_template: dict[str, Any]) -> None:
    fn = only(default_template, "AWS::Lambda::Function", "Function")
    assert fn["ReservedConcurrentExecutions"] == 71  # db.t3.micro: 86 max, 76 usable, 4 reserve
    assert "reserved concurrency 71" in default_template["Description"]
    outputs = default_template["Outputs"]
    assert outputs["ReservedConcurrency"]["Value"] == "71"
    assert {"ProxyEndpoint", "FunctionName", "ConnectionBudget"} <= set(outputs)


# -- the proxy -----------------------------------------------------------------------------------

def test_proxy_settings(m5_template: dict[str, Any]) -> None:
    proxy = only(m5_template, "AWS::RDS::DBProxy")
    assert proxy["RequireTLS"] is True
    assert proxy["IdleClientTimeout"] == 120
    assert proxy["EngineFamily"] == "POSTGRESQL"
    # the proxy logs in as the application role, with its secret (not the master user's)
    app_secret = logical_id(m5_template, "AWS::SecretsManager::Secret", "DatabaseAppUserSecret")
    assert proxy["Auth"] == [{"AuthScheme": "SECRETS", "IAMAuth": "REQUIRED",
                              "SecretArn": {"Ref": app_secret}}]
    assert re.fullmatch(r"[A-Za-z](-?[A-Za-z0-9])*", proxy["DBProxyName"]) and len(proxy["DBProxyName"]) <= 60
    # The proxy sits in the isolated subnets, with the database.
    assert all("data" in s["Ref"] for s in proxy["VpcSubnetIds"])
    pool = only(m5_template, "AWS::RDS::DBProxyTargetGroup")["ConnectionPoolConfigurationInfo"]
    assert pool == {"ConnectionBorrowTimeout": 10, "MaxConnectionsPercent": 93,
                    "MaxIdleConnectionsPercent": 46}
    fn = only(m5_template, "AWS::Lambda::Function", "Function")
    assert fn["Timeout"] == 30 and fn["Timeout"] > pool["ConnectionBorrowTimeout"]
    assert fn["Architectures"] == ["arm64"]


# -- security groups -----------------------------------------------------------------------------

def _rules(template: dict[str, Any], direction: str) -> list[dict[str, Any]]:
    """Every ingress or egress rule: standalone resources and inline ones."""
    rtype = f"AWS::EC2::SecurityGroup{direction}"
    rules = [r["Properties"] for r in resources(template, rtype).values()]
    for logical, sg in resources(template, "AWS::EC2::SecurityGroup").items():
        for inline in sg["Properties"].get(f"SecurityGroup{direction}", []):
            rules.append({**inline, "GroupId": group_id(logical)})
    return rules


def test_security_groups_open_only_the_database_port_along_the_chain(m5_template: dict[str, Any]) -> None:
    t = m5_template
    fn_sg = group_id(logical_id(t, "AWS::EC2::SecurityGroup", "FunctionSecurityGroup"))
    proxy_sg = group_id(logical_id(t, "AWS::EC2::SecurityGroup", "FunctionProxySecurityGroup"))
    db_sg = group_id(logical_id(t, "AWS::EC2::SecurityGroup", "DatabaseSecurityGroup"))
    db_port = {"Fn::GetAtt": [logical_id(t, "AWS::RDS::DBInstance", "Database"), "Endpoint.Port"]}

    bootstrap_sg = group_id(logical_id(t, "AWS::EC2::SecurityGroup", "DatabaseRoleBootstrapSecurityGroup"))
    check_sg = group_id(logical_id(t, "AWS::EC2::SecurityGroup", "BudgetCheckSecurityGroup"))
    ingress = [(r["GroupId"], r.get("SourceSecurityGroupId"), r.get("CidrIp"), r["IpProtocol"],
                r["FromPort"], r["ToPort"]) for r in _rules(t, "Ingress")]
    # Exactly: proxy <- function on 5432; database <- proxy on the database's port; database <-
    # the application role's bootstrap and the budget check on its port. Nothing else.
    assert sorted(ingress, key=repr) == sorted([
        (proxy_sg, fn_sg, None, "tcp", 5432, 5432),
        (db_sg, proxy_sg, None, "tcp", db_port, db_port),
        (db_sg, bootstrap_sg, None, "tcp", 5432, 5432),
        (db_sg, check_sg, None, "tcp", 5432, 5432),
    ], key=repr)

    egress = [(r["GroupId"], r.get("DestinationSecurityGroupId"), r.get("CidrIp"), r["FromPort"], r["ToPort"])
              for r in _rules(t, "Egress") if r["GroupId"] in (fn_sg, proxy_sg)]
    # Each group also keeps aws-cdk's no-traffic placeholder inline, so EC2's default
    # all-traffic egress is not left beside the explicit rules.
    placeholder = [e for e in egress if e[2] == "255.255.255.255/32"]
    assert sorted(placeholder, key=repr) == sorted([(g, None, "255.255.255.255/32", 252, 86)
                                                    for g in (fn_sg, proxy_sg)], key=repr)
    egress = [e for e in egress if e not in placeholder]
    assert sorted(egress, key=repr) == sorted([
        (fn_sg, proxy_sg, None, 5432, 5432),
        (proxy_sg, db_sg, None, db_port, db_port),
    ], key=repr)
    assert only(t, "AWS::Lambda::Function", "Function")["VpcConfig"]["SecurityGroupIds"] == [fn_sg]


def test_iam_connect_is_scoped_to_the_proxy_user(m5_template: dict[str, Any]) -> None:
    t = m5_template
    policy_id = logical_id(t, "AWS::IAM::Policy", "FunctionServiceRoleDefaultPolicy")
    statements = t["Resources"][policy_id]["Properties"]["PolicyDocument"]["Statement"]
    connect = [s for s in statements if s["Action"] == "rds-db:connect"]
    assert len(connect) == 1
    rendered = repr(connect[0]["Resource"])
    assert "dbuser:" in rendered and "/app_user" in rendered
    assert logical_id(t, "AWS::RDS::DBProxy", "FunctionProxy") in rendered
    assert not [s for s in statements if "secretsmanager" in repr(s["Action"])]
    assert not resources(t, "AWS::IAM::ManagedPolicy") and "ManagedPolicyArns" not in repr(
        t["Resources"][logical_id(t, "AWS::IAM::Role", "FunctionServiceRole")])
    ours = logical_id(t, "AWS::Logs::LogGroup", "FunctionLogGroup")
    assert t["Resources"][ours]["Properties"]["RetentionInDays"] == 30
    assert only(t, "AWS::Lambda::Function", "Function")["LoggingConfig"] == {"LogGroup": {"Ref": ours}}


# -- no secret in the environment ----------------------------------------------------------------

def test_environment_holds_where_and_how_never_a_secret(m5_template: dict[str, Any]) -> None:
    env = only(m5_template, "AWS::Lambda::Function", "Function")["Environment"]["Variables"]
    assert set(env) == {"DATABASE_HOST", "DATABASE_PORT", "DATABASE_NAME", "DATABASE_USER", "DATABASE_ENGINE",
                        "DATABASE_IAM_AUTH", "DATABASE_URL_PARAMS", "DATABASE_POOL_MAX",
                        "DATABASE_POOL_TIMEOUT_MS", "DATABASE_CONNECT_TIMEOUT_MS", "DATABASE_IDLE_TIMEOUT_MS",
                        "DATABASE_STATEMENT_TIMEOUT_MS"}
    assert (env["DATABASE_POOL_MAX"], env["DATABASE_STATEMENT_TIMEOUT_MS"]) == ("1", "28000")
    proxy = logical_id(m5_template, "AWS::RDS::DBProxy", "FunctionProxy")
    assert env["DATABASE_HOST"] == {"Fn::GetAtt": [proxy, "Endpoint"]}
    assert env["DATABASE_URL_PARAMS"] == (
        "connection_limit=1&pool_timeout=10&connect_timeout=5&sslmode=verify-full&socket_timeout=29"
        "&statement_timeout=28000")
    assert (env["DATABASE_PORT"], env["DATABASE_IAM_AUTH"], env["DATABASE_ENGINE"]) == (
        "5432", "true", "postgres")
    for key, value in env.items():
        assert not SECRET_LIKE.search(key) and not SECRET_LIKE.search(repr(value)), key


@pytest.mark.parametrize("extra", [
    {"DB_PASSWORD": "hunter2"},
    {"STRIPE_API_KEY": "sk_live"},
    {"AUTH_TOKEN": "x"},
    {"DATABASE_URL": "postgresql://app:hunter2@db.example.com/app"},
    {"AWS_KEY": "AKIAIOSFODNN7EXAMPLE"},
    {"DATABASE_HOST": "elsewhere.example.com"},
])
def test_credential_like_environment_is_refused(extra: dict[str, str]) -> None:
    with pytest.raises(InputError, match=re.escape(next(iter(extra)))):
        check_extra_environment(extra)


def test_secret_values_are_refused_even_as_tokens() -> None:
    stack, db = small_stack("db.t3.micro")
    with pytest.raises(InputError, match="looks like a credential"):
        function(stack, db, environment={"APP_SETTING": db.secret.secret_value.unsafe_unwrap()})
    check_extra_environment({"LOG_LEVEL": "debug", "STRIPE_SECRET_ARN": "arn:aws:secretsmanager:x"})


def test_secrets_only_function_reads_its_one_secret(
        shared_proxy: tuple[ServerlessFunction, ServerlessFunction, dict[str, Any]]) -> None:
    first, _, t = shared_proxy
    fn_id = logical_id(t, "AWS::Lambda::Function", "First")
    env = t["Resources"][fn_id]["Properties"]["Environment"]["Variables"]
    secret_arn = {"Ref": logical_id(t, "AWS::SecretsManager::Secret", "DbAppUserSecret")}  # the app role's
    assert env["DATABASE_IAM_AUTH"] == "false" and env["DATABASE_SECRET_ARN"] == secret_arn
    proxy = only(t, "AWS::RDS::DBProxy")
    assert proxy["Auth"][0]["IAMAuth"] == "DISABLED"
    statements = t["Resources"][logical_id(t, "AWS::IAM::Policy", "FirstServiceRoleDefaultPolicy")][
        "Properties"]["PolicyDocument"]["Statement"]
    read_secret = {"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": secret_arn}
    assert read_secret in statements
    assert not [s for s in statements if s["Action"] == "rds-db:connect"]
    fn_sg = group_id(logical_id(t, "AWS::EC2::SecurityGroup", "FirstSecurityGroup"))
    https = [r for r in _rules(t, "Egress") if r["GroupId"] == fn_sg and r.get("CidrIp")]
    assert [(r["CidrIp"], r["FromPort"], r["ToPort"]) for r in https] == [("0.0.0.0/0", 443, 443)]
    # 300 asked; the proxy's percent granularity (1 % of 823) leaves 296, 150 for First's clients.
    assert (first.plan.reserved_concurrency, first.allocation.connections) == (150, 296)


def test_a_shared_proxy_is_reused_and_opened_to_the_second_function(
        shared_proxy: tuple[ServerlessFunction, ServerlessFunction, dict[str, Any]]) -> None:
    first, second, t = shared_proxy
    assert len(resources(t, "AWS::RDS::DBProxy")) == 1 and not second.proxy_created
    assert second.proxy_security_group is first.proxy_security_group
    proxy_sg = group_id(logical_id(t, "AWS::EC2::SecurityGroup", "FirstProxySecurityGroup"))
    sources = {repr(r["SourceSecurityGroupId"]) for r in _rules(t, "Ingress") if r["GroupId"] == proxy_sg}
    assert sources == {repr(group_id(logical_id(t, "AWS::EC2::SecurityGroup", s + "SecurityGroup")))
                       for s in ("First", "Second")}
    # The second function's 140 clients fit the 146 the shared proxy has left; they are booked on
    # the proxy, not again on the database's ledger (the proxy's 296 connections are First's).
    assert second.plan.reserved_concurrency == second.allocation.connections == 140
    assert first.database.ledger.remaining == 772 - 296


# -- alarms --------------------------------------------------------------------------------------

def test_default_alarms(m5_template: dict[str, Any]) -> None:
    t = m5_template
    alarms = {r["Properties"]["MetricName"]: r["Properties"]
              for r in resources(t, "AWS::CloudWatch::Alarm").values()}
    proxy_dim = [{"Name": "ProxyName", "Value": {"Ref": logical_id(t, "AWS::RDS::DBProxy", "FunctionProxy")}}]
    pinned = alarms["DatabaseConnectionsCurrentlySessionPinned"]
    assert (pinned["Namespace"], pinned["Dimensions"], pinned["ComparisonOperator"], pinned["Threshold"]) == (
        "AWS/RDS", proxy_dim, "GreaterThanThreshold", 0)
    assert pinned["Period"] * pinned["EvaluationPeriods"] == 900  # sustained for 15 minutes
    connections = alarms["DatabaseConnections"]
    assert (connections["Dimensions"], connections["ComparisonOperator"], connections["Threshold"]) == (
        proxy_dim, "GreaterThanOrEqualToThreshold", math.ceil(0.9 * 765))
    throttles = alarms["Throttles"]
    assert (throttles["Namespace"], throttles["Statistic"], throttles["Threshold"]) == (
        "AWS/Lambda", "Sum", 0)
    assert throttles["Dimensions"] == [{"Name": "FunctionName",
                                        "Value": {"Ref": logical_id(t, "AWS::Lambda::Function", "Function")}}]


# -- refused at construction ---------------------------------------------------------------------

def test_more_reserved_concurrency_than_the_budget_is_refused() -> None:
    stack, db = small_stack(reserve=0)
    with pytest.raises(BudgetError, match=r"reserved_concurrency=814 exceeds .* 813"):
        function(stack, db, reserved_concurrency=814, proxy_max_connections_percent=100)
    assert db.ledger.allocated == 0


def test_more_reserved_concurrency_than_the_account_allows_is_refused() -> None:
    stack, db = small_stack()
    # The database's role bootstrap holds 1 of the 400 reservable; the default share (and the
    # function's concurrency) settles once every consumer is declared, before synth.
    with pytest.raises(BudgetError, match=r"adds up to 451, over the 400 reservable .*: "
                                          r"Small/Db/RoleBootstrap 1; Small/Fn 450"):
        function(stack, db, reserved_concurrency=450, account_concurrency_limit=500)
        deployment_of(stack).settle()
    stack, db = small_stack()
    fn = function(stack, db, account_concurrency_limit=500)
    # A default limited by the account reserves half of what it has left (docs/composition.md).
    assert (fn.plan.reserved_concurrency, fn.plan.limited_by) == (199, "account")


def test_a_second_consumer_over_the_ledger_fails_naming_both() -> None:
    stack, db = small_stack()
    function(stack, db, "Orders", connections=500)
    with pytest.raises(BudgetExceededError, match=r"Small/Orders \(serverless\) 493; Small/Reports "
                                                  r"\(serverless\) 400"):
        function(stack, db, "Reports", connections=400)


def test_invalid_combinations_are_refused_as_input_errors_not_budget_errors() -> None:
    stack, db = small_stack("db.t3.micro")
    first = function(stack, db, "First", connections=10)
    refusals = [
        ("proxy_max_connections_percent=50 applies only",
         {"proxy": first.proxy, "proxy_max_connections_percent": 50}),
        ("memory_size=64", {"memory_size": 64}),
        ("borrow_timeout_s=10 must be shorter than function_timeout_s=5", {"timeout_s": 5}),
        ("runtime='nodejs20.x' is not one of", {"runtime": "nodejs20.x"}),
        ("log_retention_days=31 is not a CloudWatch Logs retention period", {"log_retention": 31}),
    ]
    for i, (message, kwargs) in enumerate(refusals):
        with pytest.raises(InputError, match=re.escape(message)) as refused:
            function(stack, db, f"Bad{i}", **kwargs)
        assert not isinstance(refused.value, BudgetError), message
    # the budget's own refusals stay BudgetErrors
    with pytest.raises(BudgetError, match="reserved_concurrency=500 exceeds"):
        function(stack, db, "Greedy", reserved_concurrency=500)


# -- the whole template --------------------------------------------------------------------------

def test_serverless_template_snapshot(default_template: dict[str, Any], snapshot: Any) -> None:
    assert default_template == snapshot(extension_class=JSONSnapshotExtension)


def test_mysql_gets_its_port_and_engine_family() -> None:
    stack, db = small_stack(engine="mysql")
    fn = function(stack, db)
    assert (fn.environment["DATABASE_PORT"], fn.environment["DATABASE_ENGINE"]) == ("3306", "mysql")
    assert fn.plan.reserved_concurrency == fn.allocation.connections <= db.ledger.available


def test_grant_connect_lets_another_principal_in_the_same_way() -> None:
    from aws_cdk import aws_iam as iam

    stack, db = small_stack("db.t3.micro")
    fn = function(stack, db, connections=10)
    worker = iam.Role(stack, "Worker", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    assert fn.grant_connect(worker).success
    statements = stack.resolve(worker.node.find_child("DefaultPolicy").document.to_json())["Statement"]
    assert [s["Action"] for s in statements] == ["rds-db:connect"]

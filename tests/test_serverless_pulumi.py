"""Pulumi ServerlessFunction and the ``serverless`` example program, rendered offline (mocks)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import pulumi
import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from deploy_paradigms.budget import BudgetError, BudgetExceededError, InputError
from deploy_paradigms.plans.serverless import FunctionOptions
from deploy_paradigms.pulumi import mock_engine
from deploy_paradigms.pulumi.database import Database, DatabaseArgs
from deploy_paradigms.pulumi.network import Network
from deploy_paradigms.pulumi.preview import (
    PROJECT,
    STACK,
    forget_earlier_programs,
    render_program,
    render_stack,
)
from deploy_paradigms.pulumi.serverless_function import ServerlessFunction, ServerlessFunctionArgs

M5_LARGE_USABLE = 813
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!database-instance"  # preview mocks
SECRET_LIKE = re.compile(r"password|passwd|secret_?string|private key|resolve:secretsmanager", re.IGNORECASE)
CODE = pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(event, context):\n    return 1\n")})
Records = list[dict[str, Any]]


# -- helpers -------------------------------------------------------------------------------------

@cache
def example_run(instance_class: str = "db.t3.micro") -> mock_engine.MockRun:
    return render_stack("serverless", {"instanceClass": instance_class})


def example(instance_class: str = "db.t3.micro") -> tuple[dict[str, Any], ...]:
    return tuple(example_run(instance_class).resources)


def find(records: Records | tuple[dict[str, Any], ...], rtype: str,
         name: str | None = None) -> list[dict[str, Any]]:
    return [r for r in records if r["type"] == rtype and (name is None or r["name"] == name)]


def inputs(records: Records | tuple[dict[str, Any], ...], rtype: str, name: str) -> dict[str, Any]:
    found = find(records, rtype, name)
    assert len(found) == 1, (rtype, name, [r["name"] for r in find(records, rtype)])
    return found[0]["inputs"]  # type: ignore[no-any-return]


def app_secret_arn(records: Records | tuple[dict[str, Any], ...], database: str = "database") -> str:
    """The application role's secret ARN, as the database's bootstrap invocation names it."""
    raw = inputs(records, "aws:lambda/invocation:Invocation", f"{database}-app-role")["input"]
    return str((json.loads(raw) if isinstance(raw, str) else raw)["AppSecretArn"])


def run_program(build: Callable[[], Any]) -> tuple[Any, Records]:
    """Run ``build`` as a Pulumi program under the mock engine; its result and the records."""
    run = render_program(build)  # unwraps a refusal at settlement, which Pulumi wraps per resource
    return run.result, run.resources


def database(instance_class: str = "db.m5.large", **kwargs: Any) -> Database:
    return Database("db", DatabaseArgs(network=Network("net"), instance_class=instance_class, **kwargs))


def function(db: Database, name: str = "fn", **kwargs: Any) -> ServerlessFunction:
    return ServerlessFunction(name, ServerlessFunctionArgs(database=db, code=CODE, handler="index.handler",
                                                           **kwargs))


FN = "aws:lambda/function:Function"
PROXY = "aws:rds/proxy:Proxy"
TARGETS = "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


# -- the budget ----------------------------------------------------------------------------------

def test_m5_large_reserved_concurrency_within_the_seed_budget() -> None:
    fn = inputs(example("db.m5.large"), FN, "function-function")
    assert math.ceil(0.85 * M5_LARGE_USABLE) <= fn["reservedConcurrentExecutions"] <= M5_LARGE_USABLE
    assert fn["reservedConcurrentExecutions"] == 765


def test_exactly_the_seed_budget_without_reserve_and_with_a_full_proxy() -> None:
    fn, records = run_program(lambda: function(database(reserve=0), proxy_max_connections_percent=100))
    assert fn.plan.reserved_concurrency == fn.allocation.connections == M5_LARGE_USABLE
    assert inputs(records, FN, "fn-function")["reservedConcurrentExecutions"] == M5_LARGE_USABLE
    pool = inputs(records, TARGETS, "fn-proxy-targets")["connectionPoolConfig"]
    assert pool["maxConnectionsPercent"] == 100


# -- the proxy -----------------------------------------------------------------------------------

def test_proxy_settings() -> None:
    records = example("db.m5.large")
    proxy = inputs(records, PROXY, "function-proxy")
    assert (proxy["requireTls"], proxy["idleClientTimeout"], proxy["engineFamily"]) == (
        True, 120, "POSTGRESQL")
    # the proxy logs in as the application role, with its secret (not the master user's)
    app_secret = app_secret_arn(records)
    assert proxy["auths"] == [{"authScheme": "SECRETS", "iamAuth": "REQUIRED", "secretArn": app_secret}]
    assert app_secret != SECRET_ARN
    name_of = example_run("db.m5.large").name_of
    assert [name_of(s) for s in proxy["vpcSubnetIds"]] == ["network-isolated-1", "network-isolated-2"]
    assert re.fullmatch(r"[a-z](-?[a-z0-9])*", proxy["name"]) and len(proxy["name"]) <= 60
    assert inputs(records, TARGETS, "function-proxy-targets")["connectionPoolConfig"] == {
        "connectionBorrowTimeout": 10, "maxConnectionsPercent": 93, "maxIdleConnectionsPercent": 46}
    target = inputs(records, "aws:rds/proxyTarget:ProxyTarget", "function-proxy-target")
    instance = inputs(records, "aws:rds/instance:Instance", "database-instance")
    assert target["dbInstanceIdentifier"] == instance["identifier"]
    fn = inputs(records, FN, "function-function")
    assert (fn["timeout"], fn["architectures"], fn["memorySize"]) == (30, ["arm64"], 512)


# -- security groups and IAM ---------------------------------------------------------------------

def test_security_groups_open_only_the_database_port_along_the_chain() -> None:
    records, name_of = example("db.m5.large"), example_run("db.m5.large").name_of
    ingress = sorted((name_of(r["inputs"]["securityGroupId"]),
                      name_of(r["inputs"].get("referencedSecurityGroupId")), r["inputs"].get("cidrIpv4"),
                      r["inputs"]["ipProtocol"], r["inputs"]["fromPort"],
                      r["inputs"]["toPort"]) for r in find(records, INGRESS))
    assert ingress == sorted([
        ("function-proxy-sg", "function-sg", None, "tcp", 5432, 5432),
        ("database-sg", "function-proxy-sg", None, "tcp", 5432, 5432),
        ("database-sg", "database-role-bootstrap-sg", None, "tcp", 5432, 5432),  # the role bootstrap
        ("database-sg", "budget-check-sg", None, "tcp", 5432, 5432),  # the budget check
    ])
    egress = sorted(((name_of(r["inputs"]["securityGroupId"]),
                      name_of(r["inputs"].get("referencedSecurityGroupId")), r["inputs"].get("cidrIpv4"),
                      r["inputs"]["fromPort"], r["inputs"]["toPort"])
                     for r in find(records, EGRESS)), key=repr)
    assert egress == sorted([
        ("function-sg", "function-proxy-sg", None, 5432, 5432),
        ("function-proxy-sg", "database-sg", None, 5432, 5432),
        ("database-role-bootstrap-sg", "database-sg", None, 5432, 5432),
        ("database-role-bootstrap-sg", None, "0.0.0.0/0", 443, 443),
        ("budget-check-sg", "database-sg", None, 5432, 5432),
        ("budget-check-sg", None, "0.0.0.0/0", 443, 443),
    ], key=repr)
    # No inline rules on any group (inline rules would hide next to the rule resources).
    for sg in find(records, "aws:ec2/securityGroup:SecurityGroup"):
        assert not sg["inputs"].get("ingress") and not sg["inputs"].get("egress"), sg["name"]
    groups = inputs(records, FN, "function-function")["vpcConfig"]["securityGroupIds"]
    assert [name_of(g) for g in groups] == ["function-sg"]


def test_execution_role_is_least_privilege() -> None:
    records = example("db.m5.large")
    policy = json.loads(inputs(records, "aws:iam/rolePolicy:RolePolicy", "function-role-policy")["policy"])
    by_action = {json.dumps(s["Action"]): s["Resource"] for s in policy["Statement"]}
    # The proxy's resource id (prx-...) from its ARN, as RDS answers it, not its name.
    assert re.fullmatch(r"arn:aws:rds-db:us-east-1:123456789012:dbuser:prx-[0-9a-f]{17}/app_user",
                        by_action['"rds-db:connect"'])
    assert not any("secretsmanager" in a for a in by_action)
    assert not find(records, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    proxy_policy = inputs(records, "aws:iam/rolePolicy:RolePolicy", "function-proxy-secret")["policy"]
    assert json.loads(proxy_policy)["Statement"] == [{
        "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"], "Effect": "Allow",
        "Resource": app_secret_arn(records)}]  # the application role's secret only
    assert inputs(records, "aws:cloudwatch/logGroup:LogGroup", "function-logs")["retentionInDays"] == 30
    assert inputs(records, FN, "function-function")["loggingConfig"]["logGroup"] == "function-logs"


# -- no secret in the environment ----------------------------------------------------------------

def test_environment_holds_where_and_how_never_a_secret() -> None:
    env = inputs(example("db.m5.large"), FN, "function-function")["environment"]["variables"]
    assert env == {
        "DATABASE_ENGINE": "postgres",
        "DATABASE_HOST": ("deploy-paradigms-preview-function-proxy.proxy-c0ffee000000.us-east-1"
                          ".rds.amazonaws.com"),
        "DATABASE_IAM_AUTH": "true",
        "DATABASE_NAME": "app",
        "DATABASE_PORT": "5432",
        "DATABASE_URL_PARAMS": "connection_limit=1&pool_timeout=10&connect_timeout=5&sslmode=verify-full"
                               "&socket_timeout=29&statement_timeout=28000",
        "DATABASE_USER": "app_user",
        # The pool contract: one connection per environment, statement ends before the function.
        "DATABASE_POOL_MAX": "1", "DATABASE_POOL_TIMEOUT_MS": "10000", "DATABASE_CONNECT_TIMEOUT_MS": "5000",
        "DATABASE_IDLE_TIMEOUT_MS": "60000", "DATABASE_STATEMENT_TIMEOUT_MS": "28000",
    }
    for key, value in env.items():
        assert not SECRET_LIKE.search(key) and not SECRET_LIKE.search(value), key


@pytest.mark.parametrize("extra", [
    {"DB_PASSWORD": "hunter2"},
    {"DATABASE_URL": "postgresql://app:hunter2@db.example.com/app"},
    {"DATABASE_NAME": "other"},
])
def test_credential_like_environment_is_refused(extra: dict[str, str]) -> None:
    with pytest.raises(InputError, match=re.escape(next(iter(extra)))) as refused:
        run_program(lambda: function(database(), environment=extra))
    assert not isinstance(refused.value, BudgetError)  # an input refusal, not the budget


def test_secrets_only_mode_and_a_shared_proxy() -> None:
    def build() -> tuple[ServerlessFunction, ServerlessFunction]:
        db = database()
        # A proxy with room for both: 296 connections, 150 of them for first's clients.
        first = function(db, "first", connections=300, reserved_concurrency=150,
                         proxy_max_connections_percent=36, iam_auth=False)
        second = function(db, "second", proxy=first.proxy, connections=140,
                          proxy_security_group_id=first.proxy_security_group_id)
        return first, second

    forget_earlier_programs()  # what a program refused after its body left waiting
    run = mock_engine.run_program(build, project=PROJECT, stack=STACK)
    (first, second), records = run.result, run.resources
    env = inputs(records, FN, "first-function")["environment"]["variables"]
    assert env["DATABASE_IAM_AUTH"] == "false"
    assert env["DATABASE_SECRET_ARN"] == app_secret_arn(records, "db")  # the application role's
    assert inputs(records, PROXY, "first-proxy")["auths"][0]["iamAuth"] == "DISABLED"
    https = inputs(records, EGRESS, "first-to-secretsmanager")
    assert (https["cidrIpv4"], https["fromPort"], https["toPort"]) == ("0.0.0.0/0", 443, 443)
    assert len(find(records, PROXY)) == 1 and not second.proxy_created
    ingress = inputs(records, INGRESS, "second-proxy-from-fn")
    assert run.name_of(ingress["securityGroupId"]) == "first-proxy-sg"
    # second's 140 clients are booked on first's proxy (146 left), not again on the database.
    assert (first.plan.reserved_concurrency, second.plan.reserved_concurrency) == (150, 140)
    assert first.database.ledger.allocated == first.allocation.connections == 296


# -- alarms --------------------------------------------------------------------------------------

def test_default_alarms() -> None:
    records = example("db.m5.large")
    alarms = {r["inputs"]["metricName"]: r["inputs"] for r in find(records, ALARM)}
    proxy_dim = {"ProxyName": inputs(records, PROXY, "function-proxy")["name"]}
    pinned = alarms["DatabaseConnectionsCurrentlySessionPinned"]
    assert (pinned["namespace"], pinned["dimensions"], pinned["comparisonOperator"], pinned["threshold"]) == (
        "AWS/RDS", proxy_dim, "GreaterThanThreshold", 0)
    assert pinned["period"] * pinned["evaluationPeriods"] == 900
    connections = alarms["DatabaseConnections"]
    assert (connections["dimensions"], connections["threshold"]) == (proxy_dim, math.ceil(0.9 * 765))
    throttles = alarms["Throttles"]
    assert (throttles["namespace"], throttles["dimensions"], throttles["threshold"]) == (
        "AWS/Lambda", {"FunctionName": "function-function"}, 0)


# -- refused at construction ---------------------------------------------------------------------

def test_more_reserved_concurrency_than_the_budget_is_refused() -> None:
    with pytest.raises(BudgetError, match=r"reserved_concurrency=814 exceeds .* 813"):
        run_program(lambda: function(database(reserve=0), reserved_concurrency=814,
                                     proxy_max_connections_percent=100))


def test_more_reserved_concurrency_than_the_account_allows_is_refused() -> None:
    # The database's role bootstrap holds 1 of the 400 reservable.
    # Refused when the default share settles; Pulumi wraps it per waiting resource (a ValueError).
    with pytest.raises(ValueError, match="adds up to 451, over the 400 reservable .*: db-role-bootstrap 1; "
                                         "fn 450"):
        run_program(lambda: function(database(), reserved_concurrency=450, account_concurrency_limit=500))


def test_a_second_consumer_over_the_ledger_fails_naming_both() -> None:
    def build() -> None:
        db = database()
        function(db, "orders", connections=500)
        function(db, "reports", connections=400)

    with pytest.raises(BudgetExceededError, match=r"orders \(serverless\) 493; reports \(serverless\) 400"):
        run_program(build)


def test_invalid_combinations_are_refused() -> None:
    def shared_without_its_group() -> None:
        db = database()
        function(db, "second", proxy=function(db, "first", connections=10).proxy)

    refusals: list[tuple[str, Callable[[], Any]]] = [
        ("proxy_security_group_id is required", shared_without_its_group),
        ("log_retention_days=10", lambda: function(database(), log_retention_days=10)),
        ("memory_size=64", lambda: function(database(), memory_size=64)),
        ("architecture='sparc'", lambda: function(database(), architecture="sparc")),
        ("idle_client_timeout_s=0", lambda: function(database(), idle_client_timeout_s=0)),
        ("memory_size given both", lambda: function(database(), memory_size=1024,
                                                     options=FunctionOptions(memory_size=512))),
    ]
    for message, build in refusals:
        with pytest.raises(InputError, match=re.escape(message)) as refused:
            run_program(build)
        assert not isinstance(refused.value, BudgetError), message
    # the budget's own refusals stay BudgetErrors
    with pytest.raises(BudgetError, match="reserved_concurrency=900 exceeds"):
        run_program(lambda: function(database(), reserved_concurrency=900))


# -- the whole preview ---------------------------------------------------------------------------

def test_serverless_preview_snapshot(snapshot: Any) -> None:
    assert list(example()) == snapshot(extension_class=JSONSnapshotExtension)

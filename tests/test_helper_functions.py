"""The library's four helper functions (role bootstrap, migrations, budget check, change consumer)
come from one plan (``plans/helpers.py``) and one factory per framework, so they cannot drift."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from deploy_paradigms import packaging
from deploy_paradigms.budget import InputError
from deploy_paradigms.plans.helpers import HELPER_KINDS, VPC_AND_LOGS, plan_helper_function
from deploy_paradigms.pulumi.helper_function import policy_document

PACKAGE = Path(__file__).resolve().parents[1] / "constructs" / "deploy_paradigms"
DETAILS = {"app_user": "app_user", "target": "db", "mode": "fail", "slot": "dp_slot"}
SITES = [f"{framework}/{module}.py" for framework in ("cdk", "pulumi")
         for module in ("database", "migrations", "budget_check", "change_stream")]


@pytest.mark.parametrize("site", SITES)
def test_no_helper_builds_its_own_function(site: str) -> None:
    """Every helper goes through the factory: no Lambda function, log group or execution role is
    constructed in these modules."""
    tree = ast.parse((PACKAGE / site).read_text())
    built = sorted({ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)
                    and ast.unparse(node.func) in {
                        "lambda_.Function", "aws.lambda_.Function", "logs.LogGroup",
                        "aws.cloudwatch.LogGroup", "vpc_execution_role", "lambda_role",
                        "aws.iam.RolePolicy"}})
    if site == "pulumi/database.py":  # the RDS log exports' groups, named by RDS, are the database's own
        built = [b for b in built if b != "aws.cloudwatch.LogGroup"]
    assert built == [], f"{site} builds {built} itself; use create_helper_function"


@pytest.mark.parametrize("kind", HELPER_KINDS)
def test_every_helper_plan_has_the_shared_shape(kind: str) -> None:
    plan = plan_helper_function(kind, name="app", timeout_s=300 if kind in ("migrations", "change_consumer")
                                else None, details=DETAILS)
    assert plan.runtime == packaging.HELPER_RUNTIME
    assert plan.reserved_concurrency == 1 and plan.memory_mb == 256 and plan.log_retention_days == 30
    assert VPC_AND_LOGS in plan.grants
    assert any("database_secret" in g.resources for g in plan.grants)


def test_helper_inputs_are_checked() -> None:
    with pytest.raises(InputError, match="helper kind='cron'"):
        plan_helper_function("cron", name="x")
    with pytest.raises(InputError, match="timeout_s=None"):
        plan_helper_function("migrations", name="x")
    with pytest.raises(InputError, match="log_retention_days=42"):
        plan_helper_function("budget_check", name="x", log_retention_days=42)
    with pytest.raises(InputError, match="details needs 'slot'"):
        plan_helper_function("change_consumer", name="x", timeout_s=60)
    with pytest.raises(InputError, match="memory_size=64"):
        plan_helper_function("change_consumer", name="x", timeout_s=60, memory_mb=64)


def test_pulumi_policy_follows_the_plan_order() -> None:
    plan = plan_helper_function("role_bootstrap", name="db", details={"app_user": "app_user"})
    document = policy_document(plan.grants, "arn:logs", {"database_secret": "arn:m", "app_secret": "arn:a"})
    assert [s["Action"] for s in document["Statement"]][:2] == [
        "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"]
    assert document["Statement"][0]["Resource"] == ["arn:m", "arn:a"]
    assert document["Statement"][2]["Resource"] == ["arn:logs", "arn:logs:*"]


def test_pulumi_helpers_render_their_plans() -> None:
    from deploy_paradigms.pulumi import (
        Database,
        DatabaseArgs,
        DatabaseMigrations,
        DatabaseMigrationsArgs,
        Network,
    )
    from deploy_paradigms.pulumi.budget_check import BudgetCheck, BudgetCheckArgs
    from deploy_paradigms.pulumi.preview import render_program

    def program() -> None:
        db = Database("db", DatabaseArgs(network=Network("net")))
        DatabaseMigrations("app", DatabaseMigrationsArgs(
            database=db, migrations_dir=str(PACKAGE / "runtime" / "sample_migrations")))
        BudgetCheck("check", BudgetCheckArgs(database=db))

    records = render_program(program).resources
    functions = {r["name"]: r["inputs"] for r in records if r["type"] == "aws:lambda/function:Function"}
    expected = {"db-role-bootstrap": plan_helper_function("role_bootstrap", name="db", details=DETAILS),
                "app-migrations": plan_helper_function("migrations", name="app", timeout_s=300,
                                                       details=DETAILS),
                "check-function": plan_helper_function("budget_check", name="check", details=DETAILS)}
    for name, plan in expected.items():
        inputs = functions[name]
        assert (inputs["runtime"], inputs["memorySize"], inputs["timeout"],
                inputs["reservedConcurrentExecutions"], inputs["handler"]) == (
            plan.runtime, plan.memory_mb, plan.timeout_s, plan.reserved_concurrency, plan.handler), name
        policy = next(r for r in records if r["name"] == plan.names.pulumi_role_policy)["inputs"]["policy"]
        actions = [s["Action"] for s in json.loads(policy)["Statement"]]
        wanted = [a for g in plan.grants if g != VPC_AND_LOGS for a in g.actions]
        assert all(any(a == got or (isinstance(got, list) and a in got) for got in actions) for a in wanted)
        ingress = next(r for r in records if r["name"] == f"db-from-{plan.names.pulumi_ingress}")
        assert ingress["inputs"]["fromPort"] == 5432

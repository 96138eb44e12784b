"""The pool contract, deploy strategies and compute models in the framework-free planner."""

from __future__ import annotations

import json

import pytest

from deploy_paradigms import cli
from deploy_paradigms.budget import BudgetError, ConnectionLedger, describe_connection_limit
from deploy_paradigms.budget.plan import plan_containers, plan_managed_instances, plan_serverless
from deploy_paradigms.budget.recipes import CLIENTS, recipe, recipes_table
from deploy_paradigms.runtime import connection
from deploy_paradigms.runtime.settings import DatabaseSettings

MICRO = describe_connection_limit("postgres", "db.t3.micro")
AVAILABLE = ConnectionLedger(MICRO).available  # 72


def test_containers_render_the_pool_contract_from_the_plan() -> None:
    plan = plan_containers(MICRO, AVAILABLE, max_tasks=4)
    assert plan.pool.environment() == {
        "DATABASE_POOL_MAX": "9", "DATABASE_POOL_TIMEOUT_MS": "10000", "DATABASE_CONNECT_TIMEOUT_MS": "5000",
        "DATABASE_IDLE_TIMEOUT_MS": "60000", "DATABASE_STATEMENT_TIMEOUT_MS": "28000"}
    assert plan.pool.pool_max == plan.url.connection_limit == plan.pool_size


def test_serverless_statement_timeout_ends_before_the_function_and_idle_before_the_proxy() -> None:
    plan = plan_serverless(MICRO, AVAILABLE, function_timeout_s=15, borrow_timeout_s=5,
                           idle_client_timeout_s=40)
    assert plan.pool.pool_max == 1
    # One number with the URL's statement_timeout (issue 12): 2 s before the 15 s function timeout.
    assert plan.pool.statement_timeout_ms == plan.url.statement_timeout == 13_000
    assert plan.pool.idle_timeout_ms == 20_000  # half the proxy's 40 s idle client timeout


def test_a_prisma7_default_pool_overruns_the_plan_the_contract_does_not() -> None:
    # The numbers: pool 9 planned on db.t3.micro, 8 tasks at a deploy, 72 available.
    plan = plan_containers(MICRO, AVAILABLE, max_tasks=4)
    prisma7_default_max = 10  # @prisma/adapter-pg -> node-postgres Pool max
    assert prisma7_default_max * plan.peak_tasks == 80 > AVAILABLE
    assert plan.pool.pool_max * plan.peak_tasks == 72 <= AVAILABLE


def test_runtime_reads_the_contract_over_the_url_parameters() -> None:
    settings = DatabaseSettings.from_env({
        "DATABASE_HOST": "h", "DATABASE_PORT": "5432", "DATABASE_NAME": "d", "DATABASE_USER": "u",
        "DATABASE_URL_PARAMS": "connection_limit=5&pool_timeout=10&sslmode=require",
        "DATABASE_POOL_MAX": "3", "DATABASE_POOL_TIMEOUT_MS": "2500", "DATABASE_CONNECT_TIMEOUT_MS": "4000",
        "DATABASE_IDLE_TIMEOUT_MS": "30000", "DATABASE_STATEMENT_TIMEOUT_MS": "7000"})
    params = connection.url_parameters(settings)
    timeouts = (params["connection_limit"], params["pool_timeout"], params["connect_timeout"])
    assert timeouts == ("3", "2.5", "4")
    assert params["statement_timeout"] == "7000" and params["sslmode"] == "require"
    assert connection.idle_timeout_s(settings) == 30.0


def test_a_malformed_contract_variable_is_named() -> None:
    with pytest.raises(RuntimeError, match=r"DATABASE_POOL_MAX='ten' must be a whole number"):
        DatabaseSettings.from_env({"DATABASE_HOST": "h", "DATABASE_PORT": "1", "DATABASE_NAME": "d",
                                   "DATABASE_USER": "u", "DATABASE_POOL_MAX": "ten"})


@pytest.mark.parametrize("strategy", ["blue-green", "canary", "linear"])
def test_blue_green_canary_and_linear_run_both_revisions_at_full_size(strategy: str) -> None:
    rolling = plan_containers(MICRO, AVAILABLE, max_tasks=4, maximum_percent=150)
    other = plan_containers(MICRO, AVAILABLE, max_tasks=4, maximum_percent=150, deploy_strategy=strategy)
    assert (rolling.peak_tasks, rolling.pool_size) == (6, 12)
    assert (other.peak_tasks, other.pool_size) == (8, 9)  # 2x whatever maximumPercent says
    assert strategy in other.summary()
    with pytest.raises(BudgetError, match=rf"both revisions at full size through a {strategy} deploy"):
        plan_containers(MICRO, AVAILABLE, max_tasks=4, pool_size=12, maximum_percent=150,
                        deploy_strategy=strategy)


def test_an_unknown_deploy_strategy_is_refused() -> None:
    with pytest.raises(BudgetError, match=r"deploy_strategy='recreate' is not one of rolling, blue-green"):
        plan_containers(MICRO, AVAILABLE, max_tasks=4, deploy_strategy="recreate")


def test_managed_instances_multiply_environments_by_processes_and_pool() -> None:
    m5 = describe_connection_limit("postgres", "db.m5.large")
    plan = plan_managed_instances(m5, ConnectionLedger(m5).available, per_environment_concurrency=16)
    assert plan.processes_per_environment == 16 and plan.pool_per_process == 1
    assert plan.max_environments == 772 // 16 == 48
    assert plan.connections == 48 * 16 <= 772
    assert "lambda-managed-instances" in plan.compute_model
    node = plan_managed_instances(m5, 772, per_environment_concurrency=64, processes_per_environment=1,
                                  pool_per_process=8)
    assert (node.max_environments, node.connections) == (96, 768)


def test_one_connection_per_environment_is_refused_on_managed_instances() -> None:
    with pytest.raises(BudgetError, match=r"reserved_concurrency=50 does not bound Lambda Managed Instances.*"
                                          r"one connection per environment"):
        plan_managed_instances(MICRO, AVAILABLE, per_environment_concurrency=16, reserved_concurrency=50)
    with pytest.raises(BudgetError, match=r"max_environments=10 x 16 processes x pool 1 needs 160 .* <= 4"):
        plan_managed_instances(MICRO, AVAILABLE, per_environment_concurrency=16, max_environments=10)


def test_every_client_has_a_recipe_with_the_plans_numbers() -> None:
    pool = plan_containers(MICRO, AVAILABLE, max_tasks=4).pool
    for client in CLIENTS:
        r = recipe(client, pool)
        assert any(s.variable == "DATABASE_POOL_MAX" and s.value == 9 for s in r.settings), client
        assert ("DATABASE_URL_PARAMS" if client == "prisma6" else "DATABASE_POOL_MAX") in r.code, client
    sqlalchemy = {s.option: s.value for s in recipe("sqlalchemy", pool).settings}
    assert (sqlalchemy["pool_size"], sqlalchemy["max_overflow"], sqlalchemy["pool_timeout"]) == (9, 0, 10)
    assert "PrismaMariaDb" in recipe("prisma7", pool, postgres=False).code
    with pytest.raises(BudgetError, match="client='psycopg-pool' is PostgreSQL only"):
        recipe("psycopg-pool", pool, postgres=False)
    assert "| Prisma ORM 7 (@prisma/adapter-pg) | `max` |" in recipes_table(pool)


def test_cli_prints_a_clients_recipe(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["budget", "--instance-class", "db.t3.micro", "--client", "prisma7", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pool_contract"]["containers"]["DATABASE_POOL_MAX"] == "9"
    settings = {s["option"]: s["value"] for s in report["recipes"]["containers"]["settings"]}
    assert settings["max"] == 9 and settings["connectionTimeoutMillis"] == 10000
    assert cli.main(["budget", "--instance-class", "db.t3.micro", "--client", "sqlalchemy"]) == 0
    assert "max_overflow=0" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["budget", "--client", "hibernate"])

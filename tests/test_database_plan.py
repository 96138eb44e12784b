"""``plans/database.py`` owns every decision of ``Database``; the CDK and Pulumi renderers only
render it, in named steps of at most 60 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from deploy_paradigms.budget import BudgetError, Engine, InputError
from deploy_paradigms.plans.database import (
    DEFAULT_LOG_RETENTION_DAYS,
    ENGINE_VERSIONS,
    MIN_BACKUP_RETENTION_DAYS,
    plan_database,
)

PACKAGE = Path(__file__).resolve().parents[1] / "constructs" / "deploy_paradigms"
MODULES = ("cdk/database.py", "pulumi/database.py", "plans/database.py", "plans/helpers.py",
           "cdk/helper_function.py", "pulumi/helper_function.py")
MAX_LINES = 60


def _code_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function from ``def`` to its last line, its docstring not counted."""
    lines = (node.end_lineno or node.lineno) - node.lineno + 1
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        lines -= (first.end_lineno or first.lineno) - first.lineno + 1
    return lines


@pytest.mark.parametrize("module", MODULES)
def test_no_function_is_over_sixty_lines(module: str) -> None:
    tree = ast.parse((PACKAGE / module).read_text())
    long = {node.name: _code_lines(node) for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _code_lines(node) > MAX_LINES}
    assert not long, f"{module}: split into named steps: {long}"


def test_constructors_read_as_named_steps() -> None:
    """Both renderers build a database through the same steps."""
    steps = {"_book_ledger", "_create_network_access", "_create_instance", "_create_cluster",
             "_bootstrap_app_role", "_adopt"}
    for module in ("cdk/database.py", "pulumi/database.py"):
        tree = ast.parse((PACKAGE / module).read_text())
        database = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Database")
        methods = {n.name for n in database.body if isinstance(n, ast.FunctionDef)}
        assert steps <= methods, f"{module} lacks {steps - methods}"


def test_omitted_means_the_plan_default() -> None:
    plan = plan_database()
    assert (plan.engine, plan.instance_class, plan.port, plan.database_name, plan.master_username,
            plan.app_username) == (Engine.POSTGRES, "db.t3.micro", 5432, "app", "app_admin", "app_user")
    assert plan.backup_retention_days == MIN_BACKUP_RETENTION_DAYS
    assert plan.log_retention_days == DEFAULT_LOG_RETENTION_DAYS
    assert plan.deletion_protection and plan.snapshot_on_delete and plan.storage_encrypted
    assert (plan.allocated_storage_gib, plan.max_allocated_storage_gib) == (20, 100)
    assert plan.version_pin == "17" and plan.family == "postgres17"
    assert plan.parameters == {"rds.force_ssl": "1"}
    assert not plan.performance_insights  # not offered on db.t3.micro


def test_given_values_are_planned() -> None:
    plan = plan_database(engine="mysql", instance_class="m5.large", max_connections=400, port=3307,
                         parameters={"long_query_time": "2"}, multi_az=True, engine_version="8.0.39",
                         backup_retention_days=14, storage_autoscaling=False)
    assert plan.parameters == {"require_secure_transport": "ON", "long_query_time": "2",
                               "max_connections": "400"}
    assert (plan.family, plan.version_pin, plan.version_drifts) == ("mysql8.0", "8.0.39", True)
    assert (plan.port, plan.multi_az, plan.backup_retention_days) == (3307, True, 14)
    assert plan.max_allocated_storage_gib is None and plan.performance_insights


@pytest.mark.parametrize(("inputs", "error", "needle"), [
    ({"port": 80}, InputError, "port=80"),
    ({"performance_insights": True}, InputError, "Performance Insights"),
    ({"parameters": {"rds.force_ssl": "0"}}, InputError, "unencrypted"),
    ({"parameters": {"max_connections": "9"}}, BudgetError, "bypass the connection budget"),
    ({"parameters": {"superuser_reserved_connections": "9"}}, BudgetError, "reserve="),
    ({"deletion_protection": False}, InputError, "deletion_protection_reason="),
    ({"backup_retention_days": 3}, InputError, "keep at least a week of backups"),
    ({"backup_retention_days": 40}, InputError, "between 0 and 35"),
    ({"allocated_storage_gib": 70_000}, InputError, "65,536"),
    ({"database_name": "my-db"}, InputError, "database_name='my-db'"),
    ({"app_username": "app_admin"}, InputError, "is the master user"),
    ({"subnet_tier": "public"}, InputError, "subnet_tier='public'"),
    ({"log_retention_days": 42}, InputError, "log_retention_days=42"),
    ({"engine": "mysql", "logical_replication": True}, InputError, "rds.logical_replication"),
    ({"instance_class": "db.t2.micro"}, InputError, "no longer offers db.t2"),
    ({"engine_version": "x"}, InputError, "does not start with a version number"),
])
def test_each_refusal_has_its_type(inputs: dict[str, object], error: type[Exception], needle: str) -> None:
    """InputError for inputs, BudgetError only for the connection budget."""
    with pytest.raises(InputError, match=needle.replace("(", r"\(")) as raised:
        plan_database(**inputs)  # type: ignore[arg-type]
    assert type(raised.value) is error


def test_one_engine_version_table_for_both_frameworks() -> None:
    from deploy_paradigms.cdk import database as cdk_database
    from deploy_paradigms.pulumi import database as pulumi_database

    cdk_defaults = {
        Engine.POSTGRES: cdk_database.DEFAULT_POSTGRES_VERSION.postgres_full_version,
        Engine.MYSQL: cdk_database.DEFAULT_MYSQL_VERSION.mysql_full_version,
        Engine.MARIADB: cdk_database.DEFAULT_MARIADB_VERSION.maria_db_full_version,
        Engine.AURORA_POSTGRESQL: cdk_database.DEFAULT_AURORA_POSTGRES_VERSION.aurora_postgres_full_version,
        Engine.AURORA_MYSQL: cdk_database.DEFAULT_AURORA_MYSQL_VERSION.aurora_mysql_full_version,
    }
    assert cdk_defaults == {engine: version.full for engine, version in ENGINE_VERSIONS.items()}
    pulumi_defaults = {engine: (d.version, d.family, d.log_exports)
                       for engine, d in pulumi_database.ENGINE_DEFAULTS.items()}
    assert pulumi_defaults == {engine: (v.pin, v.family, v.log_exports)
                               for engine, v in ENGINE_VERSIONS.items()}
    for version in ENGINE_VERSIONS.values():
        assert version.full.startswith(version.pin) and version.pin.startswith(version.major.split(".")[0])

"""Pulumi ``DatabaseMigrations``: an invocation of the migration function, direct to the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy_paradigms import packaging
from deploy_paradigms.budget import BudgetError
from deploy_paradigms.pulumi import DatabaseMigrations, DatabaseMigrationsArgs
from tests.test_serverless_pulumi import database, find, inputs, run_program

MIGRATIONS = Path(__file__).parent / "fixtures" / "migrations"


def test_an_invocation_runs_the_migrations_directly_against_the_database() -> None:
    def build() -> DatabaseMigrations:
        return DatabaseMigrations("app", DatabaseMigrationsArgs(database=database("db.t3.micro"),
                                                                migrations_dir=str(MIGRATIONS)))

    _, records = run_program(build)
    checksum = packaging.archive_hash(packaging.lambda_archive("migrate", migrations_dir=MIGRATIONS))
    invocation = inputs(records, "aws:lambda/invocation:Invocation", "app-migrate")
    assert invocation["triggers"] == {"migrations": checksum}  # runs again when the SQL files change
    fn = inputs(records, "aws:lambda/function:Function", "app-migrations")
    env = fn["environment"]["variables"]
    (db,) = [r["inputs"] for r in find(records, "aws:rds/instance:Instance")]
    assert "proxy" not in env["DATABASE_HOST"] and env["DATABASE_SECRET_ARN"]
    assert (fn["handler"], fn["reservedConcurrentExecutions"]) == (packaging.MIGRATE_HANDLER, 1)
    assert not find(records, "aws:rds/proxy:Proxy")
    ingress = inputs(records, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                     "db-from-app-migrations")
    assert (ingress["fromPort"], ingress["toPort"]) == (5432, 5432)
    assert db["instanceClass"] == "db.t3.micro"


def test_a_database_without_a_reserve_is_refused() -> None:
    with pytest.raises(BudgetError, match=r"reserve=0 on db.t3.micro leaves migrations no connection"):
        run_program(lambda: DatabaseMigrations("app", DatabaseMigrationsArgs(
            database=database("db.t3.micro", reserve=0), migrations_dir=str(MIGRATIONS))))


def test_the_migration_function_is_booked_on_the_account_ledger() -> None:
    from deploy_paradigms.pulumi.database import deployment

    def build() -> list[tuple[str, int]]:
        DatabaseMigrations("app", DatabaseMigrationsArgs(database=database("db.t3.micro"),
                                                         migrations_dir=str(MIGRATIONS)))
        (account,) = deployment().accounts
        return [(r.function, r.concurrency) for r in account.reservations]

    booked, _ = run_program(build)
    assert booked == [("db-role-bootstrap", 1), ("app", 1)]

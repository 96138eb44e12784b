"""CDK ``DatabaseMigrations``: a trigger runs the migration function after the database and
before the service, directly against the database, on the ledger's reserve."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Template

from deploy_paradigms import packaging
from deploy_paradigms.budget import BudgetError
from deploy_paradigms.cdk import ContainerService, Database, DatabaseMigrations

MIGRATIONS = Path(__file__).parent / "fixtures" / "migrations"
IMAGE = ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/python:3.13-slim")


def stack(**db_props: Any) -> tuple[cdk.Stack, Database]:
    app = cdk.App(analytics_reporting=False)
    st = cdk.Stack(app, "Migrate", env=cdk.Environment(region="eu-west-1"))
    vpc = ec2.Vpc(st, "Vpc", max_azs=2, nat_gateways=1, subnet_configuration=[
        ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
        ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    return st, Database(st, "Db", vpc=vpc, **db_props)


def of_type(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == rtype}


def test_migrations_run_before_the_service_directly_against_the_database() -> None:
    st, db = stack()
    web = ContainerService(st, "Web", database=db, image=IMAGE)
    migrations = DatabaseMigrations(st, "Migrations", database=db, migrations_dir=str(MIGRATIONS),
                                    run_before=[web])
    template = Template.from_stack(st).to_json()
    (trigger_id,) = of_type(template, "Custom::Trigger")
    (service,) = of_type(template, "AWS::ECS::Service").values()
    assert trigger_id in service.get("DependsOn", []), "the service must wait for the migrations"
    (trigger,) = of_type(template, "Custom::Trigger").values()
    (instance_id,) = of_type(template, "AWS::RDS::DBInstance")
    assert instance_id in trigger.get("DependsOn", []), "the migrations must wait for the database"
    fn_id = st.get_logical_id(migrations.function.node.default_child)  # type: ignore[arg-type]
    fn = template["Resources"][fn_id]["Properties"]
    env = fn["Environment"]["Variables"]
    assert env["DATABASE_HOST"] == {"Fn::GetAtt": [instance_id, "Endpoint.Address"]}  # not a proxy
    assert env["DATABASE_SECRET_ARN"] and "DATABASE_PASSWORD" not in env
    assert env["MIGRATIONS_LOCK_TIMEOUT_S"] == "10"
    assert (fn["Handler"], fn["ReservedConcurrentExecutions"]) == (packaging.MIGRATE_HANDLER, 1)
    assert not of_type(template, "AWS::RDS::DBProxy")
    # The database's security group admits the migration function on its port.
    sg_id = st.get_logical_id(migrations.security_group.node.default_child)  # type: ignore[arg-type]
    ingress = [r["Properties"] for r in of_type(template, "AWS::EC2::SecurityGroupIngress").values()
               if r["Properties"].get("SourceSecurityGroupId") == {"Fn::GetAtt": [sg_id, "GroupId"]}]
    assert [(r["FromPort"], r["ToPort"]) for r in ingress] == [(5432, 5432)]
    # Reads only the database secret.
    policies = json.dumps(of_type(template, "AWS::IAM::Policy"))
    assert "secretsmanager:GetSecretValue" in policies


def test_the_bundle_carries_the_sql_files() -> None:
    files = packaging.bundle_files("migrate", migrations_dir=MIGRATIONS)
    assert files["deploy_paradigms/runtime/migrations/0001_notes.sql"].startswith(b"CREATE TABLE")
    assert "deploy_paradigms/runtime/migrate.py" in files and any(p.startswith("pg8000/") for p in files)


def test_a_database_without_a_reserve_is_refused() -> None:
    st, db = stack(reserve=0)
    with pytest.raises(BudgetError, match=r"reserve=0 on db.t3.micro leaves migrations no connection"):
        DatabaseMigrations(st, "Migrations", database=db, migrations_dir=str(MIGRATIONS))


def test_bad_migration_file_names_fail_the_synth(tmp_path: Path) -> None:
    (tmp_path / "add users.sql").write_text("SELECT 1")
    st, db = stack()
    with pytest.raises(packaging.PackagingError, match=r"migration file 'add users\.sql'"):
        DatabaseMigrations(st, "Migrations", database=db, migrations_dir=str(tmp_path))


def test_the_migration_function_is_booked_on_the_account_ledger() -> None:
    from deploy_paradigms.cdk.database import account_key, deployment_of

    st, db = stack()
    DatabaseMigrations(st, "Migrations", database=db, migrations_dir=str(MIGRATIONS))
    account = deployment_of(st).account(*account_key(st))
    assert [(r.function, r.concurrency) for r in account.reservations] == [
        ("Migrate/Db/RoleBootstrap", 1), ("Migrate/Migrations", 1)]
    # A later consumer's cap comes from what the account has left after them.
    assert account.remaining == 900 - 2

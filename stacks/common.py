"""Pieces every example stack shares: context keys, the VPC and the database."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from deploy_paradigms.budget import BudgetError
from deploy_paradigms.cdk.budget_check import BudgetCheck
from deploy_paradigms.cdk.database import Database

#: Context keys the example stacks read (``cdk synth Paas -c instanceClass=db.m5.large``).
CONTEXT_KEYS = {
    "engine": "postgres (default), mysql, mariadb, aurora-postgresql, aurora-mysql",
    "instanceClass": "database class, default db.t3.micro (cheapest that fits the examples)",
    "maxConnections": "max_connections of a custom parameter group (overrides the table)",
    "reserve": "connections kept for admin and migrations (default 5 %, at least 3)",
    "multiAz": "true for a Multi-AZ standby (about twice the database cost)",
}


def context_int(scope: Construct, key: str) -> int | None:
    raw = scope.node.try_get_context(key)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise BudgetError(f"context {key}={raw!r} must be a whole number, e.g. -c {key}=100") from None


def context_bool(scope: Construct, key: str) -> bool:
    raw = scope.node.try_get_context(key)
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    if str(raw).lower() in ("true", "false"):
        return str(raw).lower() == "true"
    raise BudgetError(f"context {key}={raw!r} must be true or false")


def check_context(scope: Construct) -> None:
    """Refuse misspelled context keys: a typo would silently fall back to a default."""
    known = set(CONTEXT_KEYS)
    for key in ("instance_class", "instance-class", "instancetype", "instanceType", "max_connections"):
        if scope.node.try_get_context(key) is not None:
            raise BudgetError(f"context key {key!r} is not read by the example stacks; known keys: "
                              f"{', '.join(sorted(known))} (e.g. -c instanceClass=db.m5.large)")


def example_vpc(scope: Stack) -> ec2.Vpc:
    """Two AZs: public (ALB, one NAT gateway), private with egress (functions, tasks),
    isolated (database). Flow logs kept a year (the Pulumi Network's default). One NAT gateway costs about
    USD 33/month plus data; the serverless path needs no NAT with IAM auth."""
    vpc = ec2.Vpc(
        scope, "Vpc",
        max_azs=2,
        nat_gateways=1,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
            ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22),
            ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
        ],
    )
    vpc.add_flow_log("FlowLogs", destination=ec2.FlowLogDestination.to_cloud_watch_logs(
        logs.LogGroup(scope, "FlowLogsGroup", retention=logs.RetentionDays.ONE_YEAR)))
    return vpc


def example_database_props(scope: Stack) -> dict[str, Any]:
    """The ``Database`` keywords the ``engine``/``instanceClass``/... context chooses."""
    check_context(scope)
    return {
        "engine": str(scope.node.try_get_context("engine") or "postgres"),
        "instance_class": str(scope.node.try_get_context("instanceClass") or "db.t3.micro"),
        "max_connections": context_int(scope, "maxConnections"),
        "reserve": context_int(scope, "reserve"),
        "multi_az": context_bool(scope, "multiAz"),
    }


def example_database(scope: Stack, vpc: ec2.IVpc) -> Database:
    """The database every example uses, chosen by the ``engine``/``instanceClass`` context."""
    return Database(scope, "Database", vpc=vpc, **example_database_props(scope))


def example_budget_check(scope: Stack, database: Database) -> BudgetCheck:
    """The post-deploy check every example carries: after each deploy the live database, its
    proxies and the account's Lambda quota are compared with the plan. Default ``fail`` mode: a
    real budget below the plan fails the deployment and CloudFormation rolls it back, so a deployed
    example is one whose ledger holds (``mode="alarm"`` would only raise an alarm)."""
    return BudgetCheck(scope, "BudgetCheck", database=database)


def acknowledge_example_database(database: Database, *, reached_by: str) -> None:
    """cdk-nag findings on the examples' deliberate database choices, each with its reason."""
    if not database.multi_az:
        Validations.of(database).acknowledge(Acknowledgment(
            id="AwsSolutions-RDS3",
            reason="example stack: single-AZ keeps it cheap (a standby doubles the instance cost); "
                   "-c multiAz=true adds one"))
    Validations.of(database).acknowledge(Acknowledgment(
        id="AwsSolutions-RDS11",
        reason=f"the engine's default port: only {reached_by} may reach it, and every client reads "
               f"the port from the Database construct (DATABASE_PORT), so a custom port adds nothing"))

"""CDK ``Database``: data-safety defaults, the TLS parameter group, bring-your-own."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Match, Template

from deploy_paradigms.budget import BudgetError, InputError
from deploy_paradigms.cdk.database import Database


def _stack() -> tuple[cdk.Stack, ec2.Vpc]:
    stack = cdk.Stack(cdk.App(), "T", env=cdk.Environment(region="eu-west-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    return stack, vpc


@pytest.fixture(scope="module")
def template() -> Template:
    stack, vpc = _stack()
    Database(stack, "Db", vpc=vpc, instance_class="db.m5.large", multi_az=True, max_connections=500)
    return Template.from_stack(stack)


def test_data_safety_defaults(template: Template) -> None:
    template.has_resource("AWS::RDS::DBInstance", {
        "DeletionPolicy": "Snapshot",
        "UpdateReplacePolicy": "Snapshot",
        "Properties": Match.object_like({
            "StorageEncrypted": True,
            "DeletionProtection": True,
            "BackupRetentionPeriod": 7,
            "MultiAZ": True,
            "AutoMinorVersionUpgrade": True,
            "PubliclyAccessible": False,
            "EnableIAMDatabaseAuthentication": True,
            "ManageMasterUserPassword": True,
            "DBInstanceClass": "db.m5.large",
            "EngineVersion": "17.6",
            "CopyTagsToSnapshot": True,
        }),
    })


def test_no_password_in_template(template: Template) -> None:
    instance: dict[str, Any] = next(iter(template.find_resources("AWS::RDS::DBInstance").values()))
    assert "MasterUserPassword" not in instance["Properties"]


def test_parameter_group_forces_tls_and_sets_max_connections(template: Template) -> None:
    template.has_resource_properties("AWS::RDS::DBParameterGroup", {
        "Parameters": {"rds.force_ssl": "1", "max_connections": "500"},
    })


def test_security_group_has_no_ingress_and_no_egress_by_default(template: Template) -> None:
    groups = template.find_resources("AWS::EC2::SecurityGroup")
    (db_group,) = [k for k in groups if k.startswith("DbSecurityGroup")]
    assert "SecurityGroupIngress" not in groups[db_group]["Properties"]
    # the one way in: the application role's bootstrap, on the database port
    (ingress,) = template.find_resources("AWS::EC2::SecurityGroupIngress").values()
    assert ingress["Properties"]["GroupId"] == {"Fn::GetAtt": [db_group, "GroupId"]}
    assert ingress["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0].startswith("DbRoleBootstrap")


def test_budget_comes_from_the_override() -> None:
    stack, vpc = _stack()
    db = Database(stack, "Db", vpc=vpc, instance_class="db.m5.large", max_connections=500, reserve=0)
    assert db.limit.usable == 490 and db.ledger.available == 490


def test_short_backups_refused() -> None:
    stack, vpc = _stack()
    with pytest.raises(InputError, match="backup_retention_days=1 is below the 7-day minimum"):
        Database(stack, "Db", vpc=vpc, backup_retention_days=1)


def test_existing_database_needs_its_secret() -> None:
    stack, vpc = _stack()
    sg = ec2.SecurityGroup.from_security_group_id(stack, "Sg", "sg-123")
    with pytest.raises(InputError, match="secret is required for an existing database"):
        Database.from_existing(stack, "Db", vpc=vpc, engine="postgres", instance_class="db.m5.large",
                               instance_identifier="prod", endpoint_address="prod.example", port=5432,
                               secret=None, security_group=sg, share=100)


def test_existing_database_carries_its_budget() -> None:
    stack, vpc = _stack()
    sg = ec2.SecurityGroup.from_security_group_id(stack, "Sg", "sg-123")
    secret = secretsmanager.Secret.from_secret_complete_arn(
        stack, "Secret", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf")
    db = Database.from_existing(stack, "Db", vpc=vpc, engine="postgres", max_connections=200,
                                instance_identifier="prod", endpoint_address="prod.example", port=5432,
                                secret=secret, security_group=sg, share=180)
    assert db.ledger.available == 180
    assert db.instance is None and db.secret is secret
    Template.from_stack(stack).resource_count_is("AWS::RDS::DBInstance", 0)


def test_aurora_cluster_defaults() -> None:
    stack, vpc = _stack()
    db = Database(stack, "Db", vpc=vpc, engine="aurora-postgresql", instance_class="db.r6g.large")
    assert db.cluster is not None and db.limit.max_connections == 1722
    template = Template.from_stack(stack)
    template.has_resource("AWS::RDS::DBCluster", {
        "DeletionPolicy": "Snapshot",
        "Properties": Match.object_like({"StorageEncrypted": True, "DeletionProtection": True,
                                         "BackupRetentionPeriod": 7, "ManageMasterUserPassword": True,
                                         "EnableIAMDatabaseAuthentication": True}),
    })
    template.has_resource_properties("AWS::RDS::DBClusterParameterGroup",
                                     {"Parameters": {"rds.force_ssl": "1"}})


def test_serverless_v2_minimum_and_log_retention_are_inputs() -> None:
    """``min_acu`` reaches both the cluster and the budget (Aurora PostgreSQL caps connections
    at a 0.5 ACU minimum); ``log_retention`` reaches the log exports' retention."""
    from aws_cdk import aws_logs as logs

    from deploy_paradigms.budget import describe_connection_limit

    stack, vpc = _stack()
    db = Database(stack, "Db", vpc=vpc, engine="aurora-postgresql", instance_class="db.serverless",
                  max_acu=16, min_acu=1, log_retention=logs.RetentionDays.THREE_MONTHS)
    assert db.limit == describe_connection_limit("aurora-postgresql", "db.serverless", max_acu=16, min_acu=1)
    assert db.limit.max_connections > describe_connection_limit(
        "aurora-postgresql", "db.serverless", max_acu=16).max_connections  # the 0.5 ACU cap is lifted
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::RDS::DBCluster", {
        "ServerlessV2ScalingConfiguration": {"MinCapacity": 1, "MaxCapacity": 16}})
    template.has_resource_properties("Custom::LogRetention", {"RetentionInDays": 90})


def test_port_parameters_key_and_insights_are_inputs() -> None:
    from aws_cdk import aws_kms as kms

    stack, vpc = _stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    db = Database(stack, "Db", vpc=vpc, instance_class="db.m5.large", port=6432,
                  parameters={"log_min_duration_statement": "500"}, storage_encryption_key=key,
                  performance_insights=False)
    assert db.port == 6432
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::RDS::DBInstance", {
        "Port": "6432", "KmsKeyId": Match.any_value(), "StorageEncrypted": True,
        "EnablePerformanceInsights": False})
    template.has_resource_properties("AWS::RDS::DBParameterGroup", {"Parameters": {
        "log_min_duration_statement": "500", "rds.force_ssl": "1"}})


def test_aurora_instances_get_performance_insights_where_supported() -> None:
    stack, vpc = _stack()
    Database(stack, "Db", vpc=vpc, engine="aurora-mysql", instance_class="db.r6g.large")
    Template.from_stack(stack).has_resource_properties("AWS::RDS::DBInstance", {
        "EnablePerformanceInsights": True})
    stack, vpc = _stack()
    Database(stack, "Db", vpc=vpc, engine="aurora-mysql", instance_class="db.t3.medium")
    instances = Template.from_stack(stack).find_resources("AWS::RDS::DBInstance")
    assert instances and not any(r["Properties"].get("EnablePerformanceInsights") for r in instances.values())


@pytest.mark.parametrize("props, error, pattern", [
    ({"parameters": {"max_connections": "900"}}, BudgetError,
     r"would bypass the connection budget; pass max_connections="),
    ({"parameters": {"rds.force_ssl": "0"}}, InputError, r"would allow unencrypted connections"),
    ({"port": 80}, InputError, r"port=80 must be a whole number between 1150 and 65535"),
    ({"instance_class": "db.t3.micro", "performance_insights": True}, InputError,
     r"does not support Performance Insights on db.t3.micro"),
    ({"deletion_protection": False}, InputError, r"pass deletion_protection_reason="),
    ({"deletion_protection_reason": "preview"}, InputError, r"deletion protection is on"),
])
def test_database_inputs_refused_like_pulumi(props: dict[str, Any], error: type[Exception],
                                            pattern: str) -> None:
    """Each refusal has its exact type: BudgetError only for the connection budget."""
    stack, vpc = _stack()
    with pytest.raises(InputError, match=pattern) as err:
        Database(stack, "Db", vpc=vpc, **{"instance_class": "db.m5.large", **props})
    assert type(err.value) is error


def test_deletion_protection_off_with_a_reason() -> None:
    stack, vpc = _stack()
    Database(stack, "Db", vpc=vpc, deletion_protection=False, deletion_protection_reason="preview stack")
    Template.from_stack(stack).has_resource_properties("AWS::RDS::DBInstance", {"DeletionProtection": False})


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"database_name": "my-db"}, "database_name='my-db' must start with a letter"),
    ({"master_username": "a" * 40}, "at most 16 characters"),
    ({"allocated_storage_gib": 70_000, "max_allocated_storage_gib": 70_000}, "65,536 GiB"),
])
def test_cdk_refuses_what_pulumi_refuses(kwargs: dict[str, Any], message: str) -> None:
    """The same inputs the Pulumi Database refuses (one check in plans.database)."""
    from deploy_paradigms.budget import InputError
    from deploy_paradigms.pulumi.database import Database as PulumiDatabase
    from deploy_paradigms.pulumi.database import DatabaseArgs
    from deploy_paradigms.pulumi.network import Network
    from deploy_paradigms.pulumi.preview import render_program

    stack, vpc = _stack()
    with pytest.raises(InputError, match=message):
        Database(stack, "Db", vpc=vpc, instance_class="db.m5.large", **kwargs)
    with pytest.raises(InputError):
        render_program(lambda: PulumiDatabase("db", DatabaseArgs(
            network=Network("net"), instance_class="db.m5.large", **kwargs)))

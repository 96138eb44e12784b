"""One API shape for bringing your own database and network: Pulumi's ``Database.from_existing``
takes the CDK construct's keywords or its ``ExistingDatabaseArgs`` (same fields, same meaning),
``Network.from_existing`` takes the ids or an ``ExistingNetwork``."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest

from deploy_paradigms.budget import InputError
from deploy_paradigms.pulumi import Database, ExistingDatabaseArgs, ExistingNetwork, Network
from deploy_paradigms.pulumi.preview import render_program

NETWORK = ExistingNetwork("vpc-123", private_subnet_ids=("subnet-a", "subnet-b"))
FIELDS: dict[str, Any] = {"network": NETWORK, "engine": "postgres", "instance_class": "db.m5.large",
                          "endpoint_address": "db.example.internal", "secret_arn": "arn:secret",
                          "security_group_id": "sg-db", "instance_identifier": "prod-db", "share": 40}


def _adopted(build: Any) -> dict[str, Any]:
    made: dict[str, Database] = {}

    def program() -> None:
        made["db"] = build()

    render_program(program)
    db = made["db"]
    return {"port": db.port, "available": db.ledger.available, "secret": db.secret_arn,
            "security_group": db.security_group_id, "instance": db.instance_identifier,
            "user": db.master_username, "database": db.database_name}


def test_keywords_and_args_object_are_the_same_import() -> None:
    by_keywords = _adopted(lambda: Database.from_existing("db", **FIELDS))
    by_args = _adopted(lambda: Database.from_existing("db", ExistingDatabaseArgs(**FIELDS)))
    by_constructor = _adopted(lambda: Database("db", ExistingDatabaseArgs(**FIELDS)))
    assert by_keywords == by_args == by_constructor
    assert by_args["port"] == 5432 and by_args["available"] == 40


def test_args_and_keywords_together_are_refused() -> None:
    def program() -> None:
        with pytest.raises(InputError, match="either an ExistingDatabaseArgs or keywords, not both"):
            Database.from_existing("db", ExistingDatabaseArgs(**FIELDS), share=10)
        with pytest.raises(InputError, match="must be an ExistingDatabaseArgs"):
            Database.from_existing("db", {"engine": "postgres"})  # type: ignore[arg-type]
        with pytest.raises(InputError, match="network, endpoint_address missing"):
            Database.from_existing("db", engine="postgres", share=10)

    assert render_program(program).resources == []


def test_from_existing_keywords_are_the_args_fields() -> None:
    keywords = {name for name, p in inspect.signature(Database.from_existing).parameters.items()
                if p.kind is p.KEYWORD_ONLY}
    assert keywords == {f.name for f in dataclasses.fields(ExistingDatabaseArgs)}


def test_network_from_existing_takes_ids_or_the_object() -> None:
    by_ids = Network.from_existing("vpc-123", private_subnet_ids=["subnet-a", "subnet-b"])
    assert by_ids == NETWORK
    assert Network.from_existing(NETWORK) is NETWORK
    assert Network.from_existing(args=NETWORK) is NETWORK
    with pytest.raises(InputError, match="not both"):
        Network.from_existing(NETWORK, private_subnet_ids=["subnet-c"])
    with pytest.raises(InputError, match="vpc_id is missing"):
        Network.from_existing(private_subnet_ids=["subnet-c"])


def test_cdk_from_existing_port_defaults_to_the_engine_port() -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_secretsmanager as secretsmanager

    from deploy_paradigms.cdk import Database as CdkDatabase

    stack = cdk.Stack(cdk.App(), "S", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    db = CdkDatabase.from_existing(
        stack, "Db", vpc=vpc, engine="mysql", instance_class="db.m5.large", instance_identifier="prod",
        endpoint_address="prod.example", share=10,
        secret=secretsmanager.Secret.from_secret_name_v2(stack, "Secret", "prod"),
        security_group=ec2.SecurityGroup.from_security_group_id(stack, "Sg", "sg-123"))
    assert db.port == 3306

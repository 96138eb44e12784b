"""Issue 13's input refusals, in both engines: reserved environment keys, parameter names
compared case-insensitively, parameters that change the connection budget, wildcard
database users, and the port clients use to reach RDS Proxy."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from test_serverless_pulumi import database as pulumi_database
from test_serverless_pulumi import function as pulumi_function
from test_serverless_pulumi import inputs, run_program

from deploy_paradigms.budget import BudgetError, Engine, InputError
from deploy_paradigms.catalog import sample_catalog
from deploy_paradigms.cdk.data_endpoint import DataEndpoint
from deploy_paradigms.cdk.database import Database
from deploy_paradigms.cdk.serverless_function import ServerlessFunction
from deploy_paradigms.plans.database import check_parameters
from deploy_paradigms.pulumi.data_endpoint import DataEndpoint as PulumiDataEndpoint
from deploy_paradigms.pulumi.data_endpoint import DataEndpointArgs

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")


def cdk_database(**kwargs: Any) -> tuple[cdk.Stack, Database]:
    app = cdk.App(analytics_reporting=False)
    stack = cdk.Stack(app, "Sec", env=cdk.Environment(region="eu-west-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)])
    return stack, Database(stack, "Db", vpc=vpc, instance_class="db.m5.large", **kwargs)


# -- reserved environment keys -------------------------------------------------------------------

DATA_ENDPOINT_OVERRIDES = [
    {"DATA_ENDPOINT_HMAC_SECRET_ARN": ""},  # would switch signing off
    {"DATA_ENDPOINT_MAX_RESPONSE_BYTES": "999999999"},  # would lift the 6 MB check
    {"data_endpoint_bootstrap_schema": "true"},
    {"AWS_ENDPOINT_URL_SECRETS_MANAGER": "https://attacker.example"},
    {"Database_Host": "elsewhere.example"},
]


@pytest.mark.parametrize("environment", DATA_ENDPOINT_OVERRIDES, ids=lambda e: next(iter(e)))
def test_cdk_data_endpoint_refuses_keys_it_owns(environment: dict[str, str]) -> None:
    stack, db = cdk_database()
    with pytest.raises(InputError, match=r"is reserved: DataEndpoint sets it"):
        DataEndpoint(stack, "Data", database=db, catalog=sample_catalog(), signing="both",
                     environment=environment)


@pytest.mark.parametrize("environment", DATA_ENDPOINT_OVERRIDES, ids=lambda e: next(iter(e)))
def test_pulumi_data_endpoint_refuses_keys_it_owns(environment: dict[str, str]) -> None:
    def build() -> Any:
        return PulumiDataEndpoint("data", DataEndpointArgs(
            database=pulumi_database(), catalog=sample_catalog(), signing="both", environment=environment))

    with pytest.raises(InputError, match=r"is reserved: DataEndpoint sets it"):
        run_program(build)


def test_serverless_function_refuses_database_keys_whatever_their_case() -> None:
    stack, db = cdk_database()
    with pytest.raises(InputError, match=r"environment\['database_port'\] is reserved"):
        ServerlessFunction(stack, "Fn", database=db, code=CODE, handler="index.handler",
                           environment={"database_port": "1"})
    with pytest.raises(InputError, match=r"environment\['DATABASE_SSLROOTCERT'\] is reserved"):
        run_program(lambda: pulumi_function(pulumi_database(), environment={"DATABASE_SSLROOTCERT": "x"}))


def test_unrelated_keys_still_pass() -> None:
    stack, db = cdk_database()
    endpoint = DataEndpoint(stack, "Data", database=db, catalog=sample_catalog(),
                            environment={"LOG_LEVEL": "debug"})
    assert endpoint.function.environment["LOG_LEVEL"] == "debug"


# -- parameter names -----------------------------------------------------------------------------

@pytest.mark.parametrize(("engine", "parameters", "message"), [
    (Engine.POSTGRES, {"RDS.FORCE_SSL": "0"}, "would allow unencrypted connections"),
    (Engine.MYSQL, {"Require_Secure_Transport": "OFF"}, "would allow unencrypted connections"),
    (Engine.POSTGRES, {"Max_Connections": "9000"}, "would bypass the connection budget"),
    (Engine.POSTGRES, {"superuser_reserved_connections": "50"}, "changes how many connections are left"),
    (Engine.POSTGRES, {"rds.rds_superuser_reserved_connections": "20"}, "pass reserve="),
    (Engine.AURORA_POSTGRESQL, {"Reserved_Connections": "30"}, "assumes at the engine default"),
])
def test_parameters_the_component_owns_are_refused_in_any_case(
        engine: Engine, parameters: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_parameters(engine, parameters)


def test_tls_switch_in_another_case_is_kept_once_under_its_own_name() -> None:
    assert check_parameters(Engine.POSTGRES, {"RDS.Force_SSL": "1", "log_min_duration_statement": "500"}) \
        == {"log_min_duration_statement": "500"}


def test_both_database_renderers_refuse_budget_parameters() -> None:
    with pytest.raises(BudgetError, match="superuser_reserved_connections"):
        cdk_database(parameters={"superuser_reserved_connections": "50"})
    with pytest.raises(BudgetError, match="Max_Connections"):
        run_program(lambda: pulumi_database(parameters={"Max_Connections": "9000"}))


# -- database users ------------------------------------------------------------------------------

@pytest.mark.parametrize("db_user", ["*", "app_*", "a?", "app user", "", "x" * 64])
def test_db_user_must_name_one_user(db_user: str) -> None:
    stack, db = cdk_database()
    with pytest.raises(InputError, match="must name exactly one database user"):
        ServerlessFunction(stack, "Fn", database=db, code=CODE, handler="index.handler", db_user=db_user)
    assert stack.node.try_find_child("Fn") is None  # refused before joining the tree
    with pytest.raises(InputError, match="must name exactly one database user"):
        run_program(lambda: pulumi_function(pulumi_database(), db_user=db_user))


# -- the proxy's port ----------------------------------------------------------------------------

def test_cdk_clients_reach_the_proxy_on_the_engines_default_port() -> None:
    stack, db = cdk_database(port=6543)
    fn = ServerlessFunction(stack, "Fn", database=db, code=CODE, handler="index.handler")
    template = cdk.assertions.Template.from_stack(stack).to_json()
    assert fn.environment["DATABASE_PORT"] == "5432"
    rules = [r["Properties"] for r in template["Resources"].values()
             if r["Type"] in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")]
    to_proxy = [r for r in rules if "Lambda" in r.get("Description", "")]
    assert to_proxy and all(r["FromPort"] == r["ToPort"] == 5432 for r in to_proxy), to_proxy
    # the proxy still reaches the database on the database's port (aws-cdk's proxy target bind)
    assert all(r["FromPort"] == {"Fn::GetAtt": [r["FromPort"]["Fn::GetAtt"][0], "Endpoint.Port"]}
               for r in rules if "from the Proxy" in r["Description"])


def test_pulumi_clients_reach_the_proxy_on_the_engines_default_port() -> None:
    fn, records = run_program(lambda: pulumi_function(pulumi_database(port=6543)))
    assert fn.environment["DATABASE_PORT"] == "5432"
    for rtype, name in (("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "fn-to-proxy"),
                        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "fn-proxy-from-fn")):
        rule = inputs(records, rtype, name)
        assert rule["fromPort"] == rule["toPort"] == 5432
    proxy_to_db = inputs(records, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "fn-proxy-to-db")
    assert proxy_to_db["fromPort"] == 6543

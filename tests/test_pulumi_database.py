"""Pulumi Network and Database, rendered offline under mocks (deploy_paradigms.pulumi.preview)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("pulumi_aws")

import pulumi  # noqa: E402

from deploy_paradigms.budget import (  # noqa: E402
    BudgetError,
    BudgetExceededError,
    InputError,
    UnknownEngineError,
    UnknownInstanceClassError,
)
from deploy_paradigms.pulumi import (  # noqa: E402
    Database,
    DatabaseArgs,
    Network,
    NetworkArgs,
)
from deploy_paradigms.pulumi.preview import Preview, render_program  # noqa: E402

Records = list[dict[str, Any]]


def render_db(**db_args: Any) -> tuple[Preview, dict[str, Database]]:
    """Render Network("network") + Database("database", DatabaseArgs(**db_args))."""
    made: dict[str, Database] = {}

    def program() -> None:
        network = Network("network")
        made["db"] = Database("database", DatabaseArgs(network=network, **db_args))

    return render_program(program), made


def one(records: Records, type_suffix: str, name: str | None = None) -> dict[str, Any]:
    found = [r for r in records if r["type"].endswith(type_suffix) and (name is None or r["name"] == name)]
    assert len(found) == 1, [(r["type"], r["name"]) for r in found]
    return found[0]


def walk(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


@pytest.fixture(scope="module")
def default_db() -> tuple[Preview, dict[str, Database]]:
    return render_db()


def test_instance_defaults_are_safe(default_db: tuple[Preview, dict[str, Database]]) -> None:
    records = default_db[0].resources
    inputs = one(records, ":Instance", "database-instance")["inputs"]
    assert inputs["storageEncrypted"] is True
    assert inputs["deletionProtection"] is True
    assert inputs["skipFinalSnapshot"] is False
    assert inputs["finalSnapshotIdentifier"] == "deploy-paradigms-preview-database-final-snapshot"
    assert inputs["backupRetentionPeriod"] >= 7
    assert inputs["publiclyAccessible"] is False
    assert inputs["iamDatabaseAuthenticationEnabled"] is True
    assert inputs["manageMasterUserPassword"] is True
    assert inputs["autoMinorVersionUpgrade"] is True
    assert inputs["multiAz"] is False
    assert inputs["copyTagsToSnapshot"] is True
    assert inputs["engine"] == "postgres" and inputs["engineVersion"] == "17"
    assert inputs["instanceClass"] == "db.t3.micro"
    assert inputs["username"] == "app_admin"
    assert inputs["storageType"] == "gp3" and inputs["maxAllocatedStorage"] == 100
    assert inputs["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert inputs["performanceInsightsEnabled"] is False  # not on db.t3.micro (same rule as the CDK twin)
    name_of = default_db[0].name_of
    assert [name_of(g) for g in inputs["vpcSecurityGroupIds"]] == ["database-sg"]
    assert inputs["dbSubnetGroupName"] == "database-subnets"  # the mock names it after the resource
    subnets = one(records, ":SubnetGroup")["inputs"]["subnetIds"]
    assert [name_of(s) for s in subnets] == ["network-isolated-1", "network-isolated-2"]


def test_parameter_group_forces_tls_and_leaves_max_connections_alone(
        default_db: tuple[Preview, dict[str, Database]]) -> None:
    params = one(default_db[0].resources, ":ParameterGroup")["inputs"]
    assert params["family"] == "postgres17"
    assert params["parameters"] == [{"applyMethod": "immediate", "name": "rds.force_ssl", "value": "1"}]


def test_security_group_has_no_ingress_and_logs_have_retention(
        default_db: tuple[Preview, dict[str, Database]]) -> None:
    records = default_db[0].resources
    sg = one(records, ":SecurityGroup", "database-sg")["inputs"]
    assert not sg.get("ingress") and not sg.get("egress")
    # the one way in: the application role's bootstrap
    assert [r["name"] for r in records if r["type"].endswith("SecurityGroupIngressRule")] == [
        "database-from-role-bootstrap"]
    groups = {r["inputs"]["name"]: r["inputs"]["retentionInDays"] for r in records
              if r["type"].endswith(":LogGroup") and r["parent"] == "database" and "name" in r["inputs"]}
    assert groups == {"/aws/rds/instance/deploy-paradigms-preview-database/postgresql": 30,
                      "/aws/rds/instance/deploy-paradigms-preview-database/upgrade": 30}


def test_no_password_anywhere_in_the_graph(default_db: tuple[Preview, dict[str, Database]]) -> None:
    preview = default_db[0]
    for record in preview.resources:
        for key, value in walk(record["inputs"]):
            if "password" in key.lower():
                assert key == "manageMasterUserPassword" and value is True, (record["name"], key)
            assert value != "[secret]", (record["name"], key)
    assert "password" not in str(preview.outputs).lower()


def test_children_are_parented_and_prefixed(default_db: tuple[Preview, dict[str, Database]]) -> None:
    records = default_db[0].resources
    db = one(records, "deploy-paradigms:database:Database")
    assert db["parent"] is None
    assert db["inputs"]["connectionBudget"]["instanceClass"] == "db.t3.micro"
    children = [r for r in records if r["parent"] == "database"]
    assert {r["type"].split(":")[-1] for r in children} >= {"SecurityGroup", "SubnetGroup", "ParameterGroup",
                                                           "Instance", "LogGroup"}
    assert all(r["name"].startswith("database-") for r in children)
    network_children = [r for r in records if r["parent"] == "network"]
    assert all(r["name"].startswith("network-") for r in network_children)
    assert {r["parent"] for r in records} == {None, "network", "database"}


def test_attributes_mirror_the_cdk_twin(default_db: tuple[Preview, dict[str, Database]]) -> None:
    db = default_db[1]["db"]
    assert db.limit.usable == db.limit.max_connections - 10  # PostgreSQL keeps 10 for superusers
    assert db.engine.value == "postgres" and db.port == 5432 and db.database_name == "app"
    assert db.ledger.available == db.limit.usable - db.ledger.reserve
    assert db.security_group is not None and db.instance is not None and db.cluster is None
    assert db.engine_family == "POSTGRESQL"


def test_max_connections_goes_into_the_parameter_group_and_the_budget() -> None:
    preview, made = render_db(instance_class="db.m5.large", max_connections=300)
    params = one(preview.resources, ":ParameterGroup")["inputs"]["parameters"]
    assert {"applyMethod": "pending-reboot", "name": "max_connections", "value": "300"} in params
    assert made["db"].limit.max_connections == 300 and made["db"].limit.usable == 290
    assert one(preview.resources, ":Instance")["inputs"]["performanceInsightsEnabled"] is True


def test_mysql_requires_secure_transport() -> None:
    preview, made = render_db(engine="mysql", instance_class="db.m5.large")
    params = one(preview.resources, ":ParameterGroup")["inputs"]
    assert params["family"] == "mysql8.4"
    tls = {"applyMethod": "immediate", "name": "require_secure_transport", "value": "ON"}
    assert tls in params["parameters"]
    instance = one(preview.resources, ":Instance")["inputs"]
    assert instance["port"] == 3306 and instance["enabledCloudwatchLogsExports"] == ["error", "slowquery"]
    assert made["db"].engine_family == "MYSQL"


def test_aurora_serverless_is_a_cluster_with_a_writer_and_a_reader_when_multi_az() -> None:
    preview, made = render_db(engine="aurora-postgresql", instance_class="db.serverless", max_acu=8,
                              multi_az=True)
    records = preview.resources
    cluster = one(records, ":Cluster")["inputs"]
    assert cluster["serverlessv2ScalingConfiguration"] == {"maxCapacity": 8, "minCapacity": 0.5}
    assert cluster["storageEncrypted"] and cluster["deletionProtection"]
    assert cluster["manageMasterUserPassword"]
    assert cluster["iamDatabaseAuthenticationEnabled"] and cluster["backupRetentionPeriod"] >= 7
    assert cluster["engineVersion"] == "17.5" and cluster["skipFinalSnapshot"] is False
    params = one(records, ":ClusterParameterGroup")["inputs"]
    assert params["family"] == "aurora-postgresql17"
    assert params["parameters"][0]["name"] == "rds.force_ssl"
    members = sorted((r["name"], r["inputs"]["promotionTier"], r["inputs"]["instanceClass"])
                     for r in records if r["type"].endswith(":ClusterInstance"))
    assert members == [("database-reader", 1, "db.serverless"), ("database-writer", 0, "db.serverless")]
    db = made["db"]
    assert db.limit.max_connections == 1669 and db.cluster is not None
    assert preview.outputs == {}


def test_ledger_is_shared_by_consumers_and_refuses_over_allocation() -> None:
    made: dict[str, Any] = {}

    def program() -> None:
        db = Database("database", DatabaseArgs(network=Network("network"), instance_class="db.t3.micro"))
        made["first"] = db.allocate("api", 40, paradigm="serverless")
        made["second"] = db.allocate("web", 20, paradigm="paas")
        made["db"] = db
        db.allocate("worker", db.ledger.remaining + 1, paradigm="paas")

    with pytest.raises(BudgetExceededError) as err:
        render_program(program)
    db = made["db"]
    assert [a.consumer for a in db.ledger.allocations] == ["api", "web"]
    assert db.ledger.allocated == 60
    assert "api (serverless) 40" in str(err.value) and "worker (paas)" in str(err.value)


def test_transforms_on_the_component_reach_its_children() -> None:
    def longer_backups(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ == "aws:rds/instance:Instance":
            return pulumi.ResourceTransformResult({**args.props, "backupRetentionPeriod": 14}, args.opts)
        return None

    def program() -> None:
        Database("database", DatabaseArgs(network=Network("network")),
                 pulumi.ResourceOptions(transforms=[longer_backups]))

    inputs = one(render_program(program).resources, ":Instance")["inputs"]
    assert inputs["backupRetentionPeriod"] == 14 and inputs["storageEncrypted"] is True


def test_allow_from_opens_only_the_database_port() -> None:
    def program() -> None:
        db = Database("database", DatabaseArgs(network=Network("network")))
        db.allow_from("api", "sg-api")

    run = render_program(program)
    rule = one(run.resources, "SecurityGroupIngressRule", "database-from-api")
    assert rule["parent"] == "database" and rule["name"] == "database-from-api"
    assert rule["inputs"] == {"description": "api to the postgres database", "fromPort": 5432,
                              "ipProtocol": "tcp", "referencedSecurityGroupId": "sg-api",
                              "securityGroupId": run.states["database-sg"]["id"], "toPort": 5432}
    assert run.states["database-sg"]["id"].startswith("sg-")


@pytest.mark.parametrize(("args", "error", "needle"), [
    ({"instance_class": "db.x9.huge"}, UnknownInstanceClassError, "max_connections="),
    ({"engine": "oracle"}, UnknownEngineError, "aurora-postgresql"),
    ({"reserve": 5000}, BudgetError, "reserve=5000"),
    ({"backup_retention_days": 3}, InputError, "acknowledge_short_backup_retention"),
    ({"deletion_protection": False}, InputError, "deletion_protection_reason="),
    ({"deletion_protection_reason": "preview"}, InputError, "deletion protection is on"),
    ({"parameters": {"rds.force_ssl": "0"}}, InputError, "unencrypted"),
    ({"parameters": {"max_connections": "900"}}, BudgetError, "max_connections="),
    ({"engine": "postgres", "instance_class": "db.serverless", "max_acu": 4}, InputError, "Aurora"),
    ({"allocated_storage_gib": 10}, InputError, "allocated_storage_gib=10"),
    ({"log_retention_days": 42}, InputError, "log_retention_days=42"),
    ({"performance_insights": True}, InputError, "Performance Insights"),
    ({"port": 80}, InputError, "port=80"),
])
def test_bad_input_is_refused_before_any_database_resource(args: dict[str, Any], error: type[Exception],
                                                           needle: str) -> None:
    """Each refusal has its exact type: BudgetError only for the connection budget."""
    def program() -> None:
        network = Network("network")
        with pytest.raises(InputError) as err:
            Database("database", DatabaseArgs(network=network, **args))
        assert type(err.value) is error, (type(err.value), str(err.value))
        assert needle in str(err.value)

    records = render_program(program).resources
    assert not [r for r in records if r["name"].startswith("database")]


def test_explicit_acknowledgements_unlock_the_unsafe_switches() -> None:
    preview, _ = render_db(backup_retention_days=1, acknowledge_short_backup_retention=True,
                           deletion_protection=False, deletion_protection_reason="preview stack")
    inputs = one(preview.resources, ":Instance")["inputs"]
    assert inputs["backupRetentionPeriod"] == 1 and inputs["deletionProtection"] is False
    assert inputs["skipFinalSnapshot"] is False  # a final snapshot is still taken


def test_bring_your_own_database_without_secret_is_refused() -> None:
    def program() -> None:
        network = Network.from_existing("vpc-123", private_subnet_ids=["subnet-a", "subnet-b"])
        with pytest.raises(InputError, match="secret_arn is missing"):
            Database.from_existing("database", network=network, engine="postgres",
                                   instance_class="db.m5.large", endpoint_address="db.example.internal",
                                   security_group_id="sg-db", share=100)

    assert render_program(program).resources == []


def test_bring_your_own_database_and_network() -> None:
    made: dict[str, Database] = {}

    def program() -> None:
        network = Network.from_existing("vpc-123", private_subnet_ids=["subnet-a", "subnet-b"],
                                        isolated_subnet_ids=["subnet-c", "subnet-d"])
        db = Database.from_existing("database", network=network, engine="postgres", max_connections=500,
                                    endpoint_address="db.example.internal", port=5432,
                                    secret_arn="arn:aws:secretsmanager:eu-west-1:1:secret:db",
                                    security_group_id="sg-db", instance_identifier="prod-db", share=480)
        db.allocate("api", 100, paradigm="serverless")
        db.allow_from("api", "sg-api")
        made["db"] = db

    records = render_program(program).resources
    assert [(r["type"], r["name"], r["parent"]) for r in records] == [
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "database-from-api", "database"),
        ("deploy-paradigms:database:Database", "database", None),
    ]
    assert records[1]["inputs"]["existing"] is True
    db = made["db"]
    assert db.limit.usable == 490 and db.ledger.remaining == 380
    assert db.endpoint_address == "db.example.internal" and db.instance is None and db.security_group is None
    assert db.secret_arn.startswith("arn:aws:secretsmanager")


def test_network_layout_nat_and_flow_logs() -> None:
    def program() -> None:
        Network("net", NetworkArgs(nat_gateways=2, flow_log_retention_days=90))

    run = render_program(program)
    records = run.resources
    subnets = {r["name"]: (r["inputs"]["cidrBlock"], r["inputs"]["availabilityZone"])
               for r in records if r["type"].endswith(":Subnet")}
    assert subnets == {
        "net-public-1": ("10.0.0.0/20", "us-east-1a"), "net-public-2": ("10.0.16.0/20", "us-east-1b"),
        "net-private-1": ("10.0.64.0/20", "us-east-1a"), "net-private-2": ("10.0.80.0/20", "us-east-1b"),
        "net-isolated-1": ("10.0.128.0/20", "us-east-1a"), "net-isolated-2": ("10.0.144.0/20", "us-east-1b"),
    }
    assert all(r["inputs"]["mapPublicIpOnLaunch"] is False for r in records if r["type"].endswith(":Subnet"))
    assert len([r for r in records if r["type"].endswith(":NatGateway")]) == 2
    routes = {r["name"]: r["inputs"] for r in records if r["type"].endswith(":Route")}
    assert run.name_of(routes["net-private-2-default-route"]["natGatewayId"]) == "net-nat-2"
    assert "net-isolated-1-default-route" not in routes
    flow = one(records, ":FlowLog")["inputs"]
    assert flow["trafficType"] == "ALL" and flow["logDestinationType"] == "cloud-watch-logs"
    assert one(records, ":LogGroup", "net-flow-logs")["inputs"]["retentionInDays"] == 90
    assert one(records, ":DefaultSecurityGroup")["inputs"] == {
        "egress": [], "ingress": [], "tags": {"Name": "net-default-sg"}, "vpcId": run.states["net-vpc"]["id"]}


@pytest.mark.parametrize(("args", "needle"), [
    ({"cidr_block": "10.0.0.0/28"}, "/16 to /22"),
    ({"nat_gateways": 3}, "nat_gateways=3"),
    ({"az_count": 1}, "az_count=1"),
    ({"flow_log_retention_days": 10}, "flow_log_retention_days=10"),
])
def test_network_refuses_bad_input(args: dict[str, Any], needle: str) -> None:
    with pytest.raises(InputError, match=re.escape(needle)):
        Network("net", NetworkArgs(**args))


def test_existing_network_needs_ids() -> None:
    with pytest.raises(InputError, match="vpc_id"):
        Network.from_existing("", private_subnet_ids=["a", "b"])
    with pytest.raises(InputError, match="no subnet ids"):
        Network.from_existing("vpc-1")


def test_previous_generation_class_refused_for_a_new_database_on_the_default_version() -> None:
    with pytest.raises(InputError, match=r"RDS no longer offers db.t2 classes for new mysql databases.*"
                                          r"db.t3.small or db.t4g.small"):
        render_db(engine="mysql", instance_class="db.t2.small")

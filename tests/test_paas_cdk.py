"""CDK ContainerService and the ``Paas`` example stack.

Two example synths (default context = db.t3.micro, and db.m5.large; both shared
through the session cache in conftest) plus one small construct-level stack
for the HTTPS / custom-settings path; budget and input errors are raised at
construction, before any synth.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template
from conftest import template_of
from syrupy.extensions.json import JSONSnapshotExtension

from deploy_paradigms.budget import BudgetError, ConnectionLedger, InputError, describe_connection_limit
from deploy_paradigms.cdk.container_service import ContainerService
from deploy_paradigms.cdk.database import Database
from deploy_paradigms.plans import paas

IMAGE = ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/python:3.13-slim")


# -- helpers -------------------------------------------------------------------------------------

def resources(template: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == rtype}


def only(template: dict[str, Any], rtype: str, prefix: str = "") -> dict[str, Any]:
    """Properties of the one resource of ``rtype`` whose logical id starts with ``prefix``."""
    return template["Resources"][logical_id(template, rtype, prefix)]["Properties"]  # type: ignore[no-any-return]


def logical_id(template: dict[str, Any], rtype: str, prefix: str = "") -> str:
    ids = [k for k in resources(template, rtype) if k.startswith(prefix)]
    assert len(ids) == 1, (rtype, prefix, ids)
    return ids[0]


def container(template: dict[str, Any]) -> dict[str, Any]:
    (definition,) = only(template, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    return definition  # type: ignore[no-any-return]


def environment(template: dict[str, Any]) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container(template)["Environment"]}


def url_params(template: dict[str, Any]) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(environment(template)["DATABASE_URL_PARAMS"]).items()}


def sg_rules(template: dict[str, Any]) -> set[tuple[str, str, str, int, int]]:
    """Every security-group rule, inline or standalone: (direction, group, peer, from, to)."""
    def ref(value: Any) -> str:
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
        return str(value)

    rules: set[tuple[str, str, str, int, int]] = set()
    for lid, res in resources(template, "AWS::EC2::SecurityGroup").items():
        for rule in res["Properties"].get("SecurityGroupIngress", []):
            rules.add(("in", lid, rule.get("CidrIp") or ref(rule.get("SourceSecurityGroupId")),
                       rule.get("FromPort", -1), rule.get("ToPort", -1)))
        for rule in res["Properties"].get("SecurityGroupEgress", []):
            rules.add(("out", lid, rule.get("CidrIp") or ref(rule.get("DestinationSecurityGroupId")),
                       rule.get("FromPort", -1), rule.get("ToPort", -1)))
    for res in resources(template, "AWS::EC2::SecurityGroupIngress").values():
        p = res["Properties"]
        rules.add(("in", ref(p["GroupId"]), p.get("CidrIp") or ref(p.get("SourceSecurityGroupId")),
                   p["FromPort"], p["ToPort"]))
    for res in resources(template, "AWS::EC2::SecurityGroupEgress").values():
        p = res["Properties"]
        rules.add(("out", ref(p["GroupId"]), p.get("CidrIp") or ref(p.get("DestinationSecurityGroupId")),
                   p["FromPort"], p["ToPort"]))
    return rules


def available(instance_class: str) -> int:
    """What the ledger of a fresh database of that class can give (default reserve)."""
    return ConnectionLedger(describe_connection_limit("postgres", instance_class)).available


def small_stack(instance_class: str = "db.t3.micro") -> tuple[cdk.Stack, Database]:
    app = cdk.App(analytics_reporting=False)
    stack = cdk.Stack(app, "Small", env=cdk.Environment(region="eu-west-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1, subnet_configuration=[
        ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
        ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    return stack, Database(stack, "Db", vpc=vpc, instance_class=instance_class)


@pytest.fixture(scope="module")
def default_template(synth: Callable[..., Any]) -> dict[str, Any]:
    return template_of(synth(("Paas",)), "Paas")


@pytest.fixture(scope="module")
def m5_template(synth: Callable[..., Any]) -> dict[str, Any]:
    return template_of(synth(("Paas",), instanceClass="db.m5.large"), "Paas")


@pytest.fixture(scope="module")
def https_template() -> dict[str, Any]:
    """A second shape: certificate, request-count scaling, extra environment, a chosen pool."""
    stack, db = small_stack("db.m5.large")
    cert = acm.Certificate.from_certificate_arn(
        stack, "Cert", "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000")
    ContainerService(stack, "Web", database=db, image=IMAGE, certificate=cert, pool_size=20, max_tasks=10,
                     min_tasks=2, maximum_percent=150, scale_on_requests_per_target=500,
                     environment={"LOG_LEVEL": "info"})
    return dict(Template.from_stack(stack).to_json())


# -- the budget rule -----------------------------------------------------------------------------

@pytest.mark.parametrize(("fixture", "instance_class", "pool"), [
    ("default_template", "db.t3.micro", 9),   # 72 available // (4 x 200 %) = 9
    ("m5_template", "db.m5.large", 96),       # 772 available // 8 = 96
])
def test_pool_times_peak_tasks_fits_the_allocation(
        fixture: str, instance_class: str, pool: int, request: pytest.FixtureRequest) -> None:
    template = request.getfixturevalue(fixture)
    service = only(template, "AWS::ECS::Service")["DeploymentConfiguration"]
    scaling = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    connection_limit = int(url_params(template)["connection_limit"])
    peak = math.ceil(scaling["MaxCapacity"] * service["MaximumPercent"] / 100)
    assert connection_limit == pool
    assert connection_limit * peak <= available(instance_class)
    # ... and it is the largest pool that fits: one more per task would not.
    assert (connection_limit + 1) * peak > available(instance_class)


def test_stack_outputs_the_plan(default_template: dict[str, Any]) -> None:
    outputs = default_template["Outputs"]
    assert outputs["PoolSize"]["Value"] == "9"
    assert outputs["MaxTasks"]["Value"] == "4"
    assert outputs["ConnectionBudget"]["Value"] == \
        "postgres db.t3.micro: 76 usable connections, reserve 4; Paas/Web (containers) 72; left 0"
    assert "pool 9 x up to 8 tasks" in default_template["Description"]


def test_url_parameters_are_prisma_style(default_template: dict[str, Any]) -> None:
    assert environment(default_template)["DATABASE_URL_PARAMS"] == \
        ("connection_limit=9&pool_timeout=10&connect_timeout=5&sslmode=verify-full"
         "&sslrootcert=rds-ca-bundle.pem&socket_timeout=29&statement_timeout=28000")


def test_autoscaling_max_is_the_plans(default_template: dict[str, Any], m5_template: dict[str, Any]) -> None:
    for template in (default_template, m5_template):
        target = only(template, "AWS::ApplicationAutoScaling::ScalableTarget")
        assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
        policy = only(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
        config = policy["TargetTrackingScalingPolicyConfiguration"]
        assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == \
            "ECSServiceAverageCPUUtilization"
        assert (config["TargetValue"], config["ScaleOutCooldown"], config["ScaleInCooldown"]) == (60, 60, 300)


# -- credentials ---------------------------------------------------------------------------------

def test_credentials_come_from_ecs_secrets_only(default_template: dict[str, Any]) -> None:
    definition = container(default_template)
    db = logical_id(default_template, "AWS::RDS::DBInstance")
    # the application role's secret, not the master user's
    secret_arn = {"Ref": logical_id(default_template, "AWS::SecretsManager::Secret", "DatabaseAppUserSecret")}
    assert {s["Name"]: s["ValueFrom"] for s in definition["Secrets"]} == {
        "DATABASE_USER": {"Fn::Join": ["", [secret_arn, ":username::"]]},
        "DATABASE_PASSWORD": {"Fn::Join": ["", [secret_arn, ":password::"]]},
    }
    env = environment(default_template)
    # The secret's ARN (to re-read it after a rotation), never its value.
    app_secret = logical_id(default_template, "AWS::SecretsManager::Secret", "DatabaseAppUserSecret")
    assert env.pop("DATABASE_SECRET_ARN") == {"Ref": app_secret}
    assert not [k for k in env if "PASSWORD" in k or "SECRET" in k or k == "DATABASE_USER"]
    assert "password" not in str(env).lower()
    assert env["DATABASE_HOST"] == {"Fn::GetAtt": [db, "Endpoint.Address"]}
    assert (env["DATABASE_PORT"], env["DATABASE_NAME"], env["DATABASE_ENGINE"], env["PORT"]) == \
        ("5432", "app", "postgres", "8080")


def test_the_execution_and_task_roles_read_only_the_app_secret(default_template: dict[str, Any]) -> None:
    db = logical_id(default_template, "AWS::RDS::DBInstance")
    app_secret = {"Ref": logical_id(default_template, "AWS::SecretsManager::Secret", "DatabaseAppUserSecret")}
    master_secret = {"Fn::GetAtt": [db, "MasterUserSecret.SecretArn"]}
    migrations = logical_id(default_template, "AWS::IAM::Policy", "MigrationsServiceRole")
    readers = []
    for lid, policy in resources(default_template, "AWS::IAM::Policy").items():
        if lid.startswith("DatabaseRoleBootstrap"):
            continue  # the bootstrap reads the master and the app secret (test_app_role_wiring)
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("secretsmanager:") for a in actions):
                # Migrations run DDL: they alone (with the bootstrap) use the master secret.
                assert statement["Resource"] == (master_secret if lid == migrations else app_secret)
                readers.append(lid)
    # The task's two roles read the application role's secret; the migration function the master's.
    roles = ("MigrationsServiceRole", "WebTaskDefExecutionRole", "WebTaskDefTaskRole")
    assert sorted(readers) == sorted(logical_id(default_template, "AWS::IAM::Policy", r) for r in roles)
    # The app's own role may only read that secret (to follow a rotation), nothing else.
    task_role = logical_id(default_template, "AWS::IAM::Role", "WebTaskDefTaskRole")
    for policy in resources(default_template, "AWS::IAM::Policy").values():
        if {"Ref": task_role} in policy["Properties"]["Roles"]:
            actions = {a for st in policy["Properties"]["PolicyDocument"]["Statement"]
                       for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])}
            assert actions == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert "ManagedPolicyArns" not in default_template["Resources"][task_role]["Properties"]


# -- deployments, health, shutdown -----------------------------------------------------------------

def test_circuit_breaker_rolls_back_with_the_plans_percentages(default_template: dict[str, Any]) -> None:
    service = only(default_template, "AWS::ECS::Service")
    config = service["DeploymentConfiguration"]
    assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert (config["MaximumPercent"], config["MinimumHealthyPercent"]) == (200, 100)
    assert service["HealthCheckGracePeriodSeconds"] == paas.HEALTH_CHECK_GRACE_S == 10
    assert service["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"


def test_autoscaling_owns_the_task_count_so_no_desired_count_is_in_the_template(
        default_template: dict[str, Any]) -> None:
    # aws-cdk issue 3919: a DesiredCount resets an autoscaled service on every stack update.
    service_id = logical_id(default_template, "AWS::ECS::Service", "Web")
    service = default_template["Resources"][service_id]["Properties"]
    assert "DesiredCount" not in service
    # First deploy: ECS starts one task; registering the target moves the count into [min, max].
    target = only(default_template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    assert service_id in json.dumps(target["ResourceId"])


def test_an_explicit_desired_tasks_is_written_into_the_template() -> None:
    stack, db = small_stack()
    ContainerService(stack, "Web", database=db, image=IMAGE, min_tasks=2, desired_tasks=3)
    template = Template.from_stack(stack).to_json()
    assert only(template, "AWS::ECS::Service")["DesiredCount"] == 3


def test_blue_green_deploys_are_sized_for_both_revisions_and_named_in_the_ledger() -> None:
    stack, db = small_stack()
    web = ContainerService(stack, "Web", database=db, image=IMAGE, max_tasks=4, maximum_percent=150,
                           deploy_strategy="blue-green")
    assert (web.plan.peak_tasks, web.plan.surge_percent) == (8, 200)  # not ceil(4 x 150 %) = 6
    assert web.allocation.deploy_strategy == "blue-green"
    assert web.allocation.compute_model == "fargate"
    assert "| blue-green | fargate |" in db.ledger.summary()


def test_health_check_and_draining_are_tuned_for_a_fast_start(default_template: dict[str, Any]) -> None:
    tg = only(default_template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert (tg["HealthCheckPath"], tg["Matcher"]) == ("/healthz", {"HttpCode": "200"})
    assert (tg["HealthCheckIntervalSeconds"], tg["HealthCheckTimeoutSeconds"]) == (5, 3)
    assert (tg["HealthyThresholdCount"], tg["UnhealthyThresholdCount"]) == (2, 3)
    attributes = {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}
    assert attributes["deregistration_delay.timeout_seconds"] == "30"
    assert container(default_template)["StopTimeout"] == 20


def test_logs_go_to_a_dedicated_group_with_retention(default_template: dict[str, Any]) -> None:
    log = container(default_template)["LogConfiguration"]
    group = logical_id(default_template, "AWS::Logs::LogGroup", "WebLogGroup")
    assert log["LogDriver"] == "awslogs"
    assert log["Options"]["awslogs-group"] == {"Ref": group}
    assert log["Options"]["mode"] == "non-blocking"
    assert default_template["Resources"][group]["Properties"]["RetentionInDays"] == 30
    cluster = only(default_template, "AWS::ECS::Cluster")
    assert cluster["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]


# -- network -------------------------------------------------------------------------------------

def test_security_groups_open_exactly_the_needed_ports(default_template: dict[str, Any]) -> None:
    lb = logical_id(default_template, "AWS::EC2::SecurityGroup", "WebLBSecurityGroup")
    tasks = logical_id(default_template, "AWS::EC2::SecurityGroup", "WebSecurityGroup")
    db = logical_id(default_template, "AWS::EC2::SecurityGroup", "DatabaseSecurityGroup")
    bootstrap = logical_id(default_template, "AWS::EC2::SecurityGroup", "DatabaseRoleBootstrapSecurityGroup")
    # CDK's "no traffic" placeholder (ICMP to 255.255.255.255/32) marks a group with no egress.
    mine = {r for r in sg_rules(default_template) if r[1] in (lb, tasks, db) and r[2] != "255.255.255.255/32"}
    assert mine == {
        ("in", db, bootstrap, 5432, 5432),  # the application role's bootstrap
        ("in", lb, "0.0.0.0/0", 80, 80),
        ("out", lb, tasks, 8080, 8080),
        ("in", tasks, lb, 8080, 8080),
        ("out", tasks, db, 5432, 5432),
        ("out", tasks, "0.0.0.0/0", 443, 443),
        ("in", db, tasks, 5432, 5432),
        # The migration function, directly (stacks/paas.py runs DatabaseMigrations).
        ("in", db, logical_id(default_template, "AWS::EC2::SecurityGroup", "MigrationsSecurityGroup"),
         5432, 5432),
    }
    # No implicit allow-all egress on the tasks' or the database's group.
    for group in (tasks, db):
        egress = default_template["Resources"][group]["Properties"].get("SecurityGroupEgress", [])
        assert all(rule.get("IpProtocol") != "-1" for rule in egress)


def test_plain_http_listener_and_access_logs(default_template: dict[str, Any]) -> None:
    listener = only(default_template, "AWS::ElasticLoadBalancingV2::Listener")
    assert (listener["Port"], listener["Protocol"]) == (80, "HTTP")
    lb = only(default_template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in lb["LoadBalancerAttributes"]}
    bucket = logical_id(default_template, "AWS::S3::Bucket", "WebAccessLogs")
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": bucket}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    props = default_template["Resources"][bucket]["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    policy = only(default_template, "AWS::S3::BucketPolicy", "WebAccessLogs")["PolicyDocument"]
    assert any(s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
               for s in policy["Statement"])


def test_plain_http_warns_at_synth() -> None:
    stack, db = small_stack()
    web = ContainerService(stack, "Web", database=db, image=IMAGE)
    warnings = [e.data for e in web.node.metadata if e.type == "aws:cdk:warning"]
    assert any("plain HTTP" in str(w) for w in warnings), warnings


def test_https_with_redirect_and_custom_settings(https_template: dict[str, Any]) -> None:
    listeners = resources(https_template, "AWS::ElasticLoadBalancingV2::Listener").values()
    by_port = {r["Properties"]["Port"]: r["Properties"] for r in listeners}
    assert set(by_port) == {80, 443}
    # The same policy the Pulumi component names (pulumi.container_service.SSL_POLICY).
    assert (by_port[443]["Protocol"], by_port[443]["SslPolicy"]) == \
        ("HTTPS", "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09")
    assert by_port[443]["Certificates"] == [{"CertificateArn": "arn:aws:acm:eu-west-1:123456789012:"
                                                               "certificate/00000000-0000-0000-0000-000000000000"}]
    assert by_port[80]["DefaultActions"][0]["RedirectConfig"]["Protocol"] == "HTTPS"
    service = only(https_template, "AWS::ECS::Service")
    # No DesiredCount (autoscaling owns it); the scalable target starts the service at min_tasks=2.
    assert "DesiredCount" not in service
    assert service["DeploymentConfiguration"]["MaximumPercent"] == 150
    target = only(https_template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 10)
    policies = resources(https_template, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    metrics = {p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
        "PredefinedMetricType"] for p in policies}
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    env = environment(https_template)
    assert env["LOG_LEVEL"] == "info"
    assert env["DATABASE_URL_PARAMS"].startswith("connection_limit=20&")
    lb_groups = [g for g in resources(https_template, "AWS::EC2::SecurityGroup") if g.startswith("WebLB")]
    open_ports = {(r[3], r[4]) for r in sg_rules(https_template) if r[0] == "in" and r[1] in lb_groups}
    assert open_ports == {(80, 80), (443, 443)}


# -- errors: validation first, with the numbers and the ways out ----------------------------------

def test_pool_size_too_big_names_the_ways_out() -> None:
    stack, db = small_stack()
    with pytest.raises(BudgetError) as err:
        ContainerService(stack, "Web", database=db, image=IMAGE, pool_size=10)
    message = str(err.value)
    for part in ("pool_size=10", "needs 80 connections", "gives this service 72", "max_tasks <= 3",
                 "larger instance class", "maximum_percent", "RDS Proxy"):
        assert part in message, (part, message)
    assert db.ledger.allocations == ()  # nothing allocated, nothing created
    assert not [c for c in stack.node.children if c.node.id == "Web"] or \
        not stack.node.find_child("Web").node.children


def test_too_many_tasks_for_one_connection_each() -> None:
    stack, db = small_stack()
    with pytest.raises(BudgetError, match=r"max_tasks=40 .* needs 80 connections .* max_tasks <= 36"):
        ContainerService(stack, "Web", database=db, image=IMAGE, max_tasks=40)


def test_service_shares_the_ledger_with_earlier_consumers() -> None:
    stack, db = small_stack()
    db.allocate("someone-else", 40, paradigm="serverless")
    web = ContainerService(stack, "Web", database=db, image=IMAGE)
    assert web.plan.pool_size == 4  # 32 left // 8 peak tasks
    assert web.allocation.connections == 32 and db.ledger.remaining == 0


def test_connections_share_leaves_the_rest_free() -> None:
    stack, db = small_stack()
    web = ContainerService(stack, "Web", database=db, image=IMAGE, connections=40)
    assert (web.plan.pool_size, web.allocation.connections, db.ledger.remaining) == (5, 40, 32)


@pytest.mark.parametrize(("props", "pattern"), [
    ({"desired_tasks": 5}, r"desired_tasks=5 must be between min_tasks=1 and max_tasks=4"),
    ({"min_tasks": 0}, r"min_tasks=0 must be at least 1"),
    ({"min_tasks": 5}, r"min_tasks=5 is greater than max_tasks=4"),
    ({"cpu": 300}, r"cpu=300 is not a Fargate task size"),
    ({"memory_mib": 4096}, r"memory_mib=4096 does not fit cpu=256"),
    ({"container_port": 0}, r"container_port=0"),
    ({"health_check_path": "healthz"}, r"health_check_path='healthz'"),
    ({"maximum_percent": 250}, r"maximum_percent=250 must be between 100 and 200"),
    ({"scale_on_cpu_percent": 95}, r"scale_on_cpu_percent=95"),
    ({"environment": {"STRIPE_API_KEY": "x"}}, r"looks like a credential"),
    ({"log_retention": logs.RetentionDays.INFINITE}, r"log_retention=.*INFINITE.* keeps logs forever"),
    ({"environment": {"DATABASE_URL_PARAMS": "x"}}, r"is reserved: ContainerService sets it"),
    (
        {"environment": {"UPSTREAM": "https://bob:hunter2@example.com"}},
        r"holds a value that looks like a credential",
    ),
])
def test_bad_inputs_are_refused_before_anything_is_created(props: dict[str, Any], pattern: str) -> None:
    stack, db = small_stack()
    with pytest.raises(InputError, match=pattern):
        ContainerService(stack, "Web", database=db, image=IMAGE, **props)
    assert db.ledger.allocations == ()


# -- snapshot ------------------------------------------------------------------------------------

def test_paas_template_snapshot(default_template: dict[str, Any], snapshot: Any) -> None:
    assert default_template == snapshot(extension_class=JSONSnapshotExtension)

"""Pulumi ContainerService and the ``paas`` example program, rendered offline (preview.render)."""

from __future__ import annotations

import json
import math
import re
from functools import cache
from typing import Any
from urllib.parse import parse_qs

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from deploy_paradigms.budget import BudgetError, ConnectionLedger, InputError, describe_connection_limit
from deploy_paradigms.plans import paas
from deploy_paradigms.pulumi import container_service as cs
from deploy_paradigms.pulumi.mock_engine import MockRun
from deploy_paradigms.pulumi.preview import render, render_stack

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"


@cache
def rendered_run(**config: str) -> MockRun:
    return render_stack("paas", config)


def rendered(**config: str) -> tuple[dict[str, Any], ...]:
    return tuple(rendered_run(**config).resources)


def one(records: tuple[dict[str, Any], ...], rtype: str, name: str | None = None) -> dict[str, Any]:
    found = [r for r in records if r["type"] == rtype and (name is None or r["name"] == name)]
    assert len(found) == 1, (rtype, name, [r["name"] for r in found])
    return found[0]["inputs"]  # type: ignore[no-any-return]


def of_type(records: tuple[dict[str, Any], ...], rtype: str) -> list[dict[str, Any]]:
    return [r for r in records if r["type"] == rtype]


def container(records: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    (definition,) = json.loads(one(records, "aws:ecs/taskDefinition:TaskDefinition")["containerDefinitions"])
    return definition  # type: ignore[no-any-return]


def environment(records: tuple[dict[str, Any], ...]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(records)["environment"]}


def available(instance_class: str) -> int:
    return ConnectionLedger(describe_connection_limit("postgres", instance_class)).available


@pytest.mark.parametrize(("config", "instance_class", "pool"), [
    ({}, "db.t3.micro", 9),
    ({"instanceClass": "db.m5.large"}, "db.m5.large", 96),
])
def test_pool_times_peak_tasks_fits_the_allocation(config: dict[str, str], instance_class: str,
                                                   pool: int) -> None:
    records = rendered(**config)
    service = one(records, "aws:ecs/service:Service")
    target = one(records, "aws:appautoscaling/target:Target")
    params = parse_qs(environment(records)["DATABASE_URL_PARAMS"])
    connection_limit = int(params["connection_limit"][0])
    peak = math.ceil(target["maxCapacity"] * service["deploymentMaximumPercent"] / 100)
    assert connection_limit == pool
    assert connection_limit * peak <= available(instance_class) < (connection_limit + 1) * peak
    component = one(records, cs.ContainerService.TYPE)
    assert (component["poolSize"], component["maxTasks"], component["connections"]) == \
        (pool, 4, pool * peak)


def test_autoscaling_max_is_the_plans() -> None:
    records = rendered()
    target = one(records, "aws:appautoscaling/target:Target")
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 4)
    states = rendered_run().states  # the cluster and the service are auto-named, as Pulumi names them
    assert target["resourceId"] == f"service/{states['web-cluster']['name']}/{states['web-service']['name']}"
    assert re.fullmatch(r"service/web-cluster-[0-9a-f]{7}/web-service-[0-9a-f]{7}", target["resourceId"])
    (policy,) = [r["inputs"] for r in of_type(records, "aws:appautoscaling/policy:Policy")]
    config = policy["targetTrackingScalingPolicyConfiguration"]
    metric = config["predefinedMetricSpecification"]["predefinedMetricType"]
    assert metric == "ECSServiceAverageCPUUtilization"
    assert (config["targetValue"], config["scaleOutCooldown"], config["scaleInCooldown"]) == (60, 60, 300)


def test_credentials_come_from_ecs_secrets_only() -> None:
    records = rendered()
    definition = container(records)
    # the application role's secret, not the master user's
    raw = one(records, "aws:lambda/invocation:Invocation", "database-app-role")["input"]
    secret = (json.loads(raw) if isinstance(raw, str) else raw)["AppSecretArn"]
    assert "rds!" not in secret
    assert {s["name"]: s["valueFrom"] for s in definition["secrets"]} == {
        "DATABASE_USER": f"{secret}:username::", "DATABASE_PASSWORD": f"{secret}:password::"}
    env = environment(records)
    assert env.pop("DATABASE_SECRET_ARN") == secret  # its ARN (to follow a rotation), never its value
    assert not [k for k in env if "PASSWORD" in k or "SECRET" in k or k == "DATABASE_USER"]
    assert env["DATABASE_URL_PARAMS"] == \
        ("connection_limit=9&pool_timeout=10&connect_timeout=5&sslmode=verify-full"
         "&sslrootcert=rds-ca-bundle.pem&socket_timeout=29&statement_timeout=28000")
    assert (env["DATABASE_PORT"], env["DATABASE_NAME"], env["DATABASE_ENGINE"], env["PORT"]) == \
        ("5432", "app", "postgres", "8080")
    policy = json.loads(one(records, "aws:iam/rolePolicy:RolePolicy", "web-execution-policy")["policy"])
    reads = [s for s in policy["Statement"] if "secretsmanager" in str(s["Action"])]
    assert reads == [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret}]
    # The app's role may only read that secret (to follow a rotation), nothing else.
    task_policy = json.loads(one(records, "aws:iam/rolePolicy:RolePolicy", "web-task-secret")["policy"])
    assert task_policy["Statement"] == [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                         "Resource": secret}]


def test_circuit_breaker_health_check_and_shutdown() -> None:
    records = rendered()
    service = one(records, "aws:ecs/service:Service")
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert (service["deploymentMaximumPercent"], service["deploymentMinimumHealthyPercent"]) == (200, 100)
    assert (service["desiredCount"], service["healthCheckGracePeriodSeconds"]) == (1, 10)
    assert service["networkConfiguration"]["assignPublicIp"] is False
    tg = one(records, "aws:lb/targetGroup:TargetGroup")
    assert tg["deregistrationDelay"] == 30
    assert tg["healthCheck"] == {"enabled": True, "path": "/healthz", "protocol": "HTTP", "matcher": "200",
                                 "interval": 5, "timeout": 3, "healthyThreshold": 2, "unhealthyThreshold": 3}
    assert container(records)["stopTimeout"] == 20
    log = container(records)["logConfiguration"]
    assert (log["logDriver"], log["options"]["awslogs-group"]) == ("awslogs", "web-logs")
    assert one(records, "aws:cloudwatch/logGroup:LogGroup", "web-logs")["retentionInDays"] == 30
    assert one(records, "aws:ecs/cluster:Cluster")["settings"] == \
        [{"name": "containerInsights", "value": "enabled"}]


def test_security_group_rules_are_exact() -> None:
    records, name_of = rendered(), rendered_run().name_of
    rules = set()
    for direction, rtype in (("in", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"),
                             ("out", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")):
        for r in of_type(records, rtype):
            i = r["inputs"]
            peer = i.get("cidrIpv4") or i.get("referencedSecurityGroupId")
            rules.add((direction, name_of(i["securityGroupId"]), name_of(peer), i["ipProtocol"],
                       i["fromPort"], i["toPort"]))
    assert rules == {
        ("in", "web-lb-sg", "0.0.0.0/0", "tcp", 80, 80),
        ("out", "web-lb-sg", "web-tasks-sg", "tcp", 8080, 8080),
        ("in", "web-tasks-sg", "web-lb-sg", "tcp", 8080, 8080),
        ("out", "web-tasks-sg", "database-sg", "tcp", 5432, 5432),
        ("out", "web-tasks-sg", "0.0.0.0/0", "tcp", 443, 443),
        ("in", "database-sg", "web-tasks-sg", "tcp", 5432, 5432),
        # The migration function: direct to the database, and HTTPS for Secrets Manager.
        ("out", "web-migrations-sg", "database-sg", "tcp", 5432, 5432),
        ("out", "web-migrations-sg", "0.0.0.0/0", "tcp", 443, 443),
        ("in", "database-sg", "web-migrations-sg", "tcp", 5432, 5432),
        # the application role's bootstrap
        ("in", "database-sg", "database-role-bootstrap-sg", "tcp", 5432, 5432),
        ("out", "database-role-bootstrap-sg", "database-sg", "tcp", 5432, 5432),
        ("out", "database-role-bootstrap-sg", "0.0.0.0/0", "tcp", 443, 443),
    }
    for name in ("web-lb-sg", "web-tasks-sg"):
        group = one(records, "aws:ec2/securityGroup:SecurityGroup", name)
        assert "ingress" not in group and "egress" not in group  # no inline rules


def test_plain_http_and_access_logs() -> None:
    records = rendered()
    (listener,) = [r["inputs"] for r in of_type(records, "aws:lb/listener:Listener")]
    assert (listener["port"], listener["protocol"]) == (80, "HTTP")
    lb = one(records, "aws:lb/loadBalancer:LoadBalancer")
    bucket = one(records, "aws:s3/bucket:Bucket")
    # A bucket's id is its name (auto-named: logical name plus a random suffix).
    assert re.fullmatch(r"web-access-logs-[0-9a-f]{7}", lb["accessLogs"]["bucket"])
    assert lb["accessLogs"] == {"bucket": lb["accessLogs"]["bucket"], "enabled": True, "prefix": "web"}
    assert not bucket.get("bucket")
    assert lb["dropInvalidHeaderFields"] is True
    sse = one(records, "aws:s3/bucketServerSideEncryptionConfiguration:"
                       "BucketServerSideEncryptionConfiguration")
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    assert one(records, "aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"] == \
        {"status": "Enabled"}
    policy = json.loads(one(records, "aws:s3/bucketPolicy:BucketPolicy")["policy"])
    assert any(s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
               for s in policy["Statement"])


def test_https_with_redirect() -> None:
    records = rendered(certificateArn=CERT)
    listeners = {r["inputs"]["port"]: r["inputs"] for r in of_type(records, "aws:lb/listener:Listener")}
    assert set(listeners) == {80, 443}
    assert (listeners[443]["protocol"], listeners[443]["certificateArn"]) == ("HTTPS", CERT)
    assert listeners[443]["sslPolicy"] == paas.SSL_POLICY_NAME == "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09"
    redirect = listeners[80]["defaultActions"][0]
    assert (redirect["type"], redirect["redirect"]["protocol"], redirect["redirect"]["port"]) == \
        ("redirect", "HTTPS", "443")
    ingress = of_type(records, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    lb_sg = rendered_run(certificateArn=CERT).states["web-lb-sg"]["id"]
    ports = {r["inputs"]["fromPort"] for r in ingress if r["inputs"]["securityGroupId"] == lb_sg}
    assert ports == {80, 443}


def test_image_comes_from_a_repository_tagged_by_content() -> None:
    records = rendered()
    repo = one(records, "aws:ecr/repository:Repository")
    assert repo["imageTagMutability"] == "IMMUTABLE"
    image = container(records)["image"]
    assert image.startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/web-images:sample-")
    policy = json.loads(one(records, "aws:iam/rolePolicy:RolePolicy", "web-execution-policy")["policy"])
    pulls = [s for s in policy["Statement"] if "ecr:BatchGetImage" in s["Action"]]
    assert pulls[0]["Resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/web-images"
    # With an image of your own, no repository and no ECR permission.
    own = rendered(image="public.ecr.aws/docker/library/python:3.13-slim")
    assert not of_type(own, "aws:ecr/repository:Repository")
    assert "ecr:" not in one(own, "aws:iam/rolePolicy:RolePolicy", "web-execution-policy")["policy"]


@pytest.mark.parametrize(("config", "pattern"), [
    ({"poolSize": "10"}, r"pool_size=10 .* needs 80 connections .* max_tasks <= 3"),
    ({"maxTasks": "40"}, r"max_tasks=40 .* needs 80 connections .* max_tasks <= 36"),
])
def test_budget_errors_name_the_ways_out(config: dict[str, str], pattern: str) -> None:
    with pytest.raises(BudgetError, match=pattern) as err:
        render("paas", config)
    if "poolSize" in config:
        for way_out in ("larger instance class", "maximum_percent", "RDS Proxy"):
            assert way_out in str(err.value)


def test_input_refusals_are_input_errors_not_budget_errors() -> None:
    # min_tasks=0 is about the service, not the database's budget (issue 11: BudgetError only for budget).
    with pytest.raises(InputError, match=r"min_tasks=0 must be at least 1") as err:
        render("paas", {"minTasks": "0"})
    assert not isinstance(err.value, BudgetError)


def test_paas_preview_snapshot(snapshot: Any) -> None:
    assert list(rendered()) == snapshot(extension_class=JSONSnapshotExtension)

"""The CDK ``Paas`` template and the Pulumi ``paas`` preview make the same decisions.

Decisions are read back from what each engine would deploy (template
properties, resource inputs), not from the plan objects, so a renderer that
recomputed or dropped a number would fail here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import template_of

from deploy_paradigms.plans.names import ECS_FAMILY, task_family
from deploy_paradigms.pulumi.preview import STACK, render
from deploy_paradigms.pulumi.program import PROJECT


def _one(template: dict[str, Any], rtype: str) -> dict[str, Any]:
    (res,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == rtype]
    return res  # type: ignore[no-any-return]


def cdk_decisions(template: dict[str, Any]) -> dict[str, Any]:
    service = _one(template, "AWS::ECS::Service")
    (container,) = _one(template, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    target = _one(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    tg = _one(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    attributes = {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}
    policy = _one(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    cpu = policy["TargetTrackingScalingPolicyConfiguration"]
    return {
        "url_params": env["DATABASE_URL_PARAMS"],
        "max_tasks": target["MaxCapacity"],
        "min_tasks": target["MinCapacity"],
        # The count at creation differs by design (CDK: none in the template, autoscaling sets it;
        # Pulumi: min_tasks, then ignored on update): both leave it to autoscaling after creation.
        "pool_contract": {k: v for k, v in env.items() if k.startswith("DATABASE_") and k.endswith(
            ("_MAX", "_MS"))},
        "maximum_percent": service["DeploymentConfiguration"]["MaximumPercent"],
        "minimum_healthy_percent": service["DeploymentConfiguration"]["MinimumHealthyPercent"],
        "circuit_breaker": service["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
            "Enable": True, "Rollback": True},
        "grace_s": service["HealthCheckGracePeriodSeconds"],
        "health_check": (tg["HealthCheckPath"], tg["HealthCheckIntervalSeconds"],
                         tg["HealthCheckTimeoutSeconds"], tg["HealthyThresholdCount"],
                         tg["UnhealthyThresholdCount"]),
        "deregistration_delay_s": int(attributes["deregistration_delay.timeout_seconds"]),
        "stop_timeout_s": container["StopTimeout"],
        "cpu_target": (cpu["TargetValue"], cpu["ScaleOutCooldown"], cpu["ScaleInCooldown"]),
        "secrets": sorted(s["Name"] for s in container["Secrets"]),
        "task_size": (_one(template, "AWS::ECS::TaskDefinition")["Cpu"],
                      _one(template, "AWS::ECS::TaskDefinition")["Memory"]),
    }


def pulumi_decisions(records: list[dict[str, Any]]) -> dict[str, Any]:
    def one(rtype: str) -> dict[str, Any]:
        (inputs,) = [r["inputs"] for r in records if r["type"] == rtype]
        return inputs  # type: ignore[no-any-return]

    service = one("aws:ecs/service:Service")
    task = one("aws:ecs/taskDefinition:TaskDefinition")
    (container,) = json.loads(task["containerDefinitions"])
    env = {e["name"]: e["value"] for e in container["environment"]}
    target = one("aws:appautoscaling/target:Target")
    tg = one("aws:lb/targetGroup:TargetGroup")
    hc = tg["healthCheck"]
    cpu = one("aws:appautoscaling/policy:Policy")["targetTrackingScalingPolicyConfiguration"]
    return {
        "url_params": env["DATABASE_URL_PARAMS"],
        "max_tasks": target["maxCapacity"],
        "min_tasks": target["minCapacity"],
        "pool_contract": {k: v for k, v in env.items() if k.startswith("DATABASE_") and k.endswith(
            ("_MAX", "_MS"))},
        "maximum_percent": service["deploymentMaximumPercent"],
        "minimum_healthy_percent": service["deploymentMinimumHealthyPercent"],
        "circuit_breaker": service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True},
        "grace_s": service["healthCheckGracePeriodSeconds"],
        "health_check": (hc["path"], hc["interval"], hc["timeout"], hc["healthyThreshold"],
                         hc["unhealthyThreshold"]),
        "deregistration_delay_s": tg["deregistrationDelay"],
        "stop_timeout_s": container["stopTimeout"],
        "cpu_target": (cpu["targetValue"], cpu["scaleOutCooldown"], cpu["scaleInCooldown"]),
        "secrets": sorted(s["name"] for s in container["secrets"]),
        "task_size": (task["cpu"], task["memory"]),
    }


@pytest.mark.parametrize("context", [{}, {"instanceClass": "db.m5.large"}], ids=["default", "db.m5.large"])
def test_cdk_and_pulumi_decide_the_same(context: dict[str, str], synth: Callable[..., Any]) -> None:
    cdk = cdk_decisions(template_of(synth(("Paas",), **context), "Paas"))
    pulumi = pulumi_decisions(render("paas", context))
    assert cdk == pulumi
    # The numbers the issue names, spelled out.
    pool = {"": 9, "db.m5.large": 96}[context.get("instanceClass", "")]
    assert cdk["url_params"] == (f"connection_limit={pool}&pool_timeout=10&connect_timeout=5"
                                 "&sslmode=verify-full&sslrootcert=rds-ca-bundle.pem"
                                 "&socket_timeout=29&statement_timeout=28000")
    assert (cdk["max_tasks"], cdk["maximum_percent"]) == (4, 200)


def test_task_family_is_unique_per_stack_and_project(synth: Callable[..., Any]) -> None:
    # aws-cdk names the family after the stack and construct path; Pulumi after the project, stack
    # and component, so two stacks never register revisions of one family.
    task = _one(template_of(synth(("Paas",)), "Paas"), "AWS::ECS::TaskDefinition")
    assert task["Family"].startswith("PaasWebTaskDef")
    (family,) = [r["inputs"]["family"] for r in render("paas", {})
                 if r["type"] == "aws:ecs/taskDefinition:TaskDefinition"]
    assert family == f"{PROJECT}-{STACK}-web"
    assert ECS_FAMILY.fullmatch(task_family("shop", "dev", "web"))
    assert task_family("shop", "dev", "web") != task_family("blog", "dev", "web")

"""Full-decision parity for the PaaS paradigm (issue 11): CDK and Pulumi render the same plan.

For two engines, two instance classes and two shapes (plain HTTP with the defaults; HTTPS with a
custom port, size, range, request scaling, environment and retention), the same inputs go to the
CDK construct (template via ``aws_cdk.assertions.Template``) and the Pulumi component (the preview
mocks). A reader per framework reads back EVERY property the plan decides into one normalised
dict, and the test asserts ``plan == CDK readback == Pulumi readback``, except the entries of
:data:`ALLOW_LIST`: framework differences, each with its reason and the value that framework
renders instead (so an allow-listed difference is still checked, not skipped).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, replace
from functools import cache
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Template
from conftest import cdk_json_context

from deploy_paradigms.cdk import container_service as cdk_cs
from deploy_paradigms.cdk.database import Database as CdkDatabase
from deploy_paradigms.plans import paas
from deploy_paradigms.plans.names import ECS_FAMILY, task_family
from deploy_paradigms.plans.paas import ContainerServicePlan
from deploy_paradigms.pulumi import container_service as pulumi_cs
from deploy_paradigms.pulumi.database import Database as PulumiDatabase
from deploy_paradigms.pulumi.database import DatabaseArgs
from deploy_paradigms.pulumi.network import Network
from deploy_paradigms.pulumi.preview import ACCOUNT, STACK, render_program
from deploy_paradigms.pulumi.program import PROJECT

REGION = "eu-west-1"
IMAGE = "public.ecr.aws/docker/library/python:3.13-slim"
CERT = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/00000000-0000-0000-0000-000000000000"
REPOSITORY = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/app"
PRIVATE_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app:1.4.2"
REF = "<reference>"  # a value the deployment resolves (endpoint, secret ARN): its key is checked
#: Shapes of inputs (plan input names); ``https`` becomes ``certificate`` / ``certificate_arn``.
SHAPES: dict[str, dict[str, Any]] = {
    "http-defaults": {},
    "https-custom": {
        "https": True,
        "container_port": 9000,
        "cpu": 512,
        "memory_mib": 2048,
        "min_tasks": 2,
        "max_tasks": 6,
        "maximum_percent": 150,
        "scale_on_requests_per_target": 500,
        "environment": {"LOG_LEVEL": "info"},
        "log_retention_days": 90,
        "health_check_path": "/ready",
        "desired_tasks": 3,
        "private_ecr": True,  # an image from a private ECR repository: the execution role pulls from it
    },
}
CASES = [
    ("postgres", "db.t3.micro", "http-defaults"),
    ("postgres", "db.m5.large", "https-custom"),
    ("mysql", "db.t3.micro", "https-custom"),
    ("mysql", "db.m5.large", "http-defaults"),
]


# -- what the plan decided, in the readers' normal form ---------------------------------------------


def plan_view(plan: ContainerServicePlan) -> dict[str, Any]:
    check = asdict(plan.health_check)
    del check["grace_s"]
    return {
        "task": {
            "cpu": plan.cpu,
            "memory": plan.memory_mib,
            "container": plan.container_name,
            "port": plan.container_port,
            "stop_timeout_s": plan.stop_timeout_s,
            "family": plan.family,
        },
        "desired_count": plan.desired_tasks,
        "scaling": {
            "min": plan.min_tasks,
            "max": plan.max_tasks,
            "policies": sorted(
                (p.metric, p.target, p.scale_in_cooldown_s, p.scale_out_cooldown_s)
                for p in plan.scaling_policies
            ),
        },
        "deployment": {
            "maximum_percent": plan.maximum_percent,
            "minimum_healthy_percent": plan.minimum_healthy_percent,
            "circuit_breaker": {"enable": True, "rollback": plan.circuit_breaker_rollback},
            "grace_s": plan.health_check.grace_s,
        },
        "health_check": check,
        "target_group_attributes": dict(plan.target_group_attributes),
        "load_balancer_attributes": dict(plan.load_balancer_attributes),
        "access_logs": {"enabled": True, "prefix": plan.access_log_prefix},
        "access_log_bucket": {
            "expiration_days": plan.access_log_expiration_days,
            "noncurrent_days": plan.noncurrent_expiration_days,
            "sse": "AES256",
            "versioned": True,
            "deny_insecure_transport": True,
            "min_tls": plan.access_log_min_tls,
        },
        "access_log_writers": [f"Service:{paas.ELB_LOG_DELIVERY_PRINCIPAL}"],
        "listeners": sorted(
            (li.port, li.protocol, li.action, li.ssl_policy, li.redirect_to) for li in plan.listeners
        ),
        "environment": plan.environment(host=REF, secret_arn=REF),
        "secrets": sorted(plan.secrets),
        "security_rules": sorted((r.group, r.direction, r.peer, r.port) for r in plan.security_rules),
        "execution_role": statements(plan.execution_role),
        "task_role": statements(plan.task_role),
        "logs": {
            "retention_days": plan.log_retention_days,
            "stream_prefix": plan.log_stream_prefix,
            "mode": plan.log_mode,
            "buffer_mib": plan.log_buffer_mib,
        },
        "alarms": sorted(
            alarm_tuple(
                a.metric,
                a.namespace,
                a.statistic,
                a.period_s,
                a.evaluation_periods,
                a.threshold,
                a.comparison,
                a.treat_missing_data,
                a.dimensions,
            )
            for a in plan.alarms
        ),
    }


def statements(plan_statements: tuple[paas.Statement, ...]) -> dict[str, list[str]]:
    merged: dict[str, set[str]] = {}
    for statement in plan_statements:
        merged.setdefault(statement.resource, set()).update(statement.actions)
    return {resource: sorted(actions) for resource, actions in merged.items()}


def alarm_tuple(*values: Any) -> tuple[Any, ...]:
    *head, dimensions = values
    return (*head[:5], float(head[5]), *head[6:], tuple(sorted(dimensions)))


#: Framework differences: (framework, key) -> (reason, what that framework renders instead).
ALLOW_LIST: dict[tuple[str, str], tuple[str, Callable[[ContainerServicePlan, dict[str, Any]], Any]]] = {
    ("pulumi", "desired_count"): (
        "aws-cdk leaves DesiredCount out when autoscaling owns the count (a template value would reset "
        "the service on every update, aws-cdk issue 3919); Pulumi must create the service with a count, "
        "so it uses initial_tasks and ignores desiredCount on update (ignore_changes)",
        lambda plan, view: plan.initial_tasks,
    ),
    ("cdk", "execution_role"): (
        "ecs.Secret.from_secrets_manager grants the execution role secretsmanager:DescribeSecret beside "
        "GetSecretValue (aws-cdk-lib's grantRead); the ECS agent needs only GetSecretValue",
        lambda plan, view: with_describe(view["execution_role"]),
    ),
    ("cdk", "task_role"): (
        "the task role reads the secret through aws-cdk-lib's grant_read, which adds DescribeSecret (and "
        "kms:Decrypt for a secret under a customer key, e.g. a Database.from_existing one)",
        lambda plan, view: with_describe(view["task_role"]),
    ),
    ("cdk", "load_balancer_attributes"): (
        "aws-cdk-lib writes AWS's default deletion_protection.enabled=false into the template; Pulumi's "
        "enableDeletionProtection defaults to the same false without an input",
        lambda plan, view: {**view["load_balancer_attributes"], "deletion_protection.enabled": "false"},
    ),
    ("cdk", "target_group_attributes"): (
        "aws-cdk-lib writes AWS's default stickiness.enabled=false into the template; Pulumi leaves "
        "stickiness to the same default (off) without an input",
        lambda plan, view: {**view["target_group_attributes"], "stickiness.enabled": "false"},
    ),
    ("cdk", "access_log_writers"): (
        "aws-cdk-lib's logAccessLogs grants the Region's ELB account where RegionInfo knows one (the "
        "log-delivery service principal otherwise) plus delivery.logs.amazonaws.com; both are AWS-"
        "documented. Pulumi grants the service principal, which works in every Region",
        lambda plan, view: sorted(
            ["AWS:arn:aws:iam::156460612806:root", "Service:delivery.logs.amazonaws.com"]
        ),
    ),
}


def with_describe(roles: dict[str, list[str]]) -> dict[str, list[str]]:
    return {
        res: sorted({*actions, "secretsmanager:DescribeSecret"}) if res == "secret" else actions
        for res, actions in roles.items()
    }


def expected(framework: str, plan: ContainerServicePlan) -> dict[str, Any]:
    view = plan_view(plan)
    return {**view, **{key: fn(plan, view) for (fw, key), (_, fn) in ALLOW_LIST.items() if fw == framework}}


# -- rendering the same inputs in both frameworks ---------------------------------------------------


@cache
def cdk_side(engine: str, instance_class: str, shape: str) -> tuple[ContainerServicePlan, dict[str, Any]]:
    app = cdk.App(analytics_reporting=False, context=cdk_json_context())
    stack = cdk.Stack(app, "Parity", env=cdk.Environment(region=REGION))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=1,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC),
            ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ],
    )
    database = CdkDatabase(stack, "Database", vpc=vpc, engine=engine, instance_class=instance_class)
    inputs = dict(SHAPES[shape])
    if inputs.pop("https", False):
        inputs["certificate"] = acm.Certificate.from_certificate_arn(stack, "Cert", CERT)
    if "log_retention_days" in inputs:
        inputs["log_retention"] = cdk_cs.RETENTION[inputs.pop("log_retention_days")]
    image = ecs.ContainerImage.from_registry(IMAGE)
    if inputs.pop("private_ecr", False):
        repository = ecr.Repository.from_repository_arn(stack, "Repo", REPOSITORY)
        image = ecs.ContainerImage.from_ecr_repository(repository, tag="1.4.2")
    web = cdk_cs.ContainerService(stack, "web", database=database, image=image, **inputs)
    return web.service_plan, dict(Template.from_stack(stack).to_json())


@cache
def pulumi_side(
    engine: str, instance_class: str, shape: str
) -> tuple[ContainerServicePlan, list[dict[str, Any]]]:
    inputs = dict(SHAPES[shape])
    if inputs.pop("https", False):
        inputs["certificate_arn"] = CERT
    image = IMAGE
    if inputs.pop("private_ecr", False):
        image, inputs["ecr_repository_arn"] = PRIVATE_IMAGE, REPOSITORY
    built: list[pulumi_cs.ContainerService] = []

    def program() -> None:
        database = PulumiDatabase(
            "database", DatabaseArgs(network=Network("network"), engine=engine, instance_class=instance_class)
        )
        built.append(
            pulumi_cs.ContainerService(
                "web", pulumi_cs.ContainerServiceArgs(database=database, image=image, **inputs)
            )
        )

    # With what the mock engine answered (ids), as `pulumi stack export` has them.
    records = render_program(program, {"aws:region": REGION}).records_with_outputs()
    return built[0].service_plan, records


# -- CDK reader: the template -> the normal form -----------------------------------------------------


def cdk_readback(template: dict[str, Any]) -> dict[str, Any]:
    res = template["Resources"]

    def of(rtype: str) -> dict[str, dict[str, Any]]:
        return {k: v["Properties"] for k, v in res.items() if v["Type"] == rtype}

    def one(rtype: str) -> dict[str, Any]:
        (props,) = of(rtype).values()
        return props

    def ref(value: Any) -> str:
        if isinstance(value, dict):
            return str(value.get("Ref") or value.get("Fn::GetAtt", [""])[0])
        return str(value)

    task, service = one("AWS::ECS::TaskDefinition"), one("AWS::ECS::Service")
    (container,) = task["ContainerDefinitions"]
    target, tg = (
        one("AWS::ApplicationAutoScaling::ScalableTarget"),
        one("AWS::ElasticLoadBalancingV2::TargetGroup"),
    )
    lb = one("AWS::ElasticLoadBalancingV2::LoadBalancer")
    lb_attributes = {a["Key"]: a["Value"] for a in lb["LoadBalancerAttributes"]}
    log_options = container["LogConfiguration"]["Options"]
    log_group = res[ref(log_options["awslogs-group"])]["Properties"]
    deployment = service["DeploymentConfiguration"]
    bucket = one("AWS::S3::Bucket")
    (lifecycle,) = bucket["LifecycleConfiguration"]["Rules"]
    (policy,) = [p["PolicyDocument"] for p in of("AWS::S3::BucketPolicy").values()]
    stack_family_prefix = "Parityweb"  # aws-cdk names the family <stack><path>TaskDef<hash>

    def kind(value: Any) -> str:
        if value == "*":
            return "*"
        if isinstance(value, str) and value.startswith("arn:aws:ecr:"):
            return "ecr_repository"
        rtype = res[ref(value)]["Type"]
        return {"AWS::SecretsManager::Secret": "secret", "AWS::Logs::LogGroup": "log_group"}[rtype]

    def role(arn: Any) -> dict[str, list[str]]:
        merged: dict[str, set[str]] = {}
        for props in of("AWS::IAM::Policy").values():
            if {"Ref": ref(arn)} in props["Roles"]:
                for st in props["PolicyDocument"]["Statement"]:
                    actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                    merged.setdefault(kind(st["Resource"]), set()).update(actions)
        return {resource: sorted(actions) for resource, actions in merged.items()}

    return {
        "task": {
            "cpu": int(task["Cpu"]),
            "memory": int(task["Memory"]),
            "container": container["Name"],
            "port": container["PortMappings"][0]["ContainerPort"],
            "stop_timeout_s": container["StopTimeout"],
            "family": None if task["Family"].startswith(stack_family_prefix) else task["Family"],
        },
        "desired_count": service.get("DesiredCount"),
        "scaling": {
            "min": target["MinCapacity"],
            "max": target["MaxCapacity"],
            "policies": sorted(
                (
                    c["PredefinedMetricSpecification"]["PredefinedMetricType"],
                    c["TargetValue"],
                    c["ScaleInCooldown"],
                    c["ScaleOutCooldown"],
                )
                for c in (
                    p["TargetTrackingScalingPolicyConfiguration"]
                    for p in of("AWS::ApplicationAutoScaling::ScalingPolicy").values()
                )
            ),
        },
        "deployment": {
            "maximum_percent": deployment["MaximumPercent"],
            "minimum_healthy_percent": deployment["MinimumHealthyPercent"],
            "circuit_breaker": {k.lower(): v for k, v in deployment["DeploymentCircuitBreaker"].items()},
            "grace_s": service["HealthCheckGracePeriodSeconds"],
        },
        "health_check": {
            "path": tg["HealthCheckPath"],
            "interval_s": tg["HealthCheckIntervalSeconds"],
            "timeout_s": tg["HealthCheckTimeoutSeconds"],
            "healthy_threshold": tg["HealthyThresholdCount"],
            "unhealthy_threshold": tg["UnhealthyThresholdCount"],
            "matcher": tg["Matcher"]["HttpCode"],
            # CloudFormation's default for an HTTP target group (aws-cdk omits it)
            "protocol": tg.get("HealthCheckProtocol", tg["Protocol"]),
        },
        "target_group_attributes": {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]},
        "load_balancer_attributes": {
            k: v for k, v in lb_attributes.items() if not k.startswith("access_logs.")
        },
        "access_logs": {
            "enabled": lb_attributes["access_logs.s3.enabled"] == "true",
            "prefix": lb_attributes["access_logs.s3.prefix"],
        },
        "access_log_bucket": {
            "expiration_days": lifecycle["ExpirationInDays"],
            "noncurrent_days": lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"],
            "sse": bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
                "ServerSideEncryptionByDefault"
            ]["SSEAlgorithm"],
            "versioned": bucket["VersioningConfiguration"]["Status"] == "Enabled",
            **bucket_denials(policy["Statement"]),
        },
        "access_log_writers": writers(policy["Statement"]),
        "listeners": sorted(cdk_listener(p) for p in of("AWS::ElasticLoadBalancingV2::Listener").values()),
        "environment": {
            e["Name"]: e["Value"] if isinstance(e["Value"], str) else REF for e in container["Environment"]
        },
        "secrets": sorted(
            (s["Name"], s["ValueFrom"]["Fn::Join"][1][-1].split(":")[1]) for s in container["Secrets"]
        ),
        "security_rules": cdk_rules(template, lb, service),
        "execution_role": role(task["ExecutionRoleArn"]),
        "task_role": role(task["TaskRoleArn"]),
        "logs": {
            "retention_days": log_group["RetentionInDays"],
            "stream_prefix": log_options["awslogs-stream-prefix"],
            "mode": log_options["mode"],
            "buffer_mib": mib(log_options["max-buffer-size"]),
        },
        "alarms": sorted(
            alarm_tuple(
                a["MetricName"],
                a["Namespace"],
                a["Statistic"],
                a["Period"],
                a["EvaluationPeriods"],
                a["Threshold"],
                a["ComparisonOperator"],
                a["TreatMissingData"],
                [d["Name"] for d in a["Dimensions"]],
            )
            for a in of("AWS::CloudWatch::Alarm").values()
        ),
    }


def cdk_listener(props: dict[str, Any]) -> tuple[Any, ...]:
    (action,) = props["DefaultActions"]
    redirect = action.get("RedirectConfig")
    return (
        props["Port"],
        props["Protocol"],
        action["Type"],
        props.get("SslPolicy"),
        int(redirect["Port"]) if redirect else None,
    )


def cdk_rules(template: dict[str, Any], lb: dict[str, Any], service: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every rule between the service's groups, inline or standalone, named by role."""
    res = template["Resources"]
    (database,) = [r["Properties"] for r in res.values() if r["Type"] == "AWS::RDS::DBInstance"]
    roles = {
        lb["SecurityGroups"][0]["Fn::GetAtt"][0]: "load_balancer",
        service["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"][0]["Fn::GetAtt"][0]: "tasks",
        database["VPCSecurityGroups"][0]["Fn::GetAtt"][0]: "database",
    }

    def name(value: Any) -> str | None:
        if isinstance(value, dict):
            return roles.get(value["Fn::GetAtt"][0])
        return str(value)

    found: list[tuple[Any, ...]] = []

    def add(group: str | None, direction: str, rule: dict[str, Any]) -> None:
        peer = name(
            rule.get("CidrIp") or rule.get("SourceSecurityGroupId") or rule.get("DestinationSecurityGroupId")
        )
        if rule.get("CidrIp") == "255.255.255.255/32":
            return  # aws-cdk's "disallow all traffic" placeholder of a group with no egress: matches nothing
        if group and peer:
            found.append((group, direction, peer, rule["FromPort"]))

    for lid, r in res.items():
        p = r.get("Properties", {})
        if r["Type"] == "AWS::EC2::SecurityGroup":
            for rule in p.get("SecurityGroupIngress", []):
                add(roles.get(lid), "ingress", rule)
            for rule in p.get("SecurityGroupEgress", []):
                add(roles.get(lid), "egress", rule)
        elif r["Type"] in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
            add(name(p["GroupId"]), "ingress" if r["Type"].endswith("Ingress") else "egress", p)
    return sorted(found)


def mib(size: str) -> int:
    """awslogs ``max-buffer-size`` ("25m", or aws-cdk's bytes "26214400b") in MiB."""
    units = {"m": 1, "k": 1 / 1024, "b": 1 / 1024 / 1024}
    return int(float(size[:-1]) * units[size[-1]])


def bucket_denials(statements_: list[dict[str, Any]]) -> dict[str, Any]:
    denies = [s for s in statements_ if s["Effect"] == "Deny"]
    tls = [
        s["Condition"]["NumericLessThan"]["s3:TlsVersion"]
        for s in denies
        if "NumericLessThan" in s.get("Condition", {})
    ]
    return {
        "deny_insecure_transport": any(
            s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in denies
        ),
        "min_tls": float(tls[0]) if tls else None,
    }


def writers(statements_: list[dict[str, Any]]) -> list[str]:
    """Who may put access-log objects: ``Service:<principal>`` or ``AWS:<arn>``."""
    found = []
    for st in statements_:
        if st["Effect"] == "Allow" and "s3:PutObject" in st["Action"]:
            for key, value in st["Principal"].items():
                found.append(f"{key}:{value}")
    return sorted(found)


# -- Pulumi reader: the preview's resource inputs -> the normal form ----------------------------------


def pulumi_readback(records: list[dict[str, Any]]) -> dict[str, Any]:
    def of(rtype: str) -> list[dict[str, Any]]:
        return [r["inputs"] for r in records if r["type"] == rtype]

    def one(rtype: str, name: str | None = None) -> dict[str, Any]:
        (inputs,) = [r["inputs"] for r in records if r["type"] == rtype and name in (None, r["name"])]
        return inputs

    task, service = one("aws:ecs/taskDefinition:TaskDefinition"), one("aws:ecs/service:Service")
    (container,) = json.loads(task["containerDefinitions"])
    target, tg = one("aws:appautoscaling/target:Target"), one("aws:lb/targetGroup:TargetGroup")
    lb, hc = one("aws:lb/loadBalancer:LoadBalancer"), tg["healthCheck"]
    log_options = container["logConfiguration"]["options"]
    (lifecycle,) = one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"]
    sse = one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    policy = json.loads(one("aws:s3/bucketPolicy:BucketPolicy")["policy"])

    def kind(value: Any) -> str:
        arn = value[0] if isinstance(value, list) else value
        services = {"secretsmanager": "secret", "logs": "log_group", "ecr": "ecr_repository"}
        return "*" if arn == "*" else services[arn.split(":")[2]]

    def role(policy_name: str) -> dict[str, list[str]]:
        merged: dict[str, set[str]] = {}
        for st in json.loads(one("aws:iam/rolePolicy:RolePolicy", policy_name)["policy"])["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            merged.setdefault(kind(st["Resource"]), set()).update(actions)
        return {resource: sorted(actions) for resource, actions in merged.items()}

    def resolved(value: str) -> str:
        is_ref = value.endswith(".rds.amazonaws.com") or value.startswith("arn:aws:secretsmanager:")
        return REF if is_ref else value

    return {
        "task": {
            "cpu": int(task["cpu"]),
            "memory": int(task["memory"]),
            "container": container["name"],
            "port": container["portMappings"][0]["containerPort"],
            "stop_timeout_s": container["stopTimeout"],
            "family": task["family"],
        },
        "desired_count": service.get("desiredCount"),
        "scaling": {
            "min": target["minCapacity"],
            "max": target["maxCapacity"],
            "policies": sorted(
                (
                    c["predefinedMetricSpecification"]["predefinedMetricType"],
                    c["targetValue"],
                    c["scaleInCooldown"],
                    c["scaleOutCooldown"],
                )
                for c in (
                    p["targetTrackingScalingPolicyConfiguration"]
                    for p in of("aws:appautoscaling/policy:Policy")
                )
            ),
        },
        "deployment": {
            "maximum_percent": service["deploymentMaximumPercent"],
            "minimum_healthy_percent": service["deploymentMinimumHealthyPercent"],
            "circuit_breaker": service["deploymentCircuitBreaker"],
            "grace_s": service["healthCheckGracePeriodSeconds"],
        },
        "health_check": {
            "path": hc["path"],
            "interval_s": hc["interval"],
            "timeout_s": hc["timeout"],
            "healthy_threshold": hc["healthyThreshold"],
            "unhealthy_threshold": hc["unhealthyThreshold"],
            "matcher": hc["matcher"],
            "protocol": hc["protocol"],
        },
        "target_group_attributes": {"deregistration_delay.timeout_seconds": str(tg["deregistrationDelay"])},
        "load_balancer_attributes": {
            "routing.http.drop_invalid_header_fields.enabled": str(lb["dropInvalidHeaderFields"]).lower()
        },
        "access_logs": {"enabled": lb["accessLogs"]["enabled"], "prefix": lb["accessLogs"]["prefix"]},
        "access_log_bucket": {
            "expiration_days": lifecycle["expiration"]["days"],
            "noncurrent_days": lifecycle["noncurrentVersionExpiration"]["noncurrentDays"],
            "sse": sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"],
            "versioned": one("aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"]["status"]
            == "Enabled",
            **bucket_denials(policy["Statement"]),
        },
        "access_log_writers": writers(policy["Statement"]),
        "listeners": sorted(pulumi_listener(p) for p in of("aws:lb/listener:Listener")),
        "environment": {e["name"]: resolved(e["value"]) for e in container["environment"]},
        "secrets": sorted((s["name"], s["valueFrom"].split(":")[-3]) for s in container["secrets"]),
        "security_rules": pulumi_rules(records),
        "execution_role": role("web-execution-policy"),
        "task_role": role("web-task-secret"),
        "logs": {
            "retention_days": one("aws:cloudwatch/logGroup:LogGroup", "web-logs")["retentionInDays"],
            "stream_prefix": log_options["awslogs-stream-prefix"],
            "mode": log_options["mode"],
            "buffer_mib": mib(log_options["max-buffer-size"]),
        },
        "alarms": sorted(
            alarm_tuple(
                a["metricName"],
                a["namespace"],
                a["statistic"],
                a["period"],
                a["evaluationPeriods"],
                a["threshold"],
                a["comparisonOperator"],
                a["treatMissingData"],
                list(a["dimensions"]),
            )
            for a in of("aws:cloudwatch/metricAlarm:MetricAlarm")
        ),
    }


def pulumi_listener(props: dict[str, Any]) -> tuple[Any, ...]:
    (action,) = props["defaultActions"]
    redirect = action.get("redirect")
    return (
        props["port"],
        props["protocol"],
        action["type"],
        props.get("sslPolicy"),
        int(redirect["port"]) if redirect else None,
    )


def pulumi_rules(records: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    (database,) = [r["inputs"] for r in records if r["type"] == "aws:rds/instance:Instance"]
    ids = {r["name"]: r.get("outputs", {}).get("id") for r in records}
    roles = {
        ids["web-lb-sg"]: "load_balancer",
        ids["web-tasks-sg"]: "tasks",
        database["vpcSecurityGroupIds"][0]: "database",
    }
    found = []
    for r in records:
        if r["type"] in (
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        ):
            p = r["inputs"]
            group = roles.get(p["securityGroupId"])
            peer = p.get("cidrIpv4") or roles.get(p.get("referencedSecurityGroupId", ""))
            if group and peer:
                found.append((group, "ingress" if "Ingress" in r["type"] else "egress", peer, p["fromPort"]))
    return sorted(found)


# -- the tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("engine", "instance_class", "shape"), CASES, ids=["-".join(c) for c in CASES])
def test_plan_equals_cdk_readback_equals_pulumi_readback(
    engine: str, instance_class: str, shape: str
) -> None:
    cdk_plan, template = cdk_side(engine, instance_class, shape)
    pulumi_plan, records = pulumi_side(engine, instance_class, shape)
    # One plan: the frameworks differ only in who names the task family (aws-cdk: stack and path).
    assert cdk_plan == replace(pulumi_plan, family=None)
    assert cdk_readback(template) == expected("cdk", cdk_plan)
    assert pulumi_readback(records) == expected("pulumi", pulumi_plan)


def test_every_allow_listed_difference_is_real_and_explained() -> None:
    """An entry that no longer differs from the plan must go (the list stays honest)."""
    plan, _ = pulumi_side("postgres", "db.t3.micro", "http-defaults")
    view = plan_view(plan)
    for (framework, key), (reason, instead) in ALLOW_LIST.items():
        assert framework in ("cdk", "pulumi") and key in view, key
        assert len(reason) > 40, key
        assert instead(plan, view) != view[key], f"{framework}/{key} no longer differs: remove it"


def test_the_readers_see_every_decision() -> None:
    """Each reader returns every key of the plan's view, so nothing the plan decides goes unread."""
    keys = set(plan_view(cdk_side("postgres", "db.t3.micro", "http-defaults")[0]))
    assert set(cdk_readback(cdk_side("postgres", "db.t3.micro", "http-defaults")[1])) == keys
    assert set(pulumi_readback(pulumi_side("postgres", "db.t3.micro", "http-defaults")[1])) == keys


def test_task_family_is_unique_per_stack_and_project() -> None:
    # aws-cdk names the family after the stack and construct path; Pulumi after the project, stack
    # and component, so two stacks never register revisions of one family.
    plan, records = pulumi_side("postgres", "db.t3.micro", "http-defaults")
    assert plan.family == f"{PROJECT}-{STACK}-web"
    assert ECS_FAMILY.fullmatch(task_family("shop", "dev", "web"))
    assert task_family("shop", "dev", "web") != task_family("blog", "dev", "web")

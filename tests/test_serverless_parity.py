"""The CDK template and the Pulumi resource graph of the serverless example make the same decisions.

Each side is read independently (CloudFormation properties vs pulumi-aws inputs)
into the same shape; the two shapes must be equal, for the default context and
for db.m5.large.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import template_of

from deploy_paradigms.pulumi.preview import render, render_stack

CONTEXTS = [{}, {"instanceClass": "db.m5.large"}]
#: Environment keys compared by value (DATABASE_HOST is a token on one side, a mock endpoint on the other).
COMPARED_ENV = ("DATABASE_ENGINE", "DATABASE_IAM_AUTH", "DATABASE_NAME", "DATABASE_PORT",
                "DATABASE_URL_PARAMS", "DATABASE_USER")


def _one(items: list[dict[str, Any]], what: str) -> dict[str, Any]:
    assert len(items) == 1, f"expected one {what}, found {len(items)}"
    return items[0]


def cdk_decisions(template: dict[str, Any]) -> dict[str, Any]:
    res = template["Resources"]

    def props(rtype: str, prefix: str = "Function") -> list[dict[str, Any]]:
        return [v["Properties"] for k, v in res.items() if v["Type"] == rtype and k.startswith(prefix)]

    fn = _one(props("AWS::Lambda::Function"), "function")
    proxy = _one(props("AWS::RDS::DBProxy"), "proxy")
    pool = _one(props("AWS::RDS::DBProxyTargetGroup"), "target group")["ConnectionPoolConfigurationInfo"]
    env = fn["Environment"]["Variables"]
    return {
        "reserved_concurrency": fn["ReservedConcurrentExecutions"],
        "function": {"timeout": fn["Timeout"], "memory": fn["MemorySize"],
                     "architectures": fn["Architectures"], "runtime": fn["Runtime"]},
        "proxy": {"require_tls": proxy["RequireTLS"], "idle_client_timeout": proxy["IdleClientTimeout"],
                  "engine_family": proxy["EngineFamily"], "iam_auth": [a["IAMAuth"] for a in proxy["Auth"]],
                  "auth_scheme": [a["AuthScheme"] for a in proxy["Auth"]],
                  "max_connections_percent": pool["MaxConnectionsPercent"],
                  "max_idle_connections_percent": pool["MaxIdleConnectionsPercent"],
                  "borrow_timeout": pool["ConnectionBorrowTimeout"]},
        "environment_keys": sorted(env),
        "environment": {k: env[k] for k in COMPARED_ENV},
        "alarms": sorted(
            (a["Namespace"], a["MetricName"], a["Statistic"], a["Period"], a["EvaluationPeriods"],
             a.get("DatapointsToAlarm"), a["Threshold"], a["ComparisonOperator"], a["TreatMissingData"])
            for a in props("AWS::CloudWatch::Alarm")),
        "log_retention_days": _one(props("AWS::Logs::LogGroup"), "log group")["RetentionInDays"],
    }


def pulumi_decisions(records: list[dict[str, Any]]) -> dict[str, Any]:
    def inputs(rtype: str) -> list[dict[str, Any]]:
        return [r["inputs"] for r in records if r["type"] == rtype and r["parent"] == "function"]

    fn = _one(inputs("aws:lambda/function:Function"), "function")
    proxy = _one(inputs("aws:rds/proxy:Proxy"), "proxy")
    pool = _one(inputs("aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup"), "target group")[
        "connectionPoolConfig"]
    env = fn["environment"]["variables"]
    return {
        "reserved_concurrency": fn["reservedConcurrentExecutions"],
        "function": {"timeout": fn["timeout"], "memory": fn["memorySize"],
                     "architectures": fn["architectures"], "runtime": fn["runtime"]},
        "proxy": {"require_tls": proxy["requireTls"], "idle_client_timeout": proxy["idleClientTimeout"],
                  "engine_family": proxy["engineFamily"], "iam_auth": [a["iamAuth"] for a in proxy["auths"]],
                  "auth_scheme": [a["authScheme"] for a in proxy["auths"]],
                  "max_connections_percent": pool["maxConnectionsPercent"],
                  "max_idle_connections_percent": pool["maxIdleConnectionsPercent"],
                  "borrow_timeout": pool["connectionBorrowTimeout"]},
        "environment_keys": sorted(env),
        "environment": {k: env[k] for k in COMPARED_ENV},
        "alarms": sorted(
            (a["namespace"], a["metricName"], a["statistic"], a["period"], a["evaluationPeriods"],
             a.get("datapointsToAlarm"), a["threshold"], a["comparisonOperator"], a["treatMissingData"])
            for a in inputs("aws:cloudwatch/metricAlarm:MetricAlarm")),
        "log_retention_days": _one(inputs("aws:cloudwatch/logGroup:LogGroup"),
                                   "log group")["retentionInDays"],
    }


@pytest.mark.parametrize("context", CONTEXTS, ids=["default", "db.m5.large"])
def test_cdk_and_pulumi_make_the_same_decisions(context: dict[str, str], synth: Callable[..., Any]) -> None:
    cdk_side = cdk_decisions(template_of(synth(("Serverless",), **context), "Serverless"))
    pulumi_side = pulumi_decisions(render("serverless", context))
    assert cdk_side == pulumi_side
    # And they are the decisions the issue asks for.
    assert cdk_side["proxy"]["require_tls"] is True and cdk_side["proxy"]["iam_auth"] == ["REQUIRED"]
    assert cdk_side["environment"]["DATABASE_URL_PARAMS"].startswith("connection_limit=1&")
    expected_cap = 765 if context else 71
    assert cdk_side["reserved_concurrency"] == expected_cap


# -- what happens around the database: retention, backups, destroy (issue 11 parity gaps) --------

#: Framework differences kept on purpose, each with its reason.
ALLOWED_DIFFERENCES = {
    "database_log_groups_on_destroy": (
        "CDK leaves the exported-log groups to aws-cdk's LogRetention custom resource, which adopts "
        "existing groups; Pulumi creates them by their fixed RDS names (/aws/rds/instance/<id>/...), so "
        "retaining them would make the next `pulumi up` of the same stack fail with "
        "ResourceAlreadyExistsException. Pulumi deletes them with the database (the final snapshot stays)."),
    "subnet_sizes": (
        "The CDK examples build their VPC with aws-cdk's ec2.Vpc (public /24, app /22, data /24, "
        "packed); the Pulumi Network component gives every tier a fixed slot of /20 blocks (prefix + 4) "
        "so adding an AZ never renumbers a subnet. Both leave each tier room for the functions' and "
        "tasks' network interfaces; the database and proxy need none of the difference."),
}


def _cdk_around(template: dict[str, Any]) -> dict[str, Any]:
    res = template["Resources"]
    groups = {k: v for k, v in res.items() if v["Type"] == "AWS::Logs::LogGroup"}
    flow = _one([v for k, v in groups.items() if k.startswith("FlowLogsGroup")], "flow log group")
    function = _one([v for k, v in groups.items() if k.startswith("FunctionLogGroup")], "function log group")
    instance = _one([v for v in res.values() if v["Type"] == "AWS::RDS::DBInstance"], "database instance")
    return {
        "flow_log_retention_days": flow["Properties"]["RetentionInDays"],
        "automated_backups_deleted_with_instance": instance["Properties"].get("DeleteAutomatedBackups", True),
        "function_logs_kept_on_destroy": function.get("DeletionPolicy") == "Retain",
        "flow_logs_kept_on_destroy": flow.get("DeletionPolicy") == "Retain",
    }


def _pulumi_around(config: dict[str, str]) -> dict[str, Any]:
    preview = render_stack("serverless", config)
    by_name = {r["name"]: r for r in preview.resources}
    instance = _one([r for r in preview.resources if r["type"] == "aws:rds/instance:Instance"], "instance")
    return {
        "flow_log_retention_days": by_name["network-flow-logs"]["inputs"]["retentionInDays"],
        "automated_backups_deleted_with_instance": instance["inputs"]["deleteAutomatedBackups"],
        "function_logs_kept_on_destroy": preview.options["function-logs"]["retainOnDelete"],
        "flow_logs_kept_on_destroy": preview.options["network-flow-logs"]["retainOnDelete"],
    }


def test_retention_backups_and_destroy_behaviour_match(synth: Callable[..., Any]) -> None:
    cdk_side = _cdk_around(template_of(synth(("Serverless",)), "Serverless"))
    assert cdk_side == _pulumi_around({})
    assert cdk_side == {"flow_log_retention_days": 365, "automated_backups_deleted_with_instance": False,
                        "function_logs_kept_on_destroy": True, "flow_logs_kept_on_destroy": True}
    # The allow-listed difference, as it is today (a change here must update the allow-list).
    preview = render_stack("serverless", {})
    # The groups RDS exports to (fixed names); the role bootstrap's own group is kept, as in CDK.
    database_groups = [r["name"] for r in preview.resources
                       if r["type"] == "aws:cloudwatch/logGroup:LogGroup" and r["parent"] == "database"
                       and r["name"].startswith("database-log-")]
    assert database_groups and not any(preview.options[g]["retainOnDelete"] for g in database_groups)
    assert ALLOWED_DIFFERENCES["database_log_groups_on_destroy"]
    cdk_masks = sorted({int(r["Properties"]["CidrBlock"].split("/")[1])
                        for r in template_of(synth(("Serverless",)), "Serverless")["Resources"].values()
                        if r["Type"] == "AWS::EC2::Subnet"})
    pulumi_masks = sorted({int(r["inputs"]["cidrBlock"].split("/")[1]) for r in preview.resources
                           if r["type"] == "aws:ec2/subnet:Subnet"})
    assert (cdk_masks, pulumi_masks) == ([22, 24], [20]), ALLOWED_DIFFERENCES["subnet_sizes"]

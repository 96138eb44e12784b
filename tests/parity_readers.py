"""Readers for the full-decision parity tests: one normalised dict per framework, and one from the plan.

Each reader extracts every property :class:`~deploy_paradigms.plans.serverless.ServerlessFunctionPlan`
decides from what the framework rendered (a CloudFormation template; the Pulumi mock resource
graph), in the same shape, with framework-made values replaced by placeholders: the construct's
path or name by ``<label>``, tokens and mock ARNs by ``<proxy-endpoint>``, ``<secret-arn>``,
``<partition>`` and so on. Nothing is hand-picked: :data:`PLAN_FIELDS` maps every plan field to
the key it is read back under, and a test keeps that map complete.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2

from deploy_paradigms.cdk.database import Database as CdkDatabase
from deploy_paradigms.plans.names import RDS_PROXY_NAME, RDS_PROXY_NAME_MAX
from deploy_paradigms.plans.serverless import DBUSER_ARN, ProxyPlan, ServerlessFunctionPlan
from deploy_paradigms.runtime import settings

#: Framework differences kept on purpose; each reader applies them the same way, with the reason.
ALLOW_LIST = {
    "proxy_name": (
        "the proxy's physical name: CDK derives the unique part from the construct path "
        "(cdk.Names.unique_resource_name, unchanged since deployed proxies would be replaced), Pulumi "
        "from project, stack and component (plans.names.rds_proxy_name); both obey RDS Proxy's rule and "
        "end in -proxy, which is what is compared"
    ),
    "log_group_arn": (
        "CloudFormation's LogGroup Arn attribute ends in ':*' (the group's streams); pulumi-aws's does "
        "not, so the Pulumi policy names the group and 'arn:*': the same access, read back as 'log-group'"
    ),
    "proxy_to_database_descriptions": (
        "the proxy -> database rules are written by each framework's database side: aws-cdk's proxy "
        "target bind ('Allow connections to the database Instance from the Proxy'), Pulumi's "
        "Database.allow_from ('<consumer> to the <engine> database'); the plan's description is used by "
        "the Pulumi egress rule only. Source, target and port are compared"
    ),
    "proxy_to_database_port": (
        "aws-cdk's bind opens the database's Endpoint.Port attribute (a token), read back as the "
        "database's port; Pulumi renders the number"
    ),
}

#: Plan fields and the readback key holding them; a field not rendered says why.
PLAN_FIELDS: dict[str, str] = {
    "runtime": "function.runtime",
    "architecture": "function.architecture",
    "memory_size": "function.memory_size",
    "timeout_s": "function.timeout_s",
    "reserved_concurrency": "function.reserved_concurrency",
    "description": "function.description",
    "iam_auth": "proxy.iam_auth, environment DATABASE_IAM_AUTH, statements",
    "db_user": "environment DATABASE_USER, statements (dbuser ARN)",
    "secret": "proxy.secret (which secret the proxy logs in with)",
    "alarms": "alarms",
    "log_retention_days": "log_retention_days",
    "environment_values": "environment",
    "extra_environment": "environment",
    "function_subnet_tier": "function.subnet_tier",
    "proxy": "proxy",
    "security_rules": "security_rules",
    "statements": "statements",
    "security_group_description": "security_group_description",
    "role_description": "role_description",
}
#: Plan fields that are not rendered as a resource property, and why.
NOT_RENDERED = {
    "label": "the construct path / component name: replaced by <label> in every string",
    "budget": "the connection arithmetic: its rendered numbers are the fields above",
}
PROXY_FIELDS = {
    "engine_family",
    "require_tls",
    "idle_client_timeout_s",
    "borrow_timeout_s",
    "max_connections_percent",
    "max_idle_connections_percent",
    "iam_auth",
    "auth_scheme",
    "secret",
    "subnet_tier",
    "role_actions",
    "description",
}
PROXY_NOT_RENDERED = {
    "database_connections": "the ledger's and the guard's number (max_connections x percent)"
}


def check_field_maps() -> None:
    """Every plan field is read back or says why not (a new field fails until it is mapped)."""
    plan_fields = {f.name for f in fields(ServerlessFunctionPlan)}
    assert plan_fields == set(PLAN_FIELDS) | set(NOT_RENDERED), plan_fields ^ (
        set(PLAN_FIELDS) | set(NOT_RENDERED)
    )
    proxy_fields = {f.name for f in fields(ProxyPlan)}
    assert proxy_fields == PROXY_FIELDS | set(PROXY_NOT_RENDERED)


def _canon(decisions: dict[str, Any], label: str) -> dict[str, Any]:
    """Labels replaced, and the unordered collections in one order (as JSON), whatever their source."""
    labelled: dict[str, Any] = _label(decisions, label)
    for key in ("security_rules", "statements", "alarms"):
        labelled[key] = sorted(labelled[key], key=json.dumps)
    return labelled


def _label(value: Any, label: str) -> Any:
    if isinstance(value, str):
        return value.replace(label, "<label>")
    if isinstance(value, dict):
        return {k: _label(v, label) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_label(v, label) for v in value]
    return value


_DBUSER = re.compile(r"^arn:[^:]+:rds-db:[^:]+:[^:]+:dbuser:[^/]+/(.+)$")


def dbuser_shape(arn: str) -> str:
    match = _DBUSER.match(arn)
    assert match, arn
    return DBUSER_ARN.format(
        partition="<partition>",
        region="<region>",
        account="<account>",
        proxy_id="<proxy-id>",
        user=match.group(1),
    )


def _proxy_name_ok(name: str) -> bool:
    return bool(RDS_PROXY_NAME.match(name)) and len(name) <= RDS_PROXY_NAME_MAX and name.endswith("-proxy")


# -- the plan ---------------------------------------------------------------------------------------


def from_plan(plan: ServerlessFunctionPlan, *, database_port: int) -> dict[str, Any]:
    """What the plan decided, in the readers' shape."""
    env: dict[str, Any] = plan.environment(host="<proxy-endpoint>", secret_arn="<secret-arn>")
    rules = set()
    for rule in plan.security_rules:
        description = None if rule.target == "database" else rule.description
        rules.add(("egress", rule.source, rule.target, rule.port, description))
        if rule.target in ("proxy", "database"):
            rules.add(("ingress", rule.source, rule.target, rule.port, description))
    statements = sorted(
        (
            sorted(s.actions),
            dbuser_shape(
                DBUSER_ARN.format(
                    partition="aws", region="r", account="a", proxy_id="prx-1", user=plan.db_user
                )
            )
            if s.resource == "dbuser"
            else s.resource,
        )
        for s in plan.statements
    )
    proxy = (
        None
        if plan.proxy is None
        else {
            name: (sorted(getattr(plan.proxy, name)) if name == "role_actions" else getattr(plan.proxy, name))
            for name in sorted(PROXY_FIELDS)
        }
        | {"name_ok": True}
    )
    return _canon(
        {
            "function": {
                "runtime": plan.runtime,
                "architecture": plan.architecture,
                "memory_size": plan.memory_size,
                "timeout_s": plan.timeout_s,
                "reserved_concurrency": plan.reserved_concurrency,
                "description": plan.description,
                "subnet_tier": plan.function_subnet_tier,
            },
            "environment": env,
            "log_retention_days": plan.log_retention_days,
            "proxy": proxy,
            "security_rules": sorted(rules, key=str),
            "statements": statements,
            "alarms": sorted(
                (
                    (
                        a.namespace,
                        a.metric_name,
                        a.dimension,
                        a.statistic,
                        a.period_s,
                        a.evaluation_periods,
                        a.datapoints_to_alarm,
                        a.threshold,
                        a.comparison_operator,
                        a.treat_missing_data,
                        a.description,
                    )
                    for a in plan.alarms
                ),
                key=str,
            ),
            "security_group_description": plan.security_group_description,
            "role_description": plan.role_description,
        },
        plan.label,
    )


# -- CloudFormation ---------------------------------------------------------------------------------


class CfnReader:
    """Reads a ServerlessFunction (construct path ``label``, logical-id prefix ``prefix``) from a template."""

    def __init__(
        self, template: Mapping[str, Any], *, prefix: str, label: str, database_prefix: str = "Db"
    ) -> None:
        self.res: dict[str, Any] = dict(template["Resources"])
        self.prefix, self.label, self.database_prefix = prefix, label, database_prefix

    def _mine(self, rtype: str, prefix: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        start = self.prefix if prefix is None else prefix
        return [(k, v) for k, v in self.res.items() if v["Type"] == rtype and k.startswith(start)]

    def _one(self, rtype: str, prefix: str | None = None, exclude: str = "\0") -> tuple[str, dict[str, Any]]:
        found = [(k, v) for k, v in self._mine(rtype, prefix) if exclude not in k]
        assert len(found) == 1, (rtype, [k for k, _ in found])
        return found[0]

    def _role_of(self, ref: Any) -> str:
        """A security group reference as a role."""
        logical = ref["Fn::GetAtt"][0]
        if logical.startswith(f"{self.prefix}Proxy"):
            return "proxy"
        if logical.startswith(self.prefix):
            return "function"
        assert logical.startswith(self.database_prefix), logical
        return "database"

    def _port(self, value: Any) -> int:
        if isinstance(value, dict):  # aws-cdk's bind: the database's Endpoint.Port attribute
            instance = self.res[value["Fn::GetAtt"][0]]["Properties"]
            return int(instance["Port"])
        return int(value)

    def _tier(self, refs: list[Any]) -> str:
        tiers = {
            "private" if "app" in r["Ref"] else "isolated" if "data" in r["Ref"] else "public" for r in refs
        }
        assert len(tiers) == 1, tiers
        return tiers.pop()

    def _resource(self, value: Any) -> str:
        if value == "*":
            return "*"
        if isinstance(value, dict) and "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == "Arn":
            assert self.res[value["Fn::GetAtt"][0]]["Type"] == "AWS::Logs::LogGroup"
            return "log-group"
        if self._secret(value) is not None:
            return "secret"
        if isinstance(value, dict) and "Ref" in value and "HmacSecret" in value["Ref"]:
            return "hmac-secret"
        if (
            isinstance(value, dict)
            and "Fn::Join" in value
            and any(isinstance(p, str) and ":ssm:" in p for p in value["Fn::Join"][1])
        ):
            return "ssm-parameter"
        if isinstance(value, dict) and "Fn::Join" in value:
            parts = [p if isinstance(p, str) else "<token>" for p in value["Fn::Join"][1]]
            return dbuser_shape("".join(parts))
        raise AssertionError(f"unknown resource {value!r}")

    def _secret(self, value: Any) -> str | None:
        """``app`` (the application role's secret), ``master`` (RDS's managed master secret) or None."""
        if isinstance(value, dict) and "Ref" in value and "AppUser" in value["Ref"]:
            return "app"
        if (
            isinstance(value, dict)
            and value.get("Fn::GetAtt", [None, None])[1] == "MasterUserSecret.SecretArn"
        ):
            return "master"
        return None

    def rules(self) -> list[tuple[Any, ...]]:
        found = set()
        for kind, rtype, peer_key in (
            ("egress", "AWS::EC2::SecurityGroupEgress", "DestinationSecurityGroupId"),
            ("ingress", "AWS::EC2::SecurityGroupIngress", "SourceSecurityGroupId"),
        ):
            for _, rule in ((k, v) for k, v in self.res.items() if v["Type"] == rtype):
                p = rule["Properties"]
                group, peer = self._role_of(p["GroupId"]), self._role_of(p[peer_key])
                source, target = (group, peer) if kind == "egress" else (peer, group)
                if "function" not in (source, target) and "proxy" not in (source, target):
                    continue  # another consumer's rule
                description = None if target == "database" else p["Description"]
                found.add((kind, source, target, self._port(p["FromPort"]), description))
        for _, group in self._mine("AWS::EC2::SecurityGroup"):
            role = self._role_of({"Fn::GetAtt": [_, "GroupId"]})
            for rule in group["Properties"].get("SecurityGroupEgress", []):
                if rule.get("Description") == "Disallow all traffic":
                    continue  # aws-cdk's placeholder: no packet matches it
                found.add(("egress", role, rule["CidrIp"], rule["FromPort"], rule["Description"]))
        return sorted(found, key=str)

    def read(self) -> dict[str, Any]:
        _, fn = self._one("AWS::Lambda::Function")
        f = fn["Properties"]
        env = {
            k: (
                "<proxy-endpoint>"
                if k == settings.HOST
                else "<secret-arn>"
                if k == settings.SECRET_ARN
                else v
            )
            for k, v in f["Environment"]["Variables"].items()
        }
        role_policy = self._one("AWS::IAM::Policy", f"{self.prefix}ServiceRole")[1]["Properties"]
        statements = sorted(
            (
                sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"]),
                self._resource(s["Resource"]),
            )
            for s in role_policy["PolicyDocument"]["Statement"]
        )
        proxies = self._mine("AWS::RDS::DBProxy")
        proxy = None
        if proxies:
            ((_, p),) = proxies
            pp = p["Properties"]
            ((_, tg),) = self._mine("AWS::RDS::DBProxyTargetGroup")
            pool = tg["Properties"]["ConnectionPoolConfigurationInfo"]
            (auth,) = pp["Auth"]
            role_actions = self._one("AWS::IAM::Policy", f"{self.prefix}ProxyIAMRole")[1]["Properties"][
                "PolicyDocument"
            ]["Statement"][0]["Action"]
            proxy = {
                "auth_scheme": auth["AuthScheme"],
                "iam_auth": auth["IAMAuth"],
                "secret": self._secret(auth["SecretArn"]),
                "borrow_timeout_s": pool["ConnectionBorrowTimeout"],
                "description": self._one("AWS::EC2::SecurityGroup", f"{self.prefix}ProxySecurityGroup")[1][
                    "Properties"
                ]["GroupDescription"],
                "engine_family": pp["EngineFamily"],
                "idle_client_timeout_s": pp["IdleClientTimeout"],
                "max_connections_percent": pool["MaxConnectionsPercent"],
                "max_idle_connections_percent": pool["MaxIdleConnectionsPercent"],
                "require_tls": pp["RequireTLS"],
                "role_actions": sorted(role_actions),
                "subnet_tier": self._tier(pp["VpcSubnetIds"]),
                "name_ok": _proxy_name_ok(pp["DBProxyName"]),
            }
        alarms = []
        for _, alarm in self._mine("AWS::CloudWatch::Alarm"):
            a = alarm["Properties"]
            (dimension,) = a["Dimensions"]
            alarms.append(
                (
                    a["Namespace"],
                    a["MetricName"],
                    {"ProxyName": "proxy", "FunctionName": "function"}[dimension["Name"]],
                    a["Statistic"],
                    a["Period"],
                    a["EvaluationPeriods"],
                    a.get("DatapointsToAlarm"),
                    a["Threshold"],
                    a["ComparisonOperator"],
                    a["TreatMissingData"],
                    a["AlarmDescription"],
                )
            )
        return _canon(
            {
                "function": {
                    "runtime": f["Runtime"],
                    "architecture": f["Architectures"][0],
                    "memory_size": f["MemorySize"],
                    "timeout_s": f["Timeout"],
                    "reserved_concurrency": f["ReservedConcurrentExecutions"],
                    "description": f["Description"],
                    "subnet_tier": self._tier(f["VpcConfig"]["SubnetIds"]),
                },
                "environment": env,
                "log_retention_days": self._one("AWS::Logs::LogGroup")[1]["Properties"]["RetentionInDays"],
                "proxy": proxy,
                "security_rules": self.rules(),
                "statements": statements,
                "alarms": sorted(alarms, key=str),
                "security_group_description": self._one(
                    "AWS::EC2::SecurityGroup", f"{self.prefix}SecurityGroup"
                )[1]["Properties"]["GroupDescription"],
                "role_description": self._one("AWS::IAM::Role", f"{self.prefix}ServiceRole")[1]["Properties"][
                    "Description"
                ],
            },
            self.label,
        )


def by_logical_id(preview: Any) -> list[dict[str, Any]]:
    """The preview's records with every id the mock engine answered replaced by ``<name>-id``:
    the readers ask which resource an input points at (``db-sg-id``), not what id AWS gave it."""
    ids = {state["id"]: f"{key.rsplit('::', 1)[-1]}-id"
           for key, state in preview.states.items() if isinstance(state.get("id"), str) and state["id"]}

    def named(value: Any) -> Any:
        if isinstance(value, str):
            return ids.get(value, value)
        if isinstance(value, list):
            return [named(v) for v in value]
        if isinstance(value, dict):
            # A resource's own physical name is an input, not a reference (some ids are names).
            return {k: v if k == "name" else named(v) for k, v in value.items()}
        return value

    return [{**record, "inputs": named(record["inputs"])} for record in preview.resources]


# -- the Pulumi mock resource graph -----------------------------------------------------------------


class PulumiReader:
    """Reads a ServerlessFunction (component ``name``) from preview records (``render_program``)."""

    def __init__(self, records: list[dict[str, Any]], *, name: str, database: str = "db") -> None:
        self.records, self.name, self.database = records, name, database

    def _one(self, rtype: str, name: str) -> dict[str, Any]:
        found = [r for r in self.records if r["type"] == rtype and r["name"] == name]
        assert len(found) == 1, (rtype, name)
        return found[0]["inputs"]  # type: ignore[no-any-return]

    def _role_of(self, group_id: str) -> str:
        return {
            f"{self.name}-sg-id": "function",
            f"{self.name}-proxy-sg-id": "proxy",
            f"{self.database}-sg-id": "database",
        }.get(group_id, "other")

    @staticmethod
    def _tier(ids: list[str]) -> str:
        tiers = {"isolated" if "isolated" in i else "private" if "private" in i else "public" for i in ids}
        assert len(tiers) == 1, tiers
        return tiers.pop()

    def _resource(self, value: Any) -> str:
        if value == "*":
            return "*"
        if isinstance(value, list):  # the log group and its streams
            assert value[1] == f"{value[0]}:*" and ":logs:" in value[0], value
            return "log-group"
        if ":rds-db:" in value:
            assert ":dbuser:prx-" in value, value  # the proxy's resource id, as RDS answers
            return dbuser_shape(value)
        if ":secretsmanager:" in value and "hmac" in value:
            return "hmac-secret"
        if ":secretsmanager:" in value:
            return "secret"
        if ":ssm:" in value and ":parameter/" in value:
            return "ssm-parameter"
        raise AssertionError(value)

    def rules(self) -> list[tuple[Any, ...]]:
        found = set()
        for r in self.records:
            kind = {
                "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "egress",
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "ingress",
            }.get(r["type"])
            if kind is None:
                continue
            i = r["inputs"]
            group = self._role_of(i["securityGroupId"])
            peer = (
                self._role_of(i["referencedSecurityGroupId"])
                if i.get("referencedSecurityGroupId")
                else i["cidrIpv4"]
            )
            source, target = (group, peer) if kind == "egress" else (peer, group)
            if "function" not in (source, target) and "proxy" not in (source, target):
                continue
            description = None if target == "database" else i["description"]
            found.add((kind, source, target, i["fromPort"], description))
        return sorted(found, key=str)

    def read(self) -> dict[str, Any]:
        n = self.name
        f = self._one("aws:lambda/function:Function", f"{n}-function")
        secret_arn = (
            self._one("aws:rds/proxy:Proxy", f"{n}-proxy")["auths"][0]["secretArn"]
            if any(r["name"] == f"{n}-proxy" for r in self.records)
            else None
        )
        env = {
            k: (
                "<proxy-endpoint>"
                if k == settings.HOST
                else "<secret-arn>"
                if k == settings.SECRET_ARN
                else v
            )
            for k, v in f["environment"]["variables"].items()
        }
        role_policies = [
            r["inputs"]
            for r in self.records
            if r["type"] == "aws:iam/rolePolicy:RolePolicy" and r["inputs"]["role"] == f"{n}-role-id"
        ]
        statements = sorted(
            (
                sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"]),
                self._resource(s["Resource"]),
            )
            for policy in role_policies
            for s in json.loads(policy["policy"])["Statement"]
        )
        proxy = None
        if secret_arn is not None:
            p = self._one("aws:rds/proxy:Proxy", f"{n}-proxy")
            pool = self._one("aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup", f"{n}-proxy-targets")[
                "connectionPoolConfig"
            ]
            (auth,) = p["auths"]
            role_policy = json.loads(
                self._one("aws:iam/rolePolicy:RolePolicy", f"{n}-proxy-secret")["policy"]
            )
            proxy = {
                "auth_scheme": auth["authScheme"],
                "iam_auth": auth["iamAuth"],
                "secret": "app" if "app-user" in auth["secretArn"] else "master",
                "borrow_timeout_s": pool["connectionBorrowTimeout"],
                "description": self._one("aws:ec2/securityGroup:SecurityGroup", f"{n}-proxy-sg")[
                    "description"
                ],
                "engine_family": p["engineFamily"],
                "idle_client_timeout_s": p["idleClientTimeout"],
                "max_connections_percent": pool["maxConnectionsPercent"],
                "max_idle_connections_percent": pool["maxIdleConnectionsPercent"],
                "require_tls": p["requireTls"],
                "role_actions": sorted(role_policy["Statement"][0]["Action"]),
                "subnet_tier": self._tier(p["vpcSubnetIds"]),
                "name_ok": _proxy_name_ok(p["name"]),
            }
        alarms = []
        for r in self.records:
            if r["type"] != "aws:cloudwatch/metricAlarm:MetricAlarm" or not r["name"].startswith(f"{n}-"):
                continue
            a = r["inputs"]
            (dimension,) = a["dimensions"]
            alarms.append(
                (
                    a["namespace"],
                    a["metricName"],
                    {"ProxyName": "proxy", "FunctionName": "function"}[dimension],
                    a["statistic"],
                    a["period"],
                    a["evaluationPeriods"],
                    a.get("datapointsToAlarm"),
                    a["threshold"],
                    a["comparisonOperator"],
                    a["treatMissingData"],
                    a["alarmDescription"],
                )
            )
        return _canon(
            {
                "function": {
                    "runtime": f["runtime"],
                    "architecture": f["architectures"][0],
                    "memory_size": f["memorySize"],
                    "timeout_s": f["timeout"],
                    "reserved_concurrency": f["reservedConcurrentExecutions"],
                    "description": f["description"],
                    "subnet_tier": self._tier(f["vpcConfig"]["subnetIds"]),
                },
                "environment": env,
                "log_retention_days": self._one("aws:cloudwatch/logGroup:LogGroup", f"{n}-logs")[
                    "retentionInDays"
                ],
                "proxy": proxy,
                "security_rules": self.rules(),
                "statements": statements,
                "alarms": sorted(alarms, key=str),
                "security_group_description": self._one("aws:ec2/securityGroup:SecurityGroup", f"{n}-sg")[
                    "description"
                ],
                "role_description": self._one("aws:iam/role:Role", f"{n}-role")["description"],
            },
            n,
        )


def cdk_database(engine: str, instance_class: str) -> tuple[cdk.Stack, CdkDatabase]:
    """Stack ``Parity`` (eu-west-1) with a VPC (public, ``app`` private, ``data`` isolated) and ``Db``."""
    app = cdk.App(analytics_reporting=False)
    stack = cdk.Stack(app, "Parity", env=cdk.Environment(region="eu-west-1"))
    tiers = [
        ("public", ec2.SubnetType.PUBLIC),
        ("app", ec2.SubnetType.PRIVATE_WITH_EGRESS),
        ("data", ec2.SubnetType.PRIVATE_ISOLATED),
    ]
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=1,
        subnet_configuration=[ec2.SubnetConfiguration(name=n, subnet_type=t) for n, t in tiers],
    )
    return stack, CdkDatabase(stack, "Db", vpc=vpc, engine=engine, instance_class=instance_class)

"""Normalise Pulumi resource records into guard resources.

A record is ``{"type", "name", "parent", "inputs"}`` as
:func:`deploy_paradigms.pulumi.preview.render` returns it (inputs resolved,
JSON-safe, camelCase as the engine sees them); a record may also carry
``"outputs"`` (for example from ``pulumi stack export``), which makes
references between resources resolvable from real ids and ARNs.

References are resolved to resource names from, in order: a
``{"resource": "type::name"}`` reference; a record's outputs (``id``,
``arn``, ``name``, ``endpoint``, ...); a physical name given as input
(``name``, ``identifier``, ``clusterIdentifier``); and the preview mocks'
documented conventions (id ``<name>-id``, ARN ending ``:<name>``, endpoint
host starting ``<name>.``). Values still unknown (``"[unknown]"``) resolve
to nothing, so graph rules degrade to what is known.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .model import Ingress, Resource, as_bool, as_float, as_int, link, points_at_endpoint

_PHYSICAL_NAME_KEYS = ("name", "identifier", "clusterIdentifier", "functionName", "roleName")
_OUTPUT_KEYS = ("id", "arn", "name", "identifier", "clusterIdentifier", "endpoint", "address",
                "functionName", "roleName")


class References:
    """Maps the values a Pulumi program passes between resources back to resource names."""

    def __init__(self, records: Iterable[Mapping[str, Any]]) -> None:
        self.names: set[str] = set()
        self.index: dict[str, str] = {}
        records = list(records)
        for rec in records:
            name = str(rec.get("name"))
            self.names.add(name)
            self.index.setdefault(f"{name}-id", name)
            inputs = rec.get("inputs") or {}
            for key in _PHYSICAL_NAME_KEYS:
                if isinstance(inputs.get(key), str):
                    self.index.setdefault(inputs[key], name)
            for key in _OUTPUT_KEYS[1:]:
                value = (rec.get("outputs") or {}).get(key)
                if isinstance(value, str) and value:
                    self.index[value] = name
        # An id can be another resource's name (a proxy target group's id is its proxy's name):
        # names and ARNs win.
        for rec in records:
            value = (rec.get("outputs") or {}).get("id")
            if isinstance(value, str) and value:
                self.index.setdefault(value, str(rec.get("name")))

    def __call__(self, value: Any) -> str | None:
        if isinstance(value, Mapping):
            marker = value.get("resource")
            if isinstance(marker, str) and "::" in marker:
                name = marker.rsplit("::", 1)[1]
                return name if name in self.names else None
            return None
        if not isinstance(value, str) or not value or value == "[unknown]":
            return None
        if value in self.index:
            return self.index[value]
        if value in self.names:  # a resource name used as its physical name (mocks, auto-naming off)
            return value
        if value.startswith("arn:"):
            tail = value.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
            return tail if tail in self.names else None
        host = value.split(":", 1)[0]
        if ".rds.amazonaws.com" in host or ".amazonaws.com" in host:
            head = host.split(".", 1)[0]
            return self.index.get(head, head if head in self.names else None)
        return None

    def many(self, values: Any) -> list[str]:
        return [r for r in (self(v) for v in _list(values)) if r is not None]


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _json(value: Any) -> Any:
    """Policy documents and container definitions arrive as JSON text."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _statements(document: Any) -> list[dict[str, Any]]:
    document = _json(document)
    if not isinstance(document, Mapping):
        return []
    out = []
    for st in _list(document.get("Statement")):
        if isinstance(st, Mapping):
            out.append({
                "effect": st.get("Effect", "Allow"),
                "actions": [str(a) for a in _list(st.get("Action"))],
                "not_actions": [str(a) for a in _list(st.get("NotAction"))],
                "resources": [str(r) for r in _list(st.get("Resource"))],
            })
    return out


def _containers(definitions: Any, refs: References) -> list[dict[str, Any]]:
    out = []
    for c in _list(_json(definitions)):
        if not isinstance(c, Mapping):
            continue
        env, env_refs = _environment({e.get("name"): e.get("value") for e in _list(c.get("environment"))
                                      if isinstance(e, Mapping)}, refs)
        secrets = {str(s.get("name")): s.get("valueFrom") for s in _list(c.get("secrets"))
                   if isinstance(s, Mapping)}
        out.append({"name": c.get("name"), "environment": env, "environment_refs": env_refs,
                    "secrets": secrets})
    return out


def _cidr(values: Any) -> list[str]:
    return [v for v in _list(values) if isinstance(v, str)]


def _inline_ingress(group: str, rules: Any, refs: References) -> list[Ingress]:
    out = []
    for rule in _list(rules):
        if not isinstance(rule, Mapping):
            continue
        all_ports = str(rule.get("protocol", "tcp")) in ("-1", "all")
        low = None if all_ports else as_int(rule.get("fromPort"))
        high = None if all_ports else as_int(rule.get("toPort"))
        sources = refs.many(rule.get("securityGroups")) + ([group] if rule.get("self") else [])
        out += [Ingress(group, source_group=s, from_port=low, to_port=high) for s in sources]
        out += [Ingress(group, cidr=c, from_port=low, to_port=high) for c in _cidr(rule.get("cidrBlocks"))
                + _cidr(rule.get("ipv6CidrBlocks"))]
    return out


def _rule_ingress(inputs: Mapping[str, Any], refs: References) -> list[Ingress]:
    group = refs(inputs.get("securityGroupId"))
    all_ports = str(inputs.get("ipProtocol") or inputs.get("protocol") or "tcp") in ("-1", "all")
    low = None if all_ports else as_int(inputs.get("fromPort"))
    high = None if all_ports else as_int(inputs.get("toPort"))
    source = refs(inputs.get("referencedSecurityGroupId") or inputs.get("sourceSecurityGroupId"))
    if inputs.get("self"):
        source = group
    cidrs = _cidr(inputs.get("cidrIpv4")) + _cidr(inputs.get("cidrIpv6")) + _cidr(inputs.get("cidrBlocks")) \
        + _cidr(inputs.get("ipv6CidrBlocks"))
    out = [Ingress(group, source_group=source, from_port=low, to_port=high)] if source else []
    return out + [Ingress(group, cidr=c, from_port=low, to_port=high) for c in cidrs]


def _environment(variables: Any, refs: References) -> tuple[dict[str, Any], list[str]]:
    env = {str(k): v for k, v in (variables or {}).items()} if isinstance(variables, Mapping) else {}
    return env, [r for k, v in env.items() if points_at_endpoint(k) for r in [refs(v)] if r is not None]


def _scaling_service(resource_id: Any, refs: References) -> str | None:
    """``service/<cluster name>/<service name>``."""
    if not isinstance(resource_id, str) or not resource_id.startswith("service/"):
        return None
    return refs(resource_id.rsplit("/", 1)[-1])


def _normalise(rec: Mapping[str, Any], path: str, refs: References) -> Resource:
    typ, name = str(rec.get("type")), str(rec.get("name"))
    inputs: Mapping[str, Any] = rec.get("inputs") or {}

    def make(kind: str, neutral: dict[str, Any]) -> Resource:
        return Resource(kind=kind, name=name, path=path, props=neutral, type=typ, raw=inputs)

    if typ == "aws:rds/instance:Instance":
        return make("database", {
            "engine": inputs.get("engine"),
            "instance_class": inputs.get("instanceClass"),
            "port": as_int(inputs.get("port")),
            "publicly_accessible": as_bool(inputs.get("publiclyAccessible")),
            "storage_encrypted": as_bool(inputs.get("storageEncrypted")),
            "deletion_protection": as_bool(inputs.get("deletionProtection")),
            "backup_retention_days": as_int(inputs.get("backupRetentionPeriod")),
            "security_groups": refs.many(inputs.get("vpcSecurityGroupIds")),
            "parameter_group": refs(inputs.get("parameterGroupName")),
            "tags": dict(inputs.get("tags") or {}),
        })
    if typ == "aws:rds/cluster:Cluster":
        scaling = inputs.get("serverlessv2ScalingConfiguration") or {}
        return make("database", {
            "engine": inputs.get("engine"),
            "port": as_int(inputs.get("port")),
            "max_acu": as_float(scaling.get("maxCapacity")),
            "storage_encrypted": as_bool(inputs.get("storageEncrypted")),
            "deletion_protection": as_bool(inputs.get("deletionProtection")),
            "backup_retention_days": as_int(inputs.get("backupRetentionPeriod")),
            "security_groups": refs.many(inputs.get("vpcSecurityGroupIds")),
            "parameter_group": refs(inputs.get("dbClusterParameterGroupName")),
            "tags": dict(inputs.get("tags") or {}),
        })
    if typ == "aws:rds/clusterInstance:ClusterInstance":
        return make("database_member", {
            "cluster": refs(inputs.get("clusterIdentifier")),
            "instance_class": inputs.get("instanceClass"),
            "publicly_accessible": as_bool(inputs.get("publiclyAccessible")),
            "parameter_group": refs(inputs.get("dbParameterGroupName")),
        })
    if typ in ("aws:rds/parameterGroup:ParameterGroup",
               "aws:rds/clusterParameterGroup:ClusterParameterGroup"):
        return make("parameter_group", {"parameters": {
            str(p.get("name")): p.get("value") for p in _list(inputs.get("parameters"))
            if isinstance(p, Mapping)}})
    if typ == "aws:rds/proxy:Proxy":
        return make("proxy", {
            "require_tls": as_bool(inputs.get("requireTls")),
            "idle_client_timeout_s": as_int(inputs.get("idleClientTimeout")),
            "security_groups": refs.many(inputs.get("vpcSecurityGroupIds")),
            "targets": [], "max_connections_percent": None,
        })
    if typ == "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup":
        pool = inputs.get("connectionPoolConfig") or {}
        return make("proxy_target", {"proxy": refs(inputs.get("dbProxyName")), "targets": [],
                                     "max_connections_percent": as_int(pool.get("maxConnectionsPercent"))})
    if typ == "aws:rds/proxyTarget:ProxyTarget":
        return make("proxy_target", {
            "proxy": refs(inputs.get("dbProxyName")),
            "targets": refs.many(inputs.get("dbInstanceIdentifier"))
            + refs.many(inputs.get("dbClusterIdentifier")),
            "max_connections_percent": None,
        })
    if typ == "aws:lambda/function:Function":
        env, env_refs = _environment((inputs.get("environment") or {}).get("variables"), refs)
        reserved = as_int(inputs.get("reservedConcurrentExecutions"))
        return make("function", {
            "reserved_concurrency": None if reserved is None or reserved < 0 else reserved,
            "environment": env, "environment_refs": env_refs,
            "security_groups": refs.many((inputs.get("vpcConfig") or {}).get("securityGroupIds")),
            "tags": dict(inputs.get("tags") or {}),
        })
    if typ == "aws:ecs/service:Service":
        return make("service", {
            "desired_count": as_int(inputs.get("desiredCount")),
            "maximum_percent": as_int(inputs.get("deploymentMaximumPercent")),
            "deployment_strategy": (inputs.get("deploymentConfiguration") or {}).get("strategy")
            or ("CODE_DEPLOY" if (inputs.get("deploymentController") or {}).get("type") == "CODE_DEPLOY"
                else None),
            "security_groups": refs.many((inputs.get("networkConfiguration") or {}).get("securityGroups")),
            "task_definition": refs(inputs.get("taskDefinition")),
            "tags": dict(inputs.get("tags") or {}),
        })
    if typ == "aws:ecs/taskDefinition:TaskDefinition":
        return make("task_definition", {"containers": _containers(inputs.get("containerDefinitions"), refs)})
    if typ == "aws:appautoscaling/target:Target":
        return make("scaling_target", {
            "service": _scaling_service(inputs.get("resourceId"), refs)
            if inputs.get("scalableDimension") == "ecs:service:DesiredCount" else None,
            "max_capacity": as_int(inputs.get("maxCapacity")),
        })
    if typ in ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"):
        return make("security_group", {"ingress": _inline_ingress(name, inputs.get("ingress"), refs)})
    if typ == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" or (
            typ == "aws:ec2/securityGroupRule:SecurityGroupRule" and inputs.get("type") == "ingress"):
        return make("ingress_rule", {"ingress": _rule_ingress(inputs, refs)})
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        return make("log_group", {"retention_days": as_int(inputs.get("retentionInDays"))})
    if typ in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
        return make("policy", {"statements": _statements(inputs.get("policy"))})
    if typ == "aws:iam/role:Role":
        return make("role", {"statements": [
            st for p in _list(inputs.get("inlinePolicies")) if isinstance(p, Mapping)
            for st in _statements(p.get("policy"))]})
    return make("other", {})


def from_records(records: Iterable[Mapping[str, Any]]) -> list[Resource]:
    """Pulumi resource records (see the module docs) in neutral form."""
    recs = [r for r in records if isinstance(r, Mapping)]
    refs = References(recs)
    parents = {str(r.get("name")): r.get("parent") for r in recs}

    def path_of(name: str) -> str:
        chain, seen = [name], {name}
        parent = parents.get(name)
        while isinstance(parent, str) and parent not in seen:
            chain.append(parent)
            seen.add(parent)
            parent = parents.get(parent)
        return "/".join(reversed(chain))

    return link([_normalise(r, path_of(str(r.get("name"))), refs) for r in recs])

"""Normalise a CloudFormation template (as CDK synthesizes it) into guard resources.

``from_template(template)`` returns the neutral :class:`~.model.Resource` list
described in :mod:`.model`. ``Ref`` and ``Fn::GetAtt`` become the referenced
logical id; other intrinsics are rendered as text (``${Ref}``-style) where a
string is expected, so the IAM and secret rules can still read them.
Resource ``path`` is the construct path when the template carries
``aws:cdk:path`` metadata, else the logical id (the CDK validation report
maps logical ids to construct paths itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Ingress, Resource, as_bool, as_float, as_int, link, points_at_endpoint


def ref(value: Any, names: Mapping[str, Any] | set[str]) -> str | None:
    """The logical id a ``Ref``/``Fn::GetAtt`` points at, when it is in the template."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return None
    if "Ref" in value:
        target = value["Ref"]
    elif "Fn::GetAtt" in value:
        att = value["Fn::GetAtt"]
        target = att[0] if isinstance(att, list) and att else str(att).split(".")[0]
    else:
        return None
    return target if isinstance(target, str) and target in names else None


def text(value: Any) -> str:
    """A template value as text: literals as is, intrinsics as ``${...}`` placeholders,
    ``Fn::Join`` joined, ``Fn::Sub`` as its template."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return f"${{{arg}}}"
        if key == "Fn::GetAtt":
            return "${" + (".".join(map(str, arg)) if isinstance(arg, list) else str(arg)) + "}"
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
            return str(arg[0]).join(text(part) for part in arg[1])
        if key == "Fn::Sub":
            return text(arg[0] if isinstance(arg, list) and arg else arg)
    return "${intrinsic}"


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _refs(values: Any, names: set[str]) -> list[str]:
    return [r for r in (ref(v, names) for v in _list(values)) if r is not None]


def _statements(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, Mapping):
        return []
    out = []
    for st in _list(document.get("Statement")):
        if isinstance(st, Mapping):
            out.append({
                "effect": st.get("Effect", "Allow"),
                "actions": [text(a) for a in _list(st.get("Action"))],
                "not_actions": [text(a) for a in _list(st.get("NotAction"))],
                "resources": [text(r) for r in _list(st.get("Resource"))],
            })
    return out


def _tags(value: Any) -> dict[str, str]:
    return {str(t.get("Key")): text(t.get("Value")) for t in _list(value)
            if isinstance(t, Mapping) and "Key" in t}


def _ingress(group: str | None, rule: Mapping[str, Any], names: set[str]) -> Ingress:
    protocol = str(rule.get("IpProtocol", "tcp"))
    all_ports = protocol in ("-1", "all")
    return Ingress(
        group=group,
        source_group=ref(rule.get("SourceSecurityGroupId"), names),
        cidr=rule.get("CidrIp") if isinstance(rule.get("CidrIp"), str) else (
            rule.get("CidrIpv6") if isinstance(rule.get("CidrIpv6"), str) else None),
        from_port=None if all_ports else as_int(rule.get("FromPort")),
        to_port=None if all_ports else as_int(rule.get("ToPort")),
    )


def _environment(variables: Any, names: set[str]) -> tuple[dict[str, Any], list[str]]:
    env = {str(k): (v if isinstance(v, str) else text(v)) for k, v in (variables or {}).items()}
    refs = [r for k, v in (variables or {}).items() if points_at_endpoint(str(k))
            for r in [ref(v, names)] if r is not None]
    return env, refs


def _containers(definitions: Any, names: set[str]) -> list[dict[str, Any]]:
    out = []
    for c in _list(definitions):
        if not isinstance(c, Mapping):
            continue
        env, env_refs = _environment({e.get("Name"): e.get("Value") for e in _list(c.get("Environment"))
                                      if isinstance(e, Mapping)}, names)
        secrets = {str(s.get("Name")): s.get("ValueFrom") for s in _list(c.get("Secrets"))
                   if isinstance(s, Mapping)}
        out.append({"name": c.get("Name"), "environment": env, "environment_refs": env_refs,
                    "secrets": secrets})
    return out


def _service_of_scaling_target(resource_id: Any, names: set[str]) -> str | None:
    """``service/<cluster>/<service name>``: the service is the GetAtt ``Name`` in the join."""
    if isinstance(resource_id, Mapping) and "Fn::Join" in resource_id:
        parts = resource_id["Fn::Join"][1] if isinstance(resource_id["Fn::Join"], list) else []
        found = [r for r in (ref(p, names) for p in parts) if r is not None]
        return found[-1] if found else None
    return None


def _normalise(logical_id: str, res: Mapping[str, Any], names: set[str], path: str) -> Resource:
    typ = str(res.get("Type", ""))
    props: Mapping[str, Any] = res.get("Properties") or {}

    def make(kind: str, neutral: dict[str, Any]) -> Resource:
        return Resource(kind=kind, name=logical_id, path=path, props=neutral, type=typ, raw=props)

    if typ == "AWS::RDS::DBInstance":
        cluster = ref(props.get("DBClusterIdentifier"), names)
        common = {"instance_class": props.get("DBInstanceClass"),
                  "publicly_accessible": as_bool(props.get("PubliclyAccessible")),
                  "parameter_group": ref(props.get("DBParameterGroupName"), names)}
        if cluster is not None:
            return make("database_member", {**common, "cluster": cluster})
        return make("database", {
            **common,
            "engine": props.get("Engine"),
            "port": as_int(props.get("Port")),
            "storage_encrypted": as_bool(props.get("StorageEncrypted")),
            "deletion_protection": as_bool(props.get("DeletionProtection")),
            "backup_retention_days": as_int(props.get("BackupRetentionPeriod")),
            "security_groups": _refs(props.get("VPCSecurityGroups"), names),
            "tags": _tags(props.get("Tags")),
        })
    if typ == "AWS::RDS::DBCluster":
        scaling = props.get("ServerlessV2ScalingConfiguration") or {}
        return make("database", {
            "engine": props.get("Engine"),
            "port": as_int(props.get("Port")),
            "max_acu": as_float(scaling.get("MaxCapacity")),
            "storage_encrypted": as_bool(props.get("StorageEncrypted")),
            "deletion_protection": as_bool(props.get("DeletionProtection")),
            "backup_retention_days": as_int(props.get("BackupRetentionPeriod")),
            "security_groups": _refs(props.get("VpcSecurityGroupIds"), names),
            "parameter_group": ref(props.get("DBClusterParameterGroupName"), names),
            "tags": _tags(props.get("Tags")),
        })
    if typ in ("AWS::RDS::DBParameterGroup", "AWS::RDS::DBClusterParameterGroup"):
        return make("parameter_group", {"parameters": dict(props.get("Parameters") or {})})
    if typ == "AWS::RDS::DBProxy":
        return make("proxy", {
            "require_tls": as_bool(props.get("RequireTLS")),
            "idle_client_timeout_s": as_int(props.get("IdleClientTimeout")),
            "security_groups": _refs(props.get("VpcSecurityGroupIds"), names),
            "targets": [], "max_connections_percent": None,
        })
    if typ == "AWS::RDS::DBProxyTargetGroup":
        pool = props.get("ConnectionPoolConfigurationInfo") or {}
        return make("proxy_target", {
            "proxy": ref(props.get("DBProxyName"), names),
            "targets": _refs(props.get("DBInstanceIdentifiers"), names)
            + _refs(props.get("DBClusterIdentifiers"), names),
            "max_connections_percent": as_int(pool.get("MaxConnectionsPercent")),
        })
    if typ == "AWS::Lambda::Function":
        env, env_refs = _environment((props.get("Environment") or {}).get("Variables"), names)
        return make("function", {
            "reserved_concurrency": as_int(props.get("ReservedConcurrentExecutions")),
            "environment": env, "environment_refs": env_refs,
            "security_groups": _refs((props.get("VpcConfig") or {}).get("SecurityGroupIds"), names),
            "tags": _tags(props.get("Tags")),
        })
    if typ == "AWS::ECS::Service":
        network = (props.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
        return make("service", {
            "desired_count": as_int(props.get("DesiredCount")),
            "maximum_percent": as_int((props.get("DeploymentConfiguration") or {}).get("MaximumPercent")),
            "deployment_strategy": (props.get("DeploymentConfiguration") or {}).get("Strategy")
            or ("CODE_DEPLOY" if (props.get("DeploymentController") or {}).get("Type") == "CODE_DEPLOY"
                else None),
            "security_groups": _refs(network.get("SecurityGroups"), names),
            "task_definition": ref(props.get("TaskDefinition"), names),
            "tags": _tags(props.get("Tags")),
        })
    if typ == "AWS::ECS::TaskDefinition":
        return make("task_definition", {"containers": _containers(props.get("ContainerDefinitions"), names)})
    if typ == "AWS::ApplicationAutoScaling::ScalableTarget":
        return make("scaling_target", {
            "service": _service_of_scaling_target(props.get("ResourceId"), names)
            if props.get("ScalableDimension") == "ecs:service:DesiredCount" else None,
            "max_capacity": as_int(props.get("MaxCapacity")),
        })
    if typ == "AWS::EC2::SecurityGroup":
        return make("security_group", {"ingress": [
            _ingress(logical_id, rule, names) for rule in _list(props.get("SecurityGroupIngress"))
            if isinstance(rule, Mapping)]})
    if typ == "AWS::EC2::SecurityGroupIngress":
        return make("ingress_rule", {"ingress": [_ingress(ref(props.get("GroupId"), names), props, names)]})
    if typ == "AWS::Logs::LogGroup":
        return make("log_group", {"retention_days": as_int(props.get("RetentionInDays"))})
    if typ in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        return make("policy", {"statements": _statements(props.get("PolicyDocument"))})
    if typ == "AWS::IAM::Role":
        statements = [st for p in _list(props.get("Policies")) if isinstance(p, Mapping)
                      for st in _statements(p.get("PolicyDocument"))]
        return make("role", {"statements": statements})
    return make("other", {})


def from_template(template: Mapping[str, Any], paths: Mapping[str, str] | None = None) -> list[Resource]:
    """The template's resources (and outputs, for the secret scan) in neutral form.

    ``paths`` maps logical ids to construct paths (``BudgetGuard`` reads them from the
    construct tree); omitted, a resource's ``aws:cdk:path`` metadata or its logical id.
    """
    resources: Mapping[str, Any] = template.get("Resources") or {}
    names = set(resources)

    def path_of(logical_id: str, res: Mapping[str, Any]) -> str:
        metadata = res.get("Metadata") or {}
        return str((paths or {}).get(logical_id) or metadata.get("aws:cdk:path") or logical_id)

    out = [_normalise(logical_id, res, names, path_of(logical_id, res))
           for logical_id, res in resources.items() if isinstance(res, Mapping)]
    for key, output in (template.get("Outputs") or {}).items():
        out.append(Resource(kind="output", name=f"Outputs.{key}", path=f"Outputs/{key}",
                            props={}, type="Output", raw=output))
    for key, param in (template.get("Parameters") or {}).items():
        out.append(Resource(kind="other", name=f"Parameters.{key}", path=f"Parameters/{key}",
                            props={}, type="Parameter", raw=param))
    return link(out)

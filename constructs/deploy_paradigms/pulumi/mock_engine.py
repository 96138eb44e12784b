"""The one offline Pulumi engine: mocks, recording monitor, value normaliser and program runner.

``deploy-paradigms preview`` (:mod:`.preview`), the Pulumi ``check_program`` guard
(:mod:`.budget_guard`) and the test suite all run programs through :func:`run_program`::

    run = run_program(lambda: Database("db", DatabaseArgs(network=Network("net"))))
    run.resources        # [{"type", "name", "parent", "inputs"}, ...] sorted, JSON-safe
    run.states["db-instance"]["arn"]   # what the mocks answered: arn:aws:rds:...:db:db-instance
    run.result           # what the program function returned (the Database)

No Pulumi CLI and no AWS account. The mocks answer as AWS does, so a program that
treats an id as a name, or an ARN as anything but opaque, shows it: ids are
``vpc-``/``subnet-``/``sg-``... hex ids, RDS instance ids ``db-...`` resource ids
(the Terraform AWS provider 5 semantics pulumi-aws 7 inherits), ARNs carry each
service's resource type (``function:``, ``role/``, ``db-proxy:prx-...``,
``loadbalancer/app/...``, ``distribution/E...``), buckets answer their domain names,
``aws.elb.get_service_account`` answers the Region's ELB account.

The monitor also applies rules the real engine applies and ``pulumi.runtime.set_mocks``
does not (an :class:`EngineRuleError` names the rule and the resource):

* **URNs as the engine mints them**: a resource parented to the stack has the bare type in
  its URN; a child's qualified type is its parent's plus ``$<type>`` (Pulumi's
  ``Deployment.generateURN``). The stock mocks prefix ``pulumi:pulumi:Stack$``.
* **One resource per URN**: a second resource with the same type, name and parent type chain
  is refused ("Duplicate resource URN ...; try giving it a unique name").
* **Required inputs after transforms**: the provider's Check refuses a resource whose
  required input is missing; the pulumi-aws SDK checks its constructor arguments, but
  transforms run later and can drop one. The required inputs per type are the ones the
  installed pulumi-aws SDK declares.

Each run happens on a thread of its own with an empty ``contextvars.Context`` and its own
event loop, so runs do not share Pulumi settings, config or the root stack, and leave the
caller's untouched. Exceptions raised by the program propagate unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import functools
import hashlib
import importlib
import inspect
import json
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

__all__ = [
    "ACCOUNT",
    "DEFAULT_REGION",
    "SECRET",
    "UNKNOWN",
    "AwsMocks",
    "EngineRuleError",
    "MockRun",
    "RecordingMonitor",
    "normalise",
    "required_inputs",
    "run_program",
]

ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_PROJECT = "deploy-paradigms"
DEFAULT_STACK = "preview"
SECRET = "[secret]"
UNKNOWN = "[unknown]"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
_ZONES = ("a", "b", "c")
#: Elastic Load Balancing's account per Region (ELB user guide, "Enable access logs"); what
#: aws.elb.get_service_account answers for Regions opened before August 2022.
_ELB_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-southeast-3": "589379963580", "ap-south-1": "718504428378", "ap-northeast-3": "383597477331",
    "ap-northeast-2": "600734575887", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ap-northeast-1": "582318560864", "ca-central-1": "985666609251", "eu-central-1": "054676820928",
    "eu-west-1": "156460612806", "eu-west-2": "652711504416", "eu-south-1": "635631232127",
    "eu-west-3": "009996457667", "eu-north-1": "897822967062", "me-south-1": "076674570225",
    "sa-east-1": "507241528517"}
#: EC2-style ids: (prefix, ARN resource type or None when the resource has no ARN).
_EC2_IDS = {
    "aws:ec2/vpc:Vpc": ("vpc", "vpc"), "aws:ec2/subnet:Subnet": ("subnet", "subnet"),
    "aws:ec2/securityGroup:SecurityGroup": ("sg", "security-group"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("sg", "security-group"),
    "aws:ec2/internetGateway:InternetGateway": ("igw", "internet-gateway"),
    "aws:ec2/natGateway:NatGateway": ("nat", None), "aws:ec2/routeTable:RouteTable": ("rtb", "route-table"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("rtbassoc", None),
    "aws:ec2/eip:Eip": ("eipalloc", "elastic-ip"), "aws:ec2/flowLog:FlowLog": ("fl", "vpc-flow-log"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("sgr", "security-group-rule"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("sgr", "security-group-rule"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpce", "vpc-endpoint"),
}
#: Resources whose id is their physical name and whose ARN is ``<service>:<region>:<account>:<path>``
#: with ``{}`` standing for the name (AWS service authorization reference, "Resource types").
_NAMED = {
    "aws:lambda/function:Function": ("lambda", "function:{}"),
    "aws:iam/role:Role": ("iam", "role/{}"), "aws:iam/policy:Policy": ("iam", "policy/{}"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "log-group:{}"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch", "alarm:{}"),
    "aws:cloudwatch/eventRule:EventRule": ("events", "rule/{}"),
    "aws:cloudwatch/eventBus:EventBus": ("events", "event-bus/{}"),
    "aws:rds/parameterGroup:ParameterGroup": ("rds", "pg:{}"),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": ("rds", "cluster-pg:{}"),
    "aws:rds/subnetGroup:SubnetGroup": ("rds", "subgrp:{}"),
    "aws:rds/clusterInstance:ClusterInstance": ("rds", "db:{}"),
    "aws:rds/cluster:Cluster": ("rds", "cluster:{}"),
    "aws:ecr/repository:Repository": ("ecr", "repository/{}"),
    "aws:sns/topic:Topic": ("sns", "{}"),
}
_GLOBAL_SERVICES = {"iam", "cloudfront", "route53", "s3"}


class EngineRuleError(Exception):
    """A program the real Pulumi engine (or the provider's Check) would refuse."""


@dataclass(frozen=True)
class MockRun:
    """A program run under the mock engine."""

    #: ``{"type", "name", "parent", "inputs"}`` per resource (components too), inputs as the engine
    #: received them after transforms, normalised (:func:`normalise`); sorted by type, then name.
    resources: list[dict[str, Any]]
    #: The stack's exported outputs, resolved and normalised.
    outputs: dict[str, Any]
    #: Resource options the engine acts on, by logical name (``<type>::<name>`` when two resources
    #: share a name): ``ignoreChanges``, ``retainOnDelete``, ``dependsOn`` (logical names),
    #: ``provider`` (the explicit provider's logical name or None).
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: What the mocks answered per resource (ids, ARNs, endpoints), keyed like ``options``.
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: What the program function returned.
    result: Any = None

    def name_of(self, value: Any) -> Any:
        """The logical name of the resource whose id or ARN ``value`` is (``value`` itself when no
        resource answered it): which resource an input points at, readable in a test."""
        for name, state in self.states.items():
            if value and value in (state.get("id"), state.get("arn")):
                return name
        return value

    def records_with_outputs(self) -> list[dict[str, Any]]:
        """The records with each resource's answered state as ``outputs`` (the shape of a
        ``pulumi stack export``), which lets the guard resolve references by real ids and ARNs."""
        def state(rec: Mapping[str, Any]) -> dict[str, Any]:
            return self.states.get(rec["name"]) or self.states.get(f"{rec['type']}::{rec['name']}", {})

        return [{**rec, "outputs": state(rec)} for rec in self.resources]


class AwsMocks(pulumi_mocks.Mocks):
    """Deterministic answers for AWS resources and data sources, shaped as AWS answers them."""

    def __init__(self, region: str = DEFAULT_REGION) -> None:
        self.region = region

    def arn(self, service: str, path: str) -> str:
        region = "" if service in _GLOBAL_SERVICES else self.region
        return f"arn:aws:{service}:{region}:{ACCOUNT}:{path}"

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        name, typ, inputs = args.name, args.typ, dict(args.inputs)
        seed = f"{typ}::{name}"
        state: dict[str, Any] = {**inputs}
        if typ in _EC2_IDS:
            prefix, kind = _EC2_IDS[typ]
            resource_id = f"{prefix}-{_hex(seed, 17)}"
            if kind:
                state["arn"] = self.arn("ec2", f"{kind}/{resource_id}")
            if typ == "aws:ec2/eip:Eip":
                state.update(allocationId=resource_id, publicIp="192.0.2.1")
            if typ.endswith("SecurityGroupEgressRule") or typ.endswith("SecurityGroupIngressRule"):
                state["securityGroupRuleId"] = resource_id
            return resource_id, state
        if typ in _NAMED:
            service, path = _NAMED[typ]
            physical = self._physical_name(typ, name, inputs)
            state.update(name=physical, arn=self.arn(service, path.format(physical)))
            return self._named(typ, name, physical, inputs, state)
        answer = _ANSWERS.get(typ)
        if answer is not None:
            return answer(self, name, inputs, state)
        # A type without a shape of its own: a name and an ARN for the types that have them (the SDK
        # ignores outputs a type does not declare). Add the type above when its shape matters.
        state.setdefault("name", name)
        module, kind = typ.split(":")[1].split("/")[0], typ.rsplit(":", 1)[-1].lower()
        state.setdefault("arn", self.arn(module, f"{kind}/{name}"))
        return f"{name}-{_hex(seed, 8)}", state

    @staticmethod
    def _physical_name(typ: str, name: str, inputs: Mapping[str, Any]) -> str:
        for key in ("identifier", "clusterIdentifier", "name"):
            if isinstance(inputs.get(key), str) and inputs[key]:
                return str(inputs[key])
        return name

    def _named(self, typ: str, name: str, physical: str, inputs: Mapping[str, Any],
               state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if typ == "aws:lambda/function:Function":
            state.update(invokeArn=f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/"
                                   f"{state['arn']}/invocations",
                         qualifiedArn=f"{state['arn']}:1", version="1")
        elif typ == "aws:iam/role:Role":
            state["uniqueId"] = "AROA" + _upper(typ + name, 17)
        elif typ == "aws:rds/cluster:Cluster":
            state.update(clusterIdentifier=physical, clusterResourceId=f"cluster-{_upper(name, 26)}",
                         endpoint=f"{physical}.cluster-c0ffee000000.{self.region}.rds.amazonaws.com",
                         readerEndpoint=f"{physical}.cluster-ro-c0ffee000000.{self.region}.rds.amazonaws.com",
                         masterUserSecrets=self._master_secret(physical, inputs))
        elif typ == "aws:rds/clusterInstance:ClusterInstance":
            state.update(identifier=physical, dbiResourceId=f"db-{_upper(name, 26)}",
                         endpoint=f"{physical}.c0ffee000000.{self.region}.rds.amazonaws.com")
        elif typ == "aws:ecr/repository:Repository":
            state.update(repositoryUrl=f"{ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com/{physical}",
                         registryId=ACCOUNT)
        return physical, state

    def _master_secret(self, name: str, inputs: Mapping[str, Any]) -> list[dict[str, str]]:
        if not inputs.get("manageMasterUserPassword"):
            return []
        return [{"secretArn": self.arn("secretsmanager", f"secret:rds!{name}-{_alnum(name, 6)}"),
                 "kmsKeyId": self.arn("kms", "alias/aws/secretsmanager"), "secretStatus": "active"}]

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        token, region = args.token, args.args.get("region") or self.region
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{region}{z}" for z in _ZONES]
            return {"names": names, "zoneIds": [f"use1-az{i + 1}" for i in range(len(names))],
                    "id": region, "groupNames": [region]}, []
        if token == "aws:index/getRegion:getRegion":
            return {"name": region, "region": region, "id": region,
                    "endpoint": f"ec2.{region}.amazonaws.com"}, []
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/preview",
                    "userId": "AIDAPREVIEW", "id": ACCOUNT}, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws",
                    "reverseDnsPrefix": "com.amazonaws"}, []
        if token in ("aws:elb/getServiceAccount:getServiceAccount",
                     "aws:elasticloadbalancing/getServiceAccount:getServiceAccount"):
            account = _ELB_ACCOUNTS.get(region)
            if account is None:  # Regions opened since August 2022 have no ELB account
                raise ValueError(f"aws.elb.get_service_account: no ELB account in {region}; grant the "
                                 f"logdelivery.elasticloadbalancing.amazonaws.com service instead")
            return {"arn": f"arn:aws:iam::{account}:root", "id": account, "region": region}, []
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            return {"json": _policy_json(args.args), "id": "policy"}, []
        if token == "aws:secretsmanager/getRandomPassword:getRandomPassword":
            length = int(args.args.get("passwordLength") or 32)
            return {"randomPassword": _alnum(json.dumps(args.args, sort_keys=True), length), "id": "password",
                    **args.args}, []
        raise EngineRuleError(f"the mock engine has no answer for the data source {token}: add one to "
                              f"AwsMocks.call shaped as AWS answers it")


def _answer_instance(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                     state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    identifier = str(inputs.get("identifier") or name)
    port = int(inputs.get("port") or (5432 if "postgres" in str(inputs.get("engine", "")) else 3306))
    host = f"{identifier}.c0ffee000000.{mocks.region}.rds.amazonaws.com"
    resource_id = f"db-{_upper(name, 26)}"
    state.update(identifier=identifier, address=host, endpoint=f"{host}:{port}", port=port,
                 resourceId=resource_id, arn=mocks.arn("rds", f"db:{identifier}"),
                 engineVersionActual=inputs.get("engineVersion"),
                 masterUserSecrets=mocks._master_secret(identifier, inputs))
    return resource_id, state  # pulumi-aws 7: an instance's id is its DbiResourceId


def _answer_proxy(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                  state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    # As RDS answers: the host carries the proxy's name, the ARN a generated prx- id.
    endpoint = "dbProxyEndpointName" in inputs
    given = inputs.get("dbProxyEndpointName") if endpoint else inputs.get("name")
    proxy = str(given or f"{name}-{_hex(name, 7)}")
    kind = "db-proxy-endpoint" if endpoint else "db-proxy"
    if not endpoint:
        state["name"] = proxy  # auto-named as Pulumi does when no name is given
    state.update(endpoint=f"{proxy}.proxy-c0ffee000000.{mocks.region}.rds.amazonaws.com",
                 arn=mocks.arn("rds", f"{kind}:prx-{_hex(name, 17)}"))
    return proxy, state


def _answer_target_group(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                         state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    state.update(arn=mocks.arn("rds", f"target-group:prx-tg-{_hex(name, 17)}"), name="default")
    return str(inputs.get("dbProxyName") or name), state


def _answer_bucket(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                   state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    bucket = str(inputs.get("bucket") or f"{name}-{_hex(name, 7)}")  # auto-named as Pulumi does
    state.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}", bucketDomainName=f"{bucket}.s3.amazonaws.com",
                 bucketRegionalDomainName=f"{bucket}.s3.{mocks.region}.amazonaws.com", region=mocks.region,
                 hostedZoneId="Z3AQBSTGFYJSTF")
    return bucket, state


def _answer_function_url(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                         state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    url_id = _alnum(name, 32).lower()
    state.update(functionUrl=f"https://{url_id}.lambda-url.{mocks.region}.on.aws/", urlId=url_id)
    return str(inputs.get("functionName") or name), state


def _answer_distribution(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                         state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    dist_id = "E" + _upper(name, 13)
    state.update(arn=mocks.arn("cloudfront", f"distribution/{dist_id}"), hostedZoneId="Z2FDTNDATAQYW2",
                 domainName=f"d{_alnum(name, 13).lower()}.cloudfront.net", status="Deployed", etag="E1")
    return dist_id, state


def _answer_load_balancer(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                          state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    lb_name = str(inputs.get("name") or f"{name}-{_hex(name, 7)}")
    suffix = f"app/{lb_name}/{_hex(name, 16)}"
    state.update(name=lb_name, arn=mocks.arn("elasticloadbalancing", f"loadbalancer/{suffix}"),
                 arnSuffix=suffix,
                 dnsName=f"{lb_name}-{int(_hex(name, 8), 16)}.{mocks.region}.elb.amazonaws.com",
                 zoneId="Z35SXDOTRQ7X7K")
    return str(state["arn"]), state


def _answer_target_group_lb(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                            state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    tg_name = str(inputs.get("name") or f"{name}-{_hex(name, 7)}")
    suffix = f"targetgroup/{tg_name}/{_hex(name, 16)}"
    state.update(name=tg_name, arn=mocks.arn("elasticloadbalancing", suffix), arnSuffix=suffix)
    return str(state["arn"]), state


def _answer_listener(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                     state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    balancer = str(inputs.get("loadBalancerArn") or "")
    base = balancer.split(":loadbalancer/", 1)[-1] if ":loadbalancer/" in balancer else f"app/{name}/0"
    state["arn"] = mocks.arn("elasticloadbalancing", f"listener/{base}/{_hex(name, 16)}")
    return str(state["arn"]), state


def _answer_ecs(kind: str) -> Callable[..., tuple[str, dict[str, Any]]]:
    def answer(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
               state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        physical = str(inputs.get("name") or inputs.get("family") or f"{name}-{_hex(name, 7)}")
        if kind == "task-definition":
            state.update(revision=1, arnWithoutRevision=mocks.arn("ecs", f"task-definition/{physical}"))
            physical = f"{physical}:1"
        elif kind == "service":
            cluster = str(inputs.get("cluster") or "default").rsplit("/", 1)[-1]
            physical = f"{cluster}/{physical}"
        state.update(arn=mocks.arn("ecs", f"{kind}/{physical}"))
        if kind != "task-definition":
            state["name"] = physical.rsplit("/", 1)[-1]
        return str(state["arn"]), state
    return answer


def _answer_queue(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                  state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    queue = str(inputs.get("name") or f"{name}-{_hex(name, 7)}")
    url = f"https://sqs.{mocks.region}.amazonaws.com/{ACCOUNT}/{queue}"
    state.update(name=queue, arn=mocks.arn("sqs", queue), url=url)
    return url, state  # a queue's id is its URL


def _answer_secret(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                   state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    secret = str(inputs.get("name") or f"{name}-{_hex(name, 7)}")
    state.update(name=secret, arn=mocks.arn("secretsmanager", f"secret:{secret}-{_alnum(name, 6)}"))
    return str(state["arn"]), state  # a secret's id is its ARN


def _answer_secret_version(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                           state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    version = _uuid(name)
    state.update(versionId=version, arn=inputs.get("secretId"))
    return f"{inputs.get('secretId')}|{version}", state


def _answer_ssm(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    parameter = str(inputs.get("name") or name)
    state.update(name=parameter, arn=mocks.arn("ssm", "parameter/" + parameter.lstrip("/")), version=1)
    return parameter, state


def _answer_permission(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                       state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    statement = str(inputs.get("statementId") or f"terraform-{_hex(name, 26)}")
    state["statementId"] = statement
    return statement, state


def _answer_uuid_id(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                    state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    state["etag"] = "E1"
    return _uuid(name), state  # CloudFront cache and origin request policies


def _answer_cloudfront_id(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                          state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    state["etag"] = "E1"
    return "E" + _upper(name, 13), state  # origin access controls


def _answer_invocation(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                       state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    state.setdefault("result", "{}")
    return f"{inputs.get('functionName')}_{inputs.get('qualifier') or '$LATEST'}_{_hex(name, 32)}", state


def _answer_web_acl(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                    state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    acl_id, acl = _uuid(name), str(inputs.get("name") or f"{name}-{_hex(name, 7)}")
    scope = "global" if inputs.get("scope") == "CLOUDFRONT" else "regional"
    region = "us-east-1" if scope == "global" else str(inputs.get("region") or mocks.region)
    state.update(name=acl, lockToken=_uuid(acl), capacity=1,
                 arn=f"arn:aws:wafv2:{region}:{ACCOUNT}:{scope}/webacl/{acl}/{acl_id}")
    return acl_id, state


def _answer_scalable_target(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                            state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    state["arn"] = mocks.arn("application-autoscaling", f"scalable-target/{_alnum(name, 36).lower()}")
    return str(inputs.get("resourceId") or name), state


def _answer_scaling_policy(mocks: AwsMocks, name: str, inputs: Mapping[str, Any],
                           state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    policy = str(inputs.get("name") or name)
    state["arn"] = mocks.arn("autoscaling", f"scalingPolicy:{_uuid(name)}:resource/"
                                            f"{inputs.get('resourceId')}:policyName/{policy}")
    return policy, state


_Answer = Callable[[AwsMocks, str, Mapping[str, Any], dict[str, Any]], tuple[str, dict[str, Any]]]
_ANSWERS: dict[str, _Answer] = {
    "aws:rds/instance:Instance": _answer_instance,
    "aws:rds/proxy:Proxy": _answer_proxy,
    "aws:rds/proxyEndpoint:ProxyEndpoint": _answer_proxy,
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": _answer_target_group,
    "aws:s3/bucket:Bucket": _answer_bucket,
    "aws:s3/bucketV2:BucketV2": _answer_bucket,
    "aws:lambda/functionUrl:FunctionUrl": _answer_function_url,
    "aws:lambda/permission:Permission": _answer_permission,
    "aws:lambda/invocation:Invocation": _answer_invocation,
    "aws:cloudfront/distribution:Distribution": _answer_distribution,
    "aws:cloudfront/cachePolicy:CachePolicy": _answer_uuid_id,
    "aws:cloudfront/originRequestPolicy:OriginRequestPolicy": _answer_uuid_id,
    "aws:cloudfront/originAccessControl:OriginAccessControl": _answer_cloudfront_id,
    "aws:lb/loadBalancer:LoadBalancer": _answer_load_balancer,
    "aws:lb/targetGroup:TargetGroup": _answer_target_group_lb,
    "aws:lb/listener:Listener": _answer_listener,
    "aws:ecs/cluster:Cluster": _answer_ecs("cluster"),
    "aws:ecs/service:Service": _answer_ecs("service"),
    "aws:ecs/taskDefinition:TaskDefinition": _answer_ecs("task-definition"),
    "aws:sqs/queue:Queue": _answer_queue,
    "aws:secretsmanager/secret:Secret": _answer_secret,
    "aws:secretsmanager/secretVersion:SecretVersion": _answer_secret_version,
    "aws:ssm/parameter:Parameter": _answer_ssm,
    "aws:appautoscaling/target:Target": _answer_scalable_target,
    "aws:wafv2/webAcl:WebAcl": _answer_web_acl,
    "aws:appautoscaling/policy:Policy": _answer_scaling_policy,
}


@functools.cache
def required_inputs(token: str) -> tuple[str, ...]:
    """The inputs the pulumi-aws SDK declares required for resource ``token``, camelCased as the
    engine receives them (``()`` for types outside pulumi-aws)."""
    match = re.fullmatch(r"aws:([A-Za-z0-9]+)/[A-Za-z0-9]+:([A-Za-z0-9]+)", token)
    if match is None:
        return ()
    module_name, class_name = match.groups()
    for candidate in (f"pulumi_aws.{module_name}_", f"pulumi_aws.{module_name}",
                      "pulumi_aws" if module_name == "index" else ""):
        try:
            module = importlib.import_module(candidate) if candidate else None
        except ImportError:
            continue
        cls = getattr(module, class_name, None)
        init = getattr(cls, "_internal_init", None)
        if init is not None:
            names = re.findall(r"Missing required property '(\w+)'", inspect.getsource(init))
            return tuple(_camel(n) for n in names)
    return ()


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that mints URNs as the engine does, applies the engine's rules, runs
    transforms and keeps every registration.

    The stock mock monitor ignores ``transforms``; the engine applies a resource's own
    transforms, then its ancestors', then the stack's. We do the same, so the ``transforms``
    escape hatch shows up in what the mocks record.
    """

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[tuple[str, str, str, dict[str, Any]]] = []
        self.options: dict[str, dict[str, Any]] = {}
        self.states: dict[str, dict[str, Any]] = {}
        self._inherited: dict[str, list[Any]] = {}
        self._urns: set[str] = set()
        self._lock = threading.Lock()  # registrations arrive on several RPC threads at once

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        qualified = type_
        if parent and _qualified_type(parent).split("$")[-1] != ROOT_STACK_TYPE:
            qualified = f"{_qualified_type(parent)}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), qualified, name])

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        if request.type == ROOT_STACK_TYPE:
            return super().RegisterResource(request)  # type: ignore[no-untyped-call]
        _ensure_event_loop()  # type: ignore[no-untyped-call]  # resource references need a loop here
        urn = self.make_urn(request.parent, request.type, request.name)
        with self._lock:
            if urn in self._urns:
                raise EngineRuleError(f"Duplicate resource URN '{urn}'; try giving it a unique name")
            self._urns.add(urn)
        own = pulumi_mocks._resolve_callbacks(request.transforms)
        inherited = self._inherited.get(request.parent, [])
        self._inherited[urn] = own + inherited
        inputs = self._transformed(request, dict(rpc.deserialize_properties(request.object)),
                                   [*own, *inherited, *self._stack_transforms])
        if request.custom:
            missing = [key for key in required_inputs(request.type) if inputs.get(key) is None]
            if missing:
                raise EngineRuleError(f"{request.type} '{request.name}': missing required input(s) "
                                      f"{', '.join(missing)} (the provider's Check refuses it)")
        self.registrations.append((request.type, request.name, request.parent, inputs))
        key = f"{request.type}::{request.name}"
        self.options[key] = {
            "ignoreChanges": sorted(request.ignoreChanges),
            "retainOnDelete": bool(request.retainOnDelete),
            "dependsOn": sorted(dep.rsplit("::", 1)[-1] for dep in request.dependencies),
            # A provider reference is "<urn>::<id>"; the urn ends with the provider's name.
            "provider": request.provider.split("::")[-2] if request.provider else None}
        mock_id, state = (None, {}) if not request.custom else self.mocks.new_resource(
            pulumi_mocks.MockResourceArgs(typ=request.type, name=request.name, inputs=inputs,
                                          provider=request.provider, resource_id=request.importId,
                                          custom=True, transforms=own))
        resource_id = mock_id or ""
        self.states[key] = {"id": resource_id, **state} if request.custom else {}
        state_proto = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=state_proto)

    @staticmethod
    def _transformed(request: Any, inputs: dict[str, Any], transforms: Sequence[Any]) -> dict[str, Any]:
        for transform in transforms:
            result = transform(pulumi.ResourceTransformArgs(
                custom=bool(request.custom), type_=request.type, name=request.name, props=inputs,
                opts=pulumi.ResourceOptions()))
            if inspect.isawaitable(result):
                result = _sync_await(result)
            if result is not None:
                inputs = dict(result.props)
        return inputs


def run_program(program: Callable[[], Any], config: Mapping[str, str] | None = None, *,
                project: str = DEFAULT_PROJECT, stack: str = DEFAULT_STACK,
                mocks: AwsMocks | None = None) -> MockRun:
    """Run ``program`` as a Pulumi program under the mock engine.

    ``config`` keys without a namespace belong to ``project``; ``aws:region`` picks the region
    the mocks answer in (default us-east-1). ``mocks`` replaces the answers (a subclass of
    :class:`AwsMocks`, say, that records what it was asked).
    """
    settings = {_full_key(str(k).strip(), project): str(v) for k, v in (config or {}).items()}
    monitor = RecordingMonitor(mocks or AwsMocks(settings.get("aws:region", DEFAULT_REGION)))
    outputs: dict[str, Any] = {}
    result: list[Any] = []

    def in_fresh_context() -> None:
        pulumi.runtime.set_all_config(settings, [])
        pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
        _drop_stranded_outputs()
        root = pulumi.runtime.get_root_resource()

        async def main() -> None:
            result.append(program())
            exported: dict[str, Any] = dict(getattr(root, "outputs", {}) or {})
            for key in sorted(exported):
                outputs[key] = await _resolve(exported[key])

        _sync_await(run_pulumi_func(main))

    _run_isolated(in_fresh_context)
    records = [{"type": typ, "name": name, "parent": _parent_name(parent), "inputs": normalise(inputs)}
               for typ, name, parent, inputs in monitor.registrations]
    records.sort(key=lambda r: (r["type"], r["name"], r["parent"] or ""))
    return MockRun(resources=records, outputs=outputs, options=_by_name(monitor.options),
                   states=_by_name({k: normalise(v) for k, v in monitor.states.items()}),
                   result=result[0] if result else None)


def _drop_stranded_outputs() -> None:
    """Forget output tasks a failed earlier run left on its closed loop: the SDK keeps them in a set
    shared by contexts that never set their own (RPC worker threads), and ``wait_for_rpcs`` would
    await them at the end of this run."""
    from pulumi.runtime.settings import SETTINGS

    with SETTINGS.lock:
        for task in [t for t in SETTINGS.outputs if t.get_loop().is_closed()]:
            SETTINGS.outputs.discard(task)


def normalise(value: Any) -> Any:
    """The one value normaliser (preview, guard, tests): resolved inputs as JSON-safe data.

    Secrets become ``"[secret]"``; unknowns and still-pending outputs ``"[unknown]"``; assets and
    archives ``{"asset"|"archive": "sha256:<hex of the content>"}``; whole floats ints; mapping
    keys sorted; a resource reference ``{"resource": "<type>::<name>"}``.
    """
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, str):
        return UNKNOWN if value == rpc.UNKNOWN else value
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, pulumi.Archive):
        return {"archive": _digest(value)}
    if isinstance(value, pulumi.Asset):
        return {"asset": _digest(value)}
    if isinstance(value, Mapping):
        return {str(k): normalise(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, Sequence):
        return [normalise(v) for v in value]
    if isinstance(value, pulumi.Resource):
        return {"resource": f"{getattr(value, '_type', '')}::{getattr(value, '_name', '')}"}
    if isinstance(value, pulumi.Output):
        return UNKNOWN
    return repr(value)


def parent_name(parent_urn: str) -> str | None:
    """The logical name of the resource a URN names; None for the stack (or no parent)."""
    return _parent_name(parent_urn)


def _parent_name(parent_urn: str) -> str | None:
    if not parent_urn or parent_urn.count("::") < 3:
        return None
    if _qualified_type(parent_urn).split("$")[-1] == ROOT_STACK_TYPE:
        return None
    return parent_urn.rsplit("::", 1)[-1]


def _qualified_type(urn: str) -> str:
    return urn.split("::")[2] if urn.count("::") >= 3 else ""


def _full_key(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _by_name(by_key: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Keyed by logical name; a name two resources share keeps ``<type>::<name>`` keys."""
    names = [key.split("::", 1)[1] for key in by_key]
    return {(key.split("::", 1)[1] if names.count(key.split("::", 1)[1]) == 1 else key): value
            for key, value in by_key.items()}


class _LoopClosingExecutor(ThreadPoolExecutor):
    """Worker threads for the mock monitor's RPCs; Pulumi opens an event loop in each worker
    (``_ensure_event_loop``), which we close after every call instead of leaving it to the
    interpreter's shutdown (where closing it prints an "Invalid file descriptor" traceback)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def call() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                _close_thread_loop()

        return super().submit(call)


def _close_thread_loop() -> None:
    policy = asyncio.get_event_loop_policy()
    try:
        loop = policy.get_event_loop()
    except RuntimeError:  # no loop in this worker thread
        return
    if not loop.is_running():
        loop.close()
        policy.set_event_loop(None)


def _run_isolated(fn: Callable[[], None]) -> None:
    """Run ``fn`` on a thread of its own, with its own event loop and an empty context.

    The caller's event loop, context variables and Pulumi settings stay untouched, every loop
    is closed before returning, and an exception raised by ``fn`` is re-raised as is.
    """
    failure: list[BaseException] = []

    def target() -> None:
        loop = asyncio.new_event_loop()
        executor = _LoopClosingExecutor(max_workers=8, thread_name_prefix="pulumi-mock-rpc")
        loop.set_default_executor(executor)
        asyncio.set_event_loop(loop)
        try:
            contextvars.Context().run(fn)
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread
            failure.append(err)
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                executor.shutdown(wait=True)
                asyncio.set_event_loop(None)
                loop.close()

    thread = threading.Thread(target=target, name="pulumi-mock-engine")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


async def _resolve(value: Any) -> Any:
    output = pulumi.Output.from_input(value)
    if await output.is_secret():
        return SECRET
    if not await output.is_known():
        return UNKNOWN
    return normalise(await output.future())


def _digest(value: pulumi.Asset | pulumi.Archive) -> str:
    hasher = hashlib.sha256()
    _feed(hasher, value)
    return f"sha256:{hasher.hexdigest()}"


def _feed(hasher: Any, value: pulumi.Asset | pulumi.Archive) -> None:
    """Hash an asset's or archive's content (never its path, never a timestamp)."""
    if isinstance(value, pulumi.StringAsset):
        hasher.update(value.text.encode())
    elif isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        _feed_path(hasher, os.fspath(value.path))
    elif isinstance(value, pulumi.RemoteAsset | pulumi.RemoteArchive):
        hasher.update(f"remote:{value.uri}".encode())
    elif isinstance(value, pulumi.AssetArchive):
        for key in sorted(value.assets):
            hasher.update(f"\0{key}\0".encode())
            _feed(hasher, value.assets[key])
    else:
        hasher.update(repr(value).encode())


def _feed_path(hasher: Any, path: str) -> None:
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for file in sorted(files):
                full = os.path.join(root, file)
                hasher.update(f"\0{os.path.relpath(full, path)}\0".encode())
                with open(full, "rb") as handle:
                    hasher.update(handle.read())
    else:
        with open(path, "rb") as handle:
            hasher.update(handle.read())


def _hex(seed: str, length: int) -> str:
    """Deterministic lowercase hex, as AWS's generated ids look (prx-..., sg-..., bucket suffixes)."""
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _upper(seed: str, length: int) -> str:
    """Deterministic uppercase base32 (RDS resource ids, CloudFront ids, IAM unique ids)."""
    return base64.b32encode(hashlib.sha256(seed.encode()).digest()).decode()[:length]


def _alnum(seed: str, length: int) -> str:
    """Deterministic letters and digits (the 6-character suffix of a Secrets Manager ARN)."""
    text = base64.b32encode(hashlib.sha512(seed.encode()).digest()).decode()
    return "".join(c if i % 2 else c.lower() for i, c in enumerate(text))[:length]


def _uuid(seed: str) -> str:
    h = _hex(seed, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _policy_json(args: Mapping[str, Any]) -> str:
    """A policy document from ``aws.iam.get_policy_document`` arguments (the common fields)."""
    statements = []
    for st in args.get("statements") or []:
        out: dict[str, Any] = {"Effect": st.get("effect") or "Allow"}
        for src, dst in (("sid", "Sid"), ("actions", "Action"), ("notActions", "NotAction"),
                         ("resources", "Resource"), ("notResources", "NotResource")):
            if st.get(src):
                out[dst] = st[src]
        for src, dst in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if st.get(src):
                out[dst] = {p["type"]: p["identifiers"] for p in st[src]}
        conditions: dict[str, dict[str, Any]] = {}
        for cond in st.get("conditions") or []:
            conditions.setdefault(cond["test"], {})[cond["variable"]] = cond["values"]
        if conditions:
            out["Condition"] = conditions
        statements.append(out)
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)

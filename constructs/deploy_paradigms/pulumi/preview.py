"""Offline preview: run the example program under Pulumi mocks and list its resources.

    render("serverless", {"instanceClass": "db.m5.large"})  -> list of records
    preview_json("serverless", {...})                       -> the same list as JSON

Each record is ``{"type", "name", "parent", "inputs"}``: the resource token,
its logical name, the logical name of its parent component (None at the top
level), and its inputs as the engine would receive them, resolved and made
JSON-safe (keys sorted; secrets shown as ``"[secret]"``; assets and archives
as ``{"asset"|"archive": "sha256:<hex of the content>"}``). Component
resources are listed too. Records are sorted by type, then name, so two
renders of the same program and config are identical.

No Pulumi CLI, no AWS account: ``pulumi.runtime.set_mocks`` answers every
resource with deterministic fakes (id ``<name>-id``, ARN
``arn:aws:<service>:<region>:123456789012:<name>``, RDS endpoints, ...). Each
render runs in a fresh ``contextvars.Context``, so renders do not share
Pulumi settings, config or the root stack, and leave the caller's untouched.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import inspect
import json
import os
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

from .program import PROJECT, check_paradigm, run
from .shares import budget_error_in

STACK = "preview"
ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
SECRET = "[secret]"
UNKNOWN = "[unknown]"
_ZONES = ("a", "b", "c")
# ARN service names that differ from the pulumi-aws module name; global services have no region.
_ARN_SERVICE = {"lb": "elasticloadbalancing", "alb": "elasticloadbalancing", "cloudwatch": "logs",
                "cognito": "cognito-idp", "apigatewayv2": "apigateway"}
_GLOBAL_SERVICES = {"iam", "cloudfront", "route53", "waf", "organizations", "s3"}
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


@dataclass(frozen=True)
class Preview:
    """A rendered program: its resource records and its resolved stack outputs."""

    resources: list[dict[str, Any]]
    outputs: dict[str, Any]
    #: Resource options the engine acts on, by logical name (``<type>::<name>`` when two resources
    #: share a name): ``ignoreChanges``, ``retainOnDelete``, ``dependsOn`` (logical names),
    #: ``provider`` (the explicit provider's logical name or None).
    options: dict[str, dict[str, Any]] = field(default_factory=dict)


class PreviewMocks(pulumi_mocks.Mocks):
    """Deterministic fake answers for resources and data sources."""

    def __init__(self, region: str = DEFAULT_REGION) -> None:
        self.region = region

    def arn(self, token: str, name: str) -> str:
        module = token.split(":")[1].split("/")[0] if token.count(":") >= 2 else "resource"
        service = _ARN_SERVICE.get(module, module)
        region = "" if service in _GLOBAL_SERVICES else self.region
        return f"arn:aws:{service}:{region}:{ACCOUNT}:{name}"

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        name, typ, inputs = args.name, args.typ, dict(args.inputs)
        state: dict[str, Any] = {"name": name, "arn": self.arn(typ, name), **inputs}
        # RDS hosts are named after the identifier when one is set, as AWS names them.
        host = f"{inputs.get('identifier') or name}.c0ffee000000.{self.region}"
        if typ == "aws:rds/instance:Instance":
            port = inputs.get("port") or (5432 if "postgres" in str(inputs.get("engine", "")) else 3306)
            state.update(identifier=inputs.get("identifier") or name, address=f"{host}.rds.amazonaws.com",
                         endpoint=f"{host}.rds.amazonaws.com:{port}", port=port, resourceId=f"db-{name}",
                         engineVersionActual=inputs.get("engineVersion"),
                         masterUserSecrets=self._master_secret(name, inputs))
        elif typ == "aws:rds/cluster:Cluster":
            cluster = inputs.get("clusterIdentifier") or name
            state.update(clusterIdentifier=cluster,
                         endpoint=f"{cluster}.cluster-c0ffee000000.{self.region}.rds.amazonaws.com",
                         readerEndpoint=f"{cluster}.cluster-ro-c0ffee000000.{self.region}.rds.amazonaws.com",
                         clusterResourceId=f"cluster-{name}",
                         masterUserSecrets=self._master_secret(name, inputs))
        elif typ == "aws:rds/clusterInstance:ClusterInstance":
            state.update(identifier=inputs.get("identifier") or name, endpoint=f"{host}.rds.amazonaws.com",
                         dbiResourceId=f"db-{name}")
        elif typ in ("aws:rds/proxy:Proxy", "aws:rds/proxyEndpoint:ProxyEndpoint"):
            # As RDS answers: the host carries the proxy's name, the ARN a generated prx- id.
            proxy = inputs.get("name") or inputs.get("dbProxyEndpointName") or name
            kind = "db-proxy" if typ == "aws:rds/proxy:Proxy" else "db-proxy-endpoint"
            state.update(endpoint=f"{proxy}.proxy-c0ffee000000.{self.region}.rds.amazonaws.com",
                         arn=f"arn:aws:rds:{self.region}:{ACCOUNT}:{kind}:prx-{_hex(name, 17)}")
        elif typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or f"{name}-{_hex(name, 7)}"
            state.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}",
                         bucketDomainName=f"{bucket}.s3.amazonaws.com",
                         bucketRegionalDomainName=f"{bucket}.s3.{self.region}.amazonaws.com",
                         region=self.region)
            return bucket, state
        elif typ == "aws:lambda/function:Function":
            state.update(invokeArn=f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/"
                                   f"{state['arn']}/invocations",
                         qualifiedArn=f"{state['arn']}:1", version="1")
        elif typ == "aws:lambda/functionUrl:FunctionUrl":
            state.update(functionUrl=f"https://{name}.lambda-url.{self.region}.on.aws/", urlId=name)
        elif typ == "aws:cloudfront/distribution:Distribution":
            state.update(domainName=f"{name}.cloudfront.net", hostedZoneId="Z2FDTNDATAQYW2")
        elif typ == "aws:lb/loadBalancer:LoadBalancer":
            state.update(dnsName=f"{name}.{self.region}.elb.amazonaws.com", arnSuffix=f"app/{name}/0",
                         zoneId="Z35SXDOTRQ7X7K")
        elif typ == "aws:lb/targetGroup:TargetGroup":
            state.update(arnSuffix=f"targetgroup/{name}/0")
        elif typ == "aws:ecr/repository:Repository":
            state.update(repositoryUrl=f"{ACCOUNT}.dkr.ecr.{self.region}.amazonaws.com/{name}")
        elif typ == "aws:ec2/eip:Eip":
            state.update(allocationId=f"{name}-alloc", publicIp="192.0.2.1")
        return f"{name}-id", state

    def _master_secret(self, name: str, inputs: Mapping[str, Any]) -> list[dict[str, str]]:
        if not inputs.get("manageMasterUserPassword"):
            return []
        return [{"secretArn": f"arn:aws:secretsmanager:{self.region}:{ACCOUNT}:secret:rds!{name}",
                 "kmsKeyId": f"arn:aws:kms:{self.region}:{ACCOUNT}:alias/aws/secretsmanager",
                 "secretStatus": "active"}]

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        token = args.token
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{z}" for z in _ZONES]
            return {"names": names, "zoneIds": [f"use1-az{i + 1}" for i in range(len(names))],
                    "id": self.region, "groupNames": [self.region]}, []
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com"}, []
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/preview",
                    "userId": "AIDAPREVIEW", "id": ACCOUNT}, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws",
                    "reverseDnsPrefix": "com.amazonaws"}, []
        if token in ("aws:elb/getServiceAccount:getServiceAccount",
                     "aws:elasticloadbalancing/getServiceAccount:getServiceAccount"):
            region = args.args.get("region") or self.region
            account = _ELB_ACCOUNTS.get(region)
            if account is None:  # Regions opened since August 2022 have no ELB account
                raise ValueError(f"aws.elb.get_service_account: no ELB account in {region}; grant the "
                                 f"logdelivery.elasticloadbalancing.amazonaws.com service instead")
            return {"arn": f"arn:aws:iam::{account}:root", "id": account, "region": region}, []
        if token == "aws:iam/getPolicyDocument:getPolicyDocument":
            return {"json": _policy_json(args.args), "id": "policy"}, []
        return {}, []


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that keeps every registration with its parent URN, and runs transforms.

    The stock mock monitor ignores ``transforms``; the engine applies a resource's own
    transforms, then its ancestors', then the stack's. We do the same, so the ``transforms``
    escape hatch shows up in the preview.
    """

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[tuple[str, str, str, dict[str, Any]]] = []
        self.options: dict[str, dict[str, Any]] = {}
        self._inherited: dict[str, list[Any]] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)  # type: ignore[no-untyped-call]
        _ensure_event_loop()  # type: ignore[no-untyped-call]  # resource references need a loop here
        urn = self.make_urn(request.parent, request.type, request.name)
        own = pulumi_mocks._resolve_callbacks(request.transforms)
        inherited = self._inherited.get(request.parent, [])
        self._inherited[urn] = own + inherited
        inputs: dict[str, Any] = rpc.deserialize_properties(request.object)
        for transform in [*own, *inherited, *self._stack_transforms]:
            result = transform(pulumi.ResourceTransformArgs(
                custom=bool(request.custom), type_=request.type, name=request.name, props=inputs,
                opts=pulumi.ResourceOptions()))
            if inspect.isawaitable(result):
                result = _sync_await(result)
            if result is not None:
                inputs = dict(result.props)
        self.registrations.append((request.type, request.name, request.parent, inputs))
        self.options[f"{request.type}::{request.name}"] = {
            "ignoreChanges": sorted(request.ignoreChanges),
            "retainOnDelete": bool(request.retainOnDelete),
            "dependsOn": sorted(urn.rsplit("::", 1)[-1] for urn in request.dependencies),
            # A provider reference is "<urn>::<id>"; the urn ends with the provider's name.
            "provider": request.provider.split("::")[-2] if request.provider else None}
        mock_id, state = self.mocks.new_resource(pulumi_mocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=bool(request.custom), transforms=own))
        state_proto = _sync_await(rpc.serialize_properties(state, {}))
        resource_id = mock_id or ""
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=state_proto)


def _full_key(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def _parent_name(parent_urn: str) -> str | None:
    if not parent_urn:
        return None
    qualified_type = parent_urn.split("::")[2] if parent_urn.count("::") >= 3 else ""
    if qualified_type.split("$")[-1] == "pulumi:pulumi:Stack":
        return None
    return parent_urn.rsplit("::", 1)[-1]


def render_stack(paradigm: str, config: Mapping[str, str] | None = None) -> Preview:
    """Run the example program for ``paradigm`` offline; resources and stack outputs."""
    check_paradigm(paradigm)
    return render_program(lambda: run(paradigm), {**(config or {}), "paradigm": paradigm})


def render_program(program: Callable[[], None], config: Mapping[str, str] | None = None) -> Preview:
    """Run any Pulumi program function offline under the preview mocks (tests use this directly).

    ``config`` keys without a namespace belong to the project (``deploy-paradigms:``);
    ``aws:region`` picks the region of the fake ARNs (default us-east-1). Exceptions raised by
    the program (a BudgetError, say) propagate unchanged.
    """
    settings = {_full_key(str(k).strip()): str(v) for k, v in (config or {}).items()}
    region = settings.get("aws:region", DEFAULT_REGION)
    monitor = RecordingMonitor(PreviewMocks(region))
    outputs: dict[str, Any] = {}

    def in_fresh_context() -> None:
        pulumi.runtime.set_all_config(settings, [])
        pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=STACK, preview=False, monitor=monitor)
        forget_earlier_programs()
        stack = pulumi.runtime.get_root_resource()

        async def main() -> None:
            program()
            exported: dict[str, Any] = dict(getattr(stack, "outputs", {}) or {})
            for key in sorted(exported):
                outputs[key] = await _resolve(exported[key])

        try:
            _sync_await(run_pulumi_func(main))
        except ValueError as failure:  # a default share refused after the program body, as Pulumi wraps it
            refused = budget_error_in(failure)
            if refused is None:
                raise
            raise refused.with_traceback(None) from None

    _run_isolated(in_fresh_context)
    records = [{"type": typ, "name": name, "parent": _parent_name(parent), "inputs": _json_safe(inputs)}
               for typ, name, parent, inputs in monitor.registrations]
    records.sort(key=lambda r: (r["type"], r["name"], r["parent"] or ""))
    return Preview(resources=records, outputs=outputs, options=_by_name(monitor.options))


def forget_earlier_programs() -> None:
    """Drop what an earlier program refused after its body left behind (as ``pulumi.runtime.test``
    does): Pulumi tracks unfinished outputs in one set for every context, and the resources that
    waited for a refused default share are unfinished for good."""
    pulumi.runtime.settings.SETTINGS.rpc_manager.clear()
    pulumi.runtime.settings.SETTINGS.outputs.clear()


def _by_name(options: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Options keyed by logical name; a name two resources share keeps ``<type>::<name>`` keys."""
    names = [key.split("::", 1)[1] for key in options]
    return {(key.split("::", 1)[1] if names.count(key.split("::", 1)[1]) == 1 else key): value
            for key, value in options.items()}


def render(paradigm: str, config: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Resource records of the example program for ``paradigm`` (see the module docs)."""
    return render_stack(paradigm, config).resources


def preview_json(paradigm: str, config: Mapping[str, str] | None = None) -> str:
    """:func:`render` as indented JSON with sorted keys (what ``deploy-paradigms preview`` prints)."""
    return json.dumps(render(paradigm, config), indent=2, sort_keys=True)


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
        executor = _LoopClosingExecutor(max_workers=8, thread_name_prefix="pulumi-preview-rpc")
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

    thread = threading.Thread(target=target, name="pulumi-preview")
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
    return _json_safe(await output.future())


def _json_safe(value: Any) -> Any:
    """Inputs as JSON: secrets masked, assets hashed, whole floats as ints, keys sorted."""
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
        return {str(k): _json_safe(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, Sequence):
        return [_json_safe(v) for v in value]
    if isinstance(value, pulumi.Resource):
        return {"resource": f"{value._type}::{value._name}"}  # a resource reference
    return repr(value)


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
    """Deterministic lowercase hex, as AWS's generated ids look (prx-..., bucket suffixes)."""
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


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

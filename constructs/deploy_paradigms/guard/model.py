"""The neutral resource model the guard rules read.

Both inputs, a CloudFormation template synthesized by CDK and the resource
records of a Pulumi program (``preview.render`` or a stack transform), are
normalised into a list of :class:`Resource`. A rule never looks at
``AWS::RDS::DBInstance`` or ``aws:rds/instance:Instance``; it looks at
``kind == "database"`` and ``props["storage_encrypted"]``, so each security
and budget rule is written once.

Kinds and their neutral ``props`` (absent or ``None`` = not set in the source,
i.e. the service default applies):

``database``          an RDS instance or an Aurora cluster: ``engine``,
                      ``instance_class`` (an Aurora cluster's smallest member,
                      or ``db.serverless``), ``max_acu``, ``max_connections``
                      (from its parameter group), ``port``, ``storage_encrypted``,
                      ``publicly_accessible``, ``deletion_protection``,
                      ``backup_retention_days``, ``security_groups``,
                      ``parameter_group``, ``tags``
``database_member``   an instance of an Aurora cluster: ``cluster``,
                      ``instance_class``, ``publicly_accessible`` (its class is
                      folded into the cluster's ``instance_class``)
``parameter_group``   ``parameters`` (name -> value)
``proxy``             RDS Proxy: ``require_tls``, ``idle_client_timeout_s``,
                      ``security_groups``, ``targets`` (database names),
                      ``max_connections_percent``, ``port`` (target groups,
                      kind ``proxy_target``, are folded in)
``function``          Lambda: ``reserved_concurrency`` (None: unreserved),
                      ``environment`` (name -> value), ``environment_refs``
                      (resources its environment points at, e.g. the proxy in
                      ``DATABASE_HOST``), ``security_groups``, ``tags``
``service``           ECS service: ``desired_count``, ``maximum_percent``,
                      ``max_tasks`` (the autoscaling maximum when one is
                      attached), ``security_groups``, ``task_definition``,
                      ``environment`` and ``environment_refs`` (of its task
                      definition's containers), ``tags``
``task_definition``   ``containers``: list of ``{"name", "environment", "environment_refs", "secrets"}``
``scaling_target``    Application Auto Scaling target: ``service``, ``max_capacity``
``security_group``    ``ingress``: list of :class:`Ingress` written inline
``ingress_rule``      a standalone rule: ``ingress`` (one :class:`Ingress`)
``log_group``         ``retention_days`` (0 or None: kept forever)
``policy``, ``role``  ``statements``: list of ``{"effect", "actions", "not_actions", "resources"}``
                      (identity policies only; resource policies are not read)
``output``            a stack output (scanned for secrets only)
``other``             anything else (scanned for secrets only)

References between resources are turned into the referenced resource's
``name`` by the normaliser (``Ref``/``Fn::GetAtt`` in templates; ids, ARNs
and names in Pulumi records), so rules compare names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..budget import BudgetError, ConnectionLimit, describe_connection_limit
from ..budget.plan import (
    BOTH_REVISIONS_PERCENT,
    DEFAULT_ACCOUNT_CONCURRENCY,
    DEFAULT_MAXIMUM_PERCENT,
    UNRESERVED_CONCURRENCY_MINIMUM,
    check_whole,
    peak_tasks,
    proxy_connection_share,
)
from ..runtime import settings

#: Environment variables that mark a process as a database client: the
#: runtime contract's host, or the URL Prisma reads.
DATABASE_ENV_KEYS = (settings.HOST, "DATABASE_URL")

#: Pool assumed when a client does not say its ``connection_limit``: Prisma's
#: default ``num_cpus * 2 + 1`` with the 2 CPUs Lambda and small Fargate tasks
#: report (Prisma docs, "Connection pool").
ASSUMED_POOL_SIZE = 5

#: A tag an ECS service may carry to state its share of the database (its ledger
#: allocation); the ECS rule compares the service's peak pools with it.
ALLOCATION_TAG = "deploy-paradigms:connections"


@dataclass(frozen=True)
class Ingress:
    """One ingress permission on a security group: from a group or a CIDR, on ports."""

    group: str | None  # the group the rule belongs to (resource name), None when unknown
    source_group: str | None = None  # resource name of the peer group
    cidr: str | None = None
    from_port: int | None = None  # None: all ports
    to_port: int | None = None

    @property
    def public(self) -> bool:
        return self.cidr in ("0.0.0.0/0", "::/0")

    def allows_port(self, port: int | None) -> bool:
        if port is None or self.from_port is None or self.from_port < 0:
            return True
        upper = self.to_port if self.to_port is not None and self.to_port >= 0 else self.from_port
        return self.from_port <= port <= upper


@dataclass(frozen=True)
class Resource:
    """One resource in neutral form.

    ``name`` is unique within a model (CloudFormation logical id, Pulumi
    resource name); ``path`` is what a person searches for (the CDK construct
    path when the template carries it, else the logical id; the Pulumi parent
    chain); ``type`` is the source type; ``raw`` the source properties as
    rendered, which the secret scan reads in full.
    """

    kind: str
    name: str
    path: str
    props: Mapping[str, Any] = field(default_factory=dict)
    type: str = ""
    raw: Any = None


@dataclass(frozen=True)
class Finding:
    """A rule broken by one resource. ``location`` points into the source properties."""

    rule: str
    resource: str
    path: str
    message: str
    location: str = ""

    def __str__(self) -> str:
        return f"[{self.rule}] {self.path}: {self.message}"


@dataclass(frozen=True)
class Rule:
    """A guard rule: an id (what you acknowledge), why it exists, how to fix it, and a check."""

    id: str
    category: str  # "security" or "budget"
    reason: str
    fix: str
    check: Callable[[Model], Iterable[Finding]]

    def __call__(self, model: Model) -> list[Finding]:
        return list(self.check(model))


@dataclass(frozen=True)
class Route:
    """How a client reaches a database: through ``proxy``, or directly when it is None."""

    proxy: Resource | None = None

    def describe(self) -> str:
        return f"through RDS Proxy {self.proxy.path}" if self.proxy is not None else "directly"


@dataclass(frozen=True)
class Consumer:
    """A process that holds database connections: what it is and at most how many."""

    resource: Resource
    via: Resource | None  # the proxy it goes through, None when direct
    connections: int | None  # None: unbounded (no reserved concurrency)
    detail: str


def points_at_endpoint(key: str) -> bool:
    """Environment names whose value is where to connect (``DATABASE_HOST``, ``DB_ENDPOINT``,
    ``DATABASE_URL``...): only those make a client "point at" a database or proxy."""
    return re.search(r"HOST|ENDPOINT|ADDRESS|URL", key, re.IGNORECASE) is not None


def as_int(value: Any) -> int | None:
    """A whole number from an int, a float or a numeric string; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


#: Environment variables apps commonly size their pool with (besides the contract's
#: ``DATABASE_POOL_MAX`` and Prisma 6's ``connection_limit``); the largest stated one counts.
POOL_SIZE_KEYS = ("DATABASE_POOL_SIZE", "DB_POOL_MAX", "DB_POOL_SIZE", "PG_POOL_MAX", "PGPOOL_MAX",
                  "POOL_SIZE", "POOL_MAX", "SQLALCHEMY_POOL_SIZE")
#: Added on top of a SQLAlchemy pool size (QueuePool's max_overflow).
POOL_OVERFLOW_KEYS = ("SQLALCHEMY_MAX_OVERFLOW", "DB_MAX_OVERFLOW", "MAX_OVERFLOW")


def url_connection_limit(environment: Mapping[str, Any]) -> int | None:
    """``connection_limit`` from ``DATABASE_URL_PARAMS`` or a literal ``DATABASE_URL`` (Prisma 6)."""
    for key in (settings.URL_PARAMS, "DATABASE_URL"):
        value = environment.get(key)
        if not isinstance(value, str):
            continue
        query = value if key == settings.URL_PARAMS else urlsplit(value).query
        limit = as_int(dict(parse_qsl(query)).get("connection_limit"))
        if limit is not None and limit > 0:
            return limit
    return None


def pool_size(environment: Mapping[str, Any]) -> tuple[int, bool]:
    """The largest pool the client's environment configures, in any recognised form, and
    whether one was stated (else Prisma's default is assumed).

    Forms: the pool contract's ``DATABASE_POOL_MAX``; ``connection_limit`` in
    ``DATABASE_URL_PARAMS`` or a literal ``DATABASE_URL``; the common names in
    :data:`POOL_SIZE_KEYS` (plus a stated overflow, :data:`POOL_OVERFLOW_KEYS`).
    """
    overflow = max((as_int(environment.get(k)) or 0 for k in POOL_OVERFLOW_KEYS), default=0)
    stated = [as_int(environment.get(k)) for k in (settings.POOL_MAX, *POOL_SIZE_KEYS)]
    sizes = [s + (overflow if k in POOL_SIZE_KEYS else 0)
             for k, s in zip((settings.POOL_MAX, *POOL_SIZE_KEYS), stated, strict=True) if s and s > 0]
    url_limit = url_connection_limit(environment)
    if url_limit is not None:
        sizes.append(url_limit)
    return (max(sizes), True) if sizes else (ASSUMED_POOL_SIZE, False)


class Model:
    """The resources of one template or one Pulumi program, with the graph helpers rules share.

    ``account_concurrency_limit``: the account's Lambda concurrency quota in the Region (what the
    constructs read from the ``deploy-paradigms:accountConcurrencyLimit`` context / config);
    omitted, Lambda's default of 1,000.
    """

    def __init__(self, resources: Iterable[Resource], *,
                 account_concurrency_limit: int | None = None) -> None:
        self.resources: tuple[Resource, ...] = tuple(resources)
        self._by_name = {r.name: r for r in self.resources}
        quota = account_concurrency_limit
        if quota is not None:
            check_whole("account_concurrency_limit", quota, minimum=1,
                        fix="the account's Lambda concurrency quota in the Region")
        self.quota_given = quota is not None
        self.account_concurrency_limit = quota or DEFAULT_ACCOUNT_CONCURRENCY

    @property
    def reservable_concurrency(self) -> int:
        """What all functions of the account may reserve: the quota minus the 100 kept unreserved."""
        return max(0, self.account_concurrency_limit - UNRESERVED_CONCURRENCY_MINIMUM)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def get(self, name: str | None) -> Resource | None:
        return self._by_name.get(name) if name else None

    def of_kind(self, *kinds: str) -> list[Resource]:
        return [r for r in self.resources if r.kind in kinds]

    # -- network -------------------------------------------------------------
    def ingress(self) -> list[Ingress]:
        """Every ingress permission, inline or standalone."""
        rules: list[Ingress] = []
        for res in self.of_kind("security_group", "ingress_rule"):
            rules.extend(res.props.get("ingress") or ())
        return rules

    def ingress_on(self, groups: Sequence[str]) -> list[Ingress]:
        wanted = set(groups)
        return [rule for rule in self.ingress() if rule.group in wanted]

    def admits(self, client: Resource, target: Resource, *, by: str) -> bool:
        """True when a rule on ``target``'s security groups admits ``client`` on the target's
        port: ``by="group"`` from one of the client's groups, ``by="cidr"`` from an address
        range (which admits every client that runs in a VPC)."""
        client_groups = set(client.props.get("security_groups") or ())
        port = as_int(target.props.get("port"))
        for rule in self.ingress_on(target.props.get("security_groups") or ()):
            if not rule.allows_port(port):
                continue
            if by == "group" and rule.source_group is not None and rule.source_group in client_groups:
                return True
            if by == "cidr" and rule.cidr is not None and client_groups:
                return True
        return False

    # -- budget --------------------------------------------------------------
    def limit_of(self, database: Resource) -> ConnectionLimit | None:
        """The database's connection limit from the budget core; None when it cannot be
        known from the resource (unknown class, engine or unresolved values)."""
        props = database.props
        engine, instance_class = props.get("engine"), props.get("instance_class")
        if not isinstance(engine, str) or not isinstance(instance_class, str):
            return None
        if engine.lower() == "aurora":  # CloudFormation's legacy name for Aurora MySQL
            engine = "aurora-mysql"
        try:
            return describe_connection_limit(
                engine, instance_class, max_connections=as_int(props.get("max_connections")),
                max_acu=as_float(props.get("max_acu")))
        except BudgetError:
            return None

    def governed_databases(self) -> list[tuple[Resource, ConnectionLimit]]:
        """Databases whose connection limit the budget knows."""
        found = []
        for db in self.of_kind("database"):
            limit = self.limit_of(db)
            if limit is not None:
                found.append((db, limit))
        return found

    def proxies_of(self, database: Resource) -> list[Resource]:
        return [p for p in self.of_kind("proxy") if database.name in (p.props.get("targets") or ())]

    def proxy_connections(self, proxy: Resource, limit: ConnectionLimit) -> int:
        """Database connections a proxy may open: the planner's arithmetic at the proxy's
        percent (AWS default 100 % when the template leaves it out)."""
        percent = as_int(proxy.props.get("max_connections_percent"))
        return proxy_connection_share(limit, 100 if percent is None else percent)

    def clients(self) -> list[Resource]:
        return self.of_kind("function", "service")

    def is_database_client(self, client: Resource) -> bool:
        env = client.props.get("environment") or {}
        return any(key in env for key in DATABASE_ENV_KEYS)

    def route(self, client: Resource, database: Resource) -> Route | None:
        """How ``client`` reaches ``database`` (None: it cannot).

        In order: what its environment points at (the database's or a proxy's endpoint
        in ``DATABASE_HOST``), then security-group rules admitting its groups, then
        address-range rules. A database client (it sets ``DATABASE_HOST`` or
        ``DATABASE_URL``) whose path cannot be resolved at all, e.g. because ids are
        unknown during a Pulumi preview, is taken to reach the only governed database
        of the model, directly."""
        proxies = self.proxies_of(database)
        pointed = set(client.props.get("environment_refs") or ())
        if database.name in pointed:
            return Route()
        for proxy in proxies:
            if proxy.name in pointed:
                return Route(proxy)
        for by in ("group", "cidr"):
            if self.admits(client, database, by=by):
                return Route()
            for proxy in proxies:
                if self.admits(client, proxy, by=by):
                    return Route(proxy)
        if self.is_database_client(client) and not self._resolved_target(client):
            governed = self.governed_databases()
            if len(governed) == 1 and governed[0][0].name == database.name:
                return Route()
        return None

    def _resolved_target(self, client: Resource) -> bool:
        targets = self.of_kind("database", "proxy")
        pointed = set(client.props.get("environment_refs") or ())
        return any(t.name in pointed or self.admits(client, t, by="group")
                   or self.admits(client, t, by="cidr") for t in targets)

    def consumers(self, database: Resource, limit: ConnectionLimit) -> list[Consumer]:
        """What holds connections on ``database``: its proxies, and the functions and
        services that reach it directly. Clients behind a proxy spend the proxy's share."""
        found = [Consumer(p, None, self.proxy_connections(p, limit),
                          f"RDS Proxy at {as_int(p.props.get('max_connections_percent')) or 100}% of "
                          f"max_connections {limit.max_connections}")
                 for p in self.proxies_of(database)]
        for client in self.clients():
            route = self.route(client, database)
            if route is not None and route.proxy is None:
                found.append(self.consumer(client, None))
        return found

    def consumer(self, client: Resource, via: Resource | None) -> Consumer:
        env = client.props.get("environment") or {}
        pool, stated = pool_size(env)
        pool_text = f"pool {pool}" if stated else f"pool {pool} (assumed: no connection_limit set)"
        if client.kind == "function":
            reserved = as_int(client.props.get("reserved_concurrency"))
            if reserved is None or reserved < 0:
                return Consumer(client, via, None, f"no reserved concurrency x {pool_text}")
            return Consumer(client, via, reserved * pool, f"reserved concurrency {reserved} x {pool_text}")
        max_tasks, maximum_percent = service_scale(client)
        peak = peak_tasks(max_tasks, maximum_percent)
        return Consumer(client, via, peak * pool,
                        f"{max_tasks} max tasks x {maximum_percent}% during deploys = {peak} tasks x "
                        f"{pool_text}")


def service_scale(service: Resource) -> tuple[int, int]:
    """(max tasks, percent at a deploy's peak) of an ECS service: the autoscaling maximum
    when set, else the desired count (ECS defaults: 1 task, 200 %). Blue/green, canary and
    linear deployments (ECS native, or a CodeDeploy controller) run both revisions at full
    size: 200 % whatever maximumPercent says."""
    props = service.props
    max_tasks = as_int(props.get("max_tasks"))
    desired = as_int(props.get("desired_count"))
    tasks = max(t for t in (max_tasks, desired, 1) if t is not None)
    strategy = str(props.get("deployment_strategy") or "ROLLING").upper()
    if strategy != "ROLLING":
        return tasks, BOTH_REVISIONS_PERCENT
    percent = as_int(props.get("maximum_percent"))
    return tasks, (DEFAULT_MAXIMUM_PERCENT if percent is None else percent)



def run_rules(model: Model, rules: Iterable[Rule]) -> list[Finding]:
    """Every finding of ``rules`` over ``model``, in rule order then resource order."""
    findings: list[Finding] = []
    for rule in rules:
        findings.extend(rule(model))
    return findings


def link(resources: list[Resource]) -> list[Resource]:
    """Second pass shared by both normalisers: fold proxy target groups into their
    proxy, autoscaling maxima and task environments into their service, parameter
    groups and member classes into their database."""
    by_name = {r.name: r for r in resources}
    extra: dict[str, dict[str, Any]] = {r.name: {} for r in resources}
    for res in resources:
        p = res.props
        if res.kind == "proxy_target" and p.get("proxy") in by_name:
            proxy = extra[p["proxy"]]
            proxy["targets"] = [*proxy.get("targets", by_name[p["proxy"]].props.get("targets") or []),
                                *p.get("targets", [])]
            if p.get("max_connections_percent") is not None:
                proxy["max_connections_percent"] = p["max_connections_percent"]
        elif res.kind == "scaling_target" and p.get("service") in by_name:
            extra[p["service"]]["max_tasks"] = p.get("max_capacity")
        elif res.kind == "database_member" and p.get("cluster") in by_name:
            cluster = by_name[p["cluster"]]
            members = extra[cluster.name].setdefault("_member_classes", [])
            members.append(p.get("instance_class"))
            if p.get("parameter_group") and not cluster.props.get("parameter_group"):
                extra[cluster.name].setdefault("_member_parameter_group", p["parameter_group"])
    out = []
    for res in resources:
        add = extra[res.name]
        props = dict(res.props)
        if res.kind == "service":
            task = by_name.get(props.get("task_definition") or "")
            env: dict[str, Any] = {}
            env_refs: list[str] = []
            for container in (task.props.get("containers") or []) if task else []:
                env.update(container.get("environment") or {})
                env_refs += container.get("environment_refs") or []
            props.setdefault("environment", env)
            props.setdefault("environment_refs", env_refs)
        if res.kind == "database":
            classes = [c for c in add.pop("_member_classes", []) if isinstance(c, str)]
            if classes and not props.get("instance_class"):
                # Every member has its own max_connections; budget on the smallest.
                props["instance_class"] = "db.serverless" if "db.serverless" in classes else min(
                    classes, key=_class_order)
            group = by_name.get(props.get("parameter_group") or add.pop("_member_parameter_group", "") or "")
            if group is not None and props.get("max_connections") is None:
                parameters = group.props.get("parameters") or {}
                props["max_connections"] = as_int(parameters.get("max_connections"))
        add.pop("_member_parameter_group", None)
        props.update(add)
        out.append(Resource(res.kind, res.name, res.path, props, res.type, res.raw))
    databases = {r.name: r for r in out if r.kind == "database"}
    for i, res in enumerate(out):
        if res.kind == "proxy" and res.props.get("port") is None:
            ports = [databases[t].props.get("port") for t in res.props.get("targets") or () if t in databases]
            if ports:
                props = {**res.props, "port": ports[0]}
                out[i] = Resource(res.kind, res.name, res.path, props, res.type, res.raw)
    return out


_SIZE_ORDER = ("nano", "micro", "small", "medium", "large", "xlarge")


def _class_order(instance_class: str) -> tuple[int, int]:
    size = instance_class.rsplit(".", 1)[-1]
    if size in _SIZE_ORDER:
        return 0, _SIZE_ORDER.index(size)
    digits = size.removesuffix("xlarge")
    return 1, int(digits) if digits.isdigit() else 99

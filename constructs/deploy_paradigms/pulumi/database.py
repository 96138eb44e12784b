"""The database every paradigm shares, and the ledger of its connections.

Pulumi twin of :class:`deploy_paradigms.cdk.database.Database`; same steps,
same attribute names where they make sense:

1. validate inputs: the connection budget (engine, instance class or
   ``max_connections``, reserve) and the safety switches, before any resource;
2. plan: engine version, parameter-group family, parameters, log exports;
3. create children: security group (no ingress), subnet group, parameter
   group(s), then an RDS instance or an Aurora cluster with a writer;
4. expose attributes: ``limit``, ``ledger``, ``engine``, ``port``,
   ``database_name``, ``instance``, ``secret_arn``, ``security_group``,
   ``endpoint_address``, and :meth:`Database.allocate` for the paradigm
   components (over-allocation fails here, at construction time).

Security defaults: storage encrypted, deletion protection, final snapshot,
backups kept 7 days or more, never publicly accessible, IAM database
authentication, master password generated and kept by RDS in Secrets Manager
(no password in the program or the state), TLS forced by the parameter group,
log exports to CloudWatch, Performance Insights where the class supports it.
"""

from __future__ import annotations

import contextvars
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from .. import packaging
from ..app_role import DEFAULT_APP_USERNAME, check_role_name
from ..budget import (
    Allocation,
    BudgetError,
    ConnectionLedger,
    ConnectionLimit,
    Engine,
    describe_connection_limit,
    normalise_instance_class,
    parse_engine,
)
from ..budget.deployment import ACCOUNT_CONCURRENCY_KEY, Deployment
from ..plans.checks import SUBNET_TIERS, check_choice, check_log_retention
from ..plans.database import (
    ENHANCED_MONITORING_INTERVAL_S,
    ENHANCED_MONITORING_POLICY,
    MAX_STORAGE_GIB,
    MIN_BACKUP_RETENTION_DAYS,
    MIN_STORAGE_GIB,
    check_database_identifier,
    check_external_consumers,
    check_import_share,
    check_instance_class_offered,
    check_parameters,
    check_port,
    check_serverless_inputs,
    logical_replication_parameters,
    performance_insights,
    tls_parameter,
)
from ..runtime import role_bootstrap, settings
from .network import LAMBDA_TRUST_POLICY, NetworkLike, lambda_vpc_statements
from .shares import schedule_settlement


@dataclass(frozen=True)
class EngineDefaults:
    """What the component picks per engine when the user does not say."""

    version: str
    family: str
    log_exports: tuple[str, ...]


# Versions: the same lines as the CDK twin (PostgreSQL 17, MySQL 8.4, MariaDB
# 11.4, Aurora PostgreSQL 17.5, Aurora MySQL 3.10.0; cfn-lint calls PostgreSQL 16
# deprecated for new instances). RDS engines take the major line only: pulumi-aws
# accepts a version prefix when auto minor version upgrade is on (rds.Instance
# `engine_version`), so an automatic minor upgrade is not shown as drift. Aurora
# needs a full version.
ENGINE_DEFAULTS: Mapping[Engine, EngineDefaults] = {
    Engine.POSTGRES: EngineDefaults("17", "postgres17", ("postgresql", "upgrade")),
    Engine.MYSQL: EngineDefaults("8.4", "mysql8.4", ("error", "slowquery")),
    Engine.MARIADB: EngineDefaults("11.4", "mariadb11.4", ("error", "slowquery")),
    Engine.AURORA_POSTGRESQL: EngineDefaults("17.5", "aurora-postgresql17", ("postgresql",)),
    Engine.AURORA_MYSQL: EngineDefaults("8.0.mysql_aurora.3.10.0", "aurora-mysql8.0", ("error", "slowquery")),
}
DEFAULT_MASTER_USERNAME = "app_admin"  # same as the CDK twin, for every engine
MINIMUM_BACKUP_RETENTION_DAYS = MIN_BACKUP_RETENTION_DAYS  # the old name, kept for imports
DEFAULT_LOG_RETENTION_DAYS = 30  # CDK twin: cloudwatch_logs_retention=ONE_MONTH



def parameter_group_family(engine: Engine, version: str) -> str:
    """``postgres17``, ``mysql8.4``, ``aurora-postgresql17``, ``aurora-mysql8.0``, ... from a version."""
    match = re.match(r"^(\d+)(?:\.(\d+))?", version)
    if not match:
        raise BudgetError(f"engine_version={version!r} does not start with a version number; pass "
                          f"parameter_group_family= as well (for example {ENGINE_DEFAULTS[engine].family!r})")
    major, minor = match.group(1), match.group(2)
    if engine in (Engine.POSTGRES, Engine.AURORA_POSTGRESQL):
        return f"{engine.value}{major}"
    if minor is None:
        raise BudgetError(f"engine_version={version!r} needs major.minor for {engine.value} (for example "
                          f"{ENGINE_DEFAULTS[engine].version!r}), or pass parameter_group_family=")
    return f"{engine.value}{major}.{minor}"


_DEPLOYMENT: contextvars.ContextVar[tuple[int, Deployment] | None] = contextvars.ContextVar(
    "deploy_paradigms_deployment", default=None)


def deployment() -> Deployment:
    """The :class:`~deploy_paradigms.budget.deployment.Deployment` of the running Pulumi program:
    every database ledger and every account's reserved concurrency. One per program run (keyed by
    the engine connection, so programs run one after another in a process do not share it)."""
    monitor = id(pulumi.runtime.settings.get_monitor())
    current = _DEPLOYMENT.get()
    if current is None or current[0] != monitor:
        project_key, _, key = ACCOUNT_CONCURRENCY_KEY.partition(":")
        raw = pulumi.Config(project_key).get(key)
        quota: int | None = None
        if raw:
            try:
                quota = int(raw)
            except ValueError:
                raise BudgetError(f"config {ACCOUNT_CONCURRENCY_KEY}={raw!r} must be a whole number: your "
                                  f"account's Lambda concurrency quota, e.g. `pulumi config set "
                                  f"{ACCOUNT_CONCURRENCY_KEY} 1000`") from None
        current = (monitor, Deployment(account_concurrency_limit=quota))
        # Default shares settle after the program body, when every consumer is declared.
        current[1].schedule = schedule_settlement(current[1])
        _DEPLOYMENT.set(current)
    return current[1]


def physical_name(name: str, suffix: str = "", *, max_length: int = 63) -> str:
    """An RDS identifier: lowercase letters, digits, single hyphens, starts with a letter."""
    text = re.sub(r"[^a-z0-9]+", "-", f"{name}-{suffix}".lower() if suffix else name.lower())
    text = re.sub(r"-{2,}", "-", text).strip("-")
    text = text if text[:1].isalpha() else f"db-{text}"
    return text[:max_length].rstrip("-")


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    """Inputs of :class:`Database`. Only ``network`` is required.

    Attributes:
        network: Where the database lives: a :class:`~deploy_paradigms.pulumi.network.Network`
            or ``Network.from_existing(...)``. The database uses its isolated subnets (the
            private ones when it has none; see ``subnet_tier``).
        engine: ``postgres``, ``mysql``, ``mariadb``, ``aurora-postgresql`` or ``aurora-mysql``.
            Omitted: ``postgres``. The Aurora engines create a cluster and a writer instance.
        instance_class: Instance class, e.g. ``db.m5.large``; ``db.serverless`` for Aurora
            Serverless v2 (needs ``max_acu``). Omitted: ``db.t3.micro``. Its connection limit comes
            from the budget table; an unknown class is refused unless ``max_connections`` is given.
        max_connections: The ``max_connections`` you want on the database. Omitted: the engine's
            default for the class (from the table; the parameter group leaves it alone). Given: it
            is written into the parameter group and the budget uses it.
        max_acu / min_acu: Aurora Serverless v2 capacity range. ``max_acu`` omitted: not
            serverless. ``min_acu`` omitted: 0.5.
        reserve: Connections kept free for admin sessions and migrations. Omitted: 5 % of the
            usable connections, at least 3.
        database_name: Name of the database created at launch. Omitted: ``app``.
        master_username: Master user name. Omitted: ``app_admin``. Its password is generated by
            RDS and kept in Secrets Manager (``secret_arn``); it never appears in the program.
            Kept for the application role's bootstrap and for migrations.
        app_username: The application role every consumer connects as by default. Omitted:
            ``app_user``. Created (and converged on every deployment) by a function in the VPC
            that runs :mod:`deploy_paradigms.app_role`'s SQL as the master user, invoked through
            ``aws.lambda_.Invocation``; its password is generated into ``app_secret_arn`` by the
            bootstrap on first deploy (no generated value in the program's graph or state).
        port: Listener port. Omitted: 5432 (PostgreSQL engines) or 3306.
        multi_az: One switch for high availability. Omitted: off. On: a Multi-AZ standby for RDS,
            a reader instance in another AZ for Aurora.
        allocated_storage_gib / max_allocated_storage_gib: gp3 storage and its autoscaling ceiling
            (RDS only; Aurora storage grows by itself). Omitted: 20 and 100 GiB; pass
            ``max_allocated_storage_gib=None`` to turn storage autoscaling off.
        backup_retention_days: Automated backup retention. Omitted: 7. Below 7 is refused unless
            ``acknowledge_short_backup_retention=True``.
        acknowledge_short_backup_retention: Omitted: False, and ``backup_retention_days`` below 7
            raises :class:`BudgetError`. True: you accept the shorter point-in-time recovery window
            (0 turns automated backups off on RDS; Aurora needs at least 1).
        engine_version: Engine version. Omitted: PostgreSQL 17, MySQL 8.4, MariaDB 11.4, Aurora
            PostgreSQL 17.5, Aurora MySQL 3.10.0 (see ``ENGINE_DEFAULTS``); RDS engines take a minor
            of that line and upgrade minors automatically. Where the version names a minor (Aurora,
            or any version you give) it is ignored after creation (``ignore_changes``), so an
            automatic minor upgrade is not undone by the next ``pulumi up``; upgrade deliberately in
            the console or with the AWS CLI, then ``pulumi refresh``.
        parameter_group_family: Parameter-group family. Omitted: derived from ``engine_version``.
        parameters: Extra parameters for the parameter group (cluster parameter group on Aurora).
            Omitted: only TLS enforcement and ``max_connections`` (when given). Turning TLS off or
            setting ``max_connections`` here is refused.
        deletion_protection: Omitted: on. Off is refused unless
            ``acknowledge_no_deletion_protection=True``. A final snapshot is always taken on delete.
        acknowledge_no_deletion_protection: Omitted: False, and ``deletion_protection=False``
            raises :class:`BudgetError`. True: one ``pulumi destroy`` (or a replacement) may delete
            the database, after its final snapshot.
        identifier: RDS instance (or Aurora cluster) identifier. Omitted:
            ``<project>-<stack>-<name>`` lowercased, at most 63 characters. It is set (not
            auto-named) so the log groups below can be created before the database.
        final_snapshot_identifier: Name of the final snapshot. Omitted:
            ``<identifier>-final-snapshot`` (a second delete under the same name fails until the
            old snapshot is deleted).
        log_retention_days: Retention of the CloudWatch log groups the database exports to
            (PostgreSQL: postgresql, upgrade; MySQL family: error, slowquery). Omitted: 30.
        performance_insights: Omitted: on where the engine and class support it (7 days, free
            tier); True on an unsupported class is refused.
        kms_key_id: KMS key for storage encryption. Omitted: the AWS-managed ``aws/rds`` key.
            Storage is always encrypted.
        subnet_tier: ``isolated`` or ``private``. Omitted: ``isolated`` (falls back to private
            subnets when the network has no isolated ones).
        tags: Tags on every child. Omitted: none.
        consumers: The least number of default-share consumers (those without ``connections=``)
            to split what the explicit shares leave among; with fewer, the rest stays free for
            consumers added later (docs/composition.md). Omitted: split equally among the
            default-share consumers the program declares, settled after the program body.
        external_consumers: Shares handed to other apps that import this database, e.g.
            ``{"billing": 40}``, booked on this ledger (each app imports it with
            ``Database.from_existing(..., share=40)``). Omitted: none.
        logical_replication: Sets ``rds.logical_replication=1`` (``wal_level=logical``) in the
            parameter group (the cluster parameter group on Aurora PostgreSQL), which a
            ``ChangeStream`` needs; PostgreSQL engines only. Omitted: off (on a running database,
            turning it on takes a reboot).
    """

    network: NetworkLike
    engine: str | Engine = "postgres"
    instance_class: str = "db.t3.micro"
    max_connections: int | None = None
    max_acu: float | None = None
    min_acu: float = 0.5
    reserve: int | None = None
    database_name: str = "app"
    master_username: str | None = None
    port: int | None = None
    multi_az: bool = False
    allocated_storage_gib: int = 20
    max_allocated_storage_gib: int | None = 100
    backup_retention_days: int = MIN_BACKUP_RETENTION_DAYS
    acknowledge_short_backup_retention: bool = False
    engine_version: str | None = None
    parameter_group_family: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    deletion_protection: bool = True
    acknowledge_no_deletion_protection: bool = False
    identifier: str | None = None
    final_snapshot_identifier: str | None = None
    log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS
    performance_insights: bool | None = None
    kms_key_id: pulumi.Input[str] | None = None
    subnet_tier: Literal["isolated", "private"] = "isolated"
    app_username: str = DEFAULT_APP_USERNAME
    tags: Mapping[str, str] = field(default_factory=dict)
    consumers: int | None = None
    external_consumers: Mapping[str, int] | None = None
    logical_replication: bool = False


@dataclass(frozen=True, kw_only=True)
class ExistingDatabaseArgs:
    """A database created elsewhere; built by :meth:`Database.from_existing` (see its docs).

    Attributes:
        network: The network the database is in; consumers are placed in it.
        engine: ``postgres``, ``mysql``, ``mariadb``, ``aurora-postgresql`` or ``aurora-mysql``.
        endpoint_address: Instance address, or the cluster (writer) endpoint on Aurora.
        secret_arn: ARN of the Secrets Manager secret with ``username`` and ``password``. Required
            (omitted or empty raises :class:`BudgetError`): functions and tasks read it.
        security_group_id: The database's security group. Required (omitted or empty raises):
            consumers add ingress rules to it.
        instance_class: Its class, which sets the budget. Omitted: ``max_connections`` (or
            ``max_acu``) must say.
        max_connections: The ``max_connections`` of its parameter group. Omitted: the connection
            table's value for ``instance_class``. Nothing is written to the database.
        max_acu: Aurora Serverless v2 maximum capacity of a ``db.serverless`` writer; sets the
            budget (instance_class may then be omitted). Omitted: a provisioned class.
        port: Its port. Omitted: 5432 (PostgreSQL engines) or 3306.
        instance_identifier / cluster_identifier: What an RDS Proxy targets (give one). Omitted
            both: ServerlessFunction needs ``proxy=`` (an existing proxy) instead.
        resource_id: ``db-...`` / ``cluster-...`` resource id, recorded on the component for your
            own ``rds-db:connect`` policies. Omitted: None.
        database_name: The database consumers connect to. Omitted: ``app``.
        master_username: The user functions connect as unless they set ``db_user``. Omitted:
            ``app_admin``.
        iam_authentication: Whether the database accepts IAM database authentication. Omitted:
            False (it is recorded on the component as ``iam_authentication``).
        reserve: Omitted (the only choice with ``share``): none here, the owner keeps the reserve;
            given, it is refused.
        share: The connections this program may hold in total (its consumers split it), as the
            owning app declared them in its ``external_consumers``. Required: omitted raises
            :class:`BudgetError`.
        consumers: As for :class:`DatabaseArgs`. Omitted: 1.
    """

    network: NetworkLike
    engine: str | Engine
    endpoint_address: pulumi.Input[str]
    secret_arn: pulumi.Input[str]
    security_group_id: pulumi.Input[str]
    instance_class: str | None = None
    max_connections: int | None = None
    max_acu: float | None = None
    port: int | None = None
    instance_identifier: pulumi.Input[str] | None = None
    cluster_identifier: pulumi.Input[str] | None = None
    resource_id: pulumi.Input[str] | None = None
    database_name: str = "app"
    master_username: str | None = None
    iam_authentication: bool = False
    reserve: int | None = None
    share: int | None = None
    consumers: int | None = None


@dataclass(frozen=True)
class DatabasePlan:
    """Every decision :class:`Database` takes before it creates anything (the renderer reads these)."""

    identifier: str
    version: str
    family: str
    tls: tuple[str, str]
    extra: tuple[tuple[str, str], ...]
    log_exports: tuple[str, ...]
    performance_insights: bool
    serverless: bool
    subnet_ids: tuple[pulumi.Input[str], ...]
    final_snapshot: str
    backup_retention_days: int
    #: The version pins a minor while RDS upgrades minors automatically (Aurora's full versions, or
    #: an ``engine_version`` you gave): the engine version is then ignored after creation, or a
    #: refresh after an automatic upgrade would propose a downgrade.
    version_drifts: bool = False


def _check_physical(what: str, value: str, max_length: int) -> None:
    if physical_name(value, max_length=max_length) != value:
        raise BudgetError(f"{what}={value!r} must be lowercase letters, digits and single hyphens, start "
                          f"with a letter and hold at most {max_length} characters")


def _whole(name: str, value: object, low: int, high: int, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BudgetError(f"{name}={value!r} must be a whole number between {low} and {high}; {fix}")
    return value


class Database(pulumi.ComponentResource):
    """An RDS instance or Aurora cluster, secured by default, that owns its connection ledger.

    Attributes:
        limit: :class:`~deploy_paradigms.budget.ConnectionLimit` (max_connections, usable, source).
        ledger: :class:`~deploy_paradigms.budget.ConnectionLedger` shared by every consumer.
        engine: :class:`~deploy_paradigms.budget.Engine`.
        port, database_name, master_username: plain values.
        endpoint_address: writer address (instance address, or cluster endpoint on Aurora).
        secret_arn: Secrets Manager secret with ``username`` and ``password`` (managed by RDS).
        security_group: the database's security group (None for an existing database);
            security_group_id: its id.
        instance: ``aws.rds.Instance`` (RDS), the writer ``aws.rds.ClusterInstance`` (Aurora), or
            None (existing). cluster: ``aws.rds.Cluster`` or None.
        instance_identifier / cluster_identifier: RDS Proxy targets (one of them is None).
        resource_id: ``db-...`` / ``cluster-...`` resource id for ``rds-db:connect`` policies.
        iam_authentication: whether IAM database authentication is on.

    ``opts`` goes to the component; its children inherit its providers and ``transforms``,
    which is the escape hatch for any child property this class does not expose, e.g.
    ``ResourceOptions(transforms=[lambda a: ResourceTransformResult({**a.props, ...}, a.opts)
    if a.type_ == "aws:rds/instance:Instance" else None])`` (the offline preview runs them too).
    """

    TYPE = "deploy-paradigms:database:Database"

    def __init__(self, name: str, args: DatabaseArgs | ExistingDatabaseArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        # 1. Validate: the budget first (engine, class, reserve), then everything else.
        engine = parse_engine(args.engine)
        serverless = False
        external: dict[str, int] = {}
        share: int | None = None
        if isinstance(args, DatabaseArgs):
            if not isinstance(args.instance_class, str):
                raise BudgetError(f"instance_class={args.instance_class!r} is not a literal string; the "
                                  f"connection budget is decided before deployment and needs the class, "
                                  f"e.g. 'db.t3.micro'")
            check_serverless_inputs(engine, args.instance_class, args.max_acu)
            serverless = (args.max_acu is not None
                          or normalise_instance_class(args.instance_class) == "db.serverless")
            limit = describe_connection_limit(
                engine, args.instance_class, max_connections=args.max_connections,
                max_acu=args.max_acu, min_acu=args.min_acu)
            external = check_external_consumers(args.external_consumers)
        else:
            share = check_import_share(args.share, engine=args.engine, instance_class=args.instance_class)
            limit = describe_connection_limit(engine, args.instance_class,
                                              max_connections=args.max_connections, max_acu=args.max_acu)
        ledger = ConnectionLedger(limit, reserve=args.reserve, share=share, consumers=args.consumers,
                                  name=f"{name} ({limit.engine.value} {limit.instance_class})")
        ledger.book_external(external)
        deployment().register(name, ledger)
        self.engine: Engine = engine
        self.limit: ConnectionLimit = limit
        self.ledger: ConnectionLedger = ledger
        self.network: NetworkLike = args.network
        self.port: int = check_port(engine, args.port)
        self.database_name: str = check_database_identifier("database_name", args.database_name, 63)
        self.master_username: str = check_database_identifier(
            "master_username", args.master_username or DEFAULT_MASTER_USERNAME, 16)
        #: The application role (its own user and secret); an adopted database's given user.
        self.app_username: str = self.master_username
        self.logical_replication: bool = isinstance(args, DatabaseArgs) and args.logical_replication
        if isinstance(args, DatabaseArgs):
            self.app_username = check_role_name(args.app_username)
            if self.app_username == self.master_username:
                raise BudgetError(f"app_username={args.app_username!r} is the master user; the application "
                                  f"role must be another user (the master user is kept for the bootstrap "
                                  f"and migrations)")
            plan = self._validate_new(name, args, engine, serverless)
        else:
            self._validate_existing(name, args)

        budget = {"engine": engine.value, "instanceClass": limit.instance_class,
                  "maxConnections": limit.max_connections, "reservedByEngine": limit.reserved,
                  "usable": limit.usable, "reserve": ledger.reserve, "available": ledger.available,
                  "estimate": limit.estimate, "source": limit.source}
        super().__init__(self.TYPE, name, {"connectionBudget": budget,
                                           "existing": isinstance(args, ExistingDatabaseArgs)}, opts)
        self._component_name = name

        self.security_group: aws.ec2.SecurityGroup | None = None
        self.subnet_group: aws.rds.SubnetGroup | None = None
        self.parameter_group: aws.rds.ParameterGroup | None = None
        self.cluster_parameter_group: aws.rds.ClusterParameterGroup | None = None
        self.instance: aws.rds.Instance | aws.rds.ClusterInstance | None = None
        self.readers: list[aws.rds.ClusterInstance] = []
        self.cluster: aws.rds.Cluster | None = None
        self.cluster_identifier: pulumi.Input[str] | None = None
        self.instance_identifier: pulumi.Input[str] | None = None
        self.resource_id: pulumi.Input[str] | None = None
        self.log_groups: list[aws.cloudwatch.LogGroup] = []
        #: (proxy name, database connections it may open) of the RDS Proxies consumers created.
        self.proxies: list[tuple[pulumi.Input[str], int]] = []

        if isinstance(args, ExistingDatabaseArgs):
            self.vpc_id: pulumi.Input[str] = args.network.vpc_id
            self.security_group_id: pulumi.Input[str] = args.security_group_id
            self.endpoint_address: pulumi.Input[str] = args.endpoint_address
            self.secret_arn: pulumi.Input[str] = args.secret_arn
            self.app_secret_arn: pulumi.Input[str] = args.secret_arn
            self.role_bootstrap: aws.lambda_.Function | None = None
            self.instance_identifier = args.instance_identifier
            self.cluster_identifier = args.cluster_identifier
            self.resource_id = args.resource_id
            self.iam_authentication: bool = args.iam_authentication
        else:
            self._create(name, args, plan)
            self._create_app_role(name, args)

        self.register_outputs({
            "endpointAddress": self.endpoint_address,
            "port": self.port,
            "secretArn": self.secret_arn,
            "securityGroupId": self.security_group_id,
        })

    # -- 1. validation -------------------------------------------------------------------------

    @staticmethod
    def _validate_new(name: str, args: DatabaseArgs, engine: Engine, serverless: bool) -> DatabasePlan:
        cls = normalise_instance_class(args.instance_class)
        retention = _whole("backup_retention_days", args.backup_retention_days, 0, 35,
                           "RDS keeps automated backups for 0-35 days")
        if retention < MIN_BACKUP_RETENTION_DAYS and not args.acknowledge_short_backup_retention:
            raise BudgetError(
                f"backup_retention_days={retention} is below the {MIN_BACKUP_RETENTION_DAYS}-day minimum "
                f"this component keeps for point-in-time recovery; raise it, or pass "
                f"acknowledge_short_backup_retention=True")
        if engine.is_aurora and retention < 1:
            raise BudgetError("backup_retention_days=0 is not possible on Aurora (1-35 days)")
        if not args.deletion_protection and not args.acknowledge_no_deletion_protection:
            raise BudgetError("deletion_protection=False lets one `pulumi destroy` or replacement delete the "
                              "database; pass acknowledge_no_deletion_protection=True as well if you mean it")
        if not engine.is_aurora:
            _whole("allocated_storage_gib", args.allocated_storage_gib, MIN_STORAGE_GIB, MAX_STORAGE_GIB,
                   "gp3 storage starts at 20 GiB")
            if args.max_allocated_storage_gib is not None:
                _whole("max_allocated_storage_gib", args.max_allocated_storage_gib,
                       args.allocated_storage_gib, MAX_STORAGE_GIB,
                       "the autoscaling ceiling must be at least allocated_storage_gib (None: off)")

        identifier = args.identifier or physical_name(f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}")
        _check_physical("identifier", identifier, 63)
        final_snapshot = args.final_snapshot_identifier or physical_name(identifier, "final-snapshot",
                                                                         max_length=255)
        _check_physical("final_snapshot_identifier", final_snapshot, 255)
        check_log_retention("log_retention_days", args.log_retention_days)
        defaults = ENGINE_DEFAULTS[engine]
        version = args.engine_version or defaults.version
        family = args.parameter_group_family or (
            defaults.family if args.engine_version is None else parameter_group_family(engine, version))
        tls_name, tls_value = tls_parameter(engine)
        check_instance_class_offered(engine, cls, default_version=args.engine_version is None)
        extra = {**check_parameters(engine, args.parameters),
                 **logical_replication_parameters(engine, args.logical_replication)}
        with_insights = performance_insights(engine, cls, args.performance_insights)
        check_choice("subnet_tier", args.subnet_tier, SUBNET_TIERS)
        subnets = list(args.network.isolated_subnet_ids) if args.subnet_tier == "isolated" else []
        if not subnets:
            subnets = list(args.network.private_subnet_ids)
        if len(subnets) < 2:
            raise BudgetError(f"network has {len(subnets)} {args.subnet_tier}/private subnet(s); an RDS "
                              f"subnet group needs subnets in at least two Availability Zones")
        return DatabasePlan(
            identifier=identifier,
            version=version,
            family=family,
            tls=(tls_name, tls_value),
            extra=tuple(sorted((k, str(v)) for k, v in extra.items() if k != tls_name)),
            log_exports=defaults.log_exports,
            performance_insights=with_insights,
            serverless=serverless,
            subnet_ids=tuple(subnets),
            final_snapshot=final_snapshot,
            backup_retention_days=retention,
            version_drifts=engine.is_aurora or args.engine_version is not None,
        )

    @staticmethod
    def _validate_existing(name: str, args: ExistingDatabaseArgs) -> None:
        where = f"Database.from_existing({name!r})"
        if not args.secret_arn:
            raise BudgetError(
                f"{where}: secret_arn is missing; pass the ARN of the Secrets Manager secret that holds the "
                f"database credentials (for an RDS-managed master password: the instance's "
                f"MasterUserSecret.SecretArn); functions and tasks read the password from it at run time")
        if not args.endpoint_address:
            raise BudgetError(f"{where}: endpoint_address is missing; pass the instance address or the "
                              f"cluster (writer) endpoint")
        if not args.security_group_id:
            raise BudgetError(f"{where}: security_group_id is missing; pass the database's security group so "
                              f"consumers can be allowed in on its port")

    # -- 2./3. plan and children ---------------------------------------------------------------

    def _create(self, name: str, args: DatabaseArgs, plan: DatabasePlan) -> None:
        child = pulumi.ResourceOptions(parent=self)
        engine = self.engine
        tags = dict(args.tags) or None
        self.iam_authentication = True
        self.vpc_id = args.network.vpc_id

        # Security group: no ingress; consumers call allow_from() for their own security group.
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=args.network.vpc_id,
            description=f"deploy-paradigms {engine.value} database {name}: no ingress until a consumer is "
                        f"allowed on port {self.port}",
            revoke_rules_on_delete=True, tags={**(tags or {}), "Name": f"{name}-sg"}, opts=child)
        self.security_group_id = self.security_group.id
        subnet_group = self.subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets", subnet_ids=list(plan.subnet_ids),
            description=f"deploy-paradigms {engine.value} database {name}", tags=tags, opts=child)

        # Parameters as (name, value, apply method): TLS is dynamic; the rest waits for a reboot
        # (a new instance starts with them anyway).
        tls_name, tls_value = plan.tls
        tls_params = [(tls_name, tls_value, "immediate")] + [(k, v, "pending-reboot") for k, v in plan.extra]
        max_conn_params = [] if args.max_connections is None else [
            ("max_connections", str(args.max_connections), "pending-reboot")]
        tls_description = f"deploy-paradigms {name}: TLS required"
        description = tls_description + (
            f", max_connections {args.max_connections}" if args.max_connections is not None else "")

        # Log groups RDS exports to, created first so they carry a retention period.
        kind = "cluster" if engine.is_aurora else "instance"
        self.log_groups = [
            aws.cloudwatch.LogGroup(f"{name}-log-{log}", name=f"/aws/rds/{kind}/{plan.identifier}/{log}",
                                    retention_in_days=args.log_retention_days, tags=tags, opts=child)
            for log in plan.log_exports]
        after_logs = pulumi.ResourceOptions(parent=self, depends_on=list(self.log_groups))

        if not engine.is_aurora:
            self.parameter_group = aws.rds.ParameterGroup(
                f"{name}-params", family=plan.family, description=description,
                parameters=[aws.rds.ParameterGroupParameterArgs(name=n, value=v, apply_method=m)
                            for n, v, m in tls_params + max_conn_params],
                tags=tags, opts=child)
            monitoring_role = self._monitoring_role(name, tags)
            instance = aws.rds.Instance(
                f"{name}-instance",
                identifier=plan.identifier,
                engine=engine.value,
                engine_version=plan.version,
                auto_minor_version_upgrade=True,
                instance_class=normalise_instance_class(args.instance_class),
                db_name=self.database_name,
                username=self.master_username,
                manage_master_user_password=True,
                iam_database_authentication_enabled=True,
                port=self.port,
                db_subnet_group_name=subnet_group.name,
                vpc_security_group_ids=[self.security_group.id],
                parameter_group_name=self.parameter_group.name,
                publicly_accessible=False,
                multi_az=args.multi_az,
                storage_type="gp3",
                allocated_storage=args.allocated_storage_gib,
                max_allocated_storage=args.max_allocated_storage_gib or 0,
                storage_encrypted=True,
                kms_key_id=args.kms_key_id,
                backup_retention_period=plan.backup_retention_days,
                copy_tags_to_snapshot=True,
                delete_automated_backups=False,
                deletion_protection=args.deletion_protection,
                skip_final_snapshot=False,
                final_snapshot_identifier=plan.final_snapshot,
                enabled_cloudwatch_logs_exports=list(plan.log_exports),
                performance_insights_enabled=plan.performance_insights,
                performance_insights_retention_period=7 if plan.performance_insights else None,
                monitoring_interval=ENHANCED_MONITORING_INTERVAL_S,
                monitoring_role_arn=monitoring_role.arn,
                tags=tags,
                opts=pulumi.ResourceOptions.merge(after_logs, _ignore_minor_upgrades(plan.version_drifts)))
            self.instance = instance
            self.instance_identifier = instance.identifier
            self.resource_id = instance.resource_id
            self.endpoint_address = instance.address
            self.secret_arn = instance.master_user_secrets.apply(_first_secret_arn)
            return

        # Aurora: TLS in the cluster parameter group; max_connections is an instance-level parameter.
        self.cluster_parameter_group = aws.rds.ClusterParameterGroup(
            f"{name}-cluster-params", family=plan.family, description=tls_description,
            parameters=[aws.rds.ClusterParameterGroupParameterArgs(name=n, value=v, apply_method=m)
                        for n, v, m in tls_params],
            tags=tags, opts=child)
        if max_conn_params:
            self.parameter_group = aws.rds.ParameterGroup(
                f"{name}-params", family=plan.family, description=description,
                parameters=[aws.rds.ParameterGroupParameterArgs(name=n, value=v, apply_method=m)
                            for n, v, m in max_conn_params],
                tags=tags, opts=child)
        scaling = None
        if plan.serverless and args.max_acu is not None:
            scaling = aws.rds.ClusterServerlessv2ScalingConfigurationArgs(min_capacity=args.min_acu,
                                                                          max_capacity=args.max_acu)
        cluster = aws.rds.Cluster(
            f"{name}-cluster",
            cluster_identifier=plan.identifier,
            engine=engine.value,
            engine_mode="provisioned",
            engine_version=plan.version,
            database_name=self.database_name,
            master_username=self.master_username,
            manage_master_user_password=True,
            iam_database_authentication_enabled=True,
            port=self.port,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            db_cluster_parameter_group_name=self.cluster_parameter_group.name,
            storage_encrypted=True,
            kms_key_id=args.kms_key_id,
            backup_retention_period=plan.backup_retention_days,
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=False,
            final_snapshot_identifier=plan.final_snapshot,
            enabled_cloudwatch_logs_exports=list(plan.log_exports),
            serverlessv2_scaling_configuration=scaling,
            tags=tags,
            opts=pulumi.ResourceOptions.merge(after_logs, _ignore_minor_upgrades(plan.version_drifts)))
        parameter_group = self.parameter_group
        monitoring_role = self._monitoring_role(name, tags)

        def member(role: str, promotion_tier: int) -> aws.rds.ClusterInstance:
            return aws.rds.ClusterInstance(
                f"{name}-{role}",
                identifier=f"{plan.identifier[:62 - len(role)].rstrip('-')}-{role}",
                cluster_identifier=cluster.id,
                engine=aws.rds.EngineType(engine.value),
                engine_version=cluster.engine_version,
                auto_minor_version_upgrade=True,
                instance_class=normalise_instance_class(args.instance_class),
                db_subnet_group_name=subnet_group.name,
                db_parameter_group_name=parameter_group.name if parameter_group else None,
                publicly_accessible=False,
                copy_tags_to_snapshot=True,
                promotion_tier=promotion_tier,
                performance_insights_enabled=plan.performance_insights,
                performance_insights_retention_period=7 if plan.performance_insights else None,
                monitoring_interval=ENHANCED_MONITORING_INTERVAL_S,
                monitoring_role_arn=monitoring_role.arn,
                tags=tags,
                opts=child)

        self.cluster = cluster
        self.instance = member("writer", 0)
        if args.multi_az:
            self.readers.append(member("reader", 1))
        self.cluster_identifier = cluster.cluster_identifier
        self.instance_identifier = self.instance.identifier
        self.resource_id = cluster.cluster_resource_id
        self.endpoint_address = cluster.endpoint
        self.secret_arn = cluster.master_user_secrets.apply(_first_secret_arn)

    # -- 4. what consumers use -----------------------------------------------------------------

    def _create_app_role(self, name: str, args: DatabaseArgs) -> None:
        """The application role's secret (generated by Secrets Manager, never in the program) and
        its bootstrap: a function in the VPC invoked on every deployment whose input changes."""
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags) or None
        app_secret = aws.secretsmanager.Secret(
            f"{name}-app-user",
            description=f"Password of {self.app_username}, the application role of {name}",
            tags=tags, opts=child)
        app_user = self.app_username
        # No value here: the bootstrap generates the password into the secret on first deploy, so
        # no generated secret is part of the program's graph or state.
        self.app_secret_arn = app_secret.arn

        network = args.network
        sg = aws.ec2.SecurityGroup(
            f"{name}-role-bootstrap-sg", vpc_id=network.vpc_id,
            description="Application role bootstrap: out to the database and to Secrets Manager (HTTPS)",
            revoke_rules_on_delete=True, tags={**(tags or {}), "Name": f"{name}-role-bootstrap-sg"},
            opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-role-bootstrap-to-db", security_group_id=sg.id,
            referenced_security_group_id=self.security_group_id, ip_protocol="tcp", from_port=self.port,
            to_port=self.port, description="application role bootstrap to the database", opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-role-bootstrap-to-secretsmanager", security_group_id=sg.id, cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp", from_port=443, to_port=443, description="Secrets Manager API", opts=child)
        self.allow_from("role-bootstrap", sg.id)
        role = aws.iam.Role(
            f"{name}-role-bootstrap-role",
            assume_role_policy=LAMBDA_TRUST_POLICY,
            description=f"Application role bootstrap of {name}: the two secrets, VPC interfaces, logs",
            tags=tags, opts=child)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-role-bootstrap-logs", retention_in_days=args.log_retention_days, tags=tags, opts=child)
        policy = aws.iam.RolePolicy(
            f"{name}-role-bootstrap-policy", role=role.id,
            policy=pulumi.Output.all(self.secret_arn, app_secret.arn, log_group.arn).apply(
                lambda v: json.dumps({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [v[0], v[1]]},
                    {"Effect": "Allow", "Action": "secretsmanager:PutSecretValue", "Resource": v[1]},
                    *lambda_vpc_statements(v[2])]})),
            opts=child)
        bundle = packaging.lambda_bundle("role_bootstrap", engine=self.engine.value)
        self.role_bootstrap = aws.lambda_.Function(
            f"{name}-role-bootstrap",
            code=pulumi.FileArchive(str(bundle)),
            handler=packaging.ROLE_BOOTSTRAP_HANDLER,
            runtime=packaging.HELPER_RUNTIME,
            architectures=["arm64"],
            memory_size=256,
            timeout=120,
            # One connection at a time, taken from the ledger's reserve (kept for admin and migrations).
            reserved_concurrent_executions=1,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={settings.URL_PARAMS: role_bootstrap.URL_PARAMS}),
            role=role.arn,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=log_group.name),
            # Secrets Manager is outside the VPC: subnets with egress (or an interface endpoint).
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(network.private_subnet_ids or network.isolated_subnet_ids),
                security_group_ids=[sg.id]),
            description=f"deploy-paradigms: creates the application role {app_user} (least privilege) as "
                        f"the master user",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, log_group]))
        properties = {
            "Engine": self.engine.value, "Host": self.endpoint_address, "Port": str(self.port),
            "Database": self.database_name, "AppUser": app_user, "MasterSecretArn": self.secret_arn,
            "AppSecretArn": app_secret.arn, "Iam": "false"}
        self.app_role = aws.lambda_.Invocation(
            f"{name}-app-role", function_name=self.role_bootstrap.name,
            input=pulumi.Output.json_dumps(properties),
            # New bootstrap code re-runs it on the next deployment.
            triggers={"bundle": packaging.directory_hash(bundle)},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.instance] if self.instance else None))

    def _monitoring_role(self, name: str, tags: Mapping[str, str] | None) -> aws.iam.Role:
        """The role RDS assumes to publish Enhanced Monitoring's OS metrics (the AWS managed policy
        RDS documents for it; it writes only the RDSOSMetrics log group)."""
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        return aws.iam.Role(
            f"{name}-monitoring-role",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Action": "sts:AssumeRole", "Effect": "Allow",
                "Principal": {"Service": "monitoring.rds.amazonaws.com"}}]}),
            managed_policy_arns=[partition.apply(
                lambda p: f"arn:{p}:iam::aws:policy/{ENHANCED_MONITORING_POLICY}")],
            description=f"Enhanced Monitoring of {name}: publish OS metrics", tags=tags,
            opts=pulumi.ResourceOptions(parent=self))

    @property
    def engine_family(self) -> str:
        """``POSTGRESQL`` or ``MYSQL``: the RDS Proxy engine family."""
        return "POSTGRESQL" if self.engine.is_postgres else "MYSQL"

    def allocate(self, consumer: str, connections: int, *, paradigm: str, detail: str = "",
                 default_share: bool = False, deploy_strategy: str = "",
                 compute_model: str = "") -> Allocation:
        """Reserve ``connections`` for ``consumer``; raises BudgetExceededError naming every share."""
        return self.ledger.allocate(consumer, connections, paradigm=paradigm, detail=detail,
                                    default_share=default_share, deploy_strategy=deploy_strategy,
                                    compute_model=compute_model)

    def allow_from(self, consumer: str, security_group_id: pulumi.Input[str], *,
                   opts: pulumi.ResourceOptions | None = None) -> aws.vpc.SecurityGroupIngressRule:
        """Let ``consumer``'s security group reach the database, on the database port only."""
        return aws.vpc.SecurityGroupIngressRule(
            f"{self._component_name}-from-{consumer}", security_group_id=self.security_group_id,
            referenced_security_group_id=security_group_id, ip_protocol="tcp",
            from_port=self.port, to_port=self.port,
            description=f"{consumer} to the {self.engine.value} database",
            opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=self), opts))

    def summary(self) -> str:
        """Markdown: who got how many connections (see ConnectionLedger.summary)."""
        return self.ledger.summary()

    @classmethod
    def from_existing(
        cls,
        name: str,
        *,
        network: NetworkLike,
        engine: str | Engine,
        endpoint_address: pulumi.Input[str],
        secret_arn: pulumi.Input[str] | None = None,
        security_group_id: pulumi.Input[str] | None = None,
        instance_class: str | None = None,
        max_connections: int | None = None,
        max_acu: float | None = None,
        port: int | None = None,
        instance_identifier: pulumi.Input[str] | None = None,
        cluster_identifier: pulumi.Input[str] | None = None,
        resource_id: pulumi.Input[str] | None = None,
        database_name: str = "app",
        master_username: str | None = None,
        iam_authentication: bool = False,
        reserve: int | None = None,
        share: int | None = None,
        consumers: int | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> Database:
        """Attach paradigm components to a database another app owns ("bring your own").

        ``share`` is required: the connections the owning app hands this one (it declares them
        as ``external_consumers``), so both ledgers agree. Within one program, pass the same
        database component to every consumer instead.

        Creates no AWS resource of its own; the ledger works as for a new database.
        ``instance_class`` (or ``max_connections``, the real value of the parameter group) sets
        the budget. ``secret_arn`` is required: consumers read the credentials from it.
        ``instance_identifier`` / ``cluster_identifier`` let an RDS Proxy target the database;
        ``resource_id`` (``db-...``) and ``iam_authentication=True`` allow IAM database auth.
        Each keyword is a field of :class:`ExistingDatabaseArgs` (documented there); ``opts`` goes
        to the component.
        """
        return cls(name, ExistingDatabaseArgs(
            network=network, engine=engine, endpoint_address=endpoint_address,
            secret_arn=secret_arn or "", security_group_id=security_group_id or "",
            instance_class=instance_class, max_connections=max_connections, max_acu=max_acu, port=port,
            instance_identifier=instance_identifier, cluster_identifier=cluster_identifier,
            resource_id=resource_id, database_name=database_name, master_username=master_username,
            iam_authentication=iam_authentication, reserve=reserve, share=share, consumers=consumers), opts)


def _ignore_minor_upgrades(drifts: bool) -> pulumi.ResourceOptions:
    # Deliberate upgrades happen in the console or the AWS CLI, then `pulumi refresh` (see
    # DatabaseArgs.engine_version).
    return pulumi.ResourceOptions(ignore_changes=["engineVersion"] if drifts else None)


def _first_secret_arn(secrets: Sequence[Any] | None) -> str:
    """The ARN of the secret RDS created for the master password (``master_user_secrets[0]``)."""
    if not secrets:
        raise BudgetError("RDS reported no master user secret; manage_master_user_password must stay on")
    return str(secrets[0].secret_arn)

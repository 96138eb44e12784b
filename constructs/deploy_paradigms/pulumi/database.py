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
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from .. import packaging
from ..budget import (
    Allocation,
    BudgetError,
    ConnectionLedger,
    ConnectionLimit,
    Engine,
    InputError,
    describe_connection_limit,
    parse_engine,
)
from ..budget.deployment import ACCOUNT_CONCURRENCY_KEY, Deployment, parse_quota
from ..plans.database import (
    DEFAULT_DATABASE_NAME,
    DEFAULT_ENGINE,
    DEFAULT_INSTANCE_CLASS,
    DEFAULT_MASTER_USERNAME,
    DEFAULT_MAX_STORAGE_GIB,
    DEFAULT_MIN_ACU,
    ENGINE_VERSIONS,
    ENHANCED_MONITORING_POLICY,
    MIN_BACKUP_RETENTION_DAYS,
    DatabasePlan,
    check_database_identifier,
    check_external_consumers,
    check_import_share,
    check_port,
    check_serverless_inputs,
    plan_database,
)
from ..plans.helpers import plan_helper_function
from ..runtime import role_bootstrap, settings
from .helper_function import create_helper_function
from .network import NetworkLike
from .shares import schedule_settlement


@dataclass(frozen=True)
class EngineDefaults:
    """What the component picks per engine when the user does not say."""

    version: str
    family: str
    log_exports: tuple[str, ...]


# Versions: the one table both renderers read (plans.database.ENGINE_VERSIONS). RDS engines pin
# the major line: pulumi-aws accepts a version prefix when auto minor version upgrade is on
# (rds.Instance `engine_version`), so an automatic minor upgrade is not shown as drift. Aurora
# needs a full version.
ENGINE_DEFAULTS: Mapping[Engine, EngineDefaults] = {
    engine: EngineDefaults(version.pin, version.family, version.log_exports)
    for engine, version in ENGINE_VERSIONS.items()}
MINIMUM_BACKUP_RETENTION_DAYS = MIN_BACKUP_RETENTION_DAYS  # the old name, kept for imports



_DEPLOYMENT: contextvars.ContextVar[tuple[int, Deployment] | None] = contextvars.ContextVar(
    "deploy_paradigms_deployment", default=None)


def deployment() -> Deployment:
    """The :class:`~deploy_paradigms.budget.deployment.Deployment` of the running Pulumi program:
    every database ledger and every account's reserved concurrency. One per program run (keyed by
    the engine connection, so programs run one after another in a process do not share it)."""
    monitor = id(pulumi.runtime.settings.get_monitor())
    current = _DEPLOYMENT.get()
    if current is None or current[0] != monitor:
        current = (monitor, Deployment(account_concurrency_limit=config_quota()))
        # Default shares settle after the program body, when every consumer is declared.
        current[1].schedule = schedule_settlement(current[1])
        _DEPLOYMENT.set(current)
    return current[1]


def config_quota(raw: str | None = None) -> int | None:
    """The ``deploy-paradigms:accountConcurrencyLimit`` config (``raw``: its value as given
    elsewhere, e.g. to an offline guard run; omitted, the running program's config)."""
    if raw is None:
        project_key, _, key = ACCOUNT_CONCURRENCY_KEY.partition(":")
        raw = pulumi.Config(project_key).get(key)
    return parse_quota(raw, source="config",
                       example=f"`pulumi config set {ACCOUNT_CONCURRENCY_KEY} 1000`")


def account_key() -> tuple[str, str]:
    """(account, Region) the program deploys to; the account is not known before deployment
    and one program deploys to one, so it is one key."""
    region = pulumi.Config("aws").get("region") or "(deploying Region)"
    return "(deploying account)", region


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
            raises :class:`InputError`. True: you accept the shorter point-in-time recovery window
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
        deletion_protection: Omitted: on. Off needs ``deletion_protection_reason``. A final
            snapshot is always taken on delete.
        deletion_protection_reason: Why one ``pulumi destroy`` (or a replacement) may delete the
            database, after its final snapshot; required with ``deletion_protection=False``, refused
            otherwise. Omitted: none.
        acknowledge_no_deletion_protection: Deprecated: pass ``deletion_protection_reason``. Omitted:
            False; True still stands in for a reason, with a DeprecationWarning.
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
    engine: str | Engine | None = None
    instance_class: str | None = None
    max_connections: int | None = None
    max_acu: float | None = None
    min_acu: float | None = None
    reserve: int | None = None
    database_name: str | None = None
    master_username: str | None = None
    port: int | None = None
    multi_az: bool | None = None
    allocated_storage_gib: int | None = None
    max_allocated_storage_gib: int | None = DEFAULT_MAX_STORAGE_GIB
    backup_retention_days: int | None = None
    acknowledge_short_backup_retention: bool = False
    engine_version: str | None = None
    parameter_group_family: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    deletion_protection: bool | None = None
    deletion_protection_reason: str | None = None
    acknowledge_no_deletion_protection: bool = False
    identifier: str | None = None
    final_snapshot_identifier: str | None = None
    log_retention_days: int | None = None
    performance_insights: bool | None = None
    kms_key_id: pulumi.Input[str] | None = None
    subnet_tier: Literal["isolated", "private"] | None = None
    app_username: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    consumers: int | None = None
    external_consumers: Mapping[str, int] | None = None
    logical_replication: bool | None = None


@dataclass(frozen=True, kw_only=True)
class ExistingDatabaseArgs:
    """A database created elsewhere; built by :meth:`Database.from_existing` (see its docs).

    Attributes:
        network: The network the database is in; consumers are placed in it. Required (omitted
            raises :class:`InputError`).
        engine: ``postgres``, ``mysql``, ``mariadb``, ``aurora-postgresql`` or ``aurora-mysql``.
            Required (omitted raises :class:`InputError`).
        endpoint_address: Instance address, or the cluster (writer) endpoint on Aurora. Required
            (omitted raises :class:`InputError`).
        secret_arn: ARN of the Secrets Manager secret with ``username`` and ``password``. Required
            (omitted or empty raises :class:`InputError`): functions and tasks read it.
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
class _Placement:
    """The Pulumi-only decisions: physical names (CloudFormation names them in CDK) and subnets."""

    identifier: str
    final_snapshot: str
    subnet_ids: tuple[pulumi.Input[str], ...]


def _check_physical(what: str, value: str, max_length: int) -> None:
    if physical_name(value, max_length=max_length) != value:
        raise InputError(f"{what}={value!r} must be lowercase letters, digits and single hyphens, start "
                         f"with a letter and hold at most {max_length} characters")


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
        if not isinstance(args, DatabaseArgs | ExistingDatabaseArgs):
            raise InputError(f"Database({name!r}, args={type(args).__name__}(...)): pass DatabaseArgs (a new "
                             f"database) or ExistingDatabaseArgs (Database.from_existing)")
        # Every check before any resource: the budget, then the plan (or the import's inputs).
        limit, share, external = self._budget(name, args)
        plan, placement = self._plan(name, args) if isinstance(args, DatabaseArgs) else (None, None)
        if isinstance(args, ExistingDatabaseArgs):
            self._check_existing(name, args)
        self._book_ledger(name, limit, args.reserve, share, args.consumers, external)
        self._set_attributes(name, args, plan)
        super().__init__(self.TYPE, name, {"connectionBudget": self._budget_output(),
                                           "existing": plan is None}, opts)
        if plan is None or placement is None:
            self._adopt(args)  # type: ignore[arg-type]  # ExistingDatabaseArgs when there is no plan
        else:
            self.plan: DatabasePlan = plan
            tags = dict(args.tags) or None  # type: ignore[union-attr]
            self._create_network_access(name, placement, tags)
            self._create_parameters(name, plan, tags)
            after_logs = self._create_log_groups(name, plan, placement, tags)
            create = self._create_cluster if plan.engine.is_aurora else self._create_instance
            create(name, plan, placement, after_logs, args.kms_key_id, tags)  # type: ignore[union-attr]
            self._bootstrap_app_role(name, plan, tags)
        self.register_outputs({"endpointAddress": self.endpoint_address, "port": self.port,
                               "secretArn": self.secret_arn, "securityGroupId": self.security_group_id})

    # -- 1. the budget and the plan -------------------------------------------------------------

    @staticmethod
    def _budget(name: str, args: DatabaseArgs | ExistingDatabaseArgs) -> tuple[ConnectionLimit, int | None,
                                                                                  dict[str, int]]:
        """The connection limit (and an import's share, a new database's external shares)."""
        engine = parse_engine(args.engine or DEFAULT_ENGINE)
        if isinstance(args, ExistingDatabaseArgs):
            share = check_import_share(args.share, engine=args.engine, instance_class=args.instance_class)
            return describe_connection_limit(engine, args.instance_class,
            max_connections=args.max_connections,
                                             max_acu=args.max_acu), share, {}
        instance_class = DEFAULT_INSTANCE_CLASS if args.instance_class is None else args.instance_class
        if not isinstance(instance_class, str):
            raise BudgetError(f"instance_class={instance_class!r} is not a literal string; the connection "
                              f"budget is decided before deployment and needs the class, e.g. 'db.t3.micro'")
        check_serverless_inputs(engine, instance_class, args.max_acu)
        limit = describe_connection_limit(
            engine, instance_class, max_connections=args.max_connections, max_acu=args.max_acu,
            min_acu=DEFAULT_MIN_ACU if args.min_acu is None else args.min_acu)
        return limit, None, check_external_consumers(args.external_consumers)

    @staticmethod
    def _plan(name: str, args: DatabaseArgs) -> tuple[DatabasePlan, _Placement]:
        """The shared plan (plans.database) and the Pulumi-only names and subnets."""
        plan = plan_database(
            engine=args.engine, instance_class=args.instance_class, max_connections=args.max_connections,
            max_acu=args.max_acu, min_acu=args.min_acu, database_name=args.database_name,
            master_username=args.master_username, app_username=args.app_username, port=args.port,
            multi_az=args.multi_az, allocated_storage_gib=args.allocated_storage_gib,
            max_allocated_storage_gib=args.max_allocated_storage_gib,
            storage_autoscaling=args.max_allocated_storage_gib is not None,
            backup_retention_days=args.backup_retention_days,
            acknowledge_short_backup_retention=args.acknowledge_short_backup_retention,
            engine_version=args.engine_version, parameter_group_family=args.parameter_group_family,
            parameters=args.parameters, deletion_protection=args.deletion_protection,
            deletion_protection_reason=_deletion_reason(args), performance_insights=args.performance_insights,
            logical_replication=args.logical_replication, subnet_tier=args.subnet_tier,
            log_retention_days=args.log_retention_days)
        identifier = args.identifier or physical_name(f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}")
        _check_physical("identifier", identifier, 63)
        final_snapshot = args.final_snapshot_identifier or physical_name(identifier, "final-snapshot",
                                                                         max_length=255)
        _check_physical("final_snapshot_identifier", final_snapshot, 255)
        subnets = list(args.network.isolated_subnet_ids) if plan.subnet_tier == "isolated" else []
        subnets = subnets or list(args.network.private_subnet_ids)
        if len(subnets) < 2:
            raise InputError(f"network has {len(subnets)} {plan.subnet_tier}/private subnet(s); an RDS "
                             f"subnet group needs subnets in at least two Availability Zones")
        return plan, _Placement(identifier, final_snapshot, tuple(subnets))

    def _book_ledger(self, name: str, limit: ConnectionLimit, reserve: int | None, share: int | None,
                     consumers: int | None, external: dict[str, int]) -> None:
        """The ledger every consumer books on, registered with the program's deployment."""
        self.engine: Engine = limit.engine
        self.limit: ConnectionLimit = limit
        self.ledger: ConnectionLedger = ConnectionLedger(
            limit, reserve=reserve, share=share, consumers=consumers,
            name=f"{name} ({limit.engine.value} {limit.instance_class})")
        self.ledger.book_external(external)
        deployment().register(name, self.ledger)

    def _budget_output(self) -> dict[str, object]:
        limit, ledger = self.limit, self.ledger
        return {"engine": limit.engine.value, "instanceClass": limit.instance_class,
                "maxConnections": limit.max_connections, "reservedByEngine": limit.reserved,
                "usable": limit.usable, "reserve": ledger.reserve, "available": ledger.available,
                "estimate": limit.estimate, "source": limit.source}

    def _set_attributes(self, name: str, args: DatabaseArgs | ExistingDatabaseArgs,
                        plan: DatabasePlan | None) -> None:
        self._component_name = name
        self.network: NetworkLike = args.network
        self.vpc_id: pulumi.Input[str] = args.network.vpc_id
        self.port: int = plan.port if plan else check_port(self.engine, args.port)
        self.database_name: str = plan.database_name if plan else check_database_identifier(
            "database_name", args.database_name or DEFAULT_DATABASE_NAME, 63)
        self.master_username: str = plan.master_username if plan else check_database_identifier(
            "master_username", args.master_username or DEFAULT_MASTER_USERNAME, 16)
        #: The application role (its own user and secret); an adopted database's given user.
        self.app_username: str = plan.app_username if plan else self.master_username
        self.logical_replication: bool = bool(plan and plan.logical_replication)
        self.iam_authentication: bool = plan.iam_authentication if plan else bool(
            getattr(args, "iam_authentication", False))
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
        self.role_bootstrap: aws.lambda_.Function | None = None
        #: (proxy name, database connections it may open) of the RDS Proxies consumers created.
        self.proxies: list[tuple[pulumi.Input[str], int]] = []

    @staticmethod
    def _check_existing(name: str, args: ExistingDatabaseArgs) -> None:
        """What consumers of an imported database need: its secret, endpoint and security group."""
        where = f"Database.from_existing({name!r})"
        for field_name, fix in (
                ("secret_arn", "pass the ARN of the Secrets Manager secret that holds the database "
                               "credentials (for an RDS-managed master password: the instance's "
                               "MasterUserSecret.SecretArn); functions and tasks read the password from it "
                               "at run time"),
                ("endpoint_address", "pass the instance address or the cluster (writer) endpoint"),
                ("security_group_id", "pass the database's security group so consumers can be allowed in "
                                      "on its port")):
            if not getattr(args, field_name):
                raise InputError(f"{where}: {field_name} is missing; {fix}")

    def _adopt(self, args: ExistingDatabaseArgs) -> None:
        """References to a database another app owns; no resources."""
        self.security_group_id: pulumi.Input[str] = args.security_group_id
        self.endpoint_address: pulumi.Input[str] = args.endpoint_address
        self.secret_arn: pulumi.Input[str] = args.secret_arn
        self.app_secret_arn: pulumi.Input[str] = args.secret_arn
        self.instance_identifier = args.instance_identifier
        self.cluster_identifier = args.cluster_identifier
        self.resource_id = args.resource_id

    # -- 2. children ----------------------------------------------------------------------------

    def _create_network_access(self, name: str, placement: _Placement, tags: dict[str, str] | None) -> None:
        """Security group (no ingress: consumers call allow_from() for their own group) and subnets."""
        child = pulumi.ResourceOptions(parent=self)
        engine = self.engine
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=self.network.vpc_id,
            description=f"deploy-paradigms {engine.value} database {name}: no ingress until a consumer is "
                        f"allowed on port {self.port}",
            revoke_rules_on_delete=True, tags={**(tags or {}), "Name": f"{name}-sg"}, opts=child)
        self.security_group_id = self.security_group.id
        self.subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets", subnet_ids=list(placement.subnet_ids),
            description=f"deploy-paradigms {engine.value} database {name}", tags=tags, opts=child)

    def _create_parameters(self, name: str, plan: DatabasePlan, tags: dict[str, str] | None) -> None:
        """Parameter groups, as the plan splits them (on Aurora: TLS and the extras in the cluster
        group, ``max_connections`` in an instance group). TLS applies immediately; the rest waits
        for a reboot (a new instance starts with them anyway)."""
        child = pulumi.ResourceOptions(parent=self)

        def method(parameter: str) -> str:
            return "immediate" if parameter == plan.tls[0] else "pending-reboot"

        tls_description = f"deploy-paradigms {name}: TLS required"
        if plan.cluster_parameters:
            self.cluster_parameter_group = aws.rds.ClusterParameterGroup(
                f"{name}-cluster-params", family=plan.family, description=tls_description,
                parameters=[aws.rds.ClusterParameterGroupParameterArgs(
                    name=n, value=v, apply_method=method(n)) for n, v in plan.cluster_parameters.items()],
                tags=tags, opts=child)
        if plan.instance_parameters:
            self.parameter_group = aws.rds.ParameterGroup(
                f"{name}-params", family=plan.family, description=tls_description + (
                    f", max_connections {plan.max_connections}" if plan.max_connections is not None else ""),
                parameters=[aws.rds.ParameterGroupParameterArgs(name=n, value=v, apply_method=method(n))
                            for n, v in plan.instance_parameters.items()], tags=tags, opts=child)

    def _create_log_groups(self, name: str, plan: DatabasePlan, placement: _Placement,
                           tags: dict[str, str] | None) -> pulumi.ResourceOptions:
        """The log groups RDS exports to, created first so they carry a retention period; the
        options that order the database after them."""
        kind = "cluster" if plan.engine.is_aurora else "instance"
        self.log_groups = [
            aws.cloudwatch.LogGroup(f"{name}-log-{log}", name=f"/aws/rds/{kind}/{placement.identifier}/{log}",
                                    retention_in_days=plan.log_retention_days, tags=tags,
                                    opts=pulumi.ResourceOptions(parent=self))
            for log in plan.log_exports]
        return pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=self,
        depends_on=list(self.log_groups)),
                                            _ignore_minor_upgrades(plan.version_drifts))

    def _create_instance(self, name: str, plan: DatabasePlan, placement: _Placement,
                         after_logs: pulumi.ResourceOptions, kms_key_id: pulumi.Input[str] | None,
                         tags: dict[str, str] | None) -> None:
        assert self.subnet_group and self.parameter_group and self.security_group
        monitoring_role = self._monitoring_role(name, tags)
        instance = aws.rds.Instance(
            f"{name}-instance", identifier=placement.identifier, engine=plan.engine.value,
            engine_version=plan.version_pin, auto_minor_version_upgrade=plan.auto_minor_version_upgrade,
            instance_class=plan.instance_class, db_name=plan.database_name, username=plan.master_username,
            manage_master_user_password=True, iam_database_authentication_enabled=plan.iam_authentication,
            port=plan.port, db_subnet_group_name=self.subnet_group.name,
            vpc_security_group_ids=[self.security_group.id], parameter_group_name=self.parameter_group.name,
            publicly_accessible=plan.publicly_accessible, multi_az=plan.multi_az,
            storage_type=plan.storage_type,
            allocated_storage=plan.allocated_storage_gib,
            max_allocated_storage=plan.max_allocated_storage_gib or 0,
            **_protection(plan, placement, kms_key_id),
            performance_insights_enabled=plan.performance_insights,
            performance_insights_retention_period=plan.performance_insights_retention_days,
            monitoring_interval=plan.monitoring_interval_s, monitoring_role_arn=monitoring_role.arn,
            tags=tags, opts=after_logs)
        self.instance = instance
        self.instance_identifier = instance.identifier
        self.resource_id = instance.resource_id
        self.endpoint_address = instance.address
        self.secret_arn = instance.master_user_secrets.apply(_first_secret_arn)

    def _create_cluster(self, name: str, plan: DatabasePlan, placement: _Placement,
                        after_logs: pulumi.ResourceOptions, kms_key_id: pulumi.Input[str] | None,
                        tags: dict[str, str] | None) -> None:
        assert self.subnet_group and self.cluster_parameter_group and self.security_group
        scaling = None if not plan.serverless or plan.max_acu is None or plan.min_acu is None else \
            aws.rds.ClusterServerlessv2ScalingConfigurationArgs(min_capacity=plan.min_acu,
            max_capacity=plan.max_acu)
        cluster = aws.rds.Cluster(
            f"{name}-cluster", cluster_identifier=placement.identifier, engine=plan.engine.value,
            engine_mode="provisioned", engine_version=plan.version_pin, database_name=plan.database_name,
            master_username=plan.master_username, manage_master_user_password=True,
            iam_database_authentication_enabled=plan.iam_authentication, port=plan.port,
            db_subnet_group_name=self.subnet_group.name, vpc_security_group_ids=[self.security_group.id],
            db_cluster_parameter_group_name=self.cluster_parameter_group.name,
            **_protection(plan, placement, kms_key_id),
            serverlessv2_scaling_configuration=scaling,
            tags=tags, opts=after_logs)
        self.cluster = cluster
        monitoring_role = self._monitoring_role(name, tags)
        self.instance = self._cluster_member(name, plan, placement, "writer", 0, monitoring_role, tags)
        if plan.multi_az:
            self.readers.append(self._cluster_member(name, plan, placement, "reader", 1, monitoring_role,
            tags))
        self.cluster_identifier = cluster.cluster_identifier
        self.instance_identifier = self.instance.identifier
        self.resource_id = cluster.cluster_resource_id
        self.endpoint_address = cluster.endpoint
        self.secret_arn = cluster.master_user_secrets.apply(_first_secret_arn)

    def _cluster_member(self, name: str, plan: DatabasePlan, placement: _Placement, role: str,
                        promotion_tier: int, monitoring_role: aws.iam.Role,
                        tags: dict[str, str] | None) -> aws.rds.ClusterInstance:
        assert self.cluster is not None and self.subnet_group is not None
        return aws.rds.ClusterInstance(
            f"{name}-{role}", identifier=f"{placement.identifier[:62 - len(role)].rstrip('-')}-{role}",
            cluster_identifier=self.cluster.id, engine=aws.rds.EngineType(plan.engine.value),
            engine_version=self.cluster.engine_version,
            auto_minor_version_upgrade=plan.auto_minor_version_upgrade,
            instance_class=plan.instance_class, db_subnet_group_name=self.subnet_group.name,
            db_parameter_group_name=self.parameter_group.name if self.parameter_group else None,
            publicly_accessible=plan.publicly_accessible, copy_tags_to_snapshot=plan.copy_tags_to_snapshot,
            promotion_tier=promotion_tier, performance_insights_enabled=plan.performance_insights,
            performance_insights_retention_period=plan.performance_insights_retention_days,
            monitoring_interval=plan.monitoring_interval_s, monitoring_role_arn=monitoring_role.arn,
            tags=tags, opts=pulumi.ResourceOptions(parent=self))

    # -- 3. the application role ----------------------------------------------------------------

    def _bootstrap_app_role(self, name: str, plan: DatabasePlan, tags: dict[str, str] | None) -> None:
        """The application role's secret (generated by the bootstrap, never in the program) and its
        bootstrap: a helper function in the VPC invoked on every deployment whose input changes."""
        # Its reserved concurrency of 1 is the account's too; provisional: it does not fix the quota.
        deployment().account(*account_key(), requested_by=name, provisional=True).reserve(
            f"{name}-role-bootstrap", 1)
        app_user = plan.app_username
        app_secret = aws.secretsmanager.Secret(
            f"{name}-app-user", description=f"Password of {app_user}, the application role of {name}",
            tags=tags, opts=pulumi.ResourceOptions(parent=self))
        self.app_secret_arn = app_secret.arn
        bundle = packaging.lambda_bundle("role_bootstrap", engine=self.engine.value)
        helper = create_helper_function(
            self, plan_helper_function("role_bootstrap", name=name, details={"app_user": app_user},
                                       log_retention_days=plan.log_retention_days),
            database=self, code=pulumi.FileArchive(str(bundle)),
            environment={settings.URL_PARAMS: role_bootstrap.URL_PARAMS},
            arns={"database_secret": self.secret_arn, "app_secret": app_secret.arn}, tags=tags)
        self.role_bootstrap = helper.function
        properties = {
            "Engine": self.engine.value, "Host": self.endpoint_address, "Port": str(self.port),
            "Database": self.database_name, "AppUser": app_user, "MasterSecretArn": self.secret_arn,
            "AppSecretArn": app_secret.arn, "Iam": "false"}
        self.app_role = aws.lambda_.Invocation(
            f"{name}-app-role", function_name=helper.function.name,
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
        args: ExistingDatabaseArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        network: NetworkLike | None = None,
        engine: str | Engine | None = None,
        endpoint_address: pulumi.Input[str] | None = None,
        secret_arn: pulumi.Input[str] | None = None,
        security_group_id: pulumi.Input[str] | None = None,
        instance_class: str | None = None,
        max_connections: int | None = None,
        max_acu: float | None = None,
        port: int | None = None,
        instance_identifier: pulumi.Input[str] | None = None,
        cluster_identifier: pulumi.Input[str] | None = None,
        resource_id: pulumi.Input[str] | None = None,
        database_name: str | None = None,
        master_username: str | None = None,
        iam_authentication: bool | None = None,
        reserve: int | None = None,
        share: int | None = None,
        consumers: int | None = None,
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

        Two shapes, one meaning: the keywords (the CDK construct's shape), each a field of
        :class:`ExistingDatabaseArgs` (documented there), or that object as ``args`` (what
        ``Database(name, args)`` takes too); giving both raises :class:`InputError`. ``opts``
        goes to the component.
        """
        keywords = {k: v for k, v in {
            "network": network, "engine": engine, "endpoint_address": endpoint_address,
            "secret_arn": secret_arn, "security_group_id": security_group_id,
            "instance_class": instance_class, "max_connections": max_connections, "max_acu": max_acu,
            "port": port, "instance_identifier": instance_identifier,
            "cluster_identifier": cluster_identifier, "resource_id": resource_id,
            "database_name": database_name, "master_username": master_username,
            "iam_authentication": iam_authentication, "reserve": reserve, "share": share,
            "consumers": consumers}.items() if v is not None}
        return cls(name, existing_database_args(name, args, keywords), opts)


def existing_database_args(name: str, args: object, keywords: Mapping[str, Any]) -> ExistingDatabaseArgs:
    """``args`` (an :class:`ExistingDatabaseArgs`) or the keywords of ``from_existing`` as one."""
    where = f"Database.from_existing({name!r})"
    if args is not None:
        if not isinstance(args, ExistingDatabaseArgs):
            raise InputError(f"{where}: args={type(args).__name__}(...) must be an ExistingDatabaseArgs; "
                             f"for a new database use Database({name!r}, DatabaseArgs(...))")
        if keywords:
            raise InputError(f"{where}: pass either an ExistingDatabaseArgs or keywords, not both "
                             f"(also given: {', '.join(sorted(keywords))})")
        return args
    missing = [k for k in ("network", "engine", "endpoint_address") if k not in keywords]
    if missing:
        raise InputError(f"{where}: {', '.join(missing)} missing; pass the network the database is in, "
                         f"its engine and its endpoint address")
    return ExistingDatabaseArgs(**{"secret_arn": "", "security_group_id": "", **keywords})


def _protection(plan: DatabasePlan, placement: _Placement,
                kms_key_id: pulumi.Input[str] | None) -> dict[str, Any]:
    """Encryption, backups, deletion and log exports: the same inputs on an RDS instance and an
    Aurora cluster."""
    return {"storage_encrypted": plan.storage_encrypted, "kms_key_id": kms_key_id,
            "backup_retention_period": plan.backup_retention_days,
            "copy_tags_to_snapshot": plan.copy_tags_to_snapshot,
            "delete_automated_backups": plan.delete_automated_backups,
            "deletion_protection": plan.deletion_protection,
            "skip_final_snapshot": not plan.snapshot_on_delete,
            "final_snapshot_identifier": placement.final_snapshot,
            "enabled_cloudwatch_logs_exports": list(plan.log_exports)}


def _deletion_reason(args: DatabaseArgs) -> str | None:
    """``deletion_protection_reason``; the deprecated ``acknowledge_no_deletion_protection=True``
    stands in for one, with a DeprecationWarning."""
    if args.acknowledge_no_deletion_protection and args.deletion_protection_reason is None \
            and args.deletion_protection is False:
        warnings.warn("acknowledge_no_deletion_protection=True is deprecated: pass "
                      "deletion_protection_reason='<why this database may be deleted>'",
                      DeprecationWarning, stacklevel=5)
        return "acknowledge_no_deletion_protection=True"
    return args.deletion_protection_reason


def _ignore_minor_upgrades(drifts: bool) -> pulumi.ResourceOptions:
    # Deliberate upgrades happen in the console or the AWS CLI, then `pulumi refresh` (see
    # DatabaseArgs.engine_version).
    return pulumi.ResourceOptions(ignore_changes=["engineVersion"] if drifts else None)


def _first_secret_arn(secrets: Sequence[Any] | None) -> str:
    """The ARN of the secret RDS created for the master password (``master_user_secrets[0]``)."""
    if not secrets:
        raise BudgetError("RDS reported no master user secret; manage_master_user_password must stay on")
    return str(secrets[0].secret_arn)

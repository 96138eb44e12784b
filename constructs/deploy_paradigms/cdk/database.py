"""``Database``: an RDS instance or Aurora cluster that carries its connection budget.

Every paradigm construct attached to one ``Database`` allocates connections
from its :class:`~deploy_paradigms.budget.ConnectionLedger`, so two consumers
cannot together promise more connections than the instance class has: the
ledger raises at synth time, naming each consumer and its share.

Example::

    db = Database(self, "Db", vpc=vpc, instance_class="db.t3.micro")
    print(db.ledger.summary())   # after the consumers are created

Bring your own database instead::

    db = Database.from_existing(self, "Db", vpc=vpc, engine="postgres",
        instance_class="db.m5.large", instance_identifier="prod-db",
        endpoint_address="prod-db.xxxx.eu-west-1.rds.amazonaws.com", port=5432,
        instance_resource_id="db-ABCDEFG", secret=my_secret, security_group=my_sg)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct, IConstruct

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
from ..plans.checks import CLOUDWATCH_RETENTION_DAYS
from ..plans.database import (
    DEFAULT_DATABASE_NAME,
    DEFAULT_ENGINE,
    DEFAULT_INSTANCE_CLASS,
    DEFAULT_MASTER_USERNAME,
    DEFAULT_MIN_ACU,
    ENGINE_VERSIONS,
    DatabasePlan,
    check_database_identifier,
    check_external_consumers,
    check_import_share,
    check_port,
    check_serverless_inputs,
    plan_database,
    tls_parameter,
)
from ..plans.database import log_exports as plan_log_exports
from ..plans.helpers import plan_helper_function
from ..runtime import role_bootstrap, settings
from .helper_function import create_helper_function
from .security_groups import exact_egress

#: The runtime of the library's helper functions (bootstrap, migrations, budget check, change consumer).
HELPER_RUNTIME = lambda_.Runtime(packaging.HELPER_RUNTIME, lambda_.RuntimeFamily.PYTHON)
#: Default versions: the one table in :data:`deploy_paradigms.plans.database.ENGINE_VERSIONS`, as
#: aws-cdk engine-version objects; pass ``engine_version`` to choose.
_V = ENGINE_VERSIONS
DEFAULT_POSTGRES_VERSION = rds.PostgresEngineVersion.of(_V[Engine.POSTGRES].full, _V[Engine.POSTGRES].major)
DEFAULT_MYSQL_VERSION = rds.MysqlEngineVersion.of(_V[Engine.MYSQL].full, _V[Engine.MYSQL].major)
DEFAULT_MARIADB_VERSION = rds.MariaDbEngineVersion.of(_V[Engine.MARIADB].full, _V[Engine.MARIADB].major)
DEFAULT_AURORA_POSTGRES_VERSION = rds.AuroraPostgresEngineVersion.of(
    _V[Engine.AURORA_POSTGRESQL].full, _V[Engine.AURORA_POSTGRESQL].major, s3_import=True, s3_export=True)
DEFAULT_AURORA_MYSQL_VERSION = rds.AuroraMysqlEngineVersion.of(
    _V[Engine.AURORA_MYSQL].full, _V[Engine.AURORA_MYSQL].major)


def _instance_engine(engine: Engine, version: Any) -> rds.IInstanceEngine:
    if engine is Engine.POSTGRES:
        return rds.DatabaseInstanceEngine.postgres(version=version or DEFAULT_POSTGRES_VERSION)
    if engine is Engine.MYSQL:
        return rds.DatabaseInstanceEngine.mysql(version=version or DEFAULT_MYSQL_VERSION)
    return rds.DatabaseInstanceEngine.maria_db(version=version or DEFAULT_MARIADB_VERSION)


def _cluster_engine(engine: Engine, version: Any) -> rds.IClusterEngine:
    if engine is Engine.AURORA_POSTGRESQL:
        return rds.DatabaseClusterEngine.aurora_postgres(version=version or DEFAULT_AURORA_POSTGRES_VERSION)
    return rds.DatabaseClusterEngine.aurora_mysql(version=version or DEFAULT_AURORA_MYSQL_VERSION)


def _version_text(version: Any) -> str | None:
    """An ``rds.*EngineVersion``'s full version for the plan (None: the default version)."""
    if version is None:
        return None
    for attribute in ("postgres_full_version", "mysql_full_version", "maria_db_full_version",
                      "aurora_postgres_full_version", "aurora_mysql_full_version", "full_version"):
        text = getattr(version, attribute, None)
        if isinstance(text, str):
            return text
    return str(version)


def _retention_days(retention: logs.RetentionDays) -> int | None:
    """The days of a ``logs.RetentionDays`` the plan checks (None: never expires, not a plan value)."""
    days = retention.value
    return days if isinstance(days, int) and days in CLOUDWATCH_RETENTION_DAYS else None


def _managed_secret(secret: secretsmanager.ISecret | None) -> secretsmanager.ISecret:
    if secret is None:  # pragma: no cover - managed passwords always yield a secret
        raise BudgetError("the database was created without a credentials secret")
    return secret


def tls_parameters(engine: Engine) -> dict[str, str]:
    """Parameters that make the server refuse unencrypted connections."""
    name, value = tls_parameter(engine)
    return {name: value}


class _DeploymentLedger(Construct):
    """Holds the app's :class:`Deployment` (every database's ledger, every account's
    reserved concurrency) as a child of the app, so all stacks share one."""

    ID = "DeployParadigmsLedger"

    def __init__(self, scope: Construct) -> None:
        super().__init__(scope, self.ID)
        self.deployment = Deployment(account_concurrency_limit=context_quota(scope))
        # Default shares settle before synth, once the app has declared every consumer.
        cdk.Aspects.of(scope).add(_SettleShares(self.deployment), priority=0)


def context_quota(scope: IConstruct) -> int | None:
    """The ``deploy-paradigms:accountConcurrencyLimit`` context (None when unset)."""
    return parse_quota(scope.node.try_get_context(ACCOUNT_CONCURRENCY_KEY), source="context",
                       example=f"-c {ACCOUNT_CONCURRENCY_KEY}=1000")


@jsii.implements(cdk.IAspect)
class _SettleShares:
    """Settles every ledger's default shares (budget.deployment) before anything is rendered:
    runs first, on the app, so the consumers patch their resources before other aspects read them."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    def visit(self, node: IConstruct) -> None:
        if self.deployment.pending or not self.deployment.settled_by:
            self.deployment.settle("at synth")


def deployment_of(scope: Construct) -> Deployment:
    """The one :class:`~deploy_paradigms.budget.deployment.Deployment` of ``scope``'s app:
    every database ledger and every account's reserved concurrency, across its stacks."""
    root = scope.node.root
    holder = root.node.try_find_child(_DeploymentLedger.ID)
    if not isinstance(holder, _DeploymentLedger):
        holder = _DeploymentLedger(root)  # type: ignore[arg-type]  # the root is a Construct (App)
    return holder.deployment


def account_key(scope: Construct) -> tuple[str, str]:
    """(account, Region) of ``scope``'s stack; an environment-agnostic stack deploys to
    whatever account and Region the CLI uses, which is one shared key."""
    stack = cdk.Stack.of(scope)
    account = stack.account if not cdk.Token.is_unresolved(stack.account) else "(deploying account)"
    region = stack.region if not cdk.Token.is_unresolved(stack.region) else "(deploying Region)"
    return account, region


def log_exports(engine: Engine) -> list[str]:
    """The logs the database exports to CloudWatch Logs, per engine (:func:`plans.database.log_exports`)."""
    return list(plan_log_exports(engine))


class Database(Construct):
    """An RDS database with safe defaults and a connection ledger.

    Defaults (each can be changed, none silently): storage encrypted; deletion
    protection on; a final snapshot when the stack deletes it
    (``RemovalPolicy.SNAPSHOT``); backups kept 7 days; single-AZ unless
    ``multi_az=True``; minor versions upgraded automatically; not publicly
    accessible, in the VPC's isolated subnets; TLS required by the parameter
    group; IAM database authentication on; the master password generated and
    rotated by RDS in Secrets Manager (no password in the template).

    :param vpc: VPC to place the database in (isolated subnets when present, else private).
    :param engine: ``postgres`` (default), ``mysql``, ``mariadb``, ``aurora-postgresql`` or
        ``aurora-mysql``.
    :param instance_class: e.g. ``db.t3.micro`` (default) or ``m5.large``; ``db.serverless``
        with ``max_acu`` for Aurora Serverless v2.
    :param max_connections: the ``max_connections`` to set in the parameter group; omitted, the
        engine default applies and the budget uses the connection table for the class.
    :param max_acu: Aurora Serverless v2 maximum capacity (only with ``instance_class="db.serverless"``);
        omitted, the database is provisioned, not serverless.
    :param min_acu: Aurora Serverless v2 minimum capacity, 0 to ``max_acu``; default 0.5. Aurora
        PostgreSQL allows at most 2,000 connections while the minimum is 0.5 ACU or less, and the
        budget follows. Ignored without ``max_acu``.
    :param reserve: connections kept free for admin sessions and migrations; omitted, 5 % of
        the usable ones (at least 3).
    :param database_name: initial database, default ``app``.
    :param master_username: the master user, default ``app_admin`` (RDS generates and rotates its password).
    :param multi_az: a standby in a second AZ (about twice the instance cost); default off.
    :param allocated_storage_gib: initial storage, default 20 GiB (gp3), at least 20.
    :param max_allocated_storage_gib: the storage autoscaling ceiling, default 100 GiB; at least
        ``allocated_storage_gib`` (RDS only: Aurora storage grows by itself).
    :param backup_retention_days: at least 7 (default 7).
    :param engine_version: an ``rds.*EngineVersion``; omitted, the current default above.
    :param deletion_protection: omitted, on. ``False`` needs ``deletion_protection_reason``.
    :param deletion_protection_reason: why this database may be deleted by one stack delete or
        replacement (after its final snapshot); required with ``deletion_protection=False``,
        refused otherwise. Omitted: none.
    :param removal_policy: default ``SNAPSHOT`` (final snapshot on delete).
    :param vpc_subnets: where the database goes; omitted, the VPC's isolated subnets, or its
        private subnets with egress when it has no isolated ones.
    :param log_retention: retention of the CloudWatch log groups the database exports to (see
        :func:`log_exports`), set by aws-cdk's LogRetention function; default one month.
    :param port: the listener port (1150-65535); omitted, the engine's default (5432 or 3306).
    :param parameters: extra parameter-group entries (the cluster parameter group on Aurora),
        e.g. ``{"log_min_duration_statement": "500"}``; omitted, only TLS and ``max_connections``
        are set. ``max_connections`` (pass ``max_connections=``) and turning TLS off are refused.
    :param storage_encryption_key: a KMS key for storage encryption; omitted, the AWS-managed
        ``aws/rds`` key (storage is encrypted either way).
    Enhanced Monitoring is on (OS metrics every 60 s, about USD 1-3 per instance per month of
    CloudWatch Logs).

    :param app_username: the application role every consumer connects as by default; omitted,
        ``app_user``. Created on first deploy (and converged on every deploy) by the ``AppRole``
        custom resource: a function in the VPC that runs :mod:`deploy_paradigms.app_role`'s SQL as
        the master user. Its password lives in ``app_secret`` (generated, never in the template).
    :param performance_insights: omitted, on (7 days, free tier) wherever the engine and class
        support it, off on the small burstable classes; ``True`` where RDS does not offer it is an error.
    :param consumers: the least number of default-share consumers (those without
        ``connections=``) to split what the explicit shares leave among; with fewer, the rest stays
        free for consumers added later (docs/composition.md). Omitted: split equally among the
        default-share consumers the app declares, settled before synth.
    :param external_consumers: shares handed to other apps that import this database, e.g.
        ``{"billing": 40}``; booked on this ledger (each app imports it with
        ``Database.from_existing(..., share=40)``). Omitted: none.
    :param logical_replication: sets ``rds.logical_replication=1`` (``wal_level=logical``) in the
        parameter group (the cluster parameter group on Aurora PostgreSQL), which a ``ChangeStream``
        needs; PostgreSQL engines only. Omitted: off (on a running database, turning it on takes a reboot).
    """

    def __init__(
        self, scope: Construct, id: str, *, vpc: ec2.IVpc, engine: str | None = None,
        instance_class: str | None = None, max_connections: int | None = None, max_acu: float | None = None,
        min_acu: float | None = None, reserve: int | None = None, database_name: str | None = None,
        master_username: str | None = None, multi_az: bool | None = None,
        allocated_storage_gib: int | None = None, max_allocated_storage_gib: int | None = None,
        backup_retention_days: int | None = None, engine_version: Any = None,
        deletion_protection: bool | None = None, deletion_protection_reason: str | None = None,
        removal_policy: cdk.RemovalPolicy | None = None, vpc_subnets: ec2.SubnetSelection | None = None,
        log_retention: logs.RetentionDays | None = None, port: int | None = None,
        parameters: Mapping[str, str] | None = None, storage_encryption_key: kms.IKey | None = None,
        performance_insights: bool | None = None, consumers: int | None = None,
        external_consumers: Mapping[str, int] | None = None, app_username: str | None = None,
        logical_replication: bool | None = None, _existing: dict[str, Any] | None = None,
    ) -> None:
        # Every check before joining the tree: a refused input leaves no construct behind.
        limit = self._limit(engine, instance_class, max_connections, max_acu, min_acu, _existing)
        retention = log_retention or logs.RetentionDays.ONE_MONTH
        plan = None if _existing is not None else plan_database(
            engine=limit.engine, instance_class=limit.instance_class, max_connections=max_connections,
            max_acu=max_acu, min_acu=min_acu, database_name=database_name, master_username=master_username,
            app_username=app_username, port=port, multi_az=multi_az,
            allocated_storage_gib=allocated_storage_gib, max_allocated_storage_gib=max_allocated_storage_gib,
            backup_retention_days=backup_retention_days,
            engine_version=_version_text(engine_version), parameters=parameters,
            deletion_protection=deletion_protection, deletion_protection_reason=deletion_protection_reason,
            performance_insights=performance_insights, logical_replication=logical_replication,
            log_retention_days=_retention_days(retention))
        external = check_external_consumers(external_consumers)
        super().__init__(scope, id)
        exact_egress(self)  # no default allow-all egress beside the explicit rules
        self._book_ledger(limit, reserve, consumers, external, _existing)
        self.vpc = vpc
        self._views: dict[str, tuple[ec2.ISecurityGroup, Any]] = {}
        #: (proxy name, database connections it may open) of the RDS Proxies consumers created.
        self.proxies: list[tuple[str, int]] = []
        #: The bootstrap function behind the ``AppRole`` custom resource (None when adopted).
        self.role_bootstrap: lambda_.Function | None = None
        self.instance: rds.DatabaseInstance | None = None
        self.cluster: rds.DatabaseCluster | None = None
        if plan is None:
            self._adopt(_existing or {}, database_name, master_username)
            return
        self.plan: DatabasePlan = plan
        self._set_attributes(plan)
        subnets = self._create_network_access(vpc_subnets)
        if plan.engine.is_aurora:
            self._create_cluster(plan, engine_version, subnets, removal_policy, retention,
                                 storage_encryption_key)
        else:
            self._create_instance(plan, engine_version, subnets, removal_policy, retention,
                                  storage_encryption_key)
        self._bootstrap_app_role(retention)
        self._acknowledge_log_retention_singleton()
        self._acknowledge_monitoring_role()

    @staticmethod
    def _limit(engine: str | None, instance_class: str | None, max_connections: int | None,
               max_acu: float | None, min_acu: float | None,
               existing: dict[str, Any] | None) -> ConnectionLimit:
        """The connection limit: the budget needs literal values, decided at synth."""
        engine = engine or DEFAULT_ENGINE
        instance_class = instance_class or DEFAULT_INSTANCE_CLASS
        for name, value in (("engine", engine), ("instance_class", instance_class)):
            if cdk.Token.is_unresolved(value):
                raise BudgetError(f"{name} is a deploy-time token ({value!r}); the connection budget is "
                                  f"decided at synth and needs a literal value, e.g. 'db.t3.micro'")
        if existing is None:
            check_serverless_inputs(engine, instance_class, max_acu)
        return describe_connection_limit(engine, instance_class, max_connections=max_connections,
                                         max_acu=max_acu,
                                         min_acu=DEFAULT_MIN_ACU if min_acu is None else min_acu)

    def _book_ledger(self, limit: ConnectionLimit, reserve: int | None, consumers: int | None,
                     external: dict[str, int], existing: dict[str, Any] | None) -> None:
        """The ledger every consumer books on, registered with the app's deployment."""
        self.limit: ConnectionLimit = limit
        self.engine: Engine = limit.engine
        self.ledger = ConnectionLedger(limit, reserve=reserve, share=(existing or {}).get("share"),
                                       consumers=consumers,
                                       name=f"{self.node.path} ({limit.engine.value} {limit.instance_class})")
        self.ledger.book_external(external)
        deployment_of(self).register(self.node.path, self.ledger)

    def _set_attributes(self, plan: DatabasePlan) -> None:
        self.database_name = plan.database_name
        self.master_username = plan.master_username
        self.app_username = plan.app_username
        self.logical_replication = plan.logical_replication
        self.port = plan.port
        self.multi_az = plan.multi_az

    def _create_network_access(self, vpc_subnets: ec2.SubnetSelection | None) -> ec2.SubnetSelection:
        """The database's security group (no ingress: consumers add their own) and its subnets:
        the given ones, else isolated, else private with egress."""
        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=self.vpc, allow_all_outbound=False,
            description=f"{self.engine.value} database: ingress only from deploy-paradigms consumers")
        return vpc_subnets or ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED if self.vpc.isolated_subnets
            else ec2.SubnetType.PRIVATE_WITH_EGRESS)

    def _create_instance(self, plan: DatabasePlan, engine_version: Any, subnets: ec2.SubnetSelection,
                         removal_policy: cdk.RemovalPolicy | None, log_retention: logs.RetentionDays,
                         storage_encryption_key: kms.IKey | None) -> None:
        self.instance = rds.DatabaseInstance(
            self, "Resource",
            engine=_instance_engine(plan.engine, engine_version),
            instance_type=ec2.InstanceType(plan.instance_class.removeprefix("db.")),
            vpc=self.vpc, vpc_subnets=subnets, security_groups=[self.security_group], port=plan.port,
            database_name=plan.database_name, manage_master_user_password=True,
            credentials=rds.Credentials.from_username(plan.master_username),
            parameters=plan.parameters,
            storage_encrypted=plan.storage_encrypted, storage_encryption_key=storage_encryption_key,
            storage_type=rds.StorageType.GP3, allocated_storage=plan.allocated_storage_gib,
            max_allocated_storage=plan.max_allocated_storage_gib,
            multi_az=plan.multi_az, publicly_accessible=plan.publicly_accessible,
            iam_authentication=plan.iam_authentication,
            auto_minor_version_upgrade=plan.auto_minor_version_upgrade,
            backup_retention=cdk.Duration.days(plan.backup_retention_days),
            # Kept after the instance is deleted (until their retention ends), as on Pulumi;
            # CloudFormation's default deletes them with the instance.
            delete_automated_backups=plan.delete_automated_backups,
            deletion_protection=plan.deletion_protection,
            removal_policy=removal_policy or cdk.RemovalPolicy.SNAPSHOT,
            copy_tags_to_snapshot=plan.copy_tags_to_snapshot,
            cloudwatch_logs_exports=list(plan.log_exports), cloudwatch_logs_retention=log_retention,
            enable_performance_insights=plan.performance_insights,
            monitoring_interval=cdk.Duration.seconds(plan.monitoring_interval_s),
        )
        self.resource: rds.IDatabaseInstance | rds.IDatabaseCluster = self.instance
        self.endpoint_address = self.instance.db_instance_endpoint_address
        self.secret: secretsmanager.ISecret = _managed_secret(self.instance.secret)

    def _bootstrap_app_role(self, log_retention: logs.RetentionDays) -> None:
        """The application role: its secret (a generated password, never in the template) and the
        ``AppRole`` custom resource whose function, in the VPC, creates or converges the role as
        the master user on every deployment (:mod:`deploy_paradigms.app_role`)."""
        # Its reserved concurrency of 1 is the account's too; provisional: it does not fix the quota.
        account = deployment_of(self).account(*account_key(self), requested_by=self.node.path,
                                              provisional=True)
        account.reserve(f"{self.node.path}/RoleBootstrap", 1)
        self.app_secret: secretsmanager.ISecret = rds.DatabaseSecret(
            self, "AppUserSecret", username=self.app_username, master_secret=self.secret)
        cdk.Validations.of(self.app_secret).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-SMG4",
            reason="the application role's password: the bootstrap sets it from this secret on every "
                   "deployment; add rotation with app_secret.add_rotation_single_user() where required"))
        archive = packaging.lambda_archive("role_bootstrap", engine=self.engine.value)
        master_secret, app_secret = self.secret, self.app_secret

        def grant(grantee: iam.IGrantable) -> None:
            master_secret.grant_read(grantee)
            app_secret.grant_read(grantee)

        helper = create_helper_function(
            self, plan_helper_function("role_bootstrap", name=self.node.path,
                                       details={"app_user": self.app_username}),
            database=self,
            code=lambda_.Code.from_asset(str(archive), asset_hash=packaging.archive_hash(archive)),
            environment={settings.URL_PARAMS: role_bootstrap.URL_PARAMS},
            log_retention=log_retention, grant=grant)
        self.role_bootstrap = helper.function
        self.role_bootstrap_security_group = helper.security_group
        bootstrap = cdk.Validations.of(self.role_bootstrap)
        bootstrap.acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
               "AWSLambdaBasicExecutionRole]",
            reason="aws-cdk's default for a function's role: the bootstrap writes only its own logs"))
        bootstrap.acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
               "AWSLambdaVPCAccessExecutionRole]",
            reason="the bootstrap's network interfaces in the VPC: ec2:Describe* has no resource-level "
                   "permissions and Lambda names the interfaces it creates"))
        self.app_role = cdk.CustomResource(
            self, "AppRole",
            service_token=self.role_bootstrap.function_arn,
            resource_type="Custom::AppRole",
            properties={
                "Engine": self.engine.value, "Host": self.endpoint_address, "Port": str(self.port),
                "Database": self.database_name, "AppUser": self.app_username,
                "MasterSecretArn": self.secret.secret_arn, "AppSecretArn": self.app_secret.secret_arn,
                "Iam": "false",
                # New bootstrap code re-runs it on the next deployment.
                "BundleHash": packaging.archive_hash(archive),
            })

    def _acknowledge_monitoring_role(self) -> None:
        """aws-cdk gives Enhanced Monitoring a role with the AWS managed policy RDS documents for it."""
        role = self.node.try_find_child("Resource")
        role = role.node.try_find_child("MonitoringRole") if role is not None else None
        if role is not None:
            cdk.Validations.of(role).acknowledge(cdk.Acknowledgment(
                id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                   "AmazonRDSEnhancedMonitoringRole]",
                reason="Enhanced Monitoring's role: RDS documents this AWS managed policy for it (it only "
                       "writes the RDSOSMetrics log group)"))

    def _acknowledge_log_retention_singleton(self) -> None:
        """The log exports' retention is set by aws-cdk's LogRetention singleton function
        (a stack-level child created for ``cloudwatch_logs_retention``); its cdk-nag
        findings are aws-cdk-lib's design, acknowledged here with the reason."""
        for child in cdk.Stack.of(self).node.children:
            if child.node.id.startswith("LogRetention"):
                cdk.Validations.of(child).acknowledge(cdk.Acknowledgment(
                    id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                       "AWSLambdaBasicExecutionRole]",
                    reason="aws-cdk's LogRetention singleton (sets the retention of the database's log "
                           "exports); its role is created by aws-cdk-lib and only writes its own logs"))
                cdk.Validations.of(child).acknowledge(cdk.Acknowledgment(
                    id="AwsSolutions-IAM5[Resource::*]",
                    reason="aws-cdk's LogRetention singleton needs logs:PutRetentionPolicy and "
                           "logs:DeleteRetentionPolicy on log groups whose names RDS chooses"))

    def _create_cluster(self, plan: DatabasePlan, engine_version: Any, subnets: ec2.SubnetSelection,
                        removal_policy: cdk.RemovalPolicy | None, log_retention: logs.RetentionDays,
                        storage_encryption_key: kms.IKey | None) -> None:
        insights = plan.performance_insights
        # max_connections is an instance-level parameter on Aurora: one group the members share.
        params = rds.ParameterGroup(
            self, "InstanceParameters", engine=_cluster_engine(plan.engine, engine_version),
            parameters=plan.instance_parameters) if plan.instance_parameters else None
        if plan.serverless:
            writer = rds.ClusterInstance.serverless_v2("Writer", enable_performance_insights=insights,
                                                       parameter_group=params)
            readers = ([rds.ClusterInstance.serverless_v2("Reader", scale_with_writer=True,
                                                          parameter_group=params,
                                                          enable_performance_insights=insights)]
                       if plan.multi_az else [])
        else:
            itype = ec2.InstanceType(plan.instance_class.removeprefix("db."))
            writer = rds.ClusterInstance.provisioned("Writer", instance_type=itype, parameter_group=params,
                                                     enable_performance_insights=insights)
            readers = ([rds.ClusterInstance.provisioned("Reader", instance_type=itype, parameter_group=params,
                                                        enable_performance_insights=insights)]
                       if plan.multi_az else [])
        self.cluster = rds.DatabaseCluster(
            self, "Resource",
            engine=_cluster_engine(plan.engine, engine_version), writer=writer, readers=readers,
            serverless_v2_max_capacity=plan.max_acu, serverless_v2_min_capacity=plan.min_acu,
            vpc=self.vpc, vpc_subnets=subnets, security_groups=[self.security_group], port=plan.port,
            default_database_name=plan.database_name, manage_master_user_password=True,
            credentials=rds.Credentials.from_username(plan.master_username),
            parameters=plan.cluster_parameters, storage_encrypted=plan.storage_encrypted,
            storage_encryption_key=storage_encryption_key, iam_authentication=plan.iam_authentication,
            backup=rds.BackupProps(retention=cdk.Duration.days(plan.backup_retention_days)),
            delete_automated_backups=plan.delete_automated_backups,
            deletion_protection=plan.deletion_protection,
            removal_policy=removal_policy or cdk.RemovalPolicy.SNAPSHOT,
            copy_tags_to_snapshot=plan.copy_tags_to_snapshot,
            cloudwatch_logs_exports=list(plan.log_exports), cloudwatch_logs_retention=log_retention,
            monitoring_interval=cdk.Duration.seconds(plan.monitoring_interval_s),
        )
        self.resource = self.cluster
        self.endpoint_address = self.cluster.cluster_endpoint.hostname
        self.secret = _managed_secret(self.cluster.secret)

    def _adopt(self, existing: dict[str, Any], database_name: str | None,
               master_username: str | None) -> None:
        """References to a database this app does not own (``from_existing``); no resources."""
        self.database_name = check_database_identifier(
            "database_name", DEFAULT_DATABASE_NAME if database_name is None else database_name, 63)
        self.master_username = check_database_identifier(
            "master_username", DEFAULT_MASTER_USERNAME if master_username is None else master_username, 16)
        self.logical_replication = False
        if self.engine.is_aurora:
            raise InputError(
                f"Database.from_existing(engine={self.engine.value!r}): adopting an Aurora cluster is not "
                f"supported by the CDK construct (RDS Proxy would target a DB instance); share the cluster's "
                f"Database construct across stacks of one app, or use the Pulumi component "
                f"(Database.from_existing(..., cluster_identifier=...))")
        if existing.get("secret") is None:
            raise InputError(
                "secret is required for an existing database: pass the Secrets Manager secret "
                "holding its username/password (secretsmanager.Secret.from_secret_complete_arn(...)); "
                "RDS Proxy and the containers read credentials from it")
        if existing.get("security_group") is None:
            raise InputError("security_group is required for an existing database: pass the security "
                              "group attached to it so consumers can be allowed in on its port")
        self.port = existing["port"]
        self.security_group = existing["security_group"]
        self.secret = existing["secret"]
        # No bootstrap for a database this stack does not own: consumers use the given secret's user.
        self.app_secret = self.secret
        self.app_username = self.master_username
        self.endpoint_address = existing["endpoint_address"]
        self.multi_az = False
        self.resource = rds.DatabaseInstance.from_database_instance_attributes(
            self, "Resource",
            instance_identifier=existing["instance_identifier"],
            instance_endpoint_address=existing["endpoint_address"],
            port=existing["port"],
            security_groups=[self.security_group],
            instance_resource_id=existing.get("instance_resource_id"),
            engine=_instance_engine(self.engine, existing.get("engine_version")),
        )

    @classmethod
    def from_existing(
        cls,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        engine: str,
        instance_identifier: str,
        endpoint_address: str,
        secret: secretsmanager.ISecret | None,
        security_group: ec2.ISecurityGroup | None,
        port: int | None = None,
        instance_class: str | None = None,
        max_connections: int | None = None,
        instance_resource_id: str | None = None,
        database_name: str | None = None,
        master_username: str | None = None,
        reserve: int | None = None,
        engine_version: Any = None,
        share: int | None = None,
        consumers: int | None = None,
    ) -> Database:
        """Attach the budget to a database this app does not own (another repository's).

        Within one app, pass the same :class:`Database` to consumers in any stack instead:
        one ledger spans them. ``share`` is required: the connections the owning app hands
        this one (it declares them as ``external_consumers``), so both ledgers agree.

        Give its ``instance_class`` (or the ``max_connections`` of its parameter
        group), the secret with its credentials and its security group; consumers
        open ingress on that group for their own security groups only. Creates no
        database resource: only the ledger and references to what exists.

        :param vpc: the VPC the database is in (consumers are placed in it).
        :param engine: as for :class:`Database` (an RDS instance engine; Aurora clusters cannot be
            adopted here yet).
        :param instance_identifier: the DB instance identifier (RDS Proxy targets it).
        :param endpoint_address: the instance's address (host name, no port).
        :param port: the port it listens on; omitted, the engine's default (5432 or 3306), as in
            Pulumi.
        :param secret: the Secrets Manager secret with its ``username`` and ``password``; required
            (``None`` raises :class:`InputError`): RDS Proxy and the containers read it.
        :param security_group: the security group attached to the database; required (``None``
            raises): consumers add ingress rules to it.
        :param instance_class: its class, which sets the budget; omitted, ``max_connections`` is
            required.
        :param max_connections: the ``max_connections`` of its parameter group; omitted, the
            connection table's value for ``instance_class``. Nothing is written to the database.
        :param instance_resource_id: the ``db-...`` resource id, given to aws-cdk's imported
            instance (IAM grants on the instance itself need it); omitted, none (connections
            through RDS Proxy do not need it).
        :param database_name: the database consumers connect to; default ``app``.
        :param master_username: the user functions connect as unless they set ``db_user``;
            default ``app_admin``.
        :param reserve: omitted (the only choice with ``share``): none here, the owner keeps the
            reserve; given, it is refused.
        :param engine_version: an ``rds.*EngineVersion`` describing the instance; omitted, the
            current default for ``engine``.
        :param share: the connections this app may hold in total (its consumers split it);
            required: omitted raises :class:`BudgetError` naming the owner's side of the deal.
        :param consumers: as for :class:`Database`; omitted, 1.
        """
        check_import_share(share, engine=engine, instance_class=instance_class)
        port = check_port(parse_engine(engine), port)
        return cls(scope, id, vpc=vpc, engine=engine, instance_class=instance_class or "custom",
                   max_connections=max_connections, reserve=reserve, database_name=database_name,
                   consumers=consumers,
                   master_username=master_username,
                   _existing={"instance_identifier": instance_identifier,
                              "endpoint_address": endpoint_address, "port": port, "secret": secret,
                              "security_group": security_group,
                              "instance_resource_id": instance_resource_id, "engine_version": engine_version,
                              "share": share})

    # -- budget -----------------------------------------------------------------
    def allocate(self, consumer: str, connections: int, *, paradigm: str, detail: str = "",
                 default_share: bool = False, deploy_strategy: str = "",
                 compute_model: str = "") -> Allocation:
        """Record ``connections`` for ``consumer``; raises when the database is over-promised."""
        return self.ledger.allocate(consumer, connections, paradigm=paradigm, detail=detail,
                                    default_share=default_share, deploy_strategy=deploy_strategy,
                                    compute_model=compute_model)

    def allow_from(self, peer: ec2.IConnectable, description: str, *, scope: Construct | None = None) -> None:
        """Open the database port to ``peer``'s security groups, and nothing else.

        ``scope``: the consumer (default: ``peer`` when it is a construct). A consumer in another
        stack gets the rule in its own stack, so that stack depends on the database's and not the
        other way round (no dependency cycle)."""
        group, _ = self._view(scope if scope is not None else peer)
        group.connections.allow_from(peer, ec2.Port.tcp(self.port), description)

    def proxy_target(self, scope: Construct | None = None) -> rds.ProxyTarget:
        """What an RDS Proxy in front of this database targets: its cluster, or its instance,
        seen from ``scope``'s stack (the proxy's security-group rule lands in that stack)."""
        _, resource = self._view(scope)
        if self.cluster is not None:
            return rds.ProxyTarget.from_cluster(resource)
        return rds.ProxyTarget.from_instance(resource)

    def _view(self, scope: Any) -> tuple[ec2.ISecurityGroup, Any]:
        """The database's security group and resource as ``scope``'s stack sees them: the real
        ones in the database's own stack; imported references (by id) in another stack, so rules
        that consumers add are created in the consumer's stack."""
        if not isinstance(scope, Construct) or cdk.Stack.of(scope) is cdk.Stack.of(self) or (
                cdk.Stack.of(scope).node.path == cdk.Stack.of(self).node.path):
            return self.security_group, self.resource
        stack = cdk.Stack.of(scope)
        if stack.node.path in self._views:
            return self._views[stack.node.path]
        name = cdk.Names.unique_id(self)
        group = ec2.SecurityGroup.from_security_group_id(
            stack, f"{name}SecurityGroup", self.security_group.security_group_id, mutable=True,
            allow_all_outbound=False)
        resource: Any
        if self.cluster is not None:
            resource = rds.DatabaseCluster.from_database_cluster_attributes(
                stack, f"{name}Cluster", cluster_identifier=self.cluster.cluster_identifier,
                cluster_endpoint_address=self.cluster.cluster_endpoint.hostname, port=self.port,
                security_groups=[group], engine=self.cluster.engine)
        else:
            instance: Any = self.resource
            resource = rds.DatabaseInstance.from_database_instance_attributes(
                stack, f"{name}Instance", instance_identifier=instance.instance_identifier,
                instance_endpoint_address=self.endpoint_address, port=self.port,
                security_groups=[group], engine=instance.engine)
        self._views[stack.node.path] = (group, resource)
        return group, resource

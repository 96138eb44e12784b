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
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct, IConstruct

from .. import packaging
from ..app_role import DEFAULT_APP_USERNAME, check_role_name
from ..budget import (
    Allocation,
    BudgetError,
    ConnectionLedger,
    ConnectionLimit,
    Engine,
    InputError,
    describe_connection_limit,
)
from ..budget.deployment import ACCOUNT_CONCURRENCY_KEY, Deployment
from ..plans.database import (
    ENHANCED_MONITORING_INTERVAL_S,
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
    tls_parameter,
)
from ..plans.database import performance_insights as performance_insights_setting
from ..runtime import role_bootstrap, settings
from .security_groups import exact_egress

#: Supported, non-deprecated default versions (cfn-lint and the RDS release
#: calendar agree these are current); pass ``engine_version`` to choose.
#: The runtime of the library's helper functions (bootstrap, migrations, budget check, change consumer).
HELPER_RUNTIME = lambda_.Runtime(packaging.HELPER_RUNTIME, lambda_.RuntimeFamily.PYTHON)
DEFAULT_POSTGRES_VERSION = rds.PostgresEngineVersion.VER_17_6
DEFAULT_MYSQL_VERSION = rds.MysqlEngineVersion.VER_8_4_6
DEFAULT_MARIADB_VERSION = rds.MariaDbEngineVersion.VER_11_4_5
DEFAULT_AURORA_POSTGRES_VERSION = rds.AuroraPostgresEngineVersion.VER_17_5
DEFAULT_AURORA_MYSQL_VERSION = rds.AuroraMysqlEngineVersion.VER_3_10_0



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
        raw = scope.node.try_get_context(ACCOUNT_CONCURRENCY_KEY)
        quota: int | None = None
        if raw is not None and raw != "":
            try:
                quota = int(raw)
            except (TypeError, ValueError):
                raise BudgetError(
                    f"context {ACCOUNT_CONCURRENCY_KEY}={raw!r} must be a whole number: your account's "
                    f"Lambda concurrency quota, e.g. -c {ACCOUNT_CONCURRENCY_KEY}=1000") from None
        self.deployment = Deployment(account_concurrency_limit=quota)
        # Default shares settle before synth, once the app has declared every consumer.
        cdk.Aspects.of(scope).add(_SettleShares(self.deployment), priority=0)


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
    """The logs the database exports to CloudWatch Logs, per engine."""
    return ["postgresql", "upgrade"] if engine is Engine.POSTGRES else (
        ["postgresql"] if engine is Engine.AURORA_POSTGRESQL else ["error", "slowquery"])


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
    :param deletion_protection: default True; ``False`` must be explicit.
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
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        engine: str = "postgres",
        instance_class: str = "db.t3.micro",
        max_connections: int | None = None,
        max_acu: float | None = None,
        min_acu: float = 0.5,
        reserve: int | None = None,
        database_name: str = "app",
        master_username: str = "app_admin",
        multi_az: bool = False,
        allocated_storage_gib: int = 20,
        max_allocated_storage_gib: int = 100,
        backup_retention_days: int = MIN_BACKUP_RETENTION_DAYS,
        engine_version: Any = None,
        deletion_protection: bool = True,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.SNAPSHOT,
        vpc_subnets: ec2.SubnetSelection | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        port: int | None = None,
        parameters: Mapping[str, str] | None = None,
        storage_encryption_key: kms.IKey | None = None,
        performance_insights: bool | None = None,
        consumers: int | None = None,
        external_consumers: Mapping[str, int] | None = None,
        app_username: str = DEFAULT_APP_USERNAME,
        logical_replication: bool = False,
        _existing: dict[str, Any] | None = None,
    ) -> None:
        # 1. Validate inputs (budget errors name the input and the fix), before joining the tree.
        for name, value in (("engine", engine), ("instance_class", instance_class)):
            if cdk.Token.is_unresolved(value):
                raise BudgetError(f"{name} is a deploy-time token ({value!r}); the connection budget is "
                                  f"decided at synth and needs a literal value, e.g. 'db.t3.micro'")
        if _existing is None:
            check_serverless_inputs(engine, instance_class, max_acu)
        self.limit: ConnectionLimit = describe_connection_limit(
            engine, instance_class, max_connections=max_connections, max_acu=max_acu, min_acu=min_acu)
        self.engine: Engine = self.limit.engine
        share = _existing.get("share") if _existing is not None else None
        external = check_external_consumers(external_consumers)
        super().__init__(scope, id)
        exact_egress(self)  # no default allow-all egress beside the explicit rules
        self.ledger = ConnectionLedger(self.limit, reserve=reserve, share=share, consumers=consumers,
                                       name=f"{self.node.path} ({self.limit.engine.value} "
                                            f"{self.limit.instance_class})")
        self.ledger.book_external(external)
        deployment_of(self).register(self.node.path, self.ledger)
        self._views: dict[str, tuple[ec2.ISecurityGroup, Any]] = {}
        #: (proxy name, database connections it may open) of the RDS Proxies consumers created.
        self.proxies: list[tuple[str, int]] = []
        self.vpc = vpc
        self.database_name = check_database_identifier("database_name", database_name, 63)
        self.master_username = check_database_identifier("master_username", master_username, 16)
        #: The bootstrap function behind the ``AppRole`` custom resource (None when adopted).
        self.role_bootstrap: lambda_.Function | None = None
        self.logical_replication = False
        if _existing is not None:
            self._adopt(_existing)
            return
        if backup_retention_days < MIN_BACKUP_RETENTION_DAYS:
            raise BudgetError(f"backup_retention_days={backup_retention_days} is below the "
                              f"{MIN_BACKUP_RETENTION_DAYS}-day minimum; keep at least a week of backups")
        if not MIN_STORAGE_GIB <= allocated_storage_gib <= max_allocated_storage_gib <= MAX_STORAGE_GIB:
            raise InputError(f"allocated_storage_gib={allocated_storage_gib} and max_allocated_storage_gib="
                             f"{max_allocated_storage_gib} must satisfy {MIN_STORAGE_GIB} <= allocated <= "
                             f"max_allocated <= {MAX_STORAGE_GIB:,} GiB (gp3)")
        check_instance_class_offered(self.engine, self.limit.instance_class,
                                     default_version=engine_version is None)
        extra_parameters = {**check_parameters(self.engine, parameters),
                            **logical_replication_parameters(self.engine, logical_replication)}
        self.logical_replication = logical_replication
        self.app_username = check_role_name(app_username)
        if self.app_username == master_username:
            raise BudgetError(f"app_username={app_username!r} is the master user; the application role must "
                              f"be another user (the master user is kept for the bootstrap and migrations)")
        self.port = check_port(self.engine, port)
        insights = performance_insights_setting(self.engine, self.limit.instance_class, performance_insights)
        subnets = vpc_subnets or ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED if vpc.isolated_subnets
            else ec2.SubnetType.PRIVATE_WITH_EGRESS)

        # 2. Children: security group (no ingress; consumers add their own), parameters.
        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=vpc, allow_all_outbound=False,
            description=f"{self.engine.value} database: ingress only from deploy-paradigms consumers")
        parameters = {**extra_parameters, **tls_parameters(self.engine)}
        if max_connections is not None:
            parameters["max_connections"] = str(max_connections)
        self.instance: rds.DatabaseInstance | None = None
        self.cluster: rds.DatabaseCluster | None = None
        if self.engine.is_aurora:
            self.cluster = self._create_cluster(engine_version, parameters, subnets, multi_az,
                                                backup_retention_days, deletion_protection, removal_policy,
                                                max_acu, min_acu, log_retention, storage_encryption_key,
                                                insights)
            self.resource: rds.IDatabaseInstance | rds.IDatabaseCluster = self.cluster
            self.endpoint_address = self.cluster.cluster_endpoint.hostname
            secret = self.cluster.secret
        else:
            self.instance = rds.DatabaseInstance(
                self, "Resource",
                engine=_instance_engine(self.engine, engine_version),
                instance_type=ec2.InstanceType(self.limit.instance_class.removeprefix("db.")),
                vpc=vpc,
                vpc_subnets=subnets,
                security_groups=[self.security_group],
                port=self.port,
                database_name=database_name,
                manage_master_user_password=True,
                credentials=rds.Credentials.from_username(self.master_username),
                parameters=parameters,
                storage_encrypted=True,
                storage_encryption_key=storage_encryption_key,
                storage_type=rds.StorageType.GP3,
                allocated_storage=allocated_storage_gib,
                max_allocated_storage=max_allocated_storage_gib,
                multi_az=multi_az,
                publicly_accessible=False,
                iam_authentication=True,
                auto_minor_version_upgrade=True,
                backup_retention=cdk.Duration.days(backup_retention_days),
                # Kept after the instance is deleted (until their retention ends), as on Pulumi;
                # CloudFormation's default deletes them with the instance.
                delete_automated_backups=False,
                deletion_protection=deletion_protection,
                removal_policy=removal_policy,
                copy_tags_to_snapshot=True,
                cloudwatch_logs_exports=log_exports(self.engine),
                cloudwatch_logs_retention=log_retention,
                enable_performance_insights=insights,
                monitoring_interval=cdk.Duration.seconds(ENHANCED_MONITORING_INTERVAL_S),
            )
            self.resource = self.instance
            self.endpoint_address = self.instance.db_instance_endpoint_address
            secret = self.instance.secret
        if secret is None:  # pragma: no cover - managed passwords always yield a secret
            raise BudgetError("the database was created without a credentials secret")
        self.secret: secretsmanager.ISecret = secret
        self.multi_az = multi_az
        self._create_app_role(log_retention)
        self._acknowledge_log_retention_singleton()
        self._acknowledge_monitoring_role()

    def _create_app_role(self, log_retention: logs.RetentionDays) -> None:
        """The application role: its secret (a generated password, never in the template) and the
        ``AppRole`` custom resource whose function, in the VPC, creates or converges the role as
        the master user on every deployment (:mod:`deploy_paradigms.app_role`)."""
        self.app_secret: secretsmanager.ISecret = rds.DatabaseSecret(
            self, "AppUserSecret", username=self.app_username, master_secret=self.secret)
        cdk.Validations.of(self.app_secret).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-SMG4",
            reason="the application role's password: the bootstrap sets it from this secret on every "
                   "deployment; add rotation with app_secret.add_rotation_single_user() where required"))
        vpc = self.vpc
        self.role_bootstrap_security_group = ec2.SecurityGroup(
            self, "RoleBootstrapSecurityGroup", vpc=vpc, allow_all_outbound=False,
            description="Application role bootstrap: out to the database and to Secrets Manager (HTTPS)")
        self.role_bootstrap_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "Secrets Manager API (the master and app secrets)")
        self.allow_from(self.role_bootstrap_security_group, "application role bootstrap")
        archive = packaging.lambda_archive("role_bootstrap", engine=self.engine.value)
        self.role_bootstrap = lambda_.Function(
            self, "RoleBootstrap",
            code=lambda_.Code.from_asset(str(archive), asset_hash=packaging.archive_hash(archive)),
            handler=packaging.ROLE_BOOTSTRAP_HANDLER,
            runtime=HELPER_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=256,
            timeout=cdk.Duration.minutes(2),
            # One connection at a time, taken from the ledger's reserve (kept for admin and migrations).
            reserved_concurrent_executions=1,
            environment={settings.URL_PARAMS: role_bootstrap.URL_PARAMS},
            vpc=vpc,
            # Secrets Manager is outside the VPC: subnets with egress (or an interface endpoint).
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                                            if vpc.private_subnets else ec2.SubnetType.PRIVATE_ISOLATED),
            security_groups=[self.role_bootstrap_security_group],
            log_group=logs.LogGroup(self, "RoleBootstrapLogs", retention=log_retention),
            description=f"deploy-paradigms: creates the application role {self.app_username} "
                        f"(least privilege) as the master user",
        )
        self.secret.grant_read(self.role_bootstrap)
        self.app_secret.grant_read(self.role_bootstrap)
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

    def _create_cluster(self, engine_version: Any, parameters: dict[str, str], subnets: ec2.SubnetSelection,
                        multi_az: bool, backup_days: int, deletion_protection: bool,
                        removal_policy: cdk.RemovalPolicy, max_acu: float | None,
                        min_acu: float, log_retention: logs.RetentionDays,
                        storage_encryption_key: kms.IKey | None, insights: bool) -> rds.DatabaseCluster:
        if self.limit.instance_class == "db.serverless":
            writer = rds.ClusterInstance.serverless_v2("Writer", enable_performance_insights=insights)
            readers = ([rds.ClusterInstance.serverless_v2("Reader", scale_with_writer=True,
                                                          enable_performance_insights=insights)]
                       if multi_az else [])
        else:
            itype = ec2.InstanceType(self.limit.instance_class.removeprefix("db."))
            writer = rds.ClusterInstance.provisioned("Writer", instance_type=itype,
                                                     enable_performance_insights=insights)
            readers = ([rds.ClusterInstance.provisioned("Reader", instance_type=itype,
                                                        enable_performance_insights=insights)]
                       if multi_az else [])
        return rds.DatabaseCluster(
            self, "Resource",
            engine=_cluster_engine(self.engine, engine_version),
            writer=writer,
            readers=readers,
            serverless_v2_max_capacity=max_acu,
            serverless_v2_min_capacity=min_acu if max_acu else None,
            vpc=self.vpc,
            vpc_subnets=subnets,
            security_groups=[self.security_group],
            port=self.port,
            default_database_name=self.database_name,
            manage_master_user_password=True,
            credentials=rds.Credentials.from_username(self.master_username),
            parameters=parameters,
            storage_encrypted=True,
            storage_encryption_key=storage_encryption_key,
            iam_authentication=True,
            backup=rds.BackupProps(retention=cdk.Duration.days(backup_days)),
            delete_automated_backups=False,
            deletion_protection=deletion_protection,
            removal_policy=removal_policy,
            copy_tags_to_snapshot=True,
            cloudwatch_logs_exports=log_exports(self.engine),
            cloudwatch_logs_retention=log_retention,
            monitoring_interval=cdk.Duration.seconds(ENHANCED_MONITORING_INTERVAL_S),
        )

    def _adopt(self, existing: dict[str, Any]) -> None:
        if self.engine.is_aurora:
            raise BudgetError(
                f"Database.from_existing(engine={self.engine.value!r}): adopting an Aurora cluster is not "
                f"supported by the CDK construct (RDS Proxy would target a DB instance); share the cluster's "
                f"Database construct across stacks of one app, or use the Pulumi component "
                f"(Database.from_existing(..., cluster_identifier=...))")
        if existing.get("secret") is None:
            raise BudgetError(
                "secret is required for an existing database: pass the Secrets Manager secret "
                "holding its username/password (secretsmanager.Secret.from_secret_complete_arn(...)); "
                "RDS Proxy and the containers read credentials from it")
        if existing.get("security_group") is None:
            raise BudgetError("security_group is required for an existing database: pass the security "
                              "group attached to it so consumers can be allowed in on its port")
        self.port = existing["port"]
        self.security_group = existing["security_group"]
        self.secret = existing["secret"]
        # No bootstrap for a database this stack does not own: consumers use the given secret's user.
        self.app_secret = self.secret
        self.app_username = self.master_username
        self.endpoint_address = existing["endpoint_address"]
        self.instance = None
        self.cluster = None
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
        port: int,
        secret: secretsmanager.ISecret | None,
        security_group: ec2.ISecurityGroup | None,
        instance_class: str | None = None,
        max_connections: int | None = None,
        instance_resource_id: str | None = None,
        database_name: str = "app",
        master_username: str = "app_admin",
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
        :param port: the port it listens on.
        :param secret: the Secrets Manager secret with its ``username`` and ``password``; required
            (``None`` raises :class:`BudgetError`): RDS Proxy and the containers read it.
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

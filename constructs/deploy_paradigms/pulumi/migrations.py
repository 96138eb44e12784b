"""``DatabaseMigrations`` (Pulumi): a folder of SQL migrations applied during every ``pulumi up``
that changes it, before the components that depend on it.

The twin of the CDK construct: a Lambda function (``deploy_paradigms.runtime.migrate``) with the
SQL files inside, run by an ``aws.lambda_.Invocation`` after the database exists (and again
whenever the files change); a failed migration or an advisory lock held past ``lock_timeout_s``
fails the invocation and so the update. Order consumers after it with
``pulumi.ResourceOptions(depends_on=[migrations])``. Direct connection to the database endpoint
(never RDS Proxy), the database secret, one connection from the ledger's reserve.

Example::

    migrations = DatabaseMigrations("app", DatabaseMigrationsArgs(database=db, migrations_dir="migrations/"))
    web = ContainerService("web", ContainerServiceArgs(database=db, image=image),
                           opts=pulumi.ResourceOptions(depends_on=[migrations]))
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from .. import packaging
from ..plans.migrations import check_migration_settings, migration_environment
from .database import Database, deployment
from .serverless_function import _account_key, _execution_policy, lambda_role


@dataclass
class DatabaseMigrationsArgs:
    """Inputs of :class:`DatabaseMigrations`.

    Attributes:
        database: The :class:`Database` to migrate; its ledger's reserve must keep a connection.
        migrations_dir: Folder of ``*.sql`` files, applied in name order (bundled at preview).
        lock_timeout_s: Wait for another migrator's advisory lock. Omitted: 10 s.
        timeout_s: Function timeout. Omitted: 300 s.
        subnet_ids: Where the function runs. Omitted: the network's private subnets, else isolated.
        log_retention_days: Retention of the function's log group. Omitted: 30.
        tags: Tags for every resource. Omitted: none.
    """

    database: Database
    migrations_dir: str
    lock_timeout_s: int = 10
    timeout_s: int = 300
    subnet_ids: Sequence[pulumi.Input[str]] | None = None
    log_retention_days: int = 30
    tags: Mapping[str, str] = field(default_factory=dict)


class DatabaseMigrations(pulumi.ComponentResource):
    """Runs the migrations against the database once per change of the SQL files."""

    TYPE = "deploy-paradigms:migrations:DatabaseMigrations"

    def __init__(self, name: str, args: DatabaseMigrationsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        database = args.database
        check_migration_settings(reserve=database.ledger.reserve,
                                 instance_class=database.limit.instance_class,
                                 lock_timeout_s=args.lock_timeout_s, timeout_s=args.timeout_s)
        archive = packaging.lambda_archive("migrate", engine=database.engine.value,
                                           migrations_dir=args.migrations_dir)
        checksum = packaging.archive_hash(archive)
        # Its reserved concurrency (1) comes out of the account's quota like every function's.
        deployment().account(*_account_key(), requested_by=name).reserve(name, 1)
        super().__init__(self.TYPE, name, {"migrations": checksum}, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        network = database.network
        subnet_ids = list(args.subnet_ids or network.private_subnet_ids or network.isolated_subnet_ids)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-migrations-logs", retention_in_days=args.log_retention_days, tags=tags, opts=child)
        self.role = lambda_role(f"{name}-migrations-role", f"Execution role of {name} migrations: logs, "
                                                           f"VPC interfaces, database secret", tags, child)
        role_policy = aws.iam.RolePolicy(
            f"{name}-migrations-role-policy", role=self.role.id,
            policy=pulumi.Output.all(self.log_group.arn, pulumi.Output.from_input(database.secret_arn)).apply(
                lambda v: json.dumps(_execution_policy(v[0], "", v[1], database.master_username, False))),
            opts=child)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-migrations-sg", vpc_id=network.vpc_id,
            description=f"Migrations {name}: out to the database (direct) and HTTPS",
            revoke_rules_on_delete=True, tags={**tags, "Name": f"{name}-migrations-sg"}, opts=child)
        port = database.port
        self.security_group_rules: list[pulumi.CustomResource] = [
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-migrations-to-db", security_group_id=self.security_group.id,
                referenced_security_group_id=database.security_group_id, ip_protocol="tcp",
                from_port=port, to_port=port, description=f"Migrations {name} to the database", opts=child),
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-migrations-to-secretsmanager", security_group_id=self.security_group.id,
                cidr_ipv4="0.0.0.0/0", ip_protocol="tcp", from_port=443, to_port=443,
                description="Secrets Manager API (the database secret)", opts=child),
            database.allow_from(f"{name}-migrations", self.security_group.id, opts=child),
        ]
        environment = pulumi.Output.all(database.endpoint_address, database.secret_arn).apply(
            lambda v: migration_environment(
                host=v[0], port=port, name=database.database_name, user=database.master_username,
                engine_is_postgres=database.engine.is_postgres, secret_arn=v[1],
                lock_timeout_s=args.lock_timeout_s))
        self.function = aws.lambda_.Function(
            f"{name}-migrations",
            code=pulumi.FileArchive(str(archive)),
            handler=packaging.MIGRATE_HANDLER,
            runtime=packaging.HELPER_RUNTIME,
            architectures=["arm64"],
            memory_size=256,
            timeout=args.timeout_s,
            reserved_concurrent_executions=1,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            role=self.role.arn,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text",
                                                                log_group=self.log_group.name),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(subnet_ids=subnet_ids,
                                                         security_group_ids=[self.security_group.id]),
            description=f"deploy-paradigms migrations for {name} (direct, reserve)",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, self.log_group]))
        server = database.cluster or database.instance
        # Runs on create and whenever the SQL files (the bundle's content hash) change; a
        # function error fails the invocation, so the update stops before the consumers.
        self.invocation = aws.lambda_.Invocation(
            f"{name}-migrate", function_name=self.function.name,
            input=json.dumps({"migrations": checksum}), triggers={"migrations": checksum},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*self.security_group_rules, *([server] if server else [])]))
        self.register_outputs({"functionName": self.function.name, "migrations": checksum})

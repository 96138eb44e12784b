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
from ..plans.helpers import plan_helper_function
from ..plans.migrations import check_migration_settings, migration_environment
from .database import Database, deployment
from .helper_function import create_helper_function
from .serverless_function import _account_key


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
        port = database.port
        environment = pulumi.Output.all(database.endpoint_address, database.secret_arn).apply(
            lambda v: migration_environment(
                host=v[0], port=port, name=database.database_name, user=database.master_username,
                engine_is_postgres=database.engine.is_postgres, secret_arn=v[1],
                lock_timeout_s=args.lock_timeout_s))
        helper = create_helper_function(
            self, plan_helper_function("migrations", name=name, timeout_s=args.timeout_s,
                                       log_retention_days=args.log_retention_days, details={"target": name}),
            database=database, code=pulumi.FileArchive(str(archive)), environment=environment,
            arns={"database_secret": database.secret_arn}, subnet_ids=args.subnet_ids, tags=dict(args.tags),
            ingress_parent=self)
        self.log_group, self.role, self.function = helper.log_group, helper.role, helper.function
        self.security_group = helper.security_group
        self.security_group_rules: list[pulumi.CustomResource] = list(helper.rules)
        server = database.cluster or database.instance
        # Runs on create and whenever the SQL files (the bundle's content hash) change; a
        # function error fails the invocation, so the update stops before the consumers.
        self.invocation = aws.lambda_.Invocation(
            f"{name}-migrate", function_name=self.function.name,
            input=json.dumps({"migrations": checksum}), triggers={"migrations": checksum},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*self.security_group_rules, *([server] if server else [])]))
        self.register_outputs({"functionName": self.function.name, "migrations": checksum})

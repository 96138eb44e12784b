"""``DatabaseMigrations``: a folder of SQL migrations applied during every deploy that changes it,
before the services and functions that need the new schema update.

A Lambda function (``deploy_paradigms.runtime.migrate``) with the SQL files inside is run by a
``triggers.Trigger`` (a custom resource) after the database exists and before the constructs
named in ``run_before``: CloudFormation creates or updates those only once the trigger has
succeeded, and a failed migration (or an advisory lock held past ``lock_timeout_s``) fails the
deployment, which rolls back. The function connects to the database endpoint directly, never
through RDS Proxy (advisory locks pin or break there), with the database secret, and uses one
connection out of the ledger's reserve (admin and migrations): a database with ``reserve=0``
is refused.

Example::

    db = Database(self, "Database", vpc=vpc)
    web = ContainerService(self, "Web", database=db, image=image)
    DatabaseMigrations(self, "Migrations", database=db, migrations_dir="migrations/",
                       run_before=[web])
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import triggers
from constructs import Construct

from .. import packaging
from ..plans.helpers import plan_helper_function
from ..plans.migrations import check_migration_settings, migration_environment
from .container_service import ContainerService
from .database import Database, account_key, deployment_of
from .helper_function import create_helper_function
from .security_groups import exact_egress
from .serverless_function import ServerlessFunction


class DatabaseMigrations(Construct):
    """Runs ``migrations_dir``'s SQL files against ``database`` during the deployment.

    :param database: the :class:`Database` to migrate; its ledger's reserve must keep a connection.
    :param migrations_dir: folder of ``*.sql`` files, applied in name order (bundled at synth;
        a bad file name fails the synth).
    :param run_before: constructs (services, functions) CloudFormation updates only after the
        migrations succeeded. Omitted: nothing waits for them.
    :param lock_timeout_s: how long to wait for another migrator's advisory lock; default 10 s.
    :param timeout_s: function and trigger timeout; default 300 s.
    :param vpc_subnets: where the function runs; omitted, private subnets with egress (Secrets
        Manager is reached over HTTPS), else isolated ones.
    :param log_retention: retention of the function's log group; default one month.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        database: Database,
        migrations_dir: str,
        run_before: Sequence[Construct] = (),
        lock_timeout_s: int = 10,
        timeout_s: int = 300,
        vpc_subnets: ec2.SubnetSelection | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        check_migration_settings(reserve=database.ledger.reserve,
                                 instance_class=database.limit.instance_class,
                                 lock_timeout_s=lock_timeout_s, timeout_s=timeout_s)
        # Its reserved concurrency (1) comes out of the account's quota like every function's.
        path = f"{scope.node.path}/{id}" if scope.node.path else id
        deployment_of(scope).account(*account_key(scope), requested_by=path).reserve(path, 1)
        super().__init__(scope, id)
        exact_egress(self)  # no default allow-all egress beside the explicit rules
        archive = packaging.lambda_archive("migrate", engine=database.engine.value,
                                           migrations_dir=migrations_dir)
        self.database = database
        secret = database.secret

        def grant(role: iam.IGrantable) -> None:
            role.grant_principal.add_to_principal_policy(iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"], resources=[secret.secret_arn]))
            if secret.encryption_key is not None:
                secret.encryption_key.grant_decrypt(role)

        helper = create_helper_function(
            self, plan_helper_function("migrations", name=self.node.path, timeout_s=timeout_s,
                                       details={"target": database.node.path}),
            database=database,
            code=lambda_.Code.from_asset(str(archive), asset_hash=packaging.archive_hash(archive)),
            environment=migration_environment(
                host=database.endpoint_address, port=database.port, name=database.database_name,
                user=database.master_username, engine_is_postgres=database.engine.is_postgres,
                secret_arn=secret.secret_arn, lock_timeout_s=lock_timeout_s),
            log_retention=log_retention, grant=grant, vpc_subnets=vpc_subnets)
        self.log_group, self.role = helper.log_group, helper.role
        self.security_group, self.function = helper.security_group, helper.function
        # Ordered against the resources that matter only: the database server, and the ECS
        # service or Lambda function of each consumer. Ordering whole constructs would make the
        # consumers' security groups wait for the trigger, which waits for the database's
        # ingress rules that name those groups: a cycle.
        self.trigger = triggers.Trigger(
            self, "Trigger", handler=self.function, timeout=cdk.Duration.seconds(timeout_s),
            execute_after=[server] if isinstance(server := database.resource, Construct) else [],
            execute_before=[_updated_resource(c) for c in run_before],
            invocation_type=triggers.InvocationType.REQUEST_RESPONSE)


def _updated_resource(consumer: Construct) -> Construct:
    """What must wait for the migrations: a ContainerService's ECS service, a function's Lambda."""
    if isinstance(consumer, ContainerService):
        return consumer.service.service
    if isinstance(consumer, ServerlessFunction):
        return consumer.function
    return consumer

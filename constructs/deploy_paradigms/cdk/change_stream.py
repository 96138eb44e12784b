"""``ChangeStream``: committed row changes of a PostgreSQL ``Database`` as EventBridge events.

The Pulse paradigm: an application subscribes to its database's changes without running the
plumbing. Example::

    db = Database(self, "Db", vpc=vpc, logical_replication=True)
    stream = ChangeStream(self, "Changes", database=db, tables=["public.orders"])
    stream.subscribe("PaidOrders", function=billing_fn, tables=["public.orders"],
                     operations=["update"])

What it creates: an EventBridge bus; a consumer function (reserved concurrency 1, one
connection booked on the database's ledger) that a rule runs every minute, which peeks the
replication slot over SQL, publishes with ``PutEvents`` and advances the slot only after
EventBridge accepted the events (at least once, in commit order, an idempotency key per event;
see :mod:`deploy_paradigms.runtime.change_consumer`); a custom resource that creates the
publication and the slot on deploy and drops them when the construct is removed (an abandoned
slot keeps WAL until the disk fills); alarms on the slot lag the consumer reports, on RDS's
``TransactionLogsDiskUsage`` and ``OldestReplicationSlotLag``, and on consumer errors.
PostgreSQL and Aurora PostgreSQL only. Manual: docs/changes.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .. import packaging
from ..budget import Allocation, InputError
from ..plans.changes import (
    CONSUMER_URL_PARAMS,
    DEFAULT_MAX_LAG_MIB,
    DEFAULT_RUN_SECONDS,
    FUNCTION_TIMEOUT_S,
    RDS_WAL_METRICS,
    ChangeStreamPlan,
    plan_change_stream,
)
from ..plans.helpers import direct_connection_environment, plan_helper_function
from ..runtime import change_consumer
from .database import HELPER_RUNTIME, Database, account_key, deployment_of
from .helper_function import create_helper_function
from .security_groups import exact_egress

#: The consumer bundle is pure Python (pg8000): the newest Python runtime.
CONSUMER_RUNTIME = HELPER_RUNTIME


class ChangeStream(Construct):
    """Row changes of ``tables`` on ``database`` as events on an EventBridge bus.

    :param database: a :class:`Database` created with ``logical_replication=True`` (PostgreSQL or
        Aurora PostgreSQL); anything else is refused with the fix.
    :param tables: the tables whose changes become events (``"orders"`` or ``"schema.orders"``);
        the publication carries only these. A table created after the deploy joins on the
        consumer's next run. Tables without a primary key need ``REPLICA IDENTITY FULL`` (or an
        index) before UPDATE and DELETE work on them once they are published.
    :param event_bus: the bus to publish to; omitted, a new bus of its own (``stream.event_bus``).
    :param source: the events' ``source``; default ``deploy-paradigms.changes``.
    :param max_lag_mib: the slot lag (WAL kept for the consumer, MiB) that raises the alarms;
        default 1024. The documented policy: page at this lag, never drop the slot automatically.
    :param run_seconds: how long each minute's invocation keeps polling (0-45); default 45, so
        changes arrive within about a second; 0 drains once a minute (cheaper, up to a minute late).
    :param memory_size: the consumer's memory in MB; default 256.
    :param log_retention: the consumer's log retention; default one month.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        database: Database,
        tables: Sequence[str],
        event_bus: events.IEventBus | None = None,
        source: str | None = None,
        max_lag_mib: int = DEFAULT_MAX_LAG_MIB,
        run_seconds: int = DEFAULT_RUN_SECONDS,
        memory_size: int = 256,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        name = f"{scope.node.path}/{id}"  # the slot and publication: dp_<stack>_<id>
        self.plan: ChangeStreamPlan = plan_change_stream(
            database.engine, name, tables=tables, source=source, max_lag_mib=max_lag_mib,
            run_seconds=run_seconds, logical_replication=database.logical_replication)
        # Its reserved concurrency (1) comes out of the account's quota like every function's.
        deployment_of(scope).account(*account_key(scope), requested_by=name).reserve(name, 1)
        super().__init__(scope, id)
        exact_egress(self)  # no default allow-all egress beside the explicit rules
        self.database = database
        self.allocation: Allocation = database.allocate(
            self.node.path, 1, paradigm="change-stream",
            detail="consumer function, reserved concurrency 1 x 1 connection (slot reads, bootstrap, "
                   "teardown); the SQL interface uses no WAL sender")

        self.event_bus: events.IEventBus = event_bus or events.EventBus(
            self, "Bus", description=f"Row changes of {', '.join(self.plan.tables)} (deploy-paradigms)")
        secret, bus = database.secret, self.event_bus

        def grant(role: iam.IGrantable) -> None:
            role.grant_principal.add_to_principal_policy(iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"], resources=[secret.secret_arn]))
            if secret.encryption_key is not None:
                secret.encryption_key.grant_decrypt(role)
            bus.grant_put_events_to(role)

        archive = packaging.lambda_archive("change_stream", engine=database.engine.value)
        self.environment: dict[str, str] = {
            **direct_connection_environment(
                host=database.endpoint_address, secret_arn=secret.secret_arn, port=database.port,
                name=database.database_name, user=database.master_username, engine_is_postgres=True,
                url_params=CONSUMER_URL_PARAMS),
            **self.plan.consumer_environment(),
            change_consumer.EVENT_BUS: self.event_bus.event_bus_name,
        }
        helper = create_helper_function(
            self, plan_helper_function("change_consumer", name=self.node.path, timeout_s=FUNCTION_TIMEOUT_S,
                                       memory_mb=memory_size, details={"slot": self.plan.slot}),
            database=database,
            code=lambda_.Code.from_asset(str(archive), asset_hash=packaging.archive_hash(archive)),
            environment=self.environment, log_retention=log_retention, grant=grant)
        self.log_group, self.role = helper.log_group, helper.role
        self.security_group, self.function = helper.security_group, helper.function

        # Publication and slot: created on deploy, dropped when the construct is removed.
        self.bootstrap = cdk.CustomResource(
            self, "Slot", service_token=self.function.function_arn,
            resource_type="Custom::ChangeStreamSlot",
            properties={"Slot": self.plan.slot, "Publication": self.plan.publication,
                        "Tables": ",".join(self.plan.tables)})
        self.bootstrap.node.add_dependency(database.resource, self.role, database.security_group)
        self.schedule = events.Rule(
            self, "Schedule", schedule=events.Schedule.rate(cdk.Duration.minutes(1)),
            description=f"Runs the change consumer of slot {self.plan.slot} every minute",
            targets=[targets.LambdaFunction(self.function, retry_attempts=0)])
        # Created after the slot, removed before it is dropped.
        self.schedule.node.add_dependency(self.bootstrap)
        self.alarms: dict[str, cloudwatch.Alarm] = self._create_alarms()

    def subscribe(self, id: str, *, function: lambda_.IFunction | None = None,
                  queue: sqs.IQueue | None = None, tables: Sequence[str] | None = None,
                  operations: Sequence[str] | None = None,
                  dead_letter_queue: sqs.IQueue | None = None) -> events.Rule:
        """A rule on the stream's bus that sends matching row changes to ``function`` or ``queue``.

        :param id: the rule's construct id (under this construct).
        :param function: a Lambda function to invoke with each event (give it or ``queue``).
        :param queue: an SQS queue to send each event to (give it or ``function``).
        :param tables: only changes of these tables (``schema.table``, from the stream's
            ``tables``); omitted, every table of the stream.
        :param operations: only these of ``insert``, ``update``, ``delete``; omitted, all three.
        :param dead_letter_queue: where EventBridge puts events it could not deliver; omitted, none
            (EventBridge retries for 24 hours, then drops them).
        """
        if (function is None) == (queue is None):
            raise InputError(f"subscribe({id!r}): give exactly one of function= or queue=")
        pattern = self.plan.pattern(tables=tables, operations=operations)
        target: events.IRuleTarget = (
            targets.LambdaFunction(function, dead_letter_queue=dead_letter_queue) if function is not None
            else targets.SqsQueue(queue, dead_letter_queue=dead_letter_queue))  # type: ignore[arg-type]
        return events.Rule(
            self, id, event_bus=self.event_bus,
            event_pattern=events.EventPattern(
                source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern.get("detail")),
            description=f"{id}: row changes from slot {self.plan.slot}", targets=[target])

    def _create_alarms(self) -> dict[str, cloudwatch.Alarm]:
        lag = self.plan.max_lag_bytes
        five_minutes = cdk.Duration.minutes(5)
        slot_lag = cloudwatch.Alarm(
            self, "SlotLagAlarm",
            alarm_description=(f"Change stream {self.plan.slot}: the consumer is {self.plan.max_lag_mib} MiB "
                               f"or more behind, or has stopped reporting (missing data breaches); "
                               f"see docs/changes.md, maximum-lag policy"),
            metric=cloudwatch.Metric(namespace=change_consumer.DEFAULT_METRIC_NAMESPACE,
                                     metric_name="SlotLagBytes", dimensions_map={"Slot": self.plan.slot},
                                     statistic="Maximum", period=five_minutes),
            threshold=lag, evaluation_periods=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING)
        errors = cloudwatch.Alarm(
            self, "ConsumerErrorsAlarm",
            alarm_description=f"Change consumer {self.node.path} failed in 3 consecutive 5-minute periods",
            metric=self.function.metric_errors(statistic="Sum", period=five_minutes),
            threshold=0, evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        alarms = {"SlotLag": slot_lag, "ConsumerErrors": errors}
        instance_id = self._instance_identifier()
        if instance_id is not None:
            for metric_name, what in RDS_WAL_METRICS:
                alarms[metric_name] = cloudwatch.Alarm(
                    self, f"{metric_name}Alarm",
                    alarm_description=f"{what} {self.plan.max_lag_mib} MiB or more on the database of "
                                      f"{self.node.path}: a slot is keeping WAL (docs/changes.md)",
                    metric=cloudwatch.Metric(namespace="AWS/RDS", metric_name=metric_name,
                                             dimensions_map={"DBInstanceIdentifier": instance_id},
                                             statistic="Maximum", period=five_minutes),
                    threshold=lag, evaluation_periods=2,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        return alarms

    def _instance_identifier(self) -> str | None:
        """The writer instance RDS reports the transaction-log metrics for."""
        if self.database.instance is not None:
            return self.database.instance.instance_identifier
        if self.database.cluster is not None:
            return self.database.cluster.instance_identifiers[0]
        return self.database.resource.instance_identifier  # type: ignore[union-attr]

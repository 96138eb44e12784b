"""Committed row changes of a PostgreSQL ``Database`` as EventBridge events (Pulumi).

Pulumi twin of :class:`deploy_paradigms.cdk.change_stream.ChangeStream`; same steps and
attribute names. The slot's lifecycle runs through ``aws.lambda_.Invocation`` with
``lifecycle_scope="CRUD"`` (the consumer creates the publication and the slot on create and
update, and drops both on delete), where CDK uses a CloudFormation custom resource. Manual:
docs/changes.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ..budget import Allocation, InputError
from ..packaging import HELPER_RUNTIME, lambda_bundle
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
from .database import Database, deployment
from .helper_function import create_helper_function
from .serverless_function import _account_key

#: Same runtime as the CDK twin (pure-Python bundle; newest Python runtime).
CONSUMER_RUNTIME = HELPER_RUNTIME


@dataclass(frozen=True, kw_only=True)
class ChangeStreamArgs:
    """Inputs of :class:`ChangeStream`. ``database`` and ``tables`` are required.

    Attributes:
        database: A :class:`Database` created with ``logical_replication=True`` (PostgreSQL or
            Aurora PostgreSQL); anything else is refused with the fix.
        tables: The tables whose changes become events (``"orders"`` or ``"schema.orders"``);
            the publication carries only these. A table created after the deploy joins on the
            consumer's next run.
        event_bus_name: The bus to publish to (name). Omitted: a new bus of its own.
        source: The events' ``source``. Omitted: ``deploy-paradigms.changes``.
        max_lag_mib: Slot lag (WAL kept for the consumer, MiB) that raises the alarms. Omitted: 1024.
        run_seconds: How long each minute's invocation keeps polling (0-45). Omitted: 45 (changes
            arrive within about a second); 0 drains once a minute.
        memory_size: The consumer's memory in MB. Omitted: 256.
        log_retention_days: The consumer's log retention. Omitted: 30.
        tags: Tags on every child. Omitted: none.
    """

    database: Database
    tables: Sequence[str]
    event_bus_name: pulumi.Input[str] | None = None
    source: str | None = None
    max_lag_mib: int = DEFAULT_MAX_LAG_MIB
    run_seconds: int = DEFAULT_RUN_SECONDS
    memory_size: int = 256
    log_retention_days: int = 30
    tags: Mapping[str, str] = field(default_factory=dict)


class ChangeStream(pulumi.ComponentResource):
    """Row changes of ``tables`` as events on an EventBridge bus (see the module docstring).

    Attributes: ``plan`` (slot, publication, tables, source), ``allocation`` (one connection on
    the database's ledger), ``event_bus_name``, ``function``, ``bootstrap`` (the slot's
    lifecycle invocation), ``schedule``, ``alarms``; :meth:`subscribe` adds subscribers.
    """

    TYPE = "deploy-paradigms:changes:ChangeStream"

    def __init__(self, name: str, args: ChangeStreamArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        database = args.database
        self.plan: ChangeStreamPlan = plan_change_stream(
            database.engine, name, tables=args.tables, source=args.source, max_lag_mib=args.max_lag_mib,
            run_seconds=args.run_seconds, logical_replication=database.logical_replication)
        # Its reserved concurrency (1) comes out of the account's quota like every function's.
        deployment().account(*_account_key(), requested_by=name).reserve(name, 1)
        super().__init__(self.TYPE, name, {"slot": self.plan.slot}, opts)
        self._name = name
        self.database = database
        self.allocation: Allocation = database.allocate(
            name, 1, paradigm="change-stream",
            detail="consumer function, reserved concurrency 1 x 1 connection (slot reads, bootstrap, "
                   "teardown); the SQL interface uses no WAL sender")
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        if args.event_bus_name is None:
            self.event_bus: aws.cloudwatch.EventBus | None = aws.cloudwatch.EventBus(
                f"{name}-bus", description=f"Row changes of {', '.join(self.plan.tables)} (deploy-paradigms)",
                tags=tags, opts=child)
            self.event_bus_name: pulumi.Input[str] = self.event_bus.name
            bus_arn: pulumi.Input[str] = self.event_bus.arn
        else:
            self.event_bus = None
            self.event_bus_name = args.event_bus_name
            bus_arn = pulumi.Output.all(aws.get_partition_output().partition, aws.get_region_output().region,
                                        aws.get_caller_identity_output().account_id,
                                        pulumi.Output.from_input(args.event_bus_name)).apply(
                lambda v: f"arn:{v[0]}:events:{v[1]}:{v[2]}:event-bus/{v[3]}")

        environment: dict[str, pulumi.Input[str]] = {
            **direct_connection_environment(
                host=database.endpoint_address, secret_arn=database.secret_arn, port=database.port,
                name=database.database_name, user=database.master_username, engine_is_postgres=True,
                url_params=CONSUMER_URL_PARAMS),
            **self.plan.consumer_environment(),
            change_consumer.EVENT_BUS: self.event_bus_name,
        }
        helper = create_helper_function(
            self, plan_helper_function("change_consumer", name=name, timeout_s=FUNCTION_TIMEOUT_S,
                                       memory_mb=args.memory_size, log_retention_days=args.log_retention_days,
                                       details={"slot": self.plan.slot}),
            database=database, code=pulumi.FileArchive(str(lambda_bundle("change_stream",
                                                                         engine=database.engine.value))),
            environment=environment, arns={"database_secret": database.secret_arn, "event_bus": bus_arn},
            tags=tags)
        self.log_group, self.role = helper.log_group, helper.role
        self.security_group, self.function = helper.security_group, helper.function
        rules = list(helper.rules)

        # Publication and slot: created on create/update, dropped on delete (CRUD lifecycle).
        after_database = [r for r in (database.instance, *rules) if r is not None]
        self.bootstrap = aws.lambda_.Invocation(
            f"{name}-slot", function_name=self.function.name, lifecycle_scope="CRUD",
            input=json.dumps({"Slot": self.plan.slot, "Publication": self.plan.publication,
                              "Tables": ",".join(self.plan.tables)}),
            opts=pulumi.ResourceOptions(parent=self, depends_on=after_database))
        self.schedule = aws.cloudwatch.EventRule(
            f"{name}-schedule", schedule_expression="rate(1 minute)",
            description=f"Runs the change consumer of slot {self.plan.slot} every minute", tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.bootstrap]))
        aws.cloudwatch.EventTarget(
            f"{name}-schedule-target", rule=self.schedule.name, arn=self.function.arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(maximum_retry_attempts=0,
                                                                    maximum_event_age_in_seconds=60),
            opts=child)
        aws.lambda_.Permission(
            f"{name}-schedule-invoke", action="lambda:InvokeFunction", function=self.function.name,
            principal="events.amazonaws.com", source_arn=self.schedule.arn, opts=child)
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = self._create_alarms(name, tags)
        self.register_outputs({"slot": self.plan.slot, "eventBusName": self.event_bus_name,
                               "functionName": self.function.name})

    def subscribe(self, name: str, *, function: aws.lambda_.Function | None = None,
                  queue: aws.sqs.Queue | None = None, tables: Sequence[str] | None = None,
                  operations: Sequence[str] | None = None,
                  dead_letter_queue: aws.sqs.Queue | None = None) -> aws.cloudwatch.EventRule:
        """A rule on the stream's bus that sends matching row changes to ``function`` or ``queue``
        (one of them); ``tables`` (``schema.table``) and ``operations`` narrow it, omitted all.
        ``dead_letter_queue`` receives what EventBridge could not deliver; omitted, none (it
        retries for 24 hours). For a queue, give it a policy that lets this rule send to it."""
        if (function is None) == (queue is None):
            raise InputError(f"subscribe({name!r}): give exactly one of function= or queue=")
        pattern = self.plan.pattern(tables=tables, operations=operations)
        child = pulumi.ResourceOptions(parent=self)
        rule = aws.cloudwatch.EventRule(
            f"{self._name}-{name}", event_bus_name=self.event_bus_name, event_pattern=json.dumps(pattern),
            description=f"{name}: row changes from slot {self.plan.slot}", opts=child)
        target_arn = function.arn if function is not None else queue.arn  # type: ignore[union-attr]
        aws.cloudwatch.EventTarget(
            f"{self._name}-{name}-target", rule=rule.name, event_bus_name=self.event_bus_name, arn=target_arn,
            dead_letter_config=(aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=dead_letter_queue.arn)
                                if dead_letter_queue is not None else None),
            opts=child)
        if function is not None:
            aws.lambda_.Permission(f"{self._name}-{name}-invoke", action="lambda:InvokeFunction",
                                   function=function.name, principal="events.amazonaws.com",
                                   source_arn=rule.arn, opts=child)
        return rule

    def _create_alarms(self, name: str, tags: Mapping[str, str]) -> dict[str, aws.cloudwatch.MetricAlarm]:
        child = pulumi.ResourceOptions(parent=self)
        lag = self.plan.max_lag_bytes
        alarms = {
            "SlotLag": aws.cloudwatch.MetricAlarm(
                f"{name}-slot-lag",
                alarm_description=(f"Change stream {self.plan.slot}: the consumer is {self.plan.max_lag_mib} "
                                   f"MiB or more behind, or has stopped reporting (missing data breaches); "
                                   f"see docs/changes.md, maximum-lag policy"),
                namespace=change_consumer.DEFAULT_METRIC_NAMESPACE, metric_name="SlotLagBytes",
                dimensions={"Slot": self.plan.slot}, statistic="Maximum", period=300, evaluation_periods=2,
                threshold=lag, comparison_operator="GreaterThanOrEqualToThreshold",
                treat_missing_data="breaching", tags=tags, opts=child),
            "ConsumerErrors": aws.cloudwatch.MetricAlarm(
                f"{name}-consumer-errors",
                alarm_description=f"Change consumer {name} failed in 3 consecutive 5-minute periods",
                namespace="AWS/Lambda", metric_name="Errors", dimensions={"FunctionName": self.function.name},
                statistic="Sum", period=300, evaluation_periods=3, threshold=0,
                comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching", tags=tags,
                opts=child),
        }
        instance_id = self.database.instance_identifier
        if instance_id is not None:
            for metric, what in RDS_WAL_METRICS:
                alarms[metric] = aws.cloudwatch.MetricAlarm(
                    f"{name}-{metric.lower()}",
                    alarm_description=f"{what} {self.plan.max_lag_mib} MiB or more on the database of "
                                      f"{name}: a slot is keeping WAL (docs/changes.md)",
                    namespace="AWS/RDS", metric_name=metric, dimensions={"DBInstanceIdentifier": instance_id},
                    statistic="Maximum", period=300, evaluation_periods=2, threshold=lag,
                    comparison_operator="GreaterThanOrEqualToThreshold", treat_missing_data="notBreaching",
                    tags=tags, opts=child)
        return alarms

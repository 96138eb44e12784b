"""Stack ``Changes``: PostgreSQL row changes as EventBridge events (the Pulse paradigm).

    cdk synth Changes                               # db.t3.micro, logical replication on
    cdk synth Changes -c engine=aurora-postgresql -c instanceClass=db.r6g.large

A ``ChangeStream`` on the ``orders`` table; a subscription sends every change to an encrypted
SQS queue (with a dead-letter queue), where an application would read them. Manual: docs/changes.md.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from deploy_paradigms.cdk.change_stream import ChangeStream
from deploy_paradigms.cdk.database import Database
from stacks.common import (
    acknowledge_example_database,
    check_context,
    context_bool,
    context_int,
    example_budget_check,
    example_vpc,
)

#: The example's table (created by the application's migrations; the stream adds it to its
#: publication on the first consumer run after it exists).
ORDERS = "public.orders"


class ChangesStack(cdk.Stack):
    """VPC + PostgreSQL with logical replication + ``ChangeStream`` + an SQS subscriber."""

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        vpc = example_vpc(self)
        check_context(self)
        self.database = Database(
            self, "Database", vpc=vpc,
            engine=str(self.node.try_get_context("engine") or "postgres"),
            instance_class=str(self.node.try_get_context("instanceClass") or "db.t3.micro"),
            max_connections=context_int(self, "maxConnections"),
            reserve=context_int(self, "reserve"),
            multi_az=context_bool(self, "multiAz"),
            logical_replication=True)
        self.stream = ChangeStream(self, "Stream", database=self.database, tables=[ORDERS])
        dead_letters = sqs.Queue(self, "OrderChangesDeadLetters", enforce_ssl=True,
                                 encryption=sqs.QueueEncryption.SQS_MANAGED,
                                 retention_period=cdk.Duration.days(14))
        self.queue = sqs.Queue(self, "OrderChanges", enforce_ssl=True,
                               encryption=sqs.QueueEncryption.SQS_MANAGED,
                               dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=5))
        self.stream.subscribe("OrderChangesRule", queue=self.queue, tables=[ORDERS],
                              dead_letter_queue=dead_letters)
        self.template_options.description = (
            f"deploy-paradigms change stream example: {self.database.engine.value} "
            f"{self.database.limit.instance_class}, slot {self.stream.plan.slot}")
        cdk.CfnOutput(self, "EventBusName", value=self.stream.event_bus.event_bus_name,
                      description="The bus the row changes are published to")
        cdk.CfnOutput(self, "QueueUrl", value=self.queue.queue_url,
                      description="Every change of public.orders arrives here")
        cdk.CfnOutput(self, "ConnectionBudget", value=self.database.ledger.one_line(),
                      description="The database's ledger: reserve, consumers and what is left")
        self.budget_check = example_budget_check(self, self.database)
        acknowledge_example_database(self.database, reached_by="the change consumer's security group")

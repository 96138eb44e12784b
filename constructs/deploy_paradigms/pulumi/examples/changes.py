"""The change stream example (config ``paradigm=changes``): row changes of ``public.orders`` as
EventBridge events, delivered to an encrypted SQS queue with a dead-letter queue.

Same architecture as the CDK stack ``Changes`` (``stacks/changes.py``); the program creates the
database with ``logical_replication=True`` for this paradigm.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from ..change_stream import ChangeStream, ChangeStreamArgs
from ..database import Database
from ..network import Network

ORDERS = "public.orders"

#: This example reads no config keys beyond the program's.
CONFIG_KEYS: dict[str, str] = {}


def build(network: Network, database: Database, config: pulumi.Config) -> None:
    stream = ChangeStream("stream", ChangeStreamArgs(database=database, tables=[ORDERS]))
    dead_letters = aws.sqs.Queue("order-changes-dlq", sqs_managed_sse_enabled=True,
                                 message_retention_seconds=14 * 24 * 3600)
    queue = aws.sqs.Queue("order-changes", sqs_managed_sse_enabled=True,
                          redrive_policy=dead_letters.arn.apply(
                              lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 5})))
    rule = stream.subscribe("order-changes", queue=queue, tables=[ORDERS], dead_letter_queue=dead_letters)
    for label, target in (("queue", queue), ("dlq", dead_letters)):
        aws.sqs.QueuePolicy(f"order-changes-{label}-policy", queue_url=target.url,
                            policy=pulumi.Output.all(target.arn, rule.arn).apply(lambda v: json.dumps({
                                "Version": "2012-10-17", "Statement": [
                                    {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                     "Action": "sqs:SendMessage", "Resource": v[0],
                                     "Condition": {"ArnEquals": {"aws:SourceArn": v[1]}}},
                                    {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": v[0],
                                     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})))
    pulumi.export("slot", stream.plan.slot)
    pulumi.export("eventBusName", stream.event_bus_name)
    pulumi.export("queueUrl", queue.url)

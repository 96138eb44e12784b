"""``ChangeStream`` (CDK): logical replication on the parameter group, the slot's custom resource
before the schedule, one ledger connection, the alarms, subscriptions, and its refusals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from conftest import template_of
from syrupy.extensions.json import JSONSnapshotExtension
from test_serverless_cdk import resources, small_stack

from deploy_paradigms.budget import InputError
from deploy_paradigms.cdk.change_stream import ChangeStream
from deploy_paradigms.plans.changes import event_pattern


@pytest.fixture(scope="module")
def template(synth: Callable[..., Any]) -> dict[str, Any]:
    return template_of(synth(("Changes",)), "Changes")


def test_changes_template_snapshot(template: dict[str, Any], snapshot: Any) -> None:
    assert template == snapshot(extension_class=JSONSnapshotExtension)


def test_logical_replication_is_on_in_the_parameter_group(template: dict[str, Any]) -> None:
    (group,) = resources(template, "AWS::RDS::DBParameterGroup").values()
    assert group["Properties"]["Parameters"] == {"rds.logical_replication": "1", "rds.force_ssl": "1"}


def test_the_slot_is_created_before_the_schedule_and_dropped_after_it(template: dict[str, Any]) -> None:
    (slot_id, slot), = resources(template, "Custom::ChangeStreamSlot").items()
    assert slot["Properties"]["Slot"] == "dp_changes_stream"
    assert slot["Properties"]["Tables"] == "public.orders"
    database_id = next(iter(resources(template, "AWS::RDS::DBInstance")))
    assert database_id in slot["DependsOn"]
    schedule = next(r for r in resources(template, "AWS::Events::Rule").values()
                    if r["Properties"].get("ScheduleExpression") == "rate(1 minute)")
    assert slot_id in schedule["DependsOn"]  # CloudFormation deletes the schedule first
    consumer = next(r for r in resources(template, "AWS::Lambda::Function").values()
                    if r["Properties"].get("Handler") == "deploy_paradigms.runtime.change_consumer.handler")
    assert consumer["Properties"]["ReservedConcurrentExecutions"] == 1
    assert consumer["Properties"]["Timeout"] == 60
    env = consumer["Properties"]["Environment"]["Variables"]
    assert "sslmode=verify-full&sslrootcert=rds-ca-bundle.pem" in env["DATABASE_URL_PARAMS"]
    assert "DATABASE_PASSWORD" not in env


def test_subscription_rule_filters_on_the_stream_bus(template: dict[str, Any]) -> None:
    rule = next(r for r in resources(template, "AWS::Events::Rule").values()
                if "EventPattern" in r["Properties"])
    assert rule["Properties"]["EventPattern"] == event_pattern("deploy-paradigms.changes",
                                                               tables=["public.orders"])
    assert "EventBusName" in rule["Properties"]


def test_alarms_cover_slot_lag_transaction_logs_and_errors(template: dict[str, Any]) -> None:
    alarms = {a["Properties"]["MetricName"]: a["Properties"]
              for a in resources(template, "AWS::CloudWatch::Alarm").values()
              if "MetricName" in a["Properties"]}
    assert alarms["SlotLagBytes"]["Threshold"] == 1024 * 1024 * 1024
    assert alarms["SlotLagBytes"]["TreatMissingData"] == "breaching"  # a stopped consumer pages too
    assert alarms["TransactionLogsDiskUsage"]["Namespace"] == "AWS/RDS"
    assert alarms["OldestReplicationSlotLag"]["Threshold"] == 1024 * 1024 * 1024
    assert "Errors" in alarms


def test_publish_permission_is_the_bus_only(template: dict[str, Any]) -> None:
    statements = [s for p in resources(template, "AWS::IAM::Policy").values()
                  for s in p["Properties"]["PolicyDocument"]["Statement"]
                  if s["Action"] == "events:PutEvents"]
    assert len(statements) == 1 and statements[0]["Resource"] == {
        "Fn::GetAtt": [next(iter(resources(template, "AWS::Events::EventBus"))), "Arn"]}


def test_the_consumer_books_one_connection_on_the_ledger() -> None:
    stack, db = small_stack(logical_replication=True)
    before = db.ledger.remaining
    ChangeStream(stack, "Changes", database=db, tables=["orders"])
    assert db.ledger.remaining == before - 1
    assert db.ledger.allocations[-1].paradigm == "change-stream"


def test_aurora_postgresql_sets_it_in_the_cluster_parameter_group() -> None:
    stack, db = small_stack(engine="aurora-postgresql", instance_class="db.r6g.large",
                            logical_replication=True)
    ChangeStream(stack, "Changes", database=db, tables=["orders"])
    template = cdk.assertions.Template.from_stack(stack).to_json()
    (group,) = resources(template, "AWS::RDS::DBClusterParameterGroup").values()
    assert group["Properties"]["Parameters"]["rds.logical_replication"] == "1"


def test_refusals() -> None:
    stack, db = small_stack()
    with pytest.raises(InputError, match=r"logical_replication=True"):
        ChangeStream(stack, "Changes", database=db, tables=["orders"])
    with pytest.raises(InputError, match="rds.logical_replication.*pass logical_replication=True"):
        small_stack(parameters={"rds.logical_replication": "1"})
    with pytest.raises(InputError, match="mysql has no rds.logical_replication"):
        small_stack(engine="mysql", logical_replication=True)
    stack, db = small_stack(engine="mysql")
    with pytest.raises(InputError, match="engine='mysql' is not supported.*Debezium"):
        ChangeStream(stack, "Changes", database=db, tables=["orders"])
    stack, db = small_stack(logical_replication=True)
    with pytest.raises(InputError, match="non-empty list"):
        ChangeStream(stack, "A", database=db, tables=[])
    with pytest.raises(InputError, match="run_seconds=50"):
        ChangeStream(stack, "B", database=db, tables=["orders"], run_seconds=50)
    with pytest.raises(InputError, match="max_lag_mib=1"):
        ChangeStream(stack, "C", database=db, tables=["orders"], max_lag_mib=1)
    with pytest.raises(InputError, match="source='aws.rds'"):
        ChangeStream(stack, "D", database=db, tables=["orders"], source="aws.rds")
    stream = ChangeStream(stack, "E", database=db, tables=["orders"])
    with pytest.raises(InputError, match="exactly one of function= or queue="):
        stream.subscribe("Nothing")
    with pytest.raises(InputError, match="public.invoices is not in the stream's tables"):
        stream.subscribe("Other", queue=sqs.Queue(stack, "Q"), tables=["invoices"])
    with pytest.raises(InputError, match="operations=\\['upsert'\\]"):
        stream.subscribe("Bad", queue=sqs.Queue(stack, "Q2"), operations=["upsert"])


def test_subscribe_a_function_with_an_operation_filter() -> None:
    stack, db = small_stack(logical_replication=True)
    stream = ChangeStream(stack, "Changes", database=db, tables=["orders"])
    fn = lambda_.Function(stack, "Billing", code=lambda_.Code.from_inline("def h(e, c): pass"),
                          handler="index.h", runtime=lambda_.Runtime.PYTHON_3_14)
    rule = stream.subscribe("Deletes", function=fn, operations=["delete"])
    template = cdk.assertions.Template.from_stack(stack).to_json()
    rendered = template["Resources"][stack.get_logical_id(rule.node.default_child)]  # type: ignore[arg-type]
    assert rendered["Properties"]["EventPattern"]["detail"] == {"operation": ["delete"]}
    assert resources(template, "AWS::Lambda::Permission")

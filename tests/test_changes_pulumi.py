"""``ChangeStream`` (Pulumi), through the example program under the preview mocks: the same
decisions as the CDK twin (parameter, slot lifecycle, one ledger connection, alarms, rule)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from deploy_paradigms.budget import InputError
from deploy_paradigms.plans.changes import event_pattern
from deploy_paradigms.pulumi.preview import render


@cache
def rendered() -> tuple[dict[str, Any], ...]:
    return tuple(render("changes"))


def of_type(kind: str) -> list[dict[str, Any]]:
    return [r for r in rendered() if r["type"] == kind]


def test_changes_preview_snapshot(snapshot: Any) -> None:
    assert list(rendered()) == snapshot(extension_class=JSONSnapshotExtension)


def test_logical_replication_in_the_parameter_group() -> None:
    (group,) = of_type("aws:rds/parameterGroup:ParameterGroup")
    names = {p["name"]: p["value"] for p in group["inputs"]["parameters"]}
    assert names["rds.logical_replication"] == "1" and names["rds.force_ssl"] == "1"


def test_slot_lifecycle_invocation_and_schedule() -> None:
    (invocation,) = [i for i in of_type("aws:lambda/invocation:Invocation") if i["name"] == "stream-slot"]
    assert invocation["inputs"]["lifecycleScope"] == "CRUD"
    assert json.loads(invocation["inputs"]["input"])["Slot"] == "dp_stream"
    (function,) = [f for f in of_type("aws:lambda/function:Function")
                   if f["inputs"]["handler"] == "deploy_paradigms.runtime.change_consumer.handler"]
    assert function["inputs"]["reservedConcurrentExecutions"] == 1 and function["inputs"]["timeout"] == 60
    rules = {r["inputs"].get("eventPattern") for r in of_type("aws:cloudwatch/eventRule:EventRule")}
    assert json.dumps(event_pattern("deploy-paradigms.changes", tables=["public.orders"])) in rules


def test_alarms_match_the_cdk_twin() -> None:
    metrics = {a["inputs"]["metricName"]: a["inputs"]
               for a in of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert metrics["SlotLagBytes"]["threshold"] == 1024 ** 3
    assert metrics["SlotLagBytes"]["treatMissingData"] == "breaching"
    assert {"TransactionLogsDiskUsage", "OldestReplicationSlotLag", "Errors"} <= set(metrics)


def test_mysql_is_refused() -> None:
    with pytest.raises(InputError, match="has no rds.logical_replication"):
        render("changes", {"engine": "mysql"})

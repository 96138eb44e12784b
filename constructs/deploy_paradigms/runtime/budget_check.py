"""The ledger meets the live database: read the real limits after a deploy and compare.

The connection budget is computed at synth, from tables and formulas (estimates
outside the seed's classes) and from what the code says about the parameter
group. After a deploy this module reads what the running system allows:

* the database's ``max_connections`` and the slots reserved from it
  (PostgreSQL: ``superuser_reserved_connections``, RDS's
  ``rds.rds_superuser_reserved_connections`` and PostgreSQL 16's
  ``reserved_connections``);
* each RDS Proxy's ``MaxDatabaseConnectionsAllowed`` (a CloudWatch metric);
* the account's Lambda concurrency quota (``GetAccountSettings``);

and reports every place where the real budget is below the plan. It runs as a
CloudFormation custom resource (:func:`handler`: fail the deployment, or put a
metric an alarm watches) and from ``deploy-paradigms check``. Standard library
plus the engine's driver; AWS calls are signed by :mod:`.aws_sigv4`.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from deploy_paradigms.budget.plan import DIRECT_TLS_QUERY

from . import aws_sigv4

#: PostgreSQL settings that take slots out of max_connections (present ones only are read).
POSTGRES_RESERVED_SETTINGS = ("superuser_reserved_connections", "reserved_connections",
                              "rds.rds_superuser_reserved_connections")
#: Lambda keeps this much of the quota unreserved (Lambda developer guide, "Lambda quotas").
UNRESERVED_MINIMUM = 100
#: The namespace and metric of the alarm mode.
#: The check's one direct connection: TLS verified against the bundled RDS CAs, like migrations.
URL_PARAMS = f"connection_limit=1&connect_timeout=5&{DIRECT_TLS_QUERY}"
METRIC_NAMESPACE = "DeployParadigms"
METRIC_NAME = "BudgetShortfall"


@dataclass(frozen=True)
class PlannedBudget:
    """What the ledger promised: the custom resource's properties (or a JSON file for the CLI)."""

    engine: str
    max_connections: int
    reserved_by_engine: int  # the slots the budget assumed the engine keeps
    allocated: int  # connections handed to consumers (including shares of other apps)
    reserve: int  # kept free for admin sessions and migrations
    proxies: Mapping[str, int] = field(default_factory=dict)  # proxy name -> planned DB connections
    reserved_concurrency: int = 0  # total reserved by the app in this account and Region
    database: str = "the database"

    @property
    def needed(self) -> int:
        """Usable connections the plan relies on: what it handed out plus its reserve."""
        return self.allocated + self.reserve

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PlannedBudget:
        """From JSON or CloudFormation properties (where every number arrives as a string)."""
        proxies = data.get("proxies") or {}
        if isinstance(proxies, str):
            proxies = json.loads(proxies)
        return cls(engine=str(data["engine"]), max_connections=int(data["max_connections"]),
                   reserved_by_engine=int(data.get("reserved_by_engine", 0)),
                   allocated=int(data["allocated"]), reserve=int(data.get("reserve", 0)),
                   proxies={str(k): int(v) for k, v in dict(proxies).items()},
                   reserved_concurrency=int(data.get("reserved_concurrency", 0)),
                   database=str(data.get("database", "the database")))

    def as_properties(self) -> dict[str, str]:
        """The custom resource's properties (CloudFormation passes strings)."""
        return {"engine": self.engine, "max_connections": str(self.max_connections),
                "reserved_by_engine": str(self.reserved_by_engine), "allocated": str(self.allocated),
                "reserve": str(self.reserve), "proxies": json.dumps(dict(self.proxies), sort_keys=True),
                "reserved_concurrency": str(self.reserved_concurrency), "database": self.database}


@dataclass(frozen=True)
class LiveBudget:
    """What the running system allows (None: not read)."""

    max_connections: int
    reserved: Mapping[str, int] = field(default_factory=dict)
    proxies: Mapping[str, int | None] = field(default_factory=dict)
    account_quota: int | None = None

    @property
    def usable(self) -> int:
        return self.max_connections - sum(self.reserved.values())


def read_database(conn: Any, engine: str) -> tuple[int, dict[str, int]]:
    """(max_connections, {setting: reserved slots}) from a connection with ``query(sql)``.

    ``conn`` is a :class:`~.connection.DatabaseConnection` or anything whose ``run(sql)``
    returns rows (pg8000.native / a test double is not needed: the tests use a real server)."""
    if engine.startswith("aurora-postgres") or engine.startswith("postgres"):
        names = ", ".join(f"'{n}'" for n in ("max_connections", *POSTGRES_RESERVED_SETTINGS))
        rows = _rows(conn, f"SELECT name, setting FROM pg_settings WHERE name IN ({names})")
        values = {str(name): int(setting) for name, setting in rows}
        return values.pop("max_connections"), values
    rows = _rows(conn, "SELECT @@max_connections")
    return int(rows[0][0]), {}


def _rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    if hasattr(conn, "query"):  # the runtime's DatabaseConnection
        result = conn.query(sql)
        return [tuple(r.values()) for r in result.records()]
    return [tuple(r) for r in conn.run(sql)]  # pg8000.native.Connection


def _query_call(service_id: str, service: str, region: str, params: Mapping[str, str],
                credentials: aws_sigv4.AwsCredentials | None) -> bytes:
    """One call to an AWS query API (CloudWatch, CloudFormation): the XML body, or RuntimeError."""
    url = aws_sigv4.endpoint_url(service_id, f"https://{service}.{region}.amazonaws.com/")
    response = aws_sigv4.aws_call(method="POST", url=url, region=region, service=service,
                                  body=urlencode(dict(params)).encode(),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"},
                                  credentials=credentials)
    if not response.ok:
        raise RuntimeError(f"{service_id} {params.get('Action')} answered {response.status}: "
                           f"{response.body[:300]!r}")
    return response.body


def read_proxy_allowed(proxy_name: str, region: str, *,
                       credentials: aws_sigv4.AwsCredentials | None = None,
                       now: dt.datetime | None = None) -> int | None:
    """The proxy's ``MaxDatabaseConnectionsAllowed`` (CloudWatch, the last hour's maximum); None
    when the proxy has reported nothing yet."""
    end = now or dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(hours=1)
    params = {"Action": "GetMetricStatistics", "Version": "2010-08-01", "Namespace": "AWS/RDS",
              "MetricName": "MaxDatabaseConnectionsAllowed", "Dimensions.member.1.Name": "ProxyName",
              "Dimensions.member.1.Value": proxy_name, "StartTime": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "EndTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"), "Period": "300",
              "Statistics.member.1": "Maximum"}
    body = _query_call("cloudwatch", "monitoring", region, params, credentials)
    values = [float(e.text or 0) for e in ET.fromstring(body).iter() if e.tag.endswith("Maximum")]
    return int(max(values)) if values else None


def read_account_quota(region: str, *, credentials: aws_sigv4.AwsCredentials | None = None) -> int:
    """The account's Lambda concurrency quota in ``region`` (``GetAccountSettings``)."""
    base = aws_sigv4.endpoint_url("lambda", f"https://lambda.{region}.amazonaws.com")
    url = base.rstrip("/") + "/2016-08-19/account-settings/"
    response = aws_sigv4.aws_call(method="GET", url=url, region=region, service="lambda",
                                  credentials=credentials)
    if not response.ok:
        raise RuntimeError(f"Lambda GetAccountSettings answered {response.status}: {response.body[:300]!r}")
    settings = response.json()
    assert isinstance(settings, dict)
    return int(settings["AccountLimit"]["ConcurrentExecutions"])


def compare(plan: PlannedBudget, live: LiveBudget) -> list[str]:
    """Every place where the real budget is below the plan, as sentences (empty: all fits)."""
    findings: list[str] = []
    reserved = ", ".join(f"{k} {v}" for k, v in sorted(live.reserved.items())) or "none"
    if live.usable < plan.needed:
        findings.append(
            f"{plan.database}: the database allows {live.usable} usable connections (max_connections "
            f"{live.max_connections} - reserved slots: {reserved}), fewer than the {plan.needed} the plan "
            f"relies on ({plan.allocated} allocated + {plan.reserve} reserve; planned max_connections "
            f"{plan.max_connections}); lower the consumers' shares or pass max_connections="
            f"{live.max_connections} so the budget uses the real value")
    for name, planned in sorted(plan.proxies.items()):
        allowed = live.proxies.get(name)
        if allowed is not None and allowed < planned:
            findings.append(
                f"RDS Proxy {name}: MaxDatabaseConnectionsAllowed is {allowed}, below the {planned} database "
                f"connections its clients were sized for; lower their reserved concurrency or the database's "
                f"real max_connections is below the plan")
    if live.account_quota is not None and live.account_quota - UNRESERVED_MINIMUM < plan.reserved_concurrency:
        findings.append(
            f"the account's Lambda concurrency quota is {live.account_quota}: "
            f"{live.account_quota - UNRESERVED_MINIMUM} reservable, fewer than the "
            f"{plan.reserved_concurrency} the app reserves; request a higher quota "
            f"or pass deploy-paradigms:accountConcurrencyLimit={live.account_quota}")
    return findings


def check(plan: PlannedBudget, conn: Any, *, region: str | None = None,
          credentials: aws_sigv4.AwsCredentials | None = None) -> tuple[LiveBudget, list[str]]:
    """Read everything the plan names and compare. ``region`` None: database only."""
    max_connections, reserved = read_database(conn, plan.engine)
    proxies: dict[str, int | None] = {}
    quota = None
    if region is not None:
        proxies = {name: read_proxy_allowed(name, region, credentials=credentials) for name in plan.proxies}
        if plan.reserved_concurrency:
            quota = read_account_quota(region, credentials=credentials)
    live = LiveBudget(max_connections, reserved, proxies, quota)
    return live, compare(plan, live)


def read_stack_plan(stack: str, region: str, *, credentials: aws_sigv4.AwsCredentials | None = None
                    ) -> PlannedBudget:
    """The plan a deployed stack carries in its ``...BudgetPlan`` output (CloudFormation DescribeStacks)."""
    body = _query_call("cloudformation", "cloudformation", region,
                       {"Action": "DescribeStacks", "Version": "2010-05-15", "StackName": stack}, credentials)
    outputs: dict[str, str] = {}
    for member in ET.fromstring(body).iter():
        if member.tag.endswith("member"):
            key = next((c.text for c in member if c.tag.endswith("OutputKey")), None)
            value = next((c.text for c in member if c.tag.endswith("OutputValue")), None)
            if key and value:
                outputs[key] = value
    found = [v for k, v in sorted(outputs.items()) if "BudgetPlan" in k]
    if len(found) != 1:
        raise RuntimeError(f"stack {stack!r} has {len(found)} BudgetPlan output(s) (outputs: "
                           f"{', '.join(sorted(outputs)) or 'none'}); add a BudgetCheck to the stack, or "
                           f"pass "
                           f"--plan with the plan's JSON")
    return PlannedBudget.from_mapping(json.loads(found[0]))


# --------------------------------------------------------------------------- custom resource


def put_shortfall_metric(database: str, value: int, region: str,
                         credentials: aws_sigv4.AwsCredentials | None = None) -> None:
    """The alarm mode's signal: ``DeployParadigms/BudgetShortfall`` (1 = below plan)."""
    params = {"Action": "PutMetricData", "Version": "2010-08-01", "Namespace": METRIC_NAMESPACE,
              "MetricData.member.1.MetricName": METRIC_NAME,
              "MetricData.member.1.Dimensions.member.1.Name": "Database",
              "MetricData.member.1.Dimensions.member.1.Value": database,
              "MetricData.member.1.Value": str(value)}
    _query_call("cloudwatch", "monitoring", region, params, credentials)


def respond(event: Mapping[str, Any], status: str, reason: str, data: Mapping[str, str]) -> None:
    """Answer CloudFormation on the presigned ``ResponseURL`` (custom resource protocol)."""
    body = json.dumps({
        "Status": status, "Reason": reason[:3500],
        "PhysicalResourceId": event.get("PhysicalResourceId") or f"budget-check-{event['LogicalResourceId']}",
        "StackId": event["StackId"], "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"], "Data": dict(data)}).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - CloudFormation's URL
        answer.read()


class BudgetShortfall(RuntimeError):
    """The live budget is below the plan (a direct invocation in ``fail`` mode raises it)."""


def _run(props: Mapping[str, Any], conn: Any) -> tuple[dict[str, str], list[str], str]:
    """Check ``props`` (``Plan``, ``Mode``); (data, findings, mode). Alarm mode puts the metric."""
    raw = props["Plan"]
    plan = PlannedBudget.from_mapping(json.loads(raw) if isinstance(raw, str) else raw)
    mode = str(props.get("Mode", "fail"))
    region = aws_sigv4.region_from_environment()
    if conn is None:
        from . import connection

        conn = connection.get_connection()
    live, findings = check(plan, conn, region=region)
    if mode == "alarm":
        put_shortfall_metric(plan.database, 1 if findings else 0, region)
    data = {"Usable": str(live.usable), "MaxConnections": str(live.max_connections),
            "Findings": str(len(findings))}
    return data, findings, mode


def handler(event: Mapping[str, Any], context: Any = None, *, conn: Any = None) -> dict[str, Any]:
    """CloudFormation custom resource: on Create/Update, check the live budget against
    ``ResourceProperties.Plan``; ``Mode`` ``fail`` fails the deployment on a shortfall, ``alarm``
    puts ``DeployParadigms/BudgetShortfall`` (an alarm in the stack watches it) and succeeds.
    Delete always succeeds. An event without ``RequestType`` is a direct invocation with ``Plan``
    and ``Mode`` (Pulumi's ``aws.lambda_.Invocation``): ``fail`` raises :class:`BudgetShortfall`,
    which fails ``pulumi up``. ``conn`` replaces the runtime's connection (tests)."""
    if "RequestType" not in event:
        direct, findings, mode = _run(event, conn)
        if findings and mode == "fail":
            raise BudgetShortfall("; ".join(findings))
        return {**direct, "Report": "; ".join(findings) or "the live budget covers the plan"}
    data: dict[str, str] = {}
    try:
        if event["RequestType"] == "Delete":
            respond(event, "SUCCESS", "nothing to clean up", data)
            return data
        data, findings, mode = _run(event["ResourceProperties"], conn)
        if findings and mode == "fail":
            respond(event, "FAILED", "; ".join(findings), data)
        else:
            respond(event, "SUCCESS", "; ".join(findings) or "the live budget covers the plan", data)
    except Exception as exc:  # noqa: BLE001 - CloudFormation must always get an answer
        respond(event, "FAILED", f"budget check could not run: {type(exc).__name__}: {exc}", data)
    return data

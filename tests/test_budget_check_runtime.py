"""The live budget check (``runtime/budget_check.py``) against a real PostgreSQL and a local AWS stub.

The session's PostgreSQL runs with ``max_connections=60`` and 3 superuser slots:
below what db.t3.micro's plan relies on (86, 76 usable). CloudWatch, Lambda and
CloudFormation's response URL are one local HTTP server that answers like the
services and records each (SigV4-signed) request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from deploy_paradigms.budget import ConnectionLedger, describe_connection_limit
from deploy_paradigms.runtime import aws_sigv4, budget_check

T3_MICRO = describe_connection_limit("postgres", "db.t3.micro")


class AwsStub(ThreadingHTTPServer):
    """CloudWatch (query API), Lambda GetAccountSettings and a CloudFormation response URL."""

    def __init__(self, *, proxy_allowed: int | None, quota: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.proxy_allowed = proxy_allowed
        self.quota = quota
        self.stack_plan = ""  # the BudgetPlan output DescribeStacks answers with
        self.requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: AwsStub

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        del format, args

    def _record(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        entry = {"method": self.command, "path": self.path, "body": body,
                 "authorization": self.headers.get("Authorization", "")}
        self.server.requests.append(entry)
        return entry

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._record()
        if urlsplit(self.path).path == "/2016-08-19/account-settings/":
            payload = {"AccountLimit": {"ConcurrentExecutions": self.server.quota,
                                        "UnreservedConcurrentExecutions": self.server.quota - 100}}
            self._answer(200, json.dumps(payload).encode(), "application/json")
        else:
            self._answer(404, b"{}", "application/json")

    def do_POST(self) -> None:  # noqa: N802
        params = dict(parse_qsl(self._record()["body"]))
        if params.get("Action") == "GetMetricStatistics":
            point = ("" if self.server.proxy_allowed is None else
                     f"<member><Maximum>{self.server.proxy_allowed}.0</Maximum><Unit>Count</Unit></member>")
            xml = (f'<GetMetricStatisticsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">'
                   f"<GetMetricStatisticsResult><Datapoints>{point}</Datapoints><Label>x</Label>"
                   f"</GetMetricStatisticsResult></GetMetricStatisticsResponse>")
            self._answer(200, xml.encode(), "text/xml")
        elif params.get("Action") == "DescribeStacks":
            value = self.server.stack_plan.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            xml = ("<DescribeStacksResponse><DescribeStacksResult><Stacks><member><Outputs><member>"
                   f"<OutputKey>DatabaseBudgetPlanA1B2C3D4</OutputKey><OutputValue>{value}</OutputValue>"
                   "</member></Outputs></member></Stacks></DescribeStacksResult></DescribeStacksResponse>")
            self._answer(200, xml.encode(), "text/xml")
        elif params.get("Action") == "PutMetricData":
            self._answer(200, b"<PutMetricDataResponse/>", "text/xml")
        else:
            self._answer(400, b"<Error/>", "text/xml")

    def do_PUT(self) -> None:  # noqa: N802 - the custom resource response
        self._record()
        self._answer(200, b"", "text/plain")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsStub]:
    stub = AwsStub(proxy_allowed=40, quota=1000)
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    for key, value in {"AWS_ENDPOINT_URL": stub.url, "AWS_REGION": "eu-west-1",
                       "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    aws_sigv4.reset_default_credentials()
    yield stub
    stub.shutdown()
    stub.server_close()
    aws_sigv4.reset_default_credentials()


def _plan(**overrides: Any) -> budget_check.PlannedBudget:
    """What a db.t3.micro ledger with one function of 72 connections promised."""
    ledger = ConnectionLedger(T3_MICRO)
    ledger.allocate("Api", 72, paradigm="serverless")
    values: dict[str, Any] = {
        "engine": "postgres", "max_connections": T3_MICRO.max_connections,
        "reserved_by_engine": T3_MICRO.reserved, "allocated": ledger.allocated, "reserve": ledger.reserve,
        "proxies": {"api-proxy": 72}, "reserved_concurrency": 71, "database": "Serverless/Database"}
    values.update(overrides)
    return budget_check.PlannedBudget.from_mapping(values)


def test_reads_max_connections_and_reserved_slots(postgres_server: Any) -> None:
    conn = postgres_server.admin()
    try:
        max_connections, reserved = budget_check.read_database(conn, "postgres")
    finally:
        conn.close()
    assert max_connections == 60
    assert reserved["superuser_reserved_connections"] == 3
    # PostgreSQL 16 added reserved_connections; older servers have no such setting.
    assert set(reserved) <= set(budget_check.POSTGRES_RESERVED_SETTINGS)


def test_a_database_below_the_plan_is_reported(postgres_server: Any) -> None:
    conn = postgres_server.admin()
    try:
        live, findings = budget_check.check(_plan(), conn)
    finally:
        conn.close()
    assert live.max_connections == 60 and live.usable <= 57
    (finding,) = findings
    assert f"allows {live.usable} usable connections (max_connections 60" in finding
    assert ("fewer than the 76 the plan relies on (72 allocated + 4 reserve; planned max_connections 86)"
            in finding)
    assert "pass max_connections=60" in finding


def test_a_plan_within_the_live_database_passes(postgres_server: Any) -> None:
    conn = postgres_server.admin()
    try:
        _, findings = budget_check.check(_plan(max_connections=60, allocated=40, reserve=3, proxies={}), conn)
    finally:
        conn.close()
    assert findings == []


def test_proxy_and_account_are_read_through_signed_calls(postgres_server: Any, aws: AwsStub) -> None:
    aws.quota = 50  # a new account: nothing can be reserved
    conn = postgres_server.admin()
    try:
        live, findings = budget_check.check(_plan(), conn, region="eu-west-1")
    finally:
        conn.close()
    assert live.proxies == {"api-proxy": 40} and live.account_quota == 50
    assert any("RDS Proxy api-proxy: MaxDatabaseConnectionsAllowed is 40, below the 72" in f
               for f in findings)
    assert any("quota is 50: -50 reservable, fewer than the 71" in f for f in findings)
    assert all(r["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
               for r in aws.requests)
    assert {r["method"] for r in aws.requests} == {"GET", "POST"}


def _event(aws: AwsStub, mode: str, plan: budget_check.PlannedBudget) -> dict[str, Any]:
    return {"RequestType": "Create", "ResponseURL": f"{aws.url}/cfn-response?signed=1",
            "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/S/1", "RequestId": "r-1",
            "LogicalResourceId": "BudgetCheck",
            "ResourceProperties": {"Plan": json.dumps(plan.as_properties()), "Mode": mode}}


@pytest.mark.parametrize(("mode", "status"), [("fail", "FAILED"), ("alarm", "SUCCESS")])
def test_custom_resource_fails_the_deployment_or_raises_the_alarm(postgres_server: Any, aws: AwsStub,
                                                                  mode: str, status: str) -> None:
    conn = postgres_server.admin()
    try:
        budget_check.handler(_event(aws, mode, _plan()), None, conn=conn)
    finally:
        conn.close()
    (answer,) = [r for r in aws.requests if r["method"] == "PUT"]
    response = json.loads(answer["body"])
    assert response["Status"] == status and "fewer than the 76 the plan relies on" in response["Reason"]
    metrics = [dict(parse_qsl(r["body"])) for r in aws.requests if "PutMetricData" in r["body"]]
    if mode == "alarm":
        assert [m["MetricData.member.1.Value"] for m in metrics] == ["1"]
    else:
        assert metrics == []


def test_custom_resource_always_answers(aws: AwsStub) -> None:
    event = _event(aws, "fail", _plan())
    event["ResourceProperties"]["Plan"] = "{not json"
    budget_check.handler(event, None, conn=object())
    (answer,) = [r for r in aws.requests if r["method"] == "PUT"]
    assert json.loads(answer["body"])["Status"] == "FAILED"
    assert "budget check could not run" in json.loads(answer["body"])["Reason"]


# -- deploy-paradigms check ---------------------------------------------------------------------
def _point_cli_at(postgres_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from deploy_paradigms.runtime import settings

    for key in settings.ALL:
        monkeypatch.delenv(key, raising=False)
    for key, value in {settings.HOST: postgres_server.host, settings.PORT: str(postgres_server.port),
                       settings.NAME: postgres_server.dbname, settings.USER: postgres_server.superuser,
                       settings.URL_PARAMS: "sslmode=disable",
                       settings.PASSWORD_FROM_ECS_SECRET: postgres_server.superuser_password}.items():
        monkeypatch.setenv(key, value)


def test_cli_check_with_a_plan_file(postgres_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from deploy_paradigms.cli import main

    _point_cli_at(postgres_server, monkeypatch)
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(_plan(proxies={}, reserved_concurrency=0).as_properties()))
    assert main(["check", "--plan", str(plan)]) == 1
    out = capsys.readouterr().out
    assert "live max_connections 60" in out and "fewer than the 76 the plan relies on" in out
    plan.write_text(json.dumps(_plan(max_connections=60, allocated=40, reserve=3, proxies={},
                                     reserved_concurrency=0).as_properties()))
    assert main(["check", "--plan", str(plan)]) == 0
    assert "the live budget covers the plan" in capsys.readouterr().out


def test_cli_check_reads_the_plan_of_a_deployed_stack(postgres_server: Any, aws: AwsStub,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from deploy_paradigms.cli import main

    _point_cli_at(postgres_server, monkeypatch)
    aws.stack_plan = json.dumps(_plan().as_properties())
    assert main(["check", "--stack", "SharedApps", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["max_connections"] == 60 and report["proxies"] == {"api-proxy": 40}
    assert len(report["findings"]) == 2  # the database and the proxy; the account's 1,000 is enough



def test_direct_invocation_raises_in_fail_mode(postgres_server: Any, aws: AwsStub) -> None:
    """Pulumi invokes the function directly (aws.lambda_.Invocation): a raise fails `pulumi up`.
    Two findings: the database and the proxy (the stub account has 1,000)."""
    conn = postgres_server.admin()
    try:
        with pytest.raises(budget_check.BudgetShortfall, match="fewer than the 76 the plan relies on"):
            budget_check.handler({"Plan": _plan().as_properties(), "Mode": "fail"}, None, conn=conn)
        answer = budget_check.handler({"Plan": json.dumps(_plan().as_properties()), "Mode": "alarm"}, None,
                                      conn=conn)
    finally:
        conn.close()
    assert answer["Findings"] == "2" and "fewer than the 76" in answer["Report"]
    assert not [r for r in aws.requests if r["method"] == "PUT"]  # no CloudFormation to answer

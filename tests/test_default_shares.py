"""Issue 15, "defaults that compose": consumers with default shares split a database fairly.

The policy (budget/ledger.py, docs/composition.md): explicit ``connections=`` are booked when
each consumer is constructed; once the program has declared every consumer (CDK: before synth;
Pulumi: after the program body), the default-share consumers split what the explicit shares
left, in declaration order, each taking ``left // consumers still to settle``. Without
``consumers=`` on the database, where it used to refuse the second default consumer
("declare consumers=2").
"""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Template
from test_composition import CATALOG, ENV, IMAGE, _app, _data_stack, _function, _vpc
from test_serverless_pulumi import database as pulumi_database
from test_serverless_pulumi import function as pulumi_function
from test_serverless_pulumi import run_program

from deploy_paradigms.budget import BudgetError, BudgetExceededError, ConnectionLedger, plan_serverless
from deploy_paradigms.budget.limits import describe_connection_limit
from deploy_paradigms.cdk.budget_check import BudgetCheck
from deploy_paradigms.cdk.container_service import ContainerService
from deploy_paradigms.cdk.data_endpoint import DataEndpoint
from deploy_paradigms.cdk.database import Database, deployment_of
from deploy_paradigms.plans.serverless import FunctionOptions
from deploy_paradigms.pulumi.container_service import ContainerService as PulumiContainerService
from deploy_paradigms.pulumi.container_service import ContainerServiceArgs
from deploy_paradigms.pulumi.data_endpoint import DataEndpoint as PulumiDataEndpoint
from deploy_paradigms.pulumi.data_endpoint import DataEndpointArgs
from deploy_paradigms.pulumi.preview import render_program

ENGINES = ["postgres", "mysql"]
FN = "AWS::Lambda::Function"
PULUMI_FN = "aws:lambda/function:Function"


def _image() -> ecs.ContainerImage:
    return ecs.ContainerImage.from_registry(IMAGE)


def _db(engine: str, instance_class: str = "db.t3.micro", **kwargs: Any) -> tuple[cdk.Stack, Database]:
    return _data_stack(_app(), instance_class, engine=engine, **kwargs)


def _fair(available: int, taken: list[int], splitting: int) -> int:
    """The policy: the next default share is what is left divided by the consumers still to settle."""
    return (available - sum(taken)) // splitting


def _reserved(template: dict[str, Any]) -> list[int]:
    return sorted(r["Properties"]["ReservedConcurrentExecutions"] for r in template["Resources"].values()
                  if r["Type"] == FN and "deploy-paradigms serverless" in json.dumps(r))


# -- CDK -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_function_then_data_endpoint_both_default_synthesize_with_fair_shares(engine: str) -> None:
    stack, db = _db(engine)
    fn = _function(stack, "Api", db)
    endpoint = DataEndpoint(stack, "Data", database=db, catalog=CATALOG)  # refused before issue 15
    template = Template.from_stack(stack).to_json()  # synth settles the ledger
    available = db.ledger.available
    first = _fair(available, [], 2)
    second = _fair(available, [fn.plan.connections], 1)
    assert fn.plan.connections <= first <= endpoint.plan.connections <= second
    assert db.ledger.allocated <= available and not db.ledger.pending
    # What the template says is the settled plan: reserved concurrency, proxy percent, pool.
    assert _reserved(template) == sorted([fn.plan.reserved_concurrency, endpoint.plan.reserved_concurrency])
    percents = sorted(r["Properties"]["ConnectionPoolConfigurationInfo"]["MaxConnectionsPercent"]
                      for r in template["Resources"].values() if r["Type"] == "AWS::RDS::DBProxyTargetGroup")
    assert percents == sorted([fn.plan.proxy.max_connections_percent,
                               endpoint.plan.proxy.max_connections_percent])


@pytest.mark.parametrize("engine", ENGINES)
def test_function_then_container_service_both_default(engine: str) -> None:
    stack, db = _db(engine)
    fn = _function(stack, "Api", db)
    web = ContainerService(stack, "Web", database=db, image=_image())
    template = Template.from_stack(stack).to_json()
    available = db.ledger.available
    assert fn.plan.connections <= _fair(available, [], 2)
    assert web.plan.connections <= _fair(available, [fn.plan.connections], 1)
    # The service's pool was sized for its half, not for the whole database.
    assert web.plan.pool_size * web.plan.peak_tasks == web.plan.connections
    pool = [e["Value"] for r in template["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"
            for e in r["Properties"]["ContainerDefinitions"][0]["Environment"]
            if e["Name"] == "DATABASE_POOL_MAX"]
    assert pool == [str(web.plan.pool_size)]
    assert _reserved(template) == [fn.plan.reserved_concurrency]


@pytest.mark.parametrize("engine", ENGINES)
def test_three_defaults_and_helpers_with_explicit_shares(engine: str) -> None:
    stack, db = _db(engine, "db.m5.large")
    fn = _function(stack, "Api", db)
    endpoint = DataEndpoint(stack, "Data", database=db, catalog=CATALOG)
    web = ContainerService(stack, "Web", database=db, image=_image())
    check = BudgetCheck(stack, "Check", database=db)  # its session comes out of the reserve
    assert "Data/Check" not in [a.consumer for a in db.ledger.allocations]
    Template.from_stack(stack)
    available = db.ledger.available
    shares = [fn.plan.connections, endpoint.plan.connections, web.plan.connections]
    assert shares[0] <= _fair(available, [], 3)
    assert shares[1] <= _fair(available, [shares[0]], 2)
    assert shares[2] <= _fair(available, shares[:2], 1)
    # Each within a whole proxy percent / pool of its fair third.
    assert min(shares) >= available // 3 - db.limit.max_connections // 100 - web.plan.peak_tasks
    assert db.ledger.allocated == sum(shares) <= available
    assert check.planned().allocated == db.ledger.allocated


def test_a_default_before_an_explicit_consumer_gets_what_the_explicit_leaves() -> None:
    stack, db = _db("postgres")
    fn = _function(stack, "Api", db)
    web = ContainerService(stack, "Web", database=db, image=_image(), connections=40)
    deployment_of(stack).settle()
    assert web.plan.connections <= 40 and fn.plan.connections <= db.ledger.available - web.plan.connections
    assert fn.allocation.default_share and not web.allocation.default_share


def test_consumers_still_holds_back_room() -> None:
    stack, db = _db("postgres", consumers=3)
    fn = _function(stack, "Api", db)
    endpoint = DataEndpoint(stack, "Data", database=db, catalog=CATALOG)
    deployment_of(stack).settle()
    assert fn.plan.connections <= 72 // 3 and endpoint.plan.connections <= (72 - fn.plan.connections) // 2
    assert db.ledger.remaining >= 72 // 3 - 1  # a third kept for a consumer added later


def test_a_default_share_after_settlement_is_refused_with_a_fix() -> None:
    stack, db = _db("postgres")
    _function(stack, "Api", db)
    deployment_of(stack).settle()
    with pytest.raises(BudgetError, match=r"was already settled .*fix: pass connections=<n> \(at most 1\)"):
        _function(stack, "Late", db)
    assert _function(stack, "Late", db, connections=1).plan.connections == 1


def test_default_shares_that_do_not_fit_fail_synth_naming_each_consumer() -> None:
    stack, db = _db("postgres")
    _function(stack, "Api", db, reserved_concurrency=30)
    _function(stack, "Worker", db, reserved_concurrency=30)
    _function(stack, "Jobs", db, reserved_concurrency=30)  # 72 // 3 = 24 each: 30 does not fit
    with pytest.raises(Exception) as refused:  # noqa: PT011 - jsii hands the aspect's error back as is or wrapped
        Template.from_stack(stack)
    message = str(refused.value)
    assert "Data/Api omits connections=, so it gets a default share: 24 of the 72" in message
    assert "split among 3 default-share consumer(s)" in message
    assert "waiting for a default share: Data/Api, Data/Worker, Data/Jobs; left 72 of 72" in message
    assert "attach fewer default-share consumers" in message


@pytest.mark.parametrize("engine", ENGINES)
def test_over_budget_explicit_shares_name_every_holder_and_a_fix_that_applies(engine: str) -> None:
    stack, db = _db(engine)
    available = db.ledger.available
    ContainerService(stack, "Web", database=db, image=_image(), connections=available - 10)
    _function(stack, "Api", db)  # a default share waits for what is left
    with pytest.raises(BudgetExceededError) as refused:
        _function(stack, "Jobs", db, connections=20)
    message = str(refused.value)
    held = db.ledger.allocations[0].connections
    assert f"Data/Web (containers) {held}" in message and "Data/Jobs (serverless) 20" in message
    assert f"waiting for a default share of what is left: Data/Api; left {available - held}" in message
    assert f"give Data/Web (holding {held}) a smaller `connections=`" in message
    # The fix applies: a smaller explicit share for Web leaves room for Jobs and Api.
    stack, db = _db(engine)
    ContainerService(stack, "Web", database=db, image=_image(), connections=available - 40)
    _function(stack, "Api", db)
    _function(stack, "Jobs", db, connections=20)
    Template.from_stack(stack)
    assert db.ledger.allocated <= available


def test_a_share_below_one_proxy_percent_suggests_a_share_that_works() -> None:
    stack, db = _db("postgres", "db.m5.large")
    for kwargs in ({}, {"proxy_max_connections_percent": 1}):
        with pytest.raises(BudgetError) as refused:
            _function(stack, "Api", db, connections=5, **kwargs)
        message = str(refused.value)
        assert "use at most 0" not in message
        suggested = int(re.search(r"connections=(\d+) or more|at least (\d+) connections", message)
                        .group(1) or re.search(r"at least (\d+) connections", message).group(1))  # type: ignore[union-attr]
        fn = _function(stack, f"Api{len(kwargs)}", db, connections=suggested, **kwargs)
        assert fn.plan.connections <= suggested


def test_a_default_share_matches_the_same_explicit_share_resource_for_resource() -> None:
    """Settling patches every share-dependent number: the template equals one with the shares given."""
    stack, db = _db("postgres")
    fn = _function(stack, "Api", db)
    DataEndpoint(stack, "Data", database=db, catalog=CATALOG)
    settled = Template.from_stack(stack).to_json()
    first = _fair(db.ledger.available, [], 2)
    second = _fair(db.ledger.available, [fn.plan.connections], 1)
    stack, db = _db("postgres")
    _function(stack, "Api", db, connections=first)
    DataEndpoint(stack, "Data", database=db, catalog=CATALOG, function=FunctionOptions(connections=second))
    assert Template.from_stack(stack).to_json() == settled


def test_one_default_consumer_is_unchanged_by_settlement() -> None:
    stack, db = _db("postgres")
    fn = _function(stack, "Api", db)
    provisional = fn.plan
    Template.from_stack(stack)
    assert fn.plan == provisional and fn.plan.connections <= db.ledger.available


def test_the_ledger_core_splits_in_declaration_order() -> None:
    limit = describe_connection_limit("postgres", "db.t3.micro")
    ledger = ConnectionLedger(limit)

    def plan_for(share: int, available: int) -> Any:
        return plan_serverless(limit, available, connections=share)

    a = ledger.book("a", paradigm="serverless", connections=None, plan_for=plan_for)
    b = ledger.book("b", paradigm="serverless", connections=None, plan_for=plan_for)
    c = ledger.book("c", paradigm="serverless", connections=10, plan_for=plan_for)
    assert c.settled and not a.settled and ledger.pending == ("a", "b")
    provisional = (a.plan, b.plan)
    ledger.settle()
    assert (a.plan, b.plan) == provisional  # the provisional plan is the settlement when nobody joins
    assert a.plan.connections <= (ledger.available - c.plan.connections) // 2
    assert ledger.allocated == a.plan.connections + b.plan.connections + c.plan.connections


# -- Pulumi ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_pulumi_function_then_data_endpoint_both_default(engine: str) -> None:
    def program() -> tuple[Any, Any, Any]:
        db = pulumi_database("db.t3.micro", engine=engine)
        fn = pulumi_function(db, "api")
        endpoint = PulumiDataEndpoint("data", DataEndpointArgs(database=db, catalog=CATALOG))
        return db, fn, endpoint

    (db, fn, endpoint), records = run_program(program)
    available = db.ledger.available
    assert fn.plan.connections <= _fair(available, [], 2)
    assert endpoint.plan.connections <= _fair(available, [fn.plan.connections], 1)
    reserved = sorted(r["inputs"]["reservedConcurrentExecutions"] for r in records if r["type"] == PULUMI_FN
                      and r["name"] in ("api-function", "data-fn-function"))
    assert reserved == sorted([fn.plan.reserved_concurrency, endpoint.plan.reserved_concurrency])
    (api,) = [r for r in records if r["type"] == PULUMI_FN and r["name"] == "api-function"]
    assert api["inputs"]["description"].endswith(fn.plan.summary())
    # The same plans as CDK for the same app.
    stack, cdk_db = _db(engine)
    cdk_fn = _function(stack, "Api", cdk_db)
    cdk_endpoint = DataEndpoint(stack, "Data", database=cdk_db, catalog=CATALOG)
    deployment_of(stack).settle()
    assert (fn.plan, endpoint.plan) == (cdk_fn.plan, cdk_endpoint.plan)


@pytest.mark.parametrize("engine", ENGINES)
def test_pulumi_three_defaults_and_an_explicit_share(engine: str) -> None:
    def program() -> tuple[Any, ...]:
        db = pulumi_database("db.m5.large", engine=engine)
        fn = pulumi_function(db, "api")
        web = PulumiContainerService("web", ContainerServiceArgs(database=db, image=IMAGE))
        endpoint = PulumiDataEndpoint("data", DataEndpointArgs(database=db, catalog=CATALOG))
        jobs = pulumi_function(db, "jobs", connections=50)
        return db, fn, web, endpoint, jobs

    (db, fn, web, endpoint, jobs), records = run_program(program)
    available = db.ledger.available
    taken = [jobs.plan.connections]
    for consumer, splitting in ((fn, 3), (web, 2), (endpoint, 1)):
        assert consumer.plan.connections <= _fair(available, taken, splitting)
        taken.append(consumer.plan.connections)
    assert db.ledger.allocated == sum(taken) <= available
    (task,) = [r for r in records if r["type"] == "aws:ecs/taskDefinition:TaskDefinition"]
    (container,) = json.loads(task["inputs"]["containerDefinitions"])
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["DATABASE_POOL_MAX"] == str(web.plan.pool_size)


def test_pulumi_default_shares_that_do_not_fit_fail_the_run_with_the_message() -> None:
    def program() -> None:
        db = pulumi_database("db.t3.micro")
        pulumi_function(db, "api", reserved_concurrency=30)
        pulumi_function(db, "worker", reserved_concurrency=30)
        pulumi_function(db, "jobs", reserved_concurrency=30)

    # render_program is what `deploy-paradigms preview` runs: the BudgetError itself comes out.
    with pytest.raises(BudgetError) as refused:
        render_program(program)
    message = str(refused.value)
    assert "api omits connections=, so it gets a default share: 24 of the 72" in message
    assert "waiting for a default share: api, worker, jobs; left 72 of 72" in message
    # Under the plain test runner, Pulumi reports it per resource, with the same message.
    with pytest.raises(ValueError, match="so it gets a default share: 24 of the 72"):
        run_program(program)


def test_pulumi_default_share_renders_like_the_same_explicit_share() -> None:
    def defaults() -> Any:
        db = pulumi_database("db.t3.micro")
        fn = pulumi_function(db, "api")
        PulumiContainerService("web", ContainerServiceArgs(database=db, image=IMAGE))
        return db, fn

    (db, fn), settled = run_program(defaults)
    first = _fair(db.ledger.available, [], 2)
    second = _fair(db.ledger.available, [fn.plan.connections], 1)

    def explicit() -> None:
        db = pulumi_database("db.t3.micro")
        pulumi_function(db, "api", connections=first)
        PulumiContainerService("web", ContainerServiceArgs(database=db, image=IMAGE, connections=second))

    _, given = run_program(explicit)
    key = lambda r: (r["type"], r["name"])  # noqa: E731
    assert sorted(settled, key=key) == sorted(given, key=key)


def test_cdk_stacks_sharing_a_database_need_no_consumers_declaration() -> None:
    app = _app()
    data = cdk.Stack(app, "Data", env=ENV)
    db = Database(data, "Database", vpc=_vpc(data), instance_class="db.t3.micro")
    apps = cdk.Stack(app, "Apps", env=ENV)
    fn = _function(apps, "Api", db)
    web = ContainerService(apps, "Web", database=db, image=_image())
    app.synth()
    assert fn.plan.connections + web.plan.connections == db.ledger.allocated <= db.ledger.available
    assert fn.plan.connections <= db.ledger.available // 2


def test_a_change_stream_after_two_default_consumers_takes_its_connection_first() -> None:
    from deploy_paradigms.cdk.change_stream import ChangeStream

    stack, db = _db("postgres", logical_replication=True)
    fn = _function(stack, "Api", db)
    web = ContainerService(stack, "Web", database=db, image=_image())
    ChangeStream(stack, "Changes", database=db, tables=["orders"])  # refused before: nothing left
    Template.from_stack(stack)
    assert [a.consumer for a in db.ledger.allocations] == ["Data/Changes", "Data/Api", "Data/Web"]
    assert fn.plan.connections <= _fair(db.ledger.available, [1], 2)
    assert web.plan.connections <= _fair(db.ledger.available, [1, fn.plan.connections], 1)

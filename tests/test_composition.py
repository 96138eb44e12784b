"""One ledger for the whole deployment (issue 15): across stacks, apps and the account.

Each test is a case a user composing the constructs met: two stacks sharing one
database, an import from another repository, reserved concurrency summed per
account, default shares that compose, and inputs that used to be reinterpreted.
CDK cases synthesize real apps (a DependencyCycle is raised by ``App.synth``);
Pulumi cases run under the preview mocks.
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from test_serverless_pulumi import database as pulumi_database
from test_serverless_pulumi import function as pulumi_function
from test_serverless_pulumi import run_program

from deploy_paradigms.budget import BudgetError, BudgetExceededError, InputError
from deploy_paradigms.catalog import NamedQuery, QueryCatalog
from deploy_paradigms.cdk.container_service import ContainerService
from deploy_paradigms.cdk.data_endpoint import DataEndpoint
from deploy_paradigms.cdk.database import Database, deployment_of
from deploy_paradigms.cdk.serverless_function import ServerlessFunction
from deploy_paradigms.pulumi.container_service import ContainerService as PulumiContainerService
from deploy_paradigms.pulumi.container_service import ContainerServiceArgs
from deploy_paradigms.pulumi.database import Database as PulumiDatabase
from deploy_paradigms.pulumi.database import deployment as pulumi_deployment
from deploy_paradigms.pulumi.network import Network

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")
IMAGE = "public.ecr.aws/docker/library/httpd:2.4"
CATALOG = QueryCatalog(queries=(NamedQuery(name="now", sql="SELECT now() AS now", cache_ttl_s=0),))
ENV = cdk.Environment(account="123456789012", region="eu-west-1")


def _app(**context: Any) -> cdk.App:
    return cdk.App(analytics_reporting=False, context=context)


def _vpc(stack: cdk.Stack) -> ec2.Vpc:
    return ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)])


def _data_stack(app: cdk.App, instance_class: str = "db.t3.micro",
                **kwargs: Any) -> tuple[cdk.Stack, Database]:
    stack = cdk.Stack(app, "Data", env=ENV)
    return stack, Database(stack, "Database", vpc=_vpc(stack), instance_class=instance_class, **kwargs)


def _function(scope: Any, id: str, db: Database, **kwargs: Any) -> ServerlessFunction:
    return ServerlessFunction(scope, id, database=db, code=CODE, handler="index.handler", **kwargs)


# -- across stacks ---------------------------------------------------------------------------------
def test_one_database_serves_consumers_in_other_stacks_without_a_cycle() -> None:
    app = _app()
    _, db = _data_stack(app, consumers=2)
    api = cdk.Stack(app, "Api", env=ENV)
    web = cdk.Stack(app, "Web", env=ENV)
    fn = _function(api, "Function", db)
    service = ContainerService(web, "Service", database=db, image=ecs.ContainerImage.from_registry(IMAGE))
    assembly = app.synth()  # aws-cdk raised DependencyCycle here when the rules lived under the database
    # One ledger spans the stacks: both consumers are booked on it, within the 72 available.
    assert [a.consumer for a in db.ledger.allocations] == ["Api/Function", "Web/Service"]
    assert db.ledger.allocated <= db.ledger.available == 72
    # consumers=2: 36 each; the proxy opens whole percents of 86 (41 % = 35).
    assert fn.plan.reserved_concurrency == 35 and 30 <= service.plan.connections <= 36
    # Each consumer's security-group rule is in the consumer's stack, on the database's group.
    for name in ("Api", "Web"):
        template = assembly.get_stack_by_name(name).template
        ingress = [r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"]
        assert any("Fn::ImportValue" in str(r["Properties"]["GroupId"]) for r in ingress), name
    data = assembly.get_stack_by_name("Data").template
    # Only the database's own application-role bootstrap (in its stack) has a rule there.
    assert [r["Properties"]["Description"] for r in data["Resources"].values()
            if r["Type"] == "AWS::EC2::SecurityGroupIngress"] == ["application role bootstrap"]
    # The app-wide report covers every database and the account's reserved concurrency.
    report = deployment_of(app).report()
    assert "Data/Database" in report and "Api/Function" in report and "Web/Service" in report
    assert "| Api/Function | 35 |" in report


# -- across apps -----------------------------------------------------------------------------------
def _import(stack: cdk.Stack, **kwargs: Any) -> Database:
    vpc = _vpc(stack)
    secret = secretsmanager.Secret.from_secret_complete_arn(
        stack, "Secret", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf")
    return Database.from_existing(
        stack, "Db", vpc=vpc, engine="postgres", instance_class="db.t3.micro", instance_identifier="prod",
        endpoint_address="prod.example", port=5432, secret=secret,
        security_group=ec2.SecurityGroup.from_security_group_id(stack, "Sg", "sg-123"), **kwargs)


def test_import_without_a_share_is_refused() -> None:
    stack = cdk.Stack(_app(), "Other", env=ENV)
    with pytest.raises(BudgetError, match=r"share is required .*external_consumers"):
        _import(stack)


def test_owner_and_importer_ledgers_agree() -> None:
    owner = _app()
    _, db = _data_stack(owner, external_consumers={"billing": 40})
    assert db.ledger.remaining == 72 - 40
    assert "billing (another app) 40" in db.ledger.one_line()
    importer = cdk.Stack(_app(), "Billing", env=ENV)
    imported = _import(importer, share=40)
    fn = _function(importer, "Fn", imported)
    assert imported.ledger.available == 40 and fn.plan.connections <= 40
    # Explicit shares are booked first; the default share takes what they leave (issue 15).
    _function(importer, "Fn2", imported, connections=10)
    assert fn.plan.connections <= 30 and imported.ledger.allocated <= 40
    with pytest.raises(BudgetExceededError, match="ask the database's owner for a larger share"):
        _function(importer, "Fn3", imported, connections=32)


def test_pulumi_import_needs_a_share_and_keeps_to_it() -> None:
    def program() -> tuple[Any, Any]:
        network = Network.from_existing("vpc-1", private_subnet_ids=["subnet-a", "subnet-b"])
        with pytest.raises(BudgetError, match="share is required"):
            PulumiDatabase.from_existing("nope", network=network, engine="postgres",
                                         instance_class="db.t3.micro", endpoint_address="db.example",
                                         secret_arn="arn:secret", security_group_id="sg-1")
        db = PulumiDatabase.from_existing("db", network=network, engine="postgres",
                                          instance_class="db.t3.micro",
                                          endpoint_address="db.example", secret_arn="arn:secret",
                                          security_group_id="sg-1", instance_identifier="prod", share=40)
        return db, pulumi_function(db)

    (db, fn), _ = run_program(program)
    assert db.ledger.available == 40 and fn.plan.connections <= 40


# -- account-wide concurrency ----------------------------------------------------------------------
def test_reserved_concurrency_is_summed_per_account_across_stacks() -> None:
    app = _app()
    functions = []
    with pytest.raises(BudgetExceededError) as refused:
        for name in ("One", "Two", "Three"):
            stack = cdk.Stack(app, name, env=ENV)
            db = Database(stack, "Db", vpc=_vpc(stack), instance_class="db.m5.2xlarge")
            functions.append(_function(stack, "Fn", db, reserved_concurrency=800))
        deployment_of(app).settle()  # default shares (and their concurrency) settle before synth
    message = str(refused.value)
    # Each database's role bootstrap reserves 1 when it is created; the functions' default shares
    # (and their concurrency) settle after every stack is declared: 1 + 1 + 1 + 800 + 800.
    assert "adds up to 1603, over the 900 reservable" in message
    assert ("One/Db/RoleBootstrap 1; Two/Db/RoleBootstrap 1; Three/Db/RoleBootstrap 1; One/Fn 800; "
            "Two/Fn 800" in message and "get-account-settings" in message)


def test_the_role_bootstrap_is_booked_on_the_account() -> None:
    app = _app()
    stack, db = _data_stack(app, "db.m5.2xlarge")
    (account,) = deployment_of(app).accounts
    assert [(r.function, r.concurrency) for r in account.reservations] == [("Data/Database/RoleBootstrap", 1)]
    # 900 + the bootstrap's 1 is over the 900 reservable: refused at synth (settlement), not at deploy.
    with pytest.raises(BudgetExceededError, match="adds up to 901, over the 900 reservable"):
        _function(stack, "Fn", db, reserved_concurrency=900)
        deployment_of(app).settle()
    app = _app()
    stack, db = _data_stack(app, "db.m5.2xlarge")
    (account,) = deployment_of(app).accounts
    assert _function(stack, "Fn", db, reserved_concurrency=899).plan.reserved_concurrency == 899
    deployment_of(app).settle()
    assert account.remaining == 0
    template = app.synth().get_stack_by_name("Data").template
    reserved = sorted(r["Properties"].get("ReservedConcurrentExecutions", 0)
                      for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function")
    assert sum(reserved) == 900 and 1 in reserved  # what the account ledger holds is what deploys


def test_the_role_bootstrap_does_not_fix_the_quota() -> None:
    # The bootstrap books under the default quota, but a consumer's explicit quota still applies ...
    app = _app()
    stack, db = _data_stack(app, "db.m5.2xlarge")
    fn = _function(stack, "Fn", db, reserved_concurrency=1500, account_concurrency_limit=2000)
    deployment_of(app).settle()
    plan = fn.plan
    (account,) = deployment_of(app).accounts
    assert plan.reserved_concurrency == 1500 and account.quota == 2000 and account.reserved == 1501
    # ... and, once a consumer used it, another quota is a disagreement.
    with pytest.raises(BudgetError, match="disagrees with the quota 2000"):
        _function(stack, "Fn2", db, connections=10, account_concurrency_limit=3000)
    # A quota the bootstrap's booking no longer fits is refused, naming it.
    app = _app()
    stack, db = _data_stack(app, "db.m5.large")
    with pytest.raises(BudgetError, match="account_concurrency_limit=100 must be at least 101"):
        _function(stack, "Fn", db, account_concurrency_limit=100)


def test_default_functions_in_two_stacks_share_the_account_and_warn() -> None:
    app = _app()
    caps = []
    for name in ("Serverless", "Edge"):
        stack = cdk.Stack(app, name, env=ENV)
        db = Database(stack, "Db", vpc=_vpc(stack), instance_class="db.m5.large")
        caps.append(_function(stack, "Fn", db))
    deployment_of(app).settle()  # in declaration order: the first function books the account first
    caps = [fn.plan for fn in caps]
    assert caps[0].reserved_concurrency == 765
    # The account has 133 left (after two role bootstraps); a default takes half of it and leaves the
    # rest to other functions.
    assert caps[1].reserved_concurrency == 66 and caps[1].limited_by == "account"
    assert sum(p.reserved_concurrency for p in caps) <= 900
    messages = [m for m in app.synth().get_stack_by_name("Edge").messages
                if "accountConcurrency" in str(m.entry.data)]
    assert messages and "would allow reserved concurrency up to 765" in str(messages[0].entry.data)


def test_account_quota_is_an_input() -> None:
    app = _app(**{"deploy-paradigms:accountConcurrencyLimit": "300"})
    stack, db = _data_stack(app, "db.m5.large")
    plan = _function(stack, "Fn", db).plan
    # Half of what the account has left: (300 - 100 unreserved - the role bootstrap's 1) // 2.
    assert plan.reserved_concurrency == 99 and plan.limited_by == "account"
    with pytest.raises(BudgetError, match="disagrees with the quota 300"):
        _function(stack, "Fn2", db, connections=10, account_concurrency_limit=2000)


def test_pulumi_sums_reserved_concurrency_across_the_program() -> None:
    def program() -> None:
        first = pulumi_database("db.m5.2xlarge")
        pulumi_function(first, "one", reserved_concurrency=800)
        second = PulumiDatabase("db2", first_args(first))
        pulumi_function(second, "two", reserved_concurrency=800)

    def first_args(db: Any) -> Any:
        from deploy_paradigms.pulumi.database import DatabaseArgs

        return DatabaseArgs(network=db.network, instance_class="db.m5.2xlarge")

    # Pulumi wraps a refusal at settlement per waiting resource (a ValueError carrying the message).
    with pytest.raises(ValueError, match="db-role-bootstrap 1; db2-role-bootstrap 1; one 800; two 800"):
        run_program(program)


def test_pulumi_books_the_role_bootstrap_on_the_account() -> None:
    with pytest.raises(ValueError, match="adds up to 901, over the 900 reservable"):  # wrapped by Pulumi
        run_program(lambda: pulumi_function(pulumi_database("db.m5.2xlarge"), "fn", reserved_concurrency=900))

    def program() -> Any:
        return pulumi_function(pulumi_database("db.m5.2xlarge"), "fn", reserved_concurrency=899)

    fn, records = run_program(program)
    assert fn.plan.reserved_concurrency == 899
    assert sum(r["inputs"].get("reservedConcurrentExecutions") or 0 for r in records
               if r["type"] == "aws:lambda/function:Function") == 900


# -- defaults that compose -------------------------------------------------------------------------
def test_two_default_consumers_split_the_database_equally() -> None:
    app = _app()
    stack, db = _data_stack(app, consumers=2)
    fn = _function(stack, "Api", db)
    endpoint = DataEndpoint(stack, "Data", database=db, catalog=CATALOG)
    # 36 each; the proxy opens whole percents of 86 (41 % = 35), the second takes what that left
    assert fn.plan.connections == 35 and endpoint.plan.connections == 36
    assert db.ledger.remaining == 1


def test_a_default_consumer_that_finds_nothing_names_who_holds_what_and_the_fix() -> None:
    # Without consumers=, two defaults now split the database (tests/test_default_shares.py);
    # a default that finds nothing because an explicit share took it all is still refused.
    stack, db = _data_stack(_app())
    ContainerService(stack, "Web", database=db, image=ecs.ContainerImage.from_registry(IMAGE), connections=72)
    with pytest.raises(BudgetError) as refused:
        DataEndpoint(stack, "Data", database=db, catalog=CATALOG)
    message = str(refused.value)
    assert "raise the percent" not in message  # a percent the user never set
    assert "Data/Web (containers) 72" in message and "left 0 of 72" in message
    assert "give Data/Web (holding 72) a smaller `connections=`" in message


def test_container_error_names_the_consumer_that_took_the_rest() -> None:
    stack, db = _data_stack(_app())
    _function(stack, "Api", db, connections=60)
    with pytest.raises(BudgetError) as refused:
        ContainerService(stack, "Web", database=db, image=ecs.ContainerImage.from_registry(IMAGE),
                         pool_size=5)
    assert "Data/Api (serverless) 59" in str(refused.value) and "left 13 of 72" in str(refused.value)


def test_a_share_below_one_proxy_percent_has_a_way_out() -> None:
    stack, db = _data_stack(_app(), "db.m5.large")
    with pytest.raises(BudgetError) as refused:
        _function(stack, "Api", db, connections=5)
    message = str(refused.value)
    assert "use at most 0" not in message
    assert "1% = 8 connections; pass connections=8 or more" in message
    assert _function(stack, "Api2", db, connections=8).plan.reserved_concurrency == 8


def test_pulumi_default_consumers_split_like_cdk() -> None:
    def program() -> tuple[Any, Any]:
        db = pulumi_database("db.t3.micro", consumers=2)
        fn = pulumi_function(db, "api")
        service = PulumiContainerService("web", ContainerServiceArgs(database=db, image=IMAGE))
        return fn, service

    (fn, service), _ = run_program(program)
    stack, db = _data_stack(_app(), consumers=2)
    cdk_fn = _function(stack, "Api", db)
    cdk_service = ContainerService(stack, "Web", database=db, image=ecs.ContainerImage.from_registry(IMAGE))
    assert fn.plan == cdk_fn.plan and service.plan == cdk_service.plan


def test_pulumi_deployment_is_one_per_program() -> None:
    def program() -> Any:
        pulumi_database("db.t3.micro")
        return pulumi_deployment()

    first, _ = run_program(program)
    second, _ = run_program(program)
    assert first is not second and list(first.ledgers) == ["db"]


# -- no silent reinterpretation --------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"engine": "aurora-postgresql", "instance_class": "db.r6g.large", "max_acu": 4},
     "max_acu=4 sizes Aurora Serverless v2 but instance_class='db.r6g.large'"),
    ({"engine": "aurora"}, "engine='aurora' is ambiguous"),
    ({"max_connections": 5000}, "max_connections=5000 is more than postgres can open on db.t3.micro"),
    ({"max_connections": 10**9}, "at most 512"),
    ({"instance_class": cdk.Token.as_string(cdk.Fn.ref("Class"))}, "deploy-time token"),
])
def test_inputs_the_budget_would_reinterpret_are_refused(kwargs: dict[str, Any], pattern: str) -> None:
    stack = cdk.Stack(_app(), "S", env=ENV)
    with pytest.raises(InputError, match=pattern):
        Database(stack, "Db", vpc=_vpc(stack), **kwargs)


def test_cdk_refuses_to_adopt_an_aurora_cluster() -> None:
    stack = cdk.Stack(_app(), "S", env=ENV)
    with pytest.raises(InputError, match="adopting an Aurora cluster is not supported"):
        Database.from_existing(
            stack, "Db", vpc=_vpc(stack), engine="aurora-postgresql", instance_class="db.r6g.large",
            instance_identifier="c", endpoint_address="c.example", port=5432, share=10,
            secret=secretsmanager.Secret.from_secret_complete_arn(
                stack, "Secret", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"),
            security_group=ec2.SecurityGroup.from_security_group_id(stack, "Sg", "sg-123"))


# -- the live check, as a custom resource ----------------------------------------------------------
def _checked_app(nag: bool) -> tuple[cdk.App, Database, Any]:
    from deploy_paradigms.cdk.budget_check import BudgetCheck

    app = _app()
    _, db = _data_stack(app, consumers=2)
    apps = cdk.Stack(app, "Apps", env=ENV)
    _function(apps, "Api", db)
    check = BudgetCheck(apps, "BudgetCheck", database=db, mode="alarm")
    ContainerService(apps, "Web", database=db, image=ecs.ContainerImage.from_registry(IMAGE))
    if nag:
        from cdk_nag import AwsSolutionsChecks

        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, db, check


def test_budget_check_passes_cdk_nag() -> None:
    app, _, _ = _checked_app(nag=True)
    try:
        app.synth()
    except RuntimeError as failure:  # the test stacks' own choices (single-AZ...) may be reported
        findings = [line for line in str(failure).splitlines() if "/BudgetCheck/" in line]
        assert not findings, findings


def test_budget_check_carries_the_whole_plan() -> None:
    from deploy_paradigms.runtime.budget_check import PlannedBudget

    app, db, check = _checked_app(nag=False)
    assembly = app.synth()
    template = assembly.get_stack_by_name("Apps").template
    (resource,) = [r for r in template["Resources"].values()
                   if r["Type"] == "Custom::DeployParadigmsBudgetCheck"]
    plan_json = resource["Properties"]["Plan"]
    assert resource["Properties"]["Mode"] == "alarm"
    # The plan is produced at synth: the service created after the check is in it.
    rendered = json.dumps(plan_json)
    # The plan is filled in at synth: the service created after the check is counted (35 + 32; the
    # check's one admin session comes out of the reserve, like migrations').
    assert db.ledger.allocated == 67 and '\\"allocated\\": \\"67\\"' in rendered
    plan = check.planned()
    # reserved concurrency: the function 35 + the check 1 + the role bootstrap 1
    assert plan.allocated == db.ledger.allocated and plan.reserve == 4 and plan.reserved_concurrency == 37
    assert isinstance(plan, PlannedBudget) and len(plan.proxies) == 1
    assert "BudgetCheck/Function" not in [a.consumer for a in db.ledger.allocations]
    assert "Apps/BudgetCheck" not in [a.consumer for a in db.ledger.allocations]
    assert any(k.startswith("BudgetCheckBudgetPlan") for k in template["Outputs"])
    assert [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"
            and "BudgetShortfall" in json.dumps(r)]
    fn = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
          and "budget_check" in json.dumps(r)]
    assert fn and fn[0]["Properties"]["ReservedConcurrentExecutions"] == 1


def test_budget_check_fits_after_every_consumer() -> None:
    """A check added last, after a default consumer took the whole ledger, fits: its one admin
    session is the reserve's (it used to need a connection of the ledger, and found none)."""
    from deploy_paradigms.cdk.budget_check import BudgetCheck
    from deploy_paradigms.pulumi.budget_check import BudgetCheck as PulumiBudgetCheck
    from deploy_paradigms.pulumi.budget_check import BudgetCheckArgs

    app = _app()
    stack, db = _data_stack(app)
    _function(stack, "Api", db)
    deployment_of(app).settle()  # the default share takes the ledger
    if db.ledger.remaining:  # whole proxy percents left a crumb: a consumer takes it
        db.allocate("Data/Rest", db.ledger.remaining, paradigm="containers")
    assert db.ledger.remaining == 0
    check = BudgetCheck(stack, "BudgetCheck", database=db)
    assert check.planned().reserve == db.ledger.reserve == 4
    (account,) = deployment_of(app).accounts
    assert ("Data/BudgetCheck", 1) in [(r.function, r.concurrency) for r in account.reservations]
    # Without a reserve there is no admin session for it: refused, with the fix.
    _, bare = _data_stack(_app(), reserve=0)
    with pytest.raises(BudgetError, match="keeps reserve=0, which leaves no connection for the budget check"):
        BudgetCheck(bare, "BudgetCheck", database=bare)

    def program() -> None:
        db = pulumi_database("db.t3.micro")
        pulumi_function(db, "api")
        if db.ledger.remaining:
            db.allocate("rest", db.ledger.remaining, paradigm="containers")
        PulumiBudgetCheck("budget-check", BudgetCheckArgs(database=db))

    run_program(program)


def test_budget_check_mode_is_checked() -> None:
    from deploy_paradigms.cdk.budget_check import BudgetCheck

    stack, db = _data_stack(_app())
    with pytest.raises(InputError, match="mode='warn' must be 'fail'"):
        BudgetCheck(stack, "Check", database=db, mode="warn")


def test_pulumi_budget_check_reads_the_plan_after_every_consumer() -> None:
    from deploy_paradigms import guard
    from deploy_paradigms.pulumi.budget_check import BudgetCheck, BudgetCheckArgs

    def program() -> tuple[Any, Any]:
        db = pulumi_database("db.t3.micro", consumers=2)
        pulumi_function(db, "api")
        check = BudgetCheck("budget-check", BudgetCheckArgs(database=db, mode="alarm"))
        PulumiContainerService("web", ContainerServiceArgs(database=db, image=IMAGE))
        return db, check

    (db, check), records = run_program(program)
    (invocation,) = [r for r in records if r["type"] == "aws:lambda/invocation:Invocation"
                     and r["name"].startswith("budget-check")]
    plan = json.loads(json.loads(invocation["inputs"]["input"])["Plan"])
    assert plan["allocated"] == str(db.ledger.allocated) == "67"  # 35 + 32: the service counted
    assert plan["reserved_concurrency"] == "37" and list(json.loads(plan["proxies"]).values()) == [35]
    assert json.loads(invocation["inputs"]["input"])["Mode"] == "alarm"
    assert [r for r in records if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm"
            and r["inputs"].get("metricName") == "BudgetShortfall"]
    (fn,) = [r for r in records if r["name"] == "budget-check-function"]
    assert fn["inputs"]["reservedConcurrentExecutions"] == 1
    assert guard.check_records(records, guard.SECURITY_RULES) == []
    # The same plan the CDK construct carries for the same app.
    _, cdk_db, cdk_check = _checked_app(nag=False)
    deployment_of(cdk_db).settle()  # what synth does first
    cdk_plan = cdk_check.planned()
    assert (cdk_plan.allocated, cdk_plan.reserve, cdk_plan.reserved_concurrency) == (67, 4, 37)
    assert ([a.connections for a in cdk_db.ledger.allocations]
            == [a.connections for a in db.ledger.allocations])


# -- shared proxies --------------------------------------------------------------------------------
def test_a_shared_proxy_holds_only_what_it_opens() -> None:
    stack, db = _data_stack(_app(), "db.m5.large")
    first = _function(stack, "First", db, connections=30)  # its proxy: 3 % of 823 = 24, all for its clients
    with pytest.raises(BudgetExceededError) as refused:
        _function(stack, "Second", db, proxy=first.proxy, connections=30)
    message = str(refused.value)
    assert "Data/Second shares the RDS Proxy of Data/First, which opens 24 database connections" in message
    assert "held by Data/First 24; left 0" in message and "omit proxy" in message
    # Room made on purpose: a larger proxy for First, fewer clients, and Second fits beside them.
    roomy = _function(stack, "Roomy", db, connections=60, reserved_concurrency=20,
                      proxy_max_connections_percent=7)
    assert roomy.plan.proxy.database_connections(db.limit) == 57 and roomy.plan.connections == 57
    second = _function(stack, "Second", db, proxy=roomy.proxy, connections=30, reserved_concurrency=20)
    assert second.plan.reserved_concurrency == 20


def _shared_proxy_stack() -> tuple[cdk.App, cdk.Stack, Database, ServerlessFunction]:
    app = _app()
    stack, db = _data_stack(app, "db.m5.large")
    # A proxy with room for others: 7 % of 823 = 57 database connections, 20 for its own clients.
    roomy = _function(stack, "Roomy", db, connections=60, reserved_concurrency=20,
                      proxy_max_connections_percent=7)
    return app, stack, db, roomy


def test_a_shared_proxy_is_booked_once_and_its_clients_on_the_proxy() -> None:
    app, stack, db, roomy = _shared_proxy_stack()
    booked = db.ledger.allocated
    second = _function(stack, "Second", db, proxy=roomy.proxy, connections=30, reserved_concurrency=20)
    # The proxy's 57 database connections are booked once (by Roomy); Second's clients are on the proxy.
    assert db.ledger.allocated == booked and "Data/Second" not in [a.consumer for a in db.ledger.allocations]
    assert (second.allocation.consumer, second.allocation.connections) == ("Data/Second", 20)
    assert "shared proxy of Data/Roomy, 7% of 823" in second.allocation.detail
    # Omitting connections takes what the proxy has left: 57 - 20 - 20 = 17.
    third = _function(stack, "Third", db, proxy=roomy.proxy)
    assert third.plan.reserved_concurrency == 17 and db.ledger.allocated == booked
    with pytest.raises(BudgetExceededError, match=r"held by Data/Roomy 20; Data/Second 20; Data/Third 17; "
                                                  r"left 0"):
        _function(stack, "Fourth", db, proxy=roomy.proxy)
    # The app-wide report lists the shared proxy and its clients.
    report = deployment_of(app).report()
    assert ("RDS Proxy of Data/Roomy on Data/Database (postgres db.m5.large): 57 database connections; "
            "clients: held by Data/Roomy 20; Data/Second 20; Data/Third 17; left 0") in report
    # The proxy's Connections alarm of a client watches the whole proxy: 90 % of its 57, not of 20.
    template = app.synth().get_stack_by_name("Data").template
    thresholds = {k: r["Properties"]["Threshold"] for k, r in template["Resources"].items()
                  if r["Type"] == "AWS::CloudWatch::Alarm" and "ConnectionsAlarm" in k}
    assert sorted(thresholds.values()) == [52, 52, 52], thresholds


def test_a_shared_proxy_client_fits_what_it_asked_for() -> None:
    _, stack, db, roomy = _shared_proxy_stack()
    with pytest.raises(BudgetError, match=r"reserved_concurrency=25 x connection_limit 1 is more than this "
                                          r"function's 20 connection\(s\) of the shared proxy"):
        _function(stack, "Second", db, proxy=roomy.proxy, connections=20, reserved_concurrency=25)
    with pytest.raises(BudgetExceededError, match=r"its 40 client\(s\) do not fit .* fix: give Data/Second "
                                                  r"connections=37 or fewer"):
        _function(stack, "Second", db, proxy=roomy.proxy, connections=40)
    # Nothing was booked by the refusals: the proxy still has 37 for a client that fits.
    assert _function(stack, "Second", db, proxy=roomy.proxy).plan.reserved_concurrency == 37


def test_a_shared_proxy_client_fits_when_the_database_ledger_has_no_room() -> None:
    # The client books nothing on the database, so the database's over-ledger pre-check is skipped
    # (plans.serverless.book_connections): with too little left on the ledger, it still fits the proxy.
    _, stack, db, roomy = _shared_proxy_stack()
    _function(stack, "Filler", db, connections=db.ledger.remaining)
    left = db.ledger.remaining
    assert left < 30  # too few for connections=30 on the database (the old pre-check refused here)
    second = _function(stack, "Second", db, proxy=roomy.proxy, connections=30, reserved_concurrency=20)
    assert second.allocation.connections == 20 and db.ledger.remaining == left
    with pytest.raises(BudgetExceededError, match="Data/Third shares the RDS Proxy of Data/Roomy"):
        _function(stack, "Third", db, proxy=roomy.proxy, connections=30)


def test_a_proxy_of_another_database_is_refused() -> None:
    app = _app()
    stack, db = _data_stack(app, "db.m5.large")
    other = Database(stack, "Other", vpc=db.vpc, instance_class="db.m5.large")
    first = _function(stack, "First", db, connections=30)
    with pytest.raises(BudgetError,
                       match=r"proxy= is the RDS Proxy of Data/First, in front of Data/Database"):
        _function(stack, "Second", other, proxy=first.proxy, connections=30)


def test_pulumi_shared_proxy_is_checked_like_cdk() -> None:
    def program() -> None:
        db = pulumi_database("db.m5.large")
        first = pulumi_function(db, "first", connections=30)
        with pytest.raises(BudgetExceededError, match="second shares the RDS Proxy of first, which opens 24"):
            pulumi_function(db, "second", proxy=first.proxy,
                            proxy_security_group_id=first.proxy_security_group_id, connections=30)
        roomy = pulumi_function(db, "roomy", connections=60, reserved_concurrency=20,
                                proxy_max_connections_percent=7)
        booked = db.ledger.allocated
        second = pulumi_function(db, "second", proxy=roomy.proxy, connections=30, reserved_concurrency=20,
                                 proxy_security_group_id=roomy.proxy_security_group_id)
        third = pulumi_function(db, "third", proxy=roomy.proxy,
                                proxy_security_group_id=roomy.proxy_security_group_id)
        assert db.ledger.allocated == booked and second.allocation.connections == 20
        assert third.plan.reserved_concurrency == 17
        assert "second" not in [a.consumer for a in db.ledger.allocations]

    _, records = run_program(program)
    thresholds = sorted(r["inputs"]["threshold"] for r in records
                        if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm"
                        and r["inputs"].get("metricName") == "DatabaseConnections"
                        and r["name"].split("-")[0] in ("roomy", "second", "third"))
    assert thresholds == [52, 52, 52]

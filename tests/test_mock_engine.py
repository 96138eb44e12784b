"""The one Pulumi mock engine (issue 11): preview, the guard and the tests share it, it answers as
AWS does, and it refuses what the real engine refuses.

"Mocks too kind to catch these" was the finding: each rule below failed to fire under the two
runners it replaces (``set_mocks`` with the stock monitor accepts duplicate URNs, mints
``pulumi:pulumi:Stack$`` URNs, never checks required inputs after transforms, answers an unknown
data source with ``{}`` and every id with ``<name>-id``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.runtime import rpc

from deploy_paradigms.pulumi import budget_guard, mock_engine, preview
from deploy_paradigms.pulumi.mock_engine import EngineRuleError, run_program

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "us-east-1:123456789012"
ARN = {
    "aws:rds/proxy:Proxy": r"arn:aws:rds:us-east-1:123456789012:db-proxy:prx-[0-9a-f]{17}",
    "aws:rds/instance:Instance": r"arn:aws:rds:us-east-1:123456789012:db:[a-z][a-z0-9-]*",
    "aws:lambda/function:Function": r"arn:aws:lambda:us-east-1:123456789012:function:[\w-]+",
    "aws:iam/role:Role": r"arn:aws:iam::123456789012:role/[\w+=,.@-]+",
    "aws:ec2/securityGroup:SecurityGroup": rf"arn:aws:ec2:{ACCOUNT}:security-group/sg-[0-9a-f]{{17}}",
    "aws:cloudwatch/logGroup:LogGroup": r"arn:aws:logs:us-east-1:123456789012:log-group:[\w/.-]+",
    "aws:cloudwatch/metricAlarm:MetricAlarm": r"arn:aws:cloudwatch:us-east-1:123456789012:alarm:.+",
    "aws:s3/bucket:Bucket": r"arn:aws:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
    "aws:secretsmanager/secret:Secret": rf"arn:aws:secretsmanager:{ACCOUNT}:secret:[\w/+=.@-]+-\w{{6}}",
    "aws:lb/loadBalancer:LoadBalancer":
        r"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/[\w-]+/[0-9a-f]{16}",
    "aws:ecs/cluster:Cluster": r"arn:aws:ecs:us-east-1:123456789012:cluster/[\w-]+",
    "aws:ecs/service:Service": r"arn:aws:ecs:us-east-1:123456789012:service/[\w-]+/[\w-]+",
    "aws:ecs/taskDefinition:TaskDefinition": r"arn:aws:ecs:us-east-1:123456789012:task-definition/[\w-]+:\d+",
    "aws:cloudfront/distribution:Distribution":
        r"arn:aws:cloudfront::123456789012:distribution/E[A-Z0-9]{13}",
    "aws:ecr/repository:Repository": r"arn:aws:ecr:us-east-1:123456789012:repository/[a-z0-9._/-]+",
}
ID = {
    "aws:ec2/vpc:Vpc": r"vpc-[0-9a-f]{17}", "aws:ec2/subnet:Subnet": r"subnet-[0-9a-f]{17}",
    "aws:ec2/securityGroup:SecurityGroup": r"sg-[0-9a-f]{17}",
    "aws:ec2/natGateway:NatGateway": r"nat-[0-9a-f]{17}",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": r"sgr-[0-9a-f]{17}",
    # pulumi-aws 7 (Terraform AWS provider 5): an instance's id is its DbiResourceId
    "aws:rds/instance:Instance": r"db-[A-Z2-7]{26}",
    "aws:sqs/queue:Queue": r"https://sqs\.us-east-1\.amazonaws\.com/123456789012/[\w-]+",
}


def bucket_program() -> None:
    aws.s3.Bucket("logs")


# -- one engine for preview, the guard and the tests -------------------------------------------------

def duplicate_program() -> None:
    aws.s3.Bucket("logs")
    aws.s3.Bucket("logs")


@pytest.mark.parametrize("path", [
    lambda program: preview.render_program(program),
    lambda program: budget_guard.check_program(program),
    lambda program: mock_engine.run_program(program),
], ids=["preview", "guard", "tests"])
def test_preview_guard_and_tests_run_programs_on_the_same_engine(
        path: Callable[[Callable[[], None]], Any]) -> None:
    """The engine's rules hold on every path, so every path runs the one engine."""
    with pytest.raises(EngineRuleError, match=r"Duplicate resource URN 'urn:pulumi:\w+::deploy-paradigms::"
                                              r"aws:s3/bucket:Bucket::logs'; try giving it a unique name"):
        path(duplicate_program)


def test_preview_and_the_guard_see_the_same_answers() -> None:
    def program() -> None:
        db = aws.rds.Instance("db", engine="postgres", instance_class="db.t3.micro", allocated_storage=20,
                              username="app_admin", manage_master_user_password=True)
        aws.ssm.Parameter("where", type="String", insecure_value=db.arn)

    seen = preview.render_program(program).resources
    parameter = next(r for r in seen if r["name"] == "where")["inputs"]["insecureValue"]
    assert re.fullmatch(ARN["aws:rds/instance:Instance"], parameter), parameter
    # Inside `pulumi up`, the guard's transform records inputs through the same normaliser.
    recorded = budget_guard.BudgetGuard()
    props = {"value": parameter, "size": 2.0, "secret": {rpc._special_sig_key: rpc._special_secret_sig,
                                                         "value": "s3cr3t"}}
    recorded.transform(pulumi.ResourceTransformArgs(
        custom=True, type_="aws:ssm/parameter:Parameter", name="where", opts=pulumi.ResourceOptions(),
        props=props))
    assert recorded.records[0]["inputs"] == mock_engine.normalise(props) == {
        "secret": "[secret]", "size": 2, "value": parameter}


def test_nothing_else_installs_pulumi_mocks() -> None:
    """``set_mocks`` is called in one place: a second runner would be a second set of answers."""
    pattern = re.compile(r"\bset_mocks\(|\((?:\w+\.)?(?:Mocks|MockMonitor)\)")
    folders = ("constructs", "tests", "stacks", "bench", "examples")
    paths = [path for folder in folders for path in (ROOT / folder).rglob("*.py")
             if path.name != "test_mock_engine.py"]
    callers = sorted(str(p.relative_to(ROOT)) for p in paths if pattern.search(p.read_text(encoding="utf-8")))
    assert callers == ["constructs/deploy_paradigms/pulumi/mock_engine.py"], callers


# -- answers shaped as AWS answers them -----------------------------------------------------------------

@pytest.fixture(scope="module")
def examples() -> dict[str, mock_engine.MockRun]:
    return {p: preview.render_stack(p) for p in ("serverless", "paas", "edge", "changes")}


def test_arns_and_ids_have_the_shapes_aws_gives_them(examples: dict[str, mock_engine.MockRun]) -> None:
    checked: set[str] = set()
    for run in examples.values():
        types = {r["name"]: r["type"] for r in run.resources}
        for key, state in run.states.items():
            typ = types.get(key.split("::")[-1]) if "::" not in key else key.rsplit("::", 1)[0]
            if typ in ARN:
                assert re.fullmatch(ARN[typ], state["arn"]), (typ, key, state["arn"])
                checked.add(typ)
            if typ in ID:
                assert re.fullmatch(ID[typ], state["id"]), (typ, key, state["id"])
                checked.add(typ)
            assert not str(state.get("id", "")).endswith(f"{key}-id"), (key, state["id"])
    assert checked >= set(ARN) - {"aws:sqs/queue:Queue"}, set(ARN) - checked


def test_the_answers_the_issue_named(examples: dict[str, mock_engine.MockRun]) -> None:
    edge = examples["edge"]  # getServiceAccount: test_data_sources_answer_in_the_region_asked
    # bucket domain names, used for CloudFront's log bucket
    (bucket,) = [s for k, s in edge.states.items() if k == "site-logs"]
    assert bucket["bucketDomainName"] == f"{bucket['bucket']}.s3.amazonaws.com"
    assert re.fullmatch(r"site-logs-[0-9a-f]{7}", bucket["bucket"])  # auto-named as Pulumi names it
    # proxies: prx- ARNs, hosts named after the proxy
    (proxy,) = [s for k, s in examples["serverless"].states.items() if k == "function-proxy"]
    assert re.fullmatch(ARN["aws:rds/proxy:Proxy"], proxy["arn"])
    assert proxy["endpoint"].startswith(f"{proxy['name']}.proxy-")


def test_an_unknown_data_source_is_refused_not_answered_with_nothing() -> None:
    with pytest.raises(EngineRuleError, match="no answer for the data source aws:ec2/getVpc:getVpc"):
        run_program(lambda: aws.ec2.get_vpc(default=True))


def test_data_sources_answer_in_the_region_asked() -> None:
    def program() -> None:
        account = aws.elb.get_service_account_output(region="eu-west-1")
        aws.ssm.Parameter("elb", type="String", insecure_value=account.arn)

    (record,) = run_program(program, {"aws:region": "us-west-2"}).resources
    assert record["inputs"]["insecureValue"] == "arn:aws:iam::156460612806:root"

    def in_the_stacks_region() -> None:
        aws.ssm.Parameter("elb", type="String", insecure_value=aws.elb.get_service_account_output().arn)

    with pytest.raises(ValueError, match="no ELB account in ap-southeast-5"):  # opened since August 2022
        run_program(in_the_stacks_region, {"aws:region": "ap-southeast-5"})


# -- the engine's rules ---------------------------------------------------------------------------------

class Site(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("acme:web:Site", name, None, opts)
        self.bucket = aws.s3.Bucket(f"{name}-assets", opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


def test_urns_are_minted_as_the_engine_mints_them() -> None:
    urns: dict[str, str] = {}

    def program() -> None:
        top = aws.s3.Bucket("top")
        outer = Site("outer")
        inner = Site("inner", opts=pulumi.ResourceOptions(parent=outer))
        named = (("top", top), ("site", outer), ("child", outer.bucket), ("grandchild", inner.bucket))
        for key, resource in named:
            resource.urn.apply(lambda urn, key=key: urns.__setitem__(key, urn))

    run = run_program(program)
    prefix = "urn:pulumi:preview::deploy-paradigms::"
    assert urns == {
        "top": prefix + "aws:s3/bucket:Bucket::top",  # no pulumi:pulumi:Stack$ for top-level resources
        "site": prefix + "acme:web:Site::outer",
        "child": prefix + "acme:web:Site$aws:s3/bucket:Bucket::outer-assets",
        "grandchild": prefix + "acme:web:Site$acme:web:Site$aws:s3/bucket:Bucket::inner-assets",
    }
    parents = {r["name"]: r["parent"] for r in run.resources}
    assert parents == {"top": None, "outer": None, "outer-assets": "outer", "inner": "outer",
                       "inner-assets": "inner"}


def test_one_name_per_type_and_parent_chain() -> None:
    def same_name_other_type() -> None:
        aws.s3.Bucket("logs")
        aws.cloudwatch.LogGroup("logs")

    assert len(run_program(same_name_other_type).resources) == 2

    def same_name_under_two_sites() -> None:  # same type chain: the URNs collide
        Site("a", opts=pulumi.ResourceOptions())
        aws.s3.Bucket("a-assets", opts=pulumi.ResourceOptions(parent=Site("b")))

    with pytest.raises(EngineRuleError,
                       match=r"Duplicate resource URN .*acme:web:Site\$aws:s3/bucket:Bucket::a-assets"):
        run_program(same_name_under_two_sites)


def test_a_transform_that_drops_a_required_input_is_refused() -> None:
    def drop_role(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult:
        props = {k: v for k, v in args.props.items() if k != "role"}
        return pulumi.ResourceTransformResult(props, args.opts)

    def program() -> None:
        aws.lambda_.Function("fn", role="arn:aws:iam::123456789012:role/fn", runtime="python3.12",
                             handler="index.handler", code=pulumi.AssetArchive({}),
                             opts=pulumi.ResourceOptions(transforms=[drop_role]))

    with pytest.raises(EngineRuleError,
                       match=r"aws:lambda/function:Function 'fn': missing required input\(s\) role"):
        run_program(program)


def test_required_inputs_come_from_the_sdk() -> None:
    assert mock_engine.required_inputs("aws:iam/rolePolicy:RolePolicy") == ("policy", "role")
    assert mock_engine.required_inputs("aws:rds/proxy:Proxy") == ("engineFamily", "roleArn", "vpcSubnetIds")
    assert mock_engine.required_inputs("acme:web:Site") == ()

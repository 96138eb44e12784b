"""Guard rules: expressed once, applied to CloudFormation templates and Pulumi graphs alike.

Each scenario is written once as a neutral :class:`Scenario` and rendered both as a
CloudFormation template and as Pulumi preview records (the shapes CDK and the
preview produce); every rule must report the same thing on both. Then every
example template (all stacks, including the us-east-1 support stack) and every
Pulumi example graph must pass every rule, secret scan included.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from conftest import template_of

from deploy_paradigms import guard
from deploy_paradigms.budget import BudgetError
from deploy_paradigms.guard.rules import no_secrets

ROOT = Path(__file__).resolve().parents[1]
DB_USER_ARN = "arn:aws:rds-db:eu-west-1:123456789012:dbuser:prx-0123456789abcdef/app_admin"


@dataclass(frozen=True)
class Scenario:
    """A database, its RDS Proxy, a Lambda behind the proxy, a log group and a policy;
    optionally a Lambda and an ECS service that reach the database directly."""

    storage_encrypted: bool = True
    publicly_accessible: bool = False
    database_open_to_world: bool = False
    deletion_protection: bool = True
    backup_days: int | None = 7
    require_tls: bool = True
    idle_timeout_s: int | None = 120
    proxy_percent: int = 50  # of db.t3.micro's 86: 43 connections
    log_retention_days: int | None = 30
    actions: tuple[str, ...] = ("rds-db:connect",)
    resources: tuple[str, ...] = (DB_USER_ARN,)
    function_reserved: int | None = 40
    function_env: dict[str, str] = field(default_factory=dict)
    direct_function: tuple[int, int] | None = None  # (reserved concurrency, connection_limit)
    service: tuple[int, int, int] | None = None  # (desired, max tasks, connection_limit)


BASE = Scenario()


# -- the two renderings ------------------------------------------------------
def _getatt(name: str, attribute: str = "GroupId") -> dict[str, Any]:
    return {"Fn::GetAtt": [name, attribute]}


def to_cfn(s: Scenario) -> dict[str, Any]:
    res: dict[str, Any] = {}

    def add(name: str, typ: str, **props: Any) -> None:
        res[name] = {"Type": typ, "Properties": props}

    add("DbSg", "AWS::EC2::SecurityGroup", GroupDescription="db", SecurityGroupIngress=(
        [{"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432}]
        if s.database_open_to_world else []))
    add("ProxySg", "AWS::EC2::SecurityGroup", GroupDescription="proxy")
    add("FnSg", "AWS::EC2::SecurityGroup", GroupDescription="fn")
    add("DbFromProxy", "AWS::EC2::SecurityGroupIngress", GroupId=_getatt("DbSg"),
        SourceSecurityGroupId=_getatt("ProxySg"), IpProtocol="tcp", FromPort=5432, ToPort=5432)
    add("ProxyFromFn", "AWS::EC2::SecurityGroupIngress", GroupId=_getatt("ProxySg"),
        SourceSecurityGroupId=_getatt("FnSg"), IpProtocol="tcp", FromPort=5432, ToPort=5432)
    add("Db", "AWS::RDS::DBInstance", Engine="postgres", DBInstanceClass="db.t3.micro", Port="5432",
        StorageEncrypted=s.storage_encrypted, PubliclyAccessible=s.publicly_accessible,
        DeletionProtection=s.deletion_protection, VPCSecurityGroups=[_getatt("DbSg")],
        **({"BackupRetentionPeriod": s.backup_days} if s.backup_days is not None else {}))
    add("Proxy", "AWS::RDS::DBProxy", RequireTLS=s.require_tls, EngineFamily="POSTGRESQL",
        VpcSecurityGroupIds=[_getatt("ProxySg")],
        **({"IdleClientTimeout": s.idle_timeout_s} if s.idle_timeout_s is not None else {}))
    add("ProxyTargets", "AWS::RDS::DBProxyTargetGroup", DBProxyName={"Ref": "Proxy"},
        TargetGroupName="default", DBInstanceIdentifiers=[{"Ref": "Db"}],
        ConnectionPoolConfigurationInfo={"MaxConnectionsPercent": s.proxy_percent})
    add("Fn", "AWS::Lambda::Function", Environment={"Variables": {
        "DATABASE_HOST": _getatt("Proxy", "Endpoint"), "DATABASE_URL_PARAMS": "connection_limit=1",
        **s.function_env}}, VpcConfig={"SecurityGroupIds": [_getatt("FnSg")]},
        **({"ReservedConcurrentExecutions": s.function_reserved} if s.function_reserved is not None else {}))
    add("FnLogs", "AWS::Logs::LogGroup",
        **({"RetentionInDays": s.log_retention_days} if s.log_retention_days is not None else {}))
    statement = {"Effect": "Allow", "Action": list(s.actions), "Resource": list(s.resources)}
    add("FnPolicy", "AWS::IAM::Policy", PolicyName="fn",
        PolicyDocument={"Version": "2012-10-17", "Statement": [statement]})
    if s.direct_function is not None:
        reserved, pool = s.direct_function
        add("BatchSg", "AWS::EC2::SecurityGroup", GroupDescription="batch")
        add("DbFromBatch", "AWS::EC2::SecurityGroupIngress", GroupId=_getatt("DbSg"),
            SourceSecurityGroupId=_getatt("BatchSg"), IpProtocol="tcp", FromPort=5432, ToPort=5432)
        add("Batch", "AWS::Lambda::Function", ReservedConcurrentExecutions=reserved,
            Environment={"Variables": {"DATABASE_URL_PARAMS": f"connection_limit={pool}"}},
            VpcConfig={"SecurityGroupIds": [_getatt("BatchSg")]})
    if s.service is not None:
        desired, max_tasks, pool = s.service
        add("WorkerSg", "AWS::EC2::SecurityGroup", GroupDescription="worker")
        add("DbFromWorker", "AWS::EC2::SecurityGroupIngress", GroupId=_getatt("DbSg"),
            SourceSecurityGroupId=_getatt("WorkerSg"), IpProtocol="tcp", FromPort=5432, ToPort=5432)
        env = [{"Name": "DATABASE_URL_PARAMS", "Value": f"connection_limit={pool}"}]
        add("WorkerTask", "AWS::ECS::TaskDefinition",
            ContainerDefinitions=[{"Name": "worker", "Environment": env}])
        add("Worker", "AWS::ECS::Service", DesiredCount=desired, TaskDefinition={"Ref": "WorkerTask"},
            NetworkConfiguration={"AwsvpcConfiguration": {"SecurityGroups": [_getatt("WorkerSg")]}})
        add("WorkerScaling", "AWS::ApplicationAutoScaling::ScalableTarget", MaxCapacity=max_tasks,
            MinCapacity=desired, ScalableDimension="ecs:service:DesiredCount", ServiceNamespace="ecs",
            ResourceId={"Fn::Join": ["", ["service/", {"Ref": "Cluster"}, "/", _getatt("Worker", "Name")]]})
    return {"Resources": res}


def to_records(s: Scenario) -> list[dict[str, Any]]:
    """The same scenario as preview records (mock ids ``<name>-id``, ARNs ending ``:<name>``)."""
    recs: list[dict[str, Any]] = []

    def add(typ: str, resource_name: str, **inputs: Any) -> None:
        recs.append({"type": typ, "name": resource_name, "parent": "app", "inputs": inputs})

    def rule(name: str, group: str, source: str) -> None:
        add("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", name, securityGroupId=f"{group}-id",
            referencedSecurityGroupId=f"{source}-id", ipProtocol="tcp", fromPort=5432, toPort=5432)

    recs.append({"type": "deploy-paradigms:test:App", "name": "app", "parent": None, "inputs": {}})
    add("aws:ec2/securityGroup:SecurityGroup", "db-sg", ingress=(
        [{"cidrBlocks": ["0.0.0.0/0"], "protocol": "tcp", "fromPort": 5432, "toPort": 5432}]
        if s.database_open_to_world else []))
    add("aws:ec2/securityGroup:SecurityGroup", "proxy-sg")
    add("aws:ec2/securityGroup:SecurityGroup", "fn-sg")
    rule("db-from-proxy", "db-sg", "proxy-sg")
    rule("proxy-from-fn", "proxy-sg", "fn-sg")
    add("aws:rds/instance:Instance", "db", engine="postgres", instanceClass="db.t3.micro", port=5432,
        identifier="app-db", storageEncrypted=s.storage_encrypted, publiclyAccessible=s.publicly_accessible,
        deletionProtection=s.deletion_protection, vpcSecurityGroupIds=["db-sg-id"],
        **({"backupRetentionPeriod": s.backup_days} if s.backup_days is not None else {}))
    add("aws:rds/proxy:Proxy", "proxy", name="app-proxy", requireTls=s.require_tls, engineFamily="POSTGRESQL",
        vpcSecurityGroupIds=["proxy-sg-id"],
        **({"idleClientTimeout": s.idle_timeout_s} if s.idle_timeout_s is not None else {}))
    add("aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup", "proxy-targets", dbProxyName="app-proxy",
        connectionPoolConfig={"maxConnectionsPercent": s.proxy_percent})
    add("aws:rds/proxyTarget:ProxyTarget", "proxy-target", dbProxyName="app-proxy",
        dbInstanceIdentifier="app-db", targetGroupName="default")
    add("aws:lambda/function:Function", "fn", environment={"variables": {
        "DATABASE_HOST": "proxy.proxy-c0ffee000000.us-east-1.rds.amazonaws.com",
        "DATABASE_URL_PARAMS": "connection_limit=1", **s.function_env}},
        vpcConfig={"securityGroupIds": ["fn-sg-id"]},
        reservedConcurrentExecutions=-1 if s.function_reserved is None else s.function_reserved)
    add("aws:cloudwatch/logGroup:LogGroup", "fn-logs",
        **({"retentionInDays": s.log_retention_days} if s.log_retention_days is not None else {}))
    add("aws:iam/rolePolicy:RolePolicy", "fn-policy", role="fn-role", policy=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": list(s.actions), "Resource": list(s.resources)}]}))
    if s.direct_function is not None:
        reserved, pool = s.direct_function
        add("aws:ec2/securityGroup:SecurityGroup", "batch-sg")
        rule("db-from-batch", "db-sg", "batch-sg")
        add("aws:lambda/function:Function", "batch", reservedConcurrentExecutions=reserved,
            environment={"variables": {"DATABASE_URL_PARAMS": f"connection_limit={pool}"}},
            vpcConfig={"securityGroupIds": ["batch-sg-id"]})
    if s.service is not None:
        desired, max_tasks, pool = s.service
        add("aws:ec2/securityGroup:SecurityGroup", "worker-sg")
        rule("db-from-worker", "db-sg", "worker-sg")
        add("aws:ecs/taskDefinition:TaskDefinition", "worker-task", containerDefinitions=json.dumps([
            {"name": "worker", "environment": [{"name": "DATABASE_URL_PARAMS",
                                                "value": f"connection_limit={pool}"}]}]))
        add("aws:ecs/service:Service", "worker", desiredCount=desired,
            taskDefinition="arn:aws:ecs:us-east-1:123456789012:worker-task",
            networkConfiguration={"securityGroups": ["worker-sg-id"]})
        add("aws:appautoscaling/target:Target", "worker-scaling", maxCapacity=max_tasks, minCapacity=desired,
            resourceId="service/cluster/worker", scalableDimension="ecs:service:DesiredCount")
    return recs


RENDERERS: dict[str, Callable[[Scenario], list[guard.Finding]]] = {
    "cloudformation": lambda s: guard.check_template(to_cfn(s)),
    "pulumi": lambda s: guard.check_records(to_records(s)),
}

#: (case id, scenario, rule ids expected, resource name in the CFN / Pulumi rendering)
CASES: list[tuple[str, Scenario, set[str], tuple[str, str]]] = [
    ("unencrypted storage", replace(BASE, storage_encrypted=False), {"storage-encrypted"}, ("Db", "db")),
    ("public database", replace(BASE, publicly_accessible=True), {"no-public-database"}, ("Db", "db")),
    ("database open to 0.0.0.0/0", replace(BASE, database_open_to_world=True), {"no-public-database"},
     ("Db", "db")),
    ("proxy without TLS", replace(BASE, require_tls=False), {"proxy-requires-tls"}, ("Proxy", "proxy")),
    ("no deletion protection", replace(BASE, deletion_protection=False), {"deletion-protection"},
     ("Db", "db")),
    ("1-day backups", replace(BASE, backup_days=1), {"backup-retention"}, ("Db", "db")),
    ("backups left at the default", replace(BASE, backup_days=None), {"backup-retention"}, ("Db", "db")),
    ("log group kept forever", replace(BASE, log_retention_days=None), {"log-retention"},
     ("FnLogs", "fn-logs")),
    ("rds-db:* wildcard", replace(BASE, actions=("rds-db:*",)), {"least-privilege-iam"},
     ("FnPolicy", "fn-policy")),
    ("secretsmanager:* wildcard", replace(BASE, actions=("secretsmanager:*",)), {"least-privilege-iam"},
     ("FnPolicy", "fn-policy")),
    ("action *", replace(BASE, actions=("*",)), {"least-privilege-iam"}, ("FnPolicy", "fn-policy")),
    ("data action on every resource",
     replace(BASE, actions=("secretsmanager:GetSecretValue",), resources=("*",)),
     {"least-privilege-iam"}, ("FnPolicy", "fn-policy")),
    ("password in an environment variable", replace(BASE, function_env={"DB_PASSWORD": "hunter2hunter2"}),
     {"no-secrets"}, ("Fn", "fn")),
    ("resolved secret reference", replace(BASE, function_env={
        "DB": "{{resolve:secretsmanager:arn:aws:secretsmanager:eu-west-1:1:secret:db:SecretString:pw}}"}),
     {"no-secrets"}, ("Fn", "fn")),
    ("literal access key", replace(BASE, function_env={"AWS_KEY_HINT": "AKIAABCDEFGHIJKLMNOP"}),
     {"no-secrets"}, ("Fn", "fn")),
    ("URL with a password", replace(BASE, function_env={"DATABASE_URL": "postgres://app:s3cret@db:5432/app"}),
     {"no-secrets"}, ("Fn", "fn")),
    ("Lambda without reserved concurrency", replace(BASE, function_reserved=None),
     {"lambda-reserved-concurrency"}, ("Fn", "fn")),
    ("proxy idle timeout left at 1800 s", replace(BASE, idle_timeout_s=None), {"proxy-idle-client-timeout"},
     ("Proxy", "proxy")),
    ("proxy idle timeout set to 1800 s", replace(BASE, idle_timeout_s=1800), {"proxy-idle-client-timeout"},
     ("Proxy", "proxy")),
    ("direct Lambda over the budget", replace(BASE, direct_function=(40, 2)), {"database-over-allocated"},
     ("Db", "db")),
    ("ECS service over its allocation", replace(BASE, service=(2, 10, 5)),
     {"ecs-pool-exceeds-allocation", "database-over-allocated"}, ("Worker", "worker")),
]


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_the_baseline_passes_every_rule(renderer: str) -> None:
    assert RENDERERS[renderer](BASE) == []


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
@pytest.mark.parametrize(("case", "scenario", "expected", "names"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_fires_the_same_on_both_renderings(renderer: str, case: str, scenario: Scenario,
                                                     expected: set[str], names: tuple[str, str]) -> None:
    findings = RENDERERS[renderer](scenario)
    assert {f.rule for f in findings} == expected, [str(f) for f in findings]
    name = names[0] if renderer == "cloudformation" else names[1]
    assert name in {f.resource for f in findings}
    assert all(f.message for f in findings)


def test_budget_messages_carry_the_numbers() -> None:
    (over,) = guard.check_template(to_cfn(replace(BASE, direct_function=(40, 2))), guard.BUDGET_RULES)
    assert "123 connections together, over the 76 usable on postgres db.t3.micro" in over.message
    assert "Proxy 43 (RDS Proxy at 50% of max_connections 86)" in over.message
    assert "Batch 80 (reserved concurrency 40 x pool 2)" in over.message
    ecs = [f for f in guard.check_records(to_records(replace(BASE, service=(2, 10, 5))))
           if f.rule == "ecs-pool-exceeds-allocation"]
    assert ecs and "10 max tasks x 200% during deploys = 20 tasks x pool 5 = 100 connections, over its " \
                   "allocation of 76" in ecs[0].message


def test_allocation_tag_bounds_a_service_below_the_database() -> None:
    template = to_cfn(replace(BASE, service=(1, 2, 5)))  # 2 x 2 x 5 = 20 connections
    assert guard.check_template(template, guard.BUDGET_RULES) == []
    template["Resources"]["Worker"]["Properties"]["Tags"] = [{"Key": guard.ALLOCATION_TAG, "Value": "10"}]
    (finding,) = guard.check_template(template, guard.BUDGET_RULES)
    assert finding.rule == "ecs-pool-exceeds-allocation" and "allocation of 10" in finding.message


def test_unresolved_references_fall_back_to_the_database_client_contract() -> None:
    """During a real `pulumi preview` ids are unknown: a function that sets DATABASE_HOST is
    taken to reach the only governed database."""
    records = to_records(replace(BASE, function_reserved=None))
    for rec in records:
        if rec["name"] == "fn":
            rec["inputs"]["vpcConfig"] = {"securityGroupIds": ["[unknown]"]}
            rec["inputs"]["environment"]["variables"]["DATABASE_HOST"] = "[unknown]"
    (finding,) = guard.check_records(records, guard.BUDGET_RULES)
    assert finding.rule == "lambda-reserved-concurrency" and "directly" in finding.message


@pytest.mark.parametrize(("key", "secret"), [
    ("DB_PASSWORD", True), ("apiToken", True), ("SecretString", True), ("ACCESS_KEY", True),
    ("DATABASE_SECRET_ARN", False), ("SecretId", False), ("ClientPasswordAuthType", False),
    ("ServiceToken", False), ("RefreshToken", False), ("DATABASE_USER", False), ("PasswordLength", False),
])
def test_secret_key_names(key: str, secret: bool) -> None:
    assert no_secrets.is_secret_key(key) is secret


def test_secret_scan_reads_json_text_name_value_pairs_and_joins() -> None:
    document = {
        "containerDefinitions": json.dumps([{"environment": [{"name": "API_TOKEN", "value": "abc123"}]}]),
        "Environment": [{"Name": "DATABASE_URL", "Value": "mysql://root:pw@db/app"}],
        "Joined": {"Fn::Join": ["", ["postgres://app:", {"Ref": "Password"}, "@db:5432/app"]]},
        "ValueFrom": "arn:aws:secretsmanager:eu-west-1:1:secret:db",
        "Masked": {"password": "[secret]"},
    }
    found = dict(no_secrets.scan(document))
    assert set(found) == {"containerDefinitions[0].environment[0].API_TOKEN", "Environment[0].DATABASE_URL",
                          "Joined", "Masked.password"}, found
    assert "encrypted in the Pulumi state" in found["Masked.password"]


def test_rules_are_one_per_module_with_id_reason_and_fix() -> None:
    ids = [r.id for r in guard.ALL_RULES]
    assert len(ids) == len(set(ids)) == 15
    modules = sorted(p.stem for p in (ROOT / "constructs/deploy_paradigms/guard/rules").glob("*.py")
                     if p.stem != "__init__")
    assert modules == sorted(i.replace("-", "_") for i in ids)
    for rule in guard.ALL_RULES:
        assert rule.category in ("security", "budget")
        assert len(rule.reason) > 80 and len(rule.fix) > 40, rule.id
    assert {r.id for r in guard.BUDGET_RULES} == {
        "lambda-reserved-concurrency", "database-over-allocated", "proxy-idle-client-timeout",
        "ecs-pool-exceeds-allocation", "proxy-clients-over-share", "account-reserved-concurrency",
        "prisma7-url-pool-ignored"}
    with pytest.raises(BudgetError, match="unknown guard rule 'nope'"):
        guard.rule_by_id("nope")


def test_security_doc_lists_every_rule() -> None:
    doc = (ROOT / "docs" / "security.md").read_text()
    for rule in guard.ALL_RULES:
        assert f"| `{rule.id}` |" in doc, f"docs/security.md does not describe {rule.id}"


def test_guard_imports_no_framework() -> None:
    code = ("import sys, deploy_paradigms.guard; frameworks = ('aws_cdk', 'pulumi', 'pulumi_aws', 'jsii'); "
            "print([m for m in sys.modules if m.split('.')[0] in frameworks])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- the examples --------------------------------------------------------------
EXAMPLE_STACKS = {"Serverless": ("Serverless",), "Paas": ("Paas",), "Edge": ("Edge", "Edge-us-east-1")}
PARADIGMS = ("serverless", "paas", "edge")


def _example_templates(synth: Callable[..., Any]) -> dict[str, dict[str, Any]]:
    templates = {}
    for app_stack, names in EXAMPLE_STACKS.items():
        assembly = synth((app_stack,))
        for name in names:
            templates[name] = template_of(assembly, name)
    return templates


@pytest.fixture(scope="module")
def example_templates(synth: Callable[..., Any]) -> dict[str, dict[str, Any]]:
    return _example_templates(synth)


@pytest.fixture(scope="module")
def example_graphs() -> dict[str, list[dict[str, Any]]]:
    from deploy_paradigms.pulumi import preview

    return {p: preview.render_stack(p).records_with_outputs() for p in PARADIGMS}


@pytest.mark.parametrize("stack", ["Serverless", "Paas", "Edge", "Edge-us-east-1"])
def test_every_example_template_passes_every_rule(example_templates: dict[str, Any], stack: str) -> None:
    findings = guard.check_template(example_templates[stack])
    assert findings == [], "\n".join(map(str, findings))


@pytest.mark.parametrize("paradigm", PARADIGMS)
def test_every_pulumi_graph_passes_every_rule(example_graphs: dict[str, Any], paradigm: str) -> None:
    findings = guard.check_records(example_graphs[paradigm])
    assert findings == [], "\n".join(map(str, findings))


def test_the_examples_are_what_the_rules_look_at(example_templates: dict[str, Any],
                                                 example_graphs: dict[str, Any]) -> None:
    """Guard against a vacuous pass: the models hold the governed database, its clients,
    their environments (scanned for secrets) and the IAM statements."""
    models = {**{s: guard.Model(guard.from_template(t)) for s, t in example_templates.items()},
              **{p: guard.Model(guard.from_records(r)) for p, r in example_graphs.items()}}
    for name in ("Serverless", "Paas", "Edge", *PARADIGMS):
        model = models[name]
        ((db, limit),) = model.governed_databases()
        consumers = model.consumers(db, limit)
        assert consumers and sum(c.connections or 0 for c in consumers) <= limit.usable, name
        assert any(model.is_database_client(c) for c in model.clients()), name
        assert model.of_kind("policy", "role") and model.of_kind("log_group"), name
    support = models["Edge-us-east-1"]
    assert support.of_kind("function") and support.of_kind("role", "policy")


def test_no_secret_text_anywhere_in_templates_or_graphs(example_templates: dict[str, Any],
                                                        example_graphs: dict[str, Any]) -> None:
    """The scan over whole documents, outputs and parameters included."""
    for name, document in [*example_templates.items(), *example_graphs.items()]:
        hits = list(no_secrets.scan(document))
        assert hits == [], (name, hits)
        assert "{{resolve:" not in json.dumps(document), name


def test_examples_keep_the_data_safety_defaults(example_templates: dict[str, Any],
                                                example_graphs: dict[str, Any]) -> None:
    """What the rules do not cover: snapshot on delete, minor-version upgrades, the
    Multi-AZ switch left off in the examples, a current engine version (cfn-lint flags
    deprecated ones in test_cfn_lint.py)."""
    for stack in ("Serverless", "Paas", "Edge"):
        resources = example_templates[stack]["Resources"].values()
        (db,) = [r for r in resources if r["Type"] == "AWS::RDS::DBInstance"]
        assert db["DeletionPolicy"] == db["UpdateReplacePolicy"] == "Snapshot", stack
        props = db["Properties"]
        assert props["AutoMinorVersionUpgrade"] is True and props["MultiAZ"] is False, stack
        assert props["EngineVersion"].split(".")[0] == "17", stack
    for paradigm in PARADIGMS:
        (db,) = [r["inputs"] for r in example_graphs[paradigm] if r["type"] == "aws:rds/instance:Instance"]
        assert db["skipFinalSnapshot"] is False and db["finalSnapshotIdentifier"], paradigm
        assert db["autoMinorVersionUpgrade"] is True and db["multiAz"] is False, paradigm
        assert db["engineVersion"].split(".")[0] == "17", paradigm


def test_pool_size_reads_every_recognised_form_and_takes_the_largest() -> None:
    from deploy_paradigms.guard.model import pool_size

    assert pool_size({}) == (5, False)
    assert pool_size({"DATABASE_POOL_MAX": "9", "DATABASE_URL_PARAMS": "connection_limit=9"}) == (9, True)
    # A Prisma 6 URL saying more than the contract: the larger one counts.
    assert pool_size({"DATABASE_POOL_MAX": "9", "DATABASE_URL": "postgresql://h/d?connection_limit=20"}) \
        == (20, True)
    assert pool_size({"SQLALCHEMY_POOL_SIZE": "5", "SQLALCHEMY_MAX_OVERFLOW": "10"}) == (15, True)
    assert pool_size({"PG_POOL_MAX": "12"}) == (12, True)


def test_prisma7_relying_on_connection_limit_is_flagged_and_the_contract_clears_it() -> None:
    from deploy_paradigms.guard.model import Model, Resource
    from deploy_paradigms.guard.rules import prisma7_url_pool_ignored as rule

    def service(env: dict[str, str], tags: dict[str, str] | None = None) -> list[guard.Finding]:
        res = Resource("service", "Svc", "App/Svc", {"environment": env, "tags": tags or {}})
        return list(rule.check(Model([res])))

    (finding,) = service({"DATABASE_URL": "postgresql://h/d?connection_limit=5", "PRISMA_VERSION": "^7.10.1"})
    assert "connection_limit=5 in the URL, which Prisma 7 ignores" in finding.message
    tagged = service({"DATABASE_URL_PARAMS": "connection_limit=5"}, {"deploy-paradigms:client": "prisma7"})
    assert len(tagged) == 1
    assert service({"DATABASE_URL_PARAMS": "connection_limit=5", "PRISMA_VERSION": "6.19.0"}) == []
    assert service({"DATABASE_URL_PARAMS": "connection_limit=5", "DATABASE_POOL_MAX": "5",
                    "PRISMA_VERSION": "7.10.1"}) == []


@pytest.mark.parametrize(("source", "props"), [
    ("cfn", {"DeploymentConfiguration": {"MaximumPercent": 150, "Strategy": "BLUE_GREEN"}}),
    ("cfn", {"DeploymentConfiguration": {"MaximumPercent": 150},
             "DeploymentController": {"Type": "CODE_DEPLOY"}}),
    ("pulumi", {"deploymentMaximumPercent": 150, "deploymentConfiguration": {"strategy": "CANARY"}}),
])
def test_blue_green_canary_and_code_deploy_services_count_both_revisions(source: str,
                                                                         props: dict[str, Any]) -> None:
    from deploy_paradigms.guard import cfn, records
    from deploy_paradigms.guard.model import service_scale

    if source == "cfn":
        resource = {"Type": "AWS::ECS::Service", "Properties": {"DesiredCount": 4, **props}}
        template = {"Resources": {"Svc": resource}}
        (service,) = [r for r in cfn.from_template(template) if r.kind == "service"]
    else:
        (service,) = [r for r in records.from_records(
            [{"type": "aws:ecs/service:Service", "name": "svc", "inputs": {"desiredCount": 4, **props}}])
            if r.kind == "service"]
    assert service_scale(service) == (4, 200)  # not 150 %: both revisions run through the bake time

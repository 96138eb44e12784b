"""The bad-input table: what a user can get wrong, where it is caught, and what they read.

Each :class:`BadInput` is a callable that feeds one wrong input to a real entry
point (a construct, the query catalog, the ``deploy-paradigms`` CLI, the
example app under ``cdk synth`` context) plus the message it must fail with.
``tests/test_bad_inputs.py`` runs every row (it must fail at construction or
synth with that message, and leave no template behind) and
``scripts/bad_input_table.py`` renders the README's table from the same rows.

Rendering the table imports no framework: CDK and Pulumi are imported inside
the callables.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
JSII_ENV = {"JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20,22"}


class Rejected(Exception):  # noqa: N818 - the outcome of a row, not an error of the test
    """A subprocess entry point refused the input: ``text`` is what it printed."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass(frozen=True)
class BadInput:
    """One row: ``input`` as the user writes it, ``where`` it is caught, the ``message``
    (a substring of the error), and ``run(outdir)`` that feeds it to the real entry point."""

    input: str
    where: str
    message: str
    run: Callable[[Path], object]
    subprocess: bool = False  # runs an entry point in its own process (the test runs those in parallel)

    @property
    def id(self) -> str:
        return self.input


# -- runners -----------------------------------------------------------------
def in_stack(build: Callable[[Any], object]) -> Callable[[Path], object]:
    """Build in a fresh app (outdir = the test's) and stack; synth only if construction passed."""

    def run(outdir: Path) -> object:
        import aws_cdk as cdk

        app = cdk.App(outdir=str(outdir), analytics_reporting=False)
        stack = cdk.Stack(app, "Bad", env=cdk.Environment(region="eu-west-1"))
        build(stack)
        return app.synth()

    return run


def _vpc(stack: Any) -> Any:
    from aws_cdk import aws_ec2 as ec2

    return ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        ec2.SubnetConfiguration(name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC)])


def database(**kwargs: Any) -> Callable[[Path], object]:
    def build(stack: Any) -> object:
        from deploy_paradigms.cdk.database import Database

        return Database(stack, "Db", vpc=_vpc(stack), **kwargs)

    return in_stack(build)


def existing_database_without_secret() -> Callable[[Path], object]:
    def build(stack: Any) -> object:
        from aws_cdk import aws_ec2 as ec2

        from deploy_paradigms.cdk.database import Database

        vpc = _vpc(stack)
        return Database.from_existing(
            stack, "Db", vpc=vpc, engine="postgres", instance_class="db.m5.large",
            instance_identifier="prod-db", endpoint_address="prod-db.abc.eu-west-1.rds.amazonaws.com",
            port=5432, secret=None, security_group=ec2.SecurityGroup(stack, "DbSg", vpc=vpc), share=40)

    return in_stack(build)


def existing_database_without_share() -> Callable[[Path], object]:
    def build(stack: Any) -> object:
        from aws_cdk import aws_ec2 as ec2
        from aws_cdk import aws_secretsmanager as secretsmanager

        from deploy_paradigms.cdk.database import Database

        vpc = _vpc(stack)
        return Database.from_existing(
            stack, "Db", vpc=vpc, engine="postgres", instance_class="db.m5.large",
            instance_identifier="prod-db", endpoint_address="prod-db.abc.eu-west-1.rds.amazonaws.com",
            port=5432, secret=secretsmanager.Secret.from_secret_complete_arn(
                stack, "Secret", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"),
            security_group=ec2.SecurityGroup(stack, "DbSg", vpc=vpc))

    return in_stack(build)


def defaults_that_do_not_fit() -> Callable[[Path], object]:
    """Three default-share functions whose reserved concurrency exceeds a fair third (settled as
    synth does)."""
    def build(stack: Any) -> object:
        from aws_cdk import aws_lambda as lambda_

        from deploy_paradigms.cdk.database import Database, deployment_of
        from deploy_paradigms.cdk.serverless_function import ServerlessFunction

        db = Database(stack, "Db", vpc=_vpc(stack))
        for name in ("Api", "Worker", "Jobs"):
            ServerlessFunction(stack, name, database=db, handler="index.handler", reserved_concurrency=30,
                               code=lambda_.Code.from_inline("def handler(e, c): return None"))
        deployment_of(stack).settle()  # what synth does first (there the error comes back through jsii)
        return db

    return in_stack(build)


def default_after_an_explicit_share_took_all() -> Callable[[Path], object]:
    """A ContainerService holding every connection, then a DataEndpoint with a default share."""
    def build(stack: Any) -> object:
        from aws_cdk import aws_ecs as ecs

        from deploy_paradigms.catalog import NamedQuery, QueryCatalog
        from deploy_paradigms.cdk.container_service import ContainerService
        from deploy_paradigms.cdk.data_endpoint import DataEndpoint
        from deploy_paradigms.cdk.database import Database

        db = Database(stack, "Db", vpc=_vpc(stack))
        ContainerService(stack, "Web", database=db, connections=72,
                         image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/httpd"))
        return DataEndpoint(stack, "Data", database=db, catalog=QueryCatalog(queries=(
            NamedQuery(name="now", sql="SELECT now() AS now", cache_ttl_s=0),)))

    return in_stack(build)


def change_stream(db: dict[str, Any] | None = None, *, subscribe_tables: list[str] | None = None,
                  **kwargs: Any) -> Callable[[Path], object]:
    def build(stack: Any) -> object:
        from deploy_paradigms.cdk.change_stream import ChangeStream
        from deploy_paradigms.cdk.database import Database

        props = {"logical_replication": True} if db is None else db
        database_ = Database(stack, "Db", vpc=_vpc(stack), **props)
        stream = ChangeStream(stack, "Changes", database=database_, **{"tables": ["orders"], **kwargs})
        if subscribe_tables is not None:
            from aws_cdk import aws_sqs as sqs

            queue = sqs.Queue(stack, "Queue", enforce_ssl=True)
            stream.subscribe("Rule", queue=queue, tables=subscribe_tables)
        return stream

    return in_stack(build)


def serverless(instance_class: str = "db.t3.micro", *, settle: bool = False,
               **kwargs: Any) -> Callable[[Path], object]:
    """``settle``: also settle the default shares, as synth does first (a refusal there comes
    back through jsii as a RuntimeError carrying the same message)."""
    def build(stack: Any) -> object:
        from aws_cdk import aws_lambda as lambda_

        from deploy_paradigms.cdk.database import Database, deployment_of
        from deploy_paradigms.cdk.serverless_function import ServerlessFunction

        db = Database(stack, "Db", vpc=_vpc(stack), instance_class=instance_class)
        code = lambda_.Code.from_inline("def handler(e, c): return None")
        function = ServerlessFunction(stack, "Api", database=db, handler="index.handler", code=code, **kwargs)
        if settle:
            deployment_of(stack).settle()
        return function

    return in_stack(build)


def _function_options(**kwargs: Any) -> Any:
    from deploy_paradigms.plans.serverless import FunctionOptions

    return FunctionOptions(**kwargs)


def data_endpoint(**kwargs: Any) -> Callable[[Path], object]:
    def build(stack: Any) -> object:
        from deploy_paradigms.catalog import sample_catalog
        from deploy_paradigms.cdk.data_endpoint import DataEndpoint
        from deploy_paradigms.cdk.database import Database

        db = Database(stack, "Db", vpc=_vpc(stack))
        return DataEndpoint(stack, "Data", database=db, catalog=sample_catalog(), **kwargs)

    return in_stack(build)


def edge_with_writes() -> Callable[[Path], object]:
    def build(stack: Any) -> object:
        from deploy_paradigms import packaging
        from deploy_paradigms.catalog import sample_catalog
        from deploy_paradigms.cdk.data_endpoint import DataEndpoint
        from deploy_paradigms.cdk.database import Database
        from deploy_paradigms.cdk.edge_function import EdgeFunction

        db = Database(stack, "Db", vpc=_vpc(stack))
        endpoint = DataEndpoint(stack, "Data", database=db, catalog=sample_catalog())
        return EdgeFunction(stack, "Site", code_path=packaging.lambda_bundle("edge"),
                            handler=packaging.EDGE_HANDLER, data_endpoint=endpoint)

    return in_stack(build)


def containers(**kwargs: Any) -> Callable[[Path], object]:
    def build(stack: Any) -> object:
        from aws_cdk import aws_ecs as ecs

        from deploy_paradigms.cdk.container_service import ContainerService
        from deploy_paradigms.cdk.database import Database

        db = Database(stack, "Db", vpc=_vpc(stack))
        return ContainerService(stack, "Web", database=db, **kwargs,
                                image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/httpd"))

    return in_stack(build)


def edge(with_vpc: bool = False, package_bytes: int = 0, **kwargs: Any) -> Callable[[Path], object]:
    def run(outdir: Path) -> object:
        from aws_cdk import aws_cloudfront_origins as origins

        from deploy_paradigms import packaging
        from deploy_paradigms.cdk.edge_function import EdgeFunction

        code_path: Path = packaging.lambda_bundle("edge")
        if package_bytes:  # the sample bundle plus data that does not compress
            code_path = outdir / "edge-bundle"
            code_path.mkdir()
            (code_path / "edge_handler.py").write_text("def handler(event, context):\n    return event\n")
            (code_path / "data.bin").write_bytes(random.Random(0).randbytes(package_bytes))

        def build(stack: Any) -> object:
            extra = {"vpc": _vpc(stack)} if with_vpc else {}
            return EdgeFunction(stack, "Site", code_path=code_path, handler="edge_handler.handler",
                                default_origin=origins.HttpOrigin("example.com"), **extra, **kwargs)

        return in_stack(build)(outdir)

    return run


def _rate_limit(**kwargs: Any) -> Any:
    from deploy_paradigms.plans.edge import RateLimit

    return RateLimit(**kwargs)


def query(**kwargs: Any) -> Callable[[Path], object]:
    def run(outdir: Path) -> object:
        from deploy_paradigms.catalog import NamedQuery

        return NamedQuery(**kwargs)

    return run


def duplicate_queries() -> Callable[[Path], object]:
    def run(outdir: Path) -> object:
        from deploy_paradigms.catalog import NamedQuery, QueryCatalog

        posts = NamedQuery(name="recent_posts", sql="SELECT id FROM posts", cache_ttl_s=60)
        return QueryCatalog(queries=(posts, posts))

    return run


def write_invalidating_an_undeclared_tag() -> Callable[[Path], object]:
    def run(outdir: Path) -> object:
        from deploy_paradigms.catalog import NamedQuery, QueryCatalog, QueryParam

        post = NamedQuery(name="post_by_id", sql="SELECT id FROM posts WHERE id = :id",
                          params=(QueryParam("id", "int"),), cache_ttl_s=60, cache_tags=("post:{id}",))
        delete = NamedQuery(name="delete_post", sql="DELETE FROM posts WHERE id = :id",
                            params=(QueryParam("id", "int"),), mode="write", invalidates=("posts",))
        return QueryCatalog(queries=(post, delete))

    return run


def _check(proc: subprocess.CompletedProcess[str], outdir: Path) -> None:
    """A refusal is exit status 1 or 2 with the message on stderr and no Python traceback."""
    if proc.returncode == 0:
        raise AssertionError(f"accepted: {proc.args}\n{proc.stdout[-500:]}")
    if "Traceback (most recent call last)" in proc.stderr:
        raise AssertionError(f"a traceback instead of a message: {proc.stderr[-2000:]}")
    raise Rejected(proc.stderr)


def cli(*args: str) -> Callable[[Path], object]:
    """``deploy-paradigms <args>``: the installed console script."""

    def run(outdir: Path) -> object:
        proc = subprocess.run([str(VENV_BIN / "deploy-paradigms"), *args], capture_output=True, text=True,
                              timeout=120, env={**os.environ, **JSII_ENV})
        if proc.returncode not in (0, 2):
            raise AssertionError(f"exit status {proc.returncode}, expected 2: {proc.stderr[-2000:]}")
        _check(proc, outdir)
        return proc

    return run


def pulumi_program(paradigm: str, **config: str) -> Callable[[Path], object]:
    """The example Pulumi program with ``config`` (offline, under the preview's mocks)."""

    def run(outdir: Path) -> object:
        from deploy_paradigms.pulumi.preview import render_stack

        return render_stack(paradigm, config)

    return run


def pulumi_component(kind: str, **kwargs: Any) -> Callable[[Path], object]:
    """One Pulumi component (``function``, ``edge``, ``containers``, ``database``) with ``kwargs``,
    on a fresh network and db.m5.large database, under the preview's mocks."""

    def run(outdir: Path) -> object:
        import pulumi
        import pulumi_aws as aws

        from deploy_paradigms import packaging
        from deploy_paradigms.pulumi import (
            ContainerService,
            ContainerServiceArgs,
            Database,
            DatabaseArgs,
            EdgeFunction,
            EdgeFunctionArgs,
            Network,
            ServerlessFunction,
            ServerlessFunctionArgs,
        )
        from deploy_paradigms.pulumi.preview import render_program

        def build() -> object:
            db_args = kwargs if kind == "database" else {}
            db = Database("db", DatabaseArgs(network=Network("net"), instance_class="db.m5.large", **db_args))
            if kind == "function":
                code = pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(e, c):\n    pass\n")})
                return ServerlessFunction("fn", ServerlessFunctionArgs(
                    database=db, code=code, handler="index.handler", **kwargs))
            if kind == "containers":
                return ContainerService("web", ContainerServiceArgs(database=db, **kwargs))
            if kind == "edge":
                return EdgeFunction("site", EdgeFunctionArgs(
                    code_path=packaging.lambda_bundle("edge"), handler=packaging.EDGE_HANDLER,
                    default_origin=aws.cloudfront.DistributionOriginArgs(origin_id="web",
                                                                         domain_name="example.com"),
                    **kwargs))
            return db

        return render_program(build)

    return run


def _cdk_json_context() -> dict[str, Any]:
    return dict(json.loads((ROOT / "cdk.json").read_text())["context"])


def app_context(**context: str) -> Callable[[Path], object]:
    """The example app as ``cdk synth -c key=value`` runs it: cdk.json's ``app`` command
    (``python -m stacks.app``) with the CLI's context and output directory in its environment."""

    def run(outdir: Path) -> object:
        env = {**os.environ, **JSII_ENV, "CDK_OUTDIR": str(outdir),
               "CDK_CONTEXT_JSON": json.dumps({**_cdk_json_context(), **context})}
        proc = subprocess.run([sys.executable, "-m", "stacks.app"], cwd=ROOT, capture_output=True, text=True,
                              timeout=300, env=env)
        _check(proc, outdir)
        return proc

    return run


def cdk_synth(stack: str, **context: str) -> Callable[[Path], object]:
    """The pinned CDK CLI itself: ``cdk synth <stack> -c key=value -o <outdir>``."""

    def run(outdir: Path) -> object:
        args = [str(ROOT / "node_modules" / ".bin" / "cdk"), "synth", stack, "--quiet", "-o", str(outdir)]
        for key, value in context.items():
            args += ["-c", f"{key}={value}"]
        env = {**os.environ, **JSII_ENV, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
        _check(proc, outdir)
        return proc

    return run


def data_request(method: str, path: str, body: str = "", headers: dict[str, str] | None = None,
                 signed: bool = False) -> Callable[[Path], object]:
    """One function URL event to the data endpoint (sample catalog; refused before any database)."""

    def run(outdir: Path) -> object:
        from deploy_paradigms.catalog import sample_catalog
        from deploy_paradigms.runtime.data_endpoint import DataEndpoint
        from deploy_paradigms.runtime.settings import DatabaseSettings

        nowhere = DatabaseSettings(host="192.0.2.1", port=5432, name="x", user="x")  # never reached
        endpoint = DataEndpoint(sample_catalog(), settings=nowhere,
                                signing_key=b"k" if signed else None, clock=lambda: 1_800_000_000.0)
        response = endpoint({"rawPath": path, "rawQueryString": "", "headers": headers or {}, "body": body,
                             "requestContext": {"http": {"method": method, "path": path}}})
        if response["statusCode"] < 400:
            raise AssertionError(f"accepted: {response}")
        error = json.loads(response["body"])["error"]
        raise Rejected(f"{response['statusCode']} {error['code']}: {error['message']}")

    return run


def edge_origin(reply: bytes) -> Callable[[Path], object]:
    """The Lambda@Edge handler fetching from a local origin that sends ``reply`` (malformed HTTP)."""

    def run(outdir: Path) -> object:
        import socket
        import threading

        from deploy_paradigms.runtime.edge_handler import handle

        listener = socket.create_server(("127.0.0.1", 0))

        def answer() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(reply)

        threading.Thread(target=answer, daemon=True).start()
        event = {"Records": [{"cf": {"config": {}, "request": {"uri": "/", "headers": {}}}}]}
        try:
            response = handle(event, base_url=f"http://127.0.0.1:{listener.getsockname()[1]}")
        finally:
            listener.close()
        if response["status"] != "502":
            raise AssertionError(f"accepted: {response['status']}")
        raise Rejected(f"502 page: {response['body']}")

    return run


EDGE_VIEWER_LIMIT = ("bytes zipped, over the 1,048,576-byte (1 MB) limit of viewer triggers "
                     "(viewer-request); remove dependencies the handler does not import, fetch data through "
                     "the data endpoint instead of bundling it, or move the logic to an origin-request "
                     "trigger (50 MB)")

def managed_instances(**kwargs: Any) -> Callable[[Path], object]:
    """The framework-free planner, as a renderer for Lambda Managed Instances calls it."""

    def run(outdir: Path) -> object:
        from deploy_paradigms.budget import ConnectionLedger, describe_connection_limit
        from deploy_paradigms.budget.plan import plan_managed_instances

        limit = describe_connection_limit("postgres", "db.t3.micro")
        return plan_managed_instances(limit, ConnectionLedger(limit).available, **kwargs)

    return run


# -- the table ---------------------------------------------------------------
BAD_INPUTS: tuple[BadInput, ...] = (
    BadInput(
        'Database(engine="oracle")', "CDK `Database`",
        "engine='oracle' is not a known database engine; use one of: postgres, mysql, mariadb, "
        "aurora-postgresql, aurora-mysql",
        database(engine="oracle")),
    BadInput(
        'Database(instance_class="db.x9.huge")', "CDK `Database`",
        "instance_class='db.x9.huge' is not in the connection table for postgres (known families: m5, "
        "m6g, m6i, m7g, r5, r6g, r6i, r7g, t2, t3, t4g); pass max_connections=<value of the "
        "max_connections parameter> for a custom class or parameter group",
        database(instance_class="db.x9.huge")),
    BadInput(
        'Database(instance_class="db.t2.micro")', "CDK `Database`",
        "instance_class='db.t2.micro': RDS no longer offers db.t2 classes for new postgres databases "
        "on the current engine versions; use db.t3.micro or db.t4g.micro",
        database(instance_class="db.t2.micro")),
    BadInput(
        "Database(reserve=-1)", "CDK `Database`",
        "reserve=-1 must be between 0 and 75; db.t3.micro has 76 usable connections; keep at least one "
        "for the application",
        database(reserve=-1)),
    BadInput(
        "Database(reserve=500)", "CDK `Database`",
        "reserve=500 must be between 0 and 75; db.t3.micro has 76 usable connections",
        database(reserve=500)),
    BadInput(
        "Database(backup_retention_days=1)", "CDK `Database`",
        "backup_retention_days=1 is below the 7-day minimum; keep at least a week of backups",
        database(backup_retention_days=1)),
    BadInput(
        "Database(deletion_protection=False)", "CDK `Database`",
        "deletion_protection=False lets one stack delete or replacement remove the database (after its "
        "final snapshot); keep it on (the default), or pass deletion_protection_reason='<why this "
        "database may be deleted>'",
        database(deletion_protection=False)),
    BadInput(
        "Database.from_existing(..., secret=None)", "CDK `Database`",
        "secret is required for an existing database: pass the Secrets Manager secret holding its "
        "username/password (secretsmanager.Secret.from_secret_complete_arn(...)); RDS Proxy and the "
        "containers read credentials from it",
        existing_database_without_secret()),
    BadInput(
        "ServerlessFunction(proxy_max_connections_percent=150)", "CDK `ServerlessFunction`",
        "proxy_max_connections_percent=150 must be between 1 and 100; RDS Proxy's MaxConnectionsPercent "
        "is a share of max_connections, 1-100",
        serverless(proxy_max_connections_percent=150)),
    BadInput(
        "ServerlessFunction(reserved_concurrency=-5)", "CDK `ServerlessFunction`",
        "reserved_concurrency=-5 must be at least 1; omit it to use the cap the budget allows",
        serverless(reserved_concurrency=-5)),
    BadInput(
        "ServerlessFunction(reserved_concurrency=500) on db.t3.micro", "CDK `ServerlessFunction`",
        "reserved_concurrency=500 exceeds what db.t3.micro allows: 71 (= 71 proxy connections / "
        "connection_limit 1); lower it, or use a larger instance class",
        serverless(reserved_concurrency=500)),
    BadInput(
        "ServerlessFunction(reserved_concurrency=950) on db.m5.2xlarge",
        "CDK `ServerlessFunction` (at synth)",
        "reserved concurrency in account (deploying account), Region eu-west-1 adds up to 951, over the "
        "900 reservable (quota 1000 - 100 that must stay unreserved): Bad/Db/RoleBootstrap 1; Bad/Api 950; "
        "left 899 before Bad/Api; fix: give functions smaller reserved_concurrency= or connections=, or "
        "raise the quota",
        serverless("db.m5.2xlarge", settle=True, reserved_concurrency=950)),
    BadInput(
        "ServerlessFunction(connections=5) on db.m5.large", "CDK `ServerlessFunction`",
        "connections=5 is fewer than the smallest RDS Proxy share on db.m5.large holds: "
        "MaxConnectionsPercent "
        "is a whole percent of max_connections 823, so 1% = 8 connections; pass connections=8 or more, or "
        "share another function's proxy (proxy=)",
        serverless("db.m5.large", connections=5)),
    BadInput(
        "three `ServerlessFunction(reserved_concurrency=30)` with default shares on db.t3.micro",
        "CDK `ServerlessFunction` (at synth)",
        "Bad/Api omits connections=, so it gets a default share: 24 of the 72 connection(s) the explicit "
        "shares leave, split among 3 default-share consumer(s) still to settle; with it: "
        "reserved_concurrency=30 exceeds what db.t3.micro allows",
        defaults_that_do_not_fit()),
    BadInput(
        "`ContainerService(connections=72)` then `DataEndpoint()` with a default share", "CDK `DataEndpoint`",
        "Bad/Data/Function omits connections=, but nothing is left for a default share; holding "
        "connections on Bad/Db (postgres db.t3.micro): Bad/Web (containers) 72",
        default_after_an_explicit_share_took_all()),
    BadInput(
        "Database.from_existing(...) without share", "CDK `Database`",
        "share is required for a database another app owns (engine='postgres', "
        "instance_class='db.m5.large'): "
        "pass from_existing(..., share=N), the connections this app may hold, and have the owning "
        "app declare "
        "it (Database(external_consumers={'<this app>': N}))",
        existing_database_without_share()),
    BadInput(
        'Database(engine="aurora")', "CDK `Database`",
        "engine='aurora' is ambiguous (Aurora runs MySQL or PostgreSQL, with different connection limits); "
        "use 'aurora-mysql' or 'aurora-postgresql'",
        database(engine="aurora")),
    BadInput(
        'Database(engine="aurora-postgresql", instance_class="db.r6g.large", max_acu=4)', "CDK `Database`",
        "max_acu=4 sizes Aurora Serverless v2 but instance_class='db.r6g.large'; use "
        "instance_class='db.serverless' or drop max_acu",
        database(engine="aurora-postgresql", instance_class="db.r6g.large", max_acu=4)),
    BadInput(
        "Database(max_connections=5000) on db.t3.micro", "CDK `Database`",
        "max_connections=5000 is more than postgres can open on db.t3.micro: db.t3.micro has 1 GiB "
        "of memory, "
        "room for at most 512 connections at 2 MiB each",
        database(max_connections=5000)),
    BadInput(
        'ServerlessFunction(environment={"DB_PASSWORD": "..."})', "CDK `ServerlessFunction`",
        "environment['DB_PASSWORD'] looks like a credential; environment variables are readable by anyone"
        " who can read the function's configuration. Store it in Secrets Manager, pass its ARN (e.g. "
        "DB_PASSWORD_ARN) and grant the function read access",
        serverless(environment={"DB_PASSWORD": "hunter2"})),
    BadInput(
        'ServerlessFunction(db_user="*")', "CDK `ServerlessFunction`",
        "db_user='*' must name exactly one database user (letters, digits and '_', starting with a letter "
        "or '_', at most 63 characters); the rds-db:connect grant is on that name, and a wildcard would "
        "grant every database user, the master included",
        serverless(db_user="*")),
    BadInput(
        'ServerlessFunction(db_user="app_admin")', "CDK `ServerlessFunction`",
        "db_user='app_admin' is the master user, which can change the schema, read every table and manage "
        "roles; connect as the application role 'app_user' (the default: omit db_user), or pass "
        "master_user_reason='<why this function needs it>'",
        serverless(db_user="app_admin")),
    BadInput(
        'DataEndpoint(environment={"DATA_ENDPOINT_HMAC_SECRET_ARN": ""})', "CDK `DataEndpoint`",
        "environment['DATA_ENDPOINT_HMAC_SECRET_ARN'] is reserved: DataEndpoint sets it (names starting "
        "with DATABASE_, AWS_ENDPOINT_URL, DATA_ENDPOINT_ are its own); remove it or rename it",
        data_endpoint(signing="both", environment={"DATA_ENDPOINT_HMAC_SECRET_ARN": ""})),
    BadInput(
        'ServerlessFunction(runtime="nodejs20.x")', "CDK `ServerlessFunction`",
        "runtime='nodejs20.x' is not one of 'python3.10', 'python3.11', 'python3.12', 'python3.13', "
        "'python3.14'; the function's code is Python; pick a supported Python runtime",
        serverless(runtime="nodejs20.x")),
    BadInput(
        "ServerlessFunction(memory_size=1024, options=FunctionOptions(memory_size=512))",
        "CDK `ServerlessFunction`",
        "ServerlessFunction: memory_size given both as keyword argument(s) and in options=; pass each option "
        "once",
        serverless(memory_size=1024, options=_function_options(memory_size=512))),
    BadInput(
        'DataEndpoint(function={"connections": 10})', "CDK `DataEndpoint`",
        "function={'connections': 10} must be a deploy_paradigms.plans.serverless.FunctionOptions, e.g. "
        "function=FunctionOptions(memory_size=1024, connections=20)",
        data_endpoint(function={"connections": 10})),
    BadInput(
        'Database(parameters={"RDS.FORCE_SSL": "0"})', "CDK `Database`",
        "parameters={'RDS.FORCE_SSL': '0'} would allow unencrypted connections; the component forces TLS "
        "(rds.force_ssl=1)",
        database(parameters={"RDS.FORCE_SSL": "0"})),
    BadInput(
        'Database(parameters={"superuser_reserved_connections": "50"})', "CDK `Database`",
        "parameters={'superuser_reserved_connections': '50'} changes how many connections are left for the "
        "application, which the connection budget assumes at the engine default; leave it out and pass "
        "reserve=",
        database(parameters={"superuser_reserved_connections": "50"})),
    BadInput(
        "EdgeFunction(data_endpoint=<catalog with writes, signing='cloudfront'>)", "CDK `EdgeFunction`",
        "data_endpoint serves write queries ['create_post', 'update_post'] with signing='cloudfront': anyone "
        "who can reach the distribution can call them",
        edge_with_writes()),
    BadInput(
        "ContainerService(pool_size=0)", "CDK `ContainerService`",
        "pool_size=0 must be at least 1; each task needs at least one connection",
        containers(pool_size=0)),
    BadInput(
        "ContainerService(min_tasks=5, max_tasks=2)", "CDK `ContainerService`",
        "min_tasks=5 is greater than max_tasks=2; raise max_tasks or lower min_tasks",
        containers(min_tasks=5, max_tasks=2)),
    BadInput(
        "ContainerService(max_tasks=4, pool_size=50) on db.t3.micro", "CDK `ContainerService`",
        "pool_size=50 x 8 tasks (max_tasks=4 x maximum_percent=200% during a rolling deploy) needs 400 "
        "connections but db.t3.micro gives this service 72",
        containers(max_tasks=4, pool_size=50)),
    BadInput(
        "ContainerService(cpu=300)", "CDK `ContainerService`",
        "cpu=300 is not a Fargate task size; use one of 256, 512, 1024, 2048, 4096, 8192, 16384 (1024 = 1"
        " vCPU)",
        containers(cpu=300)),
    BadInput(
        "ContainerService(scale_on_cpu_percent=95)", "CDK `ContainerService`",
        "scale_on_cpu_percent=95 must be 10-90 (a CPU target for target tracking), 0 for no CPU policy, or "
        "omitted for 60",
        containers(scale_on_cpu_percent=95)),
    BadInput(
        'EdgeFunction(environment={"API_URL": "..."})', "CDK `EdgeFunction`",
        "environment=['API_URL'] on an edge function: Lambda@Edge does not support environment variables;"
        " bake configuration into the asset (a generated config module or JSON file next to the handler) "
        "or read it from the request (CloudFront custom origin headers, the Host header, the query "
        "string)",
        edge(environment={"API_URL": "https://api.example.com"})),
    BadInput(
        "EdgeFunction(vpc=vpc)", "CDK `EdgeFunction`",
        "vpc on an edge function: Lambda@Edge cannot run in a VPC (it runs at CloudFront edge locations);"
        " reach private resources over HTTPS through a regional endpoint such as DataEndpoint, which is "
        "the one that sits in the VPC",
        edge(with_vpc=True)),
    BadInput(
        "EdgeFunction(code_path=<1.2 MB package>)", "CDK `EdgeFunction`",
        EDGE_VIEWER_LIMIT,
        edge(package_bytes=1_200_000)),
    BadInput(
        "EdgeFunction(rate_limit=5)", "CDK `EdgeFunction`",
        "rate_limit=5 is outside 10-2000000000; AWS WAF counts 10 to 2,000,000,000 requests per IP address "
        "per evaluation window",
        edge(rate_limit=5)),
    BadInput(
        'EdgeFunction(rate_limit=2000, web_acl_id="arn:...")', "CDK `EdgeFunction`",
        "rate_limit and web_acl_id together: a distribution has one web ACL, and web_acl_id is yours; add a "
        "rate-based rule to your web ACL, or drop web_acl_id to let EdgeFunction create one",
        edge(rate_limit=2000, web_acl_id="arn:aws:wafv2:us-east-1:123456789012:global/webacl/mine/0000")),
    BadInput(
        'NamedQuery(mode="write", cache_ttl_s=60, ...)', "query catalog",
        "query 'create_post': a write query cannot be cached (cache_ttl_s=60, "
        "stale_while_revalidate_s=0); CloudFront does not cache POST and a cached write would be skipped:"
        " set both to 0, or make it a read",
        query(name="create_post", sql="INSERT INTO posts (title) VALUES ('x')", mode="write",
                   cache_ttl_s=60)),
    BadInput(
        "QueryCatalog(queries=(recent_posts, recent_posts))", "query catalog",
        "query name(s) recent_posts declared more than once; each URL /data/<name> must map to exactly "
        "one query, rename one",
        duplicate_queries()),
    BadInput(
        'NamedQuery(mode="read", sql="DELETE ...")', "query catalog",
        "query 'purge': a read query must start with SELECT, WITH, VALUES or TABLE; if it changes data "
        "declare mode='write'",
        query(name="purge", sql="DELETE FROM posts")),
    BadInput(
        'Database(parameters={"rds.logical_replication": "1"})', "CDK `Database`",
        "parameters={'rds.logical_replication': ...}: pass logical_replication=True instead",
        database(parameters={"rds.logical_replication": "1"})),
    BadInput(
        'Database(engine="mysql", logical_replication=True)', "CDK `Database`",
        "logical_replication=True: mysql has no rds.logical_replication; change streams read PostgreSQL "
        "logical replication",
        database(engine="mysql", logical_replication=True)),
    BadInput(
        "ChangeStream(database=<Database without logical_replication>)", "CDK `ChangeStream`",
        "ChangeStream needs logical replication on the database: create it with "
        "Database(..., logical_replication=True)",
        change_stream({})),
    BadInput(
        'ChangeStream(database=<Database(engine="mysql")>)', "CDK `ChangeStream`",
        "ChangeStream: engine='mysql' is not supported; change events read PostgreSQL logical replication",
        change_stream({"engine": "mysql"})),
    BadInput(
        "ChangeStream(tables=[])", "CDK `ChangeStream`",
        "tables=[] must be a non-empty list of 'table' or 'schema.table' names",
        change_stream(tables=[])),
    BadInput(
        "ChangeStream(run_seconds=50)", "CDK `ChangeStream`",
        "run_seconds=50 must be a whole number between 0 and 45",
        change_stream(run_seconds=50)),
    BadInput(
        'stream.subscribe(..., tables=["invoices"])', "CDK `ChangeStream.subscribe`",
        "public.invoices is not in the stream's tables ['public.orders']; add it to ChangeStream(tables=...)",
        change_stream(subscribe_tables=["invoices"])),
    BadInput(
        'NamedQuery(cache_tags=("posts:*",), ...)', "query catalog",
        "query 'recent_posts': cache tag 'posts:*' contains '*'; CloudFront matches tags exactly (no "
        "wildcards): declare a broader tag such as 'posts' on the reads and invalidate that",
        query(name="recent_posts", sql="SELECT id FROM posts", cache_ttl_s=60, cache_tags=("posts:*",))),
    BadInput(
        'NamedQuery(cache_tags=("post title",), ...)', "query catalog",
        "query 'recent_posts': cache tag 'post title' contains ' '; tags may use only ASCII 33-126 except "
        "',' (and '*', which CloudFront does not match as a wildcard): replace it, e.g. with ':' or '-'",
        query(name="recent_posts", sql="SELECT id FROM posts", cache_ttl_s=60, cache_tags=("post title",))),
    BadInput(
        "NamedQuery(cache_tags=<51 tags>, ...)", "query catalog",
        "query 'recent_posts': cache_tags declares 51 tags; CloudFront stores at most 50 tags per cached "
        "object: use broader tags (e.g. 'posts' instead of one per column)",
        query(name="recent_posts", sql="SELECT id FROM posts", cache_ttl_s=60,
              cache_tags=tuple(f"t{i}" for i in range(51)))),
    BadInput(
        'NamedQuery(mode="write", invalidates=("posts",)) with no read tagged "posts"', "query catalog",
        "query 'delete_post': invalidates 'posts', but no read declares that tag (reads declare: post:{id}); "
        "add cache_tags=['posts'] (with the read's own parameter or {row.column} names) to the reads it "
        "changes, or fix the tag",
        write_invalidating_an_undeclared_tag()),
    BadInput(
        'POST /data/create_post {"title": "\\ud800", "body": "x"}', "data endpoint (runtime)",
        "400 invalid_parameter: parameter 'title' is not valid Unicode text (it holds a lone surrogate "
        "such as \\ud800)",
        data_request("POST", "/data/create_post", '{"title": "\\ud800", "body": "x"}')),
    BadInput(
        "POST /data/create_post with a body of 5,000 nested [", "data endpoint (runtime)",
        "400 invalid_body: the body must be a JSON object of parameters",
        data_request("POST", "/data/create_post", "[" * 5000)),
    BadInput(
        "POST /data/create_post with 20,000 unknown keys", "data endpoint (runtime)",
        "and 19995 more for query 'create_post'; it takes: title, body",
        data_request("POST", "/data/create_post", json.dumps({f"k{i:05}": 1 for i in range(20_000)}))),
    BadInput(
        "x-dp-timestamp: \u00b2 (or 4,301 digits) on a signing endpoint", "data endpoint (runtime)",
        "401 stale_signature: x-dp-timestamp must be the current unix time in seconds (within 300 s); "
        "check the caller's clock",
        data_request("GET", "/data/recent_posts", headers={"x-dp-timestamp": "\u00b2",
                                                           "x-dp-signature": "0" * 64}, signed=True)),
    BadInput(
        "an origin answering /data/recent_posts with 150 headers", "Lambda@Edge handler (runtime)",
        "the data endpoint could not be reached or read (HTTPException)",
        edge_origin(b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(150))
                    + b"\r\n{}")),
    BadInput(
        "deploy-paradigms budget --instance-class db.t3.micro --proxy-percent 0", "CLI",
        "proxy_max_connections_percent=0 must be between 1 and 100; RDS Proxy's MaxConnectionsPercent is "
        "a share of max_connections, 1-100",
        cli("budget", "--instance-class", "db.t3.micro", "--proxy-percent", "0"), subprocess=True),
    BadInput(
        "deploy-paradigms budget --instance-class db.t3.micro --tasks 0", "CLI",
        "max_tasks=0 must be at least 1; a service needs at least one task",
        cli("budget", "--instance-class", "db.t3.micro", "--tasks", "0"), subprocess=True),
    BadInput(
        "deploy-paradigms budget --instance-class db.t3.micro --account-concurrency 50", "CLI",
        "account_concurrency_limit=50 must be at least 101; pass your account's Lambda "
        "concurrent-executions quota (default 1000)",
        cli("budget", "--instance-class", "db.t3.micro", "--account-concurrency", "50"), subprocess=True),
    BadInput(
        "deploy-paradigms preview serverless --config maxConnections=lots", "CLI (Pulumi config)",
        "config maxConnections='lots' must be a whole number; for example `pulumi config set "
        "maxConnections 100`",
        cli("preview", "serverless", "--config", "maxConnections=lots"), subprocess=True),
    BadInput(
        "deploy-paradigms preview serverless --config instanceClass", "CLI (Pulumi config)",
        "--config 'instanceClass' is not key=value; for example --config instanceClass=db.m5.large",
        cli("preview", "serverless", "--config", "instanceClass"), subprocess=True),
    BadInput(
        "deploy-paradigms preview serverless --config instance_class=db.m5.large", "CLI (Pulumi config)",
        "config key 'instance_class' is not read by this program; did you mean 'instanceClass'?",
        cli("preview", "serverless", "--config", "instance_class=db.m5.large"), subprocess=True),
    BadInput(
        "pulumi config set poolSize 5 (paradigm serverless)", "Pulumi program",
        "config key 'poolSize' is not read by this program; known keys:",
        pulumi_program("serverless", poolSize="5")),
    BadInput(
        "cdk synth Serverless -c engine=aurora-postgresql (class left at db.t3.micro)", "`cdk synth` context",
        "instance_class='db.t3.micro' is not in the connection table for aurora-postgresql",
        cdk_synth("Serverless", engine="aurora-postgresql"), subprocess=True),
    BadInput(
        "cdk synth -c reserve=lots", "`cdk synth` context",
        "context reserve='lots' must be a whole number, e.g. -c reserve=100",
        app_context(reserve="lots"), subprocess=True),
    BadInput(
        "cdk synth -c instance_class=db.m5.large", "`cdk synth` context",
        "context key 'instance_class' is not read by the example stacks; known keys: engine, "
        "instanceClass, maxConnections, multiAz, reserve (e.g. -c instanceClass=db.m5.large)",
        app_context(instance_class="db.m5.large"), subprocess=True),
    BadInput(
        'ContainerService(deploy_strategy="blue-green", pool_size=10)', "CDK `ContainerService`",
        "pool_size=10 x 8 tasks (max_tasks=4 x 200%: both revisions at full size through a blue-green "
        "deploy's bake time) needs 80 connections",
        containers(deploy_strategy="blue-green", pool_size=10)),
    BadInput(
        'ContainerService(deploy_strategy="recreate")', "CDK `ContainerService`",
        "deploy_strategy='recreate' is not one of rolling, blue-green, canary, linear",
        containers(deploy_strategy="recreate")),
    BadInput(
        "plan_managed_instances(per_environment_concurrency=16, reserved_concurrency=50)", "budget core",
        "reserved_concurrency=50 does not bound Lambda Managed Instances",
        managed_instances(per_environment_concurrency=16, reserved_concurrency=50)),
    BadInput(
        "cdk synth -c multiAz=maybe", "`cdk synth` context",
        "context multiAz='maybe' must be true or false",
        app_context(multiAz="maybe"), subprocess=True),
    BadInput(
        'ServerlessFunctionArgs(runtime="python3.99")', "Pulumi `ServerlessFunction`",
        "runtime='python3.99' is not one of 'python3.10', 'python3.11', 'python3.12', 'python3.13', "
        "'python3.14'",
        pulumi_component("function", runtime="python3.99")),
    BadInput(
        'ServerlessFunctionArgs(architecture="sparc")', "Pulumi `ServerlessFunction`",
        "architecture='sparc' is not one of 'arm64', 'x86_64'",
        pulumi_component("function", architecture="sparc")),
    BadInput(
        'EdgeFunctionArgs(price_class="PriceClass_999")', "Pulumi `EdgeFunction`",
        "price_class='PriceClass_999' is not one of 'PriceClass_100', 'PriceClass_200', 'PriceClass_All'",
        pulumi_component("edge", price_class="PriceClass_999")),
    BadInput(
        'EdgeFunctionArgs(rate_limit=RateLimit(limit=2000, window_s=90))', "Pulumi `EdgeFunction`",
        "rate_limit window_s=90 is not an AWS WAF evaluation window; use one of 60, 120, 300, 600 seconds",
        pulumi_component("edge", rate_limit=_rate_limit(limit=2000, window_s=90))),
    BadInput(
        'ContainerServiceArgs(image="")', "Pulumi `ContainerService`",
        "image='' must be a non-empty string",
        pulumi_component("containers", image="")),
    BadInput(
        "ContainerServiceArgs(log_retention_days=31)", "Pulumi `ContainerService`",
        "log_retention_days=31 is not a CloudWatch Logs retention period",
        pulumi_component("containers", image="public.ecr.aws/docker/library/httpd", log_retention_days=31)),
    BadInput(
        'ContainerServiceArgs(load_balancer_subnet_ids=["subnet-1"])', "Pulumi `ContainerService`",
        "an ALB needs public subnets in two Availability Zones",
        pulumi_component("containers", image="public.ecr.aws/docker/library/httpd",
                         load_balancer_subnet_ids=["subnet-1"])),
    BadInput(
        'DatabaseArgs(subnet_tier="public")', "Pulumi `Database`",
        "subnet_tier='public' is not one of 'isolated', 'private'",
        pulumi_component("database", subnet_tier="public")),
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(rows: tuple[BadInput, ...] = BAD_INPUTS) -> str:
    """The README's markdown table: input, where it is caught, the message (or its start)."""
    lines = ["| input | where | message |", "|---|---|---|"]
    lines += [f"| `{_cell(r.input)}` | {_cell(r.where)} | {_cell(r.message)} |" for r in rows]
    return "\n".join(lines) + "\n"

"""The sample catalog speaks each engine's dialect: its schema, reads and write run through the
real data endpoint on a real PostgreSQL and a real MariaDB, each in a database of its own; and
a catalog with writes behind an unsigned distribution needs an acknowledgement."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
import pytest
from test_data_endpoint_runtime import event
from test_edge_pulumi import run_program as run_pulumi
from test_security_inputs import cdk_database
from test_serverless_pulumi import database as pulumi_database

from deploy_paradigms import packaging
from deploy_paradigms.budget import InputError
from deploy_paradigms.catalog import sample_catalog
from deploy_paradigms.cdk.data_endpoint import DataEndpoint as CdkDataEndpoint
from deploy_paradigms.cdk.edge_function import EdgeFunction as CdkEdgeFunction
from deploy_paradigms.plans.serverless import FunctionOptions
from deploy_paradigms.pulumi.data_endpoint import DataEndpoint as PulumiDataEndpoint
from deploy_paradigms.pulumi.data_endpoint import DataEndpointArgs
from deploy_paradigms.pulumi.edge_function import EdgeFunction as PulumiEdgeFunction
from deploy_paradigms.pulumi.edge_function import EdgeFunctionArgs
from deploy_paradigms.runtime import connection, data_endpoint
from deploy_paradigms.runtime.data_endpoint import DataEndpoint
from tests.conftest import point_runtime_at


def call(endpoint: DataEndpoint, method: str, path: str, query: str = "",
         body: Any = None) -> tuple[int, Any]:
    response = endpoint(event(method, path, query, body))
    return response["statusCode"], json.loads(response["body"])


def exercise(engine: str) -> None:
    endpoint = DataEndpoint(sample_catalog(engine), bootstrap_schema=True)
    status, created = call(endpoint, "POST", "/data/create_post", body={"title": "Hello", "body": "first"})
    assert status == 200, created
    assert created["row_count"] == 1
    call(endpoint, "POST", "/data/create_post", body={"title": "Again", "body": "second"})
    status, recent = call(endpoint, "GET", "/data/recent_posts", "limit=5")
    assert status == 200, recent
    assert [r["title"] for r in recent["rows"]] == ["Again", "Hello"]
    first = recent["rows"][1]
    status, one = call(endpoint, "GET", "/data/post_by_id", f"id={first['id']}")
    assert status == 200 and one["rows"][0]["body"] == "first"
    status, refused = call(endpoint, "POST", "/data/create_post", body={"title": "", "body": "x"})
    assert status == 409, refused  # the CHECK constraint holds in both dialects


@pytest.fixture
def own_database(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    engine = request.param
    name = f"dp_catalog_{secrets.token_hex(4)}"
    if engine == "postgres":
        server = request.getfixturevalue("postgres_server")
        admin = server.admin()
        admin.autocommit = True
        admin.run(f'CREATE DATABASE "{name}" OWNER "{server.user}"')
        admin.close()
    else:
        server = request.getfixturevalue("mysql_server")
        admin = server.connect(user=server.admin_user, password=server.admin_password)
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}`")
            cursor.execute(f"GRANT ALL ON `{name}`.* TO '{server.user}'@'%'")
        admin.close()
    point_runtime_at(server, monkeypatch)
    monkeypatch.setenv("DATABASE_NAME", name)
    yield engine
    connection.close_connection()
    connection.set_password_provider(None)
    data_endpoint.reset()


@pytest.mark.postgres
@pytest.mark.parametrize("own_database", ["postgres"], indirect=True)
def test_postgres_dialect_against_postgresql(own_database: str) -> None:
    exercise("postgres")


@pytest.mark.mysql
@pytest.mark.parametrize("own_database", ["mariadb"], indirect=True)
def test_mysql_dialect_against_mariadb(own_database: str) -> None:
    exercise("mariadb")


@pytest.mark.parametrize("engine", ["mysql", "mariadb", "aurora-mysql"])
def test_mysql_family_catalog_avoids_postgres_only_sql(engine: str) -> None:
    catalog = sample_catalog(engine)
    text = " ".join([*catalog.schema, *(q.sql for q in catalog)]).upper()
    for postgres_only in ("GENERATED ALWAYS AS IDENTITY", "TIMESTAMPTZ", "RETURNING", "CREATE INDEX IF NOT"):
        assert postgres_only not in text


def test_read_only_catalog_has_no_writes() -> None:
    assert [q.mode for q in sample_catalog(writes=False)] == ["read", "read"]


# -- anonymous writes at the edge ----------------------------------------------------------------

def test_cdk_edge_refuses_anonymous_writes_without_a_reason() -> None:
    stack, db = cdk_database()
    endpoint = CdkDataEndpoint(stack, "Data", database=db, catalog=sample_catalog())
    with pytest.raises(InputError, match=r"serves write queries \['create_post', 'update_post'\] "
                                          r"with signing='cloudfront'"):
        CdkEdgeFunction(stack, "Site", code_path=packaging.lambda_bundle("edge"),
                        handler=packaging.EDGE_HANDLER, data_endpoint=endpoint)
    site = CdkEdgeFunction(stack, "Site2", code_path=packaging.lambda_bundle("edge"),
                           handler=packaging.EDGE_HANDLER, data_endpoint=endpoint,
                           anonymous_writes_reason="a public guest book, rate-limited by WAF")
    assert isinstance(site.distribution, cdk.aws_cloudfront.Distribution)


def test_cdk_edge_accepts_signed_writes_and_read_only_catalogs() -> None:
    stack, db = cdk_database()
    signed = CdkDataEndpoint(stack, "Signed", database=db, catalog=sample_catalog(), signing="both",
                             function=FunctionOptions(connections=10))
    read_only = CdkDataEndpoint(stack, "ReadOnly", database=db, catalog=sample_catalog(writes=False),
                                function=FunctionOptions(connections=10))
    for endpoint in (signed, read_only):
        CdkEdgeFunction(stack, f"Site{endpoint.node.id}", code_path=packaging.lambda_bundle("edge"),
                        handler=packaging.EDGE_HANDLER, data_endpoint=endpoint)


def test_pulumi_edge_refuses_anonymous_writes_without_a_reason() -> None:
    def build(reason: str | None) -> Any:
        endpoint = PulumiDataEndpoint("data", DataEndpointArgs(database=pulumi_database(),
                                                               catalog=sample_catalog()))
        return PulumiEdgeFunction("site", EdgeFunctionArgs(
            code_path=packaging.lambda_bundle("edge"), handler=packaging.EDGE_HANDLER,
            data_endpoint=endpoint, anonymous_writes_reason=reason))

    with pytest.raises(InputError, match="pass anonymous_writes_reason="):
        run_pulumi(lambda: build(None))
    run_pulumi(lambda: build("a public guest book"))

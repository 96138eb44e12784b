"""The application role's bootstrap SQL against a real PostgreSQL and a real MariaDB.

A master user (not a superuser, as on RDS: CREATEROLE and database owner on PostgreSQL; a
user with grant option on MariaDB) runs :func:`bootstrap_statements` twice (idempotent), then
the migrations (the sample schema). Connected as the application role, the sample catalog
works through the real data endpoint; DDL, other schemas/databases and role changes fail.
"""

from __future__ import annotations

import http.server
import json
import secrets
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from test_data_endpoint_runtime import event

from deploy_paradigms.app_role import bootstrap_statements, check_role_name
from deploy_paradigms.budget import BudgetError, InputError
from deploy_paradigms.catalog import sample_catalog
from deploy_paradigms.runtime import connection, data_endpoint, role_bootstrap
from deploy_paradigms.runtime.data_endpoint import DataEndpoint
from tests.conftest import point_runtime_at

APP_PASSWORD = "it's a \"long\" app password " + secrets.token_hex(8)


def exercise_catalog(engine: str) -> None:
    endpoint = DataEndpoint(sample_catalog(engine))  # no bootstrap_schema: the role may not create tables
    created = endpoint(event("POST", "/data/create_post", body={"title": "Hi", "body": "from app_user"}))
    assert created["statusCode"] == 200, created["body"]
    recent = endpoint(event("GET", "/data/recent_posts", "limit=5"))
    assert recent["statusCode"] == 200, recent["body"]
    rows = json.loads(recent["body"])["rows"]
    assert [r["title"] for r in rows] == ["Hi"]
    one = endpoint(event("GET", "/data/post_by_id", f"id={rows[0]['id']}"))
    assert one["statusCode"] == 200 and json.loads(one["body"])["rows"][0]["body"] == "from app_user"


@pytest.fixture
def cleanup(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    yield monkeypatch
    connection.close_connection()
    connection.set_password_provider(None)
    data_endpoint.reset()


def master_and_database(server: Any) -> tuple[str, str, str, str, str]:
    """A master role as on RDS (CREATEROLE, not a superuser) owning a new database:
    (suffix, master, its password, database, the application role's name)."""
    suffix = secrets.token_hex(3)
    master, database = f"master_{suffix}", f"appdb_{suffix}"
    master_password = secrets.token_hex(12)
    admin = server.admin()
    admin.run(f"CREATE ROLE {master} LOGIN CREATEROLE PASSWORD '{master_password}'")
    admin.run(f"CREATE DATABASE {database} OWNER {master}")
    admin.close()
    return suffix, master, master_password, database, f"app_user_{suffix}"


# -- PostgreSQL ----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_postgres_app_role_can_use_the_catalog_and_nothing_more(postgres_server: Any,
                                                                 cleanup: pytest.MonkeyPatch) -> None:
    suffix, master, master_password, database, app_user = master_and_database(postgres_server)
    admin = postgres_server.admin(dbname=database)
    admin.run(f"ALTER SCHEMA public OWNER TO {master}")  # as RDS leaves it for the master user
    admin.close()

    as_master = postgres_server.connect(user=master, password=master_password, dbname=database)
    for _ in range(2):  # idempotent: a second deployment converges to the same state
        for statement in bootstrap_statements("postgres", app_user=app_user, database=database,
                                              password=APP_PASSWORD):
            as_master.run(statement)
    for statement in sample_catalog("postgres").schema:  # migrations run as the master user
        as_master.run(statement)
    as_master.run("CREATE SCHEMA private")
    as_master.run("CREATE TABLE private.secrets (v text)")
    as_master.close()

    as_app = postgres_server.connect(user=app_user, password=APP_PASSWORD, dbname=database)
    attributes = as_app.run("SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
                            "FROM pg_roles WHERE rolname = current_user")
    assert attributes == [[False, False, False, False, False]]
    refused = [
        "CREATE TABLE t (x int)",
        "DROP TABLE posts",
        "ALTER TABLE posts ADD COLUMN x int",
        "TRUNCATE posts",
        "CREATE SCHEMA mine",
        "SELECT * FROM private.secrets",
        f"CREATE ROLE other_{suffix}",
        f"ALTER ROLE {app_user} CREATEDB",
        f"ALTER ROLE {app_user} SUPERUSER",
        f"GRANT {master} TO {app_user}",
    ]
    for sql in refused:
        with pytest.raises(Exception, match="'C': '42501'"):  # insufficient_privilege, nothing else
            as_app.run(sql)
    as_app.close()

    monkeypatch = cleanup
    point_runtime_at(postgres_server, monkeypatch)
    monkeypatch.setenv("DATABASE_NAME", database)
    monkeypatch.setenv("DATABASE_USER", app_user)
    connection.set_password_provider(lambda _settings: APP_PASSWORD)
    exercise_catalog("postgres")


# -- MariaDB -------------------------------------------------------------------------------------

@pytest.mark.mysql
def test_mariadb_app_user_can_use_the_catalog_and_nothing_more(mysql_server: Any,
                                                               cleanup: pytest.MonkeyPatch) -> None:
    if not mysql_server.ssl:
        pytest.skip("openssl is not installed: the application user requires TLS")
    suffix = secrets.token_hex(3)
    database, app_user = f"appdb_{suffix}", f"app_user_{suffix}"
    as_master = mysql_server.connect(user=mysql_server.admin_user, password=mysql_server.admin_password)
    with as_master.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{database}`")
        for _ in range(2):  # idempotent
            for statement in bootstrap_statements("mariadb", app_user=app_user, database=database,
                                                  password=APP_PASSWORD):
                cursor.execute(statement)
        cursor.execute(f"USE `{database}`")
        for statement in sample_catalog("mariadb").schema:
            cursor.execute(statement)
    as_master.close()

    with pytest.raises(Exception, match="Access denied"):  # REQUIRE SSL: no plaintext login
        mysql_server.connect(user=app_user, password=APP_PASSWORD, database=database, ssl_disabled=True)
    as_app = mysql_server.connect(user=app_user, password=APP_PASSWORD, database=database,
                                  ssl={"verify_mode": False, "check_hostname": False}, ssl_disabled=False)
    refused = [
        "CREATE TABLE t (x int)",
        "DROP TABLE posts",
        "ALTER TABLE posts ADD COLUMN x int",
        f"SELECT * FROM `{mysql_server.dbname}`.posts",
        f"CREATE USER 'other_{suffix}'@'%' IDENTIFIED BY 'x'",
        f"GRANT SELECT ON `{database}`.* TO '{mysql_server.user}'@'%'",
        "CREATE DATABASE other",
    ]
    with as_app.cursor() as cursor:
        for sql in refused:
            with pytest.raises(Exception, match="denied"):
                cursor.execute(sql)
    as_app.close()

    monkeypatch = cleanup
    point_runtime_at(mysql_server, monkeypatch,
                     "connection_limit=1&pool_timeout=10&connect_timeout=5&sslmode=require")
    monkeypatch.setenv("DATABASE_NAME", database)
    monkeypatch.setenv("DATABASE_USER", app_user)
    connection.set_password_provider(lambda _settings: APP_PASSWORD)
    exercise_catalog("mariadb")


# -- inputs --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["App", "1app", "app-user", "a" * 33, "app;drop", ""])
def test_role_names_are_plain_identifiers(name: str) -> None:
    with pytest.raises(InputError, match="app_username=") as raised:
        check_role_name(name)
    assert type(raised.value) is InputError  # not a budget refusal


def test_postgres_iam_role_cannot_also_have_a_password() -> None:
    with pytest.raises(BudgetError, match="rds_iam cannot log in with a password"):
        bootstrap_statements("postgres", app_user="app_user", database="app", password="x", iam=True)
    statements = bootstrap_statements("postgres", app_user="app_user", database="app", password=None,
                                      iam=True)
    assert "GRANT rds_iam TO app_user" in statements[-1]
    mysql = bootstrap_statements("mysql", app_user="app_user", database="app", password=None, iam=True)
    assert "AWSAuthenticationPlugin" in mysql[0] and "REQUIRE SSL" in mysql[0]


# -- the bootstrap function (the Lambda behind the custom resource / Pulumi invocation) -----------

class SecretsManager:
    """Secrets Manager's GetSecretValue for two secrets (AWS is not reachable from the tests)."""

    def __init__(self, secrets_by_arn: dict[str, dict[str, str]]) -> None:
        self.secrets = secrets_by_arn

    def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803 - boto3 casing
        return {"SecretString": json.dumps(self.secrets[SecretId])}


class CloudFormation(http.server.BaseHTTPRequestHandler):
    """Receives the custom resource's answer (the PUT to the pre-signed ResponseURL)."""

    answers: list[dict[str, Any]] = []

    def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers["content-length"])
        CloudFormation.answers.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.postgres
def test_bootstrap_function_answers_cloudformation_and_the_role_logs_in(
        postgres_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_runtime_connection import FakeBoto3

    suffix, master, master_password, database, app_user = master_and_database(postgres_server)
    store = {"arn:master": {"username": master, "password": master_password},
             "arn:app": {"username": app_user, "password": APP_PASSWORD}}
    monkeypatch.setitem(sys.modules, "boto3", FakeBoto3({"secretsmanager": SecretsManager(store)}))
    connection.reset_aws_clients()
    server = http.server.HTTPServer(("127.0.0.1", 0), CloudFormation)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    properties = {"Engine": "postgres", "Host": postgres_server.host, "Port": str(postgres_server.port),
                  "Database": database, "AppUser": app_user, "MasterSecretArn": "arn:master",
                  "AppSecretArn": "arn:app", "Iam": "false"}
    event = {"RequestType": "Create", "ResponseURL": f"http://127.0.0.1:{server.server_port}/r",
             "StackId": "stack", "RequestId": "req", "LogicalResourceId": "AppRole",
             "ResourceProperties": properties}
    try:
        CloudFormation.answers.clear()
        # By default the master password goes only to a server that chains to the bundled RDS CAs:
        # the local server's self-signed certificate is refused before the login.
        monkeypatch.delenv("DATABASE_URL_PARAMS", raising=False)
        role_bootstrap.handler(event, None)
        monkeypatch.setenv("DATABASE_URL_PARAMS", "connection_limit=1&connect_timeout=10&sslmode=require")
        role_bootstrap.handler(event, None)
        role_bootstrap.handler({**event, "RequestType": "Update"}, None)  # again: converges
        broken = {**properties, "MasterSecretArn": "arn:app"}  # the app user cannot create roles
        role_bootstrap.handler({**event, "ResourceProperties": broken}, None)
    finally:
        server.shutdown()
        connection.reset_aws_clients()
    refused, ok, again, failed = CloudFormation.answers
    assert refused["Status"] == "FAILED" and "CERTIFICATE_VERIFY_FAILED" in refused["Reason"], refused
    assert ok["Status"] == again["Status"] == "SUCCESS", ok
    assert ok["PhysicalResourceId"] == f"{database}/{app_user}"
    assert failed["Status"] == "FAILED" and "permission denied" in failed["Reason"]
    assert APP_PASSWORD not in json.dumps(CloudFormation.answers) and master_password not in json.dumps(
        CloudFormation.answers)
    as_app = postgres_server.connect(user=app_user, password=APP_PASSWORD, dbname=database)
    assert as_app.run("SELECT current_user") == [[app_user]]
    as_app.close()
    # a direct (Pulumi) invocation runs the same bootstrap and returns what it did
    monkeypatch.setitem(sys.modules, "boto3", FakeBoto3({"secretsmanager": SecretsManager(store)}))
    assert role_bootstrap.handler(properties, None)["AppUser"] == app_user
    connection.reset_aws_clients()


def test_bootstrap_fills_an_empty_app_secret_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Pulumi component creates the app secret without a value (no generated secret in its
    graph): the first bootstrap generates the password and stores it; later ones read it."""
    from tests.test_runtime_connection import FakeBoto3

    class NotFound(Exception):
        response = {"Error": {"Code": "ResourceNotFoundException"}}

    class EmptyThenStored(SecretsManager):
        def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803 - boto3 casing
            if SecretId not in self.secrets:
                raise NotFound(SecretId)
            return super().get_secret_value(SecretId)

        def put_secret_value(self, SecretId: str, SecretString: str) -> None:  # noqa: N803
            self.secrets[SecretId] = json.loads(SecretString)

    store = EmptyThenStored({})
    monkeypatch.setitem(sys.modules, "boto3", FakeBoto3({"secretsmanager": store}))
    connection.reset_aws_clients()
    try:
        first = role_bootstrap.app_password("arn:app", "app_user")
        assert store.secrets["arn:app"] == {"username": "app_user", "password": first} and len(first) >= 40
        assert role_bootstrap.app_password("arn:app", "app_user") == first  # stored, not regenerated
    finally:
        connection.reset_aws_clients()

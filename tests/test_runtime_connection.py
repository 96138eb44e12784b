"""The Lambda/container connection helper: URL, credentials, TLS, one cached connection per environment."""

from __future__ import annotations

import json
import ssl
import sys
import time
import types
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from deploy_paradigms.runtime import aws_sigv4, connection, sample_handler
from deploy_paradigms.runtime import settings as settings_module
from deploy_paradigms.runtime.connection import (
    CredentialsUnavailable,
    DatabaseUnavailable,
    MissingDriverError,
    database_url,
    describe_error,
    redact_url,
    resolve_password,
    tls_context,
)
from deploy_paradigms.runtime.settings import DatabaseSettings
from tests.conftest import point_runtime_at
from tests.support.aws_standins import (
    CREDENTIALS,
    IamAuthGate,
    SecretsManagerStandin,
    credentials_environ,
    token_problem,
)
from tests.support.local_postgres import LocalPostgres, free_port


def settings(**kw: Any) -> DatabaseSettings:
    base: dict[str, Any] = {"host": "db.example.internal", "port": 5432, "name": "app", "user": "app"}
    base.update(kw)
    return DatabaseSettings(**base)


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    yield
    connection.close_connection()
    connection.set_password_provider(None)
    connection.reset_aws_clients()


class FakeBoto3(types.ModuleType):
    """Stands in for boto3: records client() calls; clients are given per service."""

    def __init__(self, clients: dict[str, Any]) -> None:
        super().__init__("boto3")
        self.clients = clients
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def client(self, service: str, **kwargs: Any) -> Any:
        self.calls.append((service, kwargs))
        return self.clients[service]


# ----------------------------------------------------------------------------- URL


def test_database_url_defaults_and_percent_encoding() -> None:
    s = settings(user="app user", name="my db")
    assert database_url(s, "p@ss:w/rd?&=%") == (
        "postgresql://app%20user:p%40ss%3Aw%2Frd%3F%26%3D%25@db.example.internal:5432/my%20db"
        "?connection_limit=1&pool_timeout=10&connect_timeout=5&sslmode=require")


def test_database_url_uses_the_configured_parameters_in_a_stable_order() -> None:
    s = settings(url_params=(("sslmode", "verify-full"), ("connection_limit", "3"), ("socket_timeout", "30")))
    assert database_url(s, "pw").endswith(
        "?connection_limit=3&pool_timeout=10&connect_timeout=5&sslmode=verify-full&socket_timeout=30")


def test_database_url_mysql_family_and_ipv6() -> None:
    assert database_url(settings(engine="aurora-mysql", port=3306), "pw").startswith(
        "mysql://app:pw@db.example.internal:3306/app?")
    assert database_url(settings(engine="mariadb"), "pw").startswith("mysql://")
    assert "@[fd00::1]:5432/" in database_url(settings(host="fd00::1"), "pw")


def test_database_url_from_env_matches_the_contract() -> None:
    env = {settings_module.HOST: "proxy.example", settings_module.PORT: "5432", settings_module.NAME: "app",
           settings_module.USER: "svc", settings_module.URL_PARAMS: "connection_limit=1&pool_timeout=10"
           "&connect_timeout=5&sslmode=require"}
    url = database_url(DatabaseSettings.from_env(env), "s3cret")
    assert url == ("postgresql://svc:s3cret@proxy.example:5432/app"
                   "?connection_limit=1&pool_timeout=10&connect_timeout=5&sslmode=require")
    assert redact_url(url) == url.replace("s3cret", "***")


# ----------------------------------------------------------------------------- credentials


def test_password_never_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_PASSWORD", "from-env")
    with pytest.raises(RuntimeError, match="no database credentials configured.*DATABASE_SECRET_ARN"):
        resolve_password(settings())


SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db"


@pytest.fixture()
def stub_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[SecretsManagerStandin]:
    """Lambda's credential variables (stand-in keys) and Secrets Manager at a local stand-in."""
    for key in ("AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                connection.AWS_SDK_ENV):
        monkeypatch.delenv(key, raising=False)
    for key, value in credentials_environ(region="eu-west-1").items():
        monkeypatch.setenv(key, value)
    standin = SecretsManagerStandin({SECRET_ARN: json.dumps({"username": "app", "password": "s3cret"})},
                                    region="eu-west-1")
    with standin.running():
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", standin.url)
        connection.reset_aws_clients()
        yield standin


def test_password_from_secrets_manager_without_boto3(stub_aws: SecretsManagerStandin,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # importing boto3 would fail
    s = settings(secret_arn=SECRET_ARN)
    assert resolve_password(s) == "s3cret"
    assert resolve_password(s) == "s3cret"  # re-read each time (rotation)
    assert len(stub_aws.requests) == 2
    headers = stub_aws.requests[0]["headers"]
    assert headers["X-Amz-Security-Token"] == "standin-session-token"
    assert "/eu-west-1/secretsmanager/aws4_request" in headers["Authorization"]


def test_secret_read_uses_the_region_in_its_arn(stub_aws: SecretsManagerStandin,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-west-2")  # the function's Region; the secret lives in eu-west-1
    assert resolve_password(settings(secret_arn=SECRET_ARN)) == "s3cret"


def test_secrets_manager_errors_are_reported_as_unavailable(stub_aws: SecretsManagerStandin) -> None:
    with pytest.raises(CredentialsUnavailable, match="HTTP 400 ResourceNotFoundException"):
        resolve_password(settings(secret_arn=SECRET_ARN + "-gone"))
    stub_aws.credentials = aws_sigv4.AwsCredentials("AKIAIOSFODNN7EXAMPLE", "another-secret")
    with pytest.raises(CredentialsUnavailable, match="HTTP 403 InvalidSignatureException"):
        resolve_password(settings(secret_arn=SECRET_ARN))


def test_unreadable_secret_is_reported_as_unavailable(stub_aws: SecretsManagerStandin) -> None:
    stub_aws.secrets[SECRET_ARN] = "not json"
    with pytest.raises(CredentialsUnavailable, match="db.example.internal:5432.*could not obtain secret"):
        resolve_password(settings(secret_arn=SECRET_ARN))


def test_iam_auth_token_is_signed_here(stub_aws: SecretsManagerStandin,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    token = resolve_password(settings(iam_auth=True, secret_arn="arn:ignored"))
    assert token.startswith("db.example.internal:5432/?Action=connect&DBUser=app&")
    assert token_problem(token, host="db.example.internal", port=5432, user="app", region="eu-west-1",
                         credentials=CREDENTIALS) is None


def test_iam_token_logs_in_through_an_iam_checking_front(postgres_server: LocalPostgres,
                                                        stub_aws: SecretsManagerStandin,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with IamAuthGate(postgres_server, region="eu-west-1") as gate:
        for key, value in gate.environ().items():
            monkeypatch.setenv(key, value)
        response = sample_handler.handler({}, None)
        assert response["statusCode"] == 200, response
        assert json.loads(response["body"])["user"] == postgres_server.user
        assert gate.accepted == 1 and gate.refused == []
        connection.close_connection()
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-role-key")
        connection.reset_aws_clients()
        refused = sample_handler.handler({}, None)
        assert refused["statusCode"] == 503  # the log has the cause; the public body says only that
        assert gate.refused == ["signature does not match"]


def test_boto3_when_chosen(stub_aws: SecretsManagerStandin, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    class Rds:
        def generate_db_auth_token(self, **kwargs: Any) -> str:
            calls.append(kwargs)
            return "token-123"

    fake = FakeBoto3({"rds": Rds()})
    monkeypatch.setitem(sys.modules, "boto3", fake)
    monkeypatch.setenv(connection.AWS_SDK_ENV, "boto3")
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    assert resolve_password(settings(iam_auth=True, secret_arn="arn:ignored")) == "token-123"
    assert calls == [{"DBHostname": "db.example.internal", "Port": 5432, "DBUsername": "app",
                      "Region": "us-east-2"}]
    assert fake.calls[0][1]["region_name"] == "us-east-2"


def test_boto3_is_the_fallback_only_without_credentials_the_signer_reads(
        stub_aws: SecretsManagerStandin, monkeypatch: pytest.MonkeyPatch) -> None:
    class SecretsManager:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:  # boto3 casing
            return {"SecretString": json.dumps({"password": "via-boto3"})}

    monkeypatch.setitem(sys.modules, "boto3", FakeBoto3({"secretsmanager": SecretsManager()}))
    s = settings(secret_arn=SECRET_ARN)
    assert resolve_password(s) == "s3cret"  # auto with credentials: the signer
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    connection.reset_aws_clients()
    assert resolve_password(s) == "via-boto3"  # auto without: boto3 (profiles, instance metadata)
    monkeypatch.setenv(connection.AWS_SDK_ENV, "stdlib")
    with pytest.raises(CredentialsUnavailable, match="no AWS credentials"):
        resolve_password(s)
    monkeypatch.setenv(connection.AWS_SDK_ENV, "botocore")
    with pytest.raises(CredentialsUnavailable, match="DEPLOY_PARADIGMS_AWS_SDK='botocore' is not one of"):
        resolve_password(s)


def test_missing_boto3_and_credentials_is_explained(stub_aws: SecretsManagerStandin,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(CredentialsUnavailable, match="no AWS credentials.*container credentials endpoint"):
        resolve_password(settings(secret_arn=SECRET_ARN))
    monkeypatch.setenv(connection.AWS_SDK_ENV, "boto3")
    with pytest.raises(MissingDriverError, match="boto3.*set_password_provider"):
        resolve_password(settings(secret_arn=SECRET_ARN))


def test_provider_takes_precedence() -> None:
    connection.set_password_provider(lambda s: f"for-{s.user}")
    assert resolve_password(settings(iam_auth=True)) == "for-app"


# ----------------------------------------------------------------------------- TLS


def test_tls_context_modes(tmp_path: Any) -> None:
    assert tls_context("disable") is None
    require = tls_context("require")
    assert require is not None and require.verify_mode == ssl.CERT_NONE and not require.check_hostname
    assert require.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert tls_context("require") is require  # built once per process, shared by connections
    assert require.cert_store_stats()["x509_ca"] == 0  # require verifies nothing, so loads no CA store
    verify_ca = tls_context("verify-ca")
    assert verify_ca is not None and verify_ca.verify_mode == ssl.CERT_REQUIRED
    assert not verify_ca.check_hostname
    full = tls_context("verify-full")
    assert full is not None and full.verify_mode == ssl.CERT_REQUIRED and full.check_hostname
    with pytest.raises(ValueError, match="sslmode='sometimes' is not one of"):
        tls_context("sometimes")
    with pytest.raises(ValueError, match="sslrootcert=.*could not be loaded"):
        tls_context("verify-full", cafile=str(tmp_path / "missing.pem"))


def test_describe_error_hints_at_the_budget_when_out_of_connections() -> None:
    exc = Exception({"S": "FATAL", "C": "53300", "M": "sorry, too many clients already"})
    assert "too many clients already (SQLSTATE 53300)" in describe_error(exc)
    assert "connection budget" in describe_error(exc)


# ----------------------------------------------------------------------------- MySQL family (no server)


def test_mysql_needs_pymysql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymysql", None)
    with pytest.raises(MissingDriverError,
                       match="'mysql' engine needs the PyMySQL driver.*pip install PyMySQL"):
        connection.connect(settings(engine="mysql", port=3306), "pw")


def test_mysql_binds_named_parameters_through_pymysql(monkeypatch: pytest.MonkeyPatch) -> None:
    executed: list[tuple[str, Any]] = []

    class Cursor:
        description = (("n",), ("label",))
        rowcount = 1

        def execute(self, sql: str, args: Any = None) -> None:
            executed.append((sql, args))

        def fetchall(self) -> list[tuple[Any, ...]]:
            return [(1, "x")]

        def close(self) -> None:
            pass

    class Conn:
        def cursor(self) -> Cursor:
            return Cursor()

        def close(self) -> None:
            pass

        def thread_id(self) -> int:
            return 42

    opened: list[dict[str, Any]] = []
    fake = types.ModuleType("pymysql")

    def fake_connect(**kw: Any) -> Conn:
        opened.append(kw)
        return Conn()

    fake.connect = fake_connect  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pymysql", fake)
    conn = connection.connect(settings(engine="mysql", port=3306, url_params=(("sslmode", "disable"),)), "pw")
    result = conn.query("SELECT :n AS n, '50%' AS label WHERE a LIKE 'x:y' AND b = :n -- :c\n AND c = 5 % 2",
                        {"n": 1})
    assert executed == [("SELECT %(n)s AS n, '50%%' AS label WHERE a LIKE 'x:y' AND b = %(n)s -- :c\n"
                         " AND c = 5 %% 2", {"n": 1})]
    assert result.records() == [{"n": 1, "label": "x"}] and conn.backend_pid == 42
    assert opened[0]["autocommit"] is True and opened[0]["ssl"] is None and opened[0]["connect_timeout"] == 5
    assert opened[0]["ssl_disabled"] is True  # sslmode=disable: PyMySQL would otherwise try TLS


# ----------------------------------------------------------------------------- real PostgreSQL


@pytest.fixture
def pg_env(postgres_server: LocalPostgres,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalPostgres, str]]:
    """Environment pointing the runtime at the session server, with a unique application_name."""
    app = f"test-{uuid.uuid4().hex[:12]}"
    params = f"connection_limit=1&pool_timeout=10&connect_timeout=5&sslmode=disable&application_name={app}"
    point_runtime_at(postgres_server, monkeypatch, params)
    yield postgres_server, app


def sessions(server: LocalPostgres, app: str) -> list[int]:
    admin = server.admin()
    try:
        rows = admin.run("SELECT pid FROM pg_stat_activity WHERE application_name = :a", a=app)
        return sorted(int(r[0]) for r in rows)
    finally:
        admin.close()


def wait_for_sessions(server: LocalPostgres, app: str, count: int, timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        pids = sessions(server, app)
        if len(pids) == count or time.monotonic() > deadline:
            return pids
        time.sleep(0.02)


def invoke() -> dict[str, Any]:
    response = sample_handler.handler({}, types.SimpleNamespace(aws_request_id="req-1"))
    assert response["headers"]["content-type"].startswith("application/json")
    return {"status": response["statusCode"], **json.loads(response["body"])}


@pytest.mark.postgres
def test_one_connection_is_reused_across_invocations(pg_env: tuple[LocalPostgres, str]) -> None:
    server, app = pg_env
    assert sessions(server, app) == []  # nothing opened at import time
    first = invoke()
    assert first["status"] == 200 and first["database"] == server.dbname and first["user"] == server.user
    assert first["request_id"] == "req-1"
    pids = {invoke()["backend_pid"] for _ in range(5)} | {first["backend_pid"]}
    assert len(pids) == 1
    assert sessions(server, app) == sorted(pids)  # exactly one session, the cached one
    assert connection.get_connection().backend_pid == first["backend_pid"]
    assert first["connections_for_user"] >= 1


@pytest.mark.postgres
def test_a_dead_cached_connection_is_replaced_once(pg_env: tuple[LocalPostgres, str]) -> None:
    server, app = pg_env
    old = invoke()["backend_pid"]
    admin = server.admin()
    admin.run("SELECT pg_terminate_backend(:p)", p=old)
    admin.close()
    wait_for_sessions(server, app, 0)
    new = invoke()
    assert new["status"] == 200 and new["backend_pid"] != old
    assert sessions(server, app) == [new["backend_pid"]]


@pytest.mark.postgres
def test_writes_are_not_retried_on_a_dropped_connection(pg_env: tuple[LocalPostgres, str]) -> None:
    server, app = pg_env
    admin = server.admin()
    calls: list[int] = []

    def write(c: connection.DatabaseConnection) -> int:
        calls.append(1)
        if len(calls) == 1:  # the connection dies after the write was handed to it
            admin.run("SELECT pg_terminate_backend(:p)", p=c.backend_pid)
            wait_for_sessions(server, app, 0)
        return int(c.query("SELECT 1").rows[0][0])

    connection.get_connection()
    with pytest.raises(DatabaseUnavailable, match="dropped during a write, which may or may not"):
        connection.with_connection(write, idempotent=False)
    assert len(calls) == 1
    # A connection the server closed while it sat idle is replaced before the write is sent:
    # the server's goodbye is waiting on the socket (peer_spoke), however recently it was used.
    conn = connection.get_connection()
    admin.run("SELECT pg_terminate_backend(:p)", p=conn.backend_pid)
    admin.close()
    wait_for_sessions(server, app, 0)
    assert conn.idle_s < connection.STALE_AFTER_S
    assert connection.with_connection(write, idempotent=False) == 1
    assert len(calls) == 2


@pytest.mark.postgres
def test_settings_change_replaces_the_connection(pg_env: tuple[LocalPostgres, str]) -> None:
    server, app = pg_env
    first = connection.get_connection()
    assert connection.get_connection() is first
    other = DatabaseSettings.from_env().__class__(**{**DatabaseSettings.from_env().__dict__,
                                                     "url_params": (("sslmode", "disable"),
                                                                    ("application_name", app + "-b"))})
    second = connection.get_connection(other)
    assert second is not first and first.closed
    assert wait_for_sessions(server, app, 0) == []


@pytest.mark.postgres
def test_unreachable_database_gives_a_clear_error(pg_env: tuple[LocalPostgres, str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("DATABASE_PORT", str(port))
    monkeypatch.setenv("DATABASE_URL_PARAMS", "connect_timeout=2&sslmode=disable")
    with pytest.raises(DatabaseUnavailable) as info:
        connection.get_connection()
    assert str(info.value).startswith(f"database 127.0.0.1:{port} is unavailable: ")
    assert "Connection refused" in str(info.value) or "Can't create a connection" in str(info.value)
    response = invoke()
    assert response["status"] == 503
    assert response["error"]["code"] == "database_unavailable"
    # The sample handler's answer is public: where the database is stays in the log.
    assert str(port) not in json.dumps(response) and response["error"]["request_id"]


@pytest.mark.postgres
def test_wrong_password_is_reported_with_the_server_message(pg_env: tuple[LocalPostgres, str]) -> None:
    connection.set_password_provider(lambda s: "wrong")
    with pytest.raises(DatabaseUnavailable, match=r"password authentication failed.*SQLSTATE 28P01"):
        connection.get_connection()


@pytest.mark.postgres
def test_tls_modes_against_a_tls_server(pg_env: tuple[LocalPostgres, str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    server, app = pg_env
    if not server.ssl:
        pytest.skip("openssl is not installed, so the test server has no certificate")

    def ssl_in_use(params: str) -> bool:
        monkeypatch.setenv("DATABASE_URL_PARAMS", params)
        connection.close_connection()
        conn = connection.get_connection()
        return bool(conn.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").rows[0][0])

    assert ssl_in_use("sslmode=require") is True
    assert ssl_in_use(f"sslmode=verify-full&sslrootcert={server.cert_path}") is True
    assert ssl_in_use("sslmode=disable") is False
    with pytest.raises(DatabaseUnavailable, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        ssl_in_use("sslmode=verify-full")  # the self-signed certificate is not in the system store


@pytest.mark.postgres
def test_socket_timeout_does_not_cut_off_slow_queries(pg_env: tuple[LocalPostgres, str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # connect_timeout=1 must only bound connecting, not a query that runs longer.
    monkeypatch.setenv("DATABASE_URL_PARAMS", "connect_timeout=1&sslmode=disable")
    result = connection.with_connection(lambda c: c.query("SELECT pg_sleep(1.2), :x::int AS x", {"x": 5}))
    assert result.records()[0]["x"] == 5


def test_mysql_integrity_errors_get_class_23_whatever_the_server_reports() -> None:
    """MySQL 8 reports a CHECK violation as 3819 with SQLSTATE HY000; the data endpoint maps
    class 23 to 409, so it must read as an integrity error like MariaDB's 4025/23000."""
    integrity_error = type("IntegrityError", (Exception,), {"__module__": "pymysql.err"})
    operational_error = type("OperationalError", (Exception,), {"__module__": "pymysql.err"})
    assert connection.sqlstate(operational_error(3819, "Check constraint 'c' is violated.")) == "23000"
    keeps_its_own = integrity_error(1062, "Duplicate entry")
    keeps_its_own.sqlstate = "23000"  # type: ignore[attr-defined]
    assert connection.sqlstate(keeps_its_own) == "23000"
    assert connection.sqlstate(operational_error(1146, "Table doesn't exist")) is None


def test_deferred_modules_are_imported_when_first_used(postgres_server: LocalPostgres,
                                                      tmp_path: Any) -> None:
    """In a fresh process from the shipped bundle: connecting imports pg8000 without scramp and
    dateutil.tz; a SCRAM password login (the Secrets Manager path) still works, loading scramp,
    and dateutil.tz (which dateutil's parser, pg8000's timestamp fallback, binds) is real on first use."""
    import subprocess

    from deploy_paradigms import packaging

    bundle = packaging.lambda_bundle("sample", cache_dir=tmp_path)
    s = postgres_server
    program = (
        f"import sys; sys.path.insert(0, {str(bundle)!r})\n"
        "from deploy_paradigms.runtime import connection\n"
        "from deploy_paradigms.runtime.settings import DatabaseSettings\n"
        "real = lambda: ['asn1crypto.x509' in sys.modules, 'dateutil.tz.tz' in sys.modules]\n"
        "for name in connection.DEFERRED_MODULES: connection._defer_import(name)\n"
        "import pg8000.native\n"
        "print(*real())\n"
        f"settings = DatabaseSettings(host={s.host!r}, port={s.port}, name={s.dbname!r}, user={s.user!r},"
        " url_params=(('sslmode', 'disable'),))\n"
        f"conn = connection.connect(settings, {s.password!r})\n"
        "print(*real(), conn.query('SELECT 41 + 1').rows[0][0])\n"
        # pg8000's fallback parser, which holds the stand-in as its `tz`
        "from dateutil.parser import parse\n"
        "print(*real(), parse('2020-01-02 03:04:05+01:00').isoformat())\n"
        "from dateutil import tz\n"
        "print(*real(), repr(tz.tzutc()), isinstance(tz.tzutc(), sys.modules['dateutil.tz'].tzutc))\n")
    out = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", program], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["False False", "True False 42", "True False 2020-01-02T03:04:05+01:00",
                                       "True True tzutc() True"], out.stdout

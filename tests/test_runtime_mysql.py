"""The runtime's MySQL-family path (PyMySQL) against a real MariaDB: TLS, named parameters,
the data endpoint, the web app's query, dead connections and a server out of connections."""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pymysql
import pytest

from deploy_paradigms.catalog import NamedQuery, QueryCatalog, QueryParam
from deploy_paradigms.runtime import connection, data_endpoint, sample_handler
from deploy_paradigms.runtime.connection import DatabaseConnection, DatabaseUnavailable, describe_error
from deploy_paradigms.runtime.data_endpoint import DataEndpoint, sorted_query
from deploy_paradigms.runtime.settings import DatabaseSettings
from deploy_paradigms.runtime.web_app import _MYSQL_SQL, WebApp
from tests.conftest import point_runtime_at
from tests.support.fault_proxy import FaultProxy
from tests.support.local_mysql import LocalMySQL, MySQLNotInstalled

pytestmark = pytest.mark.mysql

INJECTION = "x'); DROP TABLE posts; --"
# Values that break naive quoting or placeholder handling: quotes, backslashes, %-formatting,
# text that looks like :name placeholders, comments, and non-ASCII.
TRICKY_VALUES = (
    "it's", 'say "hi"', "back\\slash \\' and \\", "100% sure", "%s %(v)s %%", ":v and :other",
    "`tick`", "-- not a comment", "/* nor this */", "# nor this", INJECTION, "' OR '1'='1",
    "\\'; DELETE FROM posts; --", "Grüße 日本 🚀", "",
)

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS posts (\n"
    "    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
    "    title varchar(200) NOT NULL,\n"
    "    body text NOT NULL,\n"
    "    created_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),\n"
    "    CONSTRAINT posts_title_not_empty CHECK (char_length(title) >= 1),\n"
    "    UNIQUE KEY posts_title_key (title)\n"
    ")",
)
CATALOG = QueryCatalog(
    (
        NamedQuery("recent_posts", "SELECT id, title, body, created_at FROM posts "
                                   "ORDER BY created_at DESC, id DESC LIMIT :limit",
                   (QueryParam("limit", "int", required=False, default=10, min_value=1, max_value=100),),
                   cache_ttl_s=60, stale_while_revalidate_s=300),
        NamedQuery("post_by_title", "SELECT id, title FROM posts WHERE title = :title",
                   (QueryParam("title", "str"),)),
        # INSERT ... RETURNING is MariaDB's (10.5+); MySQL needs the plain form below.
        NamedQuery("create_post", "INSERT INTO posts (title, body) VALUES (:title, :body) "
                                  "RETURNING id, title, body, created_at",
                   (QueryParam("title", "str", max_length=300), QueryParam("body", "str")), mode="write"),
        NamedQuery("add_post", "INSERT INTO posts (title, body) VALUES (:title, :body)",
                   (QueryParam("title", "str", max_length=300), QueryParam("body", "str")), mode="write"),
    ),
    schema=SCHEMA,
)


# ----------------------------------------------------------------------------- helpers


def settings_for(server: LocalMySQL, engine: str = "mariadb", **params: str) -> DatabaseSettings:
    url_params = {"connect_timeout": "5", "sslmode": "disable", **params}
    return DatabaseSettings(host=server.host, port=server.port, name=server.dbname, user=server.user,
                            engine=engine, url_params=tuple(url_params.items()))


def scalar(conn: DatabaseConnection, sql: str, params: Mapping[str, Any] | None = None) -> Any:
    return conn.query(sql, params).rows[0][0]


def ssl_cipher(conn: DatabaseConnection) -> str:
    return str(conn.query("SHOW STATUS LIKE 'Ssl_cipher'").rows[0][1])


def kill(server: LocalMySQL, thread_id: int) -> None:
    """``KILL <id>`` from another session, then wait until the server has let the session go."""
    admin = server.admin()
    try:
        with admin.cursor() as cur:
            cur.execute(f"KILL {int(thread_id)}")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s", (thread_id,))
                if cur.fetchone()[0] == 0:
                    return
                time.sleep(0.01)
    finally:
        admin.close()


def event(method: str, path: str, query: str = "", body: Any = None) -> dict[str, Any]:
    return {
        "version": "2.0", "rawPath": path, "rawQueryString": query, "headers": {},
        "requestContext": {"http": {"method": method, "path": path}},
        "body": None if body is None else json.dumps(body), "isBase64Encoded": False,
    }


def call(endpoint: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
    response = endpoint(event(*args, **kwargs))
    return response["statusCode"], response["headers"], json.loads(response["body"])


def http_get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    yield
    connection.close_connection()
    connection.set_password_provider(None)
    connection.reset_aws_clients()
    data_endpoint.reset()


@pytest.fixture
def conn(mysql_server: LocalMySQL) -> Iterator[DatabaseConnection]:
    """A runtime connection (``connect()``) to the session server, no TLS."""
    opened = connection.connect(settings_for(mysql_server), mysql_server.password)
    yield opened
    opened.close()


@pytest.fixture
def env(mysql_server: LocalMySQL, monkeypatch: pytest.MonkeyPatch) -> LocalMySQL:
    """DATABASE_* pointing the runtime at the session server, an empty database (the endpoint
    bootstraps its table), and the password from a provider."""
    point_runtime_at(mysql_server, monkeypatch)
    admin = mysql_server.connect()
    try:
        with admin.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS posts")
    finally:
        admin.close()
    return mysql_server


@pytest.fixture(scope="module")
def plain_server() -> Iterator[LocalMySQL]:
    """A second server without TLS (starts in about a second)."""
    server = LocalMySQL(max_connections=5, ssl=False)
    try:
        server.start()
    except MySQLNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


# ----------------------------------------------------------------------------- TLS


def test_sslmodes_against_a_tls_server(mysql_server: LocalMySQL) -> None:
    if not mysql_server.ssl:
        pytest.skip("openssl is not installed, so the test server has no certificate")

    def cipher(**params: str) -> str:
        opened = connection.connect(settings_for(mysql_server, **params), mysql_server.password)
        try:
            return ssl_cipher(opened)
        finally:
            opened.close()

    assert cipher(sslmode="require")  # TLS really negotiated
    assert cipher(sslmode="prefer")
    assert cipher(sslmode="verify-full", sslrootcert=str(mysql_server.cert_path))
    assert cipher(sslmode="disable") == ""  # PyMySQL would try TLS unless told not to
    with pytest.raises(DatabaseUnavailable, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        cipher(sslmode="verify-full")  # the self-signed certificate is not in the system store


def test_sslmodes_against_a_server_without_tls(plain_server: LocalMySQL) -> None:
    def cipher(sslmode: str) -> str:
        opened = connection.connect(settings_for(plain_server, sslmode=sslmode), plain_server.password)
        try:
            return ssl_cipher(opened)
        finally:
            opened.close()

    assert cipher("disable") == ""
    assert cipher("prefer") == cipher("allow") == ""  # fall back to plaintext, as libpq does
    with pytest.raises(DatabaseUnavailable, match=r"127\.0\.0\.1:\d+ is unavailable: .*SSL is required"):
        cipher("require")  # never silently plaintext


def test_require_secure_transport_refuses_plaintext(mysql_server: LocalMySQL) -> None:
    if not mysql_server.ssl:
        pytest.skip("openssl is not installed, so the test server has no certificate")
    admin = mysql_server.admin()
    try:
        with admin.cursor() as cur:
            cur.execute("SET GLOBAL require_secure_transport = ON")
        # MariaDB 10.11 answers a plaintext login with a plain "Access denied" (1045);
        # MySQL says "insecure transport" (3159).
        with pytest.raises(DatabaseUnavailable, match=r"\(1045, .Access denied|insecure transport"):
            connection.connect(settings_for(mysql_server, sslmode="disable"), mysql_server.password)
        secure = connection.connect(settings_for(mysql_server, sslmode="require"), mysql_server.password)
        assert ssl_cipher(secure)
        secure.close()
    finally:
        with admin.cursor() as cur:
            cur.execute("SET GLOBAL require_secure_transport = OFF")
        admin.close()


# ----------------------------------------------------------------------------- named parameters


def test_named_parameters_are_bound_verbatim(conn: DatabaseConnection) -> None:
    for value in TRICKY_VALUES:
        assert conn.query("SELECT :v AS v, :v = :v AS same", {"v": value}).one() == {"v": value, "same": 1}
    # Literals, identifiers, comments and the modulo operator are left alone around placeholders.
    row = conn.query("SELECT :a AS `:a`, ':a' AS lit, '50%' AS pct, 7 % 4 AS m /* :b */ -- :c\n"
                     ", :b AS b", {"a": "A", "b": None}).one()
    assert row == {":a": "A", "lit": ":a", "pct": "50%", "m": 3, "b": None}
    assert conn.query("SELECT 7 % 4 AS m, '%' AS p, ':x' AS x").one() == {"m": 3, "p": "%", "x": ":x"}


def test_injection_attempts_change_nothing(conn: DatabaseConnection) -> None:
    conn.query("DROP TABLE IF EXISTS dp_notes")
    conn.query("CREATE TABLE dp_notes (id int AUTO_INCREMENT PRIMARY KEY, body text NOT NULL)")
    for value in TRICKY_VALUES:
        assert conn.query("INSERT INTO dp_notes (body) VALUES (:body)", {"body": value}).row_count == 1
    stored = [r[0] for r in conn.query("SELECT body FROM dp_notes ORDER BY id").rows]
    assert stored == list(TRICKY_VALUES)
    assert conn.query("SELECT id FROM dp_notes WHERE body = :b", {"b": "' OR '1'='1"}).row_count == 1
    assert conn.query("SELECT id FROM dp_notes WHERE id = :i", {"i": "1 OR 1=1"}).rows == ((1,),)  # a string
    # PyMySQL switches to quote doubling when the server stops treating backslash as an escape.
    conn.query("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')")
    value = "\\'; DELETE FROM dp_notes; -- "
    conn.query("INSERT INTO dp_notes (body) VALUES (:body)", {"body": value})
    assert scalar(conn, "SELECT body FROM dp_notes ORDER BY id DESC LIMIT 1") == value
    assert scalar(conn, "SELECT COUNT(*) FROM dp_notes") == len(TRICKY_VALUES) + 1
    conn.query("DROP TABLE dp_notes")


# ----------------------------------------------------------------------------- data endpoint


@pytest.mark.parametrize("engine", ["mariadb", "mysql", "aurora-mysql"])
def test_data_endpoint_serves_reads_and_writes(env: LocalMySQL, engine: str, monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    # Configured the way the Lambda is: environment, catalog.json, schema bootstrap.
    monkeypatch.setenv("DATABASE_ENGINE", engine)
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(CATALOG.to_json())
    monkeypatch.setenv(data_endpoint.ENV_CATALOG_PATH, str(catalog_path))
    monkeypatch.setenv(data_endpoint.ENV_BOOTSTRAP_SCHEMA, "true")

    def handle(*args: Any, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
        return call(lambda e: data_endpoint.handler(e, None), *args, **kwargs)

    status, headers, payload = handle("POST", "/data/create_post",
                                      body={"title": "first", "body": "it's 50%"})
    assert (status, headers["cache-control"]) == (200, "no-store"), payload
    assert payload["columns"] == ["id", "title", "body", "created_at"] and payload["row_count"] == 1
    assert payload["rows"][0]["id"] == 1 and payload["rows"][0]["body"] == "it's 50%"
    status, _, payload = handle("POST", "/data/add_post", body={"title": "second", "body": ":title"})
    assert (status, payload["columns"], payload["row_count"]) == (200, [], 1)

    status, headers, payload = handle("GET", "/data/recent_posts", "limit=5")
    assert status == 200 and headers["cache-control"] == "public, max-age=60, stale-while-revalidate=300"
    assert [(r["title"], r["body"]) for r in payload["rows"]] == [("second", ":title"), ("first", "it's 50%")]
    assert payload["row_count"] == 2
    assert "T" in payload["rows"][0]["created_at"]  # ISO 8601
    assert connection.get_connection().settings.engine == engine


def test_data_endpoint_injection_and_database_errors(env: LocalMySQL) -> None:
    endpoint = DataEndpoint(CATALOG, bootstrap_schema=True)
    status, _, payload = call(endpoint, "POST", "/data/create_post",
                              body={"title": INJECTION, "body": "'; DELETE FROM posts; --"})
    assert status == 200 and payload["rows"][0]["title"] == INJECTION
    assert call(endpoint, "GET", "/data/post_by_title", "title=%27%20OR%20%271%27%3D%271")[2]["rows"] == []
    found = call(endpoint, "GET", "/data/post_by_title", sorted_query({"title": INJECTION}))[2]["rows"]
    assert [r["title"] for r in found] == [INJECTION]
    assert call(endpoint, "GET", "/data/recent_posts", "limit=1;DELETE%20FROM%20posts")[0] == 400

    # Constraint violations are conflicts and bad values are 400, as on PostgreSQL.
    for body, status_code, code in (
        ({"title": INJECTION, "body": "b"}, 409, "conflict"),  # unique key
        ({"title": "", "body": "b"}, 409, "conflict"),  # CHECK constraint
        ({"title": "t" * 250, "body": "b"}, 400, "invalid_value"),  # longer than varchar(200)
    ):
        status, _, payload = call(endpoint, "POST", "/data/add_post", body=body)
        assert (status, payload["error"]["code"]) == (status_code, code), payload
    assert len(call(endpoint, "GET", "/data/recent_posts")[2]["rows"]) == 1  # the table is intact


def test_data_endpoint_replaces_a_killed_connection(env: LocalMySQL) -> None:
    endpoint = DataEndpoint(CATALOG, bootstrap_schema=True)
    assert call(endpoint, "POST", "/data/add_post", body={"title": "survives", "body": "b"})[0] == 200
    old = connection.get_connection().backend_pid
    assert old is not None
    kill(env, old)
    status, _, payload = call(endpoint, "GET", "/data/recent_posts", "limit=1")
    assert status == 200 and payload["rows"][0]["title"] == "survives"
    new = connection.get_connection().backend_pid
    assert new is not None and new != old
    # A connection the server closed while it sat idle is replaced before a write is sent too (the
    # server's goodbye is waiting on the socket: peer_spoke, main 98fd66a), so the write succeeds on
    # a fresh connection; a write whose connection dies mid-flight is not retried
    # (test_runtime_connection.py::test_writes_are_not_retried_on_a_dropped_connection).
    kill(env, new)
    assert call(endpoint, "POST", "/data/add_post", body={"title": "w", "body": "b"})[0] == 200
    assert connection.get_connection().backend_pid not in (old, new)


HOSTILE = QueryCatalog(CATALOG.queries + (
    NamedQuery("echo", "SELECT CAST(:text AS CHAR) AS text", (QueryParam("text", "str"),)),
    NamedQuery("numbers", "SELECT seq AS n FROM seq_1_to_500000 ORDER BY seq DESC LIMIT :n",
               (QueryParam("n", "int", min_value=1),)),
    NamedQuery("sleep", "SELECT SLEEP(:s) AS slept", (QueryParam("s", "float"),)),
), schema=SCHEMA)


def test_hostile_text_is_refused_and_later_requests_get_their_own_answers(env: LocalMySQL) -> None:
    endpoint = DataEndpoint(HOSTILE, bootstrap_schema=True)
    assert call(endpoint, "POST", "/data/add_post", body={"title": "first", "body": "b"})[0] == 200
    status, _, payload = call(endpoint, "POST", "/data/add_post", body={"title": "\ud800", "body": "x"})
    assert (status, payload["error"]["code"]) == (400, "invalid_parameter"), payload
    status, _, payload = call(endpoint, "POST", "/data/add_post", body={"title": "", "body": "x"})
    assert (status, payload["error"]["code"]) == (409, "conflict")
    assert call(endpoint, "GET", "/data/echo", "text=mine")[2]["rows"] == [{"text": "mine"}]
    # Below the endpoint's checks, the driver's own failure closes the connection.
    conn = connection.get_connection()
    with pytest.raises(UnicodeEncodeError):
        conn.query("SELECT CAST(:t AS CHAR) AS t", {"t": "\ud800"})
    assert conn.closed
    assert call(endpoint, "GET", "/data/echo", "text=again")[2]["rows"] == [{"text": "again"}]
    assert [r["title"] for r in call(endpoint, "GET", "/data/recent_posts")[2]["rows"]] == ["first"]


def test_row_cap_stops_the_read_and_keeps_the_order(env: LocalMySQL) -> None:
    endpoint = DataEndpoint(HOSTILE, max_rows=100)
    status, _, payload = call(endpoint, "GET", "/data/numbers", "n=500000")
    assert (status, payload["error"]["code"]) == (413, "too_many_rows")
    status, _, payload = call(endpoint, "GET", "/data/numbers", "n=100")
    assert status == 200 and [r["n"] for r in payload["rows"]] == list(range(500_000, 499_900, -1))
    assert call(endpoint, "GET", "/data/echo", "text=next")[2]["rows"] == [{"text": "next"}]


def test_statement_timeout_becomes_max_statement_time(env: LocalMySQL,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL_PARAMS", "connect_timeout=5&sslmode=disable&statement_timeout=300")
    endpoint = DataEndpoint(HOSTILE)
    started = time.monotonic()
    status, _, payload = call(endpoint, "GET", "/data/sleep", "s=5")
    assert (status, payload["error"]["code"]) == (504, "query_timeout"), payload
    assert time.monotonic() - started < 3
    assert call(endpoint, "GET", "/data/echo", "text=after")[2]["rows"] == [{"text": "after"}]


# ----------------------------------------------------------------------------- dead connections


def test_killed_connection_is_a_disconnect_and_kill_query_is_not(mysql_server: LocalMySQL,
                                                                 conn: DatabaseConnection) -> None:
    thread_id = conn.backend_pid
    assert thread_id is not None and thread_id == scalar(conn, "SELECT CONNECTION_ID()")
    # KILL QUERY interrupts the statement (error 1317) but the session lives on.
    admin = mysql_server.admin()
    timer = threading.Timer(0.2, lambda: admin.cursor().execute(f"KILL QUERY {int(thread_id)}"))
    timer.start()
    with pytest.raises(pymysql.err.OperationalError) as interrupted:
        conn.query("SELECT SLEEP(5)")  # MariaDB reports an interrupted SLEEP() as an error
    timer.join()
    admin.close()
    assert interrupted.value.args[0] == 1317 and not connection.is_disconnect(interrupted.value)
    assert scalar(conn, "SELECT 1") == 1

    kill(mysql_server, thread_id)
    with pytest.raises(pymysql.err.MySQLError) as lost:  # lost connection (2013): a client error
        conn.query("SELECT 1")
    assert lost.value.args[0] == 2013 and connection.is_disconnect(lost.value)
    assert conn.closed  # no server error code: the connection is not used again
    with pytest.raises(DatabaseUnavailable, match="the connection is closed"):
        conn.query("SELECT 1")
    assert conn.ping() is False


def test_lambda_handler_reuses_then_replaces_a_killed_connection(env: LocalMySQL) -> None:
    def invoke() -> dict[str, Any]:
        response = sample_handler.handler({}, None)
        return {"status": response["statusCode"], **json.loads(response["body"])}

    first = invoke()
    assert first["status"] == 200 and first["database"] == env.dbname
    assert first["user"] == f"{env.user}@%" and first["connections_for_user"] >= 1
    assert invoke()["backend_pid"] == first["backend_pid"]  # cached per environment
    kill(env, first["backend_pid"])
    second = invoke()
    assert second["status"] == 200 and second["backend_pid"] != first["backend_pid"]


def test_web_app_index_query_and_pool_reconnect(mysql_server: LocalMySQL) -> None:
    settings = settings_for(mysql_server, connection_limit="2", pool_timeout="5",
                            sslmode="require" if mysql_server.ssl else "disable")
    direct = connection.connect(settings, mysql_server.password)
    row = direct.query(_MYSQL_SQL).one()
    direct.close()
    assert row["database"] == mysql_server.dbname and isinstance(row["backend_pid"], int)

    app = WebApp(settings, mysql_server.password, host="127.0.0.1", port=0)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{app.port}"
        status, body = http_get(base + "/")
        assert status == 200 and body["database"] == mysql_server.dbname, body
        assert body["user"] == f"{mysql_server.user}@%" and "now" in body
        kill(mysql_server, body["backend_pid"])
        status, again = http_get(base + "/")  # the dead pooled connection is replaced once
        assert status == 200 and again["backend_pid"] != body["backend_pid"], again
        assert again["pool"]["open"] == 1 and again["pool"]["peak_open"] == 1
    finally:
        app.close()


# ----------------------------------------------------------------------------- out of connections


def test_too_many_connections_is_described_clearly(env: LocalMySQL) -> None:
    settings = settings_for(env)
    endpoint = DataEndpoint(CATALOG, bootstrap_schema=True)
    assert call(endpoint, "GET", "/data/recent_posts")[0] == 200
    connection.close_connection()
    app = WebApp(settings, env.password, host="127.0.0.1", port=0)
    fillers: list[Any] = []
    try:
        with pytest.raises(pymysql.err.OperationalError) as full:
            for _ in range(env.max_connections + 1):
                fillers.append(env.connect())
        assert full.value.args[0] == 1040 and len(fillers) <= env.max_connections
        assert not connection.is_disconnect(full.value)  # nothing to reconnect: the server is full
        assert describe_error(full.value).startswith("OperationalError: (1040, 'Too many connections'); "
                                                     "the database is out of connections")

        with pytest.raises(DatabaseUnavailable) as info:
            connection.connect(settings, env.password)
        message = str(info.value)
        assert message.startswith(f"database 127.0.0.1:{env.port} is unavailable: ")
        assert "Too many connections" in message and "deploy-paradigms budget" in message

        status, headers, payload = call(endpoint, "GET", "/data/recent_posts")
        assert (status, payload["error"]["code"]) == (503, "database_unavailable")
        assert headers["retry-after"] == "1" and "out of connections" in payload["error"]["message"]
        status, body, _ = app.index()
        assert status == 503 and body["error"]["code"] == "database_unavailable"
        assert "out of connections" in body["error"]["message"]
        assert app.pool.stats()["open"] == 0  # the failed connect gave its slot back

        admin = env.admin()  # MariaDB keeps one connection for administrators
        admin.close()
    finally:
        for filler in fillers:
            filler.close()
        app.close()
    deadline = time.monotonic() + 5
    while True:  # the server frees the slots asynchronously
        try:
            env.connect().close()
            break
        except pymysql.err.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    assert call(endpoint, "GET", "/data/recent_posts")[0] == 200


# ----------------------------------------------------------------------------- the helper itself


def test_missing_server_binaries_fail_with_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, path=None: None)
    with pytest.raises(MySQLNotInstalled, match="apt-get install mariadb-server"):
        LocalMySQL().start()


def test_faults_between_runtime_and_mariadb_never_duplicate_or_mix_answers(
        env: LocalMySQL, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = DataEndpoint(HOSTILE, bootstrap_schema=True)
    assert call(endpoint, "POST", "/data/add_post", body={"title": "a", "body": "x"})[0] == 200
    connection.close_connection()
    with FaultProxy(env.host, env.port) as proxy:
        monkeypatch.setenv("DATABASE_PORT", str(proxy.port))
        monkeypatch.setenv("DATABASE_URL_PARAMS", "connect_timeout=2&sslmode=disable&socket_timeout=2")
        assert call(endpoint, "GET", "/data/echo", "text=warm")[0] == 200
        proxy.fault = "reset"  # the write reaches the server; its answer is cut half-way
        status, _, payload = call(endpoint, "POST", "/data/add_post", body={"title": "b", "body": "x"})
        assert (status, payload["error"]["code"]) == (503, "database_unavailable")
        proxy.fault = "freeze"
        connection.close_connection()
        started = time.monotonic()
        status, _, payload = call(endpoint, "GET", "/data/echo", "text=frozen")
        assert status == 503 and time.monotonic() - started < 6  # connect_timeout, not forever
        proxy.fault = None
        assert call(endpoint, "GET", "/data/echo", "text=mine")[2]["rows"] == [{"text": "mine"}]
        status, _, payload = call(endpoint, "GET", "/data/recent_posts")
    titles = [r["title"] for r in payload["rows"]]
    assert status == 200 and titles in (["a"], ["b", "a"])  # b applied at most once, and reported as it is

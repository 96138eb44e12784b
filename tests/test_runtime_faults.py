"""The runtime under faults and hostile input, against real PostgreSQL (and MariaDB where it applies).

Every test asserts what callers get (status codes) *and* what the database holds:
no request reads another request's answer, no write is lost or applied twice.
"""

from __future__ import annotations

import json
import threading
import time
import tracemalloc
import types
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from deploy_paradigms.catalog import NamedQuery, QueryCatalog, QueryParam, sample_catalog
from deploy_paradigms.runtime import connection, data_endpoint
from deploy_paradigms.runtime.connection import with_connection
from deploy_paradigms.runtime.data_endpoint import DataEndpoint, sign_request
from deploy_paradigms.runtime.settings import DatabaseSettings
from deploy_paradigms.runtime.web_app import ConnectionPool, WebApp
from tests.conftest import _for_the_session, point_runtime_at
from tests.support.fault_proxy import FaultProxy
from tests.support.local_postgres import LocalPostgres, PostgresNotInstalled, empty_sample_posts
from tests.test_data_endpoint_runtime import call, event
from tests.test_web_app import app_settings, get, start

pytestmark = pytest.mark.postgres

KEY = b"test-signing-key"
END_ROTATION_SESSIONS = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE application_name = 'rotation'")
NOW = 1_800_000_000.0

# The sample catalog plus reads that make pg8000 fail *after* the server answered.
HOSTILE_CATALOG = QueryCatalog(
    sample_catalog().queries + (
        NamedQuery("midnight", "SELECT time '24:00' AS t"),  # pg8000 cannot decode 24:00
        NamedQuery("echo", "SELECT CAST(:text AS text) AS text", (QueryParam("text", "str"),)),
        NamedQuery("numbers", "SELECT g AS n FROM generate_series(1, :n) AS g ORDER BY g",
                   (QueryParam("n", "int", min_value=1, max_value=5_000_000),)),
        NamedQuery("quotes", "SELECT repeat('\"', :n) AS q", (QueryParam("n", "int", min_value=1),)),
        NamedQuery("sleep", "SELECT pg_sleep(:s) IS NULL AS slept", (QueryParam("s", "float"),)),
    ),
    schema=sample_catalog().schema,
)


@pytest.fixture
def db(postgres_server: LocalPostgres, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalPostgres]:
    point_runtime_at(postgres_server, monkeypatch)
    empty_sample_posts(postgres_server, data_endpoint.REPLAY_TABLE)
    yield postgres_server
    connection.close_connection()
    connection.set_password_provider(None)
    data_endpoint.reset()


@pytest.fixture
def endpoint(db: LocalPostgres) -> DataEndpoint:
    return DataEndpoint(HOSTILE_CATALOG, bootstrap_schema=True)


def titles(server: LocalPostgres) -> list[str]:
    conn = server.connect()
    try:
        return [str(r[0]) for r in conn.run("SELECT title FROM posts ORDER BY id")]
    finally:
        conn.close()


# ----------------------------------------------------------------------------- 1. desync


def test_a_lone_surrogate_is_refused_before_the_driver_and_later_requests_get_their_own_answers(
        endpoint: DataEndpoint, db: LocalPostgres) -> None:
    assert call(endpoint, "POST", "/data/create_post", body={"title": "first", "body": "x"})[0] == 200
    status, _, payload = call(endpoint, "POST", "/data/create_post", body='{"title":"\\ud800","body":"x"}')
    assert (status, payload["error"]["code"]) == (400, "invalid_parameter"), payload
    # A write the CHECK constraint rejects must be 409, not 200 with another query's rows.
    status, _, payload = call(endpoint, "POST", "/data/create_post", body={"title": "", "body": "x"})
    assert (status, payload["error"]["code"]) == (409, "conflict"), payload
    status, _, payload = call(endpoint, "GET", "/data/post_by_id", "id=1")
    assert status == 200 and [r["title"] for r in payload["rows"]] == ["first"]
    assert titles(db) == ["first"]


def test_a_reply_the_driver_cannot_decode_closes_the_connection(endpoint: DataEndpoint,
                                                                 db: LocalPostgres) -> None:
    assert call(endpoint, "POST", "/data/create_post", body={"title": "first", "body": "x"})[0] == 200
    before = connection.get_connection().backend_pid
    status, headers, payload = call(endpoint, "GET", "/data/midnight")
    assert (status, payload["error"]["code"]) == (500, "query_failed")
    assert headers["cache-control"] == "no-store"
    for _ in range(3):  # each request reads its own reply, on a new connection
        status, _, payload = call(endpoint, "GET", "/data/echo", "text=mine")
        assert (status, payload["rows"]) == (200, [{"text": "mine"}])
        status, _, payload = call(endpoint, "POST", "/data/create_post", body={"title": "", "body": "x"})
        assert status == 409, payload
    assert connection.get_connection().backend_pid != before
    assert titles(db) == ["first"]


def test_an_encoding_failure_inside_the_driver_closes_the_connection(db: LocalPostgres) -> None:
    """Below the endpoint's checks: pg8000 raises while sending; the connection is not reused."""
    conn = connection.get_connection()
    with pytest.raises(UnicodeEncodeError):
        conn.query("SELECT CAST(:t AS text) AS t", {"t": "\ud800"})
    assert conn.closed
    for word in ("one", "two"):
        result = with_connection(lambda c, w=word: c.query("SELECT CAST(:t AS text) AS t", {"t": w}))
        assert result.rows == ((word,),)


# ----------------------------------------------------------------------------- 2. uncaught exceptions


def test_nested_json_is_a_400_not_a_crash(endpoint: DataEndpoint) -> None:
    status, _, payload = call(endpoint, "POST", "/data/create_post", body="[" * 5000)
    assert (status, payload["error"]["code"]) == (400, "invalid_body")


@pytest.mark.parametrize("timestamp", ["\u00b2", "1" * 4301, "١٢٣", "-5", " 1800000000"])
def test_a_hostile_timestamp_is_a_401(db: LocalPostgres, timestamp: str) -> None:
    endpoint = DataEndpoint(HOSTILE_CATALOG, signing_key=KEY, clock=lambda: NOW)
    headers = {"x-dp-timestamp": timestamp, "x-dp-signature": "0" * 64}
    status, _, payload = call(endpoint, "GET", "/data/recent_posts", headers=headers)
    assert (status, payload["error"]["code"]) == (401, "stale_signature")


def test_an_unexpected_exception_is_a_generic_500_with_a_request_id(
        endpoint: DataEndpoint, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail arn:aws:iam::123456789012:role/x")

    monkeypatch.setattr(endpoint, "_execute", explode)
    response = endpoint(event("GET", "/data/recent_posts"), types.SimpleNamespace(aws_request_id="req-42"))
    body = json.loads(response["body"])
    assert response["statusCode"] == 500
    assert body == {"error": {"code": "internal_error", "request_id": "req-42",
                              "message": "the request failed; see the endpoint's logs"}}
    assert "req-42" in caplog.text and "123456789012" in caplog.text


# ----------------------------------------------------------------------------- 7. bounded errors


def test_unknown_keys_are_not_echoed_without_bound(endpoint: DataEndpoint) -> None:
    hostile = {f"key_{i}_{'x' * 50}": 1 for i in range(20_000)}  # a ~1.3 MB body
    status, _, payload = call(endpoint, "POST", "/data/create_post", body=hostile)
    assert (status, payload["error"]["code"]) == (400, "unexpected_parameter")
    assert len(json.dumps(payload)) < 1000 and "19995 more" in payload["error"]["message"]


def test_a_404_path_is_not_echoed_without_bound(endpoint: DataEndpoint) -> None:
    response = endpoint(event("GET", "/" + "a" * 100_000))
    assert response["statusCode"] == 404 and len(response["body"]) < 1000


# ----------------------------------------------------------------------------- 6. caps while reading


def test_a_huge_result_stops_at_max_rows_plus_one(db: LocalPostgres) -> None:
    endpoint = DataEndpoint(HOSTILE_CATALOG, max_rows=1000)
    tracemalloc.start()
    try:
        status, _, payload = call(endpoint, "GET", "/data/numbers", "n=300000")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (status, payload["error"]["code"]) == (413, "too_many_rows")
    assert "more than 1000 rows" in payload["error"]["message"]
    assert peak < 5_000_000, f"reading a capped result used {peak} bytes"  # all 300k rows: ~60 MB
    status, _, payload = call(endpoint, "GET", "/data/numbers", "n=1000")  # exactly the cap: served
    assert status == 200 and payload["row_count"] == 1000 and payload["rows"][-1] == {"n": 1000}


def test_the_size_cap_measures_the_serialised_lambda_response(db: LocalPostgres) -> None:
    endpoint = DataEndpoint(HOSTILE_CATALOG, max_response_bytes=10_000)
    response = endpoint(event("GET", "/data/quotes", "n=2000"))  # body ~4 KB (\" each), serialised ~8 KB
    assert response["statusCode"] == 200 and len(json.dumps(response)) <= 10_000
    response = endpoint(event("GET", "/data/quotes", "n=3000"))  # body ~6 KB, serialised ~12 KB
    assert response["statusCode"] == 413, len(json.dumps(response))
    assert json.loads(response["body"])["error"]["code"] == "response_too_large"


# ----------------------------------------------------------------------------- 4. time bounds


def active_sleeps(server: LocalPostgres) -> int:
    admin = server.admin()
    try:
        return int(admin.run("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' "
                             "AND state = 'active' AND pid <> pg_backend_pid()")[0][0])
    finally:
        admin.close()


def test_statement_timeout_from_the_url_parameters_is_a_504(db: LocalPostgres,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    point_runtime_at(db, monkeypatch, "connect_timeout=5&sslmode=disable&statement_timeout=300")
    endpoint = DataEndpoint(HOSTILE_CATALOG)
    started = time.monotonic()
    status, _, payload = call(endpoint, "GET", "/data/sleep", "s=5")
    assert (status, payload["error"]["code"]) == (504, "query_timeout")
    assert time.monotonic() - started < 3
    assert call(endpoint, "GET", "/data/echo", "text=after")[2]["rows"] == [{"text": "after"}]


def test_a_lambda_deadline_cancels_the_query_on_the_server(db: LocalPostgres) -> None:
    endpoint = DataEndpoint(HOSTILE_CATALOG)
    context = types.SimpleNamespace(aws_request_id="req-t", get_remaining_time_in_millis=lambda: 1500)
    started = time.monotonic()
    response = endpoint(event("GET", "/data/sleep", "s=30"), context)
    assert time.monotonic() - started < 3  # 1.5 s left minus the 1 s margin
    assert response["statusCode"] == 504 and json.loads(response["body"])["error"]["code"] == "query_timeout"
    deadline = time.monotonic() + 5
    while active_sleeps(db) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert active_sleeps(db) == 0, "the server kept running the abandoned query"
    assert call(endpoint, "GET", "/data/echo", "text=next")[2]["rows"] == [{"text": "next"}]


def test_a_deadline_already_past_runs_nothing(db: LocalPostgres) -> None:
    with pytest.raises(connection.QueryTimeout):
        with_connection(lambda c: c.query("SELECT 1"), deadline=time.monotonic() - 1)


# ----------------------------------------------------------------------------- 9. replayed writes


def signed_write(endpoint: DataEndpoint, title: str, timestamp: int = int(NOW)) -> tuple[int, Any]:
    body = json.dumps({"title": title, "body": "x"})
    headers = sign_request(KEY, "POST", "/data/create_post", body=body, timestamp=timestamp)
    status, _, payload = call(endpoint, "POST", "/data/create_post", body=body, headers=headers)
    return status, payload


def test_a_replayed_signed_write_has_no_second_effect(db: LocalPostgres) -> None:
    endpoint = DataEndpoint(HOSTILE_CATALOG, signing_key=KEY, clock=lambda: NOW, bootstrap_schema=True)
    assert signed_write(endpoint, "once")[0] == 200
    status, payload = signed_write(endpoint, "once")
    assert (status, payload["error"]["code"]) == (409, "replayed_request")
    assert signed_write(endpoint, "twice", timestamp=int(NOW) + 2)[0] == 200
    assert titles(db) == ["once", "twice"]


def test_a_signed_write_the_database_rejects_can_be_sent_again(db: LocalPostgres) -> None:
    endpoint = DataEndpoint(HOSTILE_CATALOG, signing_key=KEY, clock=lambda: NOW, bootstrap_schema=True)
    assert signed_write(endpoint, "")[0] == 409  # CHECK: rolled back with its signature record
    admin = db.connect()
    try:
        assert admin.run("SELECT count(*) FROM dp_signed_writes")[0][0] == 0
    finally:
        admin.close()


# ----------------------------------------------------------------------------- fault proxy


@pytest.fixture
def proxied(db: LocalPostgres, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    with FaultProxy(db.host, db.port) as proxy:
        monkeypatch.setenv("DATABASE_PORT", str(proxy.port))
        monkeypatch.setenv("DATABASE_URL_PARAMS", "connect_timeout=2&sslmode=disable&socket_timeout=2")
        yield proxy


def test_reset_mid_reply_retries_a_read_and_never_a_write(proxied: FaultProxy, db: LocalPostgres) -> None:
    endpoint = DataEndpoint(HOSTILE_CATALOG, bootstrap_schema=True)
    assert call(endpoint, "POST", "/data/create_post", body={"title": "a", "body": "x"})[0] == 200
    proxied.fault = "reset"
    threading.Timer(0.3, lambda: setattr(proxied, "fault", None)).start()
    status, _, payload = call(endpoint, "POST", "/data/create_post", body={"title": "b", "body": "x"})
    assert (status, payload["error"]["code"]) == (503, "database_unavailable")
    time.sleep(0.4)
    status, _, payload = call(endpoint, "GET", "/data/recent_posts")
    assert status == 200
    assert [r["title"] for r in payload["rows"]] == titles(db)[::-1]  # exactly what the database holds
    assert titles(db) in (["a"], ["a", "b"])  # b applied at most once


def test_freeze_is_bounded_by_the_socket_timeout(proxied: FaultProxy, db: LocalPostgres) -> None:
    endpoint = DataEndpoint(HOSTILE_CATALOG, bootstrap_schema=True)
    assert call(endpoint, "GET", "/data/recent_posts")[0] == 200
    proxied.fault = "freeze"
    started = time.monotonic()
    status, _, payload = call(endpoint, "GET", "/data/recent_posts")
    elapsed = time.monotonic() - started
    # A 2 s socket timeout, then the retry's 2 s connect timeout (the proxy answers nothing).
    assert status == 503 and elapsed < 6, (status, elapsed)
    proxied.fault = None
    assert call(endpoint, "GET", "/data/echo", "text=thawed")[2]["rows"] == [{"text": "thawed"}]


def test_cut_after_commit_then_a_signed_retry_is_not_applied_twice(proxied: FaultProxy,
                                                                   db: LocalPostgres) -> None:
    endpoint = DataEndpoint(HOSTILE_CATALOG, signing_key=KEY, clock=lambda: NOW, bootstrap_schema=True)
    assert signed_write(endpoint, "warm-up", timestamp=int(NOW) - 1)[0] == 200
    # The write and its COMMIT reach the server; every reply after that is cut.
    original = connection.DatabaseConnection.query

    def cut_before_commit_reply(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        if sql == "COMMIT":
            proxied.fault = "cut"
        return original(self, sql, *args, **kwargs)

    connection.DatabaseConnection.query = cut_before_commit_reply  # type: ignore[method-assign]
    try:
        status, payload = signed_write(endpoint, "exactly once")
    finally:
        connection.DatabaseConnection.query = original  # type: ignore[method-assign]
        proxied.fault = None
    assert (status, payload["error"]["code"]) == (503, "database_unavailable")
    assert titles(db) == ["warm-up", "exactly once"]  # committed although the caller never heard
    status, payload = signed_write(endpoint, "exactly once")  # the caller retries the same request
    assert (status, payload["error"]["code"]) == (409, "replayed_request")
    assert titles(db) == ["warm-up", "exactly once"]


# ----------------------------------------------------------------------------- restart, crash, rotation


@pytest.fixture(scope="module")
def restartable() -> Iterator[LocalPostgres]:
    """A server of this module's own: restarting the session server would disturb other tests."""
    # Durable, unlike the session server: a crash must not lose a committed write.
    yield from _for_the_session(LocalPostgres(max_connections=20, settings={
        "fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}), PostgresNotInstalled)


def warm_pool(app: WebApp, connections: int) -> None:
    """Open ``connections`` pooled connections and return them idle."""
    held = [app.pool.acquire() for _ in range(connections)]
    for conn in held:
        app.pool.release(conn)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_web_app_pool_recovers_on_the_first_request_after_a_restart(restartable: LocalPostgres,
                                                                     mode: str) -> None:
    apps: list[WebApp] = []
    try:
        app = WebApp(app_settings(restartable, f"restart-{mode}", limit=3), restartable.password,
                     host="127.0.0.1", port=0)
        url = start(app, apps)
        warm_pool(app, 3)
        assert app.pool.stats()["idle"] == 3
        restartable.restart(mode=mode)
        status, body, _ = get(url + "/")
        assert status == 200, body  # not 503, 503, then 200
        assert app.pool.stats()["idle"] == 1
    finally:
        for app in apps:
            app.close()


def test_data_endpoint_after_a_crash_reads_again_and_loses_no_committed_write(
        restartable: LocalPostgres, monkeypatch: pytest.MonkeyPatch) -> None:
    point_runtime_at(restartable, monkeypatch)
    try:
        endpoint = DataEndpoint(HOSTILE_CATALOG, bootstrap_schema=True)
        conn = restartable.connect()
        conn.run("DROP TABLE IF EXISTS posts")
        conn.close()
        created = [call(endpoint, "POST", "/data/create_post", body={"title": f"t{i}", "body": "x"})[0]
                   for i in range(3)]
        assert created == [200, 200, 200]
        restartable.restart(mode="immediate")
        status, _, payload = call(endpoint, "GET", "/data/recent_posts")
        assert status == 200 and [r["title"] for r in payload["rows"]] == ["t2", "t1", "t0"]
        # A write on the connection the crash killed: never retried blind, but pinged first only
        # when stale; here the read above already replaced the connection.
        assert call(endpoint, "POST", "/data/create_post", body={"title": "t3", "body": "x"})[0] == 200
        assert titles(restartable) == ["t0", "t1", "t2", "t3"]
    finally:
        connection.close_connection()
        connection.set_password_provider(None)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_the_first_write_after_an_idle_restart_is_applied_once(restartable: LocalPostgres,
        monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    """No read in between: the write finds the server's goodbye on its idle socket and reconnects
    before sending, instead of answering 503 "may or may not have been applied"."""
    point_runtime_at(restartable, monkeypatch)
    try:
        endpoint = DataEndpoint(HOSTILE_CATALOG, bootstrap_schema=True)
        conn = restartable.connect()
        conn.run("DROP TABLE IF EXISTS posts")
        conn.close()
        assert call(endpoint, "POST", "/data/create_post", body={"title": "t0", "body": "x"})[0] == 200
        restartable.restart(mode=mode)
        status, body, _ = call(endpoint, "POST", "/data/create_post", body={"title": "t1", "body": "x"})
        assert status == 200, body
        assert titles(restartable) == ["t0", "t1"]
    finally:
        connection.close_connection()
        connection.set_password_provider(None)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_a_pooled_write_after_an_idle_restart_is_applied_once(restartable: LocalPostgres, mode: str) -> None:
    """The pool's warmest idle connection carries the server's goodbye: every idle one is dropped
    and the write goes out on a fresh connection, never on a socket the server already closed."""
    settings = app_settings(restartable, f"pooled-write-{mode}", limit=3)
    pool = ConnectionPool(lambda: connection.connect(settings, restartable.password), size=3, timeout_s=5)
    empty_sample_posts(restartable)
    try:
        held = [pool.acquire() for _ in range(3)]
        for conn in held:
            pool.release(conn)
        restartable.restart(mode=mode)
        with pool.connection() as conn:
            conn.query("INSERT INTO posts (title, body) VALUES (:t, 'x')", {"t": "after"})
        assert pool.stats()["open"] == 1
        assert titles(restartable) == ["after"]
    finally:
        pool.close()


def test_an_idle_connection_the_server_did_not_touch_is_not_pinged(restartable: LocalPostgres) -> None:
    conn = connection.connect(app_settings(restartable, "quiet", limit=1), restartable.password)
    try:
        conn.query("SELECT 1")
        assert not conn.peer_spoke()
        admin = restartable.admin()
        try:
            admin.run("SELECT pg_terminate_backend(:pid)", pid=conn.backend_pid)
        finally:
            admin.close()
        deadline = time.monotonic() + 5
        while not conn.peer_spoke() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert conn.peer_spoke()
    finally:
        conn.close()
    assert conn.peer_spoke()


def test_password_rotation_under_load_fails_no_request_beyond_one_retry(restartable: LocalPostgres) -> None:
    secret = {"password": restartable.password}
    connection.set_password_provider(lambda _settings: secret["password"])
    apps: list[WebApp] = []
    try:
        # ECS injected the password at task start; the secret ARN lets the task re-read it.
        settings = app_settings(restartable, "rotation", limit=3)
        settings = DatabaseSettings(**{**settings.__dict__, "secret_arn": "arn:aws:secretsmanager:test"})
        app = WebApp(settings, restartable.password, host="127.0.0.1", port=0)
        url = start(app, apps)
        statuses: list[int] = []
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                statuses.append(get(url + "/")[0])

        workers = [threading.Thread(target=load) for _ in range(4)]
        for w in workers:
            w.start()
        time.sleep(0.3)
        # Rotation: a new password in the server and the secret, then the old sessions end
        # (as when RDS restarts or the proxy recycles them).
        new_password = uuid.uuid4().hex
        admin = restartable.admin()
        try:
            admin.run(f"ALTER ROLE {restartable.user} PASSWORD '{new_password}'")
            secret["password"] = new_password
            admin.run(END_ROTATION_SESSIONS)
        finally:
            admin.close()
        rotated_at = len(statuses)
        time.sleep(1.0)
        stop.set()
        for w in workers:
            w.join()
        after = statuses[rotated_at:]
        assert after and after.count(200) >= len(after) - 4, after  # at most one failure per worker
        assert get(url + "/healthz")[0] == 200
        # The secret is wrong now (the role's password changed without it): the task says so on
        # /healthz, and the ALB replaces it.
        secret["password"] = "wrong"
        admin = restartable.admin()
        try:
            admin.run(f"ALTER ROLE {restartable.user} PASSWORD '{uuid.uuid4().hex}'")
            admin.run(END_ROTATION_SESSIONS)
        finally:
            admin.close()
        app.pool.drop_idle()
        assert get(url + "/")[0] == 503
        status, body, _ = get(url + "/healthz")
        assert (status, body["status"]) == (503, "credentials_rejected")
        admin = restartable.admin()
        try:
            admin.run(f"ALTER ROLE {restartable.user} PASSWORD '{new_password}'")
        finally:
            admin.close()
        secret["password"] = new_password
        assert get(url + "/")[0] == 200 and get(url + "/healthz")[0] == 200
    finally:
        for app in apps:
            app.close()
        admin = restartable.admin()
        try:
            admin.run(f"ALTER ROLE {restartable.user} PASSWORD '{restartable.password}'")
        finally:
            admin.close()
        connection.set_password_provider(None)


def test_too_many_connections_is_a_clean_503_and_the_next_request_after_succeeds(
        restartable: LocalPostgres, monkeypatch: pytest.MonkeyPatch) -> None:
    point_runtime_at(restartable, monkeypatch)
    endpoint = DataEndpoint(HOSTILE_CATALOG, bootstrap_schema=True)
    fillers: list[Any] = []
    try:
        empty_sample_posts(restartable)
        connection.close_connection()
        with pytest.raises(Exception, match="53300"):
            while len(fillers) < 100:
                fillers.append(restartable.connect())
        for method, path, body in (("GET", "/data/recent_posts", None),
                                   ("POST", "/data/create_post", {"title": "lost?", "body": "x"})):
            response = endpoint(event(method, path, body=body))
            payload = json.loads(response["body"])
            assert (response["statusCode"], payload["error"]["code"]) == (503, "database_unavailable")
            assert payload["error"]["message"] == "the database is out of connections; retry shortly"
            assert str(restartable.port) not in response["body"]
        for _ in range(2):  # one for the endpoint, one to look at the table
            fillers.pop().close()
        assert call(endpoint, "POST", "/data/create_post", body={"title": "after", "body": "x"})[0] == 200
        assert titles(restartable) == ["after"]  # the refused write left nothing behind
    finally:
        for conn in fillers:
            conn.close()
        connection.close_connection()
        connection.set_password_provider(None)

"""The data endpoint Lambda against a real PostgreSQL: routing, binding, caching headers, errors, signing."""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import sys
import time
import types
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from deploy_paradigms.catalog import NamedQuery, QueryCatalog, QueryParam, sample_catalog
from deploy_paradigms.runtime import connection, data_endpoint
from deploy_paradigms.runtime.data_endpoint import (
    DataEndpoint,
    SecretKey,
    canonical_request,
    jsonable,
    sign_request,
    sorted_query,
)
from deploy_paradigms.runtime.settings import DatabaseSettings
from tests.conftest import point_runtime_at
from tests.support.local_postgres import LocalPostgres, empty_sample_posts, free_port

pytestmark = pytest.mark.postgres

NOW = 1_800_000_000.0
INJECTION = "x'); DROP TABLE posts; --"


def event(method: str, path: str, query: str = "", body: Any = None, headers: Mapping[str, str] | None = None,
          *, b64: bool = False) -> dict[str, Any]:
    raw_body = body if isinstance(body, str | None) else json.dumps(body)
    if b64 and raw_body is not None:
        raw_body = base64.b64encode(raw_body.encode()).decode()
    return {
        "version": "2.0", "rawPath": path, "rawQueryString": query, "headers": dict(headers or {}),
        "requestContext": {"http": {"method": method, "path": path}},
        "body": raw_body, "isBase64Encoded": b64,
    }


Result = tuple[int, dict[str, str], Any]


def call(endpoint: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> Result:
    response = endpoint(event(*args, **kwargs))
    body = json.loads(response["body"]) if response["body"] else None
    return response["statusCode"], response["headers"], body


@pytest.fixture
def db(postgres_server: LocalPostgres, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalPostgres]:
    """Runtime env pointed at the session server, with an empty posts table."""
    point_runtime_at(postgres_server, monkeypatch)
    empty_sample_posts(postgres_server)
    yield postgres_server
    connection.close_connection()
    connection.set_password_provider(None)
    connection.reset_aws_clients()
    data_endpoint.reset()


@pytest.fixture
def endpoint(db: LocalPostgres) -> DataEndpoint:
    return DataEndpoint(sample_catalog(), bootstrap_schema=True)


def create(endpoint: DataEndpoint, title: str, body: str = "b") -> dict[str, Any]:
    status, _, payload = call(endpoint, "POST", "/data/create_post", body={"title": title, "body": body})
    assert status == 200, payload
    return dict(payload["rows"][0])


def post_count(server: LocalPostgres) -> int:
    conn = server.connect()
    try:
        return int(conn.run("SELECT count(*) FROM posts")[0][0])
    finally:
        conn.close()


# ----------------------------------------------------------------------------- happy paths


def test_named_writes_and_reads(endpoint: DataEndpoint) -> None:
    ids = [create(endpoint, f"post {i}")["id"] for i in range(3)]
    assert ids == [1, 2, 3]

    status, headers, payload = call(endpoint, "GET", "/data/recent_posts", "limit=2")
    assert status == 200 and headers["content-type"] == "application/json; charset=utf-8"
    assert headers["cache-control"] == "public, max-age=60, stale-while-revalidate=300"
    assert payload["query"] == "recent_posts" and payload["columns"] == ["id", "title", "body", "created_at"]
    assert [r["title"] for r in payload["rows"]] == ["post 2", "post 1"] and payload["row_count"] == 2
    datetime.datetime.fromisoformat(payload["rows"][0]["created_at"])  # ISO 8601

    status, headers, payload = call(endpoint, "GET", "/data/post_by_id", "id=2")
    assert status == 200 and payload["rows"][0]["title"] == "post 1"
    assert headers["cache-control"] == "public, max-age=60, stale-while-revalidate=300"
    assert call(endpoint, "GET", "/data/post_by_id", "id=99")[2]["rows"] == []


def test_write_responses_are_never_cached(endpoint: DataEndpoint) -> None:
    status, headers, payload = call(endpoint, "POST", "/data/create_post", body={"title": "t", "body": "b"})
    assert status == 200 and headers["cache-control"] == "no-store" and payload["row_count"] == 1


def test_optional_parameter_default_and_head(endpoint: DataEndpoint) -> None:
    for i in range(12):
        create(endpoint, f"p{i}")
    assert len(call(endpoint, "GET", "/data/recent_posts")[2]["rows"]) == 10  # default limit
    response = endpoint(event("HEAD", "/data/recent_posts", "limit=1"))
    assert response["statusCode"] == 200 and response["body"] == ""
    assert response["headers"]["cache-control"].startswith("public, max-age=60")


def test_base64_body_and_trailing_slash(endpoint: DataEndpoint) -> None:
    status, _, payload = call(endpoint, "POST", "/data/create_post/", body={"title": "b64", "body": "x"},
                              b64=True)
    assert status == 200 and payload["rows"][0]["title"] == "b64"


def test_schema_is_bootstrapped_once_per_environment(db: LocalPostgres) -> None:
    catalog = QueryCatalog(
        (NamedQuery("create_tag", "INSERT INTO dp_tags (name) VALUES (:name) RETURNING name",
                    (QueryParam("name", "str", max_length=20),), mode="write"),
         NamedQuery("tags", "SELECT name FROM dp_tags ORDER BY name")),
        schema=("CREATE TABLE IF NOT EXISTS dp_tags (name text PRIMARY KEY)",))
    conn = db.connect()
    conn.run("DROP TABLE IF EXISTS dp_tags")
    conn.close()
    endpoint = DataEndpoint(catalog, bootstrap_schema=True)
    assert call(endpoint, "POST", "/data/create_tag", body={"name": "a"})[0] == 200
    # A unique violation is a conflict, not a server error.
    status, _, payload = call(endpoint, "POST", "/data/create_tag", body={"name": "a"})
    assert status == 409 and payload["error"]["code"] == "conflict"
    assert call(endpoint, "GET", "/data/tags")[2]["rows"] == [{"name": "a"}]


def test_a_dead_connection_is_replaced_for_reads(endpoint: DataEndpoint, db: LocalPostgres) -> None:
    create(endpoint, "survives")
    admin = db.admin()
    admin.run("SELECT pg_terminate_backend(:p)", p=connection.get_connection().backend_pid)
    admin.close()
    status, _, payload = call(endpoint, "GET", "/data/recent_posts", "limit=1")
    assert status == 200 and payload["rows"][0]["title"] == "survives"


# ----------------------------------------------------------------------------- error paths


def assert_error(result: Result, status: int, code: str, contains: str = "") -> None:
    got_status, headers, payload = result
    assert (got_status, payload["error"]["code"]) == (status, code), payload
    assert contains in payload["error"]["message"]
    assert headers["cache-control"] == "no-store"


def test_unknown_query_and_route_are_404(endpoint: DataEndpoint) -> None:
    assert_error(call(endpoint, "GET", "/data/drop_everything"), 404, "unknown_query", "drop_everything")
    assert_error(call(endpoint, "GET", "/admin"), 404, "not_found")
    assert_error(call(endpoint, "GET", "/data/recent_posts/extra"), 404, "not_found")


def test_wrong_method_is_405_with_allow(endpoint: DataEndpoint) -> None:
    result = call(endpoint, "POST", "/data/recent_posts", body={})
    assert_error(result, 405, "method_not_allowed", "use GET")
    assert result[1]["allow"] == "GET, HEAD"
    result = call(endpoint, "GET", "/data/create_post", "title=a&body=b")
    assert_error(result, 405, "method_not_allowed", "use POST")
    assert result[1]["allow"] == "POST"
    assert_error(call(endpoint, "DELETE", "/data/post_by_id", "id=1"), 405, "method_not_allowed")


@pytest.mark.parametrize(("args", "code", "contains"), [
    (("GET", "/data/post_by_id"), "missing_parameter", "'id'"),
    (("GET", "/data/post_by_id", "id=abc"), "invalid_parameter", "whole number"),
    (("GET", "/data/post_by_id", "id=1&debug=1"), "unexpected_parameter", "debug"),
    (("GET", "/data/post_by_id", "id=1&id=2"), "duplicate_parameter", "'id'"),
    (("GET", "/data/post_by_id", "id=0"), "invalid_parameter", "below the minimum"),
    (("GET", "/data/recent_posts", "limit=101"), "invalid_parameter", "above the maximum"),
    (("GET", "/data/recent_posts", "limit="), "invalid_parameter", "'limit'"),
    (("POST", "/data/create_post", "", "not json"), "invalid_body", "JSON object"),
    (("POST", "/data/create_post", "", [1, 2]), "invalid_body", "JSON object"),
    (("POST", "/data/create_post", "title=a", {"title": "a", "body": "b"}), "unexpected_parameter",
     "JSON body"),
    (("POST", "/data/create_post", "", {"title": "a"}), "missing_parameter", "'body'"),
    (("POST", "/data/create_post", "", {"title": "x" * 201, "body": "b"}), "invalid_parameter", "200"),
    (("POST", "/data/create_post", "", {"title": 5, "body": "b"}), "invalid_parameter", "string"),
    (("POST", "/data/create_post", "", {"title": "a\u0000", "body": "b"}), "invalid_parameter", "NUL"),
])
def test_bad_parameters_are_400(endpoint: DataEndpoint, args: tuple[Any, ...], code: str,
                                contains: str) -> None:
    assert_error(call(endpoint, *args), 400, code, contains)


def test_constraint_violation_is_409(endpoint: DataEndpoint) -> None:
    # The CHECK constraint requires a non-empty title: the value passes the catalog, not the table.
    result = call(endpoint, "POST", "/data/create_post", body={"title": "", "body": "b"})
    assert_error(result, 409, "conflict")


def test_database_unavailable_is_503_with_details_only_in_the_log(
        db: LocalPostgres, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    unreachable = DatabaseSettings(host="127.0.0.1", port=port, name="x", user="dp_secret_user",
                                   url_params=(("connect_timeout", "2"), ("sslmode", "disable")))
    endpoint = DataEndpoint(sample_catalog(), settings=unreachable)
    result = call(endpoint, "GET", "/data/recent_posts")
    assert_error(result, 503, "database_unavailable", "the database is unavailable")
    assert result[1]["retry-after"] == "1"
    text = json.dumps(result[2])
    assert str(port) not in text and "127.0.0.1" not in text and "dp_secret_user" not in text
    request_id = result[2]["error"]["request_id"]
    assert any(request_id in r.getMessage() for r in caplog.records)
    assert f"127.0.0.1:{port}" in caplog.text


def test_response_over_the_size_limit_is_413_with_advice(db: LocalPostgres) -> None:
    endpoint = DataEndpoint(sample_catalog(), max_response_bytes=700)
    for i in range(5):
        create(endpoint, f"long post {i}", "y" * 100)
    assert call(endpoint, "GET", "/data/recent_posts", "limit=1")[0] == 200
    result = call(endpoint, "GET", "/data/recent_posts", "limit=5")
    assert_error(result, 413, "response_too_large", "LIMIT")
    assert "700-byte limit" in result[2]["error"]["message"]
    with pytest.raises(ValueError, match="Lambda response limit"):
        DataEndpoint(sample_catalog(), max_response_bytes=7 * 1024 * 1024)


# ----------------------------------------------------------------------------- SQL injection


def test_injection_in_parameters_changes_nothing(endpoint: DataEndpoint, db: LocalPostgres) -> None:
    create(endpoint, "first")
    stored = create(endpoint, INJECTION, "'; DELETE FROM posts; --")
    assert stored["title"] == INJECTION  # bound literally, stored verbatim
    for query in ("id=1%20OR%201=1", "id=1;DROP%20TABLE%20posts", "id=1)%20--"):
        assert call(endpoint, "GET", "/data/post_by_id", query)[0] == 400
    assert call(endpoint, "GET", "/data/recent_posts", "limit=1;DELETE%20FROM%20posts")[0] == 400

    catalog = QueryCatalog((NamedQuery("by_title", "SELECT id, title FROM posts WHERE title = :title",
                                       (QueryParam("title", "str"),)),))
    by_title = DataEndpoint(catalog)
    assert call(by_title, "GET", "/data/by_title", "title=%27%20OR%20%271%27%3D%271")[2]["rows"] == []
    found = call(by_title, "GET", "/data/by_title", sorted_query({"title": INJECTION}))[2]["rows"]
    assert found == [{"id": stored["id"], "title": INJECTION}]
    assert post_count(db) == 2  # the table is intact


# ----------------------------------------------------------------------------- signing


def signed(endpoint: DataEndpoint, key: str, method: str, path: str, query: str = "", body: Any = None,
           **sign_kw: Any) -> Result:
    raw = "" if body is None else json.dumps(body)
    headers = sign_request(key, method, path, query=sign_kw.pop("sign_query", query), body=raw,
                           timestamp=sign_kw.pop("timestamp", int(NOW)))
    headers = {k.title(): v for k, v in headers.items()}  # header case must not matter
    return call(endpoint, method, path, query, raw or None, headers)


def test_signed_requests_are_accepted(db: LocalPostgres) -> None:
    endpoint = DataEndpoint(sample_catalog(), signing_key="k3y", clock=lambda: NOW + 100)
    assert endpoint.signing_enabled
    result = signed(endpoint, "k3y", "POST", "/data/create_post", body={"title": "signed", "body": "b"})
    assert result[0] == 200
    # The caller may order and encode its query string differently: the canonical form is sorted.
    status, _, payload = signed(endpoint, "k3y", "GET", "/data/recent_posts", "limit=1",
                                sign_query={"limit": "1"})
    assert status == 200 and payload["rows"][0]["title"] == "signed"


def test_bad_or_missing_signatures_are_401(db: LocalPostgres) -> None:
    endpoint = DataEndpoint(sample_catalog(), signing_key="k3y", clock=lambda: NOW)
    assert_error(call(endpoint, "GET", "/data/recent_posts"), 401, "missing_signature", "x-dp-signature")
    assert_error(signed(endpoint, "wrong", "GET", "/data/recent_posts", "limit=1"), 401, "bad_signature")
    assert_error(signed(endpoint, "k3y", "GET", "/data/recent_posts", "limit=2", sign_query="limit=1"),
                 401, "bad_signature")
    assert_error(signed(endpoint, "k3y", "POST", "/data/create_post", body={"title": "a", "body": "b"},
                        timestamp=int(NOW) - 301), 401, "stale_signature", "clock")
    # Unsigned callers learn nothing about the catalog, and the database is never touched.
    assert_error(call(endpoint, "GET", "/data/no_such_query"), 401, "missing_signature")
    assert post_count(db) == 0


def test_signing_key_is_fetched_once_from_secrets_manager(db: LocalPostgres, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    calls: list[str] = []

    class SecretsManager:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:  # boto3 casing
            calls.append(SecretId)
            return {"SecretString": json.dumps({"key": "from-secret"})}

    boto3 = types.ModuleType("boto3")
    boto3.client = lambda service, **kw: SecretsManager()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "boto3", boto3)
    monkeypatch.setenv(connection.AWS_SDK_ENV, "boto3")
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(sample_catalog().to_json())
    monkeypatch.setattr(data_endpoint, "CATALOG_PATH", catalog_path)
    monkeypatch.setenv(data_endpoint.ENV_HMAC_SECRET_ARN, "arn:aws:secretsmanager:us-east-1:1:secret:hmac")
    monkeypatch.setenv(data_endpoint.ENV_BOOTSTRAP_SCHEMA, "true")
    now = int(time.time())
    for _ in range(3):
        headers = sign_request("from-secret", "GET", "/data/recent_posts", query="limit=1", timestamp=now)
        response = data_endpoint.handler(event("GET", "/data/recent_posts", "limit=1", None, headers), None)
        assert response["statusCode"] == 200, response
    assert calls == ["arn:aws:secretsmanager:us-east-1:1:secret:hmac"]


def test_signing_key_failure_is_503(db: LocalPostgres) -> None:
    def broken() -> bytes:
        raise RuntimeError("Secrets Manager unreachable")

    endpoint = DataEndpoint(sample_catalog(), signing_key=broken, clock=lambda: NOW)
    result = signed(endpoint, "k", "GET", "/data/recent_posts")
    assert_error(result, 503, "signing_key_unavailable")


def test_sign_request_algorithm() -> None:
    headers = sign_request("key", "post", "/data/create_post", body='{"a":1}', timestamp=1700000000)
    canonical = b'POST\n/data/create_post\n\n{"a":1}\n1700000000'
    assert canonical_request("post", "/data/create_post", "", '{"a":1}', 1700000000) == canonical
    import hashlib
    import hmac

    assert headers["x-dp-signature"] == hmac.new(b"key", canonical, hashlib.sha256).hexdigest()
    assert headers["x-dp-timestamp"] == "1700000000"
    assert headers["x-amz-content-sha256"] == hashlib.sha256(b'{"a":1}').hexdigest()
    assert "x-amz-content-sha256" not in sign_request("key", "GET", "/data/x", query="b=2&a=1")
    pairs = [("s", "a b"), ("a", "1"), ("b", "2"), ("a", "0")]
    assert sorted_query("b=2&a=1&a=0&s=a%20b") == sorted_query(pairs) == "a=0&a=1&b=2&s=a%20b"
    assert sorted_query({"s": "a b+c"}) == "s=a%20b%2Bc"


def test_secret_key_accepts_a_raw_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_endpoint, "read_secret", lambda arn: "plain-key")
    assert SecretKey("arn")() == b"plain-key"


# ----------------------------------------------------------------------------- configuration and JSON


def test_from_env_and_missing_catalog(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(sample_catalog().to_json())
    endpoint = DataEndpoint.from_env({data_endpoint.ENV_CATALOG_PATH: str(path),
                                      data_endpoint.ENV_MAX_RESPONSE_BYTES: "2048",
                                      data_endpoint.ENV_BOOTSTRAP_SCHEMA: "true"})
    assert endpoint.max_response_bytes == 2048 and endpoint.bootstrap_schema and not endpoint.signing_enabled
    assert endpoint.catalog == sample_catalog()
    with pytest.raises(FileNotFoundError, match="lambda_bundle\\('data_endpoint'"):
        DataEndpoint.from_env({data_endpoint.ENV_CATALOG_PATH: str(tmp_path / "missing.json")})


def test_jsonable_values() -> None:
    when = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)
    ident = uuid.UUID(int=1)
    assert jsonable([decimal.Decimal("12.30"), when, datetime.date(2024, 5, 1), b"\x00\x01", float("nan"),
                     datetime.timedelta(minutes=1), ident, {"k": (1, 2)}, None, True]) == [
        "12.30", "2024-05-01T12:00:00+00:00", "2024-05-01", "AAE=", "nan", 60.0, str(ident),
        {"k": [1, 2]}, None, True]

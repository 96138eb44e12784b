"""The data endpoint: named queries over HTTP for code that cannot hold a connection.

Handler string: ``deploy_paradigms.runtime.data_endpoint.handler`` (Lambda
function URL, payload format 2.0; API Gateway HTTP APIs send the same shape).

Routes::

    GET  /data/<query>?param=value...   read queries (HEAD too); cacheable
    POST /data/<query>   {"param": value, ...}   write queries; never cached

Only queries in the catalog (``catalog.json`` next to this module, see
:mod:`deploy_paradigms.catalog`) run. Values are coerced to the declared types
and bound as parameters, never interpolated into SQL. Successful reads carry
the query's ``Cache-Control`` (e.g. ``public, max-age=60,
stale-while-revalidate=300``) so CloudFront answers repeats without touching
the database. Responses::

    200 {"query": "recent_posts", "columns": [...], "rows": [{...}], "row_count": n}
    4xx/5xx {"error": {"code": "...", "message": "..."}}

400 bad, missing, extra or duplicated parameter, text that is not valid
Unicode, a body that is not a JSON object (or nests too deeply), or a value the
database rejects; 401 bad or missing signature; 404 unknown query; 405 wrong
method (with ``Allow``); 409 constraint violation, or a signed write replayed;
413 more than ``DATA_ENDPOINT_MAX_ROWS`` rows (default 1,000; the database stops
sending after one more) or a serialised Lambda response larger than
``DATA_ENDPOINT_MAX_RESPONSE_BYTES`` (default 1 MB); 500 anything unexpected;
503 database unavailable; 504 the query outlived the invocation's remaining
time (it is cancelled on the server). Error bodies carry a ``request_id`` and a
bounded message, never a host, port, user, ARN, SQL or driver text: details go
to the function's logs under the same request id. Rows are JSON: timestamps and
dates as ISO 8601, numerics as strings (exact), bytes as base64, intervals as
seconds.

Schema bootstrap: with ``DATA_ENDPOINT_BOOTSTRAP_SCHEMA=true`` the endpoint runs
the catalog's ``schema`` statements (``CREATE ... IF NOT EXISTS``) once per
execution environment before its first query. The Edge example uses this for
its ``posts`` table; real applications should run migrations instead.

Cache tags: a read whose catalog entry declares ``cache_tags`` answers with
them in ``x-dp-cache-tags`` (comma-separated; the distribution's
``CacheTagConfig`` names that header). A response that would carry more than 50
tags, or whose ``{row.column}`` names a missing column, is answered
``no-store`` instead (never cached, never stale). After a write that declares
``invalidates`` commits, the endpoint invalidates the rendered tags at its
distribution before answering (see :mod:`.invalidation`) and reports the
outcome in ``x-dp-invalidation`` (the invalidation id, or ``failed``).

Request signing (optional) for callers outside AWS, e.g. Cloudflare Workers or
Vercel functions: set ``DATA_ENDPOINT_HMAC_SECRET_ARN`` to a Secrets Manager
secret holding the key (the SecretString itself, or JSON ``{"key": "..."}``);
the key is fetched once per execution environment. Every request must then
carry::

    x-dp-timestamp: <unix seconds, within 300 s of the endpoint's clock>
    x-dp-signature: hex(HMAC-SHA256(key, canonical))

    canonical = METHOD "\\n" PATH "\\n" SORTED_QUERY "\\n" BODY "\\n" TIMESTAMP

METHOD is upper case; PATH the request path as sent (``/data/recent_posts``);
SORTED_QUERY the query parameters decoded, sorted by name then value and
re-encoded as ``k=v&k=v`` with RFC 3986 percent-encoding (space = ``%20``);
BODY the exact body bytes (empty for GET). Use :func:`sign_request`, or port
its 15 lines. A signature covers one request for 300 s. A signed *write* runs
at most once: its signature is recorded in the table ``dp_signed_writes`` in
the same transaction as the write (created on first use; expired rows are
pruned), so a replay inside the window answers 409 ``replayed_request`` and
changes nothing; sign each new write with a fresh timestamp. When CloudFront sits in front,
cached reads are answered without reaching the endpoint: signing protects the
origin (cache misses and all writes), and reads are public by design.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from deploy_paradigms.catalog import (
    CACHE_TAG_HEADER,
    MAX_TAGS_PER_RESPONSE,
    NamedQuery,
    ParameterError,
    QueryCatalog,
)

from .connection import (
    DatabaseConnection,
    DatabaseUnavailable,
    QueryResult,
    QueryTimeout,
    describe_error,
    read_secret,
    sqlstate,
    with_connection,
)
from .errors import clip, lambda_deadline, request_id_of
from .invalidation import Invalidator
from .settings import DatabaseSettings

logger = logging.getLogger(__name__)

#: The catalog baked into the asset by deploy_paradigms.packaging.
CATALOG_PATH = Path(__file__).with_name("catalog.json")
ENV_CATALOG_PATH = "DATA_ENDPOINT_CATALOG_PATH"
ENV_HMAC_SECRET_ARN = "DATA_ENDPOINT_HMAC_SECRET_ARN"
ENV_MAX_RESPONSE_BYTES = "DATA_ENDPOINT_MAX_RESPONSE_BYTES"
ENV_BOOTSTRAP_SCHEMA = "DATA_ENDPOINT_BOOTSTRAP_SCHEMA"
ENV_MAX_ROWS = "DATA_ENDPOINT_MAX_ROWS"
#: Rows a query may return; the database stops after one more, so a runaway
#: result never reaches the function's memory.
DEFAULT_MAX_ROWS = 1000
#: Well under the 6 MB synchronous Lambda response quota, and a page size a
#: CDN caches happily; larger results should be paged with a LIMIT parameter.
DEFAULT_MAX_RESPONSE_BYTES = 1_000_000
# Lambda quotas (Lambda developer guide): 6 MB synchronous response payload.
LAMBDA_RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024
PATH_PREFIX = "/data/"
SIGNATURE_HEADER = "x-dp-signature"
TIMESTAMP_HEADER = "x-dp-timestamp"
CONTENT_SHA256_HEADER = "x-amz-content-sha256"
INVALIDATION_HEADER = "x-dp-invalidation"
MAX_CLOCK_SKEW_S = 300
#: Where signed writes are recorded (at most once per signature).
REPLAY_TABLE = "dp_signed_writes"
_REPLAY_SCHEMA = (f"CREATE TABLE IF NOT EXISTS {REPLAY_TABLE} "
                  f"(signature CHAR(64) PRIMARY KEY, expires_at BIGINT NOT NULL)")
_PRUNE_EVERY = 50  # writes between deletions of expired signatures
#: The longest error message a response carries (a hostile request must not grow the answer).
MAX_ERROR_MESSAGE_CHARS = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: "²".isdigit() is True

_QUERY_SEGMENT = re.compile(r"^/data/([^/]+)/?$")
_JSON_TYPE = "application/json; charset=utf-8"


# --------------------------------------------------------------------------- signing


def sorted_query(query: str | Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """The canonical query string: decoded pairs sorted by (name, value), RFC 3986-encoded."""
    if isinstance(query, str):
        pairs = parse_qsl(query, keep_blank_values=True)
    elif isinstance(query, Mapping):
        pairs = [(str(k), str(v)) for k, v in query.items()]
    else:
        pairs = [(str(k), str(v)) for k, v in query]
    return urlencode(sorted(pairs), quote_via=quote, safe="-_.~")


def canonical_request(method: str, path: str, query: str | Mapping[str, str] | Iterable[tuple[str, str]],
                      body: bytes | str, timestamp: int | str) -> bytes:
    """``METHOD\\nPATH\\nSORTED_QUERY\\nBODY\\nTIMESTAMP`` as bytes (see the module docstring)."""
    body_bytes = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    head = f"{method.upper()}\n{path}\n{sorted_query(query)}\n".encode()
    return head + body_bytes + f"\n{timestamp}".encode()


def signature(key: bytes | str, canonical: bytes) -> str:
    """Hex HMAC-SHA256 of ``canonical``."""
    key_bytes = key.encode("utf-8") if isinstance(key, str) else key
    return hmac.new(key_bytes, canonical, hashlib.sha256).hexdigest()


def sign_request(key: bytes | str, method: str, path: str, *,
                 query: str | Mapping[str, str] | Iterable[tuple[str, str]] = "",
                 body: bytes | str = b"", timestamp: int | None = None) -> dict[str, str]:
    """Headers a caller adds to sign a request to the data endpoint.

    ``sign_request(key, "GET", "/data/recent_posts", query={"limit": "5"})``.
    For requests with a body the result also holds ``x-amz-content-sha256``,
    which CloudFront origin access control needs to forward a POST to a
    function URL.
    """
    ts = int(time.time()) if timestamp is None else int(timestamp)
    headers = {
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: signature(key, canonical_request(method, path, query, body, ts)),
    }
    body_bytes = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if body_bytes or method.upper() not in ("GET", "HEAD"):
        headers[CONTENT_SHA256_HEADER] = hashlib.sha256(body_bytes).hexdigest()
    return headers


class SecretKey:
    """A signing key read from Secrets Manager on first use, then kept for the environment's life."""

    def __init__(self, secret_arn: str) -> None:
        self.secret_arn = secret_arn
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        with self._lock:
            if self._key is None:
                raw = read_secret(self.secret_arn)
                try:
                    data = json.loads(raw)
                except ValueError:
                    data = None
                if isinstance(data, dict) and isinstance(data.get("key"), str):
                    raw = data["key"]
                if not raw:
                    raise ValueError(f"secret {self.secret_arn} holds an empty signing key")
                self._key = raw.encode("utf-8")
            return self._key


# --------------------------------------------------------------------------- responses


class HttpError(Exception):
    """An error response: status, machine-readable code, message for the caller."""

    def __init__(self, status: int, code: str, message: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def _response(status: int, body: bytes, *, cache_control: str = "no-store",
              headers: Mapping[str, str] | None = None, head: bool = False) -> dict[str, Any]:
    out_headers = {"content-type": _JSON_TYPE, "cache-control": cache_control}
    out_headers.update(headers or {})
    return {
        "statusCode": status,
        "headers": out_headers,
        "body": "" if head else body.decode("utf-8"),
        "isBase64Encoded": False,
    }


def error_response(error: HttpError, request_id: str | None = None) -> dict[str, Any]:
    """The JSON error body: code, a message clipped to :data:`MAX_ERROR_MESSAGE_CHARS`, request id."""
    fields = {"code": error.code, "message": clip(error.message, MAX_ERROR_MESSAGE_CHARS)}
    if request_id:
        fields["request_id"] = request_id
    body = json.dumps({"error": fields}, sort_keys=True)
    return _response(error.status, body.encode("utf-8"), headers=error.headers)


def jsonable(value: Any) -> Any:
    """A database value as JSON: exact numerics as strings, times as ISO 8601, bytes as base64."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # JSON has no NaN/Infinity
    if isinstance(value, decimal.Decimal):
        return str(value)  # a float would round numeric(…) values
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address
                  | ipaddress.IPv4Network | ipaddress.IPv6Network | ipaddress.IPv4Interface
                  | ipaddress.IPv6Interface):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)  # ranges, enums and other driver types


# --------------------------------------------------------------------------- endpoint


class DataEndpoint:
    """Serves one catalog. ``DataEndpoint(catalog)(event)`` -> function URL response."""

    def __init__(
        self,
        catalog: QueryCatalog,
        *,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_rows: int = DEFAULT_MAX_ROWS,
        signing_key: bytes | str | Callable[[], bytes] | None = None,
        bootstrap_schema: bool = False,
        settings: DatabaseSettings | None = None,
        clock: Callable[[], float] = time.time,
        invalidator: Invalidator | None = None,
    ) -> None:
        if not 1 <= max_response_bytes <= LAMBDA_RESPONSE_LIMIT_BYTES:
            raise ValueError(f"max_response_bytes={max_response_bytes} must be between 1 and "
                             f"{LAMBDA_RESPONSE_LIMIT_BYTES} (the Lambda response limit)")
        if max_rows < 1:
            raise ValueError(f"max_rows={max_rows} must be at least 1")
        self.catalog = catalog
        self.max_response_bytes = max_response_bytes
        self.max_rows = max_rows
        self._replay_table_ready = False
        self._writes = 0
        if isinstance(signing_key, str | bytes):
            fixed = signing_key.encode("utf-8") if isinstance(signing_key, str) else signing_key
            self._signing_key: Callable[[], bytes] | None = lambda: fixed
        else:
            self._signing_key = signing_key
        self.bootstrap_schema = bootstrap_schema and bool(catalog.schema)
        self._bootstrapped = False
        self.settings = settings
        self.clock = clock
        #: Sends a write's invalidation; None leaves cached reads to expire by TTL.
        self.invalidator = invalidator
        if invalidator is None and any(q.invalidates for q in catalog):
            logger.warning("the catalog's writes declare invalidations but no distribution is configured "
                           "(DATA_ENDPOINT_DISTRIBUTION_ID[_PARAMETER]); cached reads expire by TTL only")

    @property
    def signing_enabled(self) -> bool:
        return self._signing_key is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 catalog_path: str | Path | None = None) -> DataEndpoint:
        """Configure from the environment the constructs set (see the module docstring)."""
        env = os.environ if environ is None else environ
        catalog = load_catalog(catalog_path or env.get(ENV_CATALOG_PATH) or None)
        secret_arn = env.get(ENV_HMAC_SECRET_ARN)
        max_bytes = _whole_number(env, ENV_MAX_RESPONSE_BYTES, DEFAULT_MAX_RESPONSE_BYTES, "bytes")
        max_rows = _whole_number(env, ENV_MAX_ROWS, DEFAULT_MAX_ROWS, "rows")
        return cls(catalog, max_response_bytes=max_bytes, max_rows=max_rows,
                   signing_key=SecretKey(secret_arn) if secret_arn else None,
                   bootstrap_schema=env.get(ENV_BOOTSTRAP_SCHEMA, "").lower() == "true",
                   invalidator=Invalidator.from_env(env))

    def __call__(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        return self.handle(event, context)

    def handle(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        """Answer one function URL event; never raises (the last resort is a generic 500)."""
        request_id = request_id_of(event, context)
        try:
            return self._handle(event, lambda_deadline(context))
        except HttpError as exc:
            if exc.status >= 500:
                logger.error("request %s: %s %s: %s", request_id, exc.status, exc.code, exc.message)
            return error_response(exc, request_id)
        except Exception:  # last resort: details in the log, a generic answer to the caller
            logger.exception("request %s failed", request_id)
            return error_response(HttpError(500, "internal_error",
                                            "the request failed; see the endpoint's logs"), request_id)

    # ------------------------------------------------------------------ steps

    def _handle(self, event: Mapping[str, Any], deadline: float | None = None) -> dict[str, Any]:
        http = (event.get("requestContext") or {}).get("http") or {}
        method = str(http.get("method") or event.get("httpMethod") or "GET").upper()
        path = str(event.get("rawPath") or http.get("path") or "/")
        raw_query = str(event.get("rawQueryString") or "")
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        body = self._body(event)

        signed_by: str | None = None
        if self._signing_key is not None:
            signed_by = self._verify_signature(method, path, raw_query, body, headers)

        match = _QUERY_SEGMENT.match(path)
        if match is None:
            raise HttpError(404, "not_found", f"no route for {path!r}; use {PATH_PREFIX}<query>")
        query = self.catalog.get(match.group(1))
        if query is None:
            raise HttpError(404, "unknown_query", f"there is no query named {match.group(1)!r}")
        allowed = ("GET", "HEAD") if query.mode == "read" else ("POST",)
        if method not in allowed:
            raise HttpError(405, "method_not_allowed",
                            f"query {query.name!r} is a {query.mode}; use {query.method}",
                            headers={"allow": ", ".join(allowed)})

        if query.mode == "read":
            raw_params = self._read_params(raw_query)
        else:
            raw_params = self._write_params(raw_query, body)
        try:
            params = query.bind(raw_params)
        except ParameterError as exc:
            raise HttpError(400, exc.code, str(exc)) from None

        result = self._execute(query, params, deadline=deadline,
                               replay_key=signed_by if query.mode == "write" else None)
        return self._success(query, params, result, head=method == "HEAD")

    def _success(self, query: NamedQuery, params: Mapping[str, Any], result: QueryResult, *,
                 head: bool) -> dict[str, Any]:
        """The 200 response, or 413 when the rows or the serialised response exceed the caps."""
        if query.mode == "read" and len(result.rows) > self.max_rows:
            raise HttpError(
                413, "too_many_rows",
                f"query {query.name!r} returned more than {self.max_rows} rows; ask for fewer (add or "
                f"lower a LIMIT parameter and page through results) or raise {ENV_MAX_ROWS}")
        # A write has happened by now: refusing its answer for size would only hide that,
        # so writes are held to Lambda's own limit alone.
        limit = self.max_response_bytes if query.mode == "read" else LAMBDA_RESPONSE_LIMIT_BYTES
        rows: list[dict[str, Any]] = []
        size = 0
        for row in result.rows:  # stop serialising as soon as the body cannot fit
            item = {c: jsonable(v) for c, v in zip(result.columns, row, strict=False)}
            size += len(json.dumps(item, ensure_ascii=False)) + 1
            if size > limit:
                raise self._too_large(query, limit)
            rows.append(item)
        payload = {
            "query": query.name,
            "columns": list(result.columns),
            "rows": rows,
            "row_count": len(rows) if result.columns else max(result.row_count, 0),
        }
        encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        extra, cache_control = self._cache_tags(query, params, rows)
        response = _response(200, encoded, cache_control=cache_control, headers=extra, head=head)
        # What Lambda returns is this dict serialised again (json.dumps: escaped body, ASCII).
        if len(json.dumps(response)) > limit:
            raise self._too_large(query, limit)
        return response

    def _too_large(self, query: NamedQuery, limit: int) -> HttpError:
        return HttpError(
            413, "response_too_large",
            f"query {query.name!r} produced a response larger than the {limit}-byte limit; ask for "
            f"fewer rows (add or lower a LIMIT parameter and page through results) or raise "
            f"{ENV_MAX_RESPONSE_BYTES} (at most {LAMBDA_RESPONSE_LIMIT_BYTES})")

    def _cache_tags(self, query: NamedQuery, params: Mapping[str, Any],
                    rows: list[dict[str, Any]]) -> tuple[dict[str, str], str]:
        """Headers for a committed query: a read's tags, or a write's invalidation outcome."""
        if not query.tag_templates:
            return {}, query.cache_control()
        try:
            tags = query.render_tags(params, rows)
        except KeyError as exc:
            problem = f"cache tag column {exc} is not in the result of query {query.name!r}"
            if query.mode == "read":
                logger.error("%s; answering no-store", problem)
                return {}, "no-store"
            if self.invalidator is not None:
                self.invalidator.report_failure(query.name, (), 0, None, problem)
            return {INVALIDATION_HEADER: "failed"}, "no-store"
        if query.mode == "write":
            if self.invalidator is None:
                return {}, "no-store"
            outcome = self.invalidator.invalidate(tags, query=query.name)
            status = (outcome.invalidation_id or "none") if outcome.ok else "failed"
            return {INVALIDATION_HEADER: status}, "no-store"
        if len(tags) > MAX_TAGS_PER_RESPONSE:
            # CloudFront would drop the tags past 50, and a write to those rows would not reach
            # this copy: not caching it is the only answer that is never stale.
            logger.warning("query %s rendered %d cache tags (CloudFront keeps %d); answering no-store",
                           query.name, len(tags), MAX_TAGS_PER_RESPONSE)
            return {}, "no-store"
        return {CACHE_TAG_HEADER: ",".join(tags)}, query.cache_control()

    @staticmethod
    def _body(event: Mapping[str, Any]) -> bytes:
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                return base64.b64decode(body, validate=True)
            except ValueError:
                raise HttpError(400, "invalid_body", "the body is not valid base64") from None
        return str(body).encode("utf-8")

    def _verify_signature(self, method: str, path: str, raw_query: str, body: bytes,
                          headers: Mapping[str, str]) -> str:
        """Check the signature; returns it (lower-case hex), the key signed writes are recorded by."""
        sent, timestamp = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
        if not sent or not timestamp:
            raise HttpError(401, "missing_signature",
                            f"this endpoint requires signed requests: send {TIMESTAMP_HEADER} and "
                            f"{SIGNATURE_HEADER} (see deploy_paradigms.runtime.data_endpoint.sign_request)")
        if not _TIMESTAMP.fullmatch(timestamp) or abs(self.clock() - int(timestamp)) > MAX_CLOCK_SKEW_S:
            raise HttpError(401, "stale_signature",
                            f"{TIMESTAMP_HEADER} must be the current unix time in seconds (within "
                            f"{MAX_CLOCK_SKEW_S} s); check the caller's clock")
        assert self._signing_key is not None
        try:
            key = self._signing_key()
        except Exception as exc:
            logger.error("could not read the signing key: %s", exc)
            raise HttpError(503, "signing_key_unavailable",
                            "the endpoint could not read its signing key; retry later") from None
        expected = signature(key, canonical_request(method, path, raw_query, body, timestamp))
        # Constant-time comparison: timing must not reveal how much of a guess was right.
        if not hmac.compare_digest(expected.encode("ascii"), sent.strip().lower().encode("utf-8", "replace")):
            raise HttpError(401, "bad_signature", f"{SIGNATURE_HEADER} does not match the request")
        return expected

    @staticmethod
    def _read_params(raw_query: str) -> dict[str, object]:
        params: dict[str, object] = {}
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            if key in params:
                raise HttpError(400, "duplicate_parameter", f"parameter {key!r} is given more than once")
            params[key] = value
        return params

    @staticmethod
    def _write_params(raw_query: str, body: bytes) -> dict[str, object]:
        if raw_query:
            raise HttpError(400, "unexpected_parameter",
                            "write queries take their parameters from the JSON body, not the query string")
        if not body.strip():
            return {}
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: thousands of nested "["
            raise HttpError(400, "invalid_body", "the body must be a JSON object of parameters") from None
        if not isinstance(data, dict):
            raise HttpError(400, "invalid_body", "the body must be a JSON object of parameters")
        return {str(k): v for k, v in data.items()}

    def _execute(self, query: NamedQuery, params: Mapping[str, Any], *, deadline: float | None = None,
                 replay_key: str | None = None) -> QueryResult:
        def run(conn: DatabaseConnection) -> QueryResult:
            if self.bootstrap_schema and not self._bootstrapped:
                self._bootstrap(conn, self.catalog.schema)
                self._bootstrapped = True
            if replay_key is not None:
                return self._write_once(conn, query, params, replay_key)
            return conn.query(query.sql, params, max_rows=self.max_rows if query.mode == "read" else None)

        try:
            return with_connection(run, settings=self.settings, idempotent=query.mode == "read",
                                   deadline=deadline)
        except DatabaseUnavailable as exc:
            logger.error("query %s: %s", query.name, exc)
            raise HttpError(503, "database_unavailable", exc.public_message,
                            headers={"retry-after": "1"}) from None
        except QueryTimeout as exc:
            logger.error("query %s: %s", query.name, exc)
            raise HttpError(504, "query_timeout",
                            f"query {query.name!r} did not finish in the time the request had") from None
        except HttpError:
            raise
        except Exception as exc:
            raise self._database_error(query, exc) from None

    def _write_once(self, conn: DatabaseConnection, query: NamedQuery, params: Mapping[str, Any],
                    key: str) -> QueryResult:
        """Run a signed write in one transaction with the record of its signature: a replay finds
        the record and changes nothing; a failed write rolls the record back (it may be retried)."""
        if not self._replay_table_ready:
            self._bootstrap(conn, (_REPLAY_SCHEMA,))
            self._replay_table_ready = True
        now = int(self.clock())
        insert = (f"INSERT INTO {REPLAY_TABLE} (signature, expires_at) VALUES (:signature, :expires_at) "
                  + ("ON CONFLICT (signature) DO NOTHING" if conn.postgres else ""))
        if not conn.postgres:
            insert = insert.replace("INSERT INTO", "INSERT IGNORE INTO", 1)
        conn.query("BEGIN")
        try:
            self._writes += 1
            if self._writes % _PRUNE_EVERY == 1:
                conn.query(f"DELETE FROM {REPLAY_TABLE} WHERE expires_at < :now", {"now": now})
            recorded = conn.query(insert, {"signature": key, "expires_at": now + 2 * MAX_CLOCK_SKEW_S})
            if recorded.row_count != 1:
                raise HttpError(409, "replayed_request",
                                "this signed write was already applied (the same signature arrived "
                                "before); sign each new write with a fresh timestamp")
            result = conn.query(query.sql, params)
            conn.query("COMMIT")
            return result
        except BaseException:
            if not conn.closed:
                try:
                    conn.query("ROLLBACK")
                except Exception:
                    logger.warning("rollback failed", exc_info=True)
            raise

    @staticmethod
    def _bootstrap(conn: DatabaseConnection, statements: Iterable[str]) -> None:
        for attempt in range(2):
            try:
                for statement in statements:
                    conn.query(statement)
                return
            except Exception as exc:
                # Two environments bootstrapping at once can collide on the
                # catalog (unique_violation / duplicate_table); the second try
                # sees the finished objects through IF NOT EXISTS.
                if attempt or sqlstate(exc) not in ("23505", "42P07"):
                    raise

    @staticmethod
    def _database_error(query: NamedQuery, exc: Exception) -> HttpError:
        code = sqlstate(exc) or ""
        kind = type(exc).__name__
        if code.startswith("23") or kind == "IntegrityError":
            return HttpError(409, "conflict", f"query {query.name!r} conflicts with existing data "
                                              f"(a constraint rejected it)")
        if code.startswith("22") or kind == "DataError":
            return HttpError(400, "invalid_value", f"the database rejected a value for query {query.name!r}")
        if code == "57014":
            return HttpError(504, "query_timeout", f"query {query.name!r} ran past its statement timeout")
        # Anything else is a server-side problem: log it, do not echo SQL details.
        logger.error("query %s failed: %s", query.name, describe_error(exc))
        return HttpError(500, "query_failed", f"query {query.name!r} failed; see the endpoint's logs")


def _whole_number(env: Mapping[str, str], name: str, default: int, unit: str) -> int:
    raw = env.get(name)
    if not raw:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise ValueError(f"{name}={raw!r} must be a whole number of {unit}")
    return int(raw)


def load_catalog(path: str | Path | None = None) -> QueryCatalog:
    """Read ``catalog.json`` (default: next to this module)."""
    where = Path(path) if path is not None else CATALOG_PATH
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{where} not found: build the function's asset with "
            f"deploy_paradigms.packaging.lambda_bundle('data_endpoint', catalog_json=...) "
            f"or set {ENV_CATALOG_PATH}") from None
    return QueryCatalog.from_json(text)


_endpoint: DataEndpoint | None = None
_endpoint_lock = threading.Lock()


def reset() -> None:
    """Forget the configured endpoint (the next invocation re-reads the environment)."""
    global _endpoint
    with _endpoint_lock:
        _endpoint = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point: configured from the environment on the first invocation."""
    global _endpoint
    try:
        with _endpoint_lock:
            if _endpoint is None:
                _endpoint = DataEndpoint.from_env()
            endpoint = _endpoint
    except Exception:  # a broken configuration: say so in the log, not to the caller
        request_id = request_id_of(event, context)
        logger.exception("request %s: the data endpoint could not start", request_id)
        return error_response(HttpError(500, "internal_error", "the endpoint is misconfigured; see its logs"),
                              request_id)
    return endpoint.handle(event, context)

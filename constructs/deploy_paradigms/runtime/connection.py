"""Database connections for the Lambda functions and containers the constructs create.

The serverless paradigm spends its connection budget as *reserved concurrency
x connection_limit*, with ``connection_limit=1``: each execution environment
may hold exactly one connection. So this module keeps one connection per
environment in a module-level cache, opened lazily on first use (outside any
handler body, so it survives across invocations of a warm environment) and
reused until it dies. A cached connection found dead (RDS Proxy's idle client
timeout closed it while the environment was frozen) is replaced once.

Where the password comes from, in order (never from an environment variable):

1. a provider installed with :func:`set_password_provider` (tests, custom vaults);
2. an RDS IAM auth token when ``DATABASE_IAM_AUTH=true``;
3. the ``password`` key of the Secrets Manager secret ``DATABASE_SECRET_ARN``.

Tokens and secret reads are signed with the standard-library signer in
:mod:`.aws_sigv4` (boto3 would add about 250 ms to a cold start), with the
credentials Lambda and ECS provide (environment variables or the container
credentials endpoint). ``DEPLOY_PARADIGMS_AWS_SDK`` chooses: ``auto`` (the
default) signs here and falls back to boto3 only when this environment offers
no credentials the signer can read (e.g. a ``~/.aws`` profile on a laptop) and
boto3 is installed; ``stdlib`` never imports boto3; ``boto3`` always uses it.

PostgreSQL (pg8000, pure Python) is first-class. The MySQL family uses PyMySQL,
imported lazily; it is not bundled by default.

Connection URL parameters follow Prisma's names (``connection_limit``,
``pool_timeout``, ``connect_timeout``, ``sslmode``; plus ``socket_timeout``,
``sslrootcert`` and ``application_name``), and ``statement_timeout``
(milliseconds, PostgreSQL's name and unit): the server cancels a statement that
runs longer (PostgreSQL ``statement_timeout`` as a startup parameter; MariaDB
``max_statement_time``, MySQL ``max_execution_time`` for reads, set once per
connection). A caller with a deadline (a Lambda's remaining time) passes it to
:func:`with_connection`; a query still running at the deadline is cancelled on
the server (PostgreSQL CancelRequest), its connection closed, and
:class:`QueryTimeout` raised.

Connection safety: a driver exception that carries no server error code
(SQLSTATE or MySQL error number) may leave an unread reply in the socket (pg8000
failing to encode a parameter after sending part of the request, or to decode a
value of the reply); the connection is then closed, never reused, so no later
request reads another request's answer. ``sslmode``: ``disable`` (plain),
``prefer``/``allow`` (TLS if the server offers it), ``require`` (TLS, no
certificate check), ``verify-ca`` (chain checked against ``sslrootcert`` or the
system trust store), ``verify-full`` (chain and host name).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import logging
import os
import re
import select
import socket
import ssl
import struct
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from deploy_paradigms.budget.limits import parse_engine
from deploy_paradigms.budget.plan import UrlParameters

from . import aws_sigv4
from .settings import DatabaseSettings

logger = logging.getLogger(__name__)

T = TypeVar("T")
PasswordProvider = Callable[[DatabaseSettings], str]

#: What a function gets when DATABASE_URL_PARAMS says nothing (Prisma's
#: serverless guidance: connection_limit=1; pool_timeout 10 s; connect_timeout 5 s).
DEFAULT_URL_PARAMS: dict[str, str] = UrlParameters(connection_limit=1).as_dict()
DEFAULT_APPLICATION_NAME = "deploy-paradigms"
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
#: A connection idle for longer than this is pinged before a non-idempotent
#: statement (a write is never retried, so it must not start on a dead socket).
STALE_AFTER_S = 30.0

# pg8000 raises InterfaceError with these messages when the socket is gone.
_PG_DISCONNECT_MESSAGES = frozenset({"network error", "connection is closed", "communication error"})
# SQLSTATEs after which the server has closed the session: admin_shutdown,
# crash_shutdown, cannot_connect_now, and the connection_exception class.
_PG_DISCONNECT_CODES = frozenset({"57P01", "57P02", "57P03", "08000", "08003", "08006"})
# Authentication refused: invalid_password, invalid_authorization_specification.
_PG_AUTH_CODES = frozenset({"28P01", "28000"})
# MySQL/MariaDB: access denied for user (1045), access denied, no password (1698).
_MYSQL_AUTH_CODES = frozenset({1045, 1698})
# PostgreSQL's CancelRequest code (protocol 3.0).
_PG_CANCEL_REQUEST_CODE = 80877102
# PyMySQL: server gone away, lost connection, connection closed by server.
_MYSQL_DISCONNECT_CODES = frozenset({2006, 2013, 2055, 4031})
# MySQL/MariaDB: too many connections (max_connections), user over max_user_connections.
_MYSQL_OUT_OF_CONNECTIONS_CODES = frozenset({1040, 1203})
# MySQL 8: CHECK constraint violated (3819), foreign key missing parent / has children
# (1452, 1451): integrity errors whose SQLSTATE is not class 23 on some servers.
_MYSQL_CONSTRAINT_CODES = frozenset({3819, 1451, 1452})
# MariaDB max_statement_time (1969) and MySQL max_execution_time (3024) exceeded: read as
# PostgreSQL's query_canceled (57014), which the handlers answer with 504.
_MYSQL_STATEMENT_TIMEOUT_CODES = frozenset({1969, 3024})
# PyMySQL's "SSL is required but the server doesn't support it" (CR_SSL_CONNECTION_ERROR).
_MYSQL_NO_SERVER_TLS = 2026
_OUT_OF_CONNECTIONS_HINT = ("; the database is out of connections: check the connection budget "
                            "(deploy-paradigms budget) and what else connects to this database")


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached or refused the session; handlers answer 503."""

    def __init__(self, host: str, port: int, cause: str) -> None:
        self.host = host
        self.port = port
        self.cause = cause
        super().__init__(f"database {host}:{port} is unavailable: {cause}")

    @property
    def public_message(self) -> str:
        """What a caller may read: the kind of failure, never the host, port, user or driver text."""
        if _OUT_OF_CONNECTIONS_HINT in self.cause:
            return "the database is out of connections; retry shortly"
        return "the database is unavailable; retry shortly"


class CredentialsUnavailable(DatabaseUnavailable):
    """The password (IAM token or secret) could not be obtained."""


class QueryTimeout(RuntimeError):
    """A statement outlived its deadline; it was cancelled on the server and its connection closed."""


class AuthenticationFailed(DatabaseUnavailable):
    """The server refused the user name or password (a rotated secret, a dropped role)."""


class MissingDriverError(RuntimeError):
    """The database driver for the configured engine is not installed in the bundle."""


# --------------------------------------------------------------------------- URL


def is_postgres(settings: DatabaseSettings) -> bool:
    """True for ``postgres``/``aurora-postgresql``, False for the MySQL family."""
    return parse_engine(settings.engine).is_postgres


def url_parameters(settings: DatabaseSettings) -> dict[str, str]:
    """Prisma-style URL parameters: the defaults, overlaid with ``DATABASE_URL_PARAMS``, overlaid
    with the pool contract (``DATABASE_POOL_MAX``, ``DATABASE_*_TIMEOUT_MS``) where it is set."""
    params = dict(DEFAULT_URL_PARAMS)
    params.update(settings.url_params)
    params.update(contract_parameters(settings))
    return params


def _ms_as_seconds(ms: int) -> str:
    return str(ms // 1000) if ms % 1000 == 0 else f"{ms / 1000:g}"


def contract_parameters(settings: DatabaseSettings) -> dict[str, str]:
    """The pool contract as URL parameters (seconds for Prisma's names, milliseconds for
    ``statement_timeout``); only the variables that are set."""
    params: dict[str, str] = {}
    if settings.pool_max is not None:
        params["connection_limit"] = str(settings.pool_max)
    if settings.pool_timeout_ms is not None:
        params["pool_timeout"] = _ms_as_seconds(settings.pool_timeout_ms)
    if settings.connect_timeout_ms is not None:
        params["connect_timeout"] = _ms_as_seconds(settings.connect_timeout_ms)
    if settings.statement_timeout_ms is not None:
        params["statement_timeout"] = str(settings.statement_timeout_ms)
    return params


def idle_timeout_s(settings: DatabaseSettings) -> float | None:
    """``DATABASE_IDLE_TIMEOUT_MS`` in seconds; None when unset or 0 (never close an idle connection)."""
    ms = settings.idle_timeout_ms
    return ms / 1000 if ms else None


def database_url(settings: DatabaseSettings, password: str) -> str:
    """``postgresql://user:pass@host:port/db?connection_limit=1&pool_timeout=10&...``

    User, password and database name are percent-encoded, so any character is
    safe; the MySQL family gets ``mysql://``.
    """
    scheme = "postgresql" if is_postgres(settings) else "mysql"
    host = settings.host
    if ":" in host and not host.startswith("["):  # IPv6 literal
        host = f"[{host}]"
    credentials = f"{quote(settings.user, safe='')}:{quote(password, safe='')}"
    query = urlencode(url_parameters(settings))
    return f"{scheme}://{credentials}@{host}:{settings.port}/{quote(settings.name, safe='')}?{query}"


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***`` (for logs)."""
    return re.sub(r"^([a-z]+://[^:/@]*):[^@]*@", r"\1:***@", url)


# --------------------------------------------------------------------------- credentials

#: Environment variable choosing how AWS calls are made: ``auto`` (default), ``stdlib`` or ``boto3``.
AWS_SDK_ENV = "DEPLOY_PARADIGMS_AWS_SDK"
AWS_SDK_CHOICES = ("auto", "stdlib", "boto3")

_password_provider: PasswordProvider | None = None
_aws_clients: dict[str, Any] = {}


def set_password_provider(provider: PasswordProvider | None) -> None:
    """Install (or with ``None`` remove) a function that returns the password for some settings."""
    global _password_provider
    _password_provider = provider


def aws_client(service: str) -> Any:
    """A cached boto3 client with short timeouts (a hung call must not eat the function timeout)."""
    client = _aws_clients.get(service)
    if client is None:
        try:
            boto3 = importlib.import_module("boto3")
        except ImportError as exc:
            raise MissingDriverError(
                f"boto3 is needed to call {service} (it is built into the AWS Lambda Python runtime); "
                f"install it, or call set_password_provider() outside AWS") from exc
        kwargs: dict[str, Any] = {}
        try:
            config = importlib.import_module("botocore.config")
            kwargs["config"] = config.Config(connect_timeout=2, read_timeout=5,
                                             retries={"max_attempts": 2, "mode": "standard"})
        except ImportError:
            pass
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            kwargs["region_name"] = region
        client = boto3.client(service, **kwargs)
        _aws_clients[service] = client
    return client


def reset_aws_clients() -> None:
    """Forget cached boto3 clients and signer credentials (tests swap boto3 or the environment)."""
    _aws_clients.clear()
    aws_sigv4.reset_default_credentials()


def aws_sdk() -> str:
    """How AWS calls are made here: ``DEPLOY_PARADIGMS_AWS_SDK`` (``auto``, ``stdlib`` or ``boto3``)."""
    choice = os.environ.get(AWS_SDK_ENV, "auto").strip().lower() or "auto"
    if choice not in AWS_SDK_CHOICES:
        raise ValueError(f"{AWS_SDK_ENV}={choice!r} is not one of {', '.join(AWS_SDK_CHOICES)}; "
                         f"unset it to sign with the standard library and fall back to boto3")
    return choice


def _boto3_installed() -> bool:
    try:
        return importlib.util.find_spec("boto3") is not None
    except ValueError:  # in sys.modules without a spec (a module made at run time)
        return True


def _signer_credentials() -> aws_sigv4.AwsCredentials | None:
    """The signer's credentials, or None when boto3 should make the call instead."""
    choice = aws_sdk()
    if choice == "boto3":
        return None
    try:
        return aws_sigv4.default_credentials()
    except aws_sigv4.AwsCredentialsError:
        if choice == "stdlib" or not _boto3_installed():
            raise
        return None  # auto: boto3 knows more credential sources (profiles, instance metadata)


def _secret_string(secret_arn: str) -> object:
    credentials = _signer_credentials()
    if credentials is None:
        return aws_client("secretsmanager").get_secret_value(SecretId=secret_arn).get("SecretString")
    # The secret's own Region (from its ARN) wins over the function's: cross-Region secrets work.
    arn_region = secret_arn.split(":")[3] if secret_arn.count(":") >= 6 else ""
    response = aws_sigv4.aws_json_call(
        service="secretsmanager", service_id="Secrets Manager", target="secretsmanager.GetSecretValue",
        payload={"SecretId": secret_arn}, region=arn_region or None, credentials=credentials)
    document = response.json()
    if not response.ok:
        error = document if isinstance(document, dict) else {}
        kind = str(error.get("__type", "")).rpartition("#")[2] or "error"
        raise RuntimeError(f"Secrets Manager answered HTTP {response.status} {kind}: "
                           f"{error.get('message') or error.get('Message') or ''}".rstrip(": "))
    return document.get("SecretString") if isinstance(document, dict) else None


def rds_token(settings: DatabaseSettings) -> str:
    """An RDS IAM auth token for ``settings`` (valid 15 minutes; one is made per connect)."""
    credentials = _signer_credentials()
    if credentials is None:
        kwargs: dict[str, Any] = {"DBHostname": settings.host, "Port": settings.port,
                                  "DBUsername": settings.user}
        region = os.environ.get("AWS_REGION")
        if region:
            kwargs["Region"] = region
        return str(aws_client("rds").generate_db_auth_token(**kwargs))
    return aws_sigv4.rds_auth_token(host=settings.host, port=settings.port, user=settings.user,
                                    region=aws_sigv4.region_from_environment(), credentials=credentials)


def read_secret(secret_arn: str) -> str:
    """The ``SecretString`` of a Secrets Manager secret."""
    value = _secret_string(secret_arn)
    if not isinstance(value, str):
        raise ValueError(f"secret {secret_arn} has no SecretString (binary secrets are not supported)")
    return value


def resolve_password(settings: DatabaseSettings) -> str:
    """The password for ``settings`` from the provider, an IAM token or the secret (in that order)."""
    if _password_provider is not None:
        return _password_provider(settings)
    try:
        if settings.iam_auth:
            # Tokens are valid for 15 minutes; they are only needed to open a
            # connection, so one is generated per (re)connect.
            return rds_token(settings)
        if settings.secret_arn:
            # Read on every (re)connect rather than once, so a rotated password
            # is picked up by the next connection without a redeploy.
            secret = json.loads(read_secret(settings.secret_arn))
            if not isinstance(secret, dict) or not isinstance(secret.get("password"), str):
                raise ValueError(f"secret {settings.secret_arn} is not JSON with a 'password' string")
            return str(secret["password"])
    except MissingDriverError:
        raise
    except Exception as exc:
        source = "an RDS IAM auth token" if settings.iam_auth else f"secret {settings.secret_arn}"
        raise CredentialsUnavailable(settings.host, settings.port,
                                     f"could not obtain {source}: {exc}") from exc
    raise RuntimeError(
        "no database credentials configured: set DATABASE_IAM_AUTH=true or DATABASE_SECRET_ARN "
        "(the constructs set one of them), or call set_password_provider() when testing")


# --------------------------------------------------------------------------- TLS


def resolve_cafile(sslrootcert: str | None) -> str | None:
    """``sslrootcert`` as a file path: an absolute path as given; a relative one (``rds-ca-bundle.pem``,
    the RDS CA bundle every bundle ships) next to this module, never the working directory, so a
    file planted there cannot become a trust anchor. Empty or ``system``: the system store."""
    if not sslrootcert or sslrootcert == "system":
        return None
    if os.path.isabs(sslrootcert):
        return sslrootcert
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), sslrootcert)


@functools.lru_cache(maxsize=8)
def tls_context(sslmode: str, *, cafile: str | None = None) -> ssl.SSLContext | None:
    """The TLS context for ``sslmode``; ``None`` means a plaintext connection.

    Built once per (``sslmode``, ``cafile``) in a process and shared by every
    connection: loading a CA store costs ~20 ms of CPU, which a cold start or a
    pool filling up should not pay per connection. ``require`` loads none (it
    does not verify); ``prefer``/``allow`` return the same unverified context,
    and the driver layer decides whether to fall back to plaintext.
    """
    if sslmode not in SSL_MODES:
        raise ValueError(f"sslmode={sslmode!r} is not one of {', '.join(SSL_MODES)}")
    if sslmode == "disable":
        return None
    if sslmode in ("verify-ca", "verify-full"):
        try:
            context = ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"sslrootcert={cafile!r} could not be loaded: {exc}") from exc
        context.check_hostname = sslmode == "verify-full"
        context.verify_mode = ssl.CERT_REQUIRED
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # TLS 1.2+, no CA store: nothing is verified
    context.check_hostname = False  # require: encrypt, but (like libpq) do not verify
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # what RDS and RDS Proxy accept at the least
    return context


# --------------------------------------------------------------------------- connection


@dataclass(frozen=True)
class QueryResult:
    """Rows of one statement, with column names (``row_count``: rows returned or affected, -1 unknown)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    row_count: int

    def records(self) -> list[dict[str, Any]]:
        """Rows as ``{column: value}`` dicts."""
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]

    def one(self) -> dict[str, Any]:
        """The single row as a dict (raises LookupError when there is not exactly one)."""
        if len(self.rows) != 1:
            raise LookupError(f"expected one row, got {len(self.rows)}")
        return self.records()[0]


# MySQL placeholders: literals, identifiers and comments are kept (with '%'
# doubled for PyMySQL's %-formatting); ':name' becomes '%(name)s'.
_MYSQL_TOKENS = re.compile(
    r"""('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`[^`]*`|--[^\n]*|\#[^\n]*|/\*.*?\*/)"""
    r"""|(?<![:\w]):([A-Za-z_]\w*)|(%)""",
    re.DOTALL,
)


def _mysql_sql(sql: str) -> str:
    def sub(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1).replace("%", "%%")
        if match.group(2) is not None:
            return f"%({match.group(2)})s"
        return "%%"

    return _MYSQL_TOKENS.sub(sub, sql)


class DatabaseConnection:
    """One driver connection with a uniform ``query(sql, params)`` using ``:name`` placeholders.

    Values are always sent as bound parameters (pg8000's extended protocol,
    PyMySQL's escaping), never formatted into the SQL by this class.
    """

    def __init__(self, raw: Any, settings: DatabaseSettings, *, postgres: bool,
                 socket_timeout: float | None = None) -> None:
        self.raw = raw
        self.settings = settings
        self.postgres = postgres
        self.socket_timeout = socket_timeout
        #: ``time.monotonic()`` value after which statements are cancelled (set per request).
        self.deadline: float | None = None
        self.opened_at = time.monotonic()
        self.last_used = self.opened_at
        self.closed = False

    @property
    def backend_pid(self) -> int | None:
        """The server process (PostgreSQL) or thread (MySQL) serving this connection."""
        if self.postgres:
            # pg8000 keeps the server's BackendKeyData (process id, secret key)
            # from the handshake; reading it saves a pg_backend_pid() round trip.
            key_data = getattr(self.raw, "_backend_key_data", None)
            if isinstance(key_data, bytes | bytearray) and len(key_data) >= 4:
                return int(struct.unpack("!i", bytes(key_data[:4]))[0])
            return None
        return int(self.raw.thread_id())

    @property
    def idle_s(self) -> float:
        return time.monotonic() - self.last_used

    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              max_rows: int | None = None) -> QueryResult:
        """Run one statement and return its rows (server errors propagate unchanged).

        ``max_rows``: a read returns at most ``max_rows + 1`` rows, so the caller
        can tell "too many" without the database sending (and this process
        holding) the rest. Any exception without a server error code closes the
        connection (its protocol state is unknown); a statement still running at
        :attr:`deadline` is cancelled and raises :class:`QueryTimeout`.
        """
        if self.closed:
            raise DatabaseUnavailable(self.settings.host, self.settings.port, "the connection is closed")
        self.last_used = time.monotonic()
        timeout = self._arm_deadline()
        try:
            if self.postgres:
                return self._query_postgres(sql, params, max_rows)
            return self._query_mysql(sql, params, max_rows)
        except BaseException as exc:
            if not is_server_error(exc):
                timed_out = timeout is not None and _timed_out(exc)
                if timed_out:
                    self.cancel()
                self.close()
                if timed_out:
                    raise QueryTimeout(f"the statement ran past its {timeout:.1f} s deadline and was "
                                       f"cancelled") from exc
            raise
        finally:
            self.last_used = time.monotonic()
            if timeout is not None and not self.closed:
                self._set_read_timeout(self.socket_timeout)

    def _arm_deadline(self) -> float | None:
        """Shorten the socket timeout to what is left before :attr:`deadline` (None: no deadline)."""
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise QueryTimeout("no time was left before the request's deadline to run the statement")
        timeout = left if self.socket_timeout is None else min(left, self.socket_timeout)
        self._set_read_timeout(timeout)
        return timeout

    def _set_read_timeout(self, timeout: float | None) -> None:
        if self.postgres:
            sock = getattr(self.raw, "_usock", None)
            if sock is not None:
                sock.settimeout(timeout)
        else:  # PyMySQL applies _read_timeout before each read
            self.raw._read_timeout = timeout

    def _query_postgres(self, sql: str, params: Mapping[str, Any] | None,
                        max_rows: int | None) -> QueryResult:
        if max_rows is not None:
            # Read queries only (SELECT/WITH/VALUES/TABLE): the server stops after max+1 rows.
            sql = f"SELECT * FROM ({sql.strip().rstrip(';')}) AS dp_capped LIMIT {int(max_rows) + 1}"
        rows = self.raw.run(sql, **params) if params else self.raw.run(sql)
        columns = tuple(c["name"] for c in (self.raw.columns or ()))
        count = self.raw.row_count
        return QueryResult(columns, tuple(tuple(r) for r in rows or ()), -1 if count is None else int(count))

    def _query_mysql(self, sql: str, params: Mapping[str, Any] | None, max_rows: int | None) -> QueryResult:
        if max_rows is not None:
            # Unbuffered: rows are read as they are fetched. MariaDB ignores ORDER BY in a
            # derived table, so the LIMIT wrap used for PostgreSQL would change the order.
            cursor = self.raw.cursor(importlib.import_module("pymysql.cursors").SSCursor)
        else:
            cursor = self.raw.cursor()
        if params:
            cursor.execute(_mysql_sql(sql), dict(params))
        else:
            cursor.execute(sql)
        columns = tuple(d[0] for d in (cursor.description or ()))
        if max_rows is not None:
            fetched = cursor.fetchmany(max_rows + 1) if cursor.description else []
            if len(fetched) > max_rows:
                # The rest of the result is still on the wire: drop the connection
                # rather than read (and discard) every remaining row. The result must
                # not try to finish reading when it is garbage-collected.
                result = getattr(cursor, "_result", None)
                if result is not None:
                    result.unbuffered_active = False
                self.close()
                return QueryResult(columns, tuple(tuple(r) for r in fetched), -1)
            cursor.close()
            return QueryResult(columns, tuple(tuple(r) for r in fetched), len(fetched))
        try:
            fetched = cursor.fetchall() if cursor.description else ()
            return QueryResult(columns, tuple(tuple(r) for r in fetched), int(cursor.rowcount))
        finally:
            cursor.close()

    def cancel(self) -> None:
        """Ask the server to cancel this connection's running statement (best effort).

        PostgreSQL: a CancelRequest with the BackendKeyData, on a new socket. MySQL
        has no out-of-band cancel; ``max_statement_time``/``max_execution_time``
        (from ``statement_timeout``) end the statement there.
        """
        if not self.postgres:
            return
        key_data = getattr(self.raw, "_backend_key_data", None)
        if not isinstance(key_data, bytes | bytearray) or len(key_data) < 8:
            return
        try:
            with socket.create_connection((self.settings.host, self.settings.port), timeout=2) as sock:
                sock.sendall(struct.pack("!ii", 16, _PG_CANCEL_REQUEST_CODE) + bytes(key_data[:8]))
                sock.recv(1)  # the server closes the socket once it has read the request
        except OSError:
            logger.warning("could not send a cancel request to %s:%s", self.settings.host, self.settings.port)

    def ping(self) -> bool:
        """True if a trivial round trip succeeds; a dead connection is closed."""
        try:
            self.query("SELECT 1")
            return True
        except Exception as exc:
            if is_disconnect(exc) or isinstance(exc, DatabaseUnavailable):
                self.close()
                return False
            raise

    def peer_spoke(self) -> bool:
        """True when the server sent something on this idle connection, or closed it.

        An idle session has nothing to say: a restart sends FATAL 57P01 then FIN, a crash or a
        proxy's idle cut a FIN. Asking the kernel whether the descriptor is readable costs one
        ``select`` and reads nothing, so no TLS record the driver has not consumed is lost.
        """
        sock = getattr(self.raw, "_usock" if self.postgres else "_sock", None)
        if self.closed or sock is None:
            return self.closed
        try:
            readable, _, _ = select.select([sock.fileno()], [], [], 0)
        except (OSError, ValueError):  # a closed descriptor
            return True
        return bool(readable)

    def close(self) -> None:
        """Close quietly (the socket may already be gone)."""
        if self.closed:
            return
        self.closed = True
        try:
            self.raw.close()
        except Exception:  # closing a dead socket must not raise
            logger.debug("closing a database connection failed", exc_info=True)


def _mysql_code(exc: BaseException) -> object:
    """The error number of a PyMySQL error (``exc.args[0]``, e.g. 1040), else None."""
    if type(exc).__module__.startswith("pymysql") and exc.args:
        return exc.args[0]
    return None


def is_server_error(exc: BaseException) -> bool:
    """True when the server answered with an error (pg8000: SQLSTATE fields; PyMySQL: a server
    error number, not a 2000-2999 client one): the driver then read the reply to its end."""
    if exc.args and isinstance(exc.args[0], dict):
        return exc.args[0].get("C") is not None
    code = _mysql_code(exc)
    return isinstance(code, int) and not isinstance(code, bool) and code > 0 and not 2000 <= code < 3000


def is_authentication_error(exc: BaseException) -> bool:
    """True when the server refused the credentials (wrong password, unknown user)."""
    if exc.args and isinstance(exc.args[0], dict):
        return exc.args[0].get("C") in _PG_AUTH_CODES
    return _mysql_code(exc) in _MYSQL_AUTH_CODES


def _timed_out(exc: BaseException) -> bool:
    """True when ``exc`` or an exception it was raised from is a socket timeout."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, TimeoutError) or "timed out" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a pg8000 or PyMySQL server error (``"23505"``, ``"23000"``, ...), else None."""
    if exc.args and isinstance(exc.args[0], dict):
        code = exc.args[0].get("C")
        return str(code) if code is not None else None
    if type(exc).__module__.startswith("pymysql"):
        if _mysql_code(exc) in _MYSQL_CONSTRAINT_CODES:  # MySQL 8 reports these with the generic HY000
            return "23000"
        if _mysql_code(exc) in _MYSQL_STATEMENT_TIMEOUT_CODES:
            return "57014"
        state = getattr(exc, "sqlstate", None)  # set by PyMySQL versions that keep it
        return str(state) if state else None
    return None


def is_disconnect(exc: BaseException) -> bool:
    """True when ``exc`` means the connection is unusable (as opposed to a bad statement)."""
    if isinstance(exc, OSError):  # socket errors, including timeouts and resets
        return True
    module, name = type(exc).__module__, type(exc).__name__
    if module.startswith("pg8000"):
        if name == "InterfaceError":
            return (str(exc.args[0]) if exc.args else "") in _PG_DISCONNECT_MESSAGES
        return sqlstate(exc) in _PG_DISCONNECT_CODES
    if module.startswith("pymysql"):
        return name == "InterfaceError" or _mysql_code(exc) in _MYSQL_DISCONNECT_CODES
    return False


def describe_error(exc: BaseException) -> str:
    """A one-line cause for logs and 503 bodies, with a hint for budget problems."""
    if exc.args and isinstance(exc.args[0], dict):  # pg8000 server error fields
        fields = exc.args[0]
        code = fields.get("C", "")
        text = f"{fields.get('M', 'server error')} (SQLSTATE {code})"
        if code == "53300":
            text += _OUT_OF_CONNECTIONS_HINT
        return text
    text = f"{type(exc).__name__}: {exc}"
    if _mysql_code(exc) in _MYSQL_OUT_OF_CONNECTIONS_CODES:
        text += _OUT_OF_CONNECTIONS_HINT
    cause = exc.__cause__
    if cause is not None:
        text += f" ({type(cause).__name__}: {cause})"
    return text


def _import_driver(module: str, engine: str, package: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDriverError(
            f"the {engine!r} engine needs the {package} driver, which is not installed; add "
            f"{package} to the function's bundle (pip install {package})") from exc


#: Modules pg8000 imports at module scope that a connection rarely uses: scramp (SCRAM, which
#: pulls in asn1crypto's X.509 parser) only when the server asks for SCRAM, never with an RDS
#: IAM token (sent as a cleartext password over TLS); dateutil.tz only when dateutil's parser is
#: the fallback for a timestamp ``datetime`` cannot hold. Together about 60 % of pg8000's import.
DEFERRED_MODULES = ("scramp", "dateutil.tz")
_deferred_lock = threading.Lock()


def _defer_import(name: str) -> None:
    """Put a stand-in for module ``name`` in ``sys.modules`` that imports it on first attribute use.

    ``import name`` and ``from package import name`` then bind the stand-in, which forwards every
    attribute to the real module, imported (once, under a lock) the first time one is read.
    (The standard library's ``LazyLoader`` does not help: an ``import`` statement reads
    ``__spec__``, which loads it.)
    """
    if name in sys.modules:
        return
    try:
        spec = importlib.util.find_spec(name)
    except ImportError:  # its parent package is missing
        return
    if spec is None:
        return
    stand_in = ModuleType(name, f"{name}, imported on first use (deploy_paradigms.runtime.connection)")
    stand_in.__spec__ = spec

    def load(attribute: str) -> Any:
        with _deferred_lock:
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
            real = importlib.import_module(name)
        return getattr(real, attribute)

    stand_in.__getattr__ = load  # type: ignore[method-assign]  # PEP 562: only for missing names
    sys.modules[name] = stand_in


def _seconds(params: Mapping[str, str], key: str) -> float | None:
    """A timeout URL parameter in seconds; missing or 0 means none."""
    raw = params.get(key)
    if raw in (None, ""):
        return None
    try:
        value = float(str(raw))
    except ValueError:
        raise ValueError(f"{key}={raw!r} in DATABASE_URL_PARAMS must be a number of seconds") from None
    return value if value > 0 else None


def statement_timeout_ms(params: Mapping[str, str]) -> int | None:
    """``statement_timeout`` (milliseconds; missing or 0 means none)."""
    raw = params.get("statement_timeout")
    if raw in (None, ""):
        return None
    if not re.fullmatch(r"\d{1,9}", str(raw)):
        raise ValueError(f"statement_timeout={raw!r} in DATABASE_URL_PARAMS must be a whole number of "
                         f"milliseconds (0 for none)")
    return int(str(raw)) or None


def _unavailable(settings: DatabaseSettings, exc: BaseException) -> DatabaseUnavailable:
    kind = AuthenticationFailed if is_authentication_error(exc) else DatabaseUnavailable
    return kind(settings.host, settings.port, describe_error(exc))


def _limit_mysql_statements(raw: Any, timeout_ms: int) -> None:
    """MariaDB's ``max_statement_time`` (seconds, any statement) or MySQL's ``max_execution_time``
    (milliseconds, SELECT only) for this session."""
    cursor = raw.cursor()
    try:
        if "mariadb" in str(raw.get_server_info()).lower():
            cursor.execute(f"SET SESSION max_statement_time = {timeout_ms / 1000:.3f}")
        else:
            cursor.execute(f"SET SESSION max_execution_time = {int(timeout_ms)}")
    finally:
        cursor.close()


def connect(settings: DatabaseSettings, password: str | None = None) -> DatabaseConnection:
    """Open a new connection (not cached). Raises :class:`DatabaseUnavailable` on failure
    (:class:`AuthenticationFailed` when the server refused the credentials).

    ``password`` defaults to :func:`resolve_password`; containers pass the
    password ECS injected.
    """
    params = url_parameters(settings)
    statement_ms = statement_timeout_ms(params)
    sslmode = params.get("sslmode", "require")
    context = tls_context(sslmode, cafile=resolve_cafile(params.get("sslrootcert")))
    connect_timeout = _seconds(params, "connect_timeout")
    socket_timeout = _seconds(params, "socket_timeout")
    application_name = params.get("application_name") or DEFAULT_APPLICATION_NAME
    postgres = is_postgres(settings)
    secret = resolve_password(settings) if password is None else password
    if postgres:
        if "pg8000.native" not in sys.modules:
            for module in DEFERRED_MODULES:
                _defer_import(module)
        native = _import_driver("pg8000.native", settings.engine, "pg8000")
        # pg8000: False = plaintext, None = try TLS then plaintext, a context = TLS required.
        ssl_argument: ssl.SSLContext | bool | None = (
            False if context is None else None if sslmode in ("allow", "prefer") else context)
        try:
            raw = native.Connection(
                settings.user, host=settings.host, port=settings.port, database=settings.name,
                password=secret, ssl_context=ssl_argument, timeout=connect_timeout,
                application_name=application_name,
                # A startup parameter, not a SET: no extra round trip.
                startup_params={"statement_timeout": str(statement_ms)} if statement_ms else None)
        except Exception as exc:
            raise _unavailable(settings, exc) from exc
        # pg8000 applies `timeout` to every later read too; connect_timeout is
        # for connecting only, so switch to socket_timeout (default: none, as
        # in Prisma) or a slow query would be cut off as a "network error".
        sock = getattr(raw, "_usock", None)
        if sock is not None:
            sock.settimeout(socket_timeout)
    else:
        pymysql = _import_driver("pymysql", settings.engine, "PyMySQL")

        def open_mysql(tls: ssl.SSLContext | None) -> Any:
            # PyMySQL (1.2.4 at least) tries TLS when given no context: ask for plaintext.
            return pymysql.connect(
                host=settings.host, port=settings.port, user=settings.user, password=secret,
                database=settings.name, connect_timeout=connect_timeout or 10,
                read_timeout=socket_timeout, write_timeout=socket_timeout, ssl=tls,
                ssl_disabled=tls is None, autocommit=True, program_name=application_name)

        try:
            try:
                raw = open_mysql(context)
            except Exception as exc:
                # A context makes PyMySQL insist on TLS; allow/prefer accept plaintext
                # from a server that offers no TLS (as pg8000 does with ssl_context=None).
                if (context is None or sslmode not in ("allow", "prefer")
                        or _mysql_code(exc) != _MYSQL_NO_SERVER_TLS):
                    raise
                raw = open_mysql(None)
            if statement_ms:
                _limit_mysql_statements(raw, statement_ms)
        except Exception as exc:
            raise _unavailable(settings, exc) from exc
    return DatabaseConnection(raw, settings, postgres=postgres, socket_timeout=socket_timeout)


# --------------------------------------------------------------------------- per-environment cache

_lock = threading.RLock()
_cached: DatabaseConnection | None = None


def get_connection(settings: DatabaseSettings | None = None) -> DatabaseConnection:
    """This environment's connection, opened on first use and reused afterwards.

    ``settings`` defaults to :meth:`DatabaseSettings.from_env`; if they change
    (tests), the old connection is closed and a new one opened.
    """
    global _cached
    wanted = DatabaseSettings.from_env() if settings is None else settings
    idle_limit = idle_timeout_s(wanted)
    with _lock:
        # Idle past DATABASE_IDLE_TIMEOUT_MS (kept under RDS Proxy's idle client timeout):
        # reconnect now rather than find the proxy has dropped the socket.
        if _cached is not None and (_cached.closed or _cached.settings != wanted
                                    or (idle_limit is not None and _cached.idle_s > idle_limit)):
            _cached.close()
            _cached = None
        if _cached is None:
            _cached = connect(wanted)
            logger.info("opened database connection to %s:%s (backend %s)",
                        wanted.host, wanted.port, _cached.backend_pid)
        return _cached


def close_connection() -> None:
    """Close and forget the cached connection (the next use opens a new one)."""
    global _cached
    with _lock:
        if _cached is not None:
            _cached.close()
            _cached = None


def with_connection(fn: Callable[[DatabaseConnection], T], *, settings: DatabaseSettings | None = None,
                    idempotent: bool = True, deadline: float | None = None) -> T:
    """Run ``fn`` with the cached connection, replacing a dead connection once.

    Idempotent work (reads) is retried once on a fresh connection when the
    cached one turns out to be dead. Non-idempotent work (writes) is never
    retried, because a connection that drops mid-statement leaves unknown
    whether it committed; instead a connection idle for more than
    :data:`STALE_AFTER_S`, or one the server spoke on while idle (a restart's
    FATAL, a FIN: :meth:`DatabaseConnection.peer_spoke`), is pinged first. ``deadline`` (``time.monotonic()``)
    bounds every statement ``fn`` runs (:class:`QueryTimeout`, never retried).
    Raises :class:`DatabaseUnavailable`.
    """
    with _lock:
        conn = get_connection(settings)
        if not idempotent and (conn.idle_s > STALE_AFTER_S or conn.peer_spoke()) and not conn.ping():
            close_connection()
            conn = get_connection(settings)
        try:
            return _run_until(fn, conn, deadline)
        except Exception as exc:
            if not is_disconnect(exc) or isinstance(exc, QueryTimeout):
                raise
            close_connection()
            if not idempotent:
                raise DatabaseUnavailable(
                    conn.settings.host, conn.settings.port,
                    f"the connection dropped during a write, which may or may not have been applied: "
                    f"{describe_error(exc)}") from exc
            logger.warning("database connection was dead (%s); reconnecting once", describe_error(exc))
        conn = get_connection(settings)
        try:
            return _run_until(fn, conn, deadline)
        except Exception as exc:
            if not is_disconnect(exc) or isinstance(exc, QueryTimeout):
                raise
            close_connection()
            raise DatabaseUnavailable(conn.settings.host, conn.settings.port,
                                      describe_error(exc)) from exc


def _run_until(fn: Callable[[DatabaseConnection], T], conn: DatabaseConnection, deadline: float | None) -> T:
    conn.deadline = deadline
    try:
        return fn(conn)
    finally:
        conn.deadline = None

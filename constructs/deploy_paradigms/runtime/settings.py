"""The contract between the constructs and the code they run.

The CDK and Pulumi renderers set exactly these environment variables (never a
password: credentials come from Secrets Manager or an IAM auth token at run
time), and the runtime helpers read them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

HOST = "DATABASE_HOST"  # proxy endpoint (serverless, data endpoint) or instance endpoint
PORT = "DATABASE_PORT"
NAME = "DATABASE_NAME"
USER = "DATABASE_USER"
ENGINE = "DATABASE_ENGINE"  # "postgres" or "mysql" family
SECRET_ARN = "DATABASE_SECRET_ARN"  # Secrets Manager secret with username/password
IAM_AUTH = "DATABASE_IAM_AUTH"  # "true": connect with an RDS IAM auth token instead
URL_PARAMS = "DATABASE_URL_PARAMS"  # connection_limit=1&pool_timeout=10&connect_timeout=5&sslmode=require
# Containers receive the password through ECS secrets (resolved by the ECS agent
# at task start, never written in the task definition):
PASSWORD_FROM_ECS_SECRET = "DATABASE_PASSWORD"

# The client-neutral pool contract: whole numbers any client can map to its own
# options (Prisma 7's driver adapter, node-postgres, SQLAlchemy, psycopg_pool...).
# Prisma 6 reads the same numbers from DATABASE_URL_PARAMS; where both are set,
# these win (the runtime and BudgetGuard read them first).
POOL_MAX = "DATABASE_POOL_MAX"  # connections one process may hold
POOL_TIMEOUT_MS = "DATABASE_POOL_TIMEOUT_MS"  # wait for a free pooled connection (acquire), 0 = forever
CONNECT_TIMEOUT_MS = "DATABASE_CONNECT_TIMEOUT_MS"  # open a new connection, 0 = none
IDLE_TIMEOUT_MS = "DATABASE_IDLE_TIMEOUT_MS"  # close a pooled connection idle this long, 0 = never
STATEMENT_TIMEOUT_MS = "DATABASE_STATEMENT_TIMEOUT_MS"  # server ends a longer statement, 0 = none

POOL_CONTRACT = (POOL_MAX, POOL_TIMEOUT_MS, CONNECT_TIMEOUT_MS, IDLE_TIMEOUT_MS, STATEMENT_TIMEOUT_MS)

ALL = (HOST, PORT, NAME, USER, ENGINE, SECRET_ARN, IAM_AUTH, URL_PARAMS, *POOL_CONTRACT)


@dataclass(frozen=True)
class DatabaseSettings:
    """Where and how to connect, as the constructs configured it."""

    host: str
    port: int
    name: str
    user: str
    engine: str = "postgres"
    secret_arn: str | None = None
    iam_auth: bool = False
    url_params: tuple[tuple[str, str], ...] = ()
    #: The pool contract (``DATABASE_POOL_MAX``, ``DATABASE_*_TIMEOUT_MS``); None where not set.
    pool_max: int | None = None
    pool_timeout_ms: int | None = None
    connect_timeout_ms: int | None = None
    idle_timeout_ms: int | None = None
    statement_timeout_ms: int | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DatabaseSettings:
        env = os.environ if environ is None else environ
        missing = [k for k in (HOST, PORT, NAME, USER) if not env.get(k)]
        if missing:
            raise RuntimeError(f"missing environment variable(s) {', '.join(missing)}: "
                               f"this code expects to run in a function created by deploy-paradigms")
        return cls(
            host=env[HOST],
            port=int(env[PORT]),
            name=env[NAME],
            user=env[USER],
            engine=env.get(ENGINE, "postgres"),
            secret_arn=env.get(SECRET_ARN) or None,
            iam_auth=env.get(IAM_AUTH, "false").lower() == "true",
            url_params=tuple(parse_qsl(env.get(URL_PARAMS, ""))),
            pool_max=_whole(env, POOL_MAX, minimum=1),
            pool_timeout_ms=_whole(env, POOL_TIMEOUT_MS),
            connect_timeout_ms=_whole(env, CONNECT_TIMEOUT_MS),
            idle_timeout_ms=_whole(env, IDLE_TIMEOUT_MS),
            statement_timeout_ms=_whole(env, STATEMENT_TIMEOUT_MS),
        )

    def param(self, key: str, default: str | None = None) -> str | None:
        return dict(self.url_params).get(key, default)


def _whole(env: Mapping[str, str], key: str, *, minimum: int = 0) -> int | None:
    """A contract variable as a whole number; missing or empty means not set."""
    raw = env.get(key, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise RuntimeError(f"{key}={raw!r} must be a whole number (milliseconds for the timeouts)") from None
    if value < minimum:
        raise RuntimeError(f"{key}={value} must be at least {minimum}")
    return value

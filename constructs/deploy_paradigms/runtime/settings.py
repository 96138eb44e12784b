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

ALL = (HOST, PORT, NAME, USER, ENGINE, SECRET_ARN, IAM_AUTH, URL_PARAMS)


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
        )

    def param(self, key: str, default: str | None = None) -> str | None:
        return dict(self.url_params).get(key, default)

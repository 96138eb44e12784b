"""What both ``DatabaseMigrations`` renderers (CDK and Pulumi) share: checks and the function's settings."""

from __future__ import annotations

from ..budget import BudgetError
from ..budget.plan import DIRECT_TLS_QUERY
from ..runtime import migrate, settings

#: Migrations need a direct session for the run (Prisma's ``migrate deploy`` opens one or two).
MIGRATION_CONNECTIONS = 1


def check_migration_settings(*, reserve: int, instance_class: str, lock_timeout_s: int,
                             timeout_s: int) -> None:
    """Refuse a database whose reserve cannot hold the migration's connection, and bad timeouts."""
    if reserve < MIGRATION_CONNECTIONS:
        raise BudgetError(
            f"reserve={reserve} on {instance_class} leaves migrations no connection: they run on the "
            f"ledger's reserve over a direct connection; give the Database reserve >= "
            f"{MIGRATION_CONNECTIONS} (the default is 5 %, at least 3)")
    if isinstance(lock_timeout_s, bool) or not isinstance(lock_timeout_s, int) \
            or not 1 <= lock_timeout_s <= 600:
        raise BudgetError(f"lock_timeout_s={lock_timeout_s!r} must be 1-600 s (Prisma waits 10 s for its "
                          f"lock)")
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int) or not lock_timeout_s < timeout_s <= 900:
        raise BudgetError(f"timeout_s={timeout_s!r} must be above lock_timeout_s={lock_timeout_s} and at "
                          f"most 900 (Lambda's limit)")


def migration_environment(*, host: str, port: int, name: str, user: str, engine_is_postgres: bool,
                          secret_arn: str, lock_timeout_s: int) -> dict[str, str]:
    """The migration function's environment: the database endpoint itself (never the proxy)."""
    return {
        settings.HOST: host,
        settings.PORT: str(port),
        settings.NAME: name,
        settings.USER: user,
        settings.ENGINE: "postgres" if engine_is_postgres else "mysql",
        settings.IAM_AUTH: "false",
        settings.SECRET_ARN: secret_arn,
        # One connection (the reserve's), stated so BudgetGuard counts 1, not an assumed pool.
        settings.URL_PARAMS: f"connection_limit={MIGRATION_CONNECTIONS}&{DIRECT_TLS_QUERY}&connect_timeout=5",
        settings.POOL_MAX: str(MIGRATION_CONNECTIONS),
        migrate.ENV_LOCK_TIMEOUT_S: str(lock_timeout_s),
    }

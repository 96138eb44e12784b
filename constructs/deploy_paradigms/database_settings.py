"""Checks and defaults both ``Database`` renderers share (CDK and Pulumi).

Framework-free, so the two engines accept and refuse the same inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .budget import BudgetError, Engine, InputError, normalise_instance_class

__all__ = [
    "MAX_STORAGE_GIB",
    "MIN_BACKUP_RETENTION_DAYS",
    "MIN_STORAGE_GIB",
    "check_database_identifier",
    "check_instance_class_offered",
    "check_parameters",
    "check_port",
    "performance_insights",
    "performance_insights_supported",
    "tls_parameter",
]

#: Automated backups are kept at least this many days unless the user acknowledges less
#: (constructs and the guard's backup-retention rule).
MIN_BACKUP_RETENTION_DAYS = 7
#: gp3 storage of an RDS instance (CreateDBInstance ``AllocatedStorage``, gp3: 20-65,536 GiB).
MIN_STORAGE_GIB = 20
MAX_STORAGE_GIB = 65_536

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def check_database_identifier(what: str, value: object, max_length: int) -> str:
    """A database or master user name RDS accepts: a letter, then letters, digits, underscores.

    ``database_name`` holds at most 63 characters, ``master_username`` 16 (MySQL's limit, the
    smallest of the engines); anything else raises InputError naming the input.
    """
    if not isinstance(value, str) or not _IDENTIFIER.match(value) or len(value) > max_length:
        raise InputError(f"{what}={value!r} must start with a letter and hold only letters, digits and "
                         f"underscores (at most {max_length} characters); for example 'app'")
    return value


# Performance Insights / Database Insights class restrictions (RDS and Aurora user
# guides, "DB engine, Region, and instance class support for Database Insights"):
# RDS MySQL/MariaDB: not on t2/t3/t4g micro and small; Aurora MySQL: not on any t2
# or t3, nor t4g micro/small. PostgreSQL is left off on the same small classes, so
# every engine decides alike.
_NO_PERFORMANCE_INSIGHTS = ("db.t2.", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small")


def tls_parameter(engine: Engine) -> tuple[str, str]:
    """The parameter (name, value) that makes the server refuse unencrypted connections."""
    return ("rds.force_ssl", "1") if engine.is_postgres else ("require_secure_transport", "ON")


def performance_insights_supported(engine: Engine, instance_class: str) -> bool:
    """Whether RDS offers Performance Insights for ``engine`` on ``instance_class``."""
    cls = normalise_instance_class(instance_class)
    if engine is Engine.AURORA_MYSQL and cls.startswith("db.t3."):
        return False
    return not cls.startswith(_NO_PERFORMANCE_INSIGHTS)


def performance_insights(engine: Engine, instance_class: str, requested: bool | None) -> bool:
    """``requested``, or (``None``) on wherever it is supported; asking for it where RDS
    does not offer it is an error rather than a failed deployment."""
    supported = performance_insights_supported(engine, instance_class)
    if requested and not supported:
        raise BudgetError(f"performance_insights=True: {engine.value} does not support Performance "
                          f"Insights on {normalise_instance_class(instance_class)}; use a larger class "
                          f"or leave performance_insights unset")
    return supported if requested is None else bool(requested)


def check_port(engine: Engine, port: int | None) -> int:
    """The listener port: ``port``, or the engine's default when omitted."""
    if port is None:
        return engine.default_port
    if isinstance(port, bool) or not isinstance(port, int) or not 1150 <= port <= 65535:
        raise BudgetError(f"port={port!r} must be a whole number between 1150 and 65535; "
                          f"RDS listens on ports 1150-65535")
    return port


def check_parameters(engine: Engine, parameters: Mapping[str, str] | None) -> dict[str, str]:
    """The user's extra parameter-group entries, refusing the two the constructs own:
    ``max_connections`` (the budget's input) and the TLS switch (always on)."""
    extra = {str(k): str(v) for k, v in (parameters or {}).items()}
    if "max_connections" in extra:
        raise BudgetError("parameters={'max_connections': ...} would bypass the connection budget; "
                          "pass max_connections= instead (the budget and the parameter group both "
                          "use it)")
    tls_name, tls_value = tls_parameter(engine)
    if tls_name in extra and extra[tls_name].upper() not in (tls_value.upper(), "TRUE"):
        raise BudgetError(f"parameters={{{tls_name!r}: {extra[tls_name]!r}}} would allow unencrypted "
                          f"connections; the component forces TLS ({tls_name}={tls_value})")
    return extra


# Previous-generation classes RDS no longer offers for new databases on the default engine
# versions (PostgreSQL 17, MySQL 8.4, MariaDB 11.4, Aurora PostgreSQL 17, Aurora MySQL 3):
# the per-engine class lists cfn-lint carries (rule E3062) exclude every db.t2 class. The
# budget table keeps them: the seed's numbers are for them, and existing databases run on them.
_NOT_OFFERED_FOR_NEW = ("db.t2.",)


def check_instance_class_offered(engine: Engine, instance_class: str, *, default_version: bool) -> None:
    """Refuse a class RDS would reject when creating a database on the default engine version
    (the deployment would fail after the VPC and everything else was created)."""
    cls = normalise_instance_class(instance_class)
    if default_version and cls.startswith(_NOT_OFFERED_FOR_NEW):
        size = cls.split(".", 2)[2]
        raise BudgetError(
            f"instance_class={instance_class!r}: RDS no longer offers {cls.rsplit('.', 1)[0]} classes for "
            f"new {engine.value} databases on the current engine versions; use db.t3.{size} or "
            f"db.t4g.{size} (the budget table lists both), or Database.from_existing for a "
            f"database that already runs on it")


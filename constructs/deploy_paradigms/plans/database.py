"""Checks and defaults both ``Database`` renderers share (CDK and Pulumi).

Framework-free, so the two engines accept and refuse the same inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..budget import BudgetError, Engine, InputError, normalise_instance_class, parse_engine

__all__ = [
    "BUDGET_PARAMETERS",
    "ENHANCED_MONITORING_INTERVAL_S",
    "ENHANCED_MONITORING_POLICY",
    "MAX_STORAGE_GIB",
    "MIN_BACKUP_RETENTION_DAYS",
    "MIN_STORAGE_GIB",
    "check_database_identifier",
    "check_db_user",
    "check_external_consumers",
    "check_import_share",
    "check_instance_class_offered",
    "check_master_user",
    "check_parameters",
    "check_port",
    "check_serverless_inputs",
    "logical_replication_parameters",
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


#: Parameters that change how many connections the application may open: the budget's
#: tables assume the engine defaults (PostgreSQL and RDS keep superuser/rds_superuser slots
#: out of max_connections; PostgreSQL 16 adds reserved_connections), so raising one would make
#: the ledger promise connections the server refuses.
BUDGET_PARAMETERS = ("superuser_reserved_connections", "rds.rds_superuser_reserved_connections",
                     "reserved_connections")


#: The switch that sets wal_level=logical on RDS and Aurora PostgreSQL (a static parameter:
#: it takes effect after a reboot). Owned by ``logical_replication=``.
LOGICAL_REPLICATION = "rds.logical_replication"


def logical_replication_parameters(engine: Engine, enabled: bool) -> dict[str, str]:
    """``{"rds.logical_replication": "1"}`` when ``enabled`` (PostgreSQL engines only), else nothing."""
    if not enabled:
        return {}
    if not engine.is_postgres:
        raise BudgetError(f"logical_replication=True: {engine.value} has no rds.logical_replication; "
                          f"change streams read PostgreSQL logical replication, so use postgres or "
                          f"aurora-postgresql (MySQL-family binlog capture is not supported)")
    return {LOGICAL_REPLICATION: "1"}


def check_parameters(engine: Engine, parameters: Mapping[str, str] | None) -> dict[str, str]:
    """The user's extra parameter-group entries, refusing those the constructs own or the budget
    depends on. Names are compared case-insensitively (RDS parameter names are lowercase and
    ``Max_Connections`` would otherwise slip past): ``max_connections`` (the budget's input),
    the reserved-slot parameters (:data:`BUDGET_PARAMETERS`), the TLS switch (always on) and
    ``rds.logical_replication`` (``logical_replication=``, which ChangeStream checks)."""
    extra = {str(k): str(v) for k, v in (parameters or {}).items()}
    by_name = {k.strip().lower(): (k, v) for k, v in extra.items()}
    if LOGICAL_REPLICATION in by_name:
        raise BudgetError(f"parameters={{{by_name[LOGICAL_REPLICATION][0]!r}: ...}}: pass "
                          f"logical_replication=True instead, so ChangeStream can tell it is on (it keeps "
                          f"WAL for replication slots, and slots need the alarms ChangeStream creates)")
    if "max_connections" in by_name:
        key = by_name["max_connections"][0]
        raise BudgetError(f"parameters={{{key!r}: ...}} would bypass the connection budget; "
                          "pass max_connections= instead (the budget and the parameter group both "
                          "use it)")
    for name in BUDGET_PARAMETERS:
        if name in by_name:
            key, value = by_name[name]
            raise BudgetError(
                f"parameters={{{key!r}: {value!r}}} changes how many connections are left for the "
                f"application, which the connection budget assumes at the engine default; leave it out "
                f"and pass reserve= (connections the ledger keeps free for admins and migrations)")
    tls_name, tls_value = tls_parameter(engine)
    if tls_name in by_name:
        key, value = by_name[tls_name]
        if value.strip().upper() not in (tls_value.upper(), "TRUE"):
            raise BudgetError(f"parameters={{{key!r}: {value!r}}} would allow unencrypted "
                              f"connections; the component forces TLS ({tls_name}={tls_value})")
        del extra[key]  # the component sets it under its canonical name
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



def check_serverless_inputs(engine: str | Engine, instance_class: str, max_acu: float | None) -> None:
    """``max_acu`` and ``db.serverless`` go together, on Aurora only: a provisioned class with
    ``max_acu`` is refused rather than silently turned into Aurora Serverless v2."""
    eng = parse_engine(engine)
    serverless = normalise_instance_class(instance_class) == "db.serverless"
    if not (serverless or max_acu is not None):
        return
    if not eng.is_aurora:
        raise BudgetError(f"instance_class={instance_class!r} / max_acu is Aurora Serverless v2; use "
                          f"engine='aurora-postgresql' or 'aurora-mysql', or a provisioned class")
    if max_acu is None:
        raise BudgetError("instance_class='db.serverless' needs max_acu=<maximum ACU>")
    if not serverless:
        raise BudgetError(f"max_acu={max_acu} sizes Aurora Serverless v2 but instance_class="
                          f"{instance_class!r}; use instance_class='db.serverless' or drop max_acu")


def check_import_share(share: object, *, engine: object, instance_class: object) -> int:
    """The share an imported database hands this app; required, so two apps' ledgers agree."""
    if share is None:
        raise BudgetError(
            f"share is required for a database another app owns (engine={engine!r}, instance_class="
            f"{instance_class!r}): pass from_existing(..., share=N), the connections this app may hold, "
            f"and have the owning app declare it (Database(external_consumers={{'<this app>': N}})); "
            f"within one app, pass the same Database to every stack instead of importing it")
    if isinstance(share, bool) or not isinstance(share, int) or share < 1:
        raise BudgetError(f"share={share!r} must be a whole number of connections, at least 1")
    return share


def check_external_consumers(shares: Mapping[str, int] | None) -> dict[str, int]:
    """``external_consumers``: app name -> connections handed to it."""
    if shares is None:
        return {}
    if not isinstance(shares, Mapping):
        raise BudgetError(f"external_consumers={shares!r} must map each app's name to its share, e.g. "
                          f"{{'billing': 40}}")
    return dict(shares)
# A database user name as both engine families accept it unquoted (PostgreSQL identifiers,
# MySQL account names): an IAM rds-db:connect grant on it then names exactly one user.
_DB_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def check_db_user(db_user: str) -> str:
    """``db_user`` if it names exactly one database user; wildcards (``*``, ``?``) in an
    ``rds-db:connect`` grant would let the function connect as every user, the master included."""
    if not isinstance(db_user, str) or not _DB_USER.match(db_user):
        raise InputError(
            f"db_user={db_user!r} must name exactly one database user (letters, digits and '_', "
            f"starting with a letter or '_', at most 63 characters); the rds-db:connect grant is "
            f"on that name, and a wildcard would grant every database user, the master included")
    return db_user


#: Enhanced Monitoring: OS metrics every 60 s (RDS user guide, "Monitoring OS metrics with Enhanced
#: Monitoring"). Billed as CloudWatch Logs ingestion of the RDSOSMetrics log group: at 60 s, on the
#: order of USD 1-3 per instance per month. 0 turns it off.
ENHANCED_MONITORING_INTERVAL_S = 60
#: The AWS managed policy RDS needs to publish those metrics.
ENHANCED_MONITORING_POLICY = "service-role/AmazonRDSEnhancedMonitoringRole"


def check_master_user(db_user: str, master_username: str, app_username: str, reason: str | None) -> None:
    """Connecting as the master user (DDL, every table, role changes) needs ``master_user_reason``;
    the application role is the default. A database without its own application role (adopted
    with ``from_existing``) names its given user as both, and needs no reason."""
    if db_user == master_username and app_username != master_username and not (reason and reason.strip()):
        raise InputError(
            f"db_user={db_user!r} is the master user, which can change the schema, read every table and "
            f"manage roles; connect as the application role {app_username!r} (the default: omit db_user), "
            f"or pass master_user_reason='<why this function needs it>' (e.g. it runs migrations)")

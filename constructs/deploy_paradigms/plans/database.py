"""Checks and defaults both ``Database`` renderers share (CDK and Pulumi).

Framework-free, so the two engines accept and refuse the same inputs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..app_role import DEFAULT_APP_USERNAME, check_role_name
from ..budget import BudgetError, Engine, InputError, normalise_instance_class, parse_engine
from .checks import SUBNET_TIERS, check_choice, check_log_retention

__all__ = [
    "BUDGET_PARAMETERS",
    "DEFAULT_DATABASE_NAME",
    "DEFAULT_ENGINE",
    "DEFAULT_INSTANCE_CLASS",
    "DEFAULT_LOG_RETENTION_DAYS",
    "DEFAULT_MASTER_USERNAME",
    "DEFAULT_MAX_STORAGE_GIB",
    "DEFAULT_MIN_ACU",
    "DEFAULT_STORAGE_GIB",
    "ENGINE_VERSIONS",
    "ENHANCED_MONITORING_INTERVAL_S",
    "ENHANCED_MONITORING_POLICY",
    "MAX_BACKUP_RETENTION_DAYS",
    "MAX_STORAGE_GIB",
    "MIN_BACKUP_RETENTION_DAYS",
    "MIN_STORAGE_GIB",
    "PERFORMANCE_INSIGHTS_RETENTION_DAYS",
    "DatabasePlan",
    "EngineVersion",
    "check_app_username",
    "check_backup_retention",
    "check_database_identifier",
    "check_db_user",
    "check_deletion_protection",
    "check_external_consumers",
    "check_import_share",
    "check_instance_class_offered",
    "check_master_user",
    "check_parameters",
    "check_port",
    "check_serverless_inputs",
    "check_storage",
    "log_exports",
    "logical_replication_parameters",
    "parameter_group_family",
    "performance_insights",
    "performance_insights_supported",
    "plan_database",
    "tls_parameter",
]

@dataclass(frozen=True)
class EngineVersion:
    """The default version of one engine, as each renderer needs it."""

    #: The full version (CDK's engine object, the template's ``EngineVersion``).
    full: str
    #: The major line CDK's engine object names (``17``, ``8.4``).
    major: str
    #: What Pulumi pins: the major line for RDS engines (a prefix pulumi-aws accepts with automatic
    #: minor upgrades, so an upgrade is not drift); Aurora needs the full version.
    pin: str
    #: The parameter-group family.
    family: str
    #: The logs the database exports to CloudWatch Logs.
    log_exports: tuple[str, ...]


#: The one decision on default engine versions, for CDK and Pulumi (cfn-lint and the RDS release
#: calendar agree these are current; PostgreSQL 16 is deprecated for new instances).
ENGINE_VERSIONS: Mapping[Engine, EngineVersion] = {
    Engine.POSTGRES: EngineVersion("17.6", "17", "17", "postgres17", ("postgresql", "upgrade")),
    Engine.MYSQL: EngineVersion("8.4.6", "8.4", "8.4", "mysql8.4", ("error", "slowquery")),
    Engine.MARIADB: EngineVersion("11.4.5", "11.4", "11.4", "mariadb11.4", ("error", "slowquery")),
    Engine.AURORA_POSTGRESQL: EngineVersion("17.5", "17", "17.5", "aurora-postgresql17", ("postgresql",)),
    Engine.AURORA_MYSQL: EngineVersion("8.0.mysql_aurora.3.10.0", "8.0", "8.0.mysql_aurora.3.10.0",
                                       "aurora-mysql8.0", ("error", "slowquery")),
}


def log_exports(engine: Engine) -> tuple[str, ...]:
    """The logs the database exports to CloudWatch Logs, per engine."""
    return ENGINE_VERSIONS[engine].log_exports


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
        raise InputError(f"performance_insights=True: {engine.value} does not support Performance "
                          f"Insights on {normalise_instance_class(instance_class)}; use a larger class "
                          f"or leave performance_insights unset")
    return supported if requested is None else bool(requested)


def check_port(engine: Engine, port: int | None) -> int:
    """The listener port: ``port``, or the engine's default when omitted."""
    if port is None:
        return engine.default_port
    if isinstance(port, bool) or not isinstance(port, int) or not 1150 <= port <= 65535:
        raise InputError(f"port={port!r} must be a whole number between 1150 and 65535; "
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
        raise InputError(f"logical_replication=True: {engine.value} has no rds.logical_replication; "
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
        raise InputError(f"parameters={{{by_name[LOGICAL_REPLICATION][0]!r}: ...}}: pass "
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
            raise InputError(f"parameters={{{key!r}: {value!r}}} would allow unencrypted "
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
        raise InputError(
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
        raise InputError(f"instance_class={instance_class!r} / max_acu is Aurora Serverless v2; use "
                          f"engine='aurora-postgresql' or 'aurora-mysql', or a provisioned class")
    if max_acu is None:
        raise InputError("instance_class='db.serverless' needs max_acu=<maximum ACU>")
    if not serverless:
        raise InputError(f"max_acu={max_acu} sizes Aurora Serverless v2 but instance_class="
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


def check_deletion_protection(enabled: bool, reason: str | None) -> bool:
    """``deletion_protection=False`` needs ``deletion_protection_reason`` (why one stack delete or
    replacement may remove the database); on, a reason is pointless and refused as a likely slip."""
    if not isinstance(enabled, bool):
        raise InputError(f"deletion_protection={enabled!r} must be True or False")
    given = reason is not None and bool(str(reason).strip())
    if not enabled and not given:
        raise InputError(
            "deletion_protection=False lets one stack delete or replacement remove the database (after its "
            "final snapshot); keep it on (the default), or pass deletion_protection_reason='<why this "
            "database may be deleted>' (e.g. 'preview environment, recreated from seed data')")
    if enabled and reason is not None:
        raise InputError(f"deletion_protection_reason={reason!r} is given but deletion protection is on; "
                         f"drop the reason, or pass deletion_protection=False as well")
    return enabled


# -- the plan ---------------------------------------------------------------------------------------

#: Defaults both renderers resolve ``None`` ("omitted") to.
DEFAULT_ENGINE = "postgres"
DEFAULT_INSTANCE_CLASS = "db.t3.micro"
DEFAULT_MIN_ACU = 0.5
DEFAULT_DATABASE_NAME = "app"
DEFAULT_MASTER_USERNAME = "app_admin"
DEFAULT_STORAGE_GIB = 20
DEFAULT_MAX_STORAGE_GIB = 100
DEFAULT_LOG_RETENTION_DAYS = 30
#: Performance Insights' free retention (days).
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7
#: RDS keeps automated backups 0-35 days (Aurora 1-35).
MAX_BACKUP_RETENTION_DAYS = 35


@dataclass(frozen=True)
class DatabasePlan:
    """Every decision a ``Database`` renderer (CDK or Pulumi) needs, before any resource exists."""

    engine: Engine
    instance_class: str
    serverless: bool
    max_acu: float | None
    min_acu: float | None
    #: The default version entry of the engine (CDK's full version, Pulumi's pin, family, logs).
    default_version: EngineVersion
    #: The version the user gave (Pulumi's string; CDK's engine object rendered as text), or None.
    engine_version: str | None
    #: What Pulumi sets as ``engine_version``: the user's, else the default pin.
    version_pin: str
    #: The version names a minor while RDS upgrades minors automatically: ignore it after creation.
    version_drifts: bool
    family: str
    #: Parameter-group entries: TLS first, then the user's extras and logical replication.
    tls: tuple[str, str]
    extra_parameters: tuple[tuple[str, str], ...]
    max_connections: int | None
    port: int
    database_name: str
    master_username: str
    app_username: str
    multi_az: bool
    storage_type: str
    allocated_storage_gib: int
    #: None: storage autoscaling off.
    max_allocated_storage_gib: int | None
    storage_encrypted: bool
    backup_retention_days: int
    delete_automated_backups: bool
    copy_tags_to_snapshot: bool
    deletion_protection: bool
    snapshot_on_delete: bool
    iam_authentication: bool
    publicly_accessible: bool
    auto_minor_version_upgrade: bool
    performance_insights: bool
    performance_insights_retention_days: int | None
    monitoring_interval_s: int
    log_exports: tuple[str, ...]
    log_retention_days: int
    subnet_tier: str
    logical_replication: bool

    @property
    def parameters(self) -> dict[str, str]:
        """Every parameter-group entry (the cluster parameter group's on Aurora, except
        ``max_connections``, which is an instance-level parameter there)."""
        entries = {self.tls[0]: self.tls[1], **dict(self.extra_parameters)}
        if self.max_connections is not None:
            entries["max_connections"] = str(self.max_connections)
        return entries

    @property
    def cluster_parameters(self) -> dict[str, str]:
        """Aurora's cluster parameter group: TLS and the extras (empty on RDS)."""
        if not self.engine.is_aurora:
            return {}
        return {self.tls[0]: self.tls[1], **dict(self.extra_parameters)}

    @property
    def instance_parameters(self) -> dict[str, str]:
        """The DB (instance) parameter group: everything on RDS; on Aurora only ``max_connections``,
        an instance-level parameter there."""
        if not self.engine.is_aurora:
            return self.parameters
        return {} if self.max_connections is None else {"max_connections": str(self.max_connections)}


def parameter_group_family(engine: Engine, version: str) -> str:
    """``postgres17``, ``mysql8.4``, ``aurora-postgresql17``, ``aurora-mysql8.0``, ... from a version."""
    match = re.match(r"^(\d+)(?:\.(\d+))?", version)
    if not match:
        raise InputError(f"engine_version={version!r} does not start with a version number; pass "
                         f"parameter_group_family= as well (for example {ENGINE_VERSIONS[engine].family!r})")
    major, minor = match.group(1), match.group(2)
    if engine in (Engine.POSTGRES, Engine.AURORA_POSTGRESQL):
        return f"{engine.value}{major}"
    if minor is None:
        raise InputError(f"engine_version={version!r} needs major.minor for {engine.value} (for example "
                         f"{ENGINE_VERSIONS[engine].pin!r}), or pass parameter_group_family=")
    return f"{engine.value}{major}.{minor}"


_family = parameter_group_family  # plan_database's keyword of the same name hides it there
_insights_setting = performance_insights  # likewise


def _whole(name: str, value: object, low: int, high: int, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{name}={value!r} must be a whole number between {low} and {high:,}; {fix}")
    return value


def check_backup_retention(engine: Engine, days: int | None, acknowledged: bool | None) -> int:
    """Automated backups: at least :data:`MIN_BACKUP_RETENTION_DAYS` unless acknowledged (Pulumi's
    ``acknowledge_short_backup_retention``; ``None``: the renderer offers no acknowledgement)."""
    days = MIN_BACKUP_RETENTION_DAYS if days is None else days
    retention = _whole("backup_retention_days", days, 0, MAX_BACKUP_RETENTION_DAYS,
                       "RDS keeps automated backups for 0-35 days")
    if retention < MIN_BACKUP_RETENTION_DAYS and not acknowledged:
        raise InputError(f"backup_retention_days={retention} is below the {MIN_BACKUP_RETENTION_DAYS}-day "
                         f"minimum; keep at least a week of backups" + (
                             "" if acknowledged is None else
                             ", or pass acknowledge_short_backup_retention=True to accept a shorter "
                             "point-in-time recovery window"))
    if engine.is_aurora and retention < 1:
        raise InputError("backup_retention_days=0 is not possible on Aurora (1-35 days)")
    return retention


def check_storage(engine: Engine, allocated: int | None, maximum: int | None,
                  autoscaling: bool) -> tuple[int, int | None]:
    """gp3 storage and its autoscaling ceiling (RDS only: Aurora storage grows by itself)."""
    allocated = DEFAULT_STORAGE_GIB if allocated is None else allocated
    ceiling = (DEFAULT_MAX_STORAGE_GIB if maximum is None else maximum) if autoscaling else None
    if engine.is_aurora:
        return allocated, ceiling
    _whole("allocated_storage_gib", allocated, MIN_STORAGE_GIB, MAX_STORAGE_GIB,
           f"gp3 storage holds {MIN_STORAGE_GIB} to {MAX_STORAGE_GIB:,} GiB")
    if ceiling is not None:
        _whole("max_allocated_storage_gib", ceiling, allocated, MAX_STORAGE_GIB,
               "the autoscaling ceiling must be at least allocated_storage_gib")
    return allocated, ceiling


def check_app_username(app_username: str | None, master_username: str) -> str:
    """The application role: a name every engine accepts, never the master user."""
    name = check_role_name(DEFAULT_APP_USERNAME if app_username is None else app_username)
    if name == master_username:
        raise InputError(f"app_username={name!r} is the master user; the application role must be another "
                         f"user (the master user is kept for the bootstrap and migrations)")
    return name


def plan_database(
    *, engine: str | Engine | None = None, instance_class: str | None = None,
    max_connections: int | None = None, max_acu: float | None = None, min_acu: float | None = None,
    database_name: str | None = None, master_username: str | None = None, app_username: str | None = None,
    port: int | None = None, multi_az: bool | None = None, allocated_storage_gib: int | None = None,
    max_allocated_storage_gib: int | None = None, storage_autoscaling: bool = True,
    backup_retention_days: int | None = None, acknowledge_short_backup_retention: bool | None = None,
    engine_version: str | None = None, parameter_group_family: str | None = None,
    parameters: Mapping[str, str] | None = None, deletion_protection: bool | None = None,
    deletion_protection_reason: str | None = None, performance_insights: bool | None = None,
    logical_replication: bool | None = None, subnet_tier: str | None = None,
    log_retention_days: int | None = None,
) -> DatabasePlan:
    """Every default and check of a new ``Database``, from plain values; ``None`` is "omitted"
    (the defaults above). Raises :class:`InputError` (:class:`BudgetError` for the budget)."""
    eng = parse_engine(DEFAULT_ENGINE if engine is None else engine)
    cls = normalise_instance_class(DEFAULT_INSTANCE_CLASS if instance_class is None else instance_class)
    check_serverless_inputs(eng, cls, max_acu)
    check_instance_class_offered(eng, cls, default_version=engine_version is None)
    master = check_database_identifier(
        "master_username", DEFAULT_MASTER_USERNAME if master_username is None else master_username, 16)
    default = ENGINE_VERSIONS[eng]
    replication = bool(logical_replication)
    tls = tls_parameter(eng)
    extra = {**check_parameters(eng, parameters), **logical_replication_parameters(eng, replication)}
    allocated, ceiling = check_storage(eng, allocated_storage_gib, max_allocated_storage_gib,
                                       storage_autoscaling)
    insights = _insights_setting(eng, cls, performance_insights)
    return DatabasePlan(
        engine=eng, instance_class=cls, serverless=cls == "db.serverless", max_acu=max_acu,
        min_acu=(DEFAULT_MIN_ACU if min_acu is None else min_acu) if max_acu is not None else None,
        default_version=default, engine_version=engine_version,
        version_pin=engine_version or default.pin,
        version_drifts=eng.is_aurora or engine_version is not None,
        family=parameter_group_family or (
            default.family if engine_version is None else _family(eng, engine_version)),
        tls=tls, extra_parameters=tuple(sorted((k, v) for k, v in extra.items() if k != tls[0])),
        max_connections=max_connections, port=check_port(eng, port),
        database_name=check_database_identifier(
            "database_name", DEFAULT_DATABASE_NAME if database_name is None else database_name, 63),
        master_username=master, app_username=check_app_username(app_username, master),
        multi_az=bool(multi_az), storage_type="gp3", allocated_storage_gib=allocated,
        max_allocated_storage_gib=ceiling, storage_encrypted=True,
        backup_retention_days=check_backup_retention(eng, backup_retention_days,
                                                     acknowledge_short_backup_retention),
        delete_automated_backups=False, copy_tags_to_snapshot=True,
        deletion_protection=check_deletion_protection(
            True if deletion_protection is None else deletion_protection, deletion_protection_reason),
        snapshot_on_delete=True, iam_authentication=True, publicly_accessible=False,
        auto_minor_version_upgrade=True, performance_insights=insights,
        performance_insights_retention_days=PERFORMANCE_INSIGHTS_RETENTION_DAYS if insights else None,
        monitoring_interval_s=ENHANCED_MONITORING_INTERVAL_S, log_exports=default.log_exports,
        log_retention_days=check_log_retention("log_retention_days", DEFAULT_LOG_RETENTION_DAYS
                                               if log_retention_days is None else log_retention_days),
        subnet_tier=check_choice("subnet_tier", "isolated" if subnet_tier is None else subnet_tier,
                                 SUBNET_TIERS),
        logical_replication=replication,
    )

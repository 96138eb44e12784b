"""Checks and defaults both ``Database`` renderers share (CDK and Pulumi).

Framework-free, so the two engines accept and refuse the same inputs.
"""

from __future__ import annotations

from collections.abc import Mapping

from .budget import BudgetError, Engine, normalise_instance_class, parse_engine

__all__ = [
    "check_external_consumers",
    "check_import_share",
    "check_instance_class_offered",
    "check_parameters",
    "check_port",
    "check_serverless_inputs",
    "performance_insights",
    "performance_insights_supported",
    "tls_parameter",
]

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

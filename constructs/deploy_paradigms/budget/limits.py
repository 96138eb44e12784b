"""How many connections an application may open on an RDS / Aurora database.

``connection_limit(engine, instance_class)`` answers with the *usable* number:
the engine's ``max_connections`` minus the slots reserved for superusers and
AWS automation. That is the semantics of the seed table in Prisma's deployment
docs (PostgreSQL on RDS: db.t2.micro 77 ... db.m5.4xlarge 4990), whose values
sit exactly 10 below the ``max_connections`` those classes report.

Sources, in the order they are trusted:

1. The seed table (Prisma deployment docs) - exact, PostgreSQL on t2 and m5.
2. AWS published defaults (Aurora user guide: "Maximum connections to an
   Aurora DB instance"; Aurora Serverless v2 by maximum ACU) - exact.
3. The default parameter-group formulas (RDS user guide, "DB parameter
   formulas") applied to nominal memory scaled by the share of memory RDS
   leaves to the engine (``DBInstanceClassMemory``). These are *estimates*:
   the result says so (``ConnectionLimit.estimate``) and a custom parameter
   group's real value can be passed with ``max_connections=``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from .errors import BudgetError, UnknownEngineError, UnknownInstanceClassError

GIB = 1024**3


class Engine(StrEnum):
    """Database engines the budget knows. Values are the RDS engine names."""

    POSTGRES = "postgres"
    MYSQL = "mysql"
    MARIADB = "mariadb"
    AURORA_POSTGRESQL = "aurora-postgresql"
    AURORA_MYSQL = "aurora-mysql"

    @property
    def is_postgres(self) -> bool:
        return self in (Engine.POSTGRES, Engine.AURORA_POSTGRESQL)

    @property
    def is_aurora(self) -> bool:
        return self in (Engine.AURORA_POSTGRESQL, Engine.AURORA_MYSQL)

    @property
    def default_port(self) -> int:
        return 5432 if self.is_postgres else 3306

    @property
    def reserved_connections(self) -> int:
        """Slots the application can never use.

        PostgreSQL: the seed table is 10 below the observed ``max_connections``
        on every class it lists (superuser_reserved_connections plus
        rds.rds_superuser_reserved_connections and RDS monitoring), so 10.
        MySQL family: AWS asks to leave at least 3 connections for its
        automation (Aurora user guide, "Maximum connections").
        """
        return 10 if self.is_postgres else 3


_ENGINE_ALIASES = {
    "postgresql": Engine.POSTGRES,
    "pg": Engine.POSTGRES,
    "aurora-postgres": Engine.AURORA_POSTGRESQL,
}
# Names that do not say which engine they mean: refused rather than guessed.
# (CloudFormation's legacy "aurora" is Aurora MySQL 1, long retired; a reader of
# "aurora" in code could as well mean Aurora PostgreSQL.)
_AMBIGUOUS_ENGINES = {"aurora": ("aurora-mysql", "aurora-postgresql")}

#: Hard ceilings of the max_connections parameter (RDS parameter reference: PostgreSQL
#: 6-262143, MySQL/MariaDB 1-100000).
MAX_CONNECTIONS_PARAMETER_MAXIMUM = {True: 262143, False: 100000}
#: The least memory one more connection costs the server (a PostgreSQL backend's private
#: memory, a MySQL thread's buffers), used as the bound a class's memory sets on
#: max_connections. Generous on purpose: it refuses what cannot fit, not what is unwise.
MIN_BYTES_PER_CONNECTION = {True: 2 * 1024**2, False: 1024**2}


def looks_like_token(value: object) -> bool:
    """True for a deploy-time placeholder (a CDK token such as ``${Token[TOKEN.12]}``) that the
    budget cannot read at synth."""
    return isinstance(value, str) and ("${Token[" in value or "#{Token[" in value)


def parse_engine(engine: str | Engine) -> Engine:
    """Normalise an engine name (``"postgres"``, ``"aurora-mysql"``, ...) to :class:`Engine`."""
    if isinstance(engine, Engine):
        return engine
    key = str(engine).strip().lower()
    if looks_like_token(engine):
        raise UnknownEngineError(
            f"engine={engine!r} is a deploy-time token; the connection budget is decided at synth and "
            f"needs the engine as a literal string, e.g. engine='postgres'")
    if key in _AMBIGUOUS_ENGINES:
        choices = " or ".join(repr(c) for c in _AMBIGUOUS_ENGINES[key])
        raise UnknownEngineError(
            f"engine={engine!r} is ambiguous (Aurora runs MySQL or PostgreSQL, with different "
            f"connection limits); use {choices}")
    try:
        return _ENGINE_ALIASES.get(key) or Engine(key)
    except ValueError:
        known = ", ".join(e.value for e in Engine)
        raise UnknownEngineError(
            f"engine={engine!r} is not a known database engine; use one of: {known}"
        ) from None


def normalise_instance_class(instance_class: str) -> str:
    """``"db.m5.large"`` and ``"m5.large"`` both become ``"db.m5.large"``."""
    if looks_like_token(instance_class):
        raise BudgetError(
            f"instance_class={instance_class!r} is a deploy-time token (a parameter, an import or another "
            f"resource's attribute); the connection budget is decided at synth and needs the class as a "
            f"literal string, e.g. 'db.t3.micro', or pass max_connections= with the real value")
    name = str(instance_class).strip().lower()
    if not name:
        raise BudgetError("instance_class is empty; pass a class such as 'db.t3.micro'")
    return name if name.startswith("db.") else f"db.{name}"


# --- 1. Seed table (Prisma deployment docs): PostgreSQL on RDS, usable connections.
SEED_POSTGRES_USABLE: dict[str, int] = {
    "db.t2.micro": 77,
    "db.t2.small": 188,
    "db.t2.medium": 403,
    "db.t2.large": 846,
    "db.t2.xlarge": 1733,
    "db.t2.2xlarge": 3508,
    "db.m5.large": 813,
    "db.m5.xlarge": 1681,
    "db.m5.2xlarge": 3419,
    "db.m5.4xlarge": 4990,
}

# --- 2. AWS published defaults (max_connections, Aurora user guide).
_AURORA_PG_PUBLISHED: dict[str, int] = {
    "db.t3.medium": 420,
    "db.t3.large": 844,
    "db.t4g.medium": 405,
    "db.t4g.large": 844,
    "db.r5.large": 1600,
    "db.r5.xlarge": 3300,
    "db.r6g.large": 1722,
    "db.r6g.xlarge": 3479,
    **{f"db.{fam}.{size}": 5000 for fam in ("r5", "r6g") for size in ("2xlarge", "4xlarge", "8xlarge")},
}
_AURORA_MYSQL_R_SIZES = {
    "large": 1000, "xlarge": 2000, "2xlarge": 3000, "4xlarge": 4000,
    "8xlarge": 5000, "12xlarge": 6000, "16xlarge": 6000,
}
_AURORA_MYSQL_PUBLISHED: dict[str, int] = {
    "db.t3.medium": 90, "db.t4g.medium": 90, "db.t3.large": 135, "db.t4g.large": 135,
    **{f"db.{fam}.{size}": n for fam in ("r5", "r6g") for size, n in _AURORA_MYSQL_R_SIZES.items()},
}
# Aurora classes AWS documents for both engines but whose value we take from a
# sibling family with the same memory (r6i/r7g = r6g, unconfirmed): estimates.
_AURORA_SIBLING = {"r6i": "r6g", "r7g": "r6g"}

# Aurora Serverless v2, max_connections by maximum ACU (Aurora user guide).
# (max_acu, mysql, postgresql); static until the writer reboots.
_SERVERLESS_V2 = ((1, 90, 189), (4, 135, 823), (8, 1000, 1669), (16, 2000, 3360),
                  (32, 3000, 5000), (64, 4000, 5000), (128, 5000, 5000))
_SERVERLESS_V2_PG_CAP_AT_HALF_ACU = 2000

# --- 3. Nominal memory (GiB) per class, for the formula estimates.
_SIZES_GIB = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32,
              "4xlarge": 64, "8xlarge": 128, "12xlarge": 192, "16xlarge": 256}
_BURSTABLE = ("t2", "t3", "t4g")
_GENERAL = ("m5", "m6g", "m6i", "m7g")  # m7g unconfirmed, assumed equal to m6g
_MEMORY = ("r5", "r6g", "r6i", "r7g")  # r7g unconfirmed, assumed equal to r6g


def nominal_memory_gib(instance_class: str) -> float | None:
    """Nominal memory of a class in GiB, or None when the family is unknown."""
    parts = normalise_instance_class(instance_class).split(".")
    if len(parts) != 3:
        return None
    _, family, size = parts
    if family in _BURSTABLE:
        if size in ("micro", "small", "medium", "large", "xlarge", "2xlarge"):
            return _SIZES_GIB[size]
        return None
    if family in _GENERAL and size in _SIZES_GIB and _SIZES_GIB[size] >= 8:
        return _SIZES_GIB[size]
    if family in _MEMORY and size in _SIZES_GIB and _SIZES_GIB[size] >= 8:
        return _SIZES_GIB[size] * 2  # r classes: twice the memory of m at each size
    return None


def engine_memory_fraction(memory_gib: float) -> float:
    """Share of nominal memory left as ``DBInstanceClassMemory``.

    Derived from the seed classes (observed max_connections x 9531392 bytes):
    1 GiB -> 77 %, 2 GiB -> 88 %, 4 GiB -> 92 %, 8 GiB -> 91 %, 16 GiB -> 94 %,
    32 GiB -> 95 %. We take the lowest seen at or below each size so that an
    estimate errs low (a smaller budget is safe, a larger one is not).
    """
    if memory_gib <= 1:
        return 0.77
    if memory_gib <= 2:
        return 0.87
    if memory_gib < 16:
        return 0.91
    if memory_gib < 32:
        return 0.93
    return 0.95


def _postgres_formula(memory_gib: float) -> int:
    # RDS user guide: LEAST({DBInstanceClassMemory/9531392}, 5000)
    return min(math.floor(memory_gib * GIB * engine_memory_fraction(memory_gib) / 9531392), 5000)


def _mysql_formula(memory_gib: float) -> int:
    # RDS user guide: {DBInstanceClassMemory/12582880}, no cap in the formula
    return math.floor(memory_gib * GIB * engine_memory_fraction(memory_gib) / 12582880)


@dataclass(frozen=True)
class ConnectionLimit:
    """The connection ceiling of one database, with where the number came from.

    ``usable`` is what applications may open: ``max_connections - reserved``.
    """

    engine: Engine
    instance_class: str
    max_connections: int
    reserved: int
    source: str
    estimate: bool

    @property
    def usable(self) -> int:
        return self.max_connections - self.reserved

    def describe(self) -> str:
        tag = " (estimate)" if self.estimate else ""
        return (f"{self.engine.value} {self.instance_class}: max_connections {self.max_connections}"
                f", {self.reserved} reserved, {self.usable} usable{tag} [{self.source}]")


def known_instance_classes(engine: str | Engine) -> tuple[str, ...]:
    """Every class the table can answer for ``engine`` (without an override)."""
    eng = parse_engine(engine)
    families = {
        Engine.POSTGRES: _BURSTABLE + _GENERAL + _MEMORY,
        Engine.MYSQL: _BURSTABLE + _GENERAL + _MEMORY,
        Engine.MARIADB: _BURSTABLE + _GENERAL + _MEMORY,
    }.get(eng)
    if families is None:  # Aurora: the published classes plus their siblings
        published = _AURORA_PG_PUBLISHED if eng is Engine.AURORA_POSTGRESQL else _AURORA_MYSQL_PUBLISHED
        names = set(published)
        for sibling, source in _AURORA_SIBLING.items():
            names |= {n.replace(f".{source}.", f".{sibling}.") for n in published if f".{source}." in n}
        return (*sorted(names), "db.serverless")
    names = {f"db.{fam}.{size}" for fam in families for size in _SIZES_GIB
             if nominal_memory_gib(f"db.{fam}.{size}") is not None}
    return tuple(sorted(names))


def _unknown_class(eng: Engine, instance_class: str) -> UnknownInstanceClassError:
    known = known_instance_classes(eng)
    if eng.is_aurora:  # few classes, not whole families: list them
        listing = f"known classes: {', '.join(known)}"
    else:
        listing = f"known families: {', '.join(sorted({c.split('.')[1] for c in known}))}"
    return UnknownInstanceClassError(
        f"instance_class={instance_class!r} is not in the connection table for {eng.value} "
        f"({listing}); pass max_connections=<value of the max_connections parameter> for a "
        f"custom class or parameter group"
    )


def _table_max_connections(eng: Engine, cls: str) -> tuple[int, str, bool] | None:
    """(max_connections, source, estimate) from the tables, or None."""
    if eng is Engine.POSTGRES and cls in SEED_POSTGRES_USABLE:
        return SEED_POSTGRES_USABLE[cls] + eng.reserved_connections, "Prisma seed table", False
    if eng.is_aurora:
        published = _AURORA_PG_PUBLISHED if eng is Engine.AURORA_POSTGRESQL else _AURORA_MYSQL_PUBLISHED
        if cls in published:
            return published[cls], "AWS Aurora published default", False
        _, family, size = (cls.split(".") + ["", ""])[:3]
        sibling = _AURORA_SIBLING.get(family)
        if sibling and f"db.{sibling}.{size}" in published:
            return (published[f"db.{sibling}.{size}"],
                    f"AWS Aurora published default for db.{sibling}.{size} (same memory)", True)
        return None
    memory = nominal_memory_gib(cls)
    if memory is None:
        return None
    formula = _postgres_formula if eng.is_postgres else _mysql_formula
    return formula(memory), "RDS default parameter formula on nominal memory", True


def max_connections_bound(engine: Engine, instance_class: str) -> tuple[int, str]:
    """The most ``max_connections`` the engine accepts on ``instance_class``, and why.

    The parameter's own ceiling, and on a class of known memory the connections that
    memory can hold at :data:`MIN_BYTES_PER_CONNECTION` each. Aurora Serverless v2 and
    unknown classes get the parameter ceiling only."""
    ceiling = MAX_CONNECTIONS_PARAMETER_MAXIMUM[engine.is_postgres]
    why = f"the {engine.value} max_connections parameter allows at most {ceiling}"
    memory = nominal_memory_gib(instance_class) if instance_class not in ("custom", "db.serverless") else None
    if memory is not None:
        per = MIN_BYTES_PER_CONNECTION[engine.is_postgres]
        by_memory = int(memory * GIB // per)
        if by_memory < ceiling:
            return by_memory, (f"{instance_class} has {memory:g} GiB of memory, room for at most "
                               f"{by_memory} connections at {per // 1024**2} MiB each")
    return ceiling, why


def check_max_connections_bound(engine: Engine, instance_class: str, max_connections: int) -> None:
    """Refuse a ``max_connections`` the class cannot hold (the budget would promise
    connections the server cannot open)."""
    bound, why = max_connections_bound(engine, instance_class)
    if max_connections > bound:
        raise BudgetError(
            f"max_connections={max_connections} is more than {engine.value} can open on {instance_class}: "
            f"{why}; pass the real max_connections of the parameter group (at most {bound}), or use a "
            f"larger instance class")


def serverless_v2_max_connections(engine: str | Engine, max_acu: float, min_acu: float = 0.5) -> int:
    """max_connections of an Aurora Serverless v2 writer sized by its maximum ACU.

    The published table steps at 1, 4, 8, 16, 32, 64, 128 ACU; between steps we
    take the lower row, which never overstates the limit.
    """
    eng = parse_engine(engine)
    if not eng.is_aurora:
        raise BudgetError(f"max_acu applies to Aurora Serverless v2 only, not engine={eng.value!r}; "
                          "use engine='aurora-postgresql' or 'aurora-mysql', or pass instance_class")
    if not 1 <= max_acu <= 256:
        raise BudgetError(f"max_acu={max_acu} is outside Aurora Serverless v2's range 1-256; "
                          "pick a maximum capacity of at least 1 ACU")
    if not 0 <= min_acu <= max_acu:
        raise BudgetError(f"min_acu={min_acu} must be between 0 and max_acu={max_acu}")
    row = max(r for r in _SERVERLESS_V2 if r[0] <= max_acu)
    value = row[2] if eng is Engine.AURORA_POSTGRESQL else row[1]
    if eng is Engine.AURORA_POSTGRESQL and min_acu <= 0.5:
        value = min(value, _SERVERLESS_V2_PG_CAP_AT_HALF_ACU)
    return value


def describe_connection_limit(
    engine: str | Engine,
    instance_class: str | None = None,
    *,
    max_connections: int | None = None,
    max_acu: float | None = None,
    min_acu: float = 0.5,
) -> ConnectionLimit:
    """Look up the connection ceiling, with its source. See :func:`connection_limit`."""
    eng = parse_engine(engine)
    reserved = eng.reserved_connections
    if max_connections is not None:
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise BudgetError(f"max_connections={max_connections!r} must be a whole number")
        if max_connections <= reserved:
            raise BudgetError(
                f"max_connections={max_connections} leaves no usable connection: {eng.value} "
                f"reserves {reserved}; pass the real max_connections of the parameter group "
                f"(greater than {reserved})")
        cls = normalise_instance_class(instance_class) if instance_class else "custom"
        check_max_connections_bound(eng, cls, max_connections)
        return ConnectionLimit(eng, cls, max_connections, reserved, "max_connections override", False)
    serverless = bool(instance_class) and normalise_instance_class(str(instance_class)) == "db.serverless"
    if max_acu is not None or serverless:
        if max_acu is None:
            raise BudgetError("instance_class='db.serverless' needs max_acu=<maximum ACU> "
                              "(Aurora Serverless v2 sets max_connections from it)")
        value = serverless_v2_max_connections(eng, max_acu, min_acu)
        return ConnectionLimit(eng, "db.serverless", value, reserved,
                               f"AWS Aurora Serverless v2 table at {max_acu:g} max ACU", False)
    if not instance_class:
        raise BudgetError("instance_class is required (for example 'db.t3.micro'); "
                          "or pass max_connections= for a custom parameter group")
    cls = normalise_instance_class(instance_class)
    found = _table_max_connections(eng, cls)
    if found is None:
        raise _unknown_class(eng, instance_class)
    value, source, estimate = found
    return ConnectionLimit(eng, cls, value, reserved, source, estimate)


def connection_limit(
    engine: str | Engine,
    instance_class: str | None = None,
    *,
    max_connections: int | None = None,
    max_acu: float | None = None,
    min_acu: float = 0.5,
) -> int:
    """Connections the application may use on this database.

    >>> connection_limit("postgres", "db.m5.large")
    813
    >>> connection_limit("postgres", "m5.large")
    813
    >>> connection_limit("postgres", max_connections=100)  # custom parameter group
    90

    ``max_acu`` (with ``engine`` Aurora) sizes Aurora Serverless v2. Raises
    :class:`UnknownEngineError` / :class:`UnknownInstanceClassError` with the
    known values and the ``max_connections=`` way out.
    """
    return describe_connection_limit(engine, instance_class, max_connections=max_connections,
                                     max_acu=max_acu, min_acu=min_acu).usable

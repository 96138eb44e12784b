"""What each database client needs to obey the plan: recipes generated from a :class:`PoolContract`.

Every paradigm renders the same five numbers (``DATABASE_POOL_MAX`` and the
``DATABASE_*_TIMEOUT_MS`` variables, plus Prisma 6's URL parameters); a client
keeps within its allocation only if its own pool options are set from them.
Defaults are what break budgets: Prisma 7's ``@prisma/adapter-pg`` hands node-postgres
``max`` 10 and no acquire timeout, SQLAlchemy opens ``pool_size`` 5 + ``max_overflow``
10, psycopg_pool keeps ``min_size`` 4 open. The recipes below map each number to
the client's option, with its unit (seconds or milliseconds), so the docs, the README
and ``deploy-paradigms budget --client ...`` all print the same thing.

Sources: node-postgres ``Pool`` options (``max``, ``connectionTimeoutMillis``,
``idleTimeoutMillis``, ``statement_timeout``); Prisma ORM 7 upgrade guide (driver
adapters own the pool; the URL pool parameters are gone); MariaDB Node.js connector
pool options (``connectionLimit``, ``acquireTimeout``, ``connectTimeout`` in ms,
``idleTimeout`` in s); SQLAlchemy ``QueuePool``; psycopg_pool ``ConnectionPool``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..runtime import settings as contract
from .errors import BudgetError
from .plan import PoolContract


@dataclass(frozen=True)
class Setting:
    """One client option and the contract number it takes."""

    option: str  # the client's option name
    variable: str  # the contract's environment variable
    unit: str  # "ms", "s" or "" (a count)
    value: int  # the plan's number, in the option's unit
    note: str = ""


@dataclass(frozen=True)
class Recipe:
    """How to configure one client from the contract: options, a snippet and caveats."""

    client: str
    title: str
    language: str
    settings: tuple[Setting, ...]
    code: str
    notes: tuple[str, ...] = ()
    #: How tests/test_docs_code_blocks.py runs the snippet in the docs (``<!-- doc-test: ... -->``).
    doc_test: str = ""

    def markdown(self) -> str:
        rows = ["| option | from | value |", "|---|---|---:|"]
        for s in self.settings:
            unit = f" {s.unit}" if s.unit else ""
            note = f" ({s.note})" if s.note else ""
            rows.append(f"| `{s.option}` | `{s.variable}`{note} | {s.value}{unit} |")
        notes = "".join(f"- {n}\n" for n in self.notes)
        directive = f"<!-- doc-test: {self.doc_test} -->\n" if self.doc_test else ""
        fence = f"{directive}```{self.language}\n{self.code}```\n"
        return (f"### {self.title}\n\n" + "\n".join(rows) + f"\n\n{fence}"
                + (f"\n{notes}" if notes else ""))

    def as_dict(self) -> dict[str, object]:
        return {"client": self.client, "title": self.title,
                "settings": [{"option": s.option, "variable": s.variable, "unit": s.unit, "value": s.value}
                             for s in self.settings],
                "code": self.code, "notes": list(self.notes)}


def _seconds(ms: int) -> int:
    """Whole seconds for clients that take seconds (rounded down, at least 1 when set)."""
    return max(1, ms // 1000) if ms else 0


#: node-postgres ``Pool`` options from the contract (Prisma 7's adapter-pg and Drizzle pass them on).
PG_POOL_OPTIONS = """  max: Number(env.DATABASE_POOL_MAX),                              // default 10
  connectionTimeoutMillis: Number(env.DATABASE_POOL_TIMEOUT_MS),   // default 0 waits forever
  idleTimeoutMillis: Number(env.DATABASE_IDLE_TIMEOUT_MS),
  statement_timeout: Number(env.DATABASE_STATEMENT_TIMEOUT_MS),
"""

_NODE_POSTGRES_CODE = """import pg from "pg";

const env = process.env;
export const pool = new pg.Pool({
  connectionString: env.DATABASE_URL,                              // without pool parameters
{PG_POOL_OPTIONS}});
""".replace("{PG_POOL_OPTIONS}", PG_POOL_OPTIONS)


def _node_postgres_settings(c: PoolContract) -> tuple[Setting, ...]:
    return (
        Setting("max", contract.POOL_MAX, "", c.pool_max, "default 10"),
        Setting("connectionTimeoutMillis", contract.POOL_TIMEOUT_MS, "ms", c.pool_timeout_ms,
                "covers waiting for a pooled client and connecting; default 0 = forever"),
        Setting("idleTimeoutMillis", contract.IDLE_TIMEOUT_MS, "ms", c.idle_timeout_ms, "default 10000"),
        Setting("statement_timeout", contract.STATEMENT_TIMEOUT_MS, "ms", c.statement_timeout_ms),
    )


def _prisma7(c: PoolContract, postgres: bool) -> Recipe:
    if postgres:
        code = """import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client";

const env = process.env;
// Prisma 7 ignores connection_limit / pool_timeout in the URL: the adapter's pool decides.
const adapter = new PrismaPg({
  connectionString: env.DATABASE_URL,
{PG_POOL_OPTIONS}});
export const prisma = new PrismaClient({ adapter });
""".replace("{PG_POOL_OPTIONS}", PG_POOL_OPTIONS)
        title = "Prisma ORM 7 (@prisma/adapter-pg)"
        return Recipe("prisma7", title, "ts", _node_postgres_settings(c), code, (
            "The adapter passes these options to node-postgres `Pool`; left out, each process "
            "opens up to 10 connections and a request waits for one forever.",
            "`connection_limit` and `pool_timeout` in `DATABASE_URL` are ignored by Prisma 7: an app "
            "that relies on them runs with the adapter's defaults.",
        ))
    code = """import { PrismaMariaDb } from "@prisma/adapter-mariadb";
import { PrismaClient } from "./generated/prisma/client";

const env = process.env;
const adapter = new PrismaMariaDb({
  host: env.DATABASE_HOST, port: Number(env.DATABASE_PORT), database: env.DATABASE_NAME,
  user: env.DATABASE_USER, password: env.DATABASE_PASSWORD,
  connectionLimit: Number(env.DATABASE_POOL_MAX),
  acquireTimeout: Number(env.DATABASE_POOL_TIMEOUT_MS),
  connectTimeout: Number(env.DATABASE_CONNECT_TIMEOUT_MS),
  idleTimeout: Number(env.DATABASE_IDLE_TIMEOUT_MS) / 1000,     // seconds in this driver
  queryTimeout: Number(env.DATABASE_STATEMENT_TIMEOUT_MS),
});
export const prisma = new PrismaClient({ adapter });
"""
    return Recipe("prisma7", "Prisma ORM 7 (@prisma/adapter-mariadb)", "ts", (
        Setting("connectionLimit", contract.POOL_MAX, "", c.pool_max, "default 10"),
        Setting("acquireTimeout", contract.POOL_TIMEOUT_MS, "ms", c.pool_timeout_ms),
        Setting("connectTimeout", contract.CONNECT_TIMEOUT_MS, "ms", c.connect_timeout_ms),
        Setting("idleTimeout", contract.IDLE_TIMEOUT_MS, "s", _seconds(c.idle_timeout_ms), "divide by 1000"),
        Setting("queryTimeout", contract.STATEMENT_TIMEOUT_MS, "ms", c.statement_timeout_ms),
    ), code, ("The MariaDB adapter serves MySQL and MariaDB; the mariadb driver's pool defaults to "
              "connectionLimit 10.",))


def _prisma6(c: PoolContract, postgres: bool) -> Recipe:
    scheme = "postgresql" if postgres else "mysql"
    code = f"""# DATABASE_URL_PARAMS carries Prisma 6's names; append it to the URL the app builds:
DATABASE_URL="{scheme}://USER:PASSWORD@$DATABASE_HOST:$DATABASE_PORT/$DATABASE_NAME?$DATABASE_URL_PARAMS"
"""
    return Recipe("prisma6", "Prisma ORM 6 and earlier (URL parameters)", "sh", (
        Setting("connection_limit", contract.POOL_MAX, "", c.pool_max, "also in DATABASE_URL_PARAMS"),
        Setting("pool_timeout", contract.POOL_TIMEOUT_MS, "s", _seconds(c.pool_timeout_ms), "seconds"),
        Setting("connect_timeout", contract.CONNECT_TIMEOUT_MS, "s", _seconds(c.connect_timeout_ms),
                "seconds"),
    ), code, (
        "Prisma 6 has no idle or statement timeout in the URL: set the statement timeout on the "
        "database role (`ALTER ROLE app SET statement_timeout = '...'` on PostgreSQL).",
        "The web container exports this URL as DATABASE_URL for an ORM in the same process.",
    ))


def _node_postgres(c: PoolContract, postgres: bool) -> Recipe:
    return Recipe("node-postgres", "node-postgres (pg.Pool)", "ts", _node_postgres_settings(c),
                  _NODE_POSTGRES_CODE, ("`connectionTimeoutMillis` is the only acquire timeout: "
                                        "without it a saturated pool queues requests forever.",))


def _sqlalchemy(c: PoolContract, postgres: bool) -> Recipe:
    code = """import os
from sqlalchemy import create_engine

env = os.environ
engine = create_engine(
    os.environ["DATABASE_URL"],                      # postgresql+psycopg://... (no pool parameters)
    pool_size=int(env["DATABASE_POOL_MAX"]),
    max_overflow=0,                                  # default 10 more on top of pool_size
    pool_timeout=int(env["DATABASE_POOL_TIMEOUT_MS"]) / 1000,
    pool_pre_ping=True,
    connect_args={
        "connect_timeout": max(1, int(env["DATABASE_CONNECT_TIMEOUT_MS"]) // 1000),
        "options": f"-c statement_timeout={env['DATABASE_STATEMENT_TIMEOUT_MS']}",
    },
)
"""
    return Recipe("sqlalchemy", "SQLAlchemy (QueuePool)", "python", (
        Setting("pool_size", contract.POOL_MAX, "", c.pool_max, "default 5"),
        Setting("max_overflow", contract.POOL_MAX, "", 0, "always 0; default 10 over pool_size"),
        Setting("pool_timeout", contract.POOL_TIMEOUT_MS, "s", _seconds(c.pool_timeout_ms), "seconds"),
        Setting("connect_args.connect_timeout", contract.CONNECT_TIMEOUT_MS, "s",
                _seconds(c.connect_timeout_ms), "libpq, whole seconds"),
        Setting("connect_args.options", contract.STATEMENT_TIMEOUT_MS, "ms", c.statement_timeout_ms,
                "-c statement_timeout=..."),
    ), code, ("QueuePool has no idle timeout; `pool_recycle` bounds a connection's age instead.",
              "On MySQL use `connect_args={'read_timeout': ...}` and `max_execution_time` for reads."),
        doc_test="context=database-env url-scheme=postgresql+psycopg")


def _psycopg_pool(c: PoolContract, postgres: bool) -> Recipe:
    code = """import os
from psycopg_pool import ConnectionPool

env = os.environ
pool = ConnectionPool(
    os.environ["DATABASE_URL"],
    open=True,
    min_size=0,                                       # default 4, opened at start
    max_size=int(env["DATABASE_POOL_MAX"]),
    timeout=int(env["DATABASE_POOL_TIMEOUT_MS"]) / 1000,
    max_idle=int(env["DATABASE_IDLE_TIMEOUT_MS"]) / 1000,
    kwargs={
        "connect_timeout": max(1, int(env["DATABASE_CONNECT_TIMEOUT_MS"]) // 1000),
        "options": f"-c statement_timeout={env['DATABASE_STATEMENT_TIMEOUT_MS']}",
    },
)
"""
    return Recipe("psycopg-pool", "psycopg_pool (ConnectionPool)", "python", (
        Setting("max_size", contract.POOL_MAX, "", c.pool_max, "default = min_size"),
        Setting("min_size", contract.POOL_MAX, "", 0, "0 or at most max_size; default 4"),
        Setting("timeout", contract.POOL_TIMEOUT_MS, "s", _seconds(c.pool_timeout_ms), "seconds, float"),
        Setting("max_idle", contract.IDLE_TIMEOUT_MS, "s", _seconds(c.idle_timeout_ms), "seconds, float"),
        Setting("kwargs.connect_timeout", contract.CONNECT_TIMEOUT_MS, "s", _seconds(c.connect_timeout_ms)),
        Setting("kwargs.options", contract.STATEMENT_TIMEOUT_MS, "ms", c.statement_timeout_ms,
                "-c statement_timeout=..."),
    ), code, ("PostgreSQL only (psycopg 3).",), doc_test="context=database-env")


def _drizzle(c: PoolContract, postgres: bool) -> Recipe:
    code = """import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";

const env = process.env;
// Drizzle has no pool of its own: configure the driver's pool it is given.
const pool = new pg.Pool({
  connectionString: env.DATABASE_URL,
{PG_POOL_OPTIONS}});
export const db = drizzle({ client: pool });
""".replace("{PG_POOL_OPTIONS}", PG_POOL_OPTIONS)
    return Recipe("drizzle", "Drizzle ORM (node-postgres driver)", "ts", _node_postgres_settings(c), code, (
        "With postgres.js instead: `postgres(url, { max, idle_timeout, connect_timeout })`, the "
        "last two in seconds.",
        "With mysql2: `createPool({ connectionLimit, connectTimeout, idleTimeout })` (milliseconds).",
    ))


_RECIPES = {
    "prisma7": _prisma7,
    "prisma6": _prisma6,
    "node-postgres": _node_postgres,
    "sqlalchemy": _sqlalchemy,
    "psycopg-pool": _psycopg_pool,
    "drizzle": _drizzle,
}
#: Clients with a recipe, in the order the README lists them.
CLIENTS: tuple[str, ...] = tuple(_RECIPES)


def recipe(client: str, pool: PoolContract, *, postgres: bool = True) -> Recipe:
    """The recipe for ``client`` (one of :data:`CLIENTS`) with ``pool``'s numbers."""
    build = _RECIPES.get(client)
    if build is None:
        raise BudgetError(f"client={client!r} has no recipe; choose one of {', '.join(CLIENTS)}")
    if not postgres and client in ("node-postgres", "psycopg-pool", "drizzle"):
        raise BudgetError(f"client={client!r} is PostgreSQL only; for the MySQL family use prisma7 "
                          f"(adapter-mariadb), prisma6 or sqlalchemy")
    return build(pool, postgres)


def recipes_table(pool: PoolContract) -> str:
    """Markdown: per client, which options take which contract variable (for the README)."""
    rows = ["| client | pool size | acquire timeout | connect timeout | idle timeout | statement timeout |",
            "|---|---|---|---|---|---|"]
    for client in CLIENTS:
        r = recipe(client, pool)
        by_var: dict[str, list[str]] = {}
        for s in r.settings:
            if s.variable == contract.POOL_MAX and s.value != pool.pool_max:
                continue  # fixed companions (max_overflow=0, min_size=0) are in the notes column below
            unit = f" ({s.unit})" if s.unit == "s" else ""
            by_var.setdefault(s.variable, []).append(f"`{s.option}`{unit}")
        fixed = [f"`{s.option}={s.value}`" for s in r.settings
                 if s.variable == contract.POOL_MAX and s.value != pool.pool_max]
        cells = [", ".join(by_var.get(v, ["-"])) for v in contract.POOL_CONTRACT]
        if fixed:
            cells[0] += ", " + ", ".join(fixed)
        rows.append(f"| {r.title} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"

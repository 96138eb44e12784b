"""The four connection scenarios as plain numbers (no server, no CDK: the smoke test runs this).

Each scenario says how many concurrent callers it runs, how many connections each may
hold, what caps them, and what the run must show. The settings come from the
synthesized templates (see :mod:`bench.stack_settings`); nothing here is a constant of
the library.

a. *Common default*: Lambda without a concurrency cap, each instance with Prisma's
   default pool (``connection_limit = num_cpus * 2 + 1 = 5`` on Lambda's 2 vCPUs, Prisma
   docs "Connection URLs"), its handler running 5 queries at once, straight to the
   database. Demand is ``instances x 5``: far over the budget, so it must fail.
b. *The seed's rule*: concurrency = the usable limit, ``connection_limit=1``, direct.
   Fits exactly, with no headroom left for admin sessions or migrations.
c. *Our serverless stack*: reserved concurrency and RDS Proxy share from the ``Serverless``
   template, PgBouncer (session pooling) standing in for the proxy, and a burst of twice
   the cap: the excess is throttled by "Lambda", never a database error.
d. *Our container service* during a rolling deploy: ``max_tasks x maximum_percent`` tasks
   at once (old and new), each with the pool size from the ``Paas`` template, offered twice
   as many concurrent requests as its pool holds.
e. *A Prisma-7-style default pool* in the same service and deploy: the app ignores the
   pool contract (Prisma 7 drops ``connection_limit``), so each task's adapter pool is
   node-postgres' default ``max`` 10 with no acquire timeout. Over the budget: must fail.
f. *Our containers, blue/green deploy*: both revisions at full size through the bake time
   (2 x ``max_tasks``, whatever ``maximumPercent`` says), the pool planned for it.
g. *Multi-concurrency environments* (Lambda Managed Instances): ``environments x processes
   x pool`` from ``plan_managed_instances`` (Python: one process per concurrent request),
   all at once.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from deploy_paradigms.budget import ConnectionLedger, ConnectionLimit, UrlParameters
from deploy_paradigms.budget.plan import plan_containers, plan_managed_instances

#: Prisma's default pool on Lambda: num_cpus * 2 + 1 with 2 vCPUs (Prisma docs, "Connection URLs").
PRISMA_DEFAULT_POOL = 5
#: Scenario a: function instances per usable connection (the default concurrency is not
#: tied to the database at all; twice the budget is a modest spike).
UNCAPPED_INSTANCES_FACTOR = 2
#: Scenario c: invocations offered per unit of reserved concurrency.
BURST_FACTOR = 2
#: Scenario d: concurrent requests offered to each task per pooled connection.
REQUESTS_PER_POOLED_CONNECTION = 2
#: What (c) and (d) must reach of the usable connections at peak.
MIN_UTILISATION = 0.90
#: Scenario e: node-postgres Pool's default ``max``, which Prisma 7's adapter-pg passes on.
PRISMA7_ADAPTER_DEFAULT_POOL = 10
#: Scenario g: requests (= Python processes) per Lambda Managed Instances environment.
MANAGED_INSTANCES_CONCURRENCY = 8
#: Keys of the scenarios run as pooled tasks (old and new revisions, or environments).
POOLED_KEYS = ("d", "e", "f", "g")


@dataclass(frozen=True)
class ServerlessSettings:
    """What the ``Serverless`` template decides (read by :mod:`bench.stack_settings`)."""

    reserved_concurrency: int
    url_params: str  # DATABASE_URL_PARAMS of the function
    proxy_max_connections_percent: int
    proxy_max_idle_connections_percent: int
    proxy_borrow_timeout_s: int
    proxy_idle_client_timeout_s: int
    proxy_require_tls: bool
    proxy_database_connections: int  # ProxySettings.database_connections(limit)

    @property
    def connection_limit(self) -> int:
        return int(dict(parse_qsl(self.url_params))["connection_limit"])


@dataclass(frozen=True)
class PaasSettings:
    """What the ``Paas`` template decides."""

    url_params: str  # DATABASE_URL_PARAMS of the container
    min_tasks: int
    max_tasks: int
    maximum_percent: int
    minimum_healthy_percent: int

    @property
    def pool_size(self) -> int:
        return int(dict(parse_qsl(self.url_params))["connection_limit"])

    @property
    def pool_timeout_s(self) -> float:
        return float(dict(parse_qsl(self.url_params)).get("pool_timeout", "0"))

    @property
    def peak_tasks(self) -> int:
        """Tasks running at once during a rolling deploy at full scale (ECS maximumPercent)."""
        return math.ceil(self.max_tasks * self.maximum_percent / 100)


@dataclass(frozen=True)
class Scenario:
    key: str
    name: str
    route: str  # "direct" or "proxy"
    callers: int  # concurrent callers the run starts (threads)
    connections_per_caller: int  # most connections one caller's pool may hold
    concurrency_cap: int | None  # "Lambda" admits at most this many at once (None: no cap)
    url_params: str
    demand: int  # connections wanted at once if nothing refused them
    expected_peak: int  # connections the database should see at peak
    expect_connection_errors: bool
    expect_throttles: bool
    min_utilisation: float | None  # of the usable connections, at peak
    description: str
    old_tasks: int = 0  # (d) tasks serving before the deploy
    new_tasks: int = 0  # (d) tasks the deploy starts next to them

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def prisma_default_url(tls_mode: str) -> str:
    """The URL parameters of an app that kept Prisma's defaults (pool 5 on Lambda)."""
    params = UrlParameters(connection_limit=PRISMA_DEFAULT_POOL, sslmode=tls_mode)
    return params.query_string()


def seed_rule_url(tls_mode: str) -> str:
    """The seed's serverless advice: ``connection_limit=1`` (and Prisma's other defaults)."""
    return UrlParameters(connection_limit=1, sslmode=tls_mode).query_string()


def plan_scenarios(limit: ConnectionLimit, serverless: ServerlessSettings, paas: PaasSettings,
                   *, tls_mode: str = "require") -> list[Scenario]:
    """The four scenarios for one database, from the stacks' settings."""
    usable = limit.usable
    instances = UNCAPPED_INSTANCES_FACTOR * usable
    cap = serverless.reserved_concurrency
    per_env = serverless.connection_limit
    proxy_conns = serverless.proxy_database_connections
    tasks = paas.peak_tasks
    return [
        Scenario(
            key="a", name="common default", route="direct",
            callers=instances, connections_per_caller=PRISMA_DEFAULT_POOL, concurrency_cap=None,
            url_params=prisma_default_url(tls_mode),
            demand=instances * PRISMA_DEFAULT_POOL, expected_peak=usable,
            expect_connection_errors=True, expect_throttles=False, min_utilisation=None,
            description=(f"{instances} Lambda instances (2x the {usable} usable), no concurrency cap, "
                         f"Prisma's default pool of {PRISMA_DEFAULT_POOL} each (5 parallel queries per "
                         f"invocation), direct to the database")),
        Scenario(
            key="b", name="seed rule", route="direct",
            callers=usable, connections_per_caller=1, concurrency_cap=usable,
            url_params=seed_rule_url(tls_mode),
            demand=usable, expected_peak=usable,
            expect_connection_errors=False, expect_throttles=False, min_utilisation=None,
            description=(f"concurrency = limit ({usable}), connection_limit=1, direct; fits exactly and "
                         f"leaves nothing for admin sessions or migrations")),
        Scenario(
            key="c", name="our serverless", route="proxy",
            callers=BURST_FACTOR * cap, connections_per_caller=per_env, concurrency_cap=cap,
            url_params=serverless.url_params,
            demand=cap * per_env, expected_peak=min(cap * per_env, proxy_conns),
            expect_connection_errors=False, expect_throttles=True, min_utilisation=MIN_UTILISATION,
            description=(f"reserved concurrency {cap} x connection_limit {per_env} through the proxy "
                         f"stand-in ({serverless.proxy_max_connections_percent}% of max_connections = "
                         f"{proxy_conns} connections), burst of {BURST_FACTOR * cap} concurrent "
                         f"invocations: the excess is throttled")),
        Scenario(
            key="d", name="our containers, rolling deploy", route="direct",
            callers=tasks * paas.pool_size * REQUESTS_PER_POOLED_CONNECTION,
            connections_per_caller=paas.pool_size, concurrency_cap=None,
            url_params=paas.url_params,
            demand=tasks * paas.pool_size, expected_peak=tasks * paas.pool_size,
            expect_connection_errors=False, expect_throttles=False, min_utilisation=MIN_UTILISATION,
            description=(f"{paas.max_tasks} old + {tasks - paas.max_tasks} new tasks "
                         f"({paas.maximum_percent}% during the deploy), pool {paas.pool_size} each, "
                         f"{REQUESTS_PER_POOLED_CONNECTION * paas.pool_size} concurrent requests per task"),
            old_tasks=paas.max_tasks, new_tasks=tasks - paas.max_tasks),
        *contract_scenarios(limit, paas, tls_mode=tls_mode),
    ]


def contract_scenarios(limit: ConnectionLimit, paas: PaasSettings, *, tls_mode: str) -> list[Scenario]:
    """(e) a Prisma-7-style default pool vs the contract, (f) blue/green, (g) multi-concurrency."""
    tasks = paas.peak_tasks
    default_url = UrlParameters(PRISMA7_ADAPTER_DEFAULT_POOL, pool_timeout=0, sslmode=tls_mode).query_string()
    available = ConnectionLedger(limit).available
    blue_green = plan_containers(limit, available, max_tasks=paas.max_tasks, min_tasks=paas.min_tasks,
                                 maximum_percent=paas.maximum_percent, deploy_strategy="blue-green")
    bg_url = replace(blue_green.url, sslmode=tls_mode).query_string()
    managed = plan_managed_instances(limit, available,
                                     per_environment_concurrency=MANAGED_INSTANCES_CONCURRENCY)
    processes = managed.max_environments * managed.processes_per_environment
    lmi_url = UrlParameters(managed.pool_per_process, sslmode=tls_mode).query_string()
    return [
        Scenario(
            key="e", name="Prisma 7 default pool, rolling deploy", route="direct",
            callers=tasks * PRISMA7_ADAPTER_DEFAULT_POOL * REQUESTS_PER_POOLED_CONNECTION,
            connections_per_caller=PRISMA7_ADAPTER_DEFAULT_POOL, concurrency_cap=None, url_params=default_url,
            demand=tasks * PRISMA7_ADAPTER_DEFAULT_POOL, expected_peak=limit.usable,
            expect_connection_errors=True, expect_throttles=False, min_utilisation=None,
            description=(f"scenario d's {tasks} tasks, but each app ignores DATABASE_POOL_MAX="
                         f"{paas.pool_size}: adapter-pg's default pool {PRISMA7_ADAPTER_DEFAULT_POOL}, "
                         f"no acquire timeout"),
            old_tasks=paas.max_tasks, new_tasks=tasks - paas.max_tasks),
        Scenario(
            key="f", name="our containers, blue/green deploy", route="direct",
            callers=blue_green.peak_tasks * blue_green.pool_size * REQUESTS_PER_POOLED_CONNECTION,
            connections_per_caller=blue_green.pool_size, concurrency_cap=None, url_params=bg_url,
            demand=blue_green.connections, expected_peak=blue_green.connections,
            expect_connection_errors=False, expect_throttles=False, min_utilisation=MIN_UTILISATION,
            description=(f"{paas.max_tasks} blue + {blue_green.peak_tasks - paas.max_tasks} green tasks "
                         f"through the bake time (200 %), pool {blue_green.pool_size} each"),
            old_tasks=paas.max_tasks, new_tasks=blue_green.peak_tasks - paas.max_tasks),
        Scenario(
            key="g", name="multi-concurrency environments", route="direct",
            callers=processes * managed.pool_per_process * REQUESTS_PER_POOLED_CONNECTION,
            connections_per_caller=managed.pool_per_process, concurrency_cap=None, url_params=lmi_url,
            demand=managed.connections, expected_peak=managed.connections,
            expect_connection_errors=False, expect_throttles=False, min_utilisation=MIN_UTILISATION,
            description=(f"Lambda Managed Instances: {managed.max_environments} environments x "
                         f"{managed.processes_per_environment} processes x pool {managed.pool_per_process}"),
            old_tasks=processes, new_tasks=0),
    ]



def check_outcome(scenario: Scenario, *, connection_errors: int, other_errors: int, throttles: int,
                  peak_connections: int, usable: int) -> list[str]:
    """What went against expectations (empty: as expected)."""
    problems: list[str] = []
    if scenario.expect_connection_errors and connection_errors == 0:
        problems.append("expected connection errors, saw none (demand did not exceed the budget?)")
    if not scenario.expect_connection_errors and connection_errors:
        problems.append(f"{connection_errors} connection error(s)")
    if not scenario.expect_connection_errors and other_errors:
        problems.append(f"{other_errors} other error(s)")
    if scenario.expect_throttles and throttles == 0:
        problems.append("expected throttles at a burst over the cap, saw none")
    if scenario.min_utilisation is not None and peak_connections < scenario.min_utilisation * usable:
        problems.append(f"peak {peak_connections} is under {scenario.min_utilisation:.0%} of the "
                        f"{usable} usable connections")
    if peak_connections > usable:
        problems.append(f"peak {peak_connections} exceeds the {usable} usable connections")
    return problems

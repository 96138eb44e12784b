"""Turn a connection budget into paradigm settings.

Each planner returns a small frozen value object. The CDK and Pulumi renderers
read every number from it and never recompute one, so both engines make the
same decisions (the parity tests compare them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from ..runtime import settings as contract
from .errors import BudgetError
from .limits import ConnectionLimit

if TYPE_CHECKING:  # account.py imports this module's constants
    from .account import AccountConcurrency

# Lambda quotas (Lambda developer guide, "Lambda quotas"): 1000 concurrent
# executions per account and Region by default, and at least 100 must stay
# unreserved, so at most limit - 100 can be reserved across all functions.
DEFAULT_ACCOUNT_CONCURRENCY = 1000
UNRESERVED_CONCURRENCY_MINIMUM = 100

# RDS Proxy (RDS user guide, "RDS Proxy connection considerations").
PROXY_DEFAULT_IDLE_CLIENT_TIMEOUT_S = 1800
PROXY_IDLE_CLIENT_TIMEOUT_RANGE = (1, 28800)
PROXY_BORROW_TIMEOUT_RANGE = (0, 300)

# Our defaults, and why:
#  - a reserve of 5 % (at least 3) of the usable connections stays free for
#    admin sessions and migrations; the app keeps >= 85 % of the seed budget.
#  - idle client timeout 120 s instead of 1800 s: a frozen or recycled Lambda
#    environment leaves a "zombie" client connection behind (seed docs); with
#    Prisma's prepared statements that client may pin a database connection
#    until the proxy drops it.
#  - borrow timeout 10 s, under the function timeout, so a saturated proxy
#    fails a request with a clear error instead of timing the function out.
DEFAULT_RESERVE_FRACTION = 0.05
DEFAULT_RESERVE_MINIMUM = 3
DEFAULT_IDLE_CLIENT_TIMEOUT_S = 120
DEFAULT_BORROW_TIMEOUT_S = 10
DEFAULT_FUNCTION_TIMEOUT_S = 30
# Prisma connection URL defaults (Prisma docs, "Connection URLs"): pool_timeout
# 10 s, connect_timeout 5 s.
DEFAULT_POOL_TIMEOUT_S = 10
DEFAULT_CONNECT_TIMEOUT_S = 5
#: What a container request may take before its statement is cancelled (the ALB's idle
#: timeout is 60 s; a web request running half a minute has already failed its user).
DEFAULT_REQUEST_TIMEOUT_S = 30
# Pool contract idle timeout: a pooled connection idle for 60 s is closed, so a quiet
# task gives connections back; behind RDS Proxy it is also kept under half the proxy's
# idle client timeout, so the client closes first (no dead socket). The contract's
# statement timeout is the URL's (UrlParameters.bounded): one number for both.
DEFAULT_IDLE_TIMEOUT_S = 60
# ECS rolling deployments: maximumPercent 200 / minimumHealthyPercent 100 by
# default (ECS developer guide), i.e. up to twice the tasks during a deploy.
DEFAULT_MAXIMUM_PERCENT = 200
DEFAULT_MINIMUM_HEALTHY_PERCENT = 100
# Deploy strategies and the share of max_tasks each runs at once (ECS developer guide,
# "Deploy Amazon ECS services"): a rolling deploy runs up to maximumPercent; native
# blue/green, canary and linear deployments start the new revision at full size next
# to the old one and keep both through the bake time: 200 % whatever maximumPercent says.
DEPLOY_STRATEGIES = ("rolling", "blue-green", "canary", "linear")
BOTH_REVISIONS_PERCENT = 200
# Compute models: Lambda (one request per execution environment) and Lambda Managed
# Instances, where one environment serves many requests (Python: one process per
# concurrent request, 16 per vCPU by default; PerExecutionEnvironmentMaxConcurrency up
# to 1600) and reserved concurrency does not cap the environments.
COMPUTE_MODELS = ("lambda", "lambda-managed-instances")
MANAGED_INSTANCES_MAX_CONCURRENCY = 1600


def default_reserve(limit: ConnectionLimit) -> int:
    """Connections kept back for admin/migrations when the user does not say."""
    return min(max(DEFAULT_RESERVE_MINIMUM, math.ceil(limit.usable * DEFAULT_RESERVE_FRACTION)),
               limit.usable - 1)


def check_whole(name: str, value: object, *, minimum: int = 0, maximum: int | None = None,
                fix: str = "") -> int:
    """Validate an integer input, naming it and the fix in the error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BudgetError(f"{name}={value!r} must be a whole number{'; ' + fix if fix else ''}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise BudgetError(f"{name}={value} must be {bound}{'; ' + fix if fix else ''}")
    return value


#: TLS for clients of RDS Proxy: the chain against the system store, and the host name.
PROXY_SSLMODE = "verify-full"
#: TLS for direct connections to RDS and Aurora: the chain against the RDS CA bundle shipped in the
#: runtime package (runtime/rds-ca-bundle.pem, sources in rds-ca-bundle.md), and the host name
#: (instance and cluster endpoints carry their names in the certificate).
DIRECT_SSLMODE = "verify-full"
#: A relative ``sslrootcert`` is resolved next to runtime/connection.py, where every bundle ships it.
RDS_CA_BUNDLE = "rds-ca-bundle.pem"
#: The URL parameters of direct TLS, for settings rendered as literal query strings.
DIRECT_TLS_QUERY = f"sslmode={DIRECT_SSLMODE}&sslrootcert={RDS_CA_BUNDLE}"


@dataclass(frozen=True)
class UrlParameters:
    """Prisma-style connection URL parameters, rendered in a stable order."""

    connection_limit: int
    pool_timeout: int = DEFAULT_POOL_TIMEOUT_S
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT_S
    sslmode: str = "require"
    #: The CA file for ``verify-ca``/``verify-full`` (None: not rendered, the system store).
    sslrootcert: str | None = None
    #: Seconds a read on the socket may block (None: not rendered, no limit).
    socket_timeout: int | None = None
    #: Milliseconds the server lets a statement run (None: not rendered, no limit).
    statement_timeout: int | None = None

    @classmethod
    def bounded(cls, connection_limit: int, pool_timeout: int, connect_timeout: int, *,
                deadline_s: int, sslmode: str = "require", sslrootcert: str | None = None) -> UrlParameters:
        """Parameters for callers that give up after ``deadline_s``: the server cancels a statement
        2 s before it (``statement_timeout``), the client stops waiting 1 s before it."""
        return cls(connection_limit, pool_timeout, connect_timeout, sslmode=sslmode, sslrootcert=sslrootcert,
                   socket_timeout=max(2, deadline_s - 1), statement_timeout=max(1, deadline_s - 2) * 1000)

    def as_dict(self) -> dict[str, str]:
        params = {
            "connection_limit": str(self.connection_limit),
            "pool_timeout": str(self.pool_timeout),
            "connect_timeout": str(self.connect_timeout),
            "sslmode": self.sslmode,
        }
        if self.sslrootcert is not None:
            params["sslrootcert"] = self.sslrootcert
        if self.socket_timeout is not None:
            params["socket_timeout"] = str(self.socket_timeout)
        if self.statement_timeout is not None:
            params["statement_timeout"] = str(self.statement_timeout)
        return params

    def query_string(self) -> str:
        """``connection_limit=1&pool_timeout=10&connect_timeout=5&sslmode=require``"""
        return urlencode(self.as_dict())


@dataclass(frozen=True)
class PoolContract:
    """The client-neutral pool settings every paradigm renders as ``DATABASE_POOL_*`` variables.

    ``pool_max`` is the connections one process may hold; the timeouts are in
    milliseconds (0: wait forever / never / none). Recipes for each client
    (:mod:`deploy_paradigms.budget.recipes`) map these numbers to its options.
    """

    pool_max: int
    pool_timeout_ms: int
    connect_timeout_ms: int
    idle_timeout_ms: int
    statement_timeout_ms: int

    def environment(self) -> dict[str, str]:
        """``DATABASE_POOL_MAX``, ``DATABASE_POOL_TIMEOUT_MS``, ... as environment variables."""
        return {
            contract.POOL_MAX: str(self.pool_max),
            contract.POOL_TIMEOUT_MS: str(self.pool_timeout_ms),
            contract.CONNECT_TIMEOUT_MS: str(self.connect_timeout_ms),
            contract.IDLE_TIMEOUT_MS: str(self.idle_timeout_ms),
            contract.STATEMENT_TIMEOUT_MS: str(self.statement_timeout_ms),
        }


def pool_contract(url: UrlParameters, *, idle_timeout_s: int) -> PoolContract:
    """The contract for a pool of ``url.connection_limit`` with the URL's timeouts."""
    return PoolContract(
        pool_max=url.connection_limit,
        pool_timeout_ms=url.pool_timeout * 1000,
        connect_timeout_ms=url.connect_timeout * 1000,
        idle_timeout_ms=idle_timeout_s * 1000,
        statement_timeout_ms=url.statement_timeout or 0,
    )


@dataclass(frozen=True)
class ProxySettings:
    """RDS Proxy settings decided by the serverless planner."""

    max_connections_percent: int
    max_idle_connections_percent: int
    idle_client_timeout_s: int
    borrow_timeout_s: int
    require_tls: bool = True

    def database_connections(self, limit: ConnectionLimit) -> int:
        """Database connections the proxy may open: its share of max_connections,
        never more than the usable ones (the rest are reserved to superusers)."""
        return proxy_connection_share(limit, self.max_connections_percent)


@dataclass(frozen=True)
class ServerlessPlan:
    """Lambda behind RDS Proxy: one connection per execution environment."""

    limit: ConnectionLimit
    connections: int  # database connections this consumer may hold (its allocation)
    reserved_concurrency: int
    connection_limit: int
    proxy: ProxySettings
    url: UrlParameters
    function_timeout_s: int
    limited_by: str  # "database" or "account": what set the cap
    pool: PoolContract
    database_cap: int = 0  # what the database share alone would allow (before the account's bound)
    #: Database connections the function's proxy may open (its own, or the shared one it is a client
    #: of); what the proxy's ``Connections`` alarm measures against.
    proxy_connections: int = 0
    #: The function whose RDS Proxy this one shares ("": its own proxy).
    shared_proxy_of: str = ""

    @property
    def paradigm(self) -> str:
        return "serverless"

    @property
    def compute_model(self) -> str:
        return "lambda (1 request per environment)"

    @property
    def deploy_strategy(self) -> str:
        # Versions and aliases share the function's reserved concurrency: no surge.
        return "versions share reserved concurrency"

    def summary(self) -> str:
        proxy = f"shared proxy of {self.shared_proxy_of}, " if self.shared_proxy_of else "proxy "
        return (f"reserved concurrency {self.reserved_concurrency} x connection_limit "
                f"{self.connection_limit} ({proxy}{self.proxy.max_connections_percent}% of "
                f"{self.limit.max_connections}; cap set by {self.limited_by})")


@dataclass(frozen=True)
class ContainerPlan:
    """Long-running tasks behind a load balancer, each holding a pool."""

    limit: ConnectionLimit
    connections: int  # pool_size x peak_tasks: what a deploy at max scale can hold
    pool_size: int
    min_tasks: int
    max_tasks: int
    maximum_percent: int
    minimum_healthy_percent: int
    url: UrlParameters
    pool: PoolContract
    largest_max_tasks: int = field(default=0)  # most max_tasks that still fit at this pool
    deploy_strategy: str = "rolling"

    @property
    def paradigm(self) -> str:
        return "containers"

    @property
    def compute_model(self) -> str:
        return "fargate"

    @property
    def surge_percent(self) -> int:
        """Share of ``max_tasks`` running at once during a deploy with this strategy."""
        return surge_percent(self.deploy_strategy, self.maximum_percent)

    @property
    def peak_tasks(self) -> int:
        return peak_tasks(self.max_tasks, self.surge_percent)

    def summary(self) -> str:
        return (f"pool {self.pool_size} x up to {self.peak_tasks} tasks during a deploy "
                f"({self.max_tasks} max x {self.surge_percent}%, {self.deploy_strategy})")


def surge_percent(deploy_strategy: str, maximum_percent: int) -> int:
    """Rolling: ``maximum_percent``; blue/green, canary, linear: both revisions at full size."""
    if deploy_strategy not in DEPLOY_STRATEGIES:
        raise BudgetError(f"deploy_strategy={deploy_strategy!r} is not one of {', '.join(DEPLOY_STRATEGIES)}")
    return maximum_percent if deploy_strategy == "rolling" else BOTH_REVISIONS_PERCENT


def peak_tasks(max_tasks: int, maximum_percent: int) -> int:
    """Tasks that can run at once during a rolling deploy at full scale."""
    return math.ceil(max_tasks * maximum_percent / 100)


def proxy_connection_share(limit: ConnectionLimit, percent: int) -> int:
    """Database connections an RDS Proxy at ``percent`` of max_connections may open, never more
    than the usable ones (RDS user guide, "RDS Proxy connection considerations"); the planner
    and the guard both use this."""
    return min(limit.max_connections * percent // 100, limit.usable)


def _smallest_percent(limit: ConnectionLimit, connection_limit: int) -> int:
    """The smallest MaxConnectionsPercent whose proxy serves one client."""
    for percent in range(1, 101):
        if proxy_connection_share(limit, percent) >= connection_limit:
            return percent
    return 100


def _smallest_proxy(limit: ConnectionLimit, connection_limit: int) -> int:
    """Database connections of the smallest proxy that serves one client."""
    return proxy_connection_share(limit, _smallest_percent(limit, connection_limit))


def account_limited_warning(plan: ServerlessPlan, function: str, account_text: str) -> str | None:
    """The synth warning when the account, not the database, set a function's cap (None otherwise)."""
    if plan.limited_by != "account":
        return None
    return (f"{function}: the database ({plan.limit.instance_class}) would allow reserved concurrency up "
            f"to {plan.database_cap}, more than the account can reserve "
            f"({account_text}), so it reserves {plan.reserved_concurrency}, half of what the account has "
            f"left, and the other half stays for other functions. Choose: pass reserved_concurrency=<n> "
            f"to reserve more or less, or raise the quota and pass it as the "
            f"deploy-paradigms:accountConcurrencyLimit context / config")


def plan_serverless(
    limit: ConnectionLimit,
    available: int,
    *,
    connections: int | None = None,
    reserved_concurrency: int | None = None,
    connection_limit: int = 1,
    proxy_max_connections_percent: int | None = None,
    idle_client_timeout_s: int = DEFAULT_IDLE_CLIENT_TIMEOUT_S,
    borrow_timeout_s: int = DEFAULT_BORROW_TIMEOUT_S,
    function_timeout_s: int = DEFAULT_FUNCTION_TIMEOUT_S,
    pool_timeout_s: int = DEFAULT_POOL_TIMEOUT_S,
    connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
    account_concurrency_limit: int = DEFAULT_ACCOUNT_CONCURRENCY,
    account: AccountConcurrency | None = None,
    shared_proxy: ProxySettings | None = None,
) -> ServerlessPlan:
    """Plan a Lambda function that reaches the database through RDS Proxy.

    ``available`` is what the database's ledger can still give; ``connections``
    asks for a smaller share (default: all of it). The cap is
    ``min(connections, proxy's DB connections) // connection_limit``, further
    bounded by the account's reservable concurrency: what ``account`` (the ledger of
    every function in the account and Region) has left, else ``account_concurrency_limit``
    minus the 100 that must stay unreserved. With ``account``, a function without
    ``reserved_concurrency`` whose cap the account (not the database) sets reserves half of
    what the account has left, never all of it.

    ``shared_proxy``: the settings of another function's proxy this one is a client of; then
    ``available`` is the database connections that proxy has left for clients, ``connections``
    this function's part of them, and no proxy is sized (the owner's settings stay).
    """
    if shared_proxy is not None:
        idle_client_timeout_s = shared_proxy.idle_client_timeout_s
        borrow_timeout_s = shared_proxy.borrow_timeout_s
    check_whole("connection_limit", connection_limit, minimum=1, maximum=100,
                fix="use connection_limit=1 in serverless functions (one request at a time)")
    check_whole("account_concurrency_limit", account_concurrency_limit,
                minimum=UNRESERVED_CONCURRENCY_MINIMUM + 1,
                fix="pass your account's Lambda concurrent-executions quota (default 1000)")
    check_whole("idle_client_timeout_s", idle_client_timeout_s,
                minimum=PROXY_IDLE_CLIENT_TIMEOUT_RANGE[0], maximum=PROXY_IDLE_CLIENT_TIMEOUT_RANGE[1],
                fix=f"RDS Proxy accepts 1-28800 s; {DEFAULT_IDLE_CLIENT_TIMEOUT_S} s is the default here")
    check_whole("function_timeout_s", function_timeout_s, minimum=1, maximum=900,
                fix="Lambda allows 1-900 s")
    check_whole("borrow_timeout_s", borrow_timeout_s,
                minimum=PROXY_BORROW_TIMEOUT_RANGE[0], maximum=PROXY_BORROW_TIMEOUT_RANGE[1],
                fix="RDS Proxy accepts 0-300 s")
    if borrow_timeout_s >= function_timeout_s:
        raise BudgetError(
            f"borrow_timeout_s={borrow_timeout_s} must be shorter than function_timeout_s="
            f"{function_timeout_s}, or the function times out before the proxy reports a full pool; "
            f"lower borrow_timeout_s or raise function_timeout_s")
    check_whole("pool_timeout_s", pool_timeout_s, minimum=0, maximum=3600)
    check_whole("connect_timeout_s", connect_timeout_s, minimum=0, maximum=3600)
    if available < connection_limit:
        raise BudgetError(
            f"the database {limit.instance_class} has {available} connection(s) left for this "
            f"function, fewer than connection_limit={connection_limit}; give other consumers a "
            f"smaller share, lower the reserve, or use a larger instance class")
    if connections is None:
        connections = available
    check_whole("connections", connections, minimum=connection_limit, maximum=available,
                fix=f"ask for at most the {available} connection(s) the database has left")

    if account is not None:
        account_concurrency_limit = account.quota
    reservable = account_concurrency_limit - UNRESERVED_CONCURRENCY_MINIMUM
    account_text = (f"account_concurrency_limit={account_concurrency_limit} minus "
                    f"{UNRESERVED_CONCURRENCY_MINIMUM} that must stay unreserved")
    if account is not None and account.reservations:
        reservable, account_text = account.remaining, account.holders()
    derived = proxy_max_connections_percent is None
    if shared_proxy is not None:  # a client of another function's proxy: its part of what that opens
        percent, derived = shared_proxy.max_connections_percent, False
    elif derived:
        # The largest share of max_connections that stays within the allocation.
        percent = max(1, min(100, connections * 100 // limit.max_connections))
        # Whole percents of a small max_connections can round to no connection at all:
        # take the smallest percent that serves one client when it still fits.
        while (proxy_connection_share(limit, percent) < connection_limit and percent < 100
               and proxy_connection_share(limit, percent + 1) <= connections):
            percent += 1
    else:
        percent = check_whole("proxy_max_connections_percent", proxy_max_connections_percent,
                              minimum=1, maximum=100,
                              fix="RDS Proxy's MaxConnectionsPercent is a share of max_connections, 1-100")
    proxy_connections = connections if shared_proxy is not None else proxy_connection_share(limit, percent)
    smallest = _smallest_proxy(limit, connection_limit)
    if proxy_connections > connections:
        if derived:  # even 1 % is more than asked: say what the smallest proxy holds
            raise BudgetError(
                f"connections={connections} is fewer than the smallest RDS Proxy share on "
                f"{limit.instance_class} holds: MaxConnectionsPercent is a whole percent of "
                f"max_connections {limit.max_connections}, so 1% = {proxy_connections} connections; "
                f"pass connections={max(smallest, proxy_connections)} or more, or share another "
                f"function's proxy (proxy=)")
        most = connections * 100 // limit.max_connections
        fix = (f"use at most {most} or omit it to derive it from the budget" if most >= 1 else
               f"omit it, or give this function at least {proxy_connection_share(limit, 1)} connections "
               f"(1% of {limit.max_connections})")
        raise BudgetError(
            f"proxy_max_connections_percent={percent} lets the proxy open {proxy_connections} of "
            f"{limit.max_connections} connections, more than this function's {connections}; {fix}")
    database_cap = proxy_connections // connection_limit
    if database_cap < 1:
        if derived:
            raise BudgetError(
                f"this function's share is {connections} connection(s), and an RDS Proxy on "
                f"{limit.instance_class} opens whole percents of max_connections {limit.max_connections}: "
                f"{percent}% = {proxy_connections}, fewer than connection_limit={connection_limit}; "
                f"it needs at least {smallest} connections (pass connections={smallest} after freeing "
                f"them), or share another function's proxy (proxy=)")
        raise BudgetError(
            f"proxy_max_connections_percent={percent} gives the proxy {proxy_connections} "
            f"connection(s), fewer than connection_limit={connection_limit}; raise the percent to "
            f"{_smallest_percent(limit, connection_limit)} or more, or omit it")
    if reserved_concurrency is not None:
        check_whole("reserved_concurrency", reserved_concurrency, minimum=1,
                    fix="omit it to use the cap the budget allows")
        if reserved_concurrency > database_cap and shared_proxy is not None:
            raise BudgetError(
                f"reserved_concurrency={reserved_concurrency} x connection_limit {connection_limit} is more "
                f"than this function's {connections} connection(s) of the shared proxy; lower it, or pass "
                f"connections= up to what the proxy has left")
        if reserved_concurrency > database_cap:
            raise BudgetError(
                f"reserved_concurrency={reserved_concurrency} exceeds what {limit.instance_class} "
                f"allows: {database_cap} (= {proxy_connections} proxy connections / "
                f"connection_limit {connection_limit}); lower it, or use a larger instance class")
        # Over what other functions left: the account ledger refuses it, listing every function.
        if reserved_concurrency > reservable and not (account is not None and account.reservations):
            raise BudgetError(
                f"reserved_concurrency={reserved_concurrency} exceeds the account's reservable "
                f"concurrency {reservable} ({account_text}); request a higher Lambda concurrency quota "
                f"and pass account_concurrency_limit=<new quota>, or lower reserved_concurrency")
        cap, limited_by = reserved_concurrency, "request"
    elif database_cap > reservable:
        if reservable < 1:
            raise BudgetError(
                f"no reserved concurrency is left for this function: {account_text}; pass "
                f"reserved_concurrency= to the other functions, or raise the quota")
        # With the account ledger (the constructs), a default never takes everything the account
        # has left: half of it, so other functions of the account keep room (and synth warns).
        cap = reservable if account is None else max(1, reservable // 2)
        limited_by = "account"
    else:
        cap, limited_by = database_cap, "database"
    if shared_proxy is not None:
        proxy_connections = cap * connection_limit  # the clients it books on the shared proxy
    elif cap < database_cap:
        if proxy_max_connections_percent is None:
            # Shrink the proxy to the smallest share that still serves every client,
            # so the rest of the database stays free for other consumers.
            percent = min(100, -(-cap * connection_limit * 100 // limit.max_connections))
            proxy_connections = proxy_connection_share(limit, percent)
        elif proxy_connections > cap * connection_limit and limited_by != "request":
            # An explicit reserved_concurrency with an explicit, larger percent is a proxy with
            # room for other functions to share (proxy=); within this function's connections.
            most = max(1, -(-cap * connection_limit * 100 // limit.max_connections))
            raise BudgetError(
                f"proxy_max_connections_percent={percent} lets the proxy open {proxy_connections} "
                f"connections for {cap} concurrent executions (cap set by {limited_by}); use "
                f"proxy_max_connections_percent={most} or omit it to derive it from the budget")
    # RDS Proxy's certificates chain to public Amazon roots (the system trust store has them)
    # and carry the proxy endpoint's name: verify both.
    url = UrlParameters.bounded(connection_limit, pool_timeout_s, connect_timeout_s,
                                deadline_s=function_timeout_s, sslmode=PROXY_SSLMODE)
    proxy = shared_proxy or ProxySettings(
        max_connections_percent=percent,
        max_idle_connections_percent=max(1, percent // 2),
        idle_client_timeout_s=idle_client_timeout_s,
        borrow_timeout_s=borrow_timeout_s,
    )
    return ServerlessPlan(
        limit=limit,
        connections=max(cap * connection_limit, proxy_connections),
        reserved_concurrency=cap,
        connection_limit=connection_limit,
        proxy=proxy,
        url=url,
        function_timeout_s=function_timeout_s,
        limited_by=limited_by,
        database_cap=database_cap,
        pool=pool_contract(url, idle_timeout_s=min(DEFAULT_IDLE_TIMEOUT_S, idle_client_timeout_s // 2)),
        proxy_connections=proxy_connections,
    )


def largest_max_tasks(connections: int, pool_size: int, maximum_percent: int) -> int:
    """Most ``max_tasks`` whose rolling-deploy peak at ``pool_size`` fits ``connections``."""
    tasks = connections // pool_size * 100 // maximum_percent
    while tasks > 0 and peak_tasks(tasks + 1, maximum_percent) * pool_size <= connections:
        tasks += 1
    while tasks > 0 and peak_tasks(tasks, maximum_percent) * pool_size > connections:
        tasks -= 1
    return tasks


def plan_containers(
    limit: ConnectionLimit,
    available: int,
    *,
    max_tasks: int,
    min_tasks: int = 1,
    connections: int | None = None,
    pool_size: int | None = None,
    maximum_percent: int = DEFAULT_MAXIMUM_PERCENT,
    minimum_healthy_percent: int = DEFAULT_MINIMUM_HEALTHY_PERCENT,
    pool_timeout_s: int = DEFAULT_POOL_TIMEOUT_S,
    connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
    idle_timeout_s: int = DEFAULT_IDLE_TIMEOUT_S,
    deploy_strategy: str = "rolling",
) -> ContainerPlan:
    """Plan a service of long-running tasks that each hold a pool.

    ``pool_size x ceil(max_tasks x maximum_percent / 100) <= connections``: neither
    autoscaling to ``max_tasks`` nor a rolling deploy at that scale can exhaust
    the database. Without ``pool_size`` the pool is the largest that fits.
    """
    check_whole("max_tasks", max_tasks, minimum=1, fix="a service needs at least one task")
    check_whole("min_tasks", min_tasks, minimum=0)
    if min_tasks > max_tasks:
        raise BudgetError(f"min_tasks={min_tasks} is greater than max_tasks={max_tasks}; "
                          f"raise max_tasks or lower min_tasks")
    check_whole("maximum_percent", maximum_percent, minimum=100, maximum=200,
                fix="ECS rolling deploys run up to maximum_percent of the tasks; 100-200")
    check_whole("minimum_healthy_percent", minimum_healthy_percent, minimum=0, maximum=100)
    if maximum_percent == 100 and minimum_healthy_percent == 100:
        raise BudgetError("maximum_percent=100 with minimum_healthy_percent=100 leaves ECS no "
                          "room to replace a task; lower minimum_healthy_percent (for example 50)")
    check_whole("pool_timeout_s", pool_timeout_s, minimum=0, maximum=3600)
    check_whole("connect_timeout_s", connect_timeout_s, minimum=0, maximum=3600)
    check_whole("idle_timeout_s", idle_timeout_s, minimum=0, maximum=86400)
    if connections is None:
        connections = available
    check_whole("connections", connections, minimum=0, maximum=available,
                fix=f"ask for at most the {available} connection(s) the database has left")
    surge = surge_percent(deploy_strategy, maximum_percent)
    peak = peak_tasks(max_tasks, surge)
    fits = connections // peak
    if pool_size is None:
        pool = fits
    else:
        pool = check_whole("pool_size", pool_size, minimum=1,
                           fix="each task needs at least one connection")
    if pool < 1 or pool > fits:
        asked = max(pool, 1)
        most_tasks = largest_max_tasks(connections, asked, surge)
        fewer_tasks = (f"use max_tasks <= {most_tasks}, a smaller pool_size" if most_tasks else
                       "not even one task fits at this pool: use a smaller pool_size")
        rolling = deploy_strategy == "rolling"
        during = (f"maximum_percent={maximum_percent}% during a rolling deploy" if rolling else
                  f"{surge}%: both revisions at full size through a {deploy_strategy} deploy's bake time")
        lower = "a lower maximum_percent" if rolling else "a rolling deploy"
        raise BudgetError(
            f"pool_size={asked} x {peak} tasks (max_tasks={max_tasks} x {during}) needs "
            f"{asked * peak} connections but {limit.instance_class} gives this service {connections}; "
            f"{fewer_tasks}, a larger instance class, {lower}, or put RDS Proxy in front")
    # Tasks connect to the instance or cluster endpoint directly: verify it against the RDS CAs.
    url = UrlParameters.bounded(pool, pool_timeout_s, connect_timeout_s, deadline_s=DEFAULT_REQUEST_TIMEOUT_S,
                                sslmode=DIRECT_SSLMODE, sslrootcert=RDS_CA_BUNDLE)
    return ContainerPlan(
        limit=limit,
        connections=pool * peak,
        pool_size=pool,
        min_tasks=min_tasks,
        max_tasks=max_tasks,
        maximum_percent=maximum_percent,
        minimum_healthy_percent=minimum_healthy_percent,
        url=url,
        largest_max_tasks=largest_max_tasks(connections, pool, surge),
        pool=pool_contract(url, idle_timeout_s=idle_timeout_s),
        deploy_strategy=deploy_strategy,
    )


@dataclass(frozen=True)
class ManagedInstancesPlan:
    """Lambda Managed Instances: many requests per execution environment, each process with a pool.

    ``connections = max_environments x processes_per_environment x pool_per_process``;
    the renderer caps the capacity provider's execution environments at
    ``max_environments`` (reserved concurrency does not bound them).
    """

    limit: ConnectionLimit
    connections: int
    max_environments: int
    per_environment_concurrency: int
    processes_per_environment: int
    pool_per_process: int
    pool: PoolContract

    @property
    def paradigm(self) -> str:
        return "serverless"

    @property
    def compute_model(self) -> str:
        return (f"lambda-managed-instances ({self.per_environment_concurrency} requests, "
                f"{self.processes_per_environment} processes per environment)")

    @property
    def deploy_strategy(self) -> str:
        return "versions share the environment cap"

    def summary(self) -> str:
        return (f"{self.max_environments} environments x {self.processes_per_environment} processes x "
                f"pool {self.pool_per_process}")


def plan_managed_instances(
    limit: ConnectionLimit,
    available: int,
    *,
    per_environment_concurrency: int,
    processes_per_environment: int | None = None,
    pool_per_process: int = 1,
    connections: int | None = None,
    max_environments: int | None = None,
    reserved_concurrency: int | None = None,
    function_timeout_s: int = DEFAULT_FUNCTION_TIMEOUT_S,
    pool_timeout_s: int = DEFAULT_POOL_TIMEOUT_S,
    connect_timeout_s: int = DEFAULT_CONNECT_TIMEOUT_S,
) -> ManagedInstancesPlan:
    """Plan functions on Lambda Managed Instances (per-environment concurrency above one).

    ``processes_per_environment`` defaults to ``per_environment_concurrency`` (the Python
    runtime runs one process per concurrent request); Node.js serves them from one process
    (pass 1 and a ``pool_per_process`` up to the concurrency). Refused: a reserved
    concurrency as the bound (it does not cap environments here), and plans whose
    environments would need more connections than the allocation.
    """
    check_whole("per_environment_concurrency", per_environment_concurrency, minimum=1,
                maximum=MANAGED_INSTANCES_MAX_CONCURRENCY,
                fix="Lambda Managed Instances accept PerExecutionEnvironmentMaxConcurrency 1-1600")
    if reserved_concurrency is not None:
        raise BudgetError(
            f"reserved_concurrency={reserved_concurrency} does not bound Lambda Managed Instances: each "
            f"execution environment serves up to {per_environment_concurrency} requests with its own "
            f"connections, so the plan assumes one connection per environment where that does not hold; "
            f"omit it and cap max_environments (the capacity provider's scaling) instead")
    processes = per_environment_concurrency if processes_per_environment is None else check_whole(
        "processes_per_environment", processes_per_environment, minimum=1,
        maximum=per_environment_concurrency,
        fix="the Python runtime runs one process per concurrent request; Node.js runs one")
    check_whole("pool_per_process", pool_per_process, minimum=1, maximum=100)
    per_environment = processes * pool_per_process
    if connections is None:
        connections = available
    check_whole("connections", connections, minimum=1, maximum=available,
                fix=f"ask for at most the {available} connection(s) the database has left")
    fits = connections // per_environment
    if max_environments is None:
        if fits < 1:
            raise BudgetError(
                f"one execution environment needs {per_environment} connections ({processes} processes x "
                f"pool {pool_per_process}) but {limit.instance_class} gives this function {connections}; "
                f"lower per_environment_concurrency or pool_per_process, or use a larger instance class")
        environments = fits
    else:
        environments = check_whole("max_environments", max_environments, minimum=1)
        if environments > fits:
            raise BudgetError(
                f"max_environments={environments} x {processes} processes x pool {pool_per_process} needs "
                f"{environments * per_environment} connections but {limit.instance_class} gives this "
                f"function {connections}; use max_environments <= {fits}, fewer requests per environment, "
                f"or a larger instance class")
    url = UrlParameters.bounded(pool_per_process, pool_timeout_s, connect_timeout_s,
                                deadline_s=function_timeout_s)
    return ManagedInstancesPlan(
        limit=limit, connections=environments * per_environment, max_environments=environments,
        per_environment_concurrency=per_environment_concurrency, processes_per_environment=processes,
        pool_per_process=pool_per_process,
        pool=pool_contract(url, idle_timeout_s=DEFAULT_IDLE_TIMEOUT_S),
    )

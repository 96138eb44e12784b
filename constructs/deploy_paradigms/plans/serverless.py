"""Every decision of the serverless paradigm (a Lambda function behind RDS Proxy), framework-free.

:func:`plan_serverless_function` takes plain values (what the database is, what its ledger grants,
the user's options with ``None`` meaning omitted), applies every default and every check, calls the
connection arithmetic (:func:`deploy_paradigms.budget.plan_serverless`) and returns a frozen
:class:`ServerlessFunctionPlan`. The CDK construct and the Pulumi component only render it: the
function's settings, the proxy's, the environment contract, the security-group rules, the IAM
statements, the alarms and the physical names all come from here, so the two cannot disagree.

Refusals of inputs raise :class:`~deploy_paradigms.budget.InputError`; only the connection budget
(the arithmetic, the ledger, the account's concurrency) raises :class:`~deploy_paradigms.budget.BudgetError`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

from ..budget import Allocation, ConnectionLedger, InputError, ServerlessPlan, plan_serverless
from ..budget.account import AccountConcurrency
from ..budget.deployment import Deployment, ProxyShare
from ..budget.ledger import Booking as LedgerBooking
from ..budget.limits import ConnectionLimit, Engine
from ..budget.plan import (
    DEFAULT_ACCOUNT_CONCURRENCY,
    DEFAULT_BORROW_TIMEOUT_S,
    DEFAULT_FUNCTION_TIMEOUT_S,
    DEFAULT_IDLE_CLIENT_TIMEOUT_S,
    PROXY_BORROW_TIMEOUT_RANGE,
    PROXY_IDLE_CLIENT_TIMEOUT_RANGE,
)
from ..runtime import settings
from .checks import LAMBDA_ARCHITECTURES, LAMBDA_PYTHON_RUNTIMES, check_choice, check_log_retention
from .database import check_db_user, check_master_user
from .environment import FUNCTION_INSTEAD, FUNCTION_READABLE_BY, LAMBDA_VPC_ACTIONS, check_environment
from .names import RDS_PROXY_NAME, RDS_PROXY_NAME_MAX, rds_proxy_name

__all__ = [
    "ALARM_CONNECTIONS_FRACTION",
    "DBUSER_ARN",
    "DEFAULT_ARCHITECTURE",
    "DEFAULT_LOG_RETENTION_DAYS",
    "DEFAULT_MEMORY_MB",
    "DEFAULT_RUNTIME",
    "FUNCTION_TIMEOUT_RANGE_S",
    "MEMORY_RANGE_MB",
    "PROXY_SECRET_ACTIONS",
    "SECRET_READ_ACTIONS",
    "AlarmSpec",
    "Booking",
    "DatabaseFacts",
    "FunctionOptions",
    "IamStatement",
    "ProxyPlan",
    "SecurityRule",
    "ServerlessFunctionPlan",
    "book_connections",
    "check_function_environment",
    "connections_alarm_threshold",
    "dbuser_arn",
    "plan_serverless_function",
    "proxy_physical_name",
    "register_proxy",
    "settle_proxy",
]

#: Python for the function: SnapStart-capable; pure-Python drivers such as pg8000 need no build.
DEFAULT_RUNTIME = "python3.12"
#: Graviton: about 20 % cheaper per GB-second than x86_64 (native modules must be built for it).
DEFAULT_ARCHITECTURE = "arm64"
DEFAULT_MEMORY_MB = 512
#: One month of function logs.
DEFAULT_LOG_RETENTION_DAYS = 30
#: Lambda memory range (Lambda developer guide, "Configuring memory").
MEMORY_RANGE_MB = (128, 10240)
#: Lambda function timeout range (Lambda developer guide, "Configure function timeout").
FUNCTION_TIMEOUT_RANGE_S = (1, 900)
#: The connections alarm fires at this share of the function's allocation.
ALARM_CONNECTIONS_FRACTION = 0.9
#: What reading one secret takes (the function, secrets-only; the data endpoint's HMAC key).
SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue",)
#: What RDS Proxy's role needs on the secret it logs in with.
PROXY_SECRET_ACTIONS = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")
#: The ``rds-db:connect`` resource of a proxy user (RDS user guide, "Creating and using an IAM
#: policy for IAM database access"): the proxy's resource id (``prx-...``), then the user.
DBUSER_ARN = "arn:{partition}:rds-db:{region}:{account}:dbuser:{proxy_id}/{user}"
#: HTTPS, for AWS APIs outside the VPC (through NAT or interface endpoints).
HTTPS_PORT = 443
ANYWHERE = "0.0.0.0/0"

_T = TypeVar("_T")


@dataclass(frozen=True, kw_only=True)
class FunctionOptions:
    """The framework-free options of a function behind RDS Proxy; every field omitted (None) by default.

    ``ServerlessFunction`` takes them as flat keyword arguments (its primary API) or as this one
    object (``options=``); ``DataEndpoint`` takes them as ``function=FunctionOptions(...)``.
    Omitted, each takes the default the plan documents (:func:`plan_serverless_function`).

    Attributes:
        runtime: a Python Lambda runtime name. Omitted: ``python3.12`` (``DataEndpoint``: ``python3.14``).
        architecture: ``arm64`` or ``x86_64``. Omitted: ``arm64`` (Graviton, about 20 % cheaper).
        memory_size: MB, 128-10240. Omitted: 512.
        timeout_s: 1-900 s, more than ``borrow_timeout_s``. Omitted: 30 s (``DataEndpoint``: 15 s).
        connections: this function's share of the database's ledger. Omitted: its default share.
        reserved_concurrency: Omitted: the cap the budget and the account allow.
        proxy_max_connections_percent: Omitted: the largest share within this function's connections.
        idle_client_timeout_s: RDS Proxy IdleClientTimeout. Omitted: 120 s (AWS default 1800 s).
        borrow_timeout_s: RDS Proxy ConnectionBorrowTimeout. Omitted: 10 s (AWS default 120 s).
        iam_auth: Omitted: True (IAM auth tokens); False = secrets-only.
        db_user: Omitted: the database's application role.
        master_user_reason: why the function connects as the master user. Omitted: the master is refused.
        account_concurrency_limit: the account's Lambda concurrency quota. Omitted: the app's setting,
            else 1000.
        alarms: Omitted: True (session pinning, connections, throttles).
        log_retention_days: a CloudWatch Logs retention period. Omitted: 30.
    """

    runtime: str | None = None
    architecture: str | None = None
    memory_size: int | None = None
    timeout_s: int | None = None
    connections: int | None = None
    reserved_concurrency: int | None = None
    proxy_max_connections_percent: int | None = None
    idle_client_timeout_s: int | None = None
    borrow_timeout_s: int | None = None
    iam_auth: bool | None = None
    db_user: str | None = None
    master_user_reason: str | None = None
    account_concurrency_limit: int | None = None
    alarms: bool | None = None
    log_retention_days: int | None = None

    def given(self) -> dict[str, Any]:
        """The options that were given (not None), by name (a subclass's own fields are not options)."""
        return {f.name: getattr(self, f.name) for f in fields(FunctionOptions)
                if getattr(self, f.name) is not None}

    def merged(self, flat: Mapping[str, Any], *, owner: str = "ServerlessFunction") -> FunctionOptions:
        """These options plus ``flat`` keyword arguments; one option given both ways is refused."""
        given = {k: v for k, v in flat.items() if v is not None}
        both = sorted(set(given) & set(self.given()))
        if both:
            raise InputError(f"{owner}: {', '.join(both)} given both as keyword argument(s) and in options=; "
                             f"pass each option once")
        return replace(self, **given)

    def with_defaults(self, **defaults: Any) -> FunctionOptions:
        """These options with ``defaults`` filling what was omitted."""
        return replace(self, **{k: v for k, v in defaults.items() if getattr(self, k) is None})


@dataclass(frozen=True)
class DatabaseFacts:
    """What the plan needs to know about the database, as plain values."""

    limit: ConnectionLimit
    database_name: str
    master_username: str
    app_username: str
    #: The database's own port (the proxy reaches it there).
    port: int

    @classmethod
    def of(cls, database: Any) -> DatabaseFacts:
        """The facts of a CDK or Pulumi ``Database`` (both carry these attributes)."""
        return cls(database.limit, database.database_name, database.master_username, database.app_username,
                   database.port)

    @property
    def engine(self) -> Engine:
        return self.limit.engine

    @property
    def proxy_port(self) -> int:
        """RDS Proxy listens on the engine's default port whatever the database's port is."""
        return self.engine.default_port

    @property
    def engine_family(self) -> str:
        """The RDS Proxy engine family."""
        return "POSTGRESQL" if self.engine.is_postgres else "MYSQL"

    @property
    def engine_name(self) -> str:
        """``DATABASE_ENGINE``: the driver family the runtime picks."""
        return "postgres" if self.engine.is_postgres else "mysql"


@dataclass(frozen=True)
class SecurityRule:
    """One security-group rule: ``source`` may reach ``target`` on TCP ``port``.

    Peers are roles (``function``, ``proxy``, ``database``) or a CIDR; the renderer makes the
    egress rule on the source's group and the ingress rule on the target's (a CIDR has no group).
    """

    source: str
    target: str
    port: int
    description: str


@dataclass(frozen=True)
class IamStatement:
    """An allow statement: ``actions`` on a resource of kind ``resource`` (the renderer knows its ARN).

    Kinds: ``log-group`` (the function's), ``*`` (no resource-level permissions), ``dbuser`` (the
    proxy user :data:`DBUSER_ARN`), ``secret`` (the database secret the user logs in with),
    ``hmac-secret``, ``ssm-parameter``, ``distribution``.
    """

    actions: tuple[str, ...]
    resource: str


@dataclass(frozen=True)
class AlarmSpec:
    """A CloudWatch alarm without actions; ``dimension`` is ``proxy`` or ``function``."""

    key: str
    namespace: str
    metric_name: str
    dimension: str
    statistic: str
    period_s: int
    evaluation_periods: int
    threshold: int
    comparison_operator: str
    description: str
    datapoints_to_alarm: int | None = None
    treat_missing_data: str = "notBreaching"


@dataclass(frozen=True)
class ProxyPlan:
    """The RDS Proxy a function gets (None on the plan when it shares one)."""

    engine_family: str
    require_tls: bool
    idle_client_timeout_s: int
    borrow_timeout_s: int
    max_connections_percent: int
    max_idle_connections_percent: int
    iam_auth: str  # "REQUIRED" or "DISABLED"
    auth_scheme: str
    #: Which secret the proxy logs in with: ``app`` (the application role's) or ``master``.
    secret: str
    #: Subnet tier the proxy goes in (the database's: no internet access needed).
    subnet_tier: str
    role_actions: tuple[str, ...]
    #: Database connections the proxy may open (its share of max_connections).
    database_connections: int
    description: str


@dataclass(frozen=True)
class ServerlessFunctionPlan:
    """Everything a renderer needs for a function behind RDS Proxy, decided once."""

    label: str
    budget: ServerlessPlan
    runtime: str
    architecture: str
    memory_size: int
    timeout_s: int
    reserved_concurrency: int
    iam_auth: bool
    db_user: str
    #: ``app`` or ``master``: the secret of ``db_user`` (the proxy logs in with it; secrets-only,
    #: the function reads it too).
    secret: str
    alarms: tuple[AlarmSpec, ...]
    log_retention_days: int
    #: The database contract without the values only the resources know (``DATABASE_HOST``: the
    #: proxy endpoint; ``DATABASE_SECRET_ARN``: the secret), then the user's extra variables.
    environment_values: Mapping[str, str]
    extra_environment: Mapping[str, Any]
    #: Subnet tier of the function's interfaces (``given``: the caller chose the subnets).
    function_subnet_tier: str
    proxy: ProxyPlan | None
    security_rules: tuple[SecurityRule, ...]
    statements: tuple[IamStatement, ...]
    description: str
    security_group_description: str
    role_description: str

    @property
    def connections(self) -> int:
        return self.budget.connections

    @property
    def connection_limit(self) -> int:
        return self.budget.connection_limit

    @property
    def clients(self) -> int:
        """Client connections the function may open through its proxy."""
        return self.budget.reserved_concurrency * self.budget.connection_limit

    def environment(self, *, host: _T, secret_arn: _T) -> dict[str, _T | str]:
        """The function's environment: the contract with ``host`` (the proxy endpoint) and, with
        secrets-only auth, ``secret_arn``; then the extra variables. Never a password."""
        env: dict[str, _T | str] = {settings.HOST: host, **self.environment_values}
        if not self.iam_auth:
            env[settings.SECRET_ARN] = secret_arn
        env.update(self.extra_environment)
        return env


def connections_alarm_threshold(plan: ServerlessPlan) -> int:
    """Proxy-to-database connections at which the ``Connections`` alarm fires: a fraction of what the
    proxy opens (the whole proxy for a client of another function's proxy)."""
    return max(1, math.ceil((plan.proxy_connections or plan.connections) * ALARM_CONNECTIONS_FRACTION))


def check_function_environment(environment: Mapping[str, Any] | None,
                               resolved: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Refuse credentials in ``environment`` (secret-like keys, credential-like values) and keys that
    would override the database contract (``DATABASE_*``). ``resolved``: values as the engine renders
    them (CDK tokens resolved); values that are not strings (Pulumi Outputs) are checked by key."""
    return check_environment(environment, owner="ServerlessFunction", readable_by=FUNCTION_READABLE_BY,
                             instead=FUNCTION_INSTEAD, resolved=resolved)


def dbuser_arn(proxy_arn: str, user: str) -> str:
    """:data:`DBUSER_ARN` for a proxy's ARN (``arn:<partition>:rds:<region>:<account>:db-proxy:prx-...``)."""
    parts = proxy_arn.split(":")
    if len(parts) < 7 or not parts[6].startswith("prx-"):
        raise InputError(f"{proxy_arn!r} is not an RDS Proxy ARN (arn:<partition>:rds:<region>:<account>:"
                         f"db-proxy:prx-...)")
    return DBUSER_ARN.format(partition=parts[1], region=parts[3], account=parts[4], proxy_id=parts[6],
                             user=user)


def proxy_physical_name(*, scoped: tuple[str, ...] = (), unique_resource_name: str | None = None) -> str:
    """The proxy's name, unique per account and Region (RDS Proxy's 1-60 character rule).

    ``scoped``: project, stack and component (Pulumi): :func:`~deploy_paradigms.plans.names.rds_proxy_name`.
    ``unique_resource_name``: a name already unique per app (aws-cdk's ``Names.unique_resource_name``
    of the construct, at most 54 characters), suffixed ``-proxy``.
    """
    name = rds_proxy_name(*scoped) if unique_resource_name is None else f"{unique_resource_name}-proxy"
    if len(name) > RDS_PROXY_NAME_MAX or not RDS_PROXY_NAME.match(name):
        raise InputError(f"proxy name {name!r} breaks RDS Proxy's rule (1-{RDS_PROXY_NAME_MAX} letters, "
                         f"digits and single hyphens, starting with a letter); rename the construct")
    return name


def _whole(name: str, value: object, low: int, high: int, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(f"{name}={value!r} must be a whole number between {low} and {high}; {fix}")
    return value


def _check_options(o: FunctionOptions) -> None:
    """Every input check that is not about the budget (InputError)."""
    check_choice("runtime", o.runtime, LAMBDA_PYTHON_RUNTIMES,
                 fix="the function's code is Python; pick a supported Python runtime")
    check_choice("architecture", o.architecture, LAMBDA_ARCHITECTURES)
    _whole("memory_size", o.memory_size, *MEMORY_RANGE_MB, fix="Lambda allows 128-10240 MB")
    _whole("timeout_s", o.timeout_s, *FUNCTION_TIMEOUT_RANGE_S, fix="Lambda allows 1-900 s")
    _whole("idle_client_timeout_s", o.idle_client_timeout_s, *PROXY_IDLE_CLIENT_TIMEOUT_RANGE,
           fix=f"RDS Proxy accepts 1-28800 s; {DEFAULT_IDLE_CLIENT_TIMEOUT_S} s is the default here")
    _whole("borrow_timeout_s", o.borrow_timeout_s, *PROXY_BORROW_TIMEOUT_RANGE,
           fix="RDS Proxy accepts 0-300 s")
    assert o.borrow_timeout_s is not None and o.timeout_s is not None  # defaults applied
    if o.borrow_timeout_s >= o.timeout_s:
        raise InputError(
            f"borrow_timeout_s={o.borrow_timeout_s} must be shorter than function_timeout_s={o.timeout_s}, "
            f"or the function times out before the proxy reports a full pool; lower borrow_timeout_s or "
            f"raise timeout_s")
    check_log_retention("log_retention_days", o.log_retention_days)
    for name in ("iam_auth", "alarms"):
        if not isinstance(getattr(o, name), bool):
            raise InputError(f"{name}={getattr(o, name)!r} must be True or False")
    if o.account_concurrency_limit is not None:
        _whole("account_concurrency_limit", o.account_concurrency_limit, 101, 10_000_000,
               fix="pass your account's Lambda concurrent-executions quota (default 1000)")


def _check_proxy_inputs(o: FunctionOptions, *, shared_proxy: bool, proxy_security_group_known: bool,
                        proxy_target_known: bool, security_group_prop: str) -> None:
    if shared_proxy and o.proxy_max_connections_percent is not None:
        raise InputError(
            f"proxy_max_connections_percent={o.proxy_max_connections_percent} applies only to a proxy this "
            f"construct creates; set MaxConnectionsPercent on the proxy you pass, or omit proxy")
    if shared_proxy and not proxy_security_group_known:
        raise InputError(f"{security_group_prop} is required with a shared or imported proxy: pass the "
                         f"security group attached to it so the function can be let in")
    if not shared_proxy and not proxy_target_known:
        raise InputError("the database has no instance_identifier or cluster_identifier for RDS Proxy to "
                         "target; pass one to Database.from_existing, or pass proxy=")


def _subnet_tier(prefer: tuple[str, str], available: frozenset[str], what: str) -> str:
    for tier in prefer:
        if tier in available:
            return tier
    raise InputError(f"subnets for {what}: the network has no private or isolated subnets; add them, "
                     f"or pass the function's subnets")


def _alarms(label: str, budget: ServerlessPlan) -> tuple[AlarmSpec, ...]:
    threshold = connections_alarm_threshold(budget)
    return (
        # Pinning sustained for 15 minutes: a client holds a database connection to itself
        # (Prisma's prepared statements, SET, temp tables, advisory locks); the cap assumes it,
        # but the proxy then gives no pooling benefit.
        AlarmSpec("SessionPinning", "AWS/RDS", "DatabaseConnectionsCurrentlySessionPinned", "proxy",
                  "Maximum",
                  300, 3, 0, "GreaterThanThreshold",
                  f"RDS Proxy of {label} keeps sessions pinned for 15 minutes: clients hold database "
                  f"connections (prepared statements, SET, temp tables)"),
        AlarmSpec("Connections", "AWS/RDS", "DatabaseConnections", "proxy", "Maximum", 60, 5, threshold,
                  "GreaterThanOrEqualToThreshold",
                  f"RDS Proxy of {label} holds >= {threshold} database connections "
                  f"({ALARM_CONNECTIONS_FRACTION:.0%} of the {budget.connections} allocated)",
                  datapoints_to_alarm=3),
        AlarmSpec("Throttles", "AWS/Lambda", "Throttles", "function", "Sum", 60, 1, 0, "GreaterThanThreshold",
                  f"{label} is throttled: requests exceed the reserved concurrency "
                  f"{budget.reserved_concurrency} the database budget allows"),
    )


def _security(label: str, db: DatabaseFacts, *, creates_proxy: bool, iam_auth: bool) -> tuple[SecurityRule,
                                                                                              ...]:
    rules = [SecurityRule("function", "proxy", db.proxy_port, f"Lambda {label}")]
    if creates_proxy:
        rules.append(SecurityRule("proxy", "database", db.port, f"RDS Proxy of {label} to the database"))
    if not iam_auth:
        # Secrets Manager is an HTTPS API outside the VPC (NAT or interface endpoint).
        rules.append(SecurityRule("function", ANYWHERE, HTTPS_PORT,
                                  "Secrets Manager API (secrets-only auth)"))
    return tuple(rules)


def _statements(iam_auth: bool) -> tuple[IamStatement, ...]:
    """Least privilege: write its own logs, manage its VPC interfaces, connect as one user."""
    connect = (IamStatement(("rds-db:connect",), "dbuser") if iam_auth
               else IamStatement(SECRET_READ_ACTIONS, "secret"))
    return (IamStatement(("logs:CreateLogStream", "logs:PutLogEvents"), "log-group"),
            IamStatement(tuple(sorted(LAMBDA_VPC_ACTIONS)), "*"), connect)


def plan_serverless_function(
    *,
    label: str,
    database: DatabaseFacts,
    available: int,
    default_share: int,
    options: FunctionOptions,
    account: AccountConcurrency | None = None,
    environment: Mapping[str, Any] | None = None,
    resolved_environment: Mapping[str, str] | None = None,
    shared_proxy: bool = False,
    client_of: ProxyShare | None = None,
    proxy_security_group_known: bool = True,
    proxy_target_known: bool = True,
    security_group_prop: str = "proxy_security_group",
    subnets_given: bool = False,
    subnet_tiers: frozenset[str] = frozenset({"private", "isolated"}),
) -> ServerlessFunctionPlan:
    """Plan a function behind RDS Proxy.

    ``label``: the consumer's path or name (messages, descriptions). ``available``: what the
    database's ledger has left; ``default_share``: what it grants when ``connections`` is omitted.
    Omitted options: runtime ``python3.12``, architecture ``arm64``, 512 MB, 30 s, proxy idle client
    timeout 120 s (AWS: 1800 s), borrow timeout 10 s (AWS: 120 s), IAM auth, the application role
    as ``db_user``, alarms on, logs kept 30 days, connections = ``default_share``, reserved
    concurrency and MaxConnectionsPercent from the budget. ``shared_proxy``: the caller passes a
    proxy (its settings are its own); ``client_of``: the share of another function's proxy it is a
    client of (planned within what that proxy has left). ``subnet_tiers``: the tiers the network has.
    """
    o = options.with_defaults(
        runtime=DEFAULT_RUNTIME, architecture=DEFAULT_ARCHITECTURE, memory_size=DEFAULT_MEMORY_MB,
        timeout_s=DEFAULT_FUNCTION_TIMEOUT_S, idle_client_timeout_s=DEFAULT_IDLE_CLIENT_TIMEOUT_S,
        borrow_timeout_s=DEFAULT_BORROW_TIMEOUT_S, iam_auth=True, alarms=True,
        log_retention_days=DEFAULT_LOG_RETENTION_DAYS)
    _check_options(o)
    _check_proxy_inputs(o, shared_proxy=shared_proxy, proxy_security_group_known=proxy_security_group_known,
                        proxy_target_known=proxy_target_known, security_group_prop=security_group_prop)
    user = check_db_user(database.app_username if o.db_user is None else o.db_user)
    check_master_user(user, database.master_username, database.app_username, o.master_user_reason)
    extra = check_function_environment(environment, resolved_environment)
    function_tier = "given" if subnets_given else _subnet_tier(("private", "isolated"), subnet_tiers, label)
    proxy_tier = _subnet_tier(("isolated", "private"), subnet_tiers, f"the RDS Proxy of {label}")
    assert o.timeout_s is not None and o.memory_size is not None and o.runtime and o.architecture
    budget = client_of.plan_client(
        label, connections=o.connections, reserved_concurrency=o.reserved_concurrency,
        function_timeout_s=o.timeout_s, account=account,
    ) if client_of is not None else plan_serverless(
        database.limit, available,
        connections=o.connections if o.connections is not None else default_share,
        reserved_concurrency=o.reserved_concurrency,
        proxy_max_connections_percent=o.proxy_max_connections_percent,
        idle_client_timeout_s=o.idle_client_timeout_s or DEFAULT_IDLE_CLIENT_TIMEOUT_S,
        borrow_timeout_s=o.borrow_timeout_s or 0,
        function_timeout_s=o.timeout_s,
        account_concurrency_limit=(account.quota if account is not None
                                   else o.account_concurrency_limit or DEFAULT_ACCOUNT_CONCURRENCY),
        account=account)
    secret = "master" if user == database.master_username else "app"
    iam_auth = bool(o.iam_auth)
    proxy = None if shared_proxy else ProxyPlan(
        engine_family=database.engine_family, require_tls=budget.proxy.require_tls,
        idle_client_timeout_s=budget.proxy.idle_client_timeout_s,
        borrow_timeout_s=budget.proxy.borrow_timeout_s,
        max_connections_percent=budget.proxy.max_connections_percent,
        max_idle_connections_percent=budget.proxy.max_idle_connections_percent,
        iam_auth="REQUIRED" if iam_auth else "DISABLED", auth_scheme="SECRETS", secret=secret,
        subnet_tier=proxy_tier, role_actions=PROXY_SECRET_ACTIONS,
        database_connections=budget.proxy.database_connections(database.limit),
        description=f"RDS Proxy for {label}: in from the function, out to the database")
    return ServerlessFunctionPlan(
        label=label, budget=budget, runtime=o.runtime, architecture=o.architecture, memory_size=o.memory_size,
        timeout_s=budget.function_timeout_s, reserved_concurrency=budget.reserved_concurrency,
        iam_auth=iam_auth, db_user=user, secret=secret,
        alarms=_alarms(label, budget) if o.alarms else (),
        log_retention_days=o.log_retention_days or DEFAULT_LOG_RETENTION_DAYS,
        environment_values={
            settings.PORT: str(database.proxy_port), settings.NAME: database.database_name,
            settings.USER: user, settings.ENGINE: database.engine_name,
            settings.IAM_AUTH: "true" if iam_auth else "false",
            settings.URL_PARAMS: budget.url.query_string(), **budget.pool.environment()},
        extra_environment=extra, function_subnet_tier=function_tier, proxy=proxy,
        security_rules=_security(label, database, creates_proxy=not shared_proxy, iam_auth=iam_auth),
        statements=_statements(iam_auth),
        description=f"deploy-paradigms serverless: {budget.summary()}",
        security_group_description=f"Lambda {label}: out to the RDS Proxy on the database port only",
        role_description=f"Execution role of {label}: logs, VPC interfaces, database connect")


@dataclass(frozen=True)
class Booking:
    """What booking a function took: its share of the ledger (the plan, the allocation) and its account.

    With ``connections=`` the plan is final at once; a default share's is provisional until the
    ledger settles (:meth:`when_settled` runs once it is final). A client of a shared proxy is
    planned and booked on the proxy at once (``on_proxy``: its plan and its allocation there)."""

    share: LedgerBooking[ServerlessFunctionPlan] | None
    account: AccountConcurrency
    on_proxy: tuple[ServerlessFunctionPlan, Allocation] | None = None

    @property
    def settled(self) -> bool:
        return self.on_proxy is not None or (self.share is not None and self.share.settled)

    @property
    def plan(self) -> ServerlessFunctionPlan:
        if self.on_proxy is not None:
            return self.on_proxy[0]
        assert self.share is not None
        return self.share.plan

    @property
    def allocation(self) -> Allocation:
        if self.on_proxy is not None:
            return self.on_proxy[1]
        assert self.share is not None
        return self.share.allocation

    def when_settled(self, listener: Callable[[ServerlessFunctionPlan], None]) -> None:
        if self.on_proxy is not None:
            listener(self.on_proxy[0])
        else:
            assert self.share is not None
            self.share.when_settled(listener)


def book_connections(*, consumer: str, ledger: ConnectionLedger, deployment: Deployment,
                     account_key: tuple[str, str],
                     options: FunctionOptions, proxy: object | None,
                     planner: Callable[..., ServerlessFunctionPlan]) -> Booking:
    """The one booking step of a function (both engines): what the ledger grants, the plan for it, then
    the booking on the ledger and the account's concurrency. A client of a proxy another function
    created is planned and booked on that proxy instead (:func:`_book_on_shared_proxy`).

    ``planner(available=, default_share=, account=)`` plans the function; nothing is booked when it
    refuses. ``connections=`` is planned and booked now (over the ledger, the ledger refuses, naming
    every consumer and its share); a default share is booked when the ledger settles.
    """
    shared = deployment.proxy_share(proxy) if proxy is not None else None
    if shared is not None:
        return _book_on_shared_proxy(consumer=consumer, ledger=ledger, deployment=deployment,
                                     account_key=account_key, options=options, shared=shared, planner=planner)
    account = deployment.account(*account_key, quota=options.account_concurrency_limit, requested_by=consumer)

    def plan_for(share: int, available: int) -> ServerlessFunctionPlan:
        return planner(available=available, account=account, default_share=share)

    def commit(plan: ServerlessFunctionPlan) -> None:
        account.reserve(consumer, plan.reserved_concurrency)  # over the account: refused

    share = ledger.book(consumer, paradigm="serverless", connections=options.connections,
                        plan_for=plan_for, commit=commit, budget_of=lambda plan: plan.budget)
    return Booking(share, account)


def _book_on_shared_proxy(*, consumer: str, ledger: ConnectionLedger, deployment: Deployment,
                          account_key: tuple[str, str], options: FunctionOptions, shared: ProxyShare,
                          planner: Callable[..., ServerlessFunctionPlan]) -> Booking:
    """A client of a proxy another function created: planned within what that proxy has left (its
    settings unchanged) and its clients booked on the proxy. Nothing is booked on the database's
    ledger, so there is no pre-check over it: the proxy's creator holds its database connections."""
    shared.check_database(consumer, ledger)  # only a proxy in front of this function's database
    account = deployment.account(*account_key, quota=options.account_concurrency_limit, requested_by=consumer)
    with ledger.explaining():
        plan = planner(available=shared.remaining, account=account, default_share=0, client_of=shared)
    account.reserve(consumer, plan.reserved_concurrency)
    return Booking(None, account, (plan, shared.book(consumer, plan.budget)))


def register_proxy(deployment: Deployment, proxy: object, plan: ServerlessFunctionPlan,
                   ledger: ConnectionLedger) -> None:
    """Record a proxy a function created, so others may share it within what it opens."""
    deployment.register_proxy(proxy, ProxyShare.created(plan.label, ledger, plan.budget))


def settle_proxy(deployment: Deployment, proxy: object, proxy_name: object,
                 proxies: list[tuple[Any, int]], plan: ServerlessFunctionPlan) -> None:
    """A created proxy once its function's share is final (a default share settles late): what it
    opens, in the database's list of proxies (``proxy_name``'s entry) and in its share."""
    assert plan.proxy is not None
    opens = plan.proxy.database_connections
    proxies[:] = [(name, opens if name == proxy_name else n) for name, n in proxies]
    share = deployment.proxy_share(proxy)
    if share is not None:
        share.resize(opens, plan.clients)

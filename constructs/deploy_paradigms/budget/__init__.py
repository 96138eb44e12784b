"""Framework-free connection-budget core: limits, planners, ledger.

No CDK or Pulumi import here: both renderers consume the same plan objects.
"""

from .errors import (
    BudgetError,
    BudgetExceededError,
    InputError,
    UnknownEngineError,
    UnknownInstanceClassError,
)
from .ledger import Allocation, ConnectionLedger
from .limits import (
    SEED_POSTGRES_USABLE,
    ConnectionLimit,
    Engine,
    connection_limit,
    describe_connection_limit,
    known_instance_classes,
    normalise_instance_class,
    parse_engine,
    serverless_v2_max_connections,
)
from .plan import (
    DEFAULT_ACCOUNT_CONCURRENCY,
    DEFAULT_IDLE_CLIENT_TIMEOUT_S,
    PROXY_DEFAULT_IDLE_CLIENT_TIMEOUT_S,
    UNRESERVED_CONCURRENCY_MINIMUM,
    ContainerPlan,
    ProxySettings,
    ServerlessPlan,
    UrlParameters,
    default_reserve,
    largest_max_tasks,
    peak_tasks,
    plan_containers,
    plan_serverless,
)

__all__ = [
    "DEFAULT_ACCOUNT_CONCURRENCY",
    "DEFAULT_IDLE_CLIENT_TIMEOUT_S",
    "PROXY_DEFAULT_IDLE_CLIENT_TIMEOUT_S",
    "SEED_POSTGRES_USABLE",
    "UNRESERVED_CONCURRENCY_MINIMUM",
    "Allocation",
    "BudgetError",
    "BudgetExceededError",
    "ConnectionLedger",
    "ConnectionLimit",
    "ContainerPlan",
    "Engine",
    "InputError",
    "ProxySettings",
    "ServerlessPlan",
    "UnknownEngineError",
    "UnknownInstanceClassError",
    "UrlParameters",
    "connection_limit",
    "default_reserve",
    "describe_connection_limit",
    "known_instance_classes",
    "largest_max_tasks",
    "normalise_instance_class",
    "parse_engine",
    "peak_tasks",
    "plan_containers",
    "plan_serverless",
    "serverless_v2_max_connections",
]

"""Pulumi components (pulumi-aws).

The offline preview lives in :mod:`deploy_paradigms.pulumi.preview` and the
example program in :mod:`deploy_paradigms.pulumi.program` (imported on demand).
"""

from .budget_guard import BudgetGuard, budget_guard_transform, check_program, check_resources
from .change_stream import ChangeStream, ChangeStreamArgs
from .container_service import ContainerService, ContainerServiceArgs
from .data_endpoint import DataEndpoint, DataEndpointArgs
from .database import Database, DatabaseArgs, ExistingDatabaseArgs
from .edge_function import EdgeFunction, EdgeFunctionArgs
from .migrations import DatabaseMigrations, DatabaseMigrationsArgs
from .network import ExistingNetwork, Network, NetworkArgs, NetworkLike
from .serverless_function import FunctionOptions, ServerlessFunction, ServerlessFunctionArgs

__all__ = [
    "BudgetGuard",
    "ChangeStream",
    "ChangeStreamArgs",
    "ContainerService",
    "ContainerServiceArgs",
    "DataEndpoint",
    "DataEndpointArgs",
    "Database",
    "DatabaseArgs",
    "DatabaseMigrations",
    "DatabaseMigrationsArgs",
    "EdgeFunction",
    "EdgeFunctionArgs",
    "ExistingDatabaseArgs",
    "ExistingNetwork",
    "FunctionOptions",
    "Network",
    "NetworkArgs",
    "NetworkLike",
    "ServerlessFunction",
    "ServerlessFunctionArgs",
    "budget_guard_transform",
    "check_program",
    "check_resources",
]

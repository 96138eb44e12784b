"""AWS CDK constructs (aws-cdk-lib)."""

from .budget_guard import BudgetGuard
from .change_stream import ChangeStream
from .container_service import ContainerService
from .data_endpoint import DataEndpoint
from .database import Database
from .edge_function import EdgeFunction
from .migrations import DatabaseMigrations
from .serverless_function import FunctionOptions, ServerlessFunction

__all__ = [
    "BudgetGuard",
    "ChangeStream",
    "ContainerService",
    "DataEndpoint",
    "Database",
    "DatabaseMigrations",
    "EdgeFunction",
    "FunctionOptions",
    "ServerlessFunction",
]

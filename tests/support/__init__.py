"""Test helpers that are not fixtures (importable from benchmarks too)."""

from .local_mysql import LocalMySQL, MySQLNotInstalled, MySQLStartError
from .local_postgres import (
    LocalPostgres,
    PostgresNotInstalled,
    PostgresStartError,
    empty_sample_posts,
    find_bin_dir,
)
from .throwaway_server import ThrowawayServer, free_port

__all__ = ["LocalMySQL", "LocalPostgres", "MySQLNotInstalled", "MySQLStartError", "PostgresNotInstalled",
           "PostgresStartError", "ThrowawayServer", "empty_sample_posts", "find_bin_dir", "free_port"]

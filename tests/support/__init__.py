"""Test helpers that are not fixtures (importable from benchmarks too)."""

from .local_mysql import LocalMySQL, MySQLNotInstalled, MySQLStartError
from .local_postgres import LocalPostgres, PostgresNotInstalled, PostgresStartError, find_bin_dir

__all__ = ["LocalMySQL", "LocalPostgres", "MySQLNotInstalled", "MySQLStartError", "PostgresNotInstalled",
           "PostgresStartError", "find_bin_dir"]

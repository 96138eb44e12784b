"""Test helpers that are not fixtures (importable from benchmarks too)."""

from .local_postgres import LocalPostgres, PostgresNotInstalled, PostgresStartError, find_bin_dir

__all__ = ["LocalPostgres", "PostgresNotInstalled", "PostgresStartError", "find_bin_dir"]

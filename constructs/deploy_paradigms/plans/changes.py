"""Checks and defaults both ``ChangeStream`` renderers share (CDK and Pulumi).

Framework-free, so the two accept and refuse the same inputs and build the same event
patterns (the tests' stub EventBridge matches events with :func:`event_pattern` too).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..budget import BudgetError, Engine, InputError
from ..budget.plan import DIRECT_TLS_QUERY
from ..runtime import change_consumer

__all__ = [
    "DEFAULT_MAX_LAG_MIB",
    "DEFAULT_RUN_SECONDS",
    "FUNCTION_TIMEOUT_S",
    "RDS_WAL_METRICS",
    "ChangeStreamPlan",
    "check_stream_engine",
    "event_pattern",
    "plan_change_stream",
]

#: Slot lag (WAL the consumer has not confirmed) that raises the alarms: 1 GiB, a twentieth of
#: the examples' 20 GiB of storage, minutes of heavy writes and hours of ordinary ones.
DEFAULT_MAX_LAG_MIB = 1024
#: How long one scheduled invocation keeps polling (the schedule fires every minute):
#: near-real-time delivery. 0 drains once a minute (latency up to a minute, a fraction of the cost).
DEFAULT_RUN_SECONDS = 45
DEFAULT_POLL_SECONDS = 1.0
#: The function's timeout: the longest run plus a margin to finish the last batch.
FUNCTION_TIMEOUT_S = 60
#: How the consumer connects: TLS verified against the RDS CAs, a short connect timeout, a name in
#: pg_stat_activity.
CONSUMER_URL_PARAMS = f"connect_timeout=5&{DIRECT_TLS_QUERY}&application_name=deploy-paradigms-changes"
#: RDS metrics that show WAL kept for slots: (metric name, what it says), alarmed at max_lag_mib.
RDS_WAL_METRICS = (("TransactionLogsDiskUsage", "transaction logs use"),
                   ("OldestReplicationSlotLag", "the oldest replication slot lags"))
_TABLE = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$")
OPERATIONS = ("insert", "update", "delete")


def check_stream_engine(engine: Engine) -> None:
    """Refuse the MySQL family: change capture here reads PostgreSQL logical replication."""
    if not engine.is_postgres:
        raise BudgetError(
            f"ChangeStream: engine={engine.value!r} is not supported; change events read PostgreSQL "
            f"logical replication (a replication slot and pgoutput). MySQL binlog capture is not "
            f"implemented: use postgres or aurora-postgresql, or run a binlog reader such as Debezium")


def _identifier(base: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "_", base.lower()).strip("_") or "changes"
    return ("dp_" + text)[:63].rstrip("_")


def _check_tables(tables: Sequence[str]) -> tuple[str, ...]:
    if isinstance(tables, str) or not tables:
        raise InputError(f"tables={tables!r} must be a non-empty list of 'table' or 'schema.table' names, "
                          f"e.g. ['public.orders']; the publication carries only these tables")
    seen: list[str] = []
    for table in tables:
        if not isinstance(table, str) or not _TABLE.match(table):
            raise InputError(f"tables: {table!r} is not 'table' or 'schema.table' (letters, digits, _ "
                              f"and $; unquoted identifiers)")
        qualified = table if "." in table else f"public.{table}"
        if qualified in seen:
            raise InputError(f"tables: {table!r} is listed twice")
        seen.append(qualified)
    return tuple(seen)


def check_operations(operations: Sequence[str] | None, *, what: str = "operations") -> tuple[str, ...]:
    """``operations`` as a tuple of insert/update/delete (all three when omitted)."""
    if operations is None:
        return OPERATIONS
    chosen = tuple(operations) if not isinstance(operations, str) else (operations,)
    bad = [op for op in chosen if op not in OPERATIONS]
    if bad or not chosen:
        raise InputError(f"{what}={list(chosen)!r}: choose one or more of {', '.join(OPERATIONS)}")
    return chosen


@dataclass(frozen=True)
class ChangeStreamPlan:
    """Every decision ``ChangeStream`` takes before it creates anything."""

    slot: str
    publication: str
    tables: tuple[str, ...]
    source: str
    max_lag_mib: int
    run_seconds: int
    poll_seconds: float

    def consumer_environment(self) -> dict[str, str]:
        """The ``CHANGE_*`` variables of the consumer, except the bus (a deploy-time reference)."""
        return {change_consumer.SLOT: self.slot, change_consumer.PUBLICATION: self.publication,
                change_consumer.TABLES: ",".join(self.tables), change_consumer.SOURCE: self.source,
                change_consumer.RUN_SECONDS: str(self.run_seconds),
                change_consumer.POLL_SECONDS: str(self.poll_seconds)}

    @property
    def max_lag_bytes(self) -> int:
        return self.max_lag_mib * 1024 * 1024

    def pattern(self, *, tables: Sequence[str] | None = None,
                operations: Sequence[str] | None = None) -> dict[str, Any]:
        """The event pattern of a subscription (see :func:`event_pattern`), checked against the stream."""
        chosen = None if tables is None else _check_tables(tables)
        unknown = [t for t in chosen or () if t not in self.tables]
        if unknown:
            raise InputError(f"subscribe(tables={list(tables or [])!r}): {', '.join(unknown)} is not in the "
                              f"stream's tables {list(self.tables)}; add it to ChangeStream(tables=...)")
        return event_pattern(self.source, tables=chosen,
                             operations=check_operations(operations) if operations is not None else None)


def plan_change_stream(engine: Engine, name: str, *, tables: Sequence[str], source: str | None,
                       max_lag_mib: int, run_seconds: int, logical_replication: bool) -> ChangeStreamPlan:
    """Check a ``ChangeStream``'s inputs (naming each bad one and its fix) and name its slot and
    publication after ``name`` (``dp_<name>``)."""
    check_stream_engine(engine)
    if not logical_replication:
        raise BudgetError(
            "ChangeStream needs logical replication on the database: create it with "
            "Database(..., logical_replication=True), which sets rds.logical_replication=1 in its "
            "parameter group (the cluster parameter group on Aurora); on a running database that "
            "change needs a reboot before the stream's bootstrap can create its slot")
    checked_tables = _check_tables(tables)
    if (isinstance(max_lag_mib, bool) or not isinstance(max_lag_mib, int)
            or not 64 <= max_lag_mib <= 1_048_576):
        raise InputError(f"max_lag_mib={max_lag_mib!r} must be a whole number of MiB between 64 and "
                          f"1048576; it is the slot lag (WAL kept for the consumer) that raises the alarms")
    limit = FUNCTION_TIMEOUT_S - 15
    if isinstance(run_seconds, bool) or not isinstance(run_seconds, int) or not 0 <= run_seconds <= limit:
        raise InputError(f"run_seconds={run_seconds!r} must be a whole number between 0 and {limit} "
                          f"(the function times out after {FUNCTION_TIMEOUT_S} s and runs every minute)")
    event_source = source or "deploy-paradigms.changes"
    if event_source.startswith("aws.") or not re.fullmatch(r"[A-Za-z0-9._\-/]{1,256}", event_source):
        raise InputError(f"source={source!r} must be 1-256 letters, digits, '.', '_', '-' or '/', and not "
                          f"start with 'aws.' (reserved for AWS services)")
    identifier = _identifier(name)
    return ChangeStreamPlan(slot=identifier, publication=identifier, tables=checked_tables,
                            source=event_source, max_lag_mib=max_lag_mib, run_seconds=run_seconds,
                            poll_seconds=DEFAULT_POLL_SECONDS)


def event_pattern(source: str, *, tables: Sequence[str] | None = None,
                  operations: Sequence[str] | None = None) -> dict[str, Any]:
    """The EventBridge pattern for the stream's row changes, narrowed to ``tables``
    (``schema.table``) and ``operations`` when given."""
    detail: dict[str, list[str]] = {}
    if tables:
        detail["table"] = list(tables)
    if operations:
        detail["operation"] = list(operations)
    pattern: dict[str, Any] = {"source": [source], "detail-type": ["Row change"]}
    if detail:
        pattern["detail"] = detail
    return pattern

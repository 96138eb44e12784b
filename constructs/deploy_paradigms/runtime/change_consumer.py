"""The change consumer: committed row changes of PostgreSQL as EventBridge events.

Handler string: ``deploy_paradigms.runtime.change_consumer.handler``. One function does
three jobs, chosen by the event it receives:

- an EventBridge schedule (every minute): read the replication slot, publish, advance;
- a CloudFormation custom resource (``RequestType``) or a Pulumi ``aws.lambda_.Invocation``
  with ``lifecycle_scope="CRUD"`` (``tf.action``): create the publication and the slot on
  create/update, drop both on delete (an abandoned slot keeps WAL until the disk fills).

Design: a scheduled function that *peeks* the slot over SQL
(``pg_logical_slot_peek_binary_changes`` with the built-in ``pgoutput`` plugin, which RDS
and Aurora PostgreSQL ship and which needs no extension), publishes with ``PutEvents``
and calls ``pg_replication_slot_advance`` only for transactions EventBridge accepted.
Peeking does not consume anything, so a crash between publishing and advancing redelivers
(at least once), and a crash before publishing loses nothing. The function runs with
reserved concurrency 1 (a slot serves one reader at a time): one database connection,
booked on the Database's ledger, and no WAL sender (the SQL interface does not use one).

Delivery: events are published in commit order, one ``PutEvents`` call at a time (at most
10 entries and 256 KB each). EventBridge does not promise delivery order to targets, so
every event carries ``sequence`` (sortable: commit LSN, then position in the transaction)
and ``idempotency_key`` for consumers that must order or de-duplicate.

Event (``detail-type`` ``Row change``, ``source`` the stream's source)::

    {"table": "public.orders", "schema": "public", "name": "orders", "operation": "update",
     "key": {"id": 7}, "new": {"id": 7, "status": "paid"}, "old": null,
     "old_is": null, "unchanged": [], "truncated": false,
     "xid": 731, "commit_lsn": "0/19258D0", "commit_time": "2026-12-01T14:10:37.123456Z",
     "position": 0, "sequence": "00000000019258D0-00000000",
     "idempotency_key": "<slot>:0/19258D0:0"}

``old`` is the old key (``old_is: "key"``, when an update changed the key or on delete
with the default replica identity) or the whole old row (``"row"``, with ``REPLICA
IDENTITY FULL``). ``unchanged`` lists TOASTed columns an update did not touch (their value
is not in ``new``). ``truncated`` is true when the row was too large for one event (256 KB):
``new``/``old`` are then left out and the key stays. Values: integers, booleans, floats and
JSON as JSON; everything else (numeric, timestamps, text, bytea as ``\\x..``) as the
server's text.

Environment: ``CHANGE_SLOT``, ``CHANGE_PUBLICATION``, ``CHANGE_TABLES`` (comma-separated),
``CHANGE_EVENT_BUS`` (name or ARN), ``CHANGE_SOURCE``, ``CHANGE_RUN_SECONDS`` (how long one
invocation keeps polling; 0 = drain once), ``CHANGE_POLL_SECONDS``, ``CHANGE_METRIC_NAMESPACE``,
plus the ``DATABASE_*`` variables of :mod:`deploy_paradigms.runtime.settings`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import struct
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import aws_sigv4
from .connection import DatabaseConnection, connect
from .settings import DatabaseSettings

logger = logging.getLogger(__name__)

SLOT = "CHANGE_SLOT"
PUBLICATION = "CHANGE_PUBLICATION"
TABLES = "CHANGE_TABLES"
EVENT_BUS = "CHANGE_EVENT_BUS"
SOURCE = "CHANGE_SOURCE"
RUN_SECONDS = "CHANGE_RUN_SECONDS"
POLL_SECONDS = "CHANGE_POLL_SECONDS"
METRIC_NAMESPACE = "CHANGE_METRIC_NAMESPACE"
ALL = (SLOT, PUBLICATION, TABLES, EVENT_BUS, SOURCE, RUN_SECONDS, POLL_SECONDS, METRIC_NAMESPACE)

DETAIL_TYPE = "Row change"
DEFAULT_SOURCE = "deploy-paradigms.changes"
DEFAULT_METRIC_NAMESPACE = "DeployParadigms/ChangeStream"
OPERATIONS = ("insert", "update", "delete")
#: PutEvents: at most 10 entries and 256 KB (262,144 bytes) per request; an entry's size is
#: its Source, DetailType and Detail (and Resources, unused here) in UTF-8 bytes.
MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024
#: Messages fetched from the server-side cursor at a time (the server keeps the rest on disk).
FETCH_ROWS = 500
#: Messages one peek decodes at most (the server stops after the transaction that reaches it):
#: a backlog is read in bounded steps, each well inside the function timeout.
PEEK_ROWS = 20_000
#: Changes decoded before they are published (the memory one run holds, whatever the
#: size of a transaction).
FLUSH_CHANGES = 100
#: Seconds an invocation leaves itself before the function timeout to finish a batch.
TIMEOUT_MARGIN_S = 10.0
PUBLISH_ATTEMPTS = 5

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_TABLE = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$")
_PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# Type OIDs whose text form becomes a JSON value (pg_type): bool; int8, int2, int4, oid;
# float4, float8; json, jsonb. Everything else stays the server's text.
_INTEGER_TYPES = frozenset({20, 21, 23, 26})
_FLOAT_TYPES = frozenset({700, 701})
_JSON_TYPES = frozenset({114, 3802})
_BOOL_TYPE = 16


class ChangeStreamError(RuntimeError):
    """The stream cannot run (configuration, server settings) or EventBridge kept refusing events."""


# --------------------------------------------------------------------------- LSNs


def parse_lsn(text: str) -> int:
    """``"0/19258D0"`` -> 26367184."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(value: int) -> str:
    """26367184 -> ``"0/19258D0"`` (PostgreSQL's ``pg_lsn`` text form)."""
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


# --------------------------------------------------------------------------- pgoutput decoding


@dataclass(frozen=True)
class Column:
    name: str
    type_oid: int
    is_key: bool


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    columns: tuple[Column, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class RowChange:
    """One committed row change, in commit order (its transaction's :class:`Commit` follows)."""

    relation: Relation
    operation: str
    new: dict[str, Any] | None
    old: dict[str, Any] | None
    old_is: str | None
    unchanged: tuple[str, ...]
    xid: int
    commit_lsn: int
    commit_time: dt.datetime
    position: int

    @property
    def key(self) -> dict[str, Any]:
        keys = [c.name for c in self.relation.columns if c.is_key]
        source = self.new if self.operation != "delete" and self.new is not None else (self.old or {})
        return {k: source.get(k) for k in keys if k in source}

    @property
    def sequence(self) -> str:
        return f"{self.commit_lsn:016X}-{self.position:08d}"

    def detail(self, slot: str) -> dict[str, Any]:
        commit = format_lsn(self.commit_lsn)
        return {
            "table": self.relation.qualified, "schema": self.relation.schema, "name": self.relation.name,
            "operation": self.operation, "key": self.key, "new": self.new, "old": self.old,
            "old_is": self.old_is, "unchanged": list(self.unchanged), "truncated": False,
            "xid": self.xid, "commit_lsn": commit,
            "commit_time": self.commit_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "position": self.position, "sequence": self.sequence,
            "idempotency_key": f"{slot}:{commit}:{self.position}",
        }


@dataclass(frozen=True)
class Commit:
    """The end of a transaction (emitted even when it changed no published row)."""

    xid: int
    commit_lsn: int
    end_lsn: int


def _text_value(type_oid: int, text: str) -> Any:
    if type_oid in _INTEGER_TYPES:
        return int(text)
    if type_oid == _BOOL_TYPE:
        return text == "t"
    if type_oid in _FLOAT_TYPES:
        number = float(text)
        return number if number == number and abs(number) != float("inf") else text
    if type_oid in _JSON_TYPES:
        return json.loads(text)
    return text


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> Any:
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string(self) -> str:
        end = self.data.index(b"\x00", self.at)
        text = self.data[self.at:end].decode("utf-8")
        self.at = end + 1
        return text

    def raw(self, length: int) -> bytes:
        chunk = self.data[self.at:self.at + length]
        self.at += length
        return chunk


class PgOutputDecoder:
    """Decodes ``pgoutput`` protocol version 1 messages (PostgreSQL docs, "Logical Replication
    Message Formats") into :class:`RowChange` and :class:`Commit` objects."""

    def __init__(self, primary_key: Callable[[str, str], Sequence[str]] | None = None) -> None:
        # With REPLICA IDENTITY FULL every column is flagged as key: the event's key then comes
        # from the table's primary key, looked up once per relation.
        self.primary_key = primary_key
        self.relations: dict[int, Relation] = {}
        self._xid = 0
        self._commit_lsn = 0
        self._commit_time = _PG_EPOCH
        self._position = 0

    def feed(self, data: bytes) -> RowChange | Commit | None:
        reader = _Reader(bytes(data))
        kind = reader.take("!c")
        if kind == b"B":
            self._commit_lsn, micros, self._xid = reader.take("!QqI")
            self._commit_time = _PG_EPOCH + dt.timedelta(microseconds=micros)
            self._position = 0
            return None
        if kind == b"C":
            _flags, commit_lsn, end_lsn, _micros = reader.take("!BQQq")
            return Commit(self._xid, commit_lsn, end_lsn)
        if kind == b"R":
            oid = reader.take("!I")
            schema, name = reader.string(), reader.string()
            identity = reader.take("!B")
            columns = []
            for _ in range(reader.take("!H")):
                flags = reader.take("!B")
                column_name = reader.string()
                type_oid, _modifier = reader.take("!Ii")
                columns.append(Column(column_name, type_oid, bool(flags & 1)))
            schema = schema or "public"
            primary = self.primary_key(schema, name) if identity == ord("f") and self.primary_key else ()
            if primary:
                columns = [Column(c.name, c.type_oid, c.name in primary) for c in columns]
            self.relations[oid] = Relation(schema, name, tuple(columns))
            return None
        if kind in (b"I", b"U", b"D"):
            return self._row(kind, reader)
        # Type, Origin, Truncate (not published by default) and Message carry no row.
        return None

    def _tuple(self, relation: Relation, reader: _Reader) -> tuple[dict[str, Any], list[str]]:
        values: dict[str, Any] = {}
        unchanged: list[str] = []
        count = reader.take("!H")
        for column in relation.columns[:count]:
            kind = reader.take("!c")
            if kind == b"n":
                values[column.name] = None
            elif kind == b"u":
                unchanged.append(column.name)
            else:
                text = reader.raw(reader.take("!I")).decode("utf-8")
                values[column.name] = _text_value(column.type_oid, text)
        return values, unchanged

    def _row(self, kind: bytes, reader: _Reader) -> RowChange:
        relation = self.relations[reader.take("!I")]
        old: dict[str, Any] | None = None
        old_is: str | None = None
        new: dict[str, Any] | None = None
        unchanged: list[str] = []
        marker = reader.take("!c")
        if marker in (b"K", b"O"):
            old, _ = self._tuple(relation, reader)
            old_is = "key" if marker == b"K" else "row"
            if old_is == "key":
                keys = {c.name for c in relation.columns if c.is_key}
                old = {k: v for k, v in old.items() if k in keys}
            if kind == b"U":
                marker = reader.take("!c")
        if marker == b"N":
            new, unchanged = self._tuple(relation, reader)
        operation = {b"I": "insert", b"U": "update", b"D": "delete"}[kind]
        change = RowChange(relation, operation, new, old, old_is, tuple(unchanged), self._xid,
                           self._commit_lsn, self._commit_time, self._position)
        self._position += 1
        return change


# --------------------------------------------------------------------------- events


def entry_size(entry: Mapping[str, Any]) -> int:
    """PutEvents' size of one entry (Source, DetailType, Detail, Resources, in UTF-8 bytes)."""
    size = sum(len(str(entry.get(k, "")).encode("utf-8")) for k in ("Source", "DetailType", "Detail"))
    return size + sum(len(r.encode("utf-8")) for r in entry.get("Resources", ()))


@dataclass(frozen=True)
class EventTarget:
    """Where events go: the bus (name or ARN) and the ``source`` they carry."""

    bus: str
    source: str = DEFAULT_SOURCE
    slot: str = "changes"

    def entry(self, change: RowChange) -> dict[str, Any]:
        detail = change.detail(self.slot)
        entry = {"Source": self.source, "DetailType": DETAIL_TYPE, "EventBusName": self.bus,
                 "Time": change.commit_time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "Detail": json.dumps(detail, separators=(",", ":"), default=str)}
        if entry_size(entry) > MAX_REQUEST_BYTES:
            # The key stays (it is small), so a subscriber can read the row itself.
            detail.update(new=None, old=None, truncated=True)
            entry["Detail"] = json.dumps(detail, separators=(",", ":"), default=str)
        return entry


def batches(entries: Sequence[dict[str, Any]]) -> Iterator[tuple[int, int]]:
    """``(start, end)`` index ranges of at most 10 entries and 256 KB, in order."""
    start, size = 0, 0
    for index, entry in enumerate(entries):
        this = entry_size(entry)
        if index > start and (index - start == MAX_ENTRIES or size + this > MAX_REQUEST_BYTES):
            yield start, index
            start, size = index, 0
        size += this
    if start < len(entries):
        yield start, len(entries)


PutEvents = Callable[[list[dict[str, Any]]], dict[str, Any]]


def put_events(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """EventBridge ``PutEvents``, signed with the standard-library SigV4 signer (no boto3)."""
    response = aws_sigv4.aws_json_call(service="events", target="AWSEvents.PutEvents",
                                       payload={"Entries": entries}, service_id="EventBridge")
    if not response.ok:
        raise ChangeStreamError(f"PutEvents answered {response.status}: {response.body[:300]!r}")
    body = response.json()
    if not isinstance(body, dict):
        raise ChangeStreamError(f"PutEvents answered {body!r}")
    return body


def accepted_prefix(response: Mapping[str, Any], sent: int) -> int:
    """How many leading entries EventBridge accepted (entries after the first failure are sent
    again, accepted or not, so that order holds)."""
    if not response.get("FailedEntryCount"):
        return sent
    results = list(response.get("Entries") or [])
    for index, result in enumerate(results[:sent]):
        if result.get("ErrorCode"):
            return index
    return min(len(results), sent)


# --------------------------------------------------------------------------- the consumer


@dataclass
class RunStats:
    """What one :meth:`ChangeConsumer.run_once` did (also the EMF metrics)."""

    events: int = 0
    transactions: int = 0
    put_calls: int = 0
    retries: int = 0
    advanced_to: str | None = None
    caught_up: bool = False
    latencies_s: list[float] = field(default_factory=list)


class ChangeConsumer:
    """Reads the slot, publishes, advances. ``publish`` defaults to :func:`put_events`."""

    def __init__(self, conn: DatabaseConnection, *, slot: str, publication: str, target: EventTarget,
                 publish: PutEvents | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self.conn = conn
        self.slot = check_identifier("slot", slot)
        self.publication = check_identifier("publication", publication)
        self.target = target
        self.publish = publish or put_events
        self.sleep = sleep
        self.clock = clock

    def run_once(self, *, deadline: float | None = None) -> RunStats:
        """Publish every change committed up to the current flush position (or until
        ``deadline``, a ``time.monotonic()`` value), advancing the slot behind EventBridge."""
        stats = RunStats()
        upto = str(self.conn.query("SELECT pg_current_wal_flush_lsn()::text").rows[0][0])
        raw = self.conn.raw
        stopped_early = False
        fetched = 0
        last_commit_end = 0
        # A server-side cursor: the server decodes into a tuplestore (spilling to disk), the
        # function holds at most FETCH_ROWS messages and one flush of changes in memory.
        raw.run("BEGIN ISOLATION LEVEL READ COMMITTED")
        try:
            raw.run("DECLARE dp_changes NO SCROLL CURSOR FOR SELECT data "
                    "FROM pg_logical_slot_peek_binary_changes(:slot, CAST(:upto AS pg_lsn), "
                    "CAST(:rows AS integer), 'proto_version', '1', 'publication_names', :publication)",
                    slot=self.slot, upto=upto, rows=PEEK_ROWS, publication=self.publication)
            decoder = PgOutputDecoder(self._primary_key)
            pending: list[RowChange | Commit] = []
            changes = 0
            while not stopped_early:
                chunk = raw.run(f"FETCH {FETCH_ROWS} FROM dp_changes")
                fetched += len(chunk)
                for (data,) in chunk:
                    item = decoder.feed(data)
                    if item is None:
                        continue
                    pending.append(item)
                    if isinstance(item, Commit):
                        stats.transactions += 1
                        last_commit_end = item.end_lsn
                    else:
                        changes += 1
                    if changes >= FLUSH_CHANGES:
                        self._flush(pending, stats)
                        pending, changes = [], 0
                        if deadline is not None and time.monotonic() > deadline:
                            stopped_early = True
                            break
                if len(chunk) < FETCH_ROWS:
                    break
            if pending and not stopped_early:
                self._flush(pending, stats)
        finally:
            raw.run("COMMIT")
        if not stopped_early and fetched < PEEK_ROWS:
            # Everything committed before `upto` is published: advance there, past transactions
            # that touched no published table (otherwise the slot would keep their WAL).
            self._advance(parse_lsn(upto), stats)
            stats.caught_up = True
        elif not stopped_early and last_commit_end:
            # The peek stopped at PEEK_ROWS: all it returned is published; more remains.
            self._advance(last_commit_end, stats)
        return stats

    def _primary_key(self, schema: str, table: str) -> tuple[str, ...]:
        rows = self.conn.query(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indisprimary AND i.indrelid = "
            "(quote_ident(:schema) || '.' || quote_ident(:table))::regclass",
            {"schema": schema, "table": table}).rows
        return tuple(str(r[0]) for r in rows)

    def _flush(self, items: list[RowChange | Commit], stats: RunStats) -> None:
        """Publish the changes among ``items`` in order; after each accepted call, advance the slot
        to the end of the last transaction whose changes have all been accepted."""
        changes = [item for item in items if isinstance(item, RowChange)]
        commits: list[tuple[int, int]] = []  # (changes before the commit, its end LSN)
        seen = 0
        for item in items:
            if isinstance(item, RowChange):
                seen += 1
            else:
                commits.append((seen, item.end_lsn))
        entries = [self.target.entry(change) for change in changes]
        done = 0

        def accepted(count: int) -> None:
            nonlocal done
            done += count
            ends = [end for before, end in commits if before <= done]
            if ends:
                self._advance(max(ends), stats)

        for start, end in batches(entries):
            self._put(entries[start:end], changes[start:end], stats, accepted)

    def _put(self, entries: list[dict[str, Any]], changes: list[RowChange], stats: RunStats,
             on_accepted: Callable[[int], None]) -> None:
        attempt = 0
        while entries:
            stats.put_calls += 1
            try:
                response = self.publish(entries)
                accepted = accepted_prefix(response, len(entries))
            except (ChangeStreamError, OSError) as exc:
                logger.warning("PutEvents failed: %s", exc)
                accepted = 0
            if accepted:
                now = self.clock()
                stats.events += accepted
                stats.latencies_s.extend(now - c.commit_time.timestamp() for c in changes[:accepted])
                on_accepted(accepted)
                entries, changes = entries[accepted:], changes[accepted:]
                attempt = 0
                continue
            attempt += 1
            stats.retries += 1
            if attempt >= PUBLISH_ATTEMPTS:
                raise ChangeStreamError(
                    f"EventBridge refused {len(entries)} event(s) {PUBLISH_ATTEMPTS} times in a row; the "
                    f"slot stays at the last accepted transaction and the next run sends them again")
            self.sleep(min(2.0, 0.1 * 2 ** attempt))

    def _advance(self, lsn: int, stats: RunStats) -> None:
        # The server caps the target at its flush position and never moves a slot backwards.
        row = self.conn.query("SELECT end_lsn::text FROM pg_replication_slot_advance(:slot, "
                              "CAST(:lsn AS pg_lsn))", {"slot": self.slot, "lsn": format_lsn(lsn)}).rows[0]
        stats.advanced_to = str(row[0])

    def lag(self) -> dict[str, int]:
        """Bytes of WAL not yet confirmed by the consumer, and bytes the slot makes the server keep."""
        row = self.conn.query(
            "SELECT COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint, "
            "COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint "
            "FROM pg_replication_slots WHERE slot_name = :slot", {"slot": self.slot}).rows
        if not row:
            raise ChangeStreamError(f"replication slot {self.slot!r} does not exist; the bootstrap creates "
                                    f"it (redeploy the ChangeStream)")
        return {"SlotLagBytes": int(row[0][0]), "RetainedWalBytes": int(row[0][1])}


# --------------------------------------------------------------------------- bootstrap and teardown


def check_identifier(what: str, value: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise ChangeStreamError(f"{what}={value!r} must be a lowercase SQL identifier (letters, digits, "
                                f"underscores; at most 63 characters)")
    return value


def _quote_table(table: str) -> str:
    if not _TABLE.match(table):
        raise ChangeStreamError(f"table {table!r} must be 'name' or 'schema.name' (letters, digits, _ and $)")
    return ".".join(f'"{part}"' for part in table.split("."))


def ensure_publication(conn: DatabaseConnection, publication: str, tables: Sequence[str]) -> list[str]:
    """Create the publication when missing and add the listed tables that exist and are not in it
    yet; returns the tables still missing (created later: the next run adds them)."""
    check_identifier("publication", publication)
    if not conn.query("SELECT 1 FROM pg_publication WHERE pubname = :p", {"p": publication}).rows:
        conn.query(f"CREATE PUBLICATION {publication} WITH (publish = 'insert, update, delete')")
    missing = []
    for table in tables:
        quoted = _quote_table(table)
        if conn.query("SELECT to_regclass(:t) IS NOT NULL", {"t": quoted}).rows[0][0] is not True:
            missing.append(table)
            continue
        present = conn.query(
            "SELECT 1 FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid "
            "WHERE p.pubname = :p AND r.prrelid = to_regclass(:t)", {"p": publication, "t": quoted}).rows
        if not present:
            conn.query(f"ALTER PUBLICATION {publication} ADD TABLE {quoted}")
    return missing


def bootstrap(conn: DatabaseConnection, *, slot: str, publication: str,
              tables: Sequence[str]) -> dict[str, Any]:
    """The publication and the slot, created when missing (safe to run again)."""
    check_identifier("slot", slot)
    wal_level = str(conn.query("SHOW wal_level").rows[0][0])
    if wal_level != "logical":
        raise ChangeStreamError(
            f"wal_level is {wal_level!r}, not 'logical': the parameter group needs rds.logical_replication=1 "
            f"(Database(logical_replication=True)) and the database a reboot to apply it")
    missing = ensure_publication(conn, publication, tables)
    created = False
    if not conn.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = :s", {"s": slot}).rows:
        conn.query("SELECT pg_create_logical_replication_slot(:s, 'pgoutput')", {"s": slot})
        created = True
    return {"Slot": slot, "Publication": publication, "SlotCreated": str(created).lower(),
            "TablesMissing": ",".join(missing)}


def teardown(conn: DatabaseConnection, *, slot: str, publication: str) -> None:
    """Drop the slot (ending whoever holds it) and the publication; nothing missing is an error."""
    check_identifier("slot", slot)
    check_identifier("publication", publication)
    conn.query("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
               "WHERE slot_name = :s AND active_pid IS NOT NULL", {"s": slot})
    for _ in range(50):
        if not conn.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = :s AND active",
                          {"s": slot}).rows:
            break
        time.sleep(0.1)
    conn.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = :s",
               {"s": slot})
    conn.query(f"DROP PUBLICATION IF EXISTS {publication}")


# --------------------------------------------------------------------------- metrics


def emf_record(*, namespace: str, slot: str, stats: RunStats, lag: Mapping[str, int],
               now: float | None = None) -> dict[str, Any]:
    """One CloudWatch Embedded Metric Format record (printed to stdout, Lambda ships it)."""
    latencies = sorted(stats.latencies_s)
    values: dict[str, float] = {
        "EventsPublished": stats.events, "PutEventsRetries": stats.retries, **lag,
        "CommitToPublishMaxSeconds": round(latencies[-1], 3) if latencies else 0.0,
    }
    units = {"EventsPublished": "Count", "PutEventsRetries": "Count", "SlotLagBytes": "Bytes",
             "RetainedWalBytes": "Bytes", "CommitToPublishMaxSeconds": "Seconds"}
    return {
        "_aws": {"Timestamp": int((now if now is not None else time.time()) * 1000),
                 "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [["Slot"]],
                                        "Metrics": [{"Name": k, "Unit": units[k]} for k in values]}]},
        "Slot": slot, **values,
    }


# --------------------------------------------------------------------------- the Lambda handler


@dataclass(frozen=True)
class StreamSettings:
    """The ``CHANGE_*`` environment, checked."""

    slot: str
    publication: str
    tables: tuple[str, ...]
    bus: str
    source: str
    run_seconds: float
    poll_seconds: float
    namespace: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StreamSettings:
        env = os.environ if environ is None else environ
        missing = [k for k in (SLOT, PUBLICATION, EVENT_BUS) if not env.get(k)]
        if missing:
            raise ChangeStreamError(f"missing environment variable(s) {', '.join(missing)}: this code "
                                    f"expects to run in a function created by ChangeStream")
        return cls(slot=check_identifier("slot", env[SLOT]),
                   publication=check_identifier("publication", env[PUBLICATION]),
                   tables=tuple(t for t in env.get(TABLES, "").split(",") if t),
                   bus=env[EVENT_BUS], source=env.get(SOURCE) or DEFAULT_SOURCE,
                   run_seconds=float(env.get(RUN_SECONDS, "0") or 0),
                   poll_seconds=float(env.get(POLL_SECONDS, "1") or 1),
                   namespace=env.get(METRIC_NAMESPACE) or DEFAULT_METRIC_NAMESPACE)


def consume(conn: DatabaseConnection, stream: StreamSettings, *, remaining_s: Callable[[], float],
            publish: PutEvents | None = None, emit: Callable[[str], None] = print) -> RunStats:
    """Run the consumer until caught up and ``stream.run_seconds`` have passed (or the function is
    about to time out), then print one EMF record; returns the totals."""
    ensure_publication(conn, stream.publication, stream.tables)  # tables created since the deploy
    consumer = ChangeConsumer(conn, slot=stream.slot, publication=stream.publication,
                              target=EventTarget(stream.bus, stream.source, stream.slot), publish=publish)
    started = time.monotonic()
    total = RunStats()
    while True:
        deadline = time.monotonic() + max(0.0, remaining_s() - TIMEOUT_MARGIN_S)
        stats = consumer.run_once(deadline=deadline)
        total.events += stats.events
        total.transactions += stats.transactions
        total.put_calls += stats.put_calls
        total.retries += stats.retries
        total.latencies_s.extend(stats.latencies_s)
        total.advanced_to = stats.advanced_to or total.advanced_to
        total.caught_up = stats.caught_up
        elapsed = time.monotonic() - started
        if stats.caught_up and (elapsed + stream.poll_seconds >= stream.run_seconds
                                or remaining_s() - stream.poll_seconds <= TIMEOUT_MARGIN_S):
            break
        if stats.caught_up:
            time.sleep(stream.poll_seconds)
        elif remaining_s() <= TIMEOUT_MARGIN_S:
            break
    emit(json.dumps(emf_record(namespace=stream.namespace, slot=stream.slot, stats=total,
                               lag=consumer.lag()), separators=(",", ":")))
    return total


def _respond_to_cloudformation(event: Mapping[str, Any], status: str, reason: str,
                               data: Mapping[str, Any], physical_id: str) -> None:
    body = json.dumps({"Status": status, "Reason": reason[:3000], "PhysicalResourceId": physical_id,
                       "StackId": event["StackId"], "RequestId": event["RequestId"],
                       "LogicalResourceId": event["LogicalResourceId"], "Data": dict(data)}).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - CloudFormation's URL
        response.read()


def lifecycle(action: str, stream: StreamSettings,
              settings: DatabaseSettings | None = None) -> dict[str, Any]:
    """``create``/``update``: bootstrap; ``delete``: teardown. One short-lived connection."""
    conn = connect(settings or DatabaseSettings.from_env())
    try:
        if action == "delete":
            teardown(conn, slot=stream.slot, publication=stream.publication)
            return {"Slot": stream.slot, "Dropped": "true"}
        return bootstrap(conn, slot=stream.slot, publication=stream.publication, tables=stream.tables)
    finally:
        conn.close()


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Entry point: custom resource (CloudFormation or Pulumi) or scheduled run (see module docs)."""
    stream = StreamSettings.from_env()
    if "RequestType" in event:  # CloudFormation custom resource
        action = str(event["RequestType"]).lower()
        physical_id = str(event.get("PhysicalResourceId") or stream.slot)
        if action == "delete" and physical_id != stream.slot:
            # A replaced resource's old id names the old slot and publication (ChangeStream gives
            # both the same name): drop those, not the ones the new resource created.
            old = check_identifier("slot", physical_id)
            stream = StreamSettings(**{**stream.__dict__, "slot": old, "publication": old})
        try:
            data = lifecycle(action, stream)
            _respond_to_cloudformation(event, "SUCCESS", "", data, stream.slot)
        except Exception as exc:
            logger.exception("change stream %s failed", action)
            _respond_to_cloudformation(event, "FAILED", f"{type(exc).__name__}: {exc}", {}, physical_id)
        return {}
    if isinstance(event.get("tf"), Mapping):  # pulumi-aws lambda Invocation, lifecycle_scope CRUD
        return lifecycle(str(event["tf"].get("action", "create")), stream)

    def remaining_s() -> float:
        getter = getattr(context, "get_remaining_time_in_millis", None)
        return getter() / 1000.0 if getter else 60.0

    conn = connect(DatabaseSettings.from_env())
    try:
        stats = consume(conn, stream, remaining_s=remaining_s)
    finally:
        conn.close()
    return {"events": stats.events, "transactions": stats.transactions, "advanced_to": stats.advanced_to}

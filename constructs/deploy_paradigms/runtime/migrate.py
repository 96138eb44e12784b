"""Apply a folder of SQL migrations once each, in order, under an advisory lock.

Run by the migration construct on every deploy, before the service or functions
update (CDK: a ``triggers.Trigger``; Pulumi: an ``aws.lambda_.Invocation``), over a
direct connection to the database (never through RDS Proxy: advisory locks pin
or break there) using one or two of the ledger's reserved connections.

- Files: ``<folder>/*.sql``, applied in file-name order (``0001_init.sql``,
  ``0002_add_index.sql``...); the name without ``.sql`` is the version.
- Tracking: table ``deploy_paradigms_migrations`` (version, SHA-256 of the file,
  applied_at). A version already applied with a different checksum is an error:
  applied migrations are never edited, add a new one.
- Lock: PostgreSQL ``pg_try_advisory_lock`` polled until ``lock_timeout_s``;
  MySQL/MariaDB ``GET_LOCK(name, timeout)``. Two deploys never migrate at once,
  and a lock held too long fails this run with :class:`MigrationLockTimeout`
  (Prisma's ``migrate deploy`` waits 10 s, the default here).
- Each migration runs in a transaction with its tracking row on PostgreSQL (a
  failure leaves nothing behind); MySQL commits DDL implicitly, so a failed
  migration there may be partly applied and is reported with its statement.
- Any failure raises, so the deployment that ran it fails.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .connection import DatabaseConnection, connect, describe_error
from .settings import DatabaseSettings

logger = logging.getLogger(__name__)

TABLE = "deploy_paradigms_migrations"
#: PostgreSQL advisory lock key (a bigint) and MySQL lock name; any constant works if every
#: migrator of the database uses the same one.
PG_LOCK_KEY = 0x6470_6D69_6772  # "dpmigr"
MYSQL_LOCK_NAME = "deploy_paradigms_migrations"
DEFAULT_LOCK_TIMEOUT_S = 10.0
ENV_MIGRATIONS_DIR = "MIGRATIONS_DIR"
ENV_LOCK_TIMEOUT_S = "MIGRATIONS_LOCK_TIMEOUT_S"
_POLL_S = 0.2
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.sql$")

# Statement splitting: quoted strings, identifiers, comments and dollar-quoted bodies are
# kept whole; a ';' outside them ends a statement.
_TOKENS = re.compile(
    r"""('(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|--[^\n]*|\#[^\n]*|/\*.*?\*/|(\$[A-Za-z_]*\$).*?\2)|(;)""",
    re.DOTALL,
)


class MigrationError(RuntimeError):
    """A migration could not be applied; the deployment must fail."""


class MigrationLockTimeout(MigrationError):
    """Another migrator held the lock for longer than the timeout."""


@dataclass(frozen=True)
class Migration:
    version: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    def statements(self, *, postgres: bool) -> list[str]:
        return split_statements(self.sql, postgres=postgres)


@dataclass(frozen=True)
class MigrationResult:
    applied: tuple[str, ...]
    already_applied: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"applied": list(self.applied), "already_applied": list(self.already_applied)}


def split_statements(sql: str, *, postgres: bool = True) -> list[str]:
    """``sql`` cut at top-level semicolons (``#`` starts a comment on MySQL only)."""
    statements: list[str] = []
    start = 0
    for match in _TOKENS.finditer(sql):
        if match.group(1) is not None and match.group(1).startswith("#") and postgres:
            continue  # '#' is an operator in PostgreSQL, not a comment
        if match.group(3) is not None:
            statements.append(sql[start:match.start()])
            start = match.end()
    statements.append(sql[start:])
    return [s.strip() for s in statements if _has_code(s)]


def _has_code(statement: str) -> bool:
    without = re.sub(r"--[^\n]*|/\*.*?\*/", "", statement, flags=re.DOTALL)
    return bool(without.strip())


def load_migrations(folder: str | os.PathLike[str]) -> list[Migration]:
    """The ``*.sql`` files of ``folder`` in name order; refuses names that cannot be versions."""
    path = Path(folder)
    if not path.is_dir():
        raise MigrationError(f"migrations folder {str(path)!r} does not exist")
    migrations = []
    for file in sorted(p for p in path.iterdir() if p.suffix == ".sql"):
        if not _NAME.match(file.name):
            raise MigrationError(f"migration file {file.name!r}: use letters, digits, '_', '-', '.' only, "
                                 f"e.g. 0001_create_users.sql")
        migrations.append(Migration(file.stem, file.read_text(encoding="utf-8")))
    return migrations


def _acquire_lock(conn: DatabaseConnection, timeout_s: float) -> None:
    if conn.postgres:
        deadline = time.monotonic() + timeout_s
        while not conn.query("SELECT pg_try_advisory_lock(:key) AS ok", {"key": PG_LOCK_KEY}).rows[0][0]:
            if time.monotonic() >= deadline:
                raise MigrationLockTimeout(
                    f"another migration held advisory lock {PG_LOCK_KEY} for more than {timeout_s:g} s; "
                    f"wait for it (or end its session) and deploy again")
            time.sleep(_POLL_S)
        return
    got = conn.query("SELECT GET_LOCK(:name, :timeout) AS ok",
                     {"name": MYSQL_LOCK_NAME, "timeout": max(0, int(timeout_s))}).rows[0][0]
    if got != 1:
        raise MigrationLockTimeout(
            f"another migration held lock {MYSQL_LOCK_NAME!r} for more than {timeout_s:g} s; wait for it "
            f"(or end its session) and deploy again")


def _release_lock(conn: DatabaseConnection) -> None:
    if conn.postgres:
        conn.query("SELECT pg_advisory_unlock(:key)", {"key": PG_LOCK_KEY})
    else:
        conn.query("SELECT RELEASE_LOCK(:name)", {"name": MYSQL_LOCK_NAME})


def migrate(conn: DatabaseConnection, migrations: Sequence[Migration], *,
            lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> MigrationResult:
    """Apply the migrations ``conn``'s database has not seen, in order; raise on any failure."""
    _acquire_lock(conn, lock_timeout_s)
    try:
        conn.query(f"CREATE TABLE IF NOT EXISTS {TABLE} (version VARCHAR(255) PRIMARY KEY, "
                   f"checksum CHAR(64) NOT NULL, applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)")
        seen = {str(v): str(c) for v, c in conn.query(f"SELECT version, checksum FROM {TABLE}").rows}
        applied: list[str] = []
        already: list[str] = []
        for migration in migrations:
            if migration.version in seen:
                if seen[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version} changed after it was applied (checksum "
                        f"{seen[migration.version][:12]}... in {TABLE}, {migration.checksum[:12]}... now); "
                        f"restore the file and add a new migration instead")
                already.append(migration.version)
                continue
            _apply(conn, migration)
            applied.append(migration.version)
            logger.info("applied migration %s", migration.version)
        return MigrationResult(tuple(applied), tuple(already))
    finally:
        _release_lock(conn)


def _apply(conn: DatabaseConnection, migration: Migration) -> None:
    conn.query("BEGIN")
    statement = ""
    try:
        for statement in migration.statements(postgres=conn.postgres):
            conn.query(statement)
        conn.query(f"INSERT INTO {TABLE} (version, checksum) VALUES (:version, :checksum)",
                   {"version": migration.version, "checksum": migration.checksum})
        conn.query("COMMIT")
    except Exception as exc:
        try:
            conn.query("ROLLBACK")
        except Exception:  # the connection may be gone; the error below is what matters
            logger.debug("rollback after a failed migration failed", exc_info=True)
        raise MigrationError(f"migration {migration.version} failed at {statement[:200]!r}: "
                             f"{describe_error(exc)}") from exc


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point (CDK Trigger / Pulumi Invocation): migrate, or raise to fail the deploy."""
    settings = DatabaseSettings.from_env()
    folder = os.environ.get(ENV_MIGRATIONS_DIR) or str(Path(__file__).resolve().parent / "migrations")
    timeout = float(os.environ.get(ENV_LOCK_TIMEOUT_S) or DEFAULT_LOCK_TIMEOUT_S)
    migrations = load_migrations(folder)
    conn = connect(settings)
    try:
        result = migrate(conn, migrations, lock_timeout_s=timeout)
    finally:
        conn.close()
    logger.info("migrations: %s", result.as_dict())
    return result.as_dict()

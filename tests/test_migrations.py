"""The migration runtime against real PostgreSQL and MariaDB: a SQL folder applied once each,
tracked in a table, under an advisory lock whose timeout fails the run, failures raised."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy_paradigms.runtime import connection, migrate
from deploy_paradigms.runtime.connection import DatabaseConnection
from deploy_paradigms.runtime.migrate import (
    MigrationError,
    MigrationLockTimeout,
    load_migrations,
    split_statements,
)
from deploy_paradigms.runtime.settings import DatabaseSettings
from tests.conftest import point_runtime_at

TABLES = ("mig_posts", "mig_authors", migrate.TABLE)


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, sql in files.items():
        (folder / name).write_text(sql)
    return folder


FOLDER = {
    "0001_authors.sql": "CREATE TABLE mig_authors (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL);\n"
                        "-- a comment; with a semicolon\n"
                        "INSERT INTO mig_authors (id, name) VALUES (1, 'semi;colon');",
    "0002_posts.sql": "CREATE TABLE mig_posts (id INT PRIMARY KEY, author_id INT NOT NULL);",
}


def server_conn(server: Any, engine: str) -> DatabaseConnection:
    settings = DatabaseSettings(host=server.host, port=server.port, name=server.dbname, user=server.user,
                                engine=engine, url_params=(("sslmode", "disable"), ("connect_timeout", "5")))
    return connection.connect(settings, server.password)


@pytest.fixture(params=["postgres", "mariadb"])
def db(request: pytest.FixtureRequest) -> Iterator[tuple[Any, str]]:
    """(server, engine) with the migration tables dropped before and after."""
    engine = request.param
    server = request.getfixturevalue("postgres_server" if engine == "postgres" else "mysql_server")

    def drop() -> None:
        conn = server_conn(server, engine)
        try:
            for table in TABLES:
                conn.query(f"DROP TABLE IF EXISTS {table}")
        finally:
            conn.close()

    drop()
    yield server, engine
    drop()


def test_a_folder_is_applied_once_in_order_and_tracked(db: tuple[Any, str], tmp_path: Path) -> None:
    server, engine = db
    migrations = load_migrations(write(tmp_path / "m", FOLDER))
    conn = server_conn(server, engine)
    try:
        first = migrate.migrate(conn, migrations)
        second = migrate.migrate(conn, migrations)
        names = conn.query("SELECT name FROM mig_authors").rows
        tracked = conn.query(f"SELECT version, checksum FROM {migrate.TABLE} ORDER BY version").rows
    finally:
        conn.close()
    assert first.applied == ("0001_authors", "0002_posts") and first.already_applied == ()
    assert second.applied == () and second.already_applied == ("0001_authors", "0002_posts")
    assert [tuple(r) for r in names] == [("semi;colon",)]
    assert [r[0] for r in tracked] == ["0001_authors", "0002_posts"]
    assert tracked[0][1] == migrations[0].checksum


def test_a_failed_migration_raises_and_is_not_tracked(db: tuple[Any, str], tmp_path: Path) -> None:
    server, engine = db
    folder = write(tmp_path / "m", {**FOLDER, "0003_broken.sql":
                                    "INSERT INTO mig_posts (id, author_id) VALUES (1, 1);\nSELEKT 1;"})
    conn = server_conn(server, engine)
    try:
        with pytest.raises(MigrationError, match=r"migration 0003_broken failed at 'SELEKT 1'"):
            migrate.migrate(conn, load_migrations(folder))
        tracked = [r[0] for r in conn.query(f"SELECT version FROM {migrate.TABLE}").rows]
        posts = conn.query("SELECT count(*) FROM mig_posts").rows[0][0]
    finally:
        conn.close()
    assert sorted(tracked) == ["0001_authors", "0002_posts"]
    assert posts == 0  # rolled back with the failed migration (DML; MySQL DDL would commit)


def test_an_edited_applied_migration_is_refused(db: tuple[Any, str], tmp_path: Path) -> None:
    server, engine = db
    folder = write(tmp_path / "m", FOLDER)
    conn = server_conn(server, engine)
    try:
        migrate.migrate(conn, load_migrations(folder))
        (folder / "0002_posts.sql").write_text("CREATE TABLE mig_posts (id BIGINT PRIMARY KEY);")
        with pytest.raises(MigrationError, match=r"migration 0002_posts changed after it was applied"):
            migrate.migrate(conn, load_migrations(folder))
    finally:
        conn.close()


def test_a_held_lock_times_out_and_fails_the_run(db: tuple[Any, str], tmp_path: Path) -> None:
    server, engine = db
    holder = server_conn(server, engine)
    conn = server_conn(server, engine)
    try:
        if engine == "postgres":
            holder.query("SELECT pg_advisory_lock(:k)", {"k": migrate.PG_LOCK_KEY})
        else:
            holder.query("SELECT GET_LOCK(:n, 0)", {"n": migrate.MYSQL_LOCK_NAME})
        with pytest.raises(MigrationLockTimeout, match=r"held .* for more than 1 s"):
            migrate.migrate(conn, load_migrations(write(tmp_path / "m", FOLDER)), lock_timeout_s=1)
        tables = conn.query(f"SELECT count(*) FROM information_schema.tables WHERE table_name = "
                            f"'{migrate.TABLE}'").rows[0][0]
        assert tables == 0  # nothing ran without the lock
        holder.close()  # the holder's session ends: its lock goes with it
        rerun = migrate.migrate(conn, load_migrations(tmp_path / "m"))
        assert rerun.applied == ("0001_authors", "0002_posts")
    finally:
        holder.close()
        conn.close()


def test_the_lambda_handler_migrates_from_the_environment(
        postgres_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    conn = server_conn(postgres_server, "postgres")
    for table in TABLES:
        conn.query(f"DROP TABLE IF EXISTS {table}")
    point_runtime_at(postgres_server, monkeypatch, "sslmode=disable&connect_timeout=5")
    monkeypatch.setenv(migrate.ENV_MIGRATIONS_DIR, str(write(tmp_path / "m", FOLDER)))
    try:
        assert migrate.handler({}, None) == {"applied": ["0001_authors", "0002_posts"], "already_applied": []}
    finally:
        connection.set_password_provider(None)
        for table in TABLES:
            conn.query(f"DROP TABLE IF EXISTS {table}")
        conn.close()


def test_statements_split_outside_quotes_comments_and_dollar_bodies() -> None:
    sql = ("CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END $body$ LANGUAGE plpgsql;\n"
           "/* a; b */ SELECT ';', \"a;b\" FROM t; -- tail; comment\n")
    assert split_statements(sql) == [
        "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END $body$ LANGUAGE plpgsql",
        "/* a; b */ SELECT ';', \"a;b\" FROM t"]
    assert split_statements("SELECT 1 # note; x\n;", postgres=False) == ["SELECT 1 # note; x"]


def test_missing_folders_and_bad_names_are_named(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match=r"migrations folder .* does not exist"):
        load_migrations(tmp_path / "none")
    with pytest.raises(MigrationError, match=r"migration file 'bad name\.sql'"):
        load_migrations(write(tmp_path / "m", {"bad name.sql": "SELECT 1"}))

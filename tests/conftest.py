"""Shared fixtures. CDK synthesis is the slow part of the suite (jsii), so each
example app is synthesized once per session per context and shared."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20,22")  # value = majors to silence
# Snapshots must not depend on who runs them: an ambient account would replace
# ${AWS::AccountId} in ARNs (the Region comes from cdk.json's context).
for _ambient in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"):
    os.environ.pop(_ambient, None)

ROOT = Path(__file__).resolve().parents[1]
_ASSEMBLIES: dict[tuple[Any, ...], Any] = {}
# Every assembly of the session goes under one directory, removed when the session ends.
_OUTDIR_ROOT = Path(tempfile.mkdtemp(prefix="dp-tests-cdk-out-"))
atexit.register(shutil.rmtree, _OUTDIR_ROOT, ignore_errors=True)


def cdk_json_context() -> dict[str, Any]:
    """The context `cdk synth` gets from cdk.json (feature flags, defaults), so test
    templates are the templates the CLI writes."""
    with open(ROOT / "cdk.json") as fh:
        return dict(json.load(fh)["context"])


def synth_examples(stacks: tuple[str, ...] = ("Serverless", "Paas", "Edge"), **context: str) -> Any:
    """Synthesize the example app (cdk-nag plugin included) and return the cloud assembly.

    Every example stack is synthesized once per context, whichever ``stacks`` a test
    names (they are all read from the one assembly); tests never mutate templates.
    """
    del stacks  # one assembly per context serves every stack
    key = tuple(sorted(context.items()))
    if key not in _ASSEMBLIES:
        import aws_cdk as cdk

        from stacks.app import build_app

        outdir = tempfile.mkdtemp(prefix="cdk-out-", dir=_OUTDIR_ROOT)
        app = cdk.App(outdir=outdir, context={**cdk_json_context(), **context}, analytics_reporting=False)
        _ASSEMBLIES[key] = build_app(app).synth()
    return _ASSEMBLIES[key]


def template_of(assembly: Any, stack_name: str) -> dict[str, Any]:
    return dict(assembly.get_stack_by_name(stack_name).template)


@pytest.fixture(scope="session")
def synth() -> Callable[..., Any]:
    """``synth(("Paas",), instanceClass="db.m5.large")`` -> cloud assembly (cached)."""
    return synth_examples


def point_runtime_at(server: Any, monkeypatch: pytest.MonkeyPatch, url_params: str | None = None) -> None:
    """Only ``server``'s DATABASE_* variables in the environment (the runtime's others removed),
    and its password from a provider: what a function or task sees, pointed at a local server."""
    from deploy_paradigms.runtime import connection, settings

    for key in settings.ALL:
        monkeypatch.delenv(key, raising=False)
    environ = server.environ() if url_params is None else server.environ(url_params)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    connection.set_password_provider(lambda _settings: server.password)


def _for_the_session(server: Any, not_installed: type[Exception]) -> Iterator[Any]:
    """Start ``server``, hand it out, stop it; fail (never skip) when its binaries are missing."""
    try:
        server.start()
    except not_installed as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Any:
    """One throwaway PostgreSQL server for the whole session (see tests/support/local_postgres.py).

    Fails, never skips, when PostgreSQL is not installed: the message says what to install.
    TLS is on when `openssl` exists (tests that need it check ``server.ssl``).
    """

    from tests.support.local_postgres import LocalPostgres, PostgresNotInstalled

    yield from _for_the_session(LocalPostgres(max_connections=60, superuser_reserved_connections=3,
                                              ssl=shutil.which("openssl") is not None), PostgresNotInstalled)


@pytest.fixture(scope="session")
def mysql_server() -> Any:
    """One throwaway MariaDB server for the whole session (see tests/support/local_mysql.py).

    Fails, never skips, when MariaDB is not installed: the message says what to install.
    TLS is on when `openssl` exists (tests that need it check ``server.ssl``).
    ``max_connections`` is small so a test can run the server out of connections.
    """

    from tests.support.local_mysql import LocalMySQL, MySQLNotInstalled

    yield from _for_the_session(LocalMySQL(max_connections=12, ssl=shutil.which("openssl") is not None),
                                MySQLNotInstalled)


@pytest.fixture(scope="session")
def logical_postgres() -> Any:
    """A throwaway PostgreSQL with ``wal_level=logical`` (what ``rds.logical_replication=1`` sets on
    RDS) for the change stream; the test role gets REPLICATION, as the RDS master user has
    (rds_replication). Commits are flushed synchronously: logical decoding over SQL reads only
    flushed WAL, as on RDS."""

    from tests.support.local_postgres import LocalPostgres, PostgresNotInstalled

    server = LocalPostgres(max_connections=30, settings={
        "wal_level": "logical", "max_replication_slots": "20", "max_wal_senders": "20",
        "synchronous_commit": "on"})
    for started in _for_the_session(server, PostgresNotInstalled):
        admin = started.admin()
        try:
            admin.run(f"ALTER ROLE {started.user} REPLICATION")
        finally:
            admin.close()
        yield started

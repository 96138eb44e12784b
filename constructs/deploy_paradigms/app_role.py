"""The application role: the least-privilege database user every paradigm connects as.

The master user (``app_admin``) owns the database and is kept for the bootstrap and for
migrations. The application role may read and write rows of the tables in the database's
application schema (PostgreSQL ``public``; MySQL: the application database) and nothing
else: no DDL, no other schema or database, no role or grant changes, no superuser powers.

:func:`bootstrap_statements` returns the SQL the bootstrap runs as the master user. Every
statement is idempotent (run on every deployment, it converges to the same grants), so the
bootstrap can run again after a failed attempt or a new deployment. Framework-free: the runtime
bootstrap (``runtime/role_bootstrap.py``) and the tests use the same statements.
"""

from __future__ import annotations

import re

# Submodules, not the package: the bundles ship an empty budget/__init__ (see packaging).
from .budget.errors import BudgetError, InputError
from .budget.limits import Engine, parse_engine

__all__ = ["DEFAULT_APP_USERNAME", "bootstrap_statements", "check_role_name"]

#: The application role's name unless ``Database(app_username=...)`` says otherwise.
DEFAULT_APP_USERNAME = "app_user"

# Unquoted identifiers both families accept; nothing here is ever user text at run time.
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,31}$")


def check_role_name(name: str, *, prop: str = "app_username") -> str:
    """``name`` if it can be an unquoted role/user name on every engine (MySQL allows 32 characters)."""
    if not isinstance(name, str) or not _ROLE.match(name):
        raise InputError(f"{prop}={name!r} must be 1-32 lowercase letters, digits or '_', starting with a "
                          f"letter or '_' (a user name every engine accepts unquoted)")
    return name


def _literal(value: str) -> str:
    """A SQL string literal (single quotes doubled); only for the bootstrap's own passwords."""
    if "\\" in value or "\x00" in value:
        raise ValueError("the password must not contain backslashes or NUL characters")
    return "'" + value.replace("'", "''") + "'"


def bootstrap_statements(engine: str | Engine, *, app_user: str, database: str, password: str | None,
                         iam: bool = False) -> list[str]:
    """SQL (one statement per item) that creates or converges the application role.

    ``password`` sets the role's password (from its own Secrets Manager secret); ``iam``
    additionally lets it log in with RDS IAM tokens (PostgreSQL: ``GRANT rds_iam``, where
    that role exists; MySQL: the AWSAuthenticationPlugin, RDS only) - on RDS PostgreSQL a
    member of ``rds_iam`` can no longer use its password, so ``iam`` and ``password`` are
    exclusive there.
    """
    family = parse_engine(engine.value if isinstance(engine, Engine) else engine)
    user = check_role_name(app_user)
    db = check_role_name(database, prop="database_name")
    if family.is_postgres:
        if iam and password is not None:
            raise BudgetError("a PostgreSQL role in rds_iam cannot log in with a password: choose IAM or a "
                              "password for the application role")
        login = f"LOGIN PASSWORD {_literal(password)}" if password is not None else "LOGIN"
        statements = [
            # Create once (CREATE ROLE's defaults: no superuser, replication or row-security bypass,
            # which only a superuser could grant); ALTER converges the rest on every run.
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{user}') THEN "
            f"CREATE ROLE {user}; END IF; END $$",
            f"ALTER ROLE {user} {login} NOCREATEDB NOCREATEROLE",
            # PUBLIC may connect to any database and (before PostgreSQL 15) create in public:
            # the application role gets exactly CONNECT on its database and USAGE on its schema.
            f"REVOKE ALL ON DATABASE {db} FROM PUBLIC",
            f"GRANT CONNECT ON DATABASE {db} TO {user}",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            f"REVOKE CREATE ON SCHEMA public FROM {user}",
            f"GRANT USAGE ON SCHEMA public TO {user}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {user}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {user}",
            # Tables the master user (migrations) creates later get the same grants.
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {user}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {user}",
        ]
        if iam:
            statements.append(f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN "
                              f"GRANT rds_iam TO {user}; END IF; END $$")
        return statements
    account = f"'{user}'@'%'"
    if iam:
        identified = "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'"
    elif password is not None:
        identified = f"IDENTIFIED BY {_literal(password)}"
    else:
        raise BudgetError("a MySQL-family application user needs a password or IAM authentication")
    return [
        f"CREATE USER IF NOT EXISTS {account} {identified} REQUIRE SSL",
        f"ALTER USER {account} {identified} REQUIRE SSL",
        # Row access on the application database only; REVOKE first so a re-run converges.
        f"REVOKE ALL PRIVILEGES, GRANT OPTION FROM {account}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{db}`.* TO {account}",
    ]

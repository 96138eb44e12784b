"""The Serverless example's Lambda handler: one real query through the cached connection.

Handler string: ``deploy_paradigms.runtime.sample_handler.handler``.

Every invocation of a warm execution environment reuses the connection the
first one opened (see :mod:`deploy_paradigms.runtime.connection`); the
response shows it: ``backend_pid`` stays the same across invocations, and
``connections_for_user`` counts what this database user holds right now, so
the budget the constructs computed can be watched from the outside. With
RDS Proxy in between, the pid is the proxy's borrowed database connection.

The response is API Gateway / function URL shaped JSON; a database that
cannot be reached gives 503 with ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import datetime
import json
import logging
from decimal import Decimal
from typing import Any

from .connection import DatabaseConnection, DatabaseUnavailable, with_connection

logger = logging.getLogger(__name__)

_POSTGRES_SQL = (
    "SELECT current_database() AS database, current_user AS \"user\", now() AS now, "
    "pg_backend_pid() AS backend_pid, "
    "(SELECT count(*) FROM pg_stat_activity WHERE usename = current_user) AS connections_for_user"
)
_MYSQL_SQL = (
    "SELECT DATABASE() AS `database`, CURRENT_USER() AS `user`, NOW(6) AS `now`, "
    "CONNECTION_ID() AS backend_pid, "
    "(SELECT COUNT(*) FROM information_schema.PROCESSLIST "
    " WHERE USER = SUBSTRING_INDEX(CURRENT_USER(), '@', 1)) AS connections_for_user"
)


def _status(conn: DatabaseConnection) -> dict[str, Any]:
    return conn.query(_POSTGRES_SQL if conn.postgres else _MYSQL_SQL).one()


def _json_default(value: object) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json; charset=utf-8", "cache-control": "no-store"},
        "body": json.dumps(body, default=_json_default, sort_keys=True),
        "isBase64Encoded": False,
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run ``SELECT current_database(), current_user, now(), ...`` and return it as JSON."""
    try:
        status = with_connection(_status)  # a read: retried once on a dead connection
    except DatabaseUnavailable as exc:
        logger.error("%s", exc)
        return _response(503, {"error": {"code": "database_unavailable", "message": str(exc)}})
    status["connections_for_user"] = int(status["connections_for_user"])
    request_id = getattr(context, "aws_request_id", None)
    if request_id:
        status["request_id"] = request_id
    return _response(200, status)

"""The Serverless example's Lambda handler: one real query through the cached connection.

Handler string: ``deploy_paradigms.runtime.sample_handler.handler``.

Every invocation of a warm execution environment reuses the connection the
first one opened (see :mod:`deploy_paradigms.runtime.connection`); the
response shows it: ``backend_pid`` stays the same across invocations, and
``connections_for_user`` counts what this database user holds right now, so
the budget the constructs computed can be watched from the outside. With
RDS Proxy in between, the pid is the proxy's borrowed database connection.

The response is API Gateway / function URL shaped JSON; a database that
cannot be reached gives 503, a query still running a second before the
function's timeout is cancelled and gives 504, anything else 500, each with
``{"error": {"code", "message", "request_id"}}`` and the details only in the log.
"""

from __future__ import annotations

import datetime
import json
import logging
from decimal import Decimal
from typing import Any

from .connection import DatabaseConnection, DatabaseUnavailable, QueryTimeout, with_connection
from .errors import lambda_deadline, request_id_of

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
    request_id = request_id_of(event, context)
    try:
        # A read: retried once on a dead connection; cancelled before the function times out.
        status = with_connection(_status, deadline=lambda_deadline(context))
        status["connections_for_user"] = int(status["connections_for_user"])
    except DatabaseUnavailable as exc:
        logger.error("request %s: %s", request_id, exc)
        return _error(503, "database_unavailable", exc.public_message, request_id)
    except QueryTimeout as exc:
        logger.error("request %s: %s", request_id, exc)
        return _error(504, "query_timeout", "the query did not finish in time", request_id)
    except Exception:  # last resort: details in the log only
        logger.exception("request %s failed", request_id)
        return _error(500, "internal_error", "the request failed", request_id)
    status["request_id"] = request_id
    return _response(200, status)


def _error(status: int, code: str, message: str, request_id: str) -> dict[str, Any]:
    return _response(status, {"error": {"code": code, "message": message, "request_id": request_id}})

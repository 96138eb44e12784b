"""The application role's bootstrap: a Lambda function in the VPC that, on every deployment,
connects as the master user and runs :func:`deploy_paradigms.app_role.bootstrap_statements`.

Handler string: ``deploy_paradigms.runtime.role_bootstrap.handler``. Two callers:

- CloudFormation (CDK): a custom resource event with ``RequestType`` and ``ResponseURL``; the
  answer is PUT to the pre-signed URL. ``Delete`` keeps the role (consumers may still use it;
  dropping it would also need its objects reassigned).
- Pulumi: ``aws.lambda_.Invocation`` sends the properties as the event; an error fails the
  deployment.

Properties (CloudFormation ``ResourceProperties`` or the event itself): ``Engine``, ``Host``,
``Port``, ``Database``, ``AppUser``, ``MasterSecretArn`` (its ``username``/``password`` are
read here, never passed), ``AppSecretArn`` (the application role's password) and ``Iam``.
The master connection uses ``sslmode=verify-full`` against the bundled RDS CAs (rds-ca-bundle.pem).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from deploy_paradigms.app_role import bootstrap_statements
from deploy_paradigms.budget.plan import DIRECT_TLS_QUERY

from . import connection, settings
from .settings import DatabaseSettings

logger = logging.getLogger(__name__)
REQUIRED = ("Engine", "Host", "Port", "Database", "AppUser", "MasterSecretArn")
#: One connection, TLS verified against the RDS CAs (the master password goes only to the real
#: database). The constructs set the same value in DATABASE_URL_PARAMS, where the budget guard
#: reads the function's pool size.
URL_PARAMS = f"connection_limit=1&connect_timeout=10&{DIRECT_TLS_QUERY}"


def _secret_json(arn: str) -> dict[str, Any]:
    value = json.loads(connection.read_secret(arn))
    if not isinstance(value, dict):
        raise ValueError(f"secret {arn} is not a JSON object")
    return value


def _error_code(exc: BaseException) -> str:
    """botocore's error code (``ResourceNotFoundException``), else the exception's name."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return str(code or type(exc).__name__)


def app_password(arn: str, app_user: str) -> str:
    """The application role's password from its secret; a secret created without a value (the
    Pulumi component: no generated value in its graph) gets one here, on first deploy."""
    try:
        return str(_secret_json(arn)["password"])
    except Exception as exc:
        if "ResourceNotFound" not in _error_code(exc):
            raise
    value = {"username": app_user, "password": secrets.token_urlsafe(32)}
    connection.aws_client("secretsmanager").put_secret_value(SecretId=arn, SecretString=json.dumps(value))
    return value["password"]


def run(properties: Mapping[str, Any]) -> dict[str, Any]:
    """Create or converge the application role; returns what was done (no secret values)."""
    missing = [k for k in REQUIRED if not properties.get(k)]
    if missing:
        raise ValueError(f"missing properties: {', '.join(missing)}")
    iam = str(properties.get("Iam", "false")).lower() == "true"
    master = _secret_json(str(properties["MasterSecretArn"]))
    password = None
    if not iam:
        if not properties.get("AppSecretArn"):
            raise ValueError("AppSecretArn is required unless Iam is true")
        password = app_password(str(properties["AppSecretArn"]), str(properties["AppUser"]))
    statements = bootstrap_statements(str(properties["Engine"]), app_user=str(properties["AppUser"]),
                                      database=str(properties["Database"]), password=password, iam=iam)
    where = DatabaseSettings(
        host=str(properties["Host"]), port=int(properties["Port"]), name=str(properties["Database"]),
        user=str(master["username"]), engine=str(properties["Engine"]),
        url_params=tuple(parse_qsl(os.environ.get(settings.URL_PARAMS, URL_PARAMS))))
    conn = connection.connect(where, password=str(master["password"]))
    try:
        for statement in statements:
            conn.query(statement)
    finally:
        conn.close()
    return {"AppUser": str(properties["AppUser"]), "Statements": len(statements)}


def _respond(event: Mapping[str, Any], status: str, reason: str, data: Mapping[str, Any]) -> None:
    physical = f"{event['ResourceProperties'].get('Database')}/{event['ResourceProperties'].get('AppUser')}"
    body = json.dumps({
        "Status": status, "Reason": reason[:3000],
        "PhysicalResourceId": event.get("PhysicalResourceId", physical),
        "StackId": event["StackId"], "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"], "Data": dict(data)}).encode("utf-8")
    request = urllib.request.Request(str(event["ResponseURL"]), data=body, method="PUT",
                                     headers={"content-type": "", "content-length": str(len(body))})
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - CloudFormation's pre-signed https URL
        pass


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point for CloudFormation custom resources and direct (Pulumi) invocations."""
    if "ResponseURL" not in event:
        return run(event)
    try:
        data = {} if event.get("RequestType") == "Delete" else run(event.get("ResourceProperties") or {})
        _respond(event, "SUCCESS", "ok", data)
    except Exception as exc:  # every failure must reach CloudFormation, or the stack waits an hour
        logger.exception("the application role bootstrap failed")
        _respond(event, "FAILED", f"{type(exc).__name__}: {exc}", {})
    return {}

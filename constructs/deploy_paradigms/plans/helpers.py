"""The library's own helper functions, decided once for CDK and Pulumi.

Four small Lambda functions run beside a database: the application role's bootstrap
(``Database``), the migrations (``DatabaseMigrations``), the budget check (``BudgetCheck``)
and the change consumer (``ChangeStream``). Each is built the same way in both frameworks:
a log group with a retention period, an execution role, a security group with no ingress and
HTTPS egress to AWS APIs, a function in the VPC with reserved concurrency 1 (one connection
from the database's ledger), and an ingress rule on the database's security group.

:func:`plan_helper_function` returns that shape as a frozen :class:`HelperFunctionPlan`;
``cdk/helper_function.py`` and ``pulumi/helper_function.py`` render it. The names in the plan
are construct ids and Pulumi resource names of deployed stacks: they stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from .. import packaging
from ..budget import InputError
from ..runtime import settings
from ..runtime.budget_check import METRIC_NAMESPACE
from .checks import check_log_retention

__all__ = [
    "HELPER_KINDS",
    "HELPER_MEMORY_MB",
    "HELPER_RESERVED_CONCURRENCY",
    "VPC_AND_LOGS",
    "HelperFunctionPlan",
    "HelperNames",
    "IamGrant",
    "direct_connection_environment",
    "plan_helper_function",
]

#: Memory of every helper function (MB): they run SQL and a few API calls.
HELPER_MEMORY_MB = 256
#: One run at a time: each helper holds one connection booked on the database's ledger
#: (or the reserve), and the slot, migration lock and bootstrap serve one reader.
HELPER_RESERVED_CONCURRENCY = 1


@dataclass(frozen=True)
class IamGrant:
    """One IAM statement of a helper's role. ``resources`` are symbols the renderer maps to ARNs
    (``database_secret``, ``app_secret``, ``event_bus``) or ``*``."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Mapping[str, Mapping[str, str]] | None = None


#: Where the VPC-function base statements go (write its own log group, manage its network
#: interfaces; ``pulumi.network.lambda_vpc_statements``, ``cdk.vpc_execution_role``).
VPC_AND_LOGS = IamGrant(actions=(), resources=())


@dataclass(frozen=True)
class HelperNames:
    """Construct ids (CDK) and resource names (Pulumi) of one helper's children."""

    cdk_function: str
    cdk_log_group: str
    cdk_security_group: str
    pulumi_function: str
    pulumi_log_group: str
    pulumi_role: str
    pulumi_role_policy: str
    pulumi_security_group: str
    pulumi_to_database: str
    pulumi_to_aws_apis: str
    #: The consumer name the Pulumi ingress rule is named after (``<database>-from-<this>``).
    pulumi_ingress: str


@dataclass(frozen=True)
class HelperFunctionPlan:
    """Everything a renderer needs to build one helper function."""

    kind: str
    names: HelperNames
    handler: str
    runtime: str
    #: ``arm64``; None: Lambda's default (x86_64), kept for the change consumer's deployed functions.
    architecture: str | None
    memory_mb: int
    timeout_s: int
    reserved_concurrency: int
    log_retention_days: int
    grants: tuple[IamGrant, ...]
    role_description: str
    security_group_description: str
    #: Description of the HTTPS egress rule (CDK, Pulumi: the texts deployed stacks carry).
    https_description: tuple[str, str]
    #: Pulumi's egress rule to the database; CDK's comes with the database's ingress rule.
    database_egress_description: str
    #: CDK's ingress (and matching egress) rule description on the database's group.
    cdk_ingress_description: str
    function_description: str
    #: False: the function gets aws-cdk's own role with AWS managed policies (the role
    #: bootstrap's CDK role, kept as deployed); Pulumi always builds its own role.
    cdk_own_role: bool = True
    #: Pulumi log groups are kept on destroy, as CDK's (RemovalPolicy.RETAIN).
    retain_log_group: bool = True
    https_port: int = 443


_SECRET_READ = IamGrant(("secretsmanager:GetSecretValue",), ("database_secret",))


@dataclass(frozen=True)
class _Kind:
    handler: str
    timeout_s: int | None
    architecture: str | None
    grants: tuple[IamGrant, ...]
    cdk: tuple[str, str, str]
    pulumi: tuple[str, str, str, str, str, str, str, str]
    role: str
    sg: str
    https: tuple[str, str]
    to_db: str
    ingress: str
    function: str
    cdk_own_role: bool = True


#: Per helper: what differs (handler, timeout, grants, texts); ``{n}`` is the component's name
#: (Pulumi) or construct path (CDK), ``{p}`` the Pulumi resource-name prefix.
_KINDS: Mapping[str, _Kind] = {
    "role_bootstrap": _Kind(
        handler=packaging.ROLE_BOOTSTRAP_HANDLER, timeout_s=120,
        architecture="arm64", cdk_own_role=False,
        grants=(IamGrant(("secretsmanager:GetSecretValue",), ("database_secret", "app_secret")),
                IamGrant(("secretsmanager:PutSecretValue",), ("app_secret",)), VPC_AND_LOGS),
        cdk=("RoleBootstrap", "RoleBootstrapLogs", "RoleBootstrapSecurityGroup"),
        pulumi=("{p}-role-bootstrap", "{p}-role-bootstrap-logs", "{p}-role-bootstrap-role",
                "{p}-role-bootstrap-policy", "{p}-role-bootstrap-sg", "{p}-role-bootstrap-to-db",
                "{p}-role-bootstrap-to-secretsmanager", "role-bootstrap"),
        role="Application role bootstrap of {n}: the two secrets, VPC interfaces, logs",
        sg="Application role bootstrap: out to the database and to Secrets Manager (HTTPS)",
        https=("Secrets Manager API (the master and app secrets)", "Secrets Manager API"),
        to_db="application role bootstrap to the database",
        ingress="application role bootstrap",
        function="deploy-paradigms: creates the application role {app_user} (least privilege) as "
                  "the master user"),
    "migrations": _Kind(
        handler=packaging.MIGRATE_HANDLER, timeout_s=None, architecture="arm64",
        grants=(VPC_AND_LOGS, _SECRET_READ),
        cdk=("Function", "LogGroup", "SecurityGroup"),
        pulumi=("{p}-migrations", "{p}-migrations-logs", "{p}-migrations-role",
                "{p}-migrations-role-policy", "{p}-migrations-sg", "{p}-migrations-to-db",
                "{p}-migrations-to-secretsmanager", "{p}-migrations"),
        role="Execution role of {n} migrations: logs, VPC interfaces, database secret",
        sg="Migrations {n}: out to the database (direct) and HTTPS",
        https=("Secrets Manager API (the database secret)",) * 2,
        to_db="Migrations {n} to the database",
        ingress="{n}: migrations (direct connection)",
        function="deploy-paradigms migrations for {target} (direct, reserve)"),
    "budget_check": _Kind(
        handler=packaging.BUDGET_CHECK_HANDLER, timeout_s=60, architecture="arm64",
        grants=(VPC_AND_LOGS,
                IamGrant(("lambda:GetAccountSettings", "cloudwatch:GetMetricStatistics"), ("*",)),
                IamGrant(("cloudwatch:PutMetricData",), ("*",),
                         {"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}}),
                _SECRET_READ),
        cdk=("Function", "LogGroup", "SecurityGroup"),
        pulumi=("{p}-function", "{p}-logs", "{p}-role", "{p}-role-policy", "{p}-sg", "{p}-to-database",
                "{p}-to-aws-apis", "{p}"),
        role="{n}: read the live connection budget",
        sg="{n}: out to the database and to AWS APIs over HTTPS",
        https=("CloudWatch, Lambda, Secrets Manager, CloudFormation response",
                  "CloudWatch, Lambda and Secrets Manager APIs"),
        to_db="the database",
        ingress="{n}: reads max_connections",
        function="deploy-paradigms budget check of {target} ({mode})"),
    "change_consumer": _Kind(
        handler=packaging.CHANGE_STREAM_HANDLER, timeout_s=None,
        architecture=None,
        grants=(VPC_AND_LOGS, _SECRET_READ, IamGrant(("events:PutEvents",), ("event_bus",))),
        cdk=("Consumer", "LogGroup", "SecurityGroup"),
        pulumi=("{p}-consumer", "{p}-logs", "{p}-role", "{p}-role-policy", "{p}-sg", "{p}-to-database",
                "{p}-to-aws-apis", "{p}"),
        role="Change consumer {n}: logs, VPC interfaces, secret, PutEvents",
        sg="Change consumer {n}: out to the database, HTTPS to AWS APIs",
        https=("EventBridge and Secrets Manager APIs", "EventBridge and Secrets Manager APIs"),
        to_db="{n} to the database",
        ingress="change consumer {n}",
        function="deploy-paradigms change stream: slot {slot} to EventBridge"),
}


#: The helpers this plan knows.
HELPER_KINDS = ("role_bootstrap", "migrations", "budget_check", "change_consumer")


def plan_helper_function(kind: str, *, name: str, pulumi_prefix: str | None = None,
                      timeout_s: int | None = None, memory_mb: int | None = None,
                      log_retention_days: int | None = None,
                      details: Mapping[str, str] | None = None) -> HelperFunctionPlan:
    """The plan of helper ``kind`` (one of :data:`HELPER_KINDS`).

    :param name: the component's name (Pulumi) or construct path (CDK), used in descriptions.
    :param pulumi_prefix: the prefix of the Pulumi resource names; omitted, ``name``.
    :param timeout_s: the function's timeout; omitted, the helper's own (bootstrap 120 s, budget
        check 60 s); required for migrations and the change consumer, whose constructs decide it.
    :param memory_mb: omitted, :data:`HELPER_MEMORY_MB`.
    :param log_retention_days: the log group's retention; omitted, 30 (one month, as CDK's default).
    :param details: values the descriptions name (``app_user``, ``mode``, ``slot``, ``target``: the
        database path in CDK, the component's name in Pulumi).
    """
    table = _KINDS
    if kind not in table:
        raise InputError(f"helper kind={kind!r} is not one of {', '.join(HELPER_KINDS)}")
    spec = table[kind]
    timeout = timeout_s if timeout_s is not None else spec.timeout_s
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 900:
        raise InputError(f"timeout_s={timeout!r} must be a whole number of seconds between 1 and 900 "
                      f"(Lambda's limit)")
    memory = HELPER_MEMORY_MB if memory_mb is None else memory_mb
    if isinstance(memory, bool) or not isinstance(memory, int) or not 128 <= memory <= 10_240:
        raise InputError(f"memory_size={memory!r} must be a whole number of MB between 128 and 10240")
    retention = check_log_retention("log_retention_days", 30 if log_retention_days is None
                                 else log_retention_days)
    words = {"n": name, "p": pulumi_prefix or name, **(details or {})}

    def text(template: str) -> str:
        try:
            return template.format(**words)
        except KeyError as missing:
            raise InputError(f"helper {kind!r}: details needs {missing.args[0]!r} (named in its "
                             f"descriptions)") from None

    pulumi_names = [text(t) for t in spec.pulumi]
    return HelperFunctionPlan(
        kind=kind,
        names=HelperNames(*spec.cdk, *pulumi_names),
        handler=spec.handler,
        runtime=packaging.HELPER_RUNTIME,
        architecture=spec.architecture,
        memory_mb=memory,
        timeout_s=timeout,
        reserved_concurrency=HELPER_RESERVED_CONCURRENCY,
        log_retention_days=retention,
        grants=spec.grants,
        role_description=text(spec.role),
        security_group_description=text(spec.sg),
        https_description=(text(spec.https[0]), text(spec.https[1])),
        database_egress_description=text(spec.to_db),
        cdk_ingress_description=text(spec.ingress),
        function_description=text(spec.function),
        cdk_own_role=spec.cdk_own_role,
    )


_Value = TypeVar("_Value")


def direct_connection_environment(*, host: _Value, secret_arn: _Value, port: int, name: str, user: str,
                                  engine_is_postgres: bool, url_params: str,
                                  iam_auth: bool | None = None) -> dict[str, _Value | str]:
    """A helper's direct connection to the database (never through RDS Proxy) as its environment:
    host, port, database, user, engine family, the secret and the driver's URL parameters;
    ``DATABASE_IAM_AUTH`` only when ``iam_auth`` is given. ``host`` and ``secret_arn`` are whatever
    the renderer has (tokens, outputs)."""
    environment: dict[str, _Value | str] = {
        settings.HOST: host, settings.PORT: str(port), settings.NAME: name, settings.USER: user,
        settings.ENGINE: "postgres" if engine_is_postgres else "mysql"}
    if iam_auth is not None:
        environment[settings.IAM_AUTH] = "true" if iam_auth else "false"
    environment[settings.SECRET_ARN] = secret_arn
    environment[settings.URL_PARAMS] = url_params
    return environment

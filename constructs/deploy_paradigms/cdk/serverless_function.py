"""``ServerlessFunction``: a Lambda function behind RDS Proxy, capped to the database.

The function's reserved concurrency is the connection budget: with
``connection_limit=1`` per execution environment, ``N`` concurrent
environments hold at most ``N`` client connections, and in the worst case
(Prisma's prepared statements pin every client to a database connection) ``N``
database connections. So the construct asks the database's ledger for ``N``
connections and refuses to synthesize when the budget or the account's
reservable concurrency cannot cover what was asked.

Example::

    db = Database(self, "Db", vpc=vpc, instance_class="db.m5.large")
    fn = ServerlessFunction(self, "Api", database=db,
                            code=lambda_.Code.from_asset("build/api"),
                            handler="app.handler")
    fn.plan.reserved_concurrency     # 765 on db.m5.large with the default reserve
    fn.alarms["SessionPinning"]      # add an action: alarm.add_alarm_action(...)

Every decision is taken by :func:`deploy_paradigms.plans.serverless.plan_serverless_function`;
this module renders the plan in named steps: ``_book_connections`` (the plan and the ledger),
``_create_proxy``, ``_create_function``, ``_wire_security``, ``_create_alarms``. The Pulumi
component in ``deploy_paradigms.pulumi.serverless_function`` takes the same steps.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from ..budget import Allocation, InputError, ServerlessPlan
from ..budget.plan import account_limited_warning
from ..plans.environment import LAMBDA_VPC_ACTIONS
from ..plans.serverless import (
    ALARM_CONNECTIONS_FRACTION,
    ANYWHERE,
    AlarmSpec,
    Booking,
    DatabaseFacts,
    FunctionOptions,
    ServerlessFunctionPlan,
    book_connections,
    check_function_environment,
    connections_alarm_threshold,
    plan_serverless_function,
    proxy_physical_name,
    register_proxy,
    settle_proxy,
)
from .database import Database, account_key, deployment_of
from .security_groups import exact_egress

__all__ = [
    "ALARM_CONNECTIONS_FRACTION",
    "FunctionOptions",
    "ServerlessFunction",
    "check_extra_environment",
    "connections_alarm_threshold",
    "function_subnets",
    "lambda_runtime",
    "log_retention_days",
    "retention",
    "vpc_execution_role",
]

#: CloudWatch Logs retention periods as aws-cdk names them (its enum carries no day count in Python).
_RETENTION = {
    "ONE_DAY": 1, "THREE_DAYS": 3, "FIVE_DAYS": 5, "ONE_WEEK": 7, "TWO_WEEKS": 14, "ONE_MONTH": 30,
    "TWO_MONTHS": 60, "THREE_MONTHS": 90, "FOUR_MONTHS": 120, "FIVE_MONTHS": 150, "SIX_MONTHS": 180,
    "ONE_YEAR": 365, "THIRTEEN_MONTHS": 400, "EIGHTEEN_MONTHS": 545, "TWO_YEARS": 731, "THREE_YEARS": 1096,
    "FIVE_YEARS": 1827, "SIX_YEARS": 2192, "SEVEN_YEARS": 2557, "EIGHT_YEARS": 2922, "NINE_YEARS": 3288,
    "TEN_YEARS": 3653}
_SUBNET_TYPE = {"private": ec2.SubnetType.PRIVATE_WITH_EGRESS, "isolated": ec2.SubnetType.PRIVATE_ISOLATED}
_ARCHITECTURE = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}


def log_retention_days(value: logs.RetentionDays | int | None) -> int | None:
    """Days of an aws-cdk ``RetentionDays`` (or a number of days, or None), for the plan to check."""
    if isinstance(value, logs.RetentionDays):
        if value.value not in _RETENTION:
            raise InputError(f"log_retention={value} keeps logs forever; pick a retention period, e.g. "
                             f"logs.RetentionDays.ONE_MONTH")
        return _RETENTION[value.value]
    return value


def retention(days: int) -> logs.RetentionDays:
    """The aws-cdk ``RetentionDays`` of a period the plan decided."""
    return logs.RetentionDays[next(name for name, n in _RETENTION.items() if n == days)]


def lambda_runtime(name: str) -> lambda_.Runtime:
    """aws-cdk's ``Runtime`` of that name (with what it knows: inline code, bundling image)."""
    return next((r for r in lambda_.Runtime.ALL if r.name == name),
                lambda_.Runtime(name, lambda_.RuntimeFamily.PYTHON))


def _name(value: Any) -> Any:
    """The name of an aws-cdk ``Runtime``/``Architecture`` (their ``name``), else the value itself."""
    return value.name if isinstance(value, (lambda_.Runtime, lambda_.Architecture)) else value


def check_extra_environment(environment: Mapping[str, str],
                            resolved: Mapping[str, str] | None = None) -> None:
    """Refuse credentials in ``environment``: secret-like keys, credential-like values,
    and keys that would override the database contract (``DATABASE_*``) (InputError)."""
    check_function_environment(environment, resolved)


class ServerlessFunction(Construct):
    """A Lambda function reaching its database through RDS Proxy, sized to the connection budget.

    What it creates: an RDS Proxy (unless ``proxy`` is given) with TLS required,
    IAM authentication, an idle client timeout of 120 s instead of 1800 s, a
    borrow timeout of 10 s and ``MaxConnectionsPercent`` from the budget; the
    function with reserved concurrency set to the cap, in the VPC, with its own
    security group; security-group rules function -> proxy -> database on the
    database port only; a log group with retention; an execution role with only
    what it needs; and three CloudWatch alarms without actions (``alarms``).

    The function receives where and how to connect (``DATABASE_*`` variables
    of :mod:`deploy_paradigms.runtime.settings`), never a password: with
    ``iam_auth`` it signs an RDS auth token at run time, otherwise it reads the
    secret named by ``DATABASE_SECRET_ARN``.

    Attributes: ``plan`` (:class:`ServerlessPlan`, the connection arithmetic), ``function_plan``
    (:class:`~deploy_paradigms.plans.serverless.ServerlessFunctionPlan`, every decision),
    ``allocation``, ``function`` (the ``lambda_.Function``, id ``Resource``), ``proxy``,
    ``proxy_created``, ``security_group``, ``proxy_security_group``, ``role``, ``log_group``,
    ``alarms`` (dict: ``SessionPinning``, ``Connections``, ``Throttles``), ``environment``,
    ``db_user``, ``iam_auth``, ``secret``; plus :attr:`connections` and :meth:`grant_connect`.

    Every option below may also come in ``options=FunctionOptions(...)`` (the object
    ``DataEndpoint(function=...)`` takes); one option given both ways is refused.

    :param database: the :class:`Database` to reach; its ledger pays for the connections.
    :param code: the function code (``lambda_.Code.from_asset(...)``).
    :param handler: the handler, e.g. ``app.handler``.
    :param runtime: a Python ``lambda_.Runtime`` or its name; omitted: Python 3.12 (SnapStart-capable;
        pure-Python drivers such as pg8000 need no build).
    :param architecture: ``lambda_.Architecture`` or ``"arm64"``/``"x86_64"``; omitted: ARM_64 (Graviton:
        about 20 % cheaper per GB-second than x86_64; a package with native modules must be built for it).
    :param memory_size: MB (128-10240); omitted: 512 (CPU scales with memory).
    :param timeout_s: function timeout; omitted: 30 s; must exceed ``borrow_timeout_s``.
    :param vpc_subnets: where the function's network interfaces go; omitted: the VPC's
        private subnets with egress, or its isolated subnets when it has none.
    :param connections: this function's share of the database's ledger; omitted: its default share
        (everything the ledger has left when it is the only default-share consumer).
    :param reserved_concurrency: omitted: the plan's cap (connections / connection_limit, at most
        the account's reservable concurrency). More than the budget or than the account allows
        raises :class:`BudgetError`.
    :param proxy: an RDS Proxy to share (bring your own, or another ``ServerlessFunction``'s
        ``proxy``); omitted: one is created. A given proxy keeps its own settings: the plan's
        proxy settings are not applied to it and ``proxy_max_connections_percent`` is refused.
    :param proxy_security_group: the security group of ``proxy`` when it is an imported
        ``IDatabaseProxy`` (which carries no connections); required then, ignored otherwise.
        Omitted with a ``DatabaseProxy`` of this app: its own security group is used.
    :param proxy_max_connections_percent: omitted: the largest share of ``max_connections``
        that stays within this function's connections.
    :param idle_client_timeout_s: proxy IdleClientTimeout; omitted: 120 s (AWS default 1800 s).
    :param borrow_timeout_s: proxy ConnectionBorrowTimeout; omitted: 10 s (AWS default 120 s).
    :param iam_auth: omitted: True (clients authenticate with IAM tokens; the proxy still uses the
        database secret). False = secrets-only: the function gets ``DATABASE_SECRET_ARN``,
        ``secretsmanager:GetSecretValue`` on that one secret, and HTTPS egress to reach
        Secrets Manager (through the NAT gateway or an interface endpoint). With a shared
        ``proxy``, match the proxy's own setting.
    :param db_user: database user to connect as; omitted: the database's application role
        (``app_user``: least privilege, created by :class:`Database`). Exactly one user name: a
        wildcard raises :class:`InputError`. The master user needs ``master_user_reason``.
    :param master_user_reason: why this function must connect as the master user (migrations,
        admin tools); omitted: ``db_user=<master user>`` raises :class:`InputError`.
    :param account_concurrency_limit: the account's Lambda concurrency quota in this Region;
        omitted: the app's ``deploy-paradigms:accountConcurrencyLimit`` context, else 1000. Reserved
        concurrency is booked per account and Region across every stack of the app (100 must stay
        unreserved); when the account rather than the database sets the cap, synth warns
        (``deploy-paradigms:accountConcurrency``).
    :param environment: extra NON-secret variables; keys or values that look like credentials,
        and ``DATABASE_*`` keys, raise :class:`InputError`. Omitted: only the ``DATABASE_*``
        variables the construct sets.
    :param alarms: omitted: True (session pinning, connections near the allocation, throttles).
    :param log_retention: ``logs.RetentionDays`` or days; omitted: one month.
    :param options: the options above as one :class:`FunctionOptions`; omitted: none.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        database: Database,
        code: lambda_.Code,
        handler: str,
        runtime: lambda_.Runtime | str | None = None,
        architecture: lambda_.Architecture | str | None = None,
        memory_size: int | None = None,
        timeout_s: int | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        connections: int | None = None,
        reserved_concurrency: int | None = None,
        proxy: rds.IDatabaseProxy | None = None,
        proxy_security_group: ec2.ISecurityGroup | None = None,
        proxy_max_connections_percent: int | None = None,
        idle_client_timeout_s: int | None = None,
        borrow_timeout_s: int | None = None,
        iam_auth: bool | None = None,
        db_user: str | None = None,
        master_user_reason: str | None = None,
        account_concurrency_limit: int | None = None,
        environment: Mapping[str, str] | None = None,
        alarms: bool | None = None,
        log_retention: logs.RetentionDays | int | None = None,
        options: FunctionOptions | None = None,
    ) -> None:
        path = f"{scope.node.path}/{id}" if scope.node.path else id
        chosen = (options or FunctionOptions()).merged({
            "runtime": _name(runtime), "architecture": _name(architecture), "memory_size": memory_size,
            "timeout_s": timeout_s, "connections": connections, "reserved_concurrency": reserved_concurrency,
            "proxy_max_connections_percent": proxy_max_connections_percent,
            "idle_client_timeout_s": idle_client_timeout_s, "borrow_timeout_s": borrow_timeout_s,
            "iam_auth": iam_auth, "db_user": db_user, "master_user_reason": master_user_reason,
            "account_concurrency_limit": account_concurrency_limit, "alarms": alarms,
            "log_retention_days": log_retention_days(log_retention)})
        planner = self._plan(scope, path, database, chosen, environment, proxy, proxy_security_group,
                             vpc_subnets)
        # Refusals come before the construct joins the tree: the same id can be tried again.
        booking = self._book_connections(scope, path, database, chosen, proxy, planner)
        super().__init__(scope, id)
        exact_egress(self)  # no default allow-all egress beside the explicit rules
        self._expose(database, booking)
        self._create_proxy(proxy, proxy_security_group)
        self._create_function(code, handler, vpc_subnets)
        self._wire_security()
        self.alarms: dict[str, cloudwatch.Alarm] = self._create_alarms()
        booking.when_settled(self._settle_share)  # now for connections=, before synth for a default share

    @staticmethod
    def _plan(scope: Construct, path: str, database: Database, options: FunctionOptions,
              environment: Mapping[str, str] | None, proxy: rds.IDatabaseProxy | None,
              proxy_security_group: ec2.ISecurityGroup | None,
              vpc_subnets: ec2.SubnetSelection | None) -> Any:
        """Everything but the ledger's grant, bound for the plan (framework-free)."""
        proxy_connections = getattr(proxy, "connections", None) if proxy is not None else None
        vpc = database.vpc
        return functools.partial(
            plan_serverless_function, label=path, database=DatabaseFacts.of(database), options=options,
            environment=environment,
            resolved_environment={k: _rendered(scope, v) for k, v in (environment or {}).items()},
            shared_proxy=proxy is not None,
            proxy_security_group_known=proxy_connections is not None or proxy_security_group is not None,
            subnets_given=vpc_subnets is not None,
            subnet_tiers=frozenset({*(["private"] if vpc.private_subnets else []),
                                    *(["isolated"] if vpc.isolated_subnets else [])}))

    @staticmethod
    def _book_connections(scope: Construct, path: str, database: Database, options: FunctionOptions,
                          proxy: rds.IDatabaseProxy | None, planner: Any) -> Booking:
        """The ledger step: the plan for what the database's ledger grants, then the booking."""
        return book_connections(consumer=path, ledger=database.ledger, deployment=deployment_of(scope),
                                account_key=account_key(scope), options=options, proxy=proxy, planner=planner)

    def _expose(self, database: Database, booking: Booking) -> None:
        """The plan and the booking as the attributes users read (``plan`` is the arithmetic); a
        default share's are provisional until the app's ledgers settle (before synth)."""
        self._booking = booking
        #: The plan the resources were rendered from (a default share's provisional one).
        self._rendered = booking.plan
        self.database, self.secret = database, (database.secret if booking.plan.secret == "master"
                                                else database.app_secret)
        self.db_user, self.iam_auth = booking.plan.db_user, booking.plan.iam_auth

    @property
    def function_plan(self) -> ServerlessFunctionPlan:
        """Every decision; a default share's is provisional until the app's ledgers settle (before
        synth, or ``deployment_of(app).settle()``): the plan if no further consumer joined."""
        return self._booking.plan

    @property
    def plan(self) -> ServerlessPlan:
        """The connection arithmetic of :attr:`function_plan` (provisional like it)."""
        return self._booking.plan.budget

    @property
    def allocation(self) -> Allocation:
        """This function's allocation on the ledger (provisional like :attr:`function_plan`)."""
        return self._booking.allocation

    def _create_proxy(self, proxy: rds.IDatabaseProxy | None,
                      proxy_security_group: ec2.ISecurityGroup | None) -> None:
        """The proxy next to the database, or the shared one and its security group."""
        self.proxy_created = proxy is None
        self.proxy_security_group: ec2.ISecurityGroup
        self.proxy: rds.IDatabaseProxy
        settings = self.function_plan.proxy
        if proxy is not None or settings is None:
            assert proxy is not None
            self.proxy = proxy
            shared = getattr(proxy, "connections", None)
            self.proxy_security_group = (shared.security_groups[0] if shared is not None
                                         else proxy_security_group)  # type: ignore[assignment]
            return
        vpc = self.database.vpc
        self.proxy_security_group = ec2.SecurityGroup(self, "ProxySecurityGroup", vpc=vpc,
                                                      allow_all_outbound=False,
                                                      description=settings.description)
        self.proxy = rds.DatabaseProxy(
            self, "Proxy", proxy_target=self.database.proxy_target(self),
            db_proxy_name=proxy_physical_name(
                unique_resource_name=cdk.Names.unique_resource_name(self, max_length=54, separator="-")),
            secrets=[self.secret], vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=_SUBNET_TYPE[settings.subnet_tier]),
            security_groups=[self.proxy_security_group], require_tls=settings.require_tls,
            iam_auth=settings.iam_auth == "REQUIRED",
            idle_client_timeout=cdk.Duration.seconds(settings.idle_client_timeout_s),
            borrow_timeout=cdk.Duration.seconds(settings.borrow_timeout_s),
            max_connections_percent=settings.max_connections_percent,
            max_idle_connections_percent=settings.max_idle_connections_percent)
        self.database.proxies.append((self.proxy.db_proxy_name, settings.database_connections))
        register_proxy(deployment_of(self), self.proxy, self.function_plan, self.database.ledger)

    def _create_function(self, code: lambda_.Code, handler: str,
                         vpc_subnets: ec2.SubnetSelection | None) -> None:
        plan = self.function_plan
        vpc = self.database.vpc
        self.log_group = logs.LogGroup(self, "LogGroup", retention=retention(plan.log_retention_days))
        self.role = vpc_execution_role(self, self.log_group, description=plan.role_description)
        self.security_group = ec2.SecurityGroup(self, "SecurityGroup", vpc=vpc, allow_all_outbound=False,
                                                description=plan.security_group_description)
        self.environment: dict[str, str] = plan.environment(host=self.proxy.endpoint,
                                                            secret_arn=self.secret.secret_arn)
        self.function = lambda_.Function(
            self, "Resource", code=code, handler=handler,
            runtime=lambda_runtime(plan.runtime),
            architecture=_ARCHITECTURE[plan.architecture], memory_size=plan.memory_size,
            timeout=cdk.Duration.seconds(plan.timeout_s),
            reserved_concurrent_executions=plan.reserved_concurrency, environment=self.environment,
            role=self.role, log_group=self.log_group, vpc=vpc,
            vpc_subnets=vpc_subnets or ec2.SubnetSelection(
                subnet_type=_SUBNET_TYPE[plan.function_subnet_tier]),
            security_groups=[self.security_group], description=plan.description)

    def _wire_security(self) -> None:
        """The plan's rules and statements (the first two, logs and VPC interfaces, are the role's)."""
        shared = getattr(self.proxy, "connections", None)
        proxy_peer = (shared if shared is not None
                      else ec2.Connections(security_groups=[self.proxy_security_group]))
        for rule in self.function_plan.security_rules:
            if rule.target == "proxy":
                proxy_peer.allow_from(self.function, ec2.Port.tcp(rule.port), rule.description)
            elif rule.target == ANYWHERE:
                self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(rule.port),
                                                    rule.description)
            # proxy -> database: the proxy target's bind opens it on both groups (a second identical
            # rule would fail the deployment as a duplicate).
        for statement in self.function_plan.statements[2:]:
            if statement.resource == "dbuser":
                self.proxy.grant_connect(self.role, self.db_user)
            else:
                self.role.add_to_principal_policy(iam.PolicyStatement(
                    actions=list(statement.actions), resources=[self.secret.secret_arn]))
                if self.secret.encryption_key is not None:
                    self.secret.encryption_key.grant_decrypt(self.role)

    def _create_alarms(self) -> dict[str, cloudwatch.Alarm]:
        """The plan's alarms, without actions (add yours with ``alarm.add_alarm_action``)."""
        return {spec.key: cloudwatch.Alarm(
            self, f"{spec.key}Alarm", alarm_description=spec.description, metric=self._metric(spec),
            threshold=spec.threshold, evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.datapoints_to_alarm,
            comparison_operator=cloudwatch.ComparisonOperator[_upper_snake(spec.comparison_operator)],
            treat_missing_data=cloudwatch.TreatMissingData[_upper_snake(spec.treat_missing_data)])
            for spec in self.function_plan.alarms}

    def _metric(self, spec: AlarmSpec) -> cloudwatch.Metric:
        dimensions = ({"ProxyName": self.proxy.db_proxy_name} if spec.dimension == "proxy"
                      else {"FunctionName": self.function.function_name})
        return cloudwatch.Metric(namespace=spec.namespace, metric_name=spec.metric_name,
                                 dimensions_map=dimensions,
                                 statistic=spec.statistic, period=cdk.Duration.seconds(spec.period_s))

    def _settle_share(self, plan: ServerlessFunctionPlan) -> None:
        """The final plan: the proxy's share, the account warning, and every number rendered from
        the provisional plan (reserved concurrency, description, pool variables, proxy percents,
        alarms)."""
        if self.proxy_created:
            settle_proxy(deployment_of(self), self.proxy, self.proxy.db_proxy_name, self.database.proxies,
                         plan)
        warning = account_limited_warning(plan.budget, self.node.path, self._booking.account.holders())
        if warning:
            cdk.Annotations.of(self).add_warning_v2("deploy-paradigms:accountConcurrency", warning)
        if plan != self._rendered:
            self._rendered = plan
            self._render_settled(plan)

    def _render_settled(self, plan: ServerlessFunctionPlan) -> None:
        function = self.function.node.default_child
        if isinstance(function, lambda_.CfnFunction):
            function.reserved_concurrent_executions = plan.reserved_concurrency
            function.description = plan.description
        self.environment.update(plan.environment(host=self.proxy.endpoint, secret_arn=self.secret.secret_arn))
        for key, value in self.environment.items():
            self.function.add_environment(key, value)
        targets = self.proxy.node.try_find_child("ProxyTargetGroup") if self.proxy_created else None
        if isinstance(targets, rds.CfnDBProxyTargetGroup) and plan.proxy is not None:
            pool = "ConnectionPoolConfigurationInfo"
            targets.add_property_override(f"{pool}.MaxConnectionsPercent", plan.proxy.max_connections_percent)
            targets.add_property_override(f"{pool}.MaxIdleConnectionsPercent",
                                          plan.proxy.max_idle_connections_percent)
        for spec in plan.alarms:
            alarm = self.alarms[spec.key].node.default_child if spec.key in self.alarms else None
            if isinstance(alarm, cloudwatch.CfnAlarm):
                alarm.threshold = spec.threshold
                alarm.alarm_description = spec.description

    @property
    def connections(self) -> ec2.Connections:
        """The function's network connections (its security group)."""
        return self.function.connections

    def grant_connect(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let another principal connect through the proxy the way this function does
        (IAM ``rds-db:connect`` as ``db_user``, or read access to the database secret).
        Security-group rules are separate: ``fn.proxy_security_group`` admits peers."""
        if self.iam_auth:
            return self.proxy.grant_connect(grantee, self.db_user)
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["secretsmanager:GetSecretValue"],
            resource_arns=[self.secret.secret_arn])


def _upper_snake(name: str) -> str:
    """``GreaterThanThreshold`` -> ``GREATER_THAN_THRESHOLD`` (aws-cdk's enum member names)."""
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(name)).upper()


def function_subnets(vpc: ec2.IVpc, chosen: ec2.SubnetSelection | None) -> ec2.SubnetSelection:
    """``chosen``, else the private subnets with egress (AWS APIs over HTTPS), else isolated ones."""
    return chosen or ec2.SubnetSelection(
        subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS if vpc.private_subnets
        else ec2.SubnetType.PRIVATE_ISOLATED)


def lambda_vpc_statement() -> iam.PolicyStatement:
    """What a function in a VPC needs for its network interfaces (no resource-level permissions)."""
    return iam.PolicyStatement(actions=list(LAMBDA_VPC_ACTIONS), resources=["*"])


def vpc_execution_role(scope: Construct, log_group: logs.ILogGroup, *, description: str | None = None,
                       acknowledge_wildcard: bool = True) -> iam.Role:
    """Child ``ServiceRole``: a VPC function's execution role writing only to ``log_group``.

    ``description`` omitted: "Execution role of <path>: logs, VPC interfaces, database connect".
    ``acknowledge_wildcard=False``: the caller adds more ``*`` statements and acknowledges
    cdk-nag's ``AwsSolutions-IAM5[Resource::*]`` itself, naming them all."""
    role = iam.Role(
        scope, "ServiceRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description or (
            f"Execution role of {scope.node.path}: logs, VPC interfaces, database connect"))
    log_group.grant_write(role)
    role.add_to_principal_policy(lambda_vpc_statement())
    if acknowledge_wildcard:
        cdk.Validations.of(role).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="Lambda's VPC network interfaces: ec2:Describe* has no resource-level permissions "
                   "and Lambda names the interfaces it creates; the same actions as the AWS managed "
                   "AWSLambdaVPCAccessExecutionRole, without its logs:* on every log group"))
    return role


def _rendered(scope: Construct, value: Any) -> str:
    """The value as CloudFormation will see it (tokens resolved), for the credential check."""
    if not cdk.Token.is_unresolved(value):
        return str(value)
    resolved = cdk.Stack.of(scope).resolve(value)
    return resolved if isinstance(resolved, str) else json.dumps(resolved)

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

The module reads as the steps it takes: validate inputs, plan (budget core),
allocate on the ledger, create the proxy, the log group, the role and the
function, wire security groups and IAM, add alarms, expose attributes. The
Pulumi component in ``deploy_paradigms.pulumi.serverless_function`` takes the
same steps with the same names.
"""

from __future__ import annotations

import json
import math
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

from ..budget import (
    DEFAULT_IDLE_CLIENT_TIMEOUT_S,
    Allocation,
    BudgetError,
    ServerlessPlan,
    plan_serverless,
)
from ..budget.deployment import ProxyShare
from ..budget.plan import DEFAULT_BORROW_TIMEOUT_S, account_limited_warning
from ..plans.database import check_db_user, check_master_user
from ..plans.environment import (
    FUNCTION_INSTEAD,
    FUNCTION_READABLE_BY,
    LAMBDA_VPC_ACTIONS,
    check_environment,
)
from ..plans.environment import serverless_plan_environment as plan_environment
from ..runtime import settings
from .database import Database, account_key, deployment_of
from .security_groups import exact_egress

__all__ = [
    "ALARM_CONNECTIONS_FRACTION",
    "ServerlessFunction",
    "check_extra_environment",
    "connections_alarm_threshold",
]

#: The connections alarm fires at this share of the function's allocation.
ALARM_CONNECTIONS_FRACTION = 0.9
#: Lambda memory range (Lambda developer guide, "Configuring memory").
MEMORY_RANGE_MB = (128, 10240)

def check_extra_environment(environment: Mapping[str, str],
                            resolved: Mapping[str, str] | None = None) -> None:
    """Refuse credentials in ``environment``: secret-like keys, credential-like values,
    and keys that would override the database contract (``DATABASE_*``).

    ``resolved`` maps each key to its value as the engine will render it (CDK
    tokens resolved), when that differs from the raw value.
    """
    check_environment(environment, owner="ServerlessFunction", readable_by=FUNCTION_READABLE_BY,
                      instead=FUNCTION_INSTEAD, resolved=resolved)


def lambda_vpc_statement() -> iam.PolicyStatement:
    """What a function in a VPC needs for its network interfaces (no resource-level permissions)."""
    return iam.PolicyStatement(actions=list(LAMBDA_VPC_ACTIONS), resources=["*"])


def connections_alarm_threshold(plan: ServerlessPlan) -> int:
    """Proxy-to-database connections at which the ``Connections`` alarm fires."""
    return max(1, math.ceil(plan.connections * ALARM_CONNECTIONS_FRACTION))


def connections_alarm_description(path: str, plan: ServerlessPlan) -> str:
    return (f"RDS Proxy of {path} holds >= {connections_alarm_threshold(plan)} database connections "
            f"({ALARM_CONNECTIONS_FRACTION:.0%} of the {plan.connections} allocated)")


def throttles_alarm_description(path: str, plan: ServerlessPlan) -> str:
    return (f"{path} is throttled: requests exceed the reserved concurrency "
            f"{plan.reserved_concurrency} the database budget allows")


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

    Attributes: ``plan`` (:class:`ServerlessPlan`), ``allocation``, ``function`` (the
    ``lambda_.Function``, id ``Resource``), ``proxy``, ``proxy_created``, ``security_group``,
    ``proxy_security_group``, ``role``, ``log_group``, ``alarms`` (dict: ``SessionPinning``,
    ``Connections``, ``Throttles``), ``environment``, ``db_user``, ``iam_auth``; plus
    :attr:`connections` and :meth:`grant_connect` for callers that add principals or peers.

    :param database: the :class:`Database` to reach; its ledger pays for the connections.
    :param code: the function code (``lambda_.Code.from_asset(...)``).
    :param handler: the handler, e.g. ``app.handler``.
    :param runtime: default Python 3.12 (SnapStart-capable; pure-Python drivers such as pg8000 need no build).
    :param architecture: default ARM_64 (Graviton: about 20 % cheaper per GB-second than x86_64;
        a package with native modules must be built for it).
    :param memory_size: MB, default 512 (CPU scales with memory; 128-10240).
    :param timeout_s: function timeout, default 30 s; must exceed ``borrow_timeout_s``.
    :param vpc_subnets: where the function's network interfaces go; omitted, the VPC's
        private subnets with egress, or its isolated subnets when it has none.
    :param connections: this function's share of the database's ledger; omitted, everything
        the ledger has left.
    :param reserved_concurrency: omitted, the plan's cap (connections / connection_limit, at most
        the account's reservable concurrency). More than the budget or than the account allows
        raises :class:`BudgetError`.
    :param proxy: an RDS Proxy to share (bring your own, or another ``ServerlessFunction``'s
        ``proxy``); omitted, one is created. A given proxy keeps its own settings: the plan's
        proxy settings are not applied to it and ``proxy_max_connections_percent`` is refused.
    :param proxy_security_group: the security group of ``proxy`` when it is an imported
        ``IDatabaseProxy`` (which carries no connections); required then, ignored otherwise.
        Omitted with a ``DatabaseProxy`` of this app: its own security group is used.
    :param proxy_max_connections_percent: omitted, the largest share of ``max_connections``
        that stays within this function's connections.
    :param idle_client_timeout_s: proxy IdleClientTimeout, default 120 s (AWS default 1800 s).
    :param borrow_timeout_s: proxy ConnectionBorrowTimeout, default 10 s (AWS default 120 s).
    :param iam_auth: default True (clients authenticate with IAM tokens; the proxy still uses the
        database secret). False = secrets-only: the function gets ``DATABASE_SECRET_ARN``,
        ``secretsmanager:GetSecretValue`` on that one secret, and HTTPS egress to reach
        Secrets Manager (through the NAT gateway or an interface endpoint). With a shared
        ``proxy``, match the proxy's own setting.
    :param db_user: database user to connect as; omitted, the database's application role
        (``app_user``: least privilege, created by :class:`Database`). Exactly one user name: a
        wildcard raises :class:`BudgetError`. The master user needs ``master_user_reason``.
    :param master_user_reason: why this function must connect as the master user (migrations,
        admin tools); omitted, ``db_user=<master user>`` raises :class:`BudgetError`.
    :param account_concurrency_limit: the account's Lambda concurrency quota in this Region;
        omitted, the app's ``deploy-paradigms:accountConcurrencyLimit`` context, else 1000. Reserved
        concurrency is booked per account and Region across every stack of the app (100 must stay
        unreserved); when the account rather than the database sets the cap, synth warns
        (``deploy-paradigms:accountConcurrency``).
    :param environment: extra NON-secret variables; keys or values that look like credentials,
        and ``DATABASE_*`` keys, raise :class:`BudgetError`. Omitted: only the ``DATABASE_*``
        variables the construct sets.
    :param alarms: create the default alarms (default True).
    :param log_retention: default one month.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        database: Database,
        code: lambda_.Code,
        handler: str,
        runtime: lambda_.Runtime = lambda_.Runtime.PYTHON_3_12,
        architecture: lambda_.Architecture = lambda_.Architecture.ARM_64,
        memory_size: int = 512,
        timeout_s: int = 30,
        vpc_subnets: ec2.SubnetSelection | None = None,
        connections: int | None = None,
        reserved_concurrency: int | None = None,
        proxy: rds.IDatabaseProxy | None = None,
        proxy_security_group: ec2.ISecurityGroup | None = None,
        proxy_max_connections_percent: int | None = None,
        idle_client_timeout_s: int = DEFAULT_IDLE_CLIENT_TIMEOUT_S,
        borrow_timeout_s: int = DEFAULT_BORROW_TIMEOUT_S,
        iam_auth: bool = True,
        db_user: str | None = None,
        master_user_reason: str | None = None,
        account_concurrency_limit: int | None = None,
        environment: Mapping[str, str] | None = None,
        alarms: bool = True,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        # 1. Validate inputs, before the construct joins the tree: a refused
        #    function leaves nothing behind (the same id can be tried again).
        path = f"{scope.node.path}/{id}" if scope.node.path else id
        if isinstance(memory_size, bool) or not isinstance(memory_size, int) or not (
                MEMORY_RANGE_MB[0] <= memory_size <= MEMORY_RANGE_MB[1]):
            raise BudgetError(f"memory_size={memory_size!r} must be a whole number of MB between "
                              f"{MEMORY_RANGE_MB[0]} and {MEMORY_RANGE_MB[1]}")
        if proxy is not None and proxy_max_connections_percent is not None:
            raise BudgetError(
                f"proxy_max_connections_percent={proxy_max_connections_percent} applies only to a "
                f"proxy this construct creates; set MaxConnectionsPercent on the proxy you pass, or "
                f"omit proxy")
        proxy_connections = getattr(proxy, "connections", None) if proxy is not None else None
        if proxy is not None and proxy_connections is None and proxy_security_group is None:
            raise BudgetError("proxy_security_group is required with an imported proxy: pass the "
                              "security group attached to it so the function can be let in")
        user = check_db_user(database.app_username if db_user is None else db_user)
        check_master_user(user, database.master_username, database.app_username, master_user_reason)
        extra = dict(environment or {})
        check_extra_environment(extra, {k: _rendered(scope, v) for k, v in extra.items()})
        deployment = deployment_of(scope)
        account = deployment.account(*account_key(scope), quota=account_concurrency_limit, requested_by=path)
        shared = deployment.proxy_share(proxy) if proxy is not None else None
        if shared is not None:
            shared.check_database(path, database.ledger)

        # 2-3. Plan and book on the ledger and the account. connections= is planned and booked
        #    now (refused before joining the tree); a default share is settled before synth, when
        #    every consumer is known, and _settle_share brings the rendered numbers up to date.
        def plan_for(share: int, available: int) -> ServerlessPlan:
            return plan_serverless(
                database.limit, available, connections=share,
                reserved_concurrency=reserved_concurrency,
                proxy_max_connections_percent=proxy_max_connections_percent,
                idle_client_timeout_s=idle_client_timeout_s, borrow_timeout_s=borrow_timeout_s,
                function_timeout_s=timeout_s, account_concurrency_limit=account.quota, account=account)

        def commit(plan: ServerlessPlan) -> None:
            if shared is not None:  # clients of a shared proxy fit what it opens, or are refused
                shared.book(path, plan.reserved_concurrency * plan.connection_limit)
            account.reserve(path, plan.reserved_concurrency)  # over the account: refused

        self._booking = database.ledger.book(path, paradigm="serverless", connections=connections,
                                             plan_for=plan_for, commit=commit)
        plan = self._booking.plan  # a default share's is provisional until the ledger settles
        super().__init__(scope, id)
        exact_egress(self)  # no default allow-all egress beside the explicit rules
        self._rendered: ServerlessPlan = plan
        self._account = account
        self._deployment = deployment
        self.database = database
        self.db_user: str = user
        self.iam_auth = iam_auth

        vpc = database.vpc
        # RDS Proxy listens on the engine's default port whatever the database's port is.
        proxy_port = database.engine.default_port
        port = ec2.Port.tcp(proxy_port)
        # 4. The proxy: created next to the database unless one is shared.
        self.proxy_security_group: ec2.ISecurityGroup
        self.proxy: rds.IDatabaseProxy
        self.proxy_created = proxy is None
        if proxy is None:
            self.proxy_security_group = ec2.SecurityGroup(
                self, "ProxySecurityGroup", vpc=vpc, allow_all_outbound=False,
                description=f"RDS Proxy for {self.node.path}: in from the function, out to the database")
            self.proxy = rds.DatabaseProxy(
                self, "Proxy",
                proxy_target=database.proxy_target(self),
                # Unique per stack and path whatever the feature flags; RDS Proxy names are
                # unique per account and Region (1-60 letters, digits, single hyphens).
                db_proxy_name=cdk.Names.unique_resource_name(self, max_length=54, separator="-") + "-proxy",
                # The proxy logs in to the database as the role the function uses, with its secret.
                secrets=[database.secret if user == database.master_username else database.app_secret],
                vpc=vpc,
                # Same placement as the database: the proxy needs no internet access.
                vpc_subnets=ec2.SubnetSelection(
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED if vpc.isolated_subnets
                    else ec2.SubnetType.PRIVATE_WITH_EGRESS),
                security_groups=[self.proxy_security_group],
                require_tls=self.plan.proxy.require_tls,
                iam_auth=iam_auth,
                idle_client_timeout=cdk.Duration.seconds(self.plan.proxy.idle_client_timeout_s),
                borrow_timeout=cdk.Duration.seconds(self.plan.proxy.borrow_timeout_s),
                max_connections_percent=self.plan.proxy.max_connections_percent,
                max_idle_connections_percent=self.plan.proxy.max_idle_connections_percent,
            )
            database.proxies.append((self.proxy.db_proxy_name,
                                     self.plan.proxy.database_connections(database.limit)))
            deployment.register_proxy(self.proxy, ProxyShare(
                self.node.path, database.ledger, self.plan.proxy.database_connections(database.limit),
                [(self.node.path, plan.reserved_concurrency * plan.connection_limit)]))
            # proxy -> database: the proxy target's bind already opens the database
            # port on the database's security group to this proxy's group (a second
            # identical rule would fail the deployment as a duplicate). What aws-cdk
            # leaves out is client -> proxy (aws-cdk issue 20789), added in step 6.
            proxy_peer: ec2.IConnectable = self.proxy
        else:
            self.proxy = proxy
            if proxy_connections is not None:
                self.proxy_security_group = proxy_connections.security_groups[0]
            elif proxy_security_group is not None:
                self.proxy_security_group = proxy_security_group
            proxy_peer = (proxy_connections if proxy_connections is not None
                          else ec2.Connections(security_groups=[self.proxy_security_group]))

        # 5. The log group, the execution role and the function.
        self.log_group = logs.LogGroup(self, "LogGroup", retention=log_retention)
        self.role = vpc_execution_role(self, self.log_group)
        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=vpc, allow_all_outbound=False,
            description=f"Lambda {self.node.path}: out to the RDS Proxy on the database port only")

        self.environment: dict[str, str] = {
            settings.HOST: self.proxy.endpoint,
            settings.PORT: str(proxy_port),
            settings.NAME: database.database_name,
            settings.USER: self.db_user,
            settings.ENGINE: "postgres" if database.engine.is_postgres else "mysql",
            settings.IAM_AUTH: "true" if iam_auth else "false",
            **plan_environment(plan),
        }
        self.secret = database.secret if self.db_user == database.master_username else database.app_secret
        if not iam_auth:
            self.environment[settings.SECRET_ARN] = self.secret.secret_arn
        self.environment.update(extra)

        self.function = lambda_.Function(
            self, "Resource",
            code=code,
            handler=handler,
            runtime=runtime,
            architecture=architecture,
            memory_size=memory_size,
            timeout=cdk.Duration.seconds(self.plan.function_timeout_s),
            reserved_concurrent_executions=self.plan.reserved_concurrency,
            environment=self.environment,
            role=self.role,
            log_group=self.log_group,
            vpc=vpc,
            vpc_subnets=function_subnets(vpc, vpc_subnets),
            security_groups=[self.security_group],
            description=f"deploy-paradigms serverless: {self.plan.summary()}",
        )

        # 6. Security: function -> proxy on the database port; IAM connect or the secret.
        proxy_peer.connections.allow_from(self.function, port, f"Lambda {self.node.path}")
        if iam_auth:
            self.proxy.grant_connect(self.role, self.db_user)
        else:
            self.role.add_to_principal_policy(iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"], resources=[self.secret.secret_arn]))
            if self.secret.encryption_key is not None:
                self.secret.encryption_key.grant_decrypt(self.role)
            # Secrets Manager is an HTTPS API outside the VPC (NAT or interface endpoint).
            self.security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443),
                                                "Secrets Manager API (secrets-only auth)")

        # 7. Alarms (no actions: add yours with alarm.add_alarm_action).
        self.alarms: dict[str, cloudwatch.Alarm] = self._create_alarms() if alarms else {}
        # 8. The final plan: now for connections=, before synth for a default share.
        self._booking.when_settled(self._settle_share)

    @property
    def plan(self) -> ServerlessPlan:
        """The plan; a default share's is provisional until the app's ledgers settle (before synth,
        or ``deployment_of(app).settle()``): the plan if no further consumer joined."""
        return self._booking.plan

    @property
    def allocation(self) -> Allocation:
        """This function's allocation on the ledger (provisional like :attr:`plan`)."""
        return self._booking.allocation

    def _settle_share(self, plan: ServerlessPlan) -> None:
        """The final plan: register the proxy's share, warn, and set every number rendered from the
        provisional plan (reserved concurrency, proxy percents, pool variables, alarms)."""
        if self.proxy_created:
            opens = plan.proxy.database_connections(self.database.limit)
            self.database.proxies[:] = [(name, opens if name == self.proxy.db_proxy_name else n)
                                        for name, n in self.database.proxies]
            share = self._deployment.proxy_share(self.proxy)
            if share is not None:
                share.resize(opens, plan.reserved_concurrency * plan.connection_limit)
        warning = account_limited_warning(plan, self.node.path, self._account.holders())
        if warning:
            cdk.Annotations.of(self).add_warning_v2("deploy-paradigms:accountConcurrency", warning)
        if plan == self._rendered:
            return
        self._rendered = plan
        function = self.function.node.default_child
        if isinstance(function, lambda_.CfnFunction):
            function.reserved_concurrent_executions = plan.reserved_concurrency
            function.description = f"deploy-paradigms serverless: {plan.summary()}"
        for key, value in plan_environment(plan).items():
            self.environment[key] = value
            self.function.add_environment(key, value)
        if self.proxy_created:
            targets = self.proxy.node.try_find_child("ProxyTargetGroup")
            if isinstance(targets, rds.CfnDBProxyTargetGroup):
                targets.add_property_override("ConnectionPoolConfigurationInfo.MaxConnectionsPercent",
                                              plan.proxy.max_connections_percent)
                targets.add_property_override("ConnectionPoolConfigurationInfo.MaxIdleConnectionsPercent",
                                              plan.proxy.max_idle_connections_percent)
        for key, description in (("Connections", connections_alarm_description(self.node.path, plan)),
                                 ("Throttles", throttles_alarm_description(self.node.path, plan))):
            alarm = self.alarms[key].node.default_child if key in self.alarms else None
            if isinstance(alarm, cloudwatch.CfnAlarm):
                alarm.alarm_description = description
                if key == "Connections":
                    alarm.threshold = connections_alarm_threshold(plan)

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

    def _create_alarms(self) -> dict[str, cloudwatch.Alarm]:
        proxy_dims = {"ProxyName": self.proxy.db_proxy_name}
        # Pinning sustained for 15 minutes: a client is holding a database connection
        # to itself (Prisma's prepared statements, SET, temp tables, advisory locks);
        # the cap assumes it, but it means the proxy gives no pooling benefit.
        pinning = cloudwatch.Alarm(
            self, "SessionPinningAlarm",
            alarm_description=(f"RDS Proxy of {self.node.path} keeps sessions pinned for 15 minutes: "
                               f"clients hold database connections (prepared statements, SET, temp tables)"),
            metric=cloudwatch.Metric(
                namespace="AWS/RDS", metric_name="DatabaseConnectionsCurrentlySessionPinned",
                dimensions_map=proxy_dims, statistic="Maximum", period=cdk.Duration.minutes(5)),
            threshold=0, evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        threshold = connections_alarm_threshold(self.plan)
        near_limit = cloudwatch.Alarm(
            self, "ConnectionsAlarm",
            alarm_description=connections_alarm_description(self.node.path, self.plan),
            metric=cloudwatch.Metric(
                namespace="AWS/RDS", metric_name="DatabaseConnections",
                dimensions_map=proxy_dims, statistic="Maximum", period=cdk.Duration.minutes(1)),
            threshold=threshold, evaluation_periods=5, datapoints_to_alarm=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        throttles = cloudwatch.Alarm(
            self, "ThrottlesAlarm",
            alarm_description=throttles_alarm_description(self.node.path, self.plan),
            metric=self.function.metric_throttles(statistic="Sum", period=cdk.Duration.minutes(1)),
            threshold=0, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING)
        return {"SessionPinning": pinning, "Connections": near_limit, "Throttles": throttles}


def function_subnets(vpc: ec2.IVpc, chosen: ec2.SubnetSelection | None) -> ec2.SubnetSelection:
    """``chosen``, else the private subnets with egress (AWS APIs over HTTPS), else isolated ones."""
    return chosen or ec2.SubnetSelection(
        subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS if vpc.private_subnets
        else ec2.SubnetType.PRIVATE_ISOLATED)


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

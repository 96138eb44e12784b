"""``ServerlessFunction``: a Lambda function behind RDS Proxy, capped to the database.

Pulumi twin of :class:`deploy_paradigms.cdk.serverless_function.ServerlessFunction`:
same steps, same attribute names, same defaults, same plan. The function's
reserved concurrency is the connection budget: with ``connection_limit=1`` per
execution environment, ``N`` concurrent environments hold at most ``N`` client
connections and, in the worst case (Prisma's prepared statements pin every
client to a database connection), ``N`` database connections.

Example::

    fn = ServerlessFunction("api", ServerlessFunctionArgs(
        database=database,
        code=pulumi.FileArchive("build/api"),
        handler="app.handler"))
    fn.plan.reserved_concurrency      # 765 on db.m5.large with the default reserve

Steps, top to bottom: validate inputs, plan (budget core), allocate on the
ledger, create the proxy (IAM role, proxy, default target group, target), the
log group, the execution role and the function, wire security groups and IAM,
add alarms, expose attributes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import pulumi
import pulumi_aws as aws

from ..budget import (
    DEFAULT_IDLE_CLIENT_TIMEOUT_S,
    Allocation,
    BudgetError,
    ServerlessPlan,
    plan_serverless,
)
from ..budget.deployment import ProxyShare
from ..budget.plan import DEFAULT_BORROW_TIMEOUT_S, account_limited_warning
from ..plans.checks import LAMBDA_ARCHITECTURES, LAMBDA_PYTHON_RUNTIMES, check_choice, check_log_retention
from ..plans.database import check_db_user, check_master_user
from ..plans.environment import FUNCTION_INSTEAD, FUNCTION_READABLE_BY, check_environment
from ..plans.environment import serverless_plan_environment as plan_environment
from ..plans.names import rds_proxy_name
from ..runtime import settings
from .database import Database, deployment
from .network import LAMBDA_TRUST_POLICY, lambda_vpc_statements
from .shares import settled

__all__ = [
    "ALARM_CONNECTIONS_FRACTION",
    "ServerlessFunction",
    "ServerlessFunctionArgs",
    "check_extra_environment",
    "connections_alarm_threshold",
]

#: The connections alarm fires at this share of the function's allocation.
ALARM_CONNECTIONS_FRACTION = 0.9
#: Lambda memory range (Lambda developer guide, "Configuring memory").
MEMORY_RANGE_MB = (128, 10240)

def check_extra_environment(environment: Mapping[str, pulumi.Input[str]]) -> None:
    """Refuse credentials in ``environment``: secret-like keys, credential-like plain values,
    and keys that would override the database contract (``DATABASE_*``). Values that are
    Outputs are not known yet and only their keys are checked."""
    check_environment(environment, owner="ServerlessFunction", readable_by=FUNCTION_READABLE_BY,
                      instead=FUNCTION_INSTEAD)


T = TypeVar("T")


def connections_alarm_threshold(plan: ServerlessPlan) -> int:
    """Proxy-to-database connections at which the ``Connections`` alarm fires."""
    return max(1, math.ceil(plan.connections * ALARM_CONNECTIONS_FRACTION))


def _account_key() -> tuple[str, str]:
    """(account, Region) the program deploys to; the account is not known before deployment
    and one program deploys to one, so it is one key."""
    region = pulumi.Config("aws").get("region") or "(deploying Region)"
    return "(deploying account)", region


def _dbuser_arn(proxy_arn: str, user: str) -> str:
    """The ``rds-db:connect`` resource of a proxy user:
    ``arn:<partition>:rds-db:<region>:<account>:dbuser:<prx-id>/<user>``."""
    parts = proxy_arn.split(":")
    return f"arn:{parts[1]}:rds-db:{parts[3]}:{parts[4]}:dbuser:{proxy_arn.rsplit(':', 1)[-1]}/{user}"


@dataclass(frozen=True, kw_only=True)
class ServerlessFunctionArgs:
    """Inputs of :class:`ServerlessFunction`; ``database``, ``code`` and ``handler`` are required.

    Attributes:
        database: the :class:`~deploy_paradigms.pulumi.database.Database` to reach; its ledger
            pays for the connections, its network hosts the function and the proxy.
        code: the function code, e.g. ``pulumi.FileArchive("build/api")``.
        handler: e.g. ``app.handler``.
        runtime: Omitted: ``python3.12`` (SnapStart-capable; pure-Python drivers need no build).
        architecture: Omitted: ``arm64`` (Graviton, about 20 % cheaper per GB-second; native
            modules must be built for it).
        memory_size: MB. Omitted: 512 (128-10240; CPU scales with memory).
        timeout_s: Omitted: 30 s; must exceed ``borrow_timeout_s``.
        subnet_ids: where the function's network interfaces go. Omitted: the network's private
            subnets (with egress), or its isolated subnets when it has none.
        connections: this function's share of the ledger. Omitted: everything the ledger has left.
        reserved_concurrency: Omitted: the plan's cap (connections / connection_limit, at most the
            account's reservable concurrency). More than the budget or the account allows raises
            :class:`BudgetError`.
        proxy: an ``aws.rds.Proxy`` to share (bring your own, or another ServerlessFunction's
            ``proxy``); needs ``proxy_security_group_id``. Omitted: one is created. A given proxy
            keeps its own settings; ``proxy_max_connections_percent`` is then refused.
        proxy_security_group_id: the security group of ``proxy``; required with ``proxy``. Without
            ``proxy`` leave it omitted (it would be ignored): the created proxy's own group is used.
        proxy_max_connections_percent: Omitted: the largest share of ``max_connections`` that
            stays within this function's connections.
        idle_client_timeout_s: proxy IdleClientTimeout. Omitted: 120 s (AWS default 1800 s).
        borrow_timeout_s: proxy ConnectionBorrowTimeout. Omitted: 10 s (AWS default 120 s).
        iam_auth: Omitted: True (IAM auth tokens). False = secrets-only: the function gets
            ``DATABASE_SECRET_ARN``, ``secretsmanager:GetSecretValue`` on that secret and HTTPS
            egress to reach Secrets Manager. With a shared ``proxy``, match the proxy's setting.
        db_user: database user to connect as. Omitted: the database's ``master_username``.
        account_concurrency_limit: the account's Lambda concurrency quota in this Region. Omitted:
            the ``deploy-paradigms:accountConcurrencyLimit`` config, else 1000. Reserved concurrency
            is booked per account and Region across the whole program (100 stay unreserved); when
            the account rather than the database sets the cap, the program logs a warning.
        db_user: database user to connect as. Omitted: the database's application role
            (``app_user``, least privilege). Exactly one user name (a wildcard raises BudgetError);
            the master user needs ``master_user_reason``.
        master_user_reason: why this function must connect as the master user (migrations, admin
            tools). Omitted: ``db_user=<master user>`` raises BudgetError.
        account_concurrency_limit: the account's Lambda concurrency quota in this Region. Omitted:
            the ``deploy-paradigms:accountConcurrencyLimit`` config, else 1000. Reserved concurrency
            is booked per account and Region across the whole program (100 stay unreserved); when
            the account rather than the database sets the cap, the program logs a warning.
        environment: extra NON-secret variables; credential-like keys or values and
            ``DATABASE_*`` keys raise :class:`BudgetError`. Omitted: none.
        alarms: Omitted: True (session pinning, connections near the allocation, throttles).
        log_retention_days: Omitted: 30.
        tags: tags on every child. Omitted: none.
    """

    database: Database
    code: pulumi.Archive
    handler: str
    runtime: str = "python3.12"
    architecture: str = "arm64"
    memory_size: int = 512
    timeout_s: int = 30
    subnet_ids: Sequence[pulumi.Input[str]] | None = None
    connections: int | None = None
    reserved_concurrency: int | None = None
    proxy: aws.rds.Proxy | None = None
    proxy_security_group_id: pulumi.Input[str] | None = None
    proxy_max_connections_percent: int | None = None
    idle_client_timeout_s: int = DEFAULT_IDLE_CLIENT_TIMEOUT_S
    borrow_timeout_s: int = DEFAULT_BORROW_TIMEOUT_S
    iam_auth: bool = True
    db_user: str | None = None
    master_user_reason: str | None = None
    account_concurrency_limit: int | None = None
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    alarms: bool = True
    log_retention_days: int = 30
    tags: Mapping[str, str] = field(default_factory=dict)


class ServerlessFunction(pulumi.ComponentResource):
    """A Lambda function reaching its database through RDS Proxy, sized to the connection budget.

    Attributes (as in the CDK construct): ``plan``, ``allocation``, ``function``, ``proxy``,
    ``proxy_target_group``, ``proxy_target``, ``proxy_role``, ``security_group``,
    ``proxy_security_group`` (None for a shared proxy; ``proxy_security_group_id`` always),
    ``role``, ``log_group``, ``alarms`` (dict: ``SessionPinning``, ``Connections``,
    ``Throttles``), ``environment``, ``db_user``.
    """

    TYPE = "deploy-paradigms:serverless_function:ServerlessFunction"

    def __init__(self, name: str, args: ServerlessFunctionArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        # 1. Validate inputs.
        database = args.database
        if isinstance(args.memory_size, bool) or not isinstance(args.memory_size, int) or not (
                MEMORY_RANGE_MB[0] <= args.memory_size <= MEMORY_RANGE_MB[1]):
            raise BudgetError(f"memory_size={args.memory_size!r} must be a whole number of MB between "
                              f"{MEMORY_RANGE_MB[0]} and {MEMORY_RANGE_MB[1]}")
        check_log_retention("log_retention_days", args.log_retention_days)
        check_choice("runtime", args.runtime, LAMBDA_PYTHON_RUNTIMES,
                     fix="the function's code is Python; pick a supported Python runtime")
        check_choice("architecture", args.architecture, LAMBDA_ARCHITECTURES)
        if args.proxy is not None and args.proxy_max_connections_percent is not None:
            raise BudgetError(
                f"proxy_max_connections_percent={args.proxy_max_connections_percent} applies only to a "
                f"proxy this component creates; set it on the proxy's default target group, or omit proxy")
        if args.proxy is not None and not args.proxy_security_group_id:
            raise BudgetError("proxy_security_group_id is required with proxy: pass the security group "
                              "attached to the proxy so the function can be let in")
        if args.proxy is None and not (database.instance_identifier or database.cluster_identifier):
            raise BudgetError("the database has no instance_identifier or cluster_identifier for RDS Proxy "
                              "to target; pass one to Database.from_existing, or pass proxy=")
        check_extra_environment(args.environment)
        network = database.network
        subnet_ids = list(args.subnet_ids or network.private_subnet_ids or network.isolated_subnet_ids)
        if not subnet_ids:
            raise BudgetError("subnet_ids: the network has no private or isolated subnets for the function; "
                              "pass subnet_ids=")
        self.db_user: str = check_db_user(database.app_username if args.db_user is None else args.db_user)
        check_master_user(self.db_user, database.master_username, database.app_username,
                          args.master_user_reason)
        #: The secret of the user the proxy logs in as (and, secrets-only, the function reads).
        self.secret_arn: pulumi.Input[str] = (database.secret_arn if self.db_user == database.master_username
                                              else database.app_secret_arn)
        self.iam_auth = args.iam_auth

        program = deployment()
        account = program.account(*_account_key(), quota=args.account_concurrency_limit, requested_by=name)
        shared = program.proxy_share(args.proxy) if args.proxy is not None else None
        if shared is not None:
            shared.check_database(name, database.ledger)

        # 2-3. Plan and book on the ledger and the account. connections= is planned and booked now;
        #    a default share settles after the program body, when every consumer is known: the
        #    numbers that depend on it are Outputs of the final plan (``planned``).
        def plan_for(share: int, available: int) -> ServerlessPlan:
            return plan_serverless(
                database.limit, available, connections=share,
                reserved_concurrency=args.reserved_concurrency,
                proxy_max_connections_percent=args.proxy_max_connections_percent,
                idle_client_timeout_s=args.idle_client_timeout_s, borrow_timeout_s=args.borrow_timeout_s,
                function_timeout_s=args.timeout_s, account_concurrency_limit=account.quota, account=account)

        def commit(plan: ServerlessPlan) -> None:
            if shared is not None:  # clients of a shared proxy fit what it opens, or are refused
                shared.book(name, plan.reserved_concurrency * plan.connection_limit)
            account.reserve(name, plan.reserved_concurrency)  # over the account: refused

        self._booking = database.ledger.book(name, paradigm="serverless", connections=args.connections,
                                             plan_for=plan_for, commit=commit)
        plan = self._booking.plan  # a default share's is provisional until the program settles
        self._program = program
        self._account = account
        self._component_name = name

        super().__init__(self.TYPE, name, {
            "connectionPlan": self._planned(lambda p: {
                "reservedConcurrency": p.reserved_concurrency, "connectionLimit": p.connection_limit,
                "connections": p.connections, "limitedBy": p.limited_by, "urlParams": p.url.query_string()}),
        }, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        port = database.port
        # RDS Proxy listens on the engine's default port whatever the database's port is.
        proxy_port = database.engine.default_port
        self.database = database

        # 4. The proxy (role that reads the secret, proxy, default target group, target).
        self.proxy_role: aws.iam.Role | None = None
        self.proxy_target_group: aws.rds.ProxyDefaultTargetGroup | None = None
        self.proxy_target: aws.rds.ProxyTarget | None = None
        self.proxy_security_group: aws.ec2.SecurityGroup | None = None
        self.proxy_created = args.proxy is None
        if args.proxy is None:
            self.proxy_security_group = aws.ec2.SecurityGroup(
                f"{name}-proxy-sg", vpc_id=network.vpc_id,
                description=f"RDS Proxy for {name}: in from the function, out to the database",
                revoke_rules_on_delete=True, tags={**tags, "Name": f"{name}-proxy-sg"}, opts=child)
            self.proxy_security_group_id: pulumi.Input[str] = self.proxy_security_group.id
            self.proxy_role = aws.iam.Role(
                f"{name}-proxy-role",
                assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                    "Action": "sts:AssumeRole", "Effect": "Allow",
                    "Principal": {"Service": "rds.amazonaws.com"}}]}),
                description=f"RDS Proxy of {name}: reads the database secret", tags=tags, opts=child)
            proxy_policy = aws.iam.RolePolicy(
                f"{name}-proxy-secret", role=self.proxy_role.id,
                policy=pulumi.Output.from_input(self.secret_arn).apply(lambda arn: json.dumps({
                    "Version": "2012-10-17", "Statement": [{
                        "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                        "Effect": "Allow", "Resource": arn}]})),
                opts=child)
            self.proxy: aws.rds.Proxy = aws.rds.Proxy(
                f"{name}-proxy",
                name=_proxy_name(name),
                engine_family=database.engine_family,
                role_arn=self.proxy_role.arn,
                # Same placement as the database: the proxy needs no internet access.
                vpc_subnet_ids=list(network.isolated_subnet_ids or network.private_subnet_ids),
                vpc_security_group_ids=[self.proxy_security_group.id],
                require_tls=plan.proxy.require_tls,
                idle_client_timeout=plan.proxy.idle_client_timeout_s,
                auths=[aws.rds.ProxyAuthArgs(auth_scheme="SECRETS", secret_arn=self.secret_arn,
                                             iam_auth="REQUIRED" if args.iam_auth else "DISABLED")],
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[proxy_policy]))
            database.proxies.append((self.proxy.name, plan.proxy.database_connections(database.limit)))
            program.register_proxy(self.proxy, ProxyShare(
                name, database.ledger, plan.proxy.database_connections(database.limit),
                [(name, plan.reserved_concurrency * plan.connection_limit)]))
            self.proxy_target_group = aws.rds.ProxyDefaultTargetGroup(
                f"{name}-proxy-targets", db_proxy_name=self.proxy.name,
                connection_pool_config=aws.rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs(
                    connection_borrow_timeout=plan.proxy.borrow_timeout_s,
                    max_connections_percent=self._planned(lambda p: p.proxy.max_connections_percent),
                    max_idle_connections_percent=self._planned(
                        lambda p: p.proxy.max_idle_connections_percent)),
                opts=child)
            self.proxy_target = aws.rds.ProxyTarget(
                f"{name}-proxy-target", db_proxy_name=self.proxy.name,
                target_group_name=self.proxy_target_group.name,
                db_cluster_identifier=database.cluster_identifier,
                db_instance_identifier=None if database.cluster_identifier else database.instance_identifier,
                opts=child)
            # proxy -> database, on the database port only (both sides of the rule).
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-proxy-to-db", security_group_id=self.proxy_security_group.id,
                referenced_security_group_id=database.security_group_id, ip_protocol="tcp",
                from_port=port, to_port=port, description=f"RDS Proxy of {name} to the database",
                opts=child)
            database.allow_from(f"{name}-proxy", self.proxy_security_group.id)
        else:
            self.proxy = args.proxy
            self.proxy_security_group_id = args.proxy_security_group_id  # type: ignore[assignment]

        # 5. The log group, the execution role and the function.
        # Retained on destroy, as the CDK's LogGroup (RemovalPolicy.RETAIN); auto-named, so a
        # re-created stack does not collide with it. Delete it by hand once the logs are not needed.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", retention_in_days=args.log_retention_days, tags=tags,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True))
        self.role = lambda_role(f"{name}-role", f"Execution role of {name}: logs, VPC interfaces, "
                                                f"database connect", tags, child)
        iam_auth = args.iam_auth
        db_user = self.db_user
        role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy", role=self.role.id,
            policy=pulumi.Output.all(self.log_group.arn, self.proxy.arn,
                                     pulumi.Output.from_input(self.secret_arn)).apply(
                lambda values: json.dumps(_execution_policy(values[0], values[1], values[2], db_user,
                                                            iam_auth))),
            opts=child)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=network.vpc_id,
            description=f"Lambda {name}: out to the RDS Proxy on the database port only",
            revoke_rules_on_delete=True, tags={**tags, "Name": f"{name}-sg"}, opts=child)

        self.environment: dict[str, pulumi.Input[str]] = {
            settings.HOST: self.proxy.endpoint,
            settings.PORT: str(proxy_port),
            settings.NAME: database.database_name,
            settings.USER: self.db_user,
            settings.ENGINE: "postgres" if database.engine.is_postgres else "mysql",
            settings.IAM_AUTH: "true" if iam_auth else "false",
            **{key: self._planned(lambda p, key=key: plan_environment(p)[key])  # type: ignore[misc]
               for key in plan_environment(plan)},
        }
        if not iam_auth:
            self.environment[settings.SECRET_ARN] = self.secret_arn
        self.environment.update(args.environment)

        # 6. Security: function -> proxy on the database port (+ HTTPS for secrets-only).
        self.security_group_rules: list[pulumi.CustomResource] = [
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-to-proxy", security_group_id=self.security_group.id,
                referenced_security_group_id=self.proxy_security_group_id, ip_protocol="tcp",
                from_port=proxy_port, to_port=proxy_port, description=f"Lambda {name} to its RDS Proxy",
                opts=child),
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-proxy-from-fn", security_group_id=self.proxy_security_group_id,
                referenced_security_group_id=self.security_group.id, ip_protocol="tcp",
                from_port=proxy_port, to_port=proxy_port, description=f"Lambda {name}", opts=child),
        ]
        if not iam_auth:
            self.security_group_rules.append(aws.vpc.SecurityGroupEgressRule(
                f"{name}-to-secretsmanager", security_group_id=self.security_group.id,
                cidr_ipv4="0.0.0.0/0", ip_protocol="tcp", from_port=443, to_port=443,
                description="Secrets Manager API (secrets-only auth)", opts=child))

        self.function = aws.lambda_.Function(
            f"{name}-function",
            code=args.code,
            handler=args.handler,
            runtime=args.runtime,
            architectures=[args.architecture],
            memory_size=args.memory_size,
            timeout=plan.function_timeout_s,
            reserved_concurrent_executions=self._planned(lambda p: p.reserved_concurrency),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(self.environment)),
            role=self.role.arn,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text",
                                                                log_group=self.log_group.name),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(subnet_ids=subnet_ids,
                                                         security_group_ids=[self.security_group.id]),
            description=self._planned(lambda p: f"deploy-paradigms serverless: {p.summary()}"),
            tags=tags,
            # The role's policy (ENI permissions) must exist before Lambda creates the interfaces.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, self.log_group]))

        # 7. Alarms (no actions: pass alarm_actions through a transform, or add your own).
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = (
            self._create_alarms(name, tags) if args.alarms else {})

        self.register_outputs({
            "functionName": self.function.name,
            "functionArn": self.function.arn,
            "proxyEndpoint": self.proxy.endpoint,
            "reservedConcurrency": self._planned(lambda p: p.reserved_concurrency),
        })
        # 8. The final plan: now for connections=, after the program body for a default share.
        self._booking.when_settled(self._settle_share)

    @property
    def plan(self) -> ServerlessPlan:
        """The plan; a default share's is provisional until the program's ledgers settle (after the
        program body, or ``deployment().settle()``): the plan if no further consumer joined."""
        return self._booking.plan

    @property
    def allocation(self) -> Allocation:
        """This function's allocation on the ledger (provisional like :attr:`plan`)."""
        return self._booking.allocation

    def _planned(self, pick: Callable[[ServerlessPlan], T]) -> pulumi.Output[T]:
        """``pick`` of the final plan, as an input: known now for connections=, else at settlement."""
        return settled(self._booking, self._program, pick)

    def _settle_share(self, plan: ServerlessPlan) -> None:
        """The final plan: the proxy's share in the ledgers, and the account warning."""
        if self.proxy_created:
            opens = plan.proxy.database_connections(self.database.limit)
            self.database.proxies[:] = [(proxy, opens if proxy is self.proxy.name else n)
                                        for proxy, n in self.database.proxies]
            share = self._program.proxy_share(self.proxy)
            if share is not None:
                share.resize(opens, plan.reserved_concurrency * plan.connection_limit)
        self.environment.update(plan_environment(plan))  # the Outputs' values, readable as such
        warning = account_limited_warning(plan, self._component_name, self._account.holders())
        if warning:
            pulumi.log.warn(warning)

    def _create_alarms(self, name: str, tags: Mapping[str, str]) -> dict[str, aws.cloudwatch.MetricAlarm]:
        child = pulumi.ResourceOptions(parent=self)
        proxy_dims = {"ProxyName": self.proxy.name}
        return {
            # Pinning sustained for 15 minutes: clients hold database connections to
            # themselves (Prisma's prepared statements, SET, temp tables, advisory locks).
            "SessionPinning": aws.cloudwatch.MetricAlarm(
                f"{name}-session-pinning",
                alarm_description=(f"RDS Proxy of {name} keeps sessions pinned for 15 minutes: clients "
                                   f"hold database connections (prepared statements, SET, temp tables)"),
                namespace="AWS/RDS", metric_name="DatabaseConnectionsCurrentlySessionPinned",
                dimensions=proxy_dims, statistic="Maximum", period=300, evaluation_periods=3,
                threshold=0, comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching",
                tags=dict(tags), opts=child),
            "Connections": aws.cloudwatch.MetricAlarm(
                f"{name}-connections",
                alarm_description=self._planned(lambda p: (
                    f"RDS Proxy of {name} holds >= {connections_alarm_threshold(p)} database connections "
                    f"({ALARM_CONNECTIONS_FRACTION:.0%} of the {p.connections} allocated)")),
                namespace="AWS/RDS", metric_name="DatabaseConnections",
                dimensions=proxy_dims, statistic="Maximum", period=60, evaluation_periods=5,
                datapoints_to_alarm=3, threshold=self._planned(connections_alarm_threshold),
                comparison_operator="GreaterThanOrEqualToThreshold", treat_missing_data="notBreaching",
                tags=dict(tags), opts=child),
            "Throttles": aws.cloudwatch.MetricAlarm(
                f"{name}-throttles",
                alarm_description=self._planned(lambda p: (
                    f"{name} is throttled: requests exceed the reserved concurrency "
                    f"{p.reserved_concurrency} the database budget allows")),
                namespace="AWS/Lambda", metric_name="Throttles",
                dimensions={"FunctionName": self.function.name}, statistic="Sum", period=60,
                evaluation_periods=1, threshold=0, comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching", tags=dict(tags), opts=child),
        }




def _proxy_name(component: str) -> str:
    """This proxy's name, unique per project, stack and component (RDS Proxy names are unique per
    account and Region): see :func:`deploy_paradigms.plans.names.rds_proxy_name`."""
    return rds_proxy_name(pulumi.get_project(), pulumi.get_stack(), component)


def lambda_role(name: str, description: str, tags: Mapping[str, str],
                opts: pulumi.ResourceOptions) -> aws.iam.Role:
    """An execution role Lambda may assume, with no permissions yet (add a RolePolicy)."""
    return aws.iam.Role(
        name,
        assume_role_policy=LAMBDA_TRUST_POLICY, description=description, tags=tags, opts=opts)


def _execution_policy(log_group_arn: str, proxy_arn: str, secret_arn: str, db_user: str,
                      iam_auth: bool) -> dict[str, object]:
    """Least privilege: write its own logs, manage its VPC interfaces, connect to the database."""
    statements = lambda_vpc_statements(log_group_arn)
    if iam_auth:
        statements.append({"Effect": "Allow", "Action": "rds-db:connect",
                           "Resource": _dbuser_arn(proxy_arn, db_user)})
    else:
        statements.append({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                           "Resource": secret_arn})
    return {"Version": "2012-10-17", "Statement": statements}

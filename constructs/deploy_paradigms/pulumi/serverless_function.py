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

Every decision is taken by :func:`deploy_paradigms.plans.serverless.plan_serverless_function`;
this module renders the plan in the CDK construct's named steps: ``_book_connections``,
``_create_proxy``, ``_create_function``, ``_wire_security``, ``_create_alarms``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi_aws as aws

from ..budget import Allocation, ServerlessPlan
from ..budget.plan import account_limited_warning
from ..plans.serverless import (
    ALARM_CONNECTIONS_FRACTION,
    ANYWHERE,
    AlarmSpec,
    Booking,
    DatabaseFacts,
    FunctionOptions,
    IamStatement,
    ProxyPlan,
    ServerlessFunctionPlan,
    book_connections,
    check_function_environment,
    connections_alarm_threshold,
    dbuser_arn,
    plan_serverless_function,
    proxy_physical_name,
    register_proxy,
    settle_proxy,
)
from .database import Database, account_key, deployment
from .network import LAMBDA_TRUST_POLICY, lambda_vpc_statements
from .shares import settled

T = TypeVar("T")

__all__ = [
    "ALARM_CONNECTIONS_FRACTION",
    "FunctionOptions",
    "ServerlessFunction",
    "ServerlessFunctionArgs",
    "check_extra_environment",
    "connections_alarm_threshold",
]


def check_extra_environment(environment: Mapping[str, pulumi.Input[str]]) -> None:
    """Refuse credentials in ``environment``: secret-like keys, credential-like plain values,
    and keys that would override the database contract (``DATABASE_*``). Values that are
    Outputs are not known yet and only their keys are checked (InputError)."""
    check_function_environment(environment)


#: The (account, Region) key of the program (helpers of this package import it from here).
_account_key = account_key


@dataclass(frozen=True, kw_only=True)
class ServerlessFunctionArgs(FunctionOptions):
    """Inputs of :class:`ServerlessFunction`; ``database``, ``code`` and ``handler`` are required.

    A :class:`~deploy_paradigms.plans.serverless.FunctionOptions` with the framework's inputs: its
    fields are the flat form; ``options`` takes them as one object instead (one option given both
    ways is refused). Omitted (None), each takes the plan's default.

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
        connections: this function's share of the ledger. Omitted: its default share (everything
            the ledger has left when it is the only default-share consumer).
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
        db_user: database user to connect as. Omitted: the database's application role
            (``app_user``, least privilege). Exactly one user name (a wildcard raises InputError);
            the master user needs ``master_user_reason``.
        master_user_reason: why this function must connect as the master user (migrations, admin
            tools). Omitted: ``db_user=<master user>`` raises InputError.
        account_concurrency_limit: the account's Lambda concurrency quota in this Region. Omitted:
            the ``deploy-paradigms:accountConcurrencyLimit`` config, else 1000. Reserved concurrency
            is booked per account and Region across the whole program (100 stay unreserved); when
            the account rather than the database sets the cap, the program logs a warning.
        environment: extra NON-secret variables; credential-like keys or values and
            ``DATABASE_*`` keys raise :class:`InputError`. Omitted: none.
        alarms: Omitted: True (session pinning, connections near the allocation, throttles).
        log_retention_days: Omitted: 30.
        tags: tags on every child. Omitted: none.
        options: the options above as one :class:`FunctionOptions`. Omitted: none.
    """

    database: Database
    code: pulumi.Archive
    handler: str
    subnet_ids: Sequence[pulumi.Input[str]] | None = None
    proxy: aws.rds.Proxy | None = None
    proxy_security_group_id: pulumi.Input[str] | None = None
    environment: Mapping[str, pulumi.Input[str]] | None = None
    tags: Mapping[str, str] | None = None
    options: FunctionOptions | None = None

    def function_options(self) -> FunctionOptions:
        """``options`` with the flat fields merged in (one option given both ways is refused)."""
        return (self.options or FunctionOptions()).merged(FunctionOptions.given(self))


class ServerlessFunction(pulumi.ComponentResource):
    """A Lambda function reaching its database through RDS Proxy, sized to the connection budget.

    Attributes (as in the CDK construct): ``plan`` (the connection arithmetic), ``function_plan``
    (every decision), ``allocation``, ``function``, ``proxy``, ``proxy_target_group``,
    ``proxy_target``, ``proxy_role``, ``security_group``, ``proxy_security_group`` (None for a
    shared proxy; ``proxy_security_group_id`` always), ``role``, ``log_group``, ``alarms`` (dict:
    ``SessionPinning``, ``Connections``, ``Throttles``), ``environment``, ``db_user``, ``iam_auth``,
    ``secret_arn``, ``security_group_rules``.
    """

    TYPE = "deploy-paradigms:serverless_function:ServerlessFunction"

    def __init__(self, name: str, args: ServerlessFunctionArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        chosen = args.function_options()
        planner = self._plan(name, args, chosen)
        booking = self._book_connections(name, args.database, chosen, args.proxy, planner)
        super().__init__(self.TYPE, name, {"connectionPlan": settled(booking, deployment(), lambda p: {
            "reservedConcurrency": p.reserved_concurrency, "connectionLimit": p.connection_limit,
            "connections": p.connections, "limitedBy": p.budget.limited_by,
            "urlParams": p.budget.url.query_string()})}, opts)
        self._expose(name, args, booking)
        self._create_proxy(name, args)
        self._create_function(name, args)
        self._wire_security(name)
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = self._create_alarms(name)
        self.register_outputs({
            "functionName": self.function.name, "functionArn": self.function.arn,
            "proxyEndpoint": self.proxy.endpoint,
            "reservedConcurrency": self.function.reserved_concurrent_executions})
        booking.when_settled(self._settle_share)  # now for connections=, after the body for a default share

    @staticmethod
    def _plan(name: str, args: ServerlessFunctionArgs, options: FunctionOptions) -> Any:
        """Everything but the ledger's grant, bound for the plan (framework-free)."""
        network = args.database.network
        return functools.partial(
            plan_serverless_function, label=name, database=DatabaseFacts.of(args.database), options=options,
            environment=args.environment, shared_proxy=args.proxy is not None,
            proxy_security_group_known=bool(args.proxy_security_group_id),
            proxy_target_known=bool(args.database.instance_identifier or args.database.cluster_identifier),
            security_group_prop="proxy_security_group_id", subnets_given=bool(args.subnet_ids),
            subnet_tiers=frozenset({*(["private"] if network.private_subnet_ids else []),
                                    *(["isolated"] if network.isolated_subnet_ids else [])}))

    @staticmethod
    def _book_connections(name: str, database: Database, options: FunctionOptions,
                          proxy: aws.rds.Proxy | None, planner: Any) -> Booking:
        """The ledger step: the plan for what the database's ledger grants, then the booking."""
        return book_connections(consumer=name, ledger=database.ledger, deployment=deployment(),
                                account_key=_account_key(), options=options, proxy=proxy, planner=planner)

    def _expose(self, name: str, args: ServerlessFunctionArgs, booking: Booking) -> None:
        """The plan and the booking as the attributes users read (``plan`` is the arithmetic); a
        default share's are provisional until the program's ledgers settle (after its body)."""
        self._tags, self._child = dict(args.tags or {}), pulumi.ResourceOptions(parent=self)
        self._booking, self._name = booking, name
        database = self.database = args.database
        self.db_user, self.iam_auth = booking.plan.db_user, booking.plan.iam_auth
        #: The secret of the user the proxy logs in as (and, secrets-only, the function reads).
        self.secret_arn: pulumi.Input[str] = (database.secret_arn if booking.plan.secret == "master"
                                              else database.app_secret_arn)

    @property
    def function_plan(self) -> ServerlessFunctionPlan:
        """Every decision; a default share's is provisional until the program's ledgers settle (after
        the program body, or ``deployment().settle()``): the plan if no further consumer joined."""
        return self._booking.plan

    @property
    def plan(self) -> ServerlessPlan:
        """The connection arithmetic of :attr:`function_plan` (provisional like it)."""
        return self._booking.plan.budget

    @property
    def allocation(self) -> Allocation:
        """This function's allocation on the ledger (provisional like :attr:`function_plan`)."""
        return self._booking.allocation

    def _planned(self, pick: Callable[[ServerlessFunctionPlan], T]) -> pulumi.Output[T]:
        """``pick`` of the final plan, as an input: known now for connections=, else at settlement."""
        return settled(self._booking, deployment(), pick)

    def _settle_share(self, plan: ServerlessFunctionPlan) -> None:
        """The final plan: the proxy's share, the plain values of :attr:`environment`, the account warning."""
        if self.proxy_created:
            settle_proxy(deployment(), self.proxy, self.proxy.name, self.database.proxies, plan)
        self.environment.update(plan.environment_values)  # the Outputs' values, readable as such
        warning = account_limited_warning(plan.budget, self._name, self._booking.account.holders())
        if warning:
            pulumi.log.warn(warning)

    def _create_proxy(self, name: str, args: ServerlessFunctionArgs) -> None:
        """The proxy (role that reads the secret, proxy, default target group, target), or the shared one."""
        self.proxy_role: aws.iam.Role | None = None
        self.proxy_target_group: aws.rds.ProxyDefaultTargetGroup | None = None
        self.proxy_target: aws.rds.ProxyTarget | None = None
        self.proxy_security_group: aws.ec2.SecurityGroup | None = None
        self.proxy_created = args.proxy is None
        self.proxy: aws.rds.Proxy
        self.proxy_security_group_id: pulumi.Input[str] | None
        settings, network, child, tags = (self.function_plan.proxy, self.database.network, self._child,
                                          self._tags)
        if args.proxy is not None or settings is None:
            assert args.proxy is not None
            self.proxy = args.proxy
            self.proxy_security_group_id = args.proxy_security_group_id
            return
        self.proxy_security_group = aws.ec2.SecurityGroup(
            f"{name}-proxy-sg", vpc_id=network.vpc_id, description=settings.description,
            revoke_rules_on_delete=True, tags={**tags, "Name": f"{name}-proxy-sg"}, opts=child)
        self.proxy_security_group_id = self.proxy_security_group.id
        self.proxy_role = aws.iam.Role(
            f"{name}-proxy-role", assume_role_policy=_trust("rds.amazonaws.com"),
            description=f"RDS Proxy of {name}: reads the database secret", tags=tags, opts=child)
        proxy_policy = aws.iam.RolePolicy(
            f"{name}-proxy-secret", role=self.proxy_role.id,
            policy=pulumi.Output.from_input(self.secret_arn).apply(
                lambda arn: _policy([IamStatement(settings.role_actions, "secret")], {"secret": arn})),
            opts=child)
        self.proxy = aws.rds.Proxy(
            f"{name}-proxy", name=proxy_physical_name(scoped=(pulumi.get_project(), pulumi.get_stack(),
                                                              name)),
            engine_family=settings.engine_family, role_arn=self.proxy_role.arn,
            vpc_subnet_ids=list(network.isolated_subnet_ids if settings.subnet_tier == "isolated"
                                else network.private_subnet_ids),
            vpc_security_group_ids=[self.proxy_security_group.id], require_tls=settings.require_tls,
            idle_client_timeout=settings.idle_client_timeout_s,
            auths=[aws.rds.ProxyAuthArgs(auth_scheme=settings.auth_scheme, secret_arn=self.secret_arn,
                                         iam_auth=settings.iam_auth)],
            tags=tags, opts=pulumi.ResourceOptions(parent=self, depends_on=[proxy_policy]))
        self.database.proxies.append((self.proxy.name, settings.database_connections))
        register_proxy(deployment(), self.proxy, self.function_plan, self.database.ledger)
        self.proxy_target_group = aws.rds.ProxyDefaultTargetGroup(
            f"{name}-proxy-targets", db_proxy_name=self.proxy.name,
            connection_pool_config=aws.rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs(
                connection_borrow_timeout=settings.borrow_timeout_s,
                max_connections_percent=self._planned(lambda p: _proxy(p).max_connections_percent),
                max_idle_connections_percent=self._planned(lambda p: _proxy(p).max_idle_connections_percent)),
            opts=child)
        self.proxy_target = aws.rds.ProxyTarget(
            f"{name}-proxy-target", db_proxy_name=self.proxy.name,
            target_group_name=self.proxy_target_group.name,
            db_cluster_identifier=self.database.cluster_identifier,
            db_instance_identifier=(None if self.database.cluster_identifier
                                    else self.database.instance_identifier),
            opts=child)

    def _create_function(self, name: str, args: ServerlessFunctionArgs) -> None:
        plan, network, child, tags = self.function_plan, self.database.network, self._child, self._tags
        # Retained on destroy, as the CDK's LogGroup (RemovalPolicy.RETAIN); auto-named, so a
        # re-created stack does not collide with it. Delete it by hand once the logs are not needed.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", retention_in_days=plan.log_retention_days, tags=tags,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True))
        self.role = lambda_role(f"{name}-role", plan.role_description, tags, child)
        role_policy = aws.iam.RolePolicy(
            f"{name}-role-policy", role=self.role.id,
            policy=pulumi.Output.all(self.log_group.arn, self.proxy.arn,
                                     pulumi.Output.from_input(self.secret_arn)).apply(
                lambda arns: _policy(plan.statements, {"log-group": arns[0], "*": "*", "secret": arns[2],
                                                       "dbuser": dbuser_arn(arns[1], plan.db_user)})),
            opts=child)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", vpc_id=network.vpc_id, description=plan.security_group_description,
            revoke_rules_on_delete=True, tags={**tags, "Name": f"{name}-sg"}, opts=child)
        self.environment: dict[str, pulumi.Input[str]] = plan.environment(host=self.proxy.endpoint,
                                                                          secret_arn=self.secret_arn)
        self.environment.update({key: self._planned(_environment_value(key))
                                 for key in plan.environment_values})  # pool variables: the share's
        chosen = args.subnet_ids or (network.private_subnet_ids if plan.function_subnet_tier == "private"
                                     else network.isolated_subnet_ids)
        subnet_ids = list(chosen)
        self.function = aws.lambda_.Function(
            f"{name}-function", code=args.code, handler=args.handler, runtime=plan.runtime,
            architectures=[plan.architecture], memory_size=plan.memory_size, timeout=plan.timeout_s,
            reserved_concurrent_executions=self._planned(lambda p: p.reserved_concurrency),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(self.environment)),
            role=self.role.arn,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text",
                                                                 log_group=self.log_group.name),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(subnet_ids=subnet_ids,
                                                         security_group_ids=[self.security_group.id]),
            description=self._planned(lambda p: p.description), tags=tags,
            # The role's policy (ENI permissions) must exist before Lambda creates the interfaces.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, self.log_group]))

    def _wire_security(self, name: str) -> None:
        """The plan's rules: egress on the source's group, ingress on the target's."""
        child = self._child
        self.security_group_rules: list[pulumi.CustomResource] = []
        for rule in self.function_plan.security_rules:
            if rule.target == "proxy":
                self.security_group_rules += [
                    _egress(f"{name}-to-proxy", self.security_group.id, rule.port, rule.description, child,
                            to_group=self.proxy_security_group_id),
                    aws.vpc.SecurityGroupIngressRule(
                        f"{name}-proxy-from-fn", security_group_id=self.proxy_security_group_id,
                        referenced_security_group_id=self.security_group.id, ip_protocol="tcp",
                        from_port=rule.port, to_port=rule.port, description=rule.description, opts=child)]
            elif rule.target == "database" and self.proxy_security_group is not None:
                _egress(f"{name}-proxy-to-db", self.proxy_security_group.id, rule.port, rule.description,
                        child,
                        to_group=self.database.security_group_id)
                self.database.allow_from(f"{name}-proxy", self.proxy_security_group.id)
            elif rule.target == ANYWHERE:
                self.security_group_rules.append(_egress(
                    f"{name}-to-secretsmanager", self.security_group.id, rule.port, rule.description, child,
                    cidr=rule.target))

    def _create_alarms(self, name: str) -> dict[str, aws.cloudwatch.MetricAlarm]:
        """The plan's alarms, without actions (pass alarm_actions through a transform, or add yours)."""
        dimensions = {"proxy": {"ProxyName": self.proxy.name},
                      "function": {"FunctionName": self.function.name}}
        return {spec.key: aws.cloudwatch.MetricAlarm(
            f"{name}-{_kebab(spec.key)}", namespace=spec.namespace,
            alarm_description=self._planned(_alarm(spec.key)).apply(lambda alarm: alarm.description),
            metric_name=spec.metric_name, dimensions=dimensions[spec.dimension], statistic=spec.statistic,
            period=spec.period_s, evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.datapoints_to_alarm,
            threshold=self._planned(_alarm(spec.key)).apply(lambda alarm: alarm.threshold),
            comparison_operator=spec.comparison_operator, treat_missing_data=spec.treat_missing_data,
            tags=dict(self._tags), opts=self._child)
            for spec in self.function_plan.alarms}


def _proxy(plan: ServerlessFunctionPlan) -> ProxyPlan:
    assert plan.proxy is not None  # the function creates its proxy
    return plan.proxy


def _alarm(key: str) -> Callable[[ServerlessFunctionPlan], AlarmSpec]:
    """The alarm ``key`` of a plan (its threshold and description follow the share)."""
    return lambda plan: next(spec for spec in plan.alarms if spec.key == key)


def _environment_value(key: str) -> Callable[[ServerlessFunctionPlan], str]:
    """The variable ``key`` of a plan's database contract (the pool's follow the share)."""
    return lambda plan: plan.environment_values[key]


def _kebab(key: str) -> str:
    """``SessionPinning`` -> ``session-pinning`` (the alarms' Pulumi names)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", key).lower()


def _trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": service}}]})


def _policy(statements: Sequence[IamStatement], arns: Mapping[str, str]) -> str:
    """A policy document of the plan's statements, each on the ARN of its resource kind (a log
    group's and its streams', as :func:`lambda_vpc_statements` grants)."""
    rendered: list[dict[str, object]] = []
    for st in statements:
        if st.resource == "log-group":
            rendered.append(lambda_vpc_statements(arns["log-group"])[0])
            continue
        rendered.append({"Effect": "Allow",
                         "Action": list(st.actions) if len(st.actions) > 1 else st.actions[0],
                         "Resource": arns[st.resource]})
    return json.dumps({"Version": "2012-10-17", "Statement": rendered})


def _egress(name: str, group: pulumi.Input[str], port: int, description: str, opts: pulumi.ResourceOptions, *,
            to_group: pulumi.Input[str] | None = None,
            cidr: str | None = None) -> aws.vpc.SecurityGroupEgressRule:
    return aws.vpc.SecurityGroupEgressRule(
        name, security_group_id=group, referenced_security_group_id=to_group, cidr_ipv4=cidr,
        ip_protocol="tcp",
        from_port=port, to_port=port, description=description, opts=opts)


def lambda_role(name: str, description: str, tags: Mapping[str, str],
                opts: pulumi.ResourceOptions) -> aws.iam.Role:
    """An execution role Lambda may assume, with no permissions yet (add a RolePolicy)."""
    return aws.iam.Role(
        name,
        assume_role_policy=LAMBDA_TRUST_POLICY, description=description, tags=tags, opts=opts)


def _execution_policy(log_group_arn: str, proxy_arn: str, secret_arn: str, db_user: str,
                      iam_auth: bool) -> dict[str, object]:
    """Least privilege: write its own logs, manage its VPC interfaces, connect to the database
    (the helper functions' policy: migrations, change stream)."""
    statements = lambda_vpc_statements(log_group_arn)
    if iam_auth:
        statements.append({"Effect": "Allow", "Action": "rds-db:connect", "Resource": dbuser_arn(proxy_arn,
                                                                                                 db_user)})
    else:
        statements.append({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                           "Resource": secret_arn})
    return {"Version": "2012-10-17", "Statement": statements}

"""``ContainerService``: long-running Fargate tasks behind an ALB whose pools fit the database.

Pulumi twin of :class:`deploy_paradigms.cdk.container_service.ContainerService`:
same inputs (``ContainerServiceArgs``), same plan, same attribute names, same
tuning. Each task may open ``pool_size`` connections, autoscaling may run
``max_tasks`` tasks and a rolling deploy at that scale runs up to
``maximum_percent`` of them, so::

    pool_size x ceil(max_tasks x maximum_percent / 100) <= its allocation

on the :class:`~deploy_paradigms.pulumi.database.Database` ledger; inputs that
would break it are refused before any resource exists.

Example::

    web = ContainerService("web", ContainerServiceArgs(
        database=db, image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.4.2",
        ecr_repository_arn=repo.arn, max_tasks=6))
    web.plan.pool_size

Children (names prefixed with the component's): ECS cluster (Container
Insights) unless ``cluster_arn`` is given, log group, execution and task
roles, security groups and their rules, ALB + target group + listener(s),
access-logs bucket unless ``access_logs_bucket`` is given, task definition,
service (circuit breaker with rollback), scalable target and policies.
``opts`` is the escape hatch: its ``transforms`` apply to every child.

Every decision (defaults, checks, sizes, tuning, rules, alarms) is made by
:func:`deploy_paradigms.plans.paas.plan_container_service`; this module only renders
it, in named steps shaped like the CDK construct's: ``_book_connections`` (plan and
ledger), ``_create_cluster``, ``_create_logs``, ``_create_roles``,
``_create_security_groups``, ``_create_access_logs``, ``_create_service`` (load balancer,
listeners, task definition, service: the CDK pattern's part), ``_create_scaling``,
``_wire_security``, ``_create_alarms``, ``_acknowledge``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ..budget import Allocation, ContainerPlan
from ..budget.ledger import Booking
from ..plans.paas import (  # every decision; this module renders them
    CPU_METRIC,
    ELB_LOG_DELIVERY_PRINCIPAL,
    AlarmSpec,
    ContainerServiceOptions,
    ContainerServicePlan,
    ServiceContext,
    Statement,
    plan_container_service,
)
from .database import Database, deployment
from .shares import settled


@dataclass(frozen=True, kw_only=True)
class ContainerServiceArgs(ContainerServiceOptions):
    """Inputs of :class:`ContainerService`. ``database`` and ``image`` are required. The service's
    options (port, size, range, scaling, environment, retention...) are those of
    :class:`~deploy_paradigms.plans.paas.ContainerServiceOptions`, as on the CDK construct.

    Attributes:
        database: The :class:`Database` to connect to; the service allocates on its ledger and
            runs in its network (tasks in the private subnets, the ALB in the public ones).
        image: Image URI the tasks run (``<account>.dkr.ecr.<region>.amazonaws.com/repo:tag``,
            ``public.ecr.aws/...``).
        ecr_repository_arn: The private ECR repository ``image`` lives in; the execution role
            may pull from it (and only it). Omitted: no ECR permission (public images).
        container_port: Port the app listens on (also passed as ``PORT``). Omitted: 8080.
        health_check_path: Path the ALB checks. Omitted: ``/healthz`` (should not query the database).
        cpu / memory_mib: Fargate task size. Omitted: 256 (0.25 vCPU) and 512 MiB.
        min_tasks / max_tasks: Autoscaling range. Omitted: 1 and 4. The budget must fit
            ``max_tasks x maximum_percent``.
        desired_tasks: Tasks at creation. Omitted: ``min_tasks``. Later changes by autoscaling
            are kept (``desiredCount`` is ignored on update).
        pool_size: Connections per task (``connection_limit``). Omitted: the largest that fits.
        connections: This service's share of the database. Omitted: the ledger's default share
            (the allocation is then ``pool_size x peak tasks``, the rest stays free).
        maximum_percent / minimum_healthy_percent: Rolling-deploy bounds. Omitted: 200 and 100.
        deploy_strategy: How deploys run, for the budget: ``rolling`` (omitted: up to
            ``maximum_percent``) or ``blue-green``/``canary``/``linear`` (both revisions at full size
            through the bake time: 200 %). The component renders the rolling deployment; choose
            another when your pipeline runs one, so the pool is sized for its peak.
        certificate_arn: ACM certificate: HTTPS on 443 plus an HTTP->HTTPS redirect on 80.
            Omitted: plain HTTP on 80, with a warning logged at preview/up.
        cluster_arn: An existing ECS cluster. Omitted: one is created with Container Insights.
        subnet_ids: Subnets for the tasks. Omitted: the network's private subnets (NAT egress).
        load_balancer_subnet_ids: Subnets for the ALB. Omitted: the network's public subnets.
        scale_on_cpu_percent: CPU target for target tracking, 10-90, or 0 for no CPU policy. Omitted: 60.
        scale_on_requests_per_target: ALB requests per task per minute to track. Omitted: none.
        environment: Extra non-secret environment variables; secret-looking names are refused.
            Omitted: only the ``DATABASE_*`` variables and ``PORT`` the component sets.
        access_logs_bucket: Name of a bucket for ALB access logs (SSE-S3 only, as ALB requires,
            with the ELB log-delivery policy). Omitted: an encrypted, TLS-only, versioned bucket
            is created.
        log_retention_days: Retention of the container log group. Omitted: 30.
        tags: Tags on every child. Omitted: none.
    """

    database: Database
    image: pulumi.Input[str]
    ecr_repository_arn: pulumi.Input[str] | None = None
    certificate_arn: pulumi.Input[str] | None = None
    cluster_arn: pulumi.Input[str] | None = None
    subnet_ids: Sequence[pulumi.Input[str]] | None = None
    load_balancer_subnet_ids: Sequence[pulumi.Input[str]] | None = None
    access_logs_bucket: pulumi.Input[str] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


def _policy(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def _assume_ecs_tasks() -> str:
    return _policy([{"Effect": "Allow", "Action": "sts:AssumeRole",
                     "Principal": {"Service": "ecs-tasks.amazonaws.com"}}])


class ContainerService(pulumi.ComponentResource):
    """A load-balanced Fargate service whose pool size and scaling fit the database budget.

    Attributes (as on the CDK construct): ``plan`` (the budget's :class:`ContainerPlan`),
    ``service_plan`` (every decision, :class:`ContainerServicePlan`), ``allocation``, ``cluster``
    (None when ``cluster_arn`` was given; ``cluster_arn`` either way), ``log_group``,
    ``execution_role``, ``execution_policy``, ``task_role``, ``task_secret_policy``,
    ``security_group`` (tasks), ``load_balancer_security_group``, ``load_balancer``,
    ``target_group``, ``listener`` (the one that forwards), ``redirect_listener`` (HTTPS only),
    ``access_logs_bucket`` (name), ``task_definition``, ``container`` (the container definition),
    ``service``, ``scaling`` (scalable target), ``scaling_policies``, ``alarms``, ``protocol``,
    ``dns_name``, ``url``.
    """

    TYPE = "deploy-paradigms:container_service:ContainerService"

    def __init__(self, name: str, args: ContainerServiceArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        self.database = args.database
        network = args.database.network
        task_subnets = list(args.subnet_ids or network.private_subnet_ids)
        lb_subnets = list(args.load_balancer_subnet_ids or network.public_subnet_ids)
        self._booking = self._book_connections(name, args, task_subnets, lb_subnets)
        # A default share settles after the program body: what depends on it is an Output of the
        # final plan (``self._planned``), the rest comes from the provisional plan.
        self._planned = settled(self._booking, deployment(), lambda final: final)
        plan = self.plan
        super().__init__(self.TYPE, name, {
            "poolSize": self._planned.apply(lambda final: final.budget.pool_size), "minTasks": plan.min_tasks,
            "maxTasks": plan.max_tasks, "maximumPercent": plan.maximum_percent,
            "deployStrategy": plan.deploy_strategy,
            "connections": self._planned.apply(lambda final: final.budget.connections)}, opts)
        self._name, self._tags = name, dict(args.tags)
        self._child = pulumi.ResourceOptions(parent=self)
        self._create_cluster(args.cluster_arn)
        self._create_logs()
        self._create_roles(args.ecr_repository_arn)
        self._create_security_groups()
        self._create_access_logs(args.access_logs_bucket)
        self._create_service(args.image, args.certificate_arn, task_subnets, lb_subnets)
        self._create_scaling()
        self._wire_security()
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = self._create_alarms()
        self._acknowledge()
        self.protocol = self.service_plan.protocol
        self.dns_name: pulumi.Output[str] = self.load_balancer.dns_name
        self.url: pulumi.Output[str] = pulumi.Output.concat(f"{self.protocol}://", self.dns_name)
        self.register_outputs({
            "url": self.url, "dnsName": self.dns_name, "serviceName": self.service.name,
            "clusterArn": self.cluster_arn, "logGroupName": self.log_group.name,
            "poolSize": self._planned.apply(lambda final: final.budget.pool_size),
            "maxTasks": plan.max_tasks})

    def _book_connections(self, name: str, args: ContainerServiceArgs, task_subnets: Sequence[Any],
                          lb_subnets: Sequence[Any]) -> Booking[ContainerServicePlan]:
        """Plan from this service's share and book it: ``connections=`` now; a default share when
        the program's ledgers settle, after the program body."""
        database, ledger = args.database, args.database.ledger
        context = ServiceContext(
            name=name, database_port=database.port, database_name=database.database_name,
            https=args.certificate_arn is not None,
            # Unique per project and stack (aws-cdk's is per stack and path): two stacks registering
            # revisions of one family would run each other's task definitions.
            family_parts=(pulumi.get_project(), pulumi.get_stack(), name),
            image_uri=args.image if isinstance(args.image, str) else None,  # an Output: the registry checks
            private_ecr=args.ecr_repository_arn is not None, task_subnets=len(task_subnets),
            load_balancer_subnets=len(lb_subnets))

        def plan_for(share: int, available: int) -> ContainerServicePlan:
            return plan_container_service(database.limit, available, args, context, share=share)

        return ledger.book(name, paradigm="containers", connections=args.connections, plan_for=plan_for,
                           budget_of=lambda plan: plan.budget)

    @property
    def service_plan(self) -> ContainerServicePlan:
        """Every decision; a default share's is provisional until the program's ledgers settle (after
        the program body, or ``deployment().settle()``): the plan if no further consumer joined."""
        return self._booking.plan

    @property
    def plan(self) -> ContainerPlan:
        """The connection plan (``service_plan.budget``)."""
        return self.service_plan.budget

    @property
    def allocation(self) -> Allocation:
        """This service's allocation on the ledger (provisional like :attr:`plan`)."""
        return self._booking.allocation

    def _create_cluster(self, cluster_arn: pulumi.Input[str] | None) -> None:
        self.cluster: aws.ecs.Cluster | None = None
        if cluster_arn is None:
            self.cluster = aws.ecs.Cluster(
                f"{self._name}-cluster", settings=[{"name": "containerInsights", "value": "enabled"}],
                tags=self._tags, opts=self._child)
            self.cluster_arn: pulumi.Output[str] = self.cluster.arn
            self._cluster_name: pulumi.Output[str] = self.cluster.name
        else:
            self.cluster_arn = pulumi.Output.from_input(cluster_arn)
            self._cluster_name = self.cluster_arn.apply(lambda arn: arn.rsplit("/", 1)[-1])

    def _create_logs(self) -> None:
        # Retained on destroy, as the CDK's LogGroup (RemovalPolicy.RETAIN); auto-named, so a
        # re-created stack does not collide with it. Delete it by hand once the logs are not needed.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{self._name}-logs", retention_in_days=self.service_plan.log_retention_days, tags=self._tags,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True))

    def _create_roles(self, ecr_repository_arn: pulumi.Input[str] | None) -> None:
        """Execution role (the ECS agent) and task role (the app), with the plan's statements."""
        name, secret_arn = self._name, pulumi.Output.from_input(self.database.app_secret_arn)
        resources = pulumi.Output.all(secret_arn, self.log_group.arn,
                                      pulumi.Output.from_input(ecr_repository_arn))
        self.execution_role = aws.iam.Role(
            f"{name}-execution-role", assume_role_policy=_assume_ecs_tasks(),
            description=f"{name}: ECS agent pulls the image, reads the database secret, writes logs",
            tags=self._tags, opts=self._child)
        self.execution_policy = aws.iam.RolePolicy(
            f"{name}-execution-policy", role=self.execution_role.id,
            policy=resources.apply(
                lambda a: _role_policy(self.service_plan.execution_role, a[0], a[1], a[2])),
            opts=self._child)
        self.task_role = aws.iam.Role(
            f"{name}-task-role", assume_role_policy=_assume_ecs_tasks(),
            description=f"{name}: the app's role (reads the database secret after a rotation)",
            tags=self._tags,
            opts=self._child)
        # A rotated password: the app re-reads the secret when the database refuses the old one.
        self.task_secret_policy = aws.iam.RolePolicy(
            f"{name}-task-secret", role=self.task_role.id,
            policy=secret_arn.apply(lambda arn: _role_policy(self.service_plan.task_role, arn, "", None)),
            opts=self._child)

    def _create_security_groups(self) -> None:
        """Both groups without rules; the plan's rules are added by ``_wire_security``."""
        vpc_id, name = self.database.network.vpc_id, self._name
        self.load_balancer_security_group = aws.ec2.SecurityGroup(
            f"{name}-lb-sg", vpc_id=vpc_id,
            description=f"{name} load balancer: listener ports from the internet, to the tasks only",
            revoke_rules_on_delete=True, tags={**self._tags, "Name": f"{name}-lb-sg"}, opts=self._child)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-tasks-sg", vpc_id=vpc_id,
            description=f"{name} tasks: ingress from the load balancer on the container port only",
            revoke_rules_on_delete=True, tags={**self._tags, "Name": f"{name}-tasks-sg"}, opts=self._child)

    def _create_access_logs(self, bucket: pulumi.Input[str] | None) -> None:
        self._bucket_children: list[pulumi.Resource] = []
        if bucket is None:
            self.access_logs_bucket: pulumi.Output[str] = self._create_access_logs_bucket()
        else:
            self.access_logs_bucket = pulumi.Output.from_input(bucket)

    def _create_service(self, image: pulumi.Input[str], certificate_arn: pulumi.Input[str] | None,
                        task_subnets: Sequence[Any], lb_subnets: Sequence[Any]) -> None:
        """What the CDK pattern creates: ALB, target group, listener(s), task definition, service."""
        self._create_load_balancer(lb_subnets)
        self._create_listeners(certificate_arn)
        self._create_task(image)
        plan, listeners = self.service_plan, [self.listener, *filter(None, [self.redirect_listener])]
        self.service = aws.ecs.Service(
            f"{self._name}-service", cluster=self.cluster_arn, task_definition=self.task_definition.arn,
            launch_type="FARGATE", desired_count=plan.initial_tasks,
            deployment_maximum_percent=plan.maximum_percent,
            deployment_minimum_healthy_percent=plan.minimum_healthy_percent,
            deployment_circuit_breaker={"enable": True, "rollback": plan.circuit_breaker_rollback},
            health_check_grace_period_seconds=plan.health_check.grace_s,
            network_configuration={"subnets": list(task_subnets), "security_groups": [self.security_group.id],
                                   "assign_public_ip": False},
            load_balancers=[{"target_group_arn": self.target_group.arn, "container_name": plan.container_name,
                             "container_port": plan.container_port}],
            propagate_tags="SERVICE", enable_ecs_managed_tags=True, tags=self._tags,
            # ECS needs the target group attached to a listener first; autoscaling owns the count.
            opts=pulumi.ResourceOptions(parent=self, depends_on=listeners, ignore_changes=["desiredCount"]))

    def _create_load_balancer(self, lb_subnets: Sequence[Any]) -> None:
        plan, name, check = self.service_plan, self._name, self.service_plan.health_check
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-lb", load_balancer_type="application", internal=False,
            security_groups=[self.load_balancer_security_group.id], subnets=list(lb_subnets),
            drop_invalid_header_fields=plan.load_balancer_attributes[
                "routing.http.drop_invalid_header_fields.enabled"] == "true",
            access_logs={"bucket": self.access_logs_bucket, "enabled": True,
                         "prefix": plan.access_log_prefix},
            tags=self._tags, opts=pulumi.ResourceOptions(parent=self, depends_on=self._bucket_children))
        self.target_group = aws.lb.TargetGroup(
            f"{name}-tg", port=plan.container_port, protocol="HTTP", target_type="ip",
            vpc_id=self.database.network.vpc_id,
            deregistration_delay=int(plan.target_group_attributes["deregistration_delay.timeout_seconds"]),
            health_check={
                "enabled": True, "path": check.path, "protocol": check.protocol, "matcher": check.matcher,
                "interval": check.interval_s, "timeout": check.timeout_s,
                "healthy_threshold": check.healthy_threshold,
                "unhealthy_threshold": check.unhealthy_threshold,
            },
            tags=self._tags, opts=self._child)

    def _create_listeners(self, certificate_arn: pulumi.Input[str] | None) -> None:
        """The plan's listeners: the forwarding one is ``listener``, a redirect ``redirect_listener``."""
        self.redirect_listener: aws.lb.Listener | None = None
        for spec in self.service_plan.listeners:
            action = (aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=self.target_group.arn)
                      if spec.action == "forward" else aws.lb.ListenerDefaultActionArgs(
                          type="redirect", redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                              port=str(spec.redirect_to), protocol="HTTPS", status_code="HTTP_301")))
            listener = aws.lb.Listener(
                f"{self._name}-{spec.protocol.lower()}", load_balancer_arn=self.load_balancer.arn,
                port=spec.port, protocol=spec.protocol, ssl_policy=spec.ssl_policy,
                certificate_arn=certificate_arn if spec.protocol == "HTTPS" else None,
                default_actions=[action], tags=self._tags, opts=self._child)
            if spec.action == "forward":
                self.listener = listener
            else:
                self.redirect_listener = listener

    def _create_task(self, image: pulumi.Input[str]) -> None:
        """The task definition: the plan's container (secrets from Secrets Manager, never values)."""
        plan, database = self.service_plan, self.database
        secret_arn = pulumi.Output.from_input(database.app_secret_arn)
        self.container: pulumi.Output[dict[str, Any]] = pulumi.Output.all(
            pulumi.Output.from_input(image), pulumi.Output.from_input(database.endpoint_address), secret_arn,
            self.log_group.name, aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region,
            self._planned,  # the pool variables: from the settled plan
        ).apply(lambda a: _container_definition(a[5], image=a[0], host=a[1], secret_arn=a[2], log_group=a[3],
                                                region=a[4]))
        self.task_definition = aws.ecs.TaskDefinition(
            f"{self._name}-task", family=plan.family, cpu=str(plan.cpu), memory=str(plan.memory_mib),
            network_mode="awsvpc", requires_compatibilities=["FARGATE"],
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            execution_role_arn=self.execution_role.arn, task_role_arn=self.task_role.arn,
            container_definitions=self.container.apply(lambda c: json.dumps([c], sort_keys=True)),
            tags=self._tags, opts=self._child)

    def _create_scaling(self) -> None:
        """Autoscaling capped at what the budget allows, with the plan's target-tracking policies."""
        plan, name = self.service_plan, self._name
        self.scaling = aws.appautoscaling.Target(
            f"{name}-scaling", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", self._cluster_name, "/", self.service.name),
            min_capacity=plan.min_tasks, max_capacity=plan.max_tasks, tags=self._tags, opts=self._child)
        label = pulumi.Output.concat(self.load_balancer.arn_suffix, "/", self.target_group.arn_suffix)
        tracking = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs
        metric = (aws.appautoscaling.
                  PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs)
        self.scaling_policies: list[aws.appautoscaling.Policy] = [aws.appautoscaling.Policy(
            f"{name}-{policy.key.lower()}", policy_type="TargetTrackingScaling",
            resource_id=self.scaling.resource_id, scalable_dimension=self.scaling.scalable_dimension,
            service_namespace=self.scaling.service_namespace,
            target_tracking_scaling_policy_configuration=tracking(
                target_value=policy.target, scale_in_cooldown=policy.scale_in_cooldown_s,
                scale_out_cooldown=policy.scale_out_cooldown_s,
                predefined_metric_specification=metric(
                    predefined_metric_type=policy.metric,
                    resource_label=None if policy.metric == CPU_METRIC else label)),
            opts=self._child) for policy in plan.scaling_policies]

    def _wire_security(self) -> None:
        """The plan's rules, and nothing else: internet -> ALB, ALB -> tasks, tasks -> database
        and HTTPS (ECR, Secrets Manager, CloudWatch Logs through the NAT gateway)."""
        groups = {"load_balancer": self.load_balancer_security_group.id, "tasks": self.security_group.id,
                  "database": self.database.security_group_id}
        short = {"load_balancer": "lb", "tasks": "tasks", "database": "database"}
        for rule in self.service_plan.security_rules:
            if rule.group == "database":  # the database's end: its own rule, named after it
                self.database.allow_from(self._name, self.security_group.id)
                continue
            peer = ({"referenced_security_group_id": groups[rule.peer]} if rule.peer in groups
                    else {"cidr_ipv4": rule.peer})
            towards = "to" if rule.direction == "egress" else "from"
            target = short.get(rule.peer) or (
                "https" if rule.direction == "egress" else f"internet-{rule.port}")
            kind = (aws.vpc.SecurityGroupEgressRule if rule.direction == "egress"
                    else aws.vpc.SecurityGroupIngressRule)
            kind(f"{self._name}-{short[rule.group]}-{towards}-{target}", security_group_id=groups[rule.group],
                 ip_protocol="tcp", from_port=rule.port, to_port=rule.port, description=rule.description,
                 opts=self._child, **peer)

    def _create_alarms(self) -> dict[str, aws.cloudwatch.MetricAlarm]:
        """The plan's alarms on the load balancer's metrics for this service's target group."""
        dimensions = {"LoadBalancer": self.load_balancer.arn_suffix,
                      "TargetGroup": self.target_group.arn_suffix}
        return {spec.key: self._alarm(spec, dimensions) for spec in self.service_plan.alarms}

    def _alarm(self, spec: AlarmSpec,
               dimensions: Mapping[str, pulumi.Output[str]]) -> aws.cloudwatch.MetricAlarm:
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-{spec.key.lower()}", namespace=spec.namespace, metric_name=spec.metric,
            statistic=spec.statistic, period=spec.period_s, evaluation_periods=spec.evaluation_periods,
            threshold=spec.threshold, comparison_operator=spec.comparison, alarm_description=spec.description,
            treat_missing_data=spec.treat_missing_data,
            dimensions={key: dimensions[key] for key in spec.dimensions}, tags=self._tags, opts=self._child)

    def _acknowledge(self) -> None:
        """The plain-HTTP warning (the CDK construct's synth-time warning)."""
        if self.service_plan.protocol == "http":
            pulumi.log.warn(
                f"ContainerService {self._name!r} without certificate_arn: the load balancer listens on "
                f"plain HTTP (port 80). Pass certificate_arn (an ACM certificate) for HTTPS with an HTTP "
                f"redirect.", resource=self)

    def _create_access_logs_bucket(self) -> pulumi.Output[str]:
        """Encrypted (SSE-S3: the only kind ALB access logs support), TLS-only, versioned, private."""
        name, child, plan = self._name, self._child, self.service_plan
        bucket = aws.s3.Bucket(f"{name}-access-logs", tags=self._tags, opts=child)
        self._bucket_children += [
            aws.s3.BucketServerSideEncryptionConfiguration(
                f"{name}-access-logs-encryption", bucket=bucket.id,
                rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}], opts=child),
            aws.s3.BucketVersioning(
                f"{name}-access-logs-versioning", bucket=bucket.id,
                versioning_configuration={"status": "Enabled"}, opts=child),
            aws.s3.BucketPublicAccessBlock(
                f"{name}-access-logs-public-access", bucket=bucket.id, block_public_acls=True,
                block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True, opts=child),
            aws.s3.BucketOwnershipControls(
                f"{name}-access-logs-ownership", bucket=bucket.id,
                rule={"object_ownership": "BucketOwnerEnforced"}, opts=child),
            aws.s3.BucketLifecycleConfiguration(
                f"{name}-access-logs-lifecycle", bucket=bucket.id, rules=[{
                    "id": "expire", "status": "Enabled", "filter": {},
                    "expiration": {"days": plan.access_log_expiration_days},
                    "noncurrent_version_expiration": {"noncurrent_days": plan.noncurrent_expiration_days}}],
                opts=child),
        ]
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self))
        self._bucket_children.append(aws.s3.BucketPolicy(
            f"{name}-access-logs-policy", bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, account.account_id)
            .apply(lambda a: _access_logs_policy(a[0], a[1], plan)),
            opts=child))
        return bucket.id  # a bucket's id is its name


def _role_policy(statements: Sequence[Statement], secret_arn: str, log_group_arn: str,
                 repository_arn: str | None) -> str:
    """The plan's statements with their resources' ARNs (a log group's streams: ``<arn>:*``)."""
    resources: dict[str, Any] = {"secret": secret_arn, "log_group": [log_group_arn, f"{log_group_arn}:*"],
                                 "ecr_repository": repository_arn, "*": "*"}
    return _policy([{"Effect": "Allow", "Resource": resources[s.resource],
                     "Action": s.actions[0] if len(s.actions) == 1 else list(s.actions)} for s in statements])


def _access_logs_policy(bucket_arn: str, account_id: str, plan: ContainerServicePlan) -> str:
    """Deny non-TLS access; let ELB log delivery write under ``prefix/AWSLogs/<account>``.

    The log-delivery service principal works in every Region (ELB user guide, "Enable access
    logs"); the per-Region ELB account (``aws.elb.get_service_account``) does not exist in
    Regions opened since August 2022, where looking it up fails the whole program."""
    everything = [bucket_arn, f"{bucket_arn}/*"]
    return _policy([
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
         "Resource": everything, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "DenyOutdatedTls", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
         "Resource": everything,
         "Condition": {"NumericLessThan": {"s3:TlsVersion": plan.access_log_min_tls}}},
        {"Sid": "ElbLogDelivery", "Effect": "Allow", "Principal": {"Service": ELB_LOG_DELIVERY_PRINCIPAL},
         "Action": "s3:PutObject",
         "Resource": f"{bucket_arn}/{plan.access_log_prefix}/AWSLogs/{account_id}/*"},
    ])


def _container_definition(plan: ContainerServicePlan, *, image: str, host: str, secret_arn: str,
                          log_group: str, region: str) -> dict[str, Any]:
    environment = plan.environment(host=host, secret_arn=secret_arn)
    return {
        "name": plan.container_name,
        "image": image,
        "essential": True,
        "portMappings": [{"containerPort": plan.container_port, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        # Resolved by the ECS agent at task start; the definition holds only the ARN.
        "secrets": [{"name": env, "valueFrom": f"{secret_arn}:{key}::"} for env, key in plan.secrets],
        "stopTimeout": plan.stop_timeout_s,
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group, "awslogs-region": region,
            "awslogs-stream-prefix": plan.log_stream_prefix,
            "mode": plan.log_mode, "max-buffer-size": f"{plan.log_buffer_mib}m"}},
    }

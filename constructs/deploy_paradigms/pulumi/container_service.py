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

Steps, top to bottom: validate inputs, plan (budget core), allocate on the
ledger, create children, tune, wire security, expose attributes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ..budget import Allocation, BudgetError, ContainerPlan, plan_containers
from ..plans.checks import check_log_retention, check_non_empty
from ..plans.names import task_family
from ..plans.paas import (  # shared with the CDK twin
    CONTAINER_NAME,
    DEREGISTRATION_DELAY_S,
    HEALTH_CHECK_GRACE_S,
    HEALTH_CHECK_INTERVAL_S,
    HEALTH_CHECK_TIMEOUT_S,
    HEALTHY_THRESHOLD,
    LOG_BUFFER_MIB,
    SCALE_IN_COOLDOWN_S,
    SCALE_OUT_COOLDOWN_S,
    SSL_POLICY_NAME,
    STOP_TIMEOUT_S,
    UNHEALTHY_THRESHOLD,
    check_environment,
    check_task_settings,
    database_environment,
)
from ..runtime import settings
from .database import Database, deployment
from .shares import settled

SSL_POLICY = SSL_POLICY_NAME
ACCESS_LOG_EXPIRATION_DAYS = 90
NONCURRENT_EXPIRATION_DAYS = 30



@dataclass(frozen=True, kw_only=True)
class ContainerServiceArgs:
    """Inputs of :class:`ContainerService`. ``database`` and ``image`` are required.

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
        connections: This service's share of the database. Omitted: all the ledger has left
            (the allocation is then ``pool_size x peak tasks``, the rest stays free).
        maximum_percent / minimum_healthy_percent: Rolling-deploy bounds. Omitted: 200 and 100.
        deploy_strategy: How deploys run, for the budget: ``rolling`` (default, up to
            ``maximum_percent``) or ``blue-green``/``canary``/``linear`` (both revisions at full size
            through the bake time: 200 %). The component renders the rolling deployment; choose
            another when your pipeline runs one, so the pool is sized for its peak.
        certificate_arn: ACM certificate: HTTPS on 443 plus an HTTP->HTTPS redirect on 80.
            Omitted: plain HTTP on 80, with a warning logged at preview/up.
        cluster_arn: An existing ECS cluster. Omitted: one is created with Container Insights.
        subnet_ids: Subnets for the tasks. Omitted: the network's private subnets (NAT egress).
        load_balancer_subnet_ids: Subnets for the ALB. Omitted: the network's public subnets.
        scale_on_cpu_percent: CPU target for target tracking, 10-90. Omitted: 60. None: no CPU policy.
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
    container_port: int = 8080
    health_check_path: str = "/healthz"
    cpu: int = 256
    memory_mib: int = 512
    min_tasks: int = 1
    max_tasks: int = 4
    desired_tasks: int | None = None
    pool_size: int | None = None
    connections: int | None = None
    maximum_percent: int = 200
    minimum_healthy_percent: int = 100
    deploy_strategy: str = "rolling"
    certificate_arn: pulumi.Input[str] | None = None
    cluster_arn: pulumi.Input[str] | None = None
    subnet_ids: Sequence[pulumi.Input[str]] | None = None
    load_balancer_subnet_ids: Sequence[pulumi.Input[str]] | None = None
    scale_on_cpu_percent: int | None = 60
    scale_on_requests_per_target: int | None = None
    environment: Mapping[str, str] | None = None
    access_logs_bucket: pulumi.Input[str] | None = None
    log_retention_days: int = 30
    tags: Mapping[str, str] = field(default_factory=dict)


def _policy(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def _assume_ecs_tasks() -> str:
    return _policy([{"Effect": "Allow", "Action": "sts:AssumeRole",
                     "Principal": {"Service": "ecs-tasks.amazonaws.com"}}])


class ContainerService(pulumi.ComponentResource):
    """A load-balanced Fargate service whose pool size and scaling fit the database budget.

    Attributes (as on the CDK construct): ``plan``, ``allocation``, ``cluster`` (None when
    ``cluster_arn`` was given; ``cluster_arn`` either way), ``log_group``, ``execution_role``,
    ``execution_policy``, ``task_role``, ``task_secret_policy``, ``security_group`` (tasks),
    ``load_balancer_security_group``, ``load_balancer``, ``target_group``, ``listener`` (the one
    that forwards),
    ``redirect_listener`` (HTTPS only), ``access_logs_bucket`` (name), ``task_definition``,
    ``container`` (the container definition), ``service``, ``scaling`` (scalable target),
    ``scaling_policies``, ``protocol``, ``dns_name``, ``url``.
    """

    TYPE = "deploy-paradigms:container_service:ContainerService"

    def __init__(self, name: str, args: ContainerServiceArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        database = args.database

        # 1. Validate inputs (component-level; the budget core checks the counts).
        desired = check_task_settings(
            container_port=args.container_port, health_check_path=args.health_check_path, cpu=args.cpu,
            memory_mib=args.memory_mib, min_tasks=args.min_tasks, max_tasks=args.max_tasks,
            desired_tasks=args.desired_tasks, scale_on_cpu_percent=args.scale_on_cpu_percent,
            scale_on_requests_per_target=args.scale_on_requests_per_target)
        extra_env = check_environment(args.environment)
        check_log_retention("log_retention_days", args.log_retention_days)
        if isinstance(args.image, str):  # an Output is checked by the registry at deploy time
            check_non_empty("image", args.image,
                            example="123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.4.2")
        network = database.network
        task_subnets = list(args.subnet_ids or network.private_subnet_ids)
        lb_subnets = list(args.load_balancer_subnet_ids or network.public_subnet_ids)
        if len(task_subnets) < 1 or len(lb_subnets) < 2:
            raise BudgetError(f"ContainerService({name!r}): the network gives {len(task_subnets)} task "
                              f"subnet(s) and {len(lb_subnets)} load balancer subnet(s); an ALB needs public "
                              f"subnets in two Availability Zones (pass subnet_ids / "
                              f"load_balancer_subnet_ids)")

        # 2. Plan and book: pool x peak tasks within this service's share. connections= is booked
        #    now; a default share settles after the program body (the pool variables are Outputs).
        def plan_for(share: int, available: int) -> ContainerPlan:
            return plan_containers(
                database.limit, available, max_tasks=args.max_tasks, min_tasks=args.min_tasks,
                connections=share, pool_size=args.pool_size, maximum_percent=args.maximum_percent,
                minimum_healthy_percent=args.minimum_healthy_percent, deploy_strategy=args.deploy_strategy)

        self._booking = database.ledger.book(name, paradigm="containers", connections=args.connections,
                                             plan_for=plan_for)
        plan = self._booking.plan  # a default share's is provisional until the program settles
        planned = settled(self._booking, deployment(), lambda p: p)

        super().__init__(self.TYPE, name, {
            "poolSize": planned.apply(lambda p: p.pool_size), "minTasks": plan.min_tasks,
            "maxTasks": plan.max_tasks, "maximumPercent": plan.maximum_percent,
            "deployStrategy": plan.deploy_strategy, "connections": planned.apply(lambda p: p.connections)},
            opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        def named(resource: str) -> dict[str, str]:
            return {**tags, "Name": f"{name}-{resource}"}

        # 3. Cluster, logs, roles.
        self.cluster: aws.ecs.Cluster | None = None
        if args.cluster_arn is None:
            self.cluster = aws.ecs.Cluster(
                f"{name}-cluster", settings=[{"name": "containerInsights", "value": "enabled"}],
                tags=tags, opts=child)
            self.cluster_arn: pulumi.Output[str] = self.cluster.arn
            cluster_name: pulumi.Output[str] = self.cluster.name
        else:
            self.cluster_arn = pulumi.Output.from_input(args.cluster_arn)
            cluster_name = self.cluster_arn.apply(lambda arn: arn.rsplit("/", 1)[-1])
        # Retained on destroy, as the CDK's LogGroup (RemovalPolicy.RETAIN); auto-named, so a
        # re-created stack does not collide with it. Delete it by hand once the logs are not needed.
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", retention_in_days=args.log_retention_days, tags=tags,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True))
        self.execution_role = aws.iam.Role(
            f"{name}-execution-role", assume_role_policy=_assume_ecs_tasks(),
            description=f"{name}: ECS agent pulls the image, reads the database secret, writes logs",
            tags=tags, opts=child)
        self.execution_policy = aws.iam.RolePolicy(
            f"{name}-execution-policy", role=self.execution_role.id,
            policy=pulumi.Output.all(pulumi.Output.from_input(database.app_secret_arn), self.log_group.arn,
                                     pulumi.Output.from_input(args.ecr_repository_arn))
            .apply(lambda a: _execution_policy(a[0], a[1], a[2])),
            opts=child)
        # The app itself calls no AWS API: its role has no permissions.
        self.task_role = aws.iam.Role(
            f"{name}-task-role", assume_role_policy=_assume_ecs_tasks(),
            description=f"{name}: the app's role (reads the database secret after a rotation)", tags=tags,
            opts=child)
        # A rotated password: the app re-reads the secret when the database refuses the old one.
        self.task_secret_policy = aws.iam.RolePolicy(
            f"{name}-task-secret", role=self.task_role.id,
            policy=pulumi.Output.from_input(database.app_secret_arn).apply(lambda arn: json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                               "Resource": arn}],
            })), opts=child)

        # 4. Security groups (their rules: step 8) and the load balancer.
        self.load_balancer_security_group = aws.ec2.SecurityGroup(
            f"{name}-lb-sg", vpc_id=network.vpc_id,
            description=f"{name} load balancer: listener ports from the internet, to the tasks only",
            revoke_rules_on_delete=True, tags=named("lb-sg"), opts=child)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-tasks-sg", vpc_id=network.vpc_id,
            description=f"{name} tasks: ingress from the load balancer on the container port only",
            revoke_rules_on_delete=True, tags=named("tasks-sg"), opts=child)
        self._bucket_children: list[pulumi.Resource] = []
        if args.access_logs_bucket is None:
            self.access_logs_bucket: pulumi.Output[str] = self._create_access_logs_bucket(name, tags)
        else:
            self.access_logs_bucket = pulumi.Output.from_input(args.access_logs_bucket)
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-lb", load_balancer_type="application", internal=False,
            security_groups=[self.load_balancer_security_group.id], subnets=lb_subnets,
            drop_invalid_header_fields=True,
            access_logs={"bucket": self.access_logs_bucket, "enabled": True, "prefix": name},
            tags=tags, opts=pulumi.ResourceOptions(parent=self, depends_on=self._bucket_children))

        # 5. Target group (tuned health check and draining) and listener(s).
        self.target_group = aws.lb.TargetGroup(
            f"{name}-tg", port=args.container_port, protocol="HTTP", target_type="ip",
            vpc_id=network.vpc_id, deregistration_delay=DEREGISTRATION_DELAY_S,
            health_check={
                "enabled": True, "path": args.health_check_path, "protocol": "HTTP", "matcher": "200",
                "interval": HEALTH_CHECK_INTERVAL_S, "timeout": HEALTH_CHECK_TIMEOUT_S,
                "healthy_threshold": HEALTHY_THRESHOLD, "unhealthy_threshold": UNHEALTHY_THRESHOLD,
            },
            tags=tags, opts=child)
        forward = [aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=self.target_group.arn)]
        self.redirect_listener: aws.lb.Listener | None = None
        listener_ports: tuple[int, ...]
        if args.certificate_arn is not None:
            self.protocol = "https"
            listener_ports = (443, 80)
            self.listener = aws.lb.Listener(
                f"{name}-https", load_balancer_arn=self.load_balancer.arn, port=443, protocol="HTTPS",
                certificate_arn=args.certificate_arn, ssl_policy=SSL_POLICY, default_actions=forward,
                tags=tags, opts=child)
            self.redirect_listener = aws.lb.Listener(
                f"{name}-http", load_balancer_arn=self.load_balancer.arn, port=80, protocol="HTTP",
                default_actions=[aws.lb.ListenerDefaultActionArgs(
                    type="redirect", redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        port="443", protocol="HTTPS", status_code="HTTP_301"))],
                tags=tags, opts=child)
        else:
            self.protocol = "http"
            listener_ports = (80,)
            self.listener = aws.lb.Listener(
                f"{name}-http", load_balancer_arn=self.load_balancer.arn, port=80, protocol="HTTP",
                default_actions=forward, tags=tags, opts=child)
            pulumi.log.warn(
                f"ContainerService {name!r} without certificate_arn: the load balancer listens on plain "
                f"HTTP (port 80). Pass certificate_arn (an ACM certificate) for HTTPS with an HTTP "
                f"redirect.", resource=self)

        # 6. Task definition (secrets from Secrets Manager, never values) and service.
        environment = pulumi.Output.all(
            pulumi.Output.from_input(database.endpoint_address),
            pulumi.Output.from_input(database.app_secret_arn), planned,
        ).apply(lambda a: {**extra_env, **database_environment(
            host=a[0], port=database.port, name=database.database_name,
            engine_is_postgres=database.engine.is_postgres, plan=a[2],
            container_port=args.container_port, secret_arn=a[1])})
        self.container: pulumi.Output[dict[str, Any]] = pulumi.Output.all(
            pulumi.Output.from_input(args.image), environment,
            pulumi.Output.from_input(database.app_secret_arn), self.log_group.name,
            aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region,
        ).apply(lambda a: _container_definition(
            image=a[0], environment=a[1], secret_arn=a[2], log_group=a[3], region=a[4],
            container_port=args.container_port, stream_prefix=name))
        self.task_definition = aws.ecs.TaskDefinition(
            # Unique per project and stack (aws-cdk's is per stack and path): two stacks registering
            # revisions of one family would run each other's task definitions.
            f"{name}-task", family=task_family(pulumi.get_project(), pulumi.get_stack(), name),
            cpu=str(args.cpu), memory=str(args.memory_mib),
            network_mode="awsvpc", requires_compatibilities=["FARGATE"],
            runtime_platform={"operating_system_family": "LINUX", "cpu_architecture": "X86_64"},
            execution_role_arn=self.execution_role.arn, task_role_arn=self.task_role.arn,
            container_definitions=self.container.apply(lambda c: json.dumps([c], sort_keys=True)),
            tags=tags, opts=child)
        listeners = [self.listener] + ([self.redirect_listener] if self.redirect_listener else [])
        self.service = aws.ecs.Service(
            f"{name}-service", cluster=self.cluster_arn, task_definition=self.task_definition.arn,
            launch_type="FARGATE", desired_count=desired,
            deployment_maximum_percent=plan.maximum_percent,
            deployment_minimum_healthy_percent=plan.minimum_healthy_percent,
            deployment_circuit_breaker={"enable": True, "rollback": True},
            health_check_grace_period_seconds=HEALTH_CHECK_GRACE_S,
            network_configuration={"subnets": task_subnets, "security_groups": [self.security_group.id],
                                   "assign_public_ip": False},
            load_balancers=[{"target_group_arn": self.target_group.arn, "container_name": CONTAINER_NAME,
                             "container_port": args.container_port}],
            propagate_tags="SERVICE", enable_ecs_managed_tags=True, tags=tags,
            # ECS needs the target group attached to a listener first; autoscaling owns the count.
            opts=pulumi.ResourceOptions(parent=self, depends_on=listeners, ignore_changes=["desiredCount"]))

        # 7. Autoscaling, capped at what the budget allows.
        self.scaling = aws.appautoscaling.Target(
            f"{name}-scaling", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", cluster_name, "/", self.service.name),
            min_capacity=plan.min_tasks, max_capacity=plan.max_tasks, tags=tags, opts=child)
        self.scaling_policies: list[aws.appautoscaling.Policy] = []
        metrics = {"cpu": (args.scale_on_cpu_percent, aws.appautoscaling.
                           PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                               predefined_metric_type="ECSServiceAverageCPUUtilization")),
                   "requests": (args.scale_on_requests_per_target, aws.appautoscaling.
                                PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                                    predefined_metric_type="ALBRequestCountPerTarget",
                                    resource_label=pulumi.Output.concat(
                                        self.load_balancer.arn_suffix, "/", self.target_group.arn_suffix)))}
        for metric, (target, specification) in metrics.items():
            if target is None:
                continue
            self.scaling_policies.append(aws.appautoscaling.Policy(
                f"{name}-{metric}", policy_type="TargetTrackingScaling", resource_id=self.scaling.resource_id,
                scalable_dimension=self.scaling.scalable_dimension,
                service_namespace=self.scaling.service_namespace,
                target_tracking_scaling_policy_configuration=aws.appautoscaling.
                PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    target_value=target, predefined_metric_specification=specification,
                    scale_in_cooldown=SCALE_IN_COOLDOWN_S, scale_out_cooldown=SCALE_OUT_COOLDOWN_S),
                opts=child))

        # 8. Security: internet -> ALB on the listener port(s); ALB -> tasks on the container
        # port; tasks -> database on its port; tasks -> HTTPS for AWS APIs (ECR, Secrets
        # Manager, CloudWatch Logs through the NAT gateway). Nothing else.
        lb_sg, tasks_sg = self.load_balancer_security_group.id, self.security_group.id
        for port in listener_ports:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-lb-from-internet-{port}", security_group_id=lb_sg, cidr_ipv4="0.0.0.0/0",
                ip_protocol="tcp", from_port=port, to_port=port,
                description=f"internet to the load balancer on port {port}", opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-lb-to-tasks", security_group_id=lb_sg, referenced_security_group_id=tasks_sg,
            ip_protocol="tcp", from_port=args.container_port, to_port=args.container_port,
            description="load balancer to the tasks", opts=child)
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-tasks-from-lb", security_group_id=tasks_sg, referenced_security_group_id=lb_sg,
            ip_protocol="tcp", from_port=args.container_port, to_port=args.container_port,
            description="load balancer to the tasks", opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-tasks-to-database", security_group_id=tasks_sg,
            referenced_security_group_id=database.security_group_id, ip_protocol="tcp",
            from_port=database.port, to_port=database.port, description="tasks to the database", opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-tasks-to-https", security_group_id=tasks_sg, cidr_ipv4="0.0.0.0/0", ip_protocol="tcp",
            from_port=443, to_port=443,
            description="HTTPS to AWS APIs: ECR, Secrets Manager, CloudWatch Logs", opts=child)
        database.allow_from(name, tasks_sg)

        # 9. Attributes.
        self.dns_name: pulumi.Output[str] = self.load_balancer.dns_name
        self.url: pulumi.Output[str] = pulumi.Output.concat(f"{self.protocol}://", self.dns_name)
        self.register_outputs({
            "url": self.url,
            "dnsName": self.dns_name,
            "serviceName": self.service.name,
            "clusterArn": self.cluster_arn,
            "logGroupName": self.log_group.name,
            "poolSize": planned.apply(lambda p: p.pool_size),
            "maxTasks": plan.max_tasks,
        })

    @property
    def plan(self) -> ContainerPlan:
        """The plan; a default share's is provisional until the program's ledgers settle (after the
        program body, or ``deployment().settle()``): the plan if no further consumer joined."""
        return self._booking.plan

    @property
    def allocation(self) -> Allocation:
        """This service's allocation on the ledger (provisional like :attr:`plan`)."""
        return self._booking.allocation

    def _create_access_logs_bucket(self, name: str, tags: Mapping[str, str]) -> pulumi.Output[str]:
        """Encrypted (SSE-S3: the only kind ALB access logs support), TLS-only, versioned, private."""
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(f"{name}-access-logs", tags=dict(tags), opts=child)
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
                    "expiration": {"days": ACCESS_LOG_EXPIRATION_DAYS},
                    "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_EXPIRATION_DAYS}}],
                opts=child),
        ]
        elb_account = aws.elb.get_service_account_output(opts=pulumi.InvokeOptions(parent=self))
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self))
        self._bucket_children.append(aws.s3.BucketPolicy(
            f"{name}-access-logs-policy", bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, elb_account.arn, account.account_id)
            .apply(lambda a: _access_logs_policy(a[0], a[1], a[2], name)),
            opts=child))
        return bucket.id  # a bucket's id is its name


def _execution_policy(secret_arn: str, log_group_arn: str, repository_arn: str | None) -> str:
    statements: list[dict[str, Any]] = [
        # Only the database's secret: ECS resolves DATABASE_USER / DATABASE_PASSWORD from it.
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [log_group_arn, f"{log_group_arn}:*"]},
    ]
    if repository_arn:
        statements += [
            {"Effect": "Allow", "Resource": repository_arn, "Action": [
                "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]},
            # No resource-level permissions for this one (ECR user guide, "Private registry
            # authentication").
            {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        ]
    return _policy(statements)


def _access_logs_policy(bucket_arn: str, elb_account_arn: str | None, account_id: str, prefix: str) -> str:
    """Deny non-TLS access; let the region's ELB log delivery write under ``prefix/AWSLogs/<account>``."""
    objects = f"{bucket_arn}/{prefix}/AWSLogs/{account_id}/*"
    statements: list[dict[str, Any]] = [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
         "Resource": [bucket_arn, f"{bucket_arn}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        # ELB user guide, "Enable access logs": the log-delivery service principal in Regions
        # opened since August 2022, the Region's ELB account (aws.elb.get_service_account) before.
        {"Sid": "ElbLogDelivery", "Effect": "Allow",
         "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": objects},
    ]
    if elb_account_arn:
        statements.append({"Sid": "ElbAccount", "Effect": "Allow", "Principal": {"AWS": elb_account_arn},
                           "Action": "s3:PutObject", "Resource": objects})
    return _policy(statements)


def _container_definition(*, image: str, environment: Mapping[str, str], secret_arn: str, log_group: str,
                          region: str, container_port: int, stream_prefix: str) -> dict[str, Any]:
    return {
        "name": CONTAINER_NAME,
        "image": image,
        "essential": True,
        "portMappings": [{"containerPort": container_port, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        # Resolved by the ECS agent at task start; the definition holds only the ARN.
        "secrets": [
            {"name": settings.USER, "valueFrom": f"{secret_arn}:username::"},
            {"name": settings.PASSWORD_FROM_ECS_SECRET, "valueFrom": f"{secret_arn}:password::"},
        ],
        "stopTimeout": STOP_TIMEOUT_S,
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": stream_prefix,
            "mode": "non-blocking", "max-buffer-size": f"{LOG_BUFFER_MIB}m"}},
    }

"""``ContainerService``: long-running Fargate tasks behind an ALB whose pools fit the database.

The PaaS paradigm: a process per task keeps a connection pool open and serves
many requests. Each task may open ``pool_size`` connections, autoscaling may
run ``max_tasks`` tasks, and a rolling deploy at that scale runs up to
``maximum_percent`` of them at once, so the service is sized so that::

    pool_size x ceil(max_tasks x maximum_percent / 100) <= its allocation

on the :class:`~deploy_paradigms.cdk.database.Database` ledger. Neither a
traffic spike nor a deploy can exhaust the database; inputs that would are
refused at synth with the numbers and the ways out.

Example::

    db = Database(self, "Database", vpc=vpc, instance_class="db.m5.large")
    web = ContainerService(self, "Web", database=db,
                           image=ecs.ContainerImage.from_asset("app/"),
                           max_tasks=6, certificate=my_certificate)
    web.plan.pool_size        # 64: connection_limit each task's pool gets

Built on ``aws_ecs_patterns.ApplicationLoadBalancedFargateService`` (child id
``Resource``): it creates the ALB, listener(s), target group, task definition
and service; this construct sizes, tunes and secures them.

Every decision (defaults, checks, sizes, tuning, rules, alarms) is made by
:func:`deploy_paradigms.plans.paas.plan_container_service`; this module only renders
it, in named steps: ``_book_connections`` (plan and ledger), ``_create_cluster``,
``_create_logs``, ``_create_security_groups``, ``_create_access_logs``, ``_create_service``,
``_tune_service``, ``_create_scaling``, ``_wire_security``, ``_create_alarms``, ``_acknowledge``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..budget import Allocation, ContainerPlan, InputError
from ..budget.ledger import Booking
from ..plans.paas import (  # every decision; this module renders them
    CPU_METRIC,
    AlarmSpec,
    ContainerServiceOptions,
    ContainerServicePlan,
    ServiceContext,
    plan_container_service,
)
from .database import Database
from .security_groups import exact_egress

# TLS 1.3 and 1.2 with post-quantum key exchange: the plan's SSL_POLICY_NAME as aws-cdk-lib's enum
# (tests/test_parity_paas.py reads the policy back from the template).
SSL_POLICY = elbv2.SslPolicy.TLS13_12_PQ


class ContainerService(Construct):
    """A load-balanced Fargate service whose pool size and scaling fit the database budget.

    Production defaults: deployment circuit breaker with rollback; health check
    every 5 s, healthy after 2 (fast-starting app); deregistration delay 30 s;
    SIGTERM then 20 s before SIGKILL; logs to a dedicated CloudWatch log group
    with retention (non-blocking awslogs); Container Insights on the cluster it
    creates; ALB access logs to an encrypted, TLS-only, versioned bucket;
    credentials only through ECS secrets from the database's Secrets Manager
    secret; security groups ALB -> tasks on ``container_port`` and tasks ->
    database on its port only (tasks may also reach HTTPS for AWS APIs); alarms
    on unhealthy targets and on the app's 5xx answers (no actions: add your own).

    :param database: the :class:`Database` to connect to; this service allocates on its ledger.
    :param image: the container image (``ecs.ContainerImage.from_asset(...)``, ``from_ecr_repository``...).
    :param container_port: port the app listens on (also passed as ``PORT``). Omitted: 8080.
    :param health_check_path: path the ALB checks. Omitted: ``/healthz`` (should not query the database).
    :param cpu: Fargate task CPU units. Omitted: 256 (0.25 vCPU).
    :param memory_mib: task memory valid for ``cpu``. Omitted: 512.
    :param min_tasks: autoscaling minimum, at least 1. Omitted: 1.
    :param max_tasks: autoscaling maximum; the budget must fit ``max_tasks x maximum_percent``. Omitted: 4.
    :param desired_tasks: tasks at deploy time, written into the template (every stack update then
        resets the service to it). Omitted: no ``DesiredCount`` in the template; the service starts
        with one task and autoscaling brings it to ``min_tasks`` and keeps its count across updates.
    :param pool_size: connections per task (``connection_limit``). Omitted: the largest that fits
        the allocation; given, checked against it.
    :param connections: this service's share of the database's connections. Omitted: the ledger's
        default share (the allocation is then ``pool_size x peak tasks``, the rest stays free).
    :param maximum_percent: rolling-deploy ceiling in % of the desired count, 100-200. Omitted: 200.
    :param minimum_healthy_percent: rolling-deploy floor in %. Omitted: 100.
    :param deploy_strategy: how deploys of this service run, for the budget: ``rolling`` (omitted:
        up to ``maximum_percent``), or ``blue-green``/``canary``/``linear`` (both revisions at full
        size through the bake time: 200 %). The construct renders the rolling deployment; choose
        another when your pipeline runs one, so the pool is sized for its peak.
    :param certificate: ACM certificate: HTTPS listener on 443 and HTTP->HTTPS redirect. Omitted:
        plain HTTP on port 80 and a synth-time warning (``deploy-paradigms:plainHttp``).
    :param cluster: an existing ECS cluster (in the database's VPC). Omitted: one is created with
        Container Insights.
    :param vpc_subnets: where tasks run. Omitted: the private subnets with egress (NAT for image pulls).
    :param scale_on_cpu_percent: CPU target-tracking target, 10-90, or 0 for no CPU policy. Omitted: 60.
    :param scale_on_requests_per_target: ALB requests per task per minute to track. Omitted: none.
    :param environment: extra non-secret environment variables; secret-looking names are refused.
        Omitted: only the ``DATABASE_*`` variables and ``PORT`` the construct sets.
    :param access_logs_bucket: bucket for ALB access logs (SSE-S3, as ALB requires). Omitted: one is created.
    :param log_retention: retention of the container log group. Omitted: one month.

    Attributes: ``plan`` (the budget's :class:`ContainerPlan`), ``service_plan`` (every decision,
    :class:`ContainerServicePlan`), ``allocation``, ``database``, ``cluster``, ``log_group``,
    ``security_group``, ``service`` (the pattern), ``load_balancer``, ``target_group``,
    ``task_definition``, ``container``, ``scaling``, ``access_logs_bucket``, ``alarms``,
    ``protocol``, ``dns_name``, ``url``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        database: Database,
        image: ecs.ContainerImage,
        container_port: int | None = None,
        health_check_path: str | None = None,
        cpu: int | None = None,
        memory_mib: int | None = None,
        min_tasks: int | None = None,
        max_tasks: int | None = None,
        desired_tasks: int | None = None,
        pool_size: int | None = None,
        connections: int | None = None,
        maximum_percent: int | None = None,
        minimum_healthy_percent: int | None = None,
        deploy_strategy: str | None = None,
        certificate: acm.ICertificate | None = None,
        cluster: ecs.ICluster | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        scale_on_cpu_percent: int | None = None,
        scale_on_requests_per_target: int | None = None,
        environment: Mapping[str, str] | None = None,
        access_logs_bucket: s3.IBucket | None = None,
        log_retention: logs.RetentionDays | None = None,
    ) -> None:
        super().__init__(scope, id)
        exact_egress(self)  # no default allow-all egress beside the explicit rules
        self.database = database
        options = ContainerServiceOptions(
            container_port=container_port, health_check_path=health_check_path, cpu=cpu,
            memory_mib=memory_mib, min_tasks=min_tasks, max_tasks=max_tasks, desired_tasks=desired_tasks,
            pool_size=pool_size, connections=connections, maximum_percent=maximum_percent,
            minimum_healthy_percent=minimum_healthy_percent, deploy_strategy=deploy_strategy,
            scale_on_cpu_percent=scale_on_cpu_percent,
            scale_on_requests_per_target=scale_on_requests_per_target,
            environment=environment, log_retention_days=retention_days(log_retention))
        self._booking = self._book_connections(
            options, https=certificate is not None,
            # aws-cdk grants the execution role the pull from these images' ECR repository.
            private_ecr=isinstance(image, ecs.EcrImage | ecs.AssetImage))
        self._rendered: ContainerServicePlan = self.service_plan
        self._create_cluster(cluster)
        self._create_logs()
        self._create_security_groups()
        self._create_access_logs(access_logs_bucket)
        self._create_service(image, certificate, vpc_subnets)
        self._tune_service()
        self._create_scaling()
        self._wire_security()
        self.alarms: dict[str, cloudwatch.Alarm] = self._create_alarms()
        self._acknowledge()
        self.protocol = self.service_plan.protocol
        self.dns_name: str = self.load_balancer.load_balancer_dns_name
        self.url: str = f"{self.protocol}://{self.dns_name}"
        self._booking.when_settled(self._settle_share)  # now for connections=, before synth otherwise

    def _book_connections(self, options: ContainerServiceOptions, *, https: bool,
                          private_ecr: bool) -> Booking[ContainerServicePlan]:
        """Plan from this service's share and book it: ``connections=`` now; a default share when
        the app's ledgers settle, before synth (then :meth:`_settle_share` updates the pool)."""
        context = ServiceContext(name=self.node.id, database_port=self.database.port,
                                 database_name=self.database.database_name, https=https,
                                 private_ecr=private_ecr)

        def plan_for(share: int, available: int) -> ContainerServicePlan:
            return plan_container_service(self.database.limit, available, options, context, share=share)

        return self.database.ledger.book(self.node.path, paradigm="containers",
                                         connections=options.connections, plan_for=plan_for,
                                         budget_of=lambda plan: plan.budget)

    @property
    def service_plan(self) -> ContainerServicePlan:
        """Every decision; a default share's is provisional until the app's ledgers settle (before
        synth, or ``deployment_of(app).settle()``): the plan if no further consumer joined."""
        return self._booking.plan

    @property
    def plan(self) -> ContainerPlan:
        """The connection plan (``service_plan.budget``)."""
        return self.service_plan.budget

    @property
    def allocation(self) -> Allocation:
        """This service's allocation on the ledger (provisional like :attr:`plan`)."""
        return self._booking.allocation

    def _settle_share(self, plan: ContainerServicePlan) -> None:
        """The final plan: the pool variables rendered from the provisional plan, up to date."""
        if plan != self._rendered:
            self._rendered = plan
            for key, value in plan.environment(host=self.database.endpoint_address,
                                               secret_arn=self.database.app_secret.secret_arn).items():
                self.container.add_environment(key, value)

    def _create_cluster(self, cluster: ecs.ICluster | None) -> None:
        self.cluster: ecs.ICluster = cluster or ecs.Cluster(
            self, "Cluster", vpc=self.database.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)

    def _create_logs(self) -> None:
        self.log_group = logs.LogGroup(
            self, "LogGroup", retention=RETENTION[self.service_plan.log_retention_days])

    def _create_security_groups(self) -> None:
        # The pattern creates the load balancer's group with the listener rules. Tasks get their
        # own group with no default egress: only the plan's rules (_wire_security).
        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=self.database.vpc, allow_all_outbound=False,
            description="Tasks: ingress from the load balancer on the container port only")

    def _create_service(self, image: ecs.ContainerImage, certificate: acm.ICertificate | None,
                        vpc_subnets: ec2.SubnetSelection | None) -> None:
        """ALB, listener(s), target group, task definition and Fargate service (the pattern)."""
        plan, database = self.service_plan, self.database
        https = next((li for li in plan.listeners if li.protocol == "HTTPS"), None)
        self.service = ecs_patterns.ApplicationLoadBalancedFargateService(
            self, "Resource", cluster=self.cluster, cpu=plan.cpu, memory_limit_mib=plan.memory_mib,
            desired_count=plan.initial_tasks, min_healthy_percent=plan.minimum_healthy_percent,
            max_healthy_percent=plan.maximum_percent,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=plan.circuit_breaker_rollback),
            health_check_grace_period=cdk.Duration.seconds(plan.health_check.grace_s),
            security_groups=[self.security_group],
            task_subnets=vpc_subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            certificate=certificate, ssl_policy=SSL_POLICY if https else None,
            redirect_http=https is not None,
            propagate_tags=ecs.PropagatedTagSource.SERVICE, enable_ecs_managed_tags=True,
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=image, container_port=plan.container_port,
                environment=plan.environment(host=database.endpoint_address,
                                             secret_arn=database.app_secret.secret_arn),
                # Resolved by the ECS agent at task start; the template holds only the ARN.
                secrets={env: ecs.Secret.from_secrets_manager(database.app_secret, field)
                         for env, field in plan.secrets},
                log_driver=ecs.LogDrivers.aws_logs(
                    stream_prefix=plan.log_stream_prefix, log_group=self.log_group,
                    mode=ecs.AwsLogDriverMode.NON_BLOCKING,
                    max_buffer_size=cdk.Size.mebibytes(plan.log_buffer_mib))))
        self.load_balancer: elbv2.ApplicationLoadBalancer = self.service.load_balancer
        self.target_group: elbv2.ApplicationTargetGroup = self.service.target_group
        self.task_definition: ecs.FargateTaskDefinition = self.service.task_definition
        container = self.task_definition.default_container
        if container is None:  # pragma: no cover - the pattern always adds one
            raise RuntimeError("ApplicationLoadBalancedFargateService created no container")
        self.container: ecs.ContainerDefinition = container

    def _tune_service(self) -> None:
        """What the pattern has no props for: health check, draining, load-balancer attributes and
        access logs, graceful stop, and the count left to autoscaling."""
        plan, check = self.service_plan, self.service_plan.health_check
        self.target_group.configure_health_check(
            path=check.path, healthy_http_codes=check.matcher,
            interval=cdk.Duration.seconds(check.interval_s),
            timeout=cdk.Duration.seconds(check.timeout_s), healthy_threshold_count=check.healthy_threshold,
            unhealthy_threshold_count=check.unhealthy_threshold)
        for key, value in plan.target_group_attributes.items():
            self.target_group.set_attribute(key, value)
        self.load_balancer.log_access_logs(self.access_logs_bucket, prefix=plan.access_log_prefix)
        for key, value in plan.load_balancer_attributes.items():
            self.load_balancer.set_attribute(key, value)
        # ContainerDefinition has no stopTimeout setter and the pattern no prop for it.
        task_resource = self.task_definition.node.default_child
        if isinstance(task_resource, ecs.CfnTaskDefinition):
            task_resource.add_property_override("ContainerDefinitions.0.StopTimeout", plan.stop_timeout_s)
        if plan.desired_tasks is None:
            # Autoscaling owns the count: a DesiredCount in the template would reset the service
            # to it on every stack update, under load (aws-cdk issue 3919). Without it ECS starts
            # a new service with one task, and registering the scalable target moves the count
            # into [min_tasks, max_tasks] (RegisterScalableTarget), so the first deploy still works.
            service_resource = self.service.service.node.default_child
            if isinstance(service_resource, ecs.CfnService):
                service_resource.add_property_deletion_override("DesiredCount")

    def _create_scaling(self) -> None:
        """Autoscaling capped at what the budget allows, with the plan's target-tracking policies."""
        plan = self.service_plan
        self.scaling: ecs.ScalableTaskCount = self.service.service.auto_scale_task_count(
            min_capacity=plan.min_tasks, max_capacity=plan.max_tasks)
        for policy in plan.scaling_policies:
            scale_in = cdk.Duration.seconds(policy.scale_in_cooldown_s)
            scale_out = cdk.Duration.seconds(policy.scale_out_cooldown_s)
            if policy.metric == CPU_METRIC:
                self.scaling.scale_on_cpu_utilization(
                    policy.key, target_utilization_percent=policy.target, scale_in_cooldown=scale_in,
                    scale_out_cooldown=scale_out)
            else:
                self.scaling.scale_on_request_count(
                    policy.key, requests_per_target=policy.target, target_group=self.target_group,
                    scale_in_cooldown=scale_in, scale_out_cooldown=scale_out)

    def _wire_security(self) -> None:
        """The plan's rules the pattern does not open (it opens internet -> ALB -> tasks): the
        database's (``allow_from`` adds both ends), HTTPS out; and the secret for the app, which
        re-reads it when the database refuses a rotated password."""
        for rule in self.service_plan.security_rules:
            if rule.group == "database":
                self.database.allow_from(self.security_group, f"{self.node.path}: {rule.description}")
            elif (rule.group, rule.direction) == ("tasks", "egress") and rule.peer != "database":
                self.security_group.add_egress_rule(ec2.Peer.ipv4(rule.peer), ec2.Port.tcp(rule.port),
                                                    rule.description)
        self.database.app_secret.grant_read(self.task_definition.task_role)

    def _create_access_logs(self, bucket: s3.IBucket | None) -> None:
        """The bucket; ``_tune_service`` points the load balancer at it (the pattern creates it)."""
        self.access_logs_bucket: s3.IBucket = bucket or self._create_access_logs_bucket()

    def _create_access_logs_bucket(self) -> s3.Bucket:
        plan = self.service_plan
        bucket = s3.Bucket(
            self, "AccessLogs",
            # ALB access logs support only SSE-S3 (Elastic Load Balancing user guide,
            # "Access logs for your Application Load Balancer").
            encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
            minimum_tls_version=plan.access_log_min_tls,
            versioned=True, block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(
                expiration=cdk.Duration.days(plan.access_log_expiration_days),
                noncurrent_version_expiration=cdk.Duration.days(plan.noncurrent_expiration_days))])
        cdk.Validations.of(bucket).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-S1",
            reason="This bucket only receives ALB access logs written by the log delivery service; "
                   "server access logs of it would need another bucket that itself needs logging. "
                   "Reads can be audited with CloudTrail data events."))
        return bucket

    def _create_alarms(self) -> dict[str, cloudwatch.Alarm]:
        """The plan's alarms on the load balancer's metrics for this service's target group."""
        dimensions = {"LoadBalancer": self.load_balancer.load_balancer_full_name,
                      "TargetGroup": self.target_group.target_group_full_name}
        return {spec.key: self._alarm(spec, dimensions) for spec in self.service_plan.alarms}

    def _alarm(self, spec: AlarmSpec, dimensions: Mapping[str, str]) -> cloudwatch.Alarm:
        metric = cloudwatch.Metric(
            namespace=spec.namespace, metric_name=spec.metric, statistic=spec.statistic,
            period=cdk.Duration.seconds(spec.period_s),
            dimensions_map={key: dimensions[key] for key in spec.dimensions})
        return cloudwatch.Alarm(
            self, f"{spec.key}Alarm", metric=metric, threshold=spec.threshold,
            evaluation_periods=spec.evaluation_periods, alarm_description=spec.description,
            comparison_operator=cloudwatch.ComparisonOperator[_enum_name(spec.comparison)],
            treat_missing_data=cloudwatch.TreatMissingData[_enum_name(spec.treat_missing_data)])

    def _acknowledge(self) -> None:
        """The plain-HTTP warning, and cdk-nag findings this design accepts on purpose."""
        if self.service_plan.protocol == "http":
            cdk.Annotations.of(self).add_warning_v2(
                "deploy-paradigms:plainHttp",
                "ContainerService without a certificate: the load balancer listens on plain HTTP "
                "(port 80). Pass certificate= (an ACM certificate) for HTTPS with an HTTP redirect.")
        for group in self.load_balancer.connections.security_groups:
            cdk.Validations.of(group).acknowledge(cdk.Acknowledgment(
                id="AwsSolutions-EC23",
                reason="Internet-facing load balancer: its listener port(s) are open to the internet by "
                       "design; the tasks behind it accept only the load balancer's security group."))
        cdk.Validations.of(self.task_definition).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-ECS2",
            reason="Only non-secret settings are plain environment variables (database host, port, name, "
                   "URL parameters, PORT); user and password come from Secrets Manager as ECS secrets, "
                   "and secret-looking names are refused at synth."))


#: CloudWatch Logs retention periods as aws-cdk-lib's enum, by days (the plan decides in days).
RETENTION: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY, 3: logs.RetentionDays.THREE_DAYS, 5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK, 14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS, 90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS, 150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS, 365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS, 545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS, 1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS, 2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS, 2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS, 3653: logs.RetentionDays.TEN_YEARS,
}


def retention_days(retention: logs.RetentionDays | None) -> int | None:
    """Days for an aws-cdk-lib retention (None stays None: the plan's default); ``INFINITE`` is refused."""
    if retention is None:
        return None
    days = {value: key for key, value in RETENTION.items()}.get(retention)
    if days is None:
        raise InputError(f"log_retention={retention!r} keeps logs forever; pick a retention period "
                         f"(RetentionDays.ONE_MONTH ... TEN_YEARS), as CloudWatch Logs bills stored logs")
    return days


def _enum_name(cloudformation_value: str) -> str:
    """``GreaterThanOrEqualToThreshold`` -> ``GREATER_THAN_OR_EQUAL_TO_THRESHOLD`` (aws-cdk-lib's names)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cloudformation_value).upper()

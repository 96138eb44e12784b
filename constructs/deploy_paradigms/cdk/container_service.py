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

Steps, top to bottom: validate inputs, plan (budget core), allocate on the
ledger, create children, tune, wire security, expose attributes.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..budget import Allocation, ContainerPlan, plan_containers
from ..plans.paas import (  # shared with the Pulumi twin
    DEREGISTRATION_DELAY_S,
    HEALTH_CHECK_GRACE_S,
    HEALTH_CHECK_INTERVAL_S,
    HEALTH_CHECK_TIMEOUT_S,
    HEALTHY_THRESHOLD,
    LOG_BUFFER_MIB,
    SCALE_IN_COOLDOWN_S,
    SCALE_OUT_COOLDOWN_S,
    STOP_TIMEOUT_S,
    UNHEALTHY_THRESHOLD,
    check_environment,
    check_task_settings,
    database_environment,
)
from ..runtime import settings
from .database import Database
from .security_groups import exact_egress

# TLS 1.3 and 1.2 with post-quantum key exchange (ELB user guide, "Security policies
# for your Application Load Balancer"); the Pulumi component names the same policy.
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
    database on its port only (tasks may also reach HTTPS for AWS APIs).

    :param database: the :class:`Database` to connect to; this service allocates on its ledger.
    :param image: the container image (``ecs.ContainerImage.from_asset(...)``, ``from_ecr_repository``...).
    :param container_port: port the app listens on (also passed as ``PORT``); default 8080.
    :param health_check_path: path the ALB checks; default ``/healthz`` (should not query the database).
    :param cpu: Fargate task CPU units; default 256 (0.25 vCPU).
    :param memory_mib: task memory valid for ``cpu``; default 512.
    :param min_tasks: autoscaling minimum, at least 1; default 1.
    :param max_tasks: autoscaling maximum; the budget must fit ``max_tasks x maximum_percent``; default 4.
    :param desired_tasks: tasks at deploy time, written into the template (every stack update then
        resets the service to it). Omitted: no ``DesiredCount`` in the template; the service starts
        with one task and autoscaling brings it to ``min_tasks`` and keeps its count across updates.
    :param pool_size: connections per task (``connection_limit``); omitted, the largest that fits
        the allocation; given, checked against it.
    :param connections: this service's share of the database's connections; omitted, all that the
        ledger has left (the allocation is then ``pool_size x peak tasks``, the rest stays free).
    :param maximum_percent: rolling-deploy ceiling in % of the desired count, 100-200; default 200.
    :param minimum_healthy_percent: rolling-deploy floor in %; default 100.
    :param deploy_strategy: how deploys of this service run, for the budget: ``rolling`` (default,
        up to ``maximum_percent``), or ``blue-green``/``canary``/``linear`` (both revisions at full
        size through the bake time: 200 %). The construct renders the rolling deployment; choose
        another when your pipeline runs one, so the pool is sized for its peak.
    :param certificate: ACM certificate: HTTPS listener on 443 and HTTP->HTTPS redirect. Omitted:
        plain HTTP on port 80 and a synth-time warning (``deploy-paradigms:plainHttp``).
    :param cluster: an existing ECS cluster (in the database's VPC); omitted, one is created with
        Container Insights.
    :param vpc_subnets: where tasks run; omitted, the private subnets with egress (NAT for image pulls).
    :param scale_on_cpu_percent: CPU target-tracking target, 10-90; default 60; None: no CPU policy.
    :param scale_on_requests_per_target: ALB requests per task per minute to track; omitted, none.
    :param environment: extra non-secret environment variables; secret-looking names are refused.
        Omitted: only the ``DATABASE_*`` variables and ``PORT`` the construct sets.
    :param access_logs_bucket: bucket for ALB access logs (SSE-S3, as ALB requires); omitted, one is created.
    :param log_retention: retention of the container log group; default one month.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        database: Database,
        image: ecs.ContainerImage,
        container_port: int = 8080,
        health_check_path: str = "/healthz",
        cpu: int = 256,
        memory_mib: int = 512,
        min_tasks: int = 1,
        max_tasks: int = 4,
        desired_tasks: int | None = None,
        pool_size: int | None = None,
        connections: int | None = None,
        maximum_percent: int = 200,
        minimum_healthy_percent: int = 100,
        deploy_strategy: str = "rolling",
        certificate: acm.ICertificate | None = None,
        cluster: ecs.ICluster | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        scale_on_cpu_percent: int | None = 60,
        scale_on_requests_per_target: int | None = None,
        environment: Mapping[str, str] | None = None,
        access_logs_bucket: s3.IBucket | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, id)
        exact_egress(self)  # no default allow-all egress beside the explicit rules

        # 1. Validate inputs (construct-level; the budget core checks the counts).
        desired = check_task_settings(
            container_port=container_port, health_check_path=health_check_path, cpu=cpu,
            memory_mib=memory_mib, min_tasks=min_tasks, max_tasks=max_tasks, desired_tasks=desired_tasks,
            scale_on_cpu_percent=scale_on_cpu_percent,
            scale_on_requests_per_target=scale_on_requests_per_target)
        extra_env = check_environment(environment)

        # 2. Plan and book: pool x peak tasks within this service's share. connections= is
        #    booked now; a default share settles before synth (_settle_share updates the pool).
        def plan_for(share: int, available: int) -> ContainerPlan:
            return plan_containers(
                database.limit, available, max_tasks=max_tasks, min_tasks=min_tasks, connections=share,
                pool_size=pool_size, maximum_percent=maximum_percent,
                minimum_healthy_percent=minimum_healthy_percent, deploy_strategy=deploy_strategy)

        self._booking = database.ledger.book(self.node.path, paradigm="containers", connections=connections,
                                             plan_for=plan_for)
        self.database = database
        self._container_port = container_port
        self._rendered: ContainerPlan = self.plan

        # 3. Children the pattern does not create the way we want.
        self.cluster: ecs.ICluster = cluster or ecs.Cluster(
            self, "Cluster", vpc=database.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
        self.log_group = logs.LogGroup(self, "LogGroup", retention=log_retention)
        # Tasks get their own group with no default egress: only what is added below.
        self.security_group = ec2.SecurityGroup(
            self, "SecurityGroup", vpc=database.vpc, allow_all_outbound=False,
            description="Tasks: ingress from the load balancer on the container port only")

        # 4. The service: ALB, listener(s), target group, task definition, Fargate service.
        self.service = ecs_patterns.ApplicationLoadBalancedFargateService(
            self, "Resource",
            cluster=self.cluster,
            cpu=cpu,
            memory_limit_mib=memory_mib,
            desired_count=desired,
            min_healthy_percent=self.plan.minimum_healthy_percent,
            max_healthy_percent=self.plan.maximum_percent,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            health_check_grace_period=cdk.Duration.seconds(HEALTH_CHECK_GRACE_S),
            security_groups=[self.security_group],
            task_subnets=vpc_subnets or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            certificate=certificate,
            ssl_policy=SSL_POLICY if certificate is not None else None,
            redirect_http=certificate is not None,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            enable_ecs_managed_tags=True,
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                image=image,
                container_port=container_port,
                environment={**extra_env, **self._plan_environment(self.plan)},
                # Resolved by the ECS agent at task start; the template holds only the ARN.
                secrets={
                    settings.USER: ecs.Secret.from_secrets_manager(database.app_secret, "username"),
                    settings.PASSWORD_FROM_ECS_SECRET: ecs.Secret.from_secrets_manager(
                        database.app_secret, "password"),
                },
                log_driver=ecs.LogDrivers.aws_logs(
                    stream_prefix=id, log_group=self.log_group, mode=ecs.AwsLogDriverMode.NON_BLOCKING,
                    max_buffer_size=cdk.Size.mebibytes(LOG_BUFFER_MIB)),
            ),
        )
        self.load_balancer: elbv2.ApplicationLoadBalancer = self.service.load_balancer
        self.target_group: elbv2.ApplicationTargetGroup = self.service.target_group
        self.task_definition: ecs.FargateTaskDefinition = self.service.task_definition
        container = self.task_definition.default_container
        if container is None:  # pragma: no cover - the pattern always adds one
            raise RuntimeError("ApplicationLoadBalancedFargateService created no container")
        self.container: ecs.ContainerDefinition = container
        # A rotated password: the app re-reads the secret when the database refuses the old one.
        database.app_secret.grant_read(self.task_definition.task_role)

        # 5. Tuning: health check, draining, graceful stop.
        self.target_group.configure_health_check(
            path=health_check_path,
            healthy_http_codes="200",
            interval=cdk.Duration.seconds(HEALTH_CHECK_INTERVAL_S),
            timeout=cdk.Duration.seconds(HEALTH_CHECK_TIMEOUT_S),
            healthy_threshold_count=HEALTHY_THRESHOLD,
            unhealthy_threshold_count=UNHEALTHY_THRESHOLD,
        )
        self.target_group.set_attribute("deregistration_delay.timeout_seconds", str(DEREGISTRATION_DELAY_S))
        # ContainerDefinition has no stopTimeout setter and the pattern no prop for it.
        task_resource = self.task_definition.node.default_child
        if isinstance(task_resource, ecs.CfnTaskDefinition):
            task_resource.add_property_override("ContainerDefinitions.0.StopTimeout", STOP_TIMEOUT_S)

        # 6. Autoscaling, capped at what the budget allows.
        self.scaling: ecs.ScalableTaskCount = self.service.service.auto_scale_task_count(
            min_capacity=self.plan.min_tasks, max_capacity=self.plan.max_tasks)
        if desired_tasks is None:
            # Autoscaling owns the count: a DesiredCount in the template would reset the service
            # to it on every stack update, under load (aws-cdk issue 3919). Without it ECS starts
            # a new service with one task, and registering the scalable target moves the count
            # into [min_tasks, max_tasks] (RegisterScalableTarget), so the first deploy still works.
            service_resource = self.service.service.node.default_child
            if isinstance(service_resource, ecs.CfnService):
                service_resource.add_property_deletion_override("DesiredCount")
        scale_in = cdk.Duration.seconds(SCALE_IN_COOLDOWN_S)
        scale_out = cdk.Duration.seconds(SCALE_OUT_COOLDOWN_S)
        if scale_on_cpu_percent is not None:
            self.scaling.scale_on_cpu_utilization(
                "Cpu", target_utilization_percent=scale_on_cpu_percent,
                scale_in_cooldown=scale_in, scale_out_cooldown=scale_out)
        if scale_on_requests_per_target is not None:
            self.scaling.scale_on_request_count(
                "Requests", requests_per_target=scale_on_requests_per_target, target_group=self.target_group,
                scale_in_cooldown=scale_in, scale_out_cooldown=scale_out)

        # 7. Security: tasks -> database on its port; tasks -> HTTPS for AWS APIs (ECR image
        # pull, Secrets Manager, CloudWatch Logs via the NAT gateway). The pattern already
        # opened ALB -> tasks on the container port (and the ALB's own egress to it).
        database.allow_from(self.security_group, f"{self.node.path}: tasks to the database")
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443),
            "HTTPS to AWS APIs: ECR, Secrets Manager, CloudWatch Logs")

        # 8. Access logs for the ALB.
        self.access_logs_bucket: s3.IBucket = access_logs_bucket or self._create_access_logs_bucket()
        self.load_balancer.log_access_logs(self.access_logs_bucket, prefix=id)
        # Requests with malformed header names are dropped rather than passed to the app.
        self.load_balancer.set_attribute("routing.http.drop_invalid_header_fields.enabled", "true")

        # 9. HTTP or HTTPS, and findings this design accepts on purpose.
        self.protocol = "https" if certificate is not None else "http"
        if certificate is None:
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

        # 10. Attributes.
        self.dns_name: str = self.load_balancer.load_balancer_dns_name
        self.url: str = f"{self.protocol}://{self.dns_name}"
        # 11. The final plan: now for connections=, before synth for a default share.
        self._booking.when_settled(self._settle_share)

    @property
    def plan(self) -> ContainerPlan:
        """The plan; a default share's is provisional until the app's ledgers settle (before synth,
        or ``deployment_of(app).settle()``): the plan if no further consumer joined."""
        return self._booking.plan

    @property
    def allocation(self) -> Allocation:
        """This service's allocation on the ledger (provisional like :attr:`plan`)."""
        return self._booking.allocation

    def _plan_environment(self, plan: ContainerPlan) -> dict[str, str]:
        database = self.database
        return database_environment(
            host=database.endpoint_address, port=database.port, name=database.database_name,
            engine_is_postgres=database.engine.is_postgres, plan=plan,
            container_port=self._container_port, secret_arn=database.app_secret.secret_arn)

    def _settle_share(self, plan: ContainerPlan) -> None:
        """The final plan: the pool variables rendered from the provisional plan, up to date."""
        if plan != self._rendered:
            self._rendered = plan
            for key, value in self._plan_environment(plan).items():
                self.container.add_environment(key, value)

    def _create_access_logs_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self, "AccessLogs",
            # ALB access logs support only SSE-S3 (Elastic Load Balancing user guide,
            # "Access logs for your Application Load Balancer").
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(90),
                                              noncurrent_version_expiration=cdk.Duration.days(30))],
        )
        cdk.Validations.of(bucket).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-S1",
            reason="This bucket only receives ALB access logs written by the log delivery service; "
                   "server access logs of it would need another bucket that itself needs logging. "
                   "Reads can be audited with CloudTrail data events."))
        return bucket

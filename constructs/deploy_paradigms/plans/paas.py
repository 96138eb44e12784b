"""Every decision of ``ContainerService`` (CDK and Pulumi), framework-free.

:func:`plan_container_service` takes plain values (``None`` meaning "omitted"), owns every
default and every check, calls the connection arithmetic (:func:`~deploy_paradigms.budget.plan_containers`)
and returns a frozen :class:`ContainerServicePlan` holding all a renderer needs: task size,
autoscaling, deployment settings, health check, target-group and load-balancer attributes,
listeners, the environment contract, secrets, IAM actions, security-group rules, log settings,
alarm specs and names. The two renderers only turn it into resources, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..budget import ConnectionLimit, ContainerPlan, InputError, plan_containers
from ..runtime import settings
from . import environment
from .checks import check_log_retention, check_non_empty
from .names import task_family

#: The container name in the task definition (its construct id / JSON name are API).
CONTAINER_NAME = "web"
#: TLS 1.3 and 1.2 with post-quantum key exchange (ELB user guide, "Security policies
#: for your Application Load Balancer"); aws-cdk-lib's ``SslPolicy.TLS13_12_PQ``.
SSL_POLICY_NAME = "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09"

# --- Tuning for a fast-starting app (the sample starts in about a second).
# ALB defaults are a 30 s interval and 5 healthy checks, i.e. 150 s before a new
# task takes traffic (Elastic Load Balancing user guide, "Health checks for
# your target groups"); 5 s x 2 gets a task in service in about 10 s, which
# keeps rolling deploys (and their doubled pool count) short.
HEALTH_CHECK_INTERVAL_S = 5
HEALTH_CHECK_TIMEOUT_S = 3  # must be shorter than the interval; /healthz does no I/O
HEALTHY_THRESHOLD = 2
UNHEALTHY_THRESHOLD = 3  # 15 s of failures, so one slow check does not drop a task
# ECS ignores failed ALB checks this long after a task starts (ECS developer guide,
# healthCheckGracePeriodSeconds): covers interpreter start and the first check.
HEALTH_CHECK_GRACE_S = 10
# The ALB default (300 s) keeps a draining task, and its pool, alive for five
# minutes on every deploy and scale-in. Requests here finish within the pool
# timeout (10 s) plus query time, so 30 s lets in-flight requests complete.
DEREGISTRATION_DELAY_S = 30
# After draining, ECS sends SIGTERM and waits this long before SIGKILL (Fargate
# default 30 s, maximum 120 s); the app closes its pool on SIGTERM.
STOP_TIMEOUT_S = 20
# Scale out quickly, scale in slowly: every new task opens a new pool.
SCALE_OUT_COOLDOWN_S = 60
SCALE_IN_COOLDOWN_S = 300
# awslogs in non-blocking mode so a CloudWatch Logs throttle never stalls the app
# (ECS developer guide, "awslogs log driver": mode / max-buffer-size).
LOG_BUFFER_MIB = 25

#: Fargate task sizes (ECS developer guide, "Task CPU and memory"): cpu -> memory MiB.
FARGATE_TASK_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

#: Names the service sets itself (the runtime settings contract, plus the app's PORT).
RESERVED_ENVIRONMENT = (*environment.DATABASE_CONTRACT, "PORT")


def check_environment(env: Mapping[str, str] | None) -> dict[str, str]:
    """Extra environment variables, refused when they look like a secret or clash with ours."""
    return environment.check_environment(
        env, owner="ContainerService", reserved=RESERVED_ENVIRONMENT,
        readable_by="anyone who can read the task definition",
        instead="pass it to the container with ECS secrets (container.add_secret)",
        strings_only=True)


def database_environment(*, host: str, port: int, name: str, engine_is_postgres: bool,
                         plan: ContainerPlan, container_port: int, secret_arn: str) -> dict[str, str]:
    """The non-secret half of the settings contract (user and password come as ECS secrets).

    ``secret_arn`` (an ARN, not a value): the task re-reads the secret when the database
    refuses the password ECS injected at task start (a rotation since).
    """
    return {
        settings.HOST: host,
        settings.SECRET_ARN: secret_arn,
        settings.PORT: str(port),
        settings.NAME: name,
        settings.ENGINE: "postgres" if engine_is_postgres else "mysql",
        settings.IAM_AUTH: "false",
        settings.URL_PARAMS: plan.url.query_string(),
        **plan.pool.environment(),
        "PORT": str(container_port),
    }


# --- Defaults for inputs the user may omit (the renderers document them as "omitted: ...").
DEFAULT_CONTAINER_PORT = 8080
DEFAULT_HEALTH_CHECK_PATH = "/healthz"
DEFAULT_CPU = 256
DEFAULT_MEMORY_MIB = 512
DEFAULT_MIN_TASKS = 1
DEFAULT_MAX_TASKS = 4
DEFAULT_MAXIMUM_PERCENT = 200
DEFAULT_MINIMUM_HEALTHY_PERCENT = 100
DEFAULT_DEPLOY_STRATEGY = "rolling"
DEFAULT_SCALE_ON_CPU_PERCENT = 60
#: ``scale_on_cpu_percent=NO_CPU_SCALING`` switches the CPU policy off (omitted means 60).
NO_CPU_SCALING = 0
DEFAULT_LOG_RETENTION_DAYS = 30
#: Access-log bucket lifecycle: logs expire after 90 days, replaced versions after 30.
ACCESS_LOG_EXPIRATION_DAYS = 90
NONCURRENT_EXPIRATION_DAYS = 30
ACCESS_LOG_MIN_TLS = 1.2
#: Who writes ALB access logs: the log-delivery service principal, which AWS documents for
#: every Region (ELB user guide, "Enable access logs"); the per-Region ELB accounts exist only
#: in Regions opened before August 2022.
ELB_LOG_DELIVERY_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com"
#: The HTTPS port AWS APIs (ECR, Secrets Manager, CloudWatch Logs) listen on.
HTTPS_PORT = 443
HTTP_PORT = 80
ANYWHERE_IPV4 = "0.0.0.0/0"

#: Actions of the task execution role (the ECS agent): read the database secret, write logs,
#: pull from the image's ECR repository; ``ecr:GetAuthorizationToken`` has no resource-level
#: permissions (ECR user guide, "Private registry authentication").
SECRET_READ_ACTIONS = ("secretsmanager:GetSecretValue",)
LOG_WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
ECR_PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
ECR_AUTH_ACTIONS = ("ecr:GetAuthorizationToken",)
#: Target-tracking metrics (Application Auto Scaling predefined metric types).
CPU_METRIC = "ECSServiceAverageCPUUtilization"
REQUESTS_METRIC = "ALBRequestCountPerTarget"


@dataclass(frozen=True)
class HealthCheck:
    """The target group's health check and the service's grace period."""

    path: str
    interval_s: int = HEALTH_CHECK_INTERVAL_S
    timeout_s: int = HEALTH_CHECK_TIMEOUT_S
    healthy_threshold: int = HEALTHY_THRESHOLD
    unhealthy_threshold: int = UNHEALTHY_THRESHOLD
    matcher: str = "200"
    protocol: str = "HTTP"
    grace_s: int = HEALTH_CHECK_GRACE_S


@dataclass(frozen=True)
class ScalingPolicy:
    """One target-tracking policy. ``key`` names it (CDK construct id / Pulumi name suffix)."""

    key: str
    metric: str
    target: int
    scale_in_cooldown_s: int = SCALE_IN_COOLDOWN_S
    scale_out_cooldown_s: int = SCALE_OUT_COOLDOWN_S


@dataclass(frozen=True)
class Listener:
    """A load-balancer listener: ``forward`` to the target group, or ``redirect`` to HTTPS."""

    port: int
    protocol: str
    action: str
    ssl_policy: str | None = None
    #: For a redirect: the HTTPS port it sends clients to (permanently, 301).
    redirect_to: int | None = None


@dataclass(frozen=True)
class SecurityRule:
    """One security-group rule. ``group``/``peer``: ``load_balancer``, ``tasks``, ``database``,
    or a CIDR; ``direction``: ``ingress`` or ``egress`` (seen from ``group``)."""

    group: str
    direction: str
    peer: str
    port: int
    description: str


@dataclass(frozen=True)
class Statement:
    """An IAM allow statement; ``resource`` names what it is on (``secret``, ``log_group``,
    ``ecr_repository`` or ``*``), the renderer supplies the ARN."""

    actions: tuple[str, ...]
    resource: str


@dataclass(frozen=True)
class AlarmSpec:
    """A CloudWatch alarm on a load-balancer metric (no actions: users add their own)."""

    key: str
    metric: str
    namespace: str
    dimensions: tuple[str, ...]
    statistic: str
    period_s: int
    evaluation_periods: int
    threshold: float
    comparison: str
    description: str
    treat_missing_data: str = "notBreaching"


#: Alarms every service gets: targets failing health checks, and the app answering 5xx.
ALARMS = (
    AlarmSpec(key="UnhealthyTargets", metric="UnHealthyHostCount", namespace="AWS/ApplicationELB",
              dimensions=("LoadBalancer", "TargetGroup"), statistic="Maximum", period_s=60,
              evaluation_periods=3, threshold=1, comparison="GreaterThanOrEqualToThreshold",
              description="A task has failed its health check for 3 minutes"),
    AlarmSpec(key="Target5xx", metric="HTTPCode_Target_5XX_Count", namespace="AWS/ApplicationELB",
              dimensions=("LoadBalancer", "TargetGroup"), statistic="Sum", period_s=60,
              evaluation_periods=5, threshold=10, comparison="GreaterThanOrEqualToThreshold",
              description="The app answered 10 or more 5xx responses a minute for 5 minutes"),
)


@dataclass(frozen=True)
class ContainerServicePlan:
    """Everything a ``ContainerService`` renderer needs; built by :func:`plan_container_service`."""

    budget: ContainerPlan
    container_name: str
    container_port: int
    cpu: int
    memory_mib: int
    #: Tasks at creation; None: left to autoscaling (CDK: no DesiredCount in the template).
    desired_tasks: int | None
    #: The count Pulumi creates the service with (it then ignores desiredCount on update).
    initial_tasks: int
    circuit_breaker_rollback: bool
    health_check: HealthCheck
    stop_timeout_s: int
    target_group_attributes: Mapping[str, str]
    load_balancer_attributes: Mapping[str, str]
    protocol: str
    listeners: tuple[Listener, ...]
    scaling_policies: tuple[ScalingPolicy, ...]
    extra_environment: Mapping[str, str]
    database_environment: Mapping[str, str]
    #: (environment name, JSON key of the database secret) the ECS agent resolves at task start.
    secrets: tuple[tuple[str, str], ...]
    execution_role: tuple[Statement, ...]
    task_role: tuple[Statement, ...]
    security_rules: tuple[SecurityRule, ...]
    log_retention_days: int
    log_stream_prefix: str
    log_buffer_mib: int
    log_mode: str
    access_log_prefix: str
    access_log_expiration_days: int
    noncurrent_expiration_days: int
    #: The access-log bucket refuses requests over TLS older than this (and any plain HTTP).
    access_log_min_tls: float
    alarms: tuple[AlarmSpec, ...]
    #: ECS task family; None: the framework's (aws-cdk names it after the stack and path).
    family: str | None

    @property
    def min_tasks(self) -> int:
        return self.budget.min_tasks

    @property
    def max_tasks(self) -> int:
        return self.budget.max_tasks

    @property
    def maximum_percent(self) -> int:
        return self.budget.maximum_percent

    @property
    def minimum_healthy_percent(self) -> int:
        return self.budget.minimum_healthy_percent

    @property
    def listener_ports(self) -> tuple[int, ...]:
        return tuple(listener.port for listener in self.listeners)

    def environment(self, *, host: str, secret_arn: str) -> dict[str, str]:
        """The container's environment: ``host`` and ``secret_arn`` are tokens/outputs resolved
        by the renderer (the database endpoint and the secret's ARN, never its value)."""
        return {**self.extra_environment, settings.HOST: host, settings.SECRET_ARN: secret_arn,
                **self.database_environment}


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pick(value: int | None, default: int) -> int:
    return default if value is None else value


def check_task_size(*, container_port: int, health_check_path: str, cpu: int, memory_mib: int) -> None:
    """Port, health-check path and Fargate task size; InputError naming the input and the fix."""
    if not _is_whole(container_port) or not 1 <= container_port <= 65535:
        raise InputError(f"container_port={container_port!r} must be a TCP port, 1-65535 "
                         f"(the sample app listens on 8080)")
    if not isinstance(health_check_path, str) or not health_check_path.startswith("/"):
        raise InputError(f"health_check_path={health_check_path!r} must be a path starting with '/', "
                         f"e.g. '/healthz'")
    if cpu not in FARGATE_TASK_SIZES or not _is_whole(cpu):
        raise InputError(f"cpu={cpu!r} is not a Fargate task size; use one of "
                         f"{', '.join(map(str, FARGATE_TASK_SIZES))} (1024 = 1 vCPU)")
    if memory_mib not in FARGATE_TASK_SIZES[cpu]:
        sizes = FARGATE_TASK_SIZES[cpu]
        raise InputError(f"memory_mib={memory_mib!r} does not fit cpu={cpu}; Fargate allows "
                         f"{sizes[0]}-{sizes[-1]} MiB in steps of {sizes[1] - sizes[0]} MiB for it")


def check_task_counts(*, min_tasks: int, max_tasks: int, desired_tasks: int | None) -> None:
    """The autoscaling range and the count at deploy time (the budget core checks max_tasks)."""
    if _is_whole(min_tasks) and min_tasks < 1:
        raise InputError(f"min_tasks={min_tasks} must be at least 1: a load-balanced service needs a "
                         f"running task; to scale to zero use the serverless paradigm")
    if desired_tasks is None:
        return
    if not _is_whole(desired_tasks):
        raise InputError(f"desired_tasks={desired_tasks!r} must be a whole number")
    if _is_whole(max_tasks) and _is_whole(min_tasks) and min_tasks <= max_tasks \
            and not min_tasks <= desired_tasks <= max_tasks:
        raise InputError(f"desired_tasks={desired_tasks} must be between min_tasks={min_tasks} and "
                         f"max_tasks={max_tasks}; autoscaling keeps the count in that range")


def scaling_policies(*, cpu_percent: int | None,
                     requests_per_target: int | None) -> tuple[ScalingPolicy, ...]:
    """Target tracking on CPU (omitted: 60 %, ``0``: off) and on ALB requests (omitted: off)."""
    cpu = _pick(cpu_percent, DEFAULT_SCALE_ON_CPU_PERCENT)
    if not _is_whole(cpu) or not (cpu == NO_CPU_SCALING or 10 <= cpu <= 90):
        raise InputError(f"scale_on_cpu_percent={cpu_percent!r} must be 10-90 (a CPU target for target "
                         f"tracking), 0 for no CPU policy, or omitted for {DEFAULT_SCALE_ON_CPU_PERCENT}")
    if requests_per_target is not None and (not _is_whole(requests_per_target) or requests_per_target < 1):
        raise InputError(f"scale_on_requests_per_target={requests_per_target!r} must be a positive whole "
                         f"number of requests per task per minute, or omitted for none")
    policies = [ScalingPolicy("Cpu", CPU_METRIC, cpu)] if cpu else []
    if requests_per_target is not None:
        policies.append(ScalingPolicy("Requests", REQUESTS_METRIC, requests_per_target))
    return tuple(policies)


def listeners(https: bool) -> tuple[Listener, ...]:
    """HTTPS on 443 with the TLS 1.3/1.2 PQ policy and an HTTP->HTTPS redirect; else HTTP on 80."""
    if https:
        return (Listener(HTTPS_PORT, "HTTPS", "forward", SSL_POLICY_NAME),
                Listener(HTTP_PORT, "HTTP", "redirect", redirect_to=HTTPS_PORT))
    return (Listener(HTTP_PORT, "HTTP", "forward"),)


def security_rules(*, listener_ports: tuple[int, ...], container_port: int,
                   database_port: int) -> tuple[SecurityRule, ...]:
    """Internet -> ALB on the listener ports; ALB -> tasks on the container port; tasks -> the
    database on its port; tasks -> HTTPS for AWS APIs (ECR, Secrets Manager, CloudWatch Logs
    through the NAT gateway). Nothing else."""
    return (
        *(SecurityRule("load_balancer", "ingress", ANYWHERE_IPV4, port,
                       f"internet to the load balancer on port {port}") for port in listener_ports),
        SecurityRule("load_balancer", "egress", "tasks", container_port, "load balancer to the tasks"),
        SecurityRule("tasks", "ingress", "load_balancer", container_port, "load balancer to the tasks"),
        SecurityRule("tasks", "egress", "database", database_port, "tasks to the database"),
        SecurityRule("database", "ingress", "tasks", database_port, "tasks to the database"),
        SecurityRule("tasks", "egress", ANYWHERE_IPV4, HTTPS_PORT,
                     "HTTPS to AWS APIs: ECR, Secrets Manager, CloudWatch Logs"),
    )


def execution_role(*, private_ecr: bool) -> tuple[Statement, ...]:
    """The ECS agent's permissions: the database secret, the log group, the image's repository."""
    statements = [Statement(SECRET_READ_ACTIONS, "secret"), Statement(LOG_WRITE_ACTIONS, "log_group")]
    if private_ecr:
        statements += [Statement(ECR_PULL_ACTIONS, "ecr_repository"), Statement(ECR_AUTH_ACTIONS, "*")]
    return tuple(statements)


def check_subnets(*, task_subnets: int | None, load_balancer_subnets: int | None) -> None:
    """Enough subnets for the tasks (one) and an ALB (two Availability Zones); None: not known here."""
    if (task_subnets is not None and task_subnets < 1) or \
            (load_balancer_subnets is not None and load_balancer_subnets < 2):
        raise InputError(f"ContainerService: {task_subnets} task subnet(s) and {load_balancer_subnets} load "
                         f"balancer subnet(s); an ALB needs public subnets in two Availability Zones "
                         f"and the tasks at least one subnet (pass subnet_ids / load_balancer_subnet_ids)")


@dataclass(frozen=True, kw_only=True)
class ContainerServiceOptions:
    """The service's options, named alike in the CDK keyword arguments and in Pulumi's
    ``ContainerServiceArgs`` (which extends this class); every ``None`` means omitted."""

    container_port: int | None = None
    health_check_path: str | None = None
    cpu: int | None = None
    memory_mib: int | None = None
    min_tasks: int | None = None
    max_tasks: int | None = None
    desired_tasks: int | None = None
    pool_size: int | None = None
    connections: int | None = None
    maximum_percent: int | None = None
    minimum_healthy_percent: int | None = None
    deploy_strategy: str | None = None
    scale_on_cpu_percent: int | None = None
    scale_on_requests_per_target: int | None = None
    environment: Mapping[str, str] | None = None
    log_retention_days: int | None = None


@dataclass(frozen=True, kw_only=True)
class ServiceContext:
    """What the renderer knows beside the options: names, the database, framework-typed inputs
    reduced to plain facts (a certificate given, an image URI when it is a plain string...)."""

    #: The component's name: log stream and access-log prefix.
    name: str
    database_port: int
    database_name: str
    #: A certificate was given: HTTPS with a redirect from HTTP.
    https: bool = False
    #: Project, stack and component for the task family; None: the framework names it (aws-cdk).
    family_parts: tuple[str, ...] | None = None
    #: The image URI when it is a plain string (checked non-empty); None: an object or an output.
    image_uri: str | None = None
    #: The image comes from a private ECR repository the execution role may pull from.
    private_ecr: bool = False
    #: Subnet counts when the renderer knows them (checked); None: the framework selects them.
    task_subnets: int | None = None
    load_balancer_subnets: int | None = None


def plan_container_service(limit: ConnectionLimit, available: int, options: ContainerServiceOptions,
                           context: ServiceContext, *, share: int | None = None) -> ContainerServicePlan:
    """Every decision of one ``ContainerService``.

    ``available``: what the ledger has left; ``share``: this service's connections (the user's
    ``connections`` or the ledger's default share; None: all that is available). Input refusals
    raise :class:`InputError`, budget refusals (from :func:`plan_containers`) :class:`BudgetError`.
    """
    o = options
    port = _pick(o.container_port, DEFAULT_CONTAINER_PORT)
    path = DEFAULT_HEALTH_CHECK_PATH if o.health_check_path is None else o.health_check_path
    cpu, memory = _pick(o.cpu, DEFAULT_CPU), _pick(o.memory_mib, DEFAULT_MEMORY_MIB)
    min_tasks, max_tasks = _pick(o.min_tasks, DEFAULT_MIN_TASKS), _pick(o.max_tasks, DEFAULT_MAX_TASKS)
    check_task_size(container_port=port, health_check_path=path, cpu=cpu, memory_mib=memory)
    check_task_counts(min_tasks=min_tasks, max_tasks=max_tasks, desired_tasks=o.desired_tasks)
    policies = scaling_policies(cpu_percent=o.scale_on_cpu_percent,
                                requests_per_target=o.scale_on_requests_per_target)
    extra_env = check_environment(o.environment)
    retention = check_log_retention(
        "log_retention_days", _pick(o.log_retention_days, DEFAULT_LOG_RETENTION_DAYS))
    if context.image_uri is not None:
        check_non_empty("image", context.image_uri,
                        example="123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.4.2")
    check_subnets(task_subnets=context.task_subnets, load_balancer_subnets=context.load_balancer_subnets)
    budget = plan_containers(
        limit, available, max_tasks=max_tasks, min_tasks=min_tasks, connections=share,
        pool_size=o.pool_size, maximum_percent=_pick(o.maximum_percent, DEFAULT_MAXIMUM_PERCENT),
        minimum_healthy_percent=_pick(o.minimum_healthy_percent, DEFAULT_MINIMUM_HEALTHY_PERCENT),
        deploy_strategy=o.deploy_strategy or DEFAULT_DEPLOY_STRATEGY)
    chosen_listeners = listeners(context.https)
    return ContainerServicePlan(
        budget=budget, container_name=CONTAINER_NAME, container_port=port, cpu=cpu, memory_mib=memory,
        desired_tasks=o.desired_tasks, initial_tasks=_pick(o.desired_tasks, min_tasks),
        circuit_breaker_rollback=True, health_check=HealthCheck(path), stop_timeout_s=STOP_TIMEOUT_S,
        target_group_attributes={"deregistration_delay.timeout_seconds": str(DEREGISTRATION_DELAY_S)},
        load_balancer_attributes={"routing.http.drop_invalid_header_fields.enabled": "true"},
        protocol="https" if context.https else "http", listeners=chosen_listeners, scaling_policies=policies,
        extra_environment=extra_env,
        database_environment=_database_environment(
            port=context.database_port, name=context.database_name,
            engine_is_postgres=limit.engine.is_postgres, plan=budget, container_port=port),
        secrets=((settings.USER, "username"), (settings.PASSWORD_FROM_ECS_SECRET, "password")),
        execution_role=execution_role(private_ecr=context.private_ecr),
        task_role=(Statement(SECRET_READ_ACTIONS, "secret"),),
        security_rules=security_rules(listener_ports=tuple(li.port for li in chosen_listeners),
                                      container_port=port, database_port=context.database_port),
        log_retention_days=retention, log_stream_prefix=context.name, log_buffer_mib=LOG_BUFFER_MIB,
        log_mode="non-blocking", access_log_prefix=context.name,
        access_log_expiration_days=ACCESS_LOG_EXPIRATION_DAYS,
        noncurrent_expiration_days=NONCURRENT_EXPIRATION_DAYS, access_log_min_tls=ACCESS_LOG_MIN_TLS,
        alarms=ALARMS, family=task_family(*context.family_parts) if context.family_parts else None)


def _database_environment(*, port: int, name: str, engine_is_postgres: bool, plan: ContainerPlan,
                          container_port: int) -> dict[str, str]:
    """The non-secret settings after host and secret ARN (see :func:`database_environment`)."""
    full = database_environment(host="", port=port, name=name, engine_is_postgres=engine_is_postgres,
                                plan=plan, container_port=container_port, secret_arn="")
    return {k: v for k, v in full.items() if k not in (settings.HOST, settings.SECRET_ARN)}

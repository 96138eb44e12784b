"""Settings both ``ContainerService`` renderers share (CDK and Pulumi): tuning for a
fast-starting app, Fargate sizes, input checks and the settings contract.

Framework-free, so the two engines cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..budget import BudgetError, ContainerPlan
from ..runtime import settings
from . import environment

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


def check_task_settings(*, container_port: int, health_check_path: str, cpu: int, memory_mib: int,
                        min_tasks: int, max_tasks: int, desired_tasks: int | None,
                        scale_on_cpu_percent: int | None, scale_on_requests_per_target: int | None) -> int:
    """Service-level checks (the budget core checks the counts against the database).

    Returns the desired task count (default ``min_tasks``).
    """
    if isinstance(container_port, bool) or not isinstance(container_port, int) \
            or not 1 <= container_port <= 65535:
        raise BudgetError(f"container_port={container_port!r} must be a TCP port, 1-65535 "
                          f"(the sample app listens on 8080)")
    if not isinstance(health_check_path, str) or not health_check_path.startswith("/"):
        raise BudgetError(f"health_check_path={health_check_path!r} must be a path starting with '/', "
                          f"e.g. '/healthz'")
    if cpu not in FARGATE_TASK_SIZES:
        raise BudgetError(f"cpu={cpu!r} is not a Fargate task size; use one of "
                          f"{', '.join(map(str, FARGATE_TASK_SIZES))} (1024 = 1 vCPU)")
    if memory_mib not in FARGATE_TASK_SIZES[cpu]:
        sizes = FARGATE_TASK_SIZES[cpu]
        raise BudgetError(f"memory_mib={memory_mib!r} does not fit cpu={cpu}; Fargate allows "
                          f"{sizes[0]}-{sizes[-1]} MiB in steps of {sizes[1] - sizes[0]} MiB for it")
    if isinstance(min_tasks, int) and not isinstance(min_tasks, bool) and min_tasks < 1:
        raise BudgetError(f"min_tasks={min_tasks} must be at least 1: a load-balanced service needs a "
                          f"running task; to scale to zero use the serverless paradigm")
    desired = min_tasks if desired_tasks is None else desired_tasks
    if desired_tasks is not None and (isinstance(desired_tasks, bool) or not isinstance(desired_tasks, int)):
        raise BudgetError(f"desired_tasks={desired_tasks!r} must be a whole number")
    if isinstance(max_tasks, int) and isinstance(min_tasks, int) and min_tasks <= max_tasks \
            and not min_tasks <= desired <= max_tasks:
        raise BudgetError(f"desired_tasks={desired} must be between min_tasks={min_tasks} and "
                          f"max_tasks={max_tasks}; autoscaling keeps the count in that range")
    if scale_on_cpu_percent is not None and (
            isinstance(scale_on_cpu_percent, bool) or not isinstance(scale_on_cpu_percent, int)
            or not 10 <= scale_on_cpu_percent <= 90):
        raise BudgetError(f"scale_on_cpu_percent={scale_on_cpu_percent!r} must be 10-90 (a CPU target "
                          f"for target tracking), or None to scale on requests only")
    if scale_on_requests_per_target is not None and (
            isinstance(scale_on_requests_per_target, bool)
            or not isinstance(scale_on_requests_per_target, int) or scale_on_requests_per_target < 1):
        raise BudgetError(f"scale_on_requests_per_target={scale_on_requests_per_target!r} must be a "
                          f"positive whole number of requests per task per minute, or None")
    return desired


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

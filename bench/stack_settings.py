"""Read the benchmark's settings from what the library synthesizes, and cross-check them.

The example app is synthesized exactly as the tests do it (``tests/conftest.py``
``synth_examples``: cdk.json's context plus ``instanceClass``, cdk-nag included). The
numbers the load scenarios use are read from the ``Serverless`` and ``Paas`` templates;
then the budget core plans the same databases independently (``ConnectionLedger`` with
the ``Database`` construct's default reserve, ``plan_serverless``, ``plan_containers`` with
``ContainerService``'s default ``max_tasks``) and every number must agree, or the
benchmark stops: it would otherwise prove something about a configuration nobody deploys.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scenarios import PaasSettings, ServerlessSettings
from deploy_paradigms.budget import (
    ConnectionLedger,
    ConnectionLimit,
    ContainerPlan,
    ProxySettings,
    ServerlessPlan,
    describe_connection_limit,
    plan_serverless,
)

Template = dict[str, Any]


class BenchError(RuntimeError):
    """The benchmark cannot run as asked (bad flag, missing software, settings disagree)."""


@dataclass(frozen=True)
class StackSettings:
    limit: ConnectionLimit
    reserve: int
    serverless: ServerlessSettings
    paas: PaasSettings
    serverless_plan: ServerlessPlan
    container_plan: ContainerPlan
    synth_s: float

    def as_dict(self) -> dict[str, Any]:
        sv, pa = self.serverless, self.paas
        return {
            "source": "synthesized Serverless and Paas templates (tests/conftest.py synth_examples), "
                      "cross-checked against the budget core's plans",
            "reserve": self.reserve,
            "serverless": {
                "reserved_concurrency": sv.reserved_concurrency,
                "connection_limit": sv.connection_limit,
                "url_params": sv.url_params,
                "proxy_max_connections_percent": sv.proxy_max_connections_percent,
                "proxy_max_idle_connections_percent": sv.proxy_max_idle_connections_percent,
                "proxy_borrow_timeout_s": sv.proxy_borrow_timeout_s,
                "proxy_idle_client_timeout_s": sv.proxy_idle_client_timeout_s,
                "proxy_require_tls": sv.proxy_require_tls,
                "proxy_database_connections": sv.proxy_database_connections,
            },
            "paas": {
                "pool_size": pa.pool_size,
                "url_params": pa.url_params,
                "min_tasks": pa.min_tasks,
                "max_tasks": pa.max_tasks,
                "maximum_percent": pa.maximum_percent,
                "minimum_healthy_percent": pa.minimum_healthy_percent,
                "peak_tasks": pa.peak_tasks,
                "peak_connections": pa.peak_tasks * pa.pool_size,
            },
            "synth_s": round(self.synth_s, 2),
        }


# --------------------------------------------------------------------------- template reading


def _resources(template: Template, type_: str) -> list[dict[str, Any]]:
    return [dict(r.get("Properties", {})) for r in template["Resources"].values() if r["Type"] == type_]


def _one(template: Template, stack: str, type_: str,
         where: Callable[[dict[str, Any]], bool] = lambda props: True, what: str = "") -> dict[str, Any]:
    found = [props for props in _resources(template, type_) if where(props)]
    if len(found) != 1:
        raise BenchError(f"expected one {type_}{' ' + what if what else ''} in the {stack} template, "
                         f"found {len(found)}")
    return found[0]


def _literal(value: Any, name: str) -> Any:
    if isinstance(value, dict):  # a token (Ref, Fn::GetAtt...) where a decision should be a number
        raise BenchError(f"{name} is not a literal in the template: {json.dumps(value)}")
    return value


def _lambda_env(props: dict[str, Any]) -> dict[str, Any]:
    return dict(props.get("Environment", {}).get("Variables", {}))


def _container_env(props: dict[str, Any]) -> dict[str, Any]:
    env: dict[str, Any] = {}
    for container in props.get("ContainerDefinitions", []):
        env.update({item["Name"]: item["Value"] for item in container.get("Environment", [])})
    return env


def read_serverless(template: Template, limit: ConnectionLimit) -> ServerlessSettings:
    # DATABASE_HOST: the application's function (the database's role bootstrap sets only URL params).
    function = _one(template, "Serverless", "AWS::Lambda::Function",
                    lambda p: "DATABASE_HOST" in _lambda_env(p), "with DATABASE_HOST")
    pool = _one(template, "Serverless", "AWS::RDS::DBProxyTargetGroup")["ConnectionPoolConfigurationInfo"]
    proxy = _one(template, "Serverless", "AWS::RDS::DBProxy")
    percent = int(_literal(pool["MaxConnectionsPercent"], "MaxConnectionsPercent"))
    idle_percent = int(_literal(pool["MaxIdleConnectionsPercent"], "MaxIdleConnectionsPercent"))
    borrow = int(_literal(pool["ConnectionBorrowTimeout"], "ConnectionBorrowTimeout"))
    idle_client = int(_literal(proxy["IdleClientTimeout"], "IdleClientTimeout"))
    require_tls = bool(_literal(proxy["RequireTLS"], "RequireTLS"))
    # The proxy's database connections, by the library's own rule for the template's percent.
    as_deployed = ProxySettings(max_connections_percent=percent, max_idle_connections_percent=idle_percent,
                                idle_client_timeout_s=idle_client, borrow_timeout_s=borrow,
                                require_tls=require_tls)
    return ServerlessSettings(
        reserved_concurrency=int(_literal(function["ReservedConcurrentExecutions"],
                                          "ReservedConcurrentExecutions")),
        url_params=str(_literal(_lambda_env(function)["DATABASE_URL_PARAMS"], "DATABASE_URL_PARAMS")),
        proxy_max_connections_percent=percent,
        proxy_max_idle_connections_percent=idle_percent,
        proxy_borrow_timeout_s=borrow,
        proxy_idle_client_timeout_s=idle_client,
        proxy_require_tls=require_tls,
        proxy_database_connections=as_deployed.database_connections(limit),
    )


def read_paas(template: Template) -> PaasSettings:
    task = _one(template, "Paas", "AWS::ECS::TaskDefinition",
                lambda p: "DATABASE_URL_PARAMS" in _container_env(p), "with DATABASE_URL_PARAMS")
    service = _one(template, "Paas", "AWS::ECS::Service")
    scaling = _one(template, "Paas", "AWS::ApplicationAutoScaling::ScalableTarget",
                   lambda p: p.get("ScalableDimension") == "ecs:service:DesiredCount", "for the service")
    deployment = service["DeploymentConfiguration"]
    return PaasSettings(
        url_params=str(_literal(_container_env(task)["DATABASE_URL_PARAMS"], "DATABASE_URL_PARAMS")),
        min_tasks=int(_literal(scaling["MinCapacity"], "MinCapacity")),
        max_tasks=int(_literal(scaling["MaxCapacity"], "MaxCapacity")),
        maximum_percent=int(_literal(deployment["MaximumPercent"], "MaximumPercent")),
        minimum_healthy_percent=int(_literal(deployment["MinimumHealthyPercent"], "MinimumHealthyPercent")),
    )


def _instance_class(template: Template, stack: str) -> str:
    return str(_one(template, stack, "AWS::RDS::DBInstance")["DBInstanceClass"])


# --------------------------------------------------------------------------- cross-check


def expected_plans(limit: ConnectionLimit) -> tuple[int, ServerlessPlan, ContainerPlan]:
    """The plans the budget core makes for each example stack's own database (same defaults)."""
    from deploy_paradigms.plans.paas import ContainerServiceOptions, ServiceContext, plan_container_service

    reserve = ConnectionLedger(limit).reserve  # Database's default: 5 %, at least 3
    available = ConnectionLedger(limit).remaining
    serverless = plan_serverless(limit, available)
    # ContainerService with every option omitted: the plan resolves the defaults.
    containers = plan_container_service(
        limit, available, ContainerServiceOptions(),
        ServiceContext(name="Web", database_port=limit.engine.default_port, database_name="app")).budget
    return reserve, serverless, containers


def disagreements(limit: ConnectionLimit, serverless: ServerlessSettings, paas: PaasSettings,
                  splan: ServerlessPlan, cplan: ContainerPlan) -> list[str]:
    pairs: list[tuple[str, Any, Any]] = [
        ("Serverless ReservedConcurrentExecutions", serverless.reserved_concurrency,
         splan.reserved_concurrency),
        ("Serverless DATABASE_URL_PARAMS", serverless.url_params, splan.url.query_string()),
        ("Serverless MaxConnectionsPercent", serverless.proxy_max_connections_percent,
         splan.proxy.max_connections_percent),
        ("Serverless MaxIdleConnectionsPercent", serverless.proxy_max_idle_connections_percent,
         splan.proxy.max_idle_connections_percent),
        ("Serverless ConnectionBorrowTimeout", serverless.proxy_borrow_timeout_s,
         splan.proxy.borrow_timeout_s),
        ("Serverless IdleClientTimeout", serverless.proxy_idle_client_timeout_s,
         splan.proxy.idle_client_timeout_s),
        ("Serverless RequireTLS", serverless.proxy_require_tls, splan.proxy.require_tls),
        ("proxy database connections", serverless.proxy_database_connections,
         splan.proxy.database_connections(limit)),
        ("Paas DATABASE_URL_PARAMS", paas.url_params, cplan.url.query_string()),
        ("Paas pool size", paas.pool_size, cplan.pool_size),
        ("Paas MinCapacity", paas.min_tasks, cplan.min_tasks),
        ("Paas MaxCapacity", paas.max_tasks, cplan.max_tasks),
        ("Paas MaximumPercent", paas.maximum_percent, cplan.maximum_percent),
        ("Paas MinimumHealthyPercent", paas.minimum_healthy_percent, cplan.minimum_healthy_percent),
        ("Paas peak connections", paas.peak_tasks * paas.pool_size, cplan.connections),
    ]
    return [f"{name}: template {got!r}, budget plan {want!r}" for name, got, want in pairs if got != want]


def _failed_rules(message: str) -> str:
    """The failing rules of a synth validation report named in ``message`` (or the message)."""
    match = re.search(r"can be found in: (\S+\.json)", message)
    if match is None:
        return message.splitlines()[0] if message else "unknown error"
    try:
        report = json.loads(Path(match.group(1)).read_text())
    except (OSError, ValueError):
        return message.splitlines()[0]
    failures = [f"{plugin['pluginName']} {violation.get('ruleName')}: {violation.get('description')}"
                for plugin in report.get("pluginReports", []) if plugin.get("conclusion") != "success"
                for violation in plugin.get("violations", [])
                if violation.get("severity") in ("error", "fatal")]
    return "; ".join(failures) or message.splitlines()[0]


def read_settings(instance_class: str) -> StackSettings:
    """Synthesize the example app for ``instance_class`` and return its checked settings."""
    limit = describe_connection_limit("postgres", instance_class)
    from tests.conftest import synth_examples, template_of

    started = time.perf_counter()
    try:
        assembly = synth_examples(("Serverless", "Paas"), instanceClass=limit.instance_class)
    except RuntimeError as exc:  # jsii: "ValidationFailed: ... report ... in: <path>" and the like
        raise BenchError(f"synthesizing the example stacks for {limit.instance_class} failed: "
                         f"{_failed_rules(str(exc))}") from None
    synth_s = time.perf_counter() - started
    try:
        templates = {name: template_of(assembly, name) for name in ("Serverless", "Paas")}
    finally:
        shutil.rmtree(assembly.directory, ignore_errors=True)  # synth_examples leaves a temp dir
    for name, template in templates.items():
        if _instance_class(template, name) != limit.instance_class:
            raise BenchError(f"the {name} template's DBInstanceClass is {_instance_class(template, name)}, "
                             f"not {limit.instance_class}")
    serverless = read_serverless(templates["Serverless"], limit)
    paas = read_paas(templates["Paas"])
    reserve, splan, cplan = expected_plans(limit)
    problems = disagreements(limit, serverless, paas, splan, cplan)
    if problems:
        raise BenchError("the synthesized templates disagree with the budget plans, so the benchmark "
                         "would not measure what is deployed:\n  " + "\n  ".join(problems))
    return StackSettings(limit=limit, reserve=reserve, serverless=serverless, paas=paas,
                         serverless_plan=splan, container_plan=cplan, synth_s=synth_s)

"""An ECS service's pool at full scale during a deploy fits its allocation."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import ALLOCATION_TAG, Finding, Model, Rule, as_int


def check(model: Model) -> Iterator[Finding]:
    governed = model.governed_databases()
    for service in model.of_kind("service"):
        for db, limit in governed:
            route = model.route(service, db)
            if route is None:
                continue
            demand = model.consumer(service, route.proxy)
            tagged = as_int((service.props.get("tags") or {}).get(ALLOCATION_TAG))
            if tagged is not None:
                allocation, source = tagged, f"its {ALLOCATION_TAG} tag"
            elif route.proxy is not None:
                allocation = model.proxy_connections(route.proxy, limit)
                source = f"the database connections of RDS Proxy {route.proxy.path}"
            else:
                allocation, source = limit.usable, f"all {limit.usable} usable connections of {db.path}"
            if demand.connections is not None and demand.connections > allocation:
                yield Finding(RULE.id, service.name, service.path,
                              f"{demand.detail} = {demand.connections} connections, over its allocation "
                              f"of {allocation} ({source})", "max_tasks")
            break


RULE = Rule(
    id="ecs-pool-exceeds-allocation",
    category="budget",
    reason="Every task holds a full pool, autoscaling can run max tasks, and a rolling deploy at that "
           "scale runs up to maximumPercent (200 % by default) of them at once, so the service can hold "
           "pool x ceil(max tasks x maximumPercent / 100) connections.",
    fix="Lower the autoscaling maximum, the pool size (connection_limit) or maximumPercent, or give the "
        "service a larger share (ContainerService sizes all three from the plan).",
    check=check,
)

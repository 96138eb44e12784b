"""Markdown renderings of the budget, used by the README and the per-stack summaries."""

from __future__ import annotations

from .ledger import ConnectionLedger
from .limits import describe_connection_limit
from .plan import PoolContract, plan_containers, plan_serverless
from .recipes import CLIENTS, recipe, recipes_table

#: Classes shown in the README table: the seed's, plus the current cheap and common ones.
README_CLASSES = (
    ("postgres", "db.t3.micro"), ("postgres", "db.t4g.medium"), ("postgres", "db.t2.micro"),
    ("postgres", "db.m5.large"), ("postgres", "db.m6g.xlarge"), ("postgres", "db.m5.2xlarge"),
    ("postgres", "db.r6g.2xlarge"), ("mysql", "db.t3.micro"), ("mysql", "db.m6g.large"),
    ("aurora-postgresql", "db.r6g.large"), ("aurora-mysql", "db.r6g.large"),
)


def budget_table(classes: tuple[tuple[str, str], ...] = README_CLASSES, tasks: int = 4) -> str:
    """Defaults per class: usable connections, Lambda cap and pool per task at ``tasks`` max tasks."""
    rows = [
        "| engine | class | max_connections | usable | reserve | Lambda cap (proxy %) "
        f"| pool per task ({tasks} tasks, 200 % deploys) | source |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for engine, cls in classes:
        limit = describe_connection_limit(engine, cls)
        ledger = ConnectionLedger(limit)
        serverless = plan_serverless(limit, ledger.available)
        containers = plan_containers(limit, ledger.available, max_tasks=tasks)
        source = "estimate (formula)" if limit.estimate else limit.source
        rows.append(
            f"| {engine} | {cls} | {limit.max_connections} | {limit.usable} | {ledger.reserve} "
            f"| {serverless.reserved_concurrency} ({serverless.proxy.max_connections_percent} %) "
            f"| {containers.pool_size} | {source} |")
    return "\n".join(rows) + "\n"


def _example_pool() -> PoolContract:
    """The pool a ContainerService on db.t3.micro with 4 max tasks gets (the README's example)."""
    limit = describe_connection_limit("postgres", "db.t3.micro")
    return plan_containers(limit, ConnectionLedger(limit).available, max_tasks=4).pool


def client_table() -> str:
    """README: per client, which option takes which pool contract variable (db.t3.micro, 4 tasks)."""
    pool = _example_pool()
    env = " ".join(f"`{k}={v}`" for k, v in pool.environment().items())
    return (f"What a `ContainerService` on db.t3.micro (4 max tasks) renders: {env}.\n\n"
            + recipes_table(pool))


def client_recipes() -> str:
    """docs/clients.md: every client's recipe with the numbers of the db.t3.micro example."""
    pool = _example_pool()
    return "\n".join(recipe(client, pool).markdown() for client in CLIENTS) + "\n" + recipe(
        "prisma7", pool, postgres=False).markdown()

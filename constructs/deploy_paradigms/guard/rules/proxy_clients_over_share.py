"""The clients behind an RDS Proxy can hold no more than the proxy's share of the database."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Finding, Model, Rule


def check(model: Model) -> Iterator[Finding]:
    for db, limit in model.governed_databases():
        for proxy in model.proxies_of(db):
            clients = [model.consumer(c, proxy) for c in model.clients()
                       if (route := model.route(c, db)) is not None and route.proxy is proxy]
            bounded = [c for c in clients if c.connections is not None]
            total = sum(c.connections or 0 for c in bounded)
            share = model.proxy_connections(proxy, limit)
            if not bounded or total <= share:
                continue  # unreserved clients are lambda-reserved-concurrency's finding
            listed = "; ".join(f"{c.resource.path} {c.connections} ({c.detail})" for c in bounded)
            yield Finding(RULE.id, proxy.name, proxy.path,
                          f"clients can hold {total} connections through this proxy, over the {share} "
                          f"database connections it may open on {db.path} ({limit.engine.value} "
                          f"{limit.instance_class}, "
                          f"{limit.usable} usable): {listed}; each client of a pinned session keeps its own "
                          f"database connection", "max_connections_percent")


RULE = Rule(
    id="proxy-clients-over-share",
    category="budget",
    reason="RDS Proxy opens at most MaxConnectionsPercent of the database's max_connections; when the "
           "functions and services behind it can run more clients than that (reserved concurrency x "
           "connection_limit, tasks x pool), pinned sessions (Prisma's prepared statements) wait for a "
           "connection and time out once the proxy's share is used up.",
    fix="Lower the clients' reserved concurrency (or pool x tasks) to at most the proxy's database "
        "connections, raise the proxy's MaxConnectionsPercent within the budget, or give each function its "
        "own proxy (ServerlessFunction sizes both from the plan).",
    check=check,
)

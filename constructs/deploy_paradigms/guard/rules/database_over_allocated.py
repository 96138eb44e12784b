"""What can hold connections on one database fits its connection limit."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Finding, Model, Rule


def check(model: Model) -> Iterator[Finding]:
    for db, limit in model.governed_databases():
        consumers = [c for c in model.consumers(db, limit) if c.connections is not None]
        total = sum(c.connections or 0 for c in consumers)
        if total <= limit.usable:
            continue
        shares = "; ".join(f"{c.resource.path} {c.connections} ({c.detail})" for c in consumers)
        yield Finding(RULE.id, db.name, db.path,
                      f"consumers can hold {total} connections together, over the {limit.usable} usable on "
                      f"{limit.engine.value} {limit.instance_class} (max_connections {limit.max_connections}"
                      f" - {limit.reserved} reserved): {shares}", "connections")


RULE = Rule(
    id="database-over-allocated",
    category="budget",
    reason="When the proxies, functions and services attached to one database can together open more "
           "connections than it accepts, a traffic peak or a deploy makes new connections fail for "
           "everyone, including migrations and admin sessions.",
    fix="Give each consumer an explicit smaller share (connections=, reserved concurrency, pool size, "
        "max tasks, proxy MaxConnectionsPercent) or use a larger instance class.",
    check=check,
)

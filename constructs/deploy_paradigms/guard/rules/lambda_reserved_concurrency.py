"""A Lambda function that can reach a governed database has reserved concurrency."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Finding, Model, Rule


def check(model: Model) -> Iterator[Finding]:
    governed = model.governed_databases()
    for fn in model.of_kind("function"):
        if fn.props.get("reserved_concurrency") is not None:
            continue
        for db, limit in governed:
            route = model.route(fn, db)
            if route is None:
                continue
            yield Finding(RULE.id, fn.name, fn.path,
                          f"reaches database {db.path} ({limit.engine.value} {limit.instance_class}, "
                          f"{limit.usable} usable connections) {route.describe()} without reserved "
                          f"concurrency: each concurrent execution opens its own connection, up to the "
                          f"account's concurrency limit", "reserved_concurrency")
            break


RULE = Rule(
    id="lambda-reserved-concurrency",
    category="budget",
    reason="Lambda scales to the account's concurrency (1000 by default) and every execution "
           "environment holds its own connection, so an unreserved function can open more connections "
           "than the database has (Prisma deployment docs: concurrency x connection_limit <= limit).",
    fix="Set reserved concurrency to at most the function's share of the connection budget "
        "(ServerlessFunction sets it from the plan; `deploy-paradigms budget` prints the number).",
    check=check,
)

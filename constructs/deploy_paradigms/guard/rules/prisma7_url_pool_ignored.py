"""A Prisma 7 app must not rely on ``connection_limit``: Prisma 7 ignores the URL's pool parameters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ...runtime import settings
from ..model import Finding, Model, Rule, url_connection_limit

#: Tags or environment variables through which an app states its client (Prisma 7: the
#: template cannot see package.json). ``deploy-paradigms:client=prisma7`` or a Prisma version.
CLIENT_TAG = "deploy-paradigms:client"
PRISMA_VERSION_KEYS = ("PRISMA_VERSION", "PRISMA_CLIENT_VERSION")


def is_prisma7(props: Mapping[str, Any], env: Mapping[str, Any]) -> bool:
    tags = props.get("tags") or {}
    declared = str(tags.get(CLIENT_TAG) or env.get("DATABASE_CLIENT") or "").lower()
    if declared.replace(" ", "") in ("prisma7", "prisma@7"):
        return True
    return any(str(env.get(k) or "").lstrip("v^~").startswith("7") for k in PRISMA_VERSION_KEYS)


def check(model: Model) -> Iterator[Finding]:
    for client in model.of_kind("function", "service"):
        env = client.props.get("environment") or {}
        limit = url_connection_limit(env)
        if limit is None or env.get(settings.POOL_MAX) is not None or not is_prisma7(client.props, env):
            continue
        yield Finding(RULE.id, client.name, client.path,
                      f"is a Prisma 7 app whose only pool setting is connection_limit={limit} in the URL, "
                      f"which Prisma 7 ignores: its adapter opens up to 10 connections per process "
                      f"(node-postgres Pool max) and waits for one forever", settings.POOL_MAX)


RULE = Rule(
    id="prisma7-url-pool-ignored",
    category="budget",
    reason="Prisma ORM 7 removed the connection URL's pool parameters (connection_limit, pool_timeout): "
           "the driver adapter's pool decides, with node-postgres defaults (max 10, no acquire timeout).",
    fix="Render the pool contract (DATABASE_POOL_MAX, DATABASE_POOL_TIMEOUT_MS...) and pass it to the "
        "adapter: `deploy-paradigms budget --client prisma7` prints the code.",
    check=check,
)

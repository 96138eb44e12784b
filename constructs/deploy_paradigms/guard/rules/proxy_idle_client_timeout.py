"""RDS Proxy drops idle clients sooner than its 30-minute default."""

from __future__ import annotations

from collections.abc import Iterator

from ...budget import PROXY_DEFAULT_IDLE_CLIENT_TIMEOUT_S
from ..model import Finding, Model, Rule


def check(model: Model) -> Iterator[Finding]:
    for proxy in model.of_kind("proxy"):
        timeout = proxy.props.get("idle_client_timeout_s")
        if timeout is None or timeout >= PROXY_DEFAULT_IDLE_CLIENT_TIMEOUT_S:
            shown = "left at the default" if timeout is None else f"set to {timeout} s"
            yield Finding(RULE.id, proxy.name, proxy.path,
                          f"the idle client timeout is {shown} ({PROXY_DEFAULT_IDLE_CLIENT_TIMEOUT_S} s is "
                          f"RDS Proxy's default): a frozen Lambda environment keeps its client connection, "
                          f"and a pinned database connection, for half an hour", "idle_client_timeout_s")


RULE = Rule(
    id="proxy-idle-client-timeout",
    category="budget",
    reason="Lambda freezes idle execution environments without closing their connections; with "
           "RDS Proxy's default IdleClientTimeout of 1800 s these zombie clients, and any database "
           "connection pinned to them, stay counted for 30 minutes (RDS user guide, RDS Proxy "
           "IdleClientTimeout; Prisma deployment docs on zombie connections).",
    fix="Set the proxy's idle client timeout well under 1800 s (ServerlessFunction uses 120 s: "
        "idle_client_timeout_s=).",
    check=check,
)

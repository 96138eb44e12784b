"""RDS Proxy refuses clients that do not use TLS."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Finding, Model, Rule


def check(model: Model) -> Iterator[Finding]:
    for proxy in model.of_kind("proxy"):
        if proxy.props.get("require_tls") is not True:
            yield Finding(RULE.id, proxy.name, proxy.path,
                          f"the proxy accepts unencrypted clients (RequireTLS is "
                          f"{proxy.props.get('require_tls')!r}; CloudFormation's default is false)",
                          "require_tls")


RULE = Rule(
    id="proxy-requires-tls",
    category="security",
    reason="Without RequireTLS a client may send its password or IAM token and every query in clear "
           "text inside the VPC; the proxy can enforce TLS for all clients at no cost.",
    fix="Set require_tls=True on the proxy (CDK DatabaseProxy's default; the constructs always set it).",
    check=check,
)

"""No database (or proxy in front of one) is reachable from the internet."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Finding, Model, Rule


def check(model: Model) -> Iterator[Finding]:
    for res in model.of_kind("database", "database_member"):
        if res.props.get("publicly_accessible") is True:
            yield Finding(RULE.id, res.name, res.path,
                          "the database is publicly accessible (PubliclyAccessible is true): it gets a "
                          "public IP and DNS name", "publicly_accessible")
    for res in model.of_kind("database", "proxy"):
        open_rules = [r for r in model.ingress_on(res.props.get("security_groups") or ()) if r.public]
        if open_rules:
            where = ", ".join(f"{r.cidr} on {r.group}" for r in open_rules)
            what = "database" if res.kind == "database" else "RDS Proxy"
            yield Finding(RULE.id, res.name, res.path,
                          f"the {what}'s security group admits the whole internet ({where})",
                          "security_groups")


RULE = Rule(
    id="no-public-database",
    category="security",
    reason="A database with a public address, or a security group open to 0.0.0.0/0 or ::/0, can be "
           "probed and brute-forced from anywhere; only the application's own security groups should "
           "reach it, from private subnets.",
    fix="Set publicly_accessible false, place the database in isolated subnets and admit only the "
        "consumers' security groups on the database port (Database.allow_from).",
    check=check,
)

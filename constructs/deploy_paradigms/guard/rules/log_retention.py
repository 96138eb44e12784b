"""Every log group has a retention period."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Finding, Model, Rule


def check(model: Model) -> Iterator[Finding]:
    for group in model.of_kind("log_group"):
        days = group.props.get("retention_days")
        if not isinstance(days, int) or days <= 0:
            yield Finding(RULE.id, group.name, group.path,
                          "the log group keeps its events forever (no RetentionInDays)", "retention_days")


RULE = Rule(
    id="log-retention",
    category="security",
    reason="Logs without retention grow (and are billed) forever and keep whatever personal data they "
           "hold forever; a retention period bounds both.",
    fix="Set a retention period (the constructs use one month: logs.RetentionDays.ONE_MONTH / "
        "retention_in_days=30).",
    check=check,
)

"""Databases cannot be deleted by accident."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Finding, Model, Rule


def check(model: Model) -> Iterator[Finding]:
    for db in model.of_kind("database"):
        if db.props.get("deletion_protection") is not True:
            yield Finding(RULE.id, db.name, db.path,
                          f"deletion protection is off (DeletionProtection is "
                          f"{db.props.get('deletion_protection')!r}): one stack delete or replacement "
                          f"removes the database", "deletion_protection")


RULE = Rule(
    id="deletion-protection",
    category="security",
    reason="A stack deletion, a refactor that renames the resource, or a replacing change would delete "
           "the database; deletion protection makes RDS refuse until someone turns it off on purpose.",
    fix="Keep deletion_protection=True (the default of the Database constructs); turn it off "
        "explicitly in the change that really retires the database.",
    check=check,
)

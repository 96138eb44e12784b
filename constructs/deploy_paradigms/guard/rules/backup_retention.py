"""Databases keep at least a week of automated backups."""

from __future__ import annotations

from collections.abc import Iterator

from ...plans.database import MIN_BACKUP_RETENTION_DAYS
from ..model import Finding, Model, Rule


def check(model: Model) -> Iterator[Finding]:
    for db in model.of_kind("database"):
        days = db.props.get("backup_retention_days")
        if not isinstance(days, int) or days < MIN_BACKUP_RETENTION_DAYS:
            shown = "not set (the service default is 1 day)" if days is None else f"{days} day(s)"
            yield Finding(RULE.id, db.name, db.path,
                          f"automated backups are kept {shown}, under the {MIN_BACKUP_RETENTION_DAYS}-day "
                          f"minimum", "backup_retention_days")


RULE = Rule(
    id="backup-retention",
    category="security",
    reason=f"Point-in-time recovery reaches back only as far as the automated backups; with fewer than "
           f"{MIN_BACKUP_RETENTION_DAYS} days, a bad migration or deleted rows noticed after a weekend "
           f"cannot be undone.",
    fix=f"Set backup retention to at least {MIN_BACKUP_RETENTION_DAYS} days (the Database constructs' "
        f"default and minimum).",
    check=check,
)

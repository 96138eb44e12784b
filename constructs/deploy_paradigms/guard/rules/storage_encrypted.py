"""Databases encrypt their storage at rest."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Finding, Model, Rule


def check(model: Model) -> Iterator[Finding]:
    for db in model.of_kind("database"):
        if db.props.get("storage_encrypted") is not True:
            yield Finding(RULE.id, db.name, db.path,
                          "storage is not encrypted (StorageEncrypted is "
                          f"{db.props.get('storage_encrypted')!r}); set it to true", "storage_encrypted")


RULE = Rule(
    id="storage-encrypted",
    category="security",
    reason="Unencrypted RDS storage leaves the data, its automated backups and every snapshot readable "
           "to whoever obtains them, and encryption can only be chosen when the database is created "
           "(RDS user guide, 'Encrypting Amazon RDS resources'). Log groups are not flagged: CloudWatch "
           "Logs encrypts all log data at rest (a customer-managed KMS key is optional).",
    fix="Create the database with storage encryption (the Database constructs always do); an existing "
        "one is encrypted by restoring an encrypted copy of a snapshot.",
    check=check,
)

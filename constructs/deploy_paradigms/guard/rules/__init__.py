"""The guard rules, one per module. Each module defines ``RULE`` (id, category, reason, fix, check)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import (
    backup_retention,
    database_over_allocated,
    deletion_protection,
    ecs_pool_exceeds_allocation,
    lambda_reserved_concurrency,
    least_privilege_iam,
    log_retention,
    no_public_database,
    no_secrets,
    prisma7_url_pool_ignored,
    proxy_idle_client_timeout,
    proxy_requires_tls,
    storage_encrypted,
)

if TYPE_CHECKING:  # the annotations only; Rule's home is guard.model
    from ..model import Rule

SECURITY_RULES: tuple[Rule, ...] = (
    storage_encrypted.RULE,
    no_public_database.RULE,
    proxy_requires_tls.RULE,
    deletion_protection.RULE,
    backup_retention.RULE,
    log_retention.RULE,
    least_privilege_iam.RULE,
    no_secrets.RULE,
)
BUDGET_RULES: tuple[Rule, ...] = (
    lambda_reserved_concurrency.RULE,
    database_over_allocated.RULE,
    proxy_idle_client_timeout.RULE,
    ecs_pool_exceeds_allocation.RULE,
    prisma7_url_pool_ignored.RULE,
)
ALL_RULES: tuple[Rule, ...] = SECURITY_RULES + BUDGET_RULES

__all__ = ["ALL_RULES", "BUDGET_RULES", "SECURITY_RULES"]

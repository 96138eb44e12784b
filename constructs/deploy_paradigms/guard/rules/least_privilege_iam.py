"""Identity policies grant no wildcard actions, and no data action on every resource."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..model import Finding, Model, Rule

#: Services whose resources hold or guard the data (databases, secrets, keys, objects).
DATA_SERVICES = ("rds", "rds-db", "rds-data", "secretsmanager", "kms", "s3", "dynamodb", "ssm")
#: Actions AWS offers no resource-level permission for: ``*`` is the only valid resource.
_LIST_ONLY = re.compile(r"^(\w[\w-]*):(Describe|List)[A-Za-z]*$")


def _problems(statement: Mapping[str, Any]) -> list[str]:
    if str(statement.get("effect", "Allow")) != "Allow":
        return []
    actions = [str(a) for a in statement.get("actions") or []]
    resources = [str(r) for r in statement.get("resources") or []]
    found = []
    if statement.get("not_actions"):
        found.append("Allow with NotAction grants every other action of every service")
    for action in actions:
        service, _, name = action.partition(":")
        if action == "*":
            found.append("action '*' (every action of every service)")
        elif service.lower() in DATA_SERVICES and "*" in name and name.strip("*") == "":
            found.append(f"action {action!r} (every {service} action)")
        elif service.lower() in DATA_SERVICES and "*" in resources and not _LIST_ONLY.match(action):
            found.append(f"data action {action!r} on resource '*'")
        elif service.lower() == "rds-db" and any(":dbuser:*" in r or r.endswith("dbuser:*/*")
                                                 for r in resources):
            found.append(f"{action!r} as any user of any database (dbuser:*)")
    return found


def check(model: Model) -> Iterator[Finding]:
    for res in model.of_kind("policy", "role"):
        for index, statement in enumerate(res.props.get("statements") or []):
            for problem in _problems(statement):
                yield Finding(RULE.id, res.name, res.path, f"statement {index} allows {problem}",
                              f"statements[{index}]")


RULE = Rule(
    id="least-privilege-iam",
    category="security",
    reason="A wildcard action (`*`, `rds-db:*`, `secretsmanager:*`, ...) or a data action on every "
           "resource lets a compromised function read every secret or connect to every database in the "
           "account, not just its own.",
    fix="Grant the exact actions on the exact resources: rds-db:connect on the proxy or database user "
        "ARN (grant_connect), secretsmanager:GetSecretValue on the one secret (secret.grant_read).",
    check=check,
)

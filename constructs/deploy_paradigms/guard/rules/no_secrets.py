"""No secret value in a template, a resource graph or an environment variable."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ...plans.environment import is_secret_key
from ..cfn import text
from ..model import Finding, Model, Rule

__all__ = ["RULE", "is_secret_key", "scan"]

#: CloudFormation dynamic references that put the secret's value into the resource configuration.
RESOLVED_SECRET = re.compile(r"\{\{resolve:(secretsmanager|ssm-secure):", re.IGNORECASE)
#: Values that are credentials whatever their key.
CREDENTIAL_PATTERNS = (
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), "an AWS access key id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE), "a URL with a password"),
)
#: Placeholders the renderers use for values that are not literals, and flags written as text.
_NOT_LITERAL = ("[unknown]", "true", "false", "True", "False")
SECRET_MASK = "[secret]"


def _walk(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(path, key, leaf) for every leaf; ``{"Name": k, "Value": v}`` pairs count as key ``k``;
    JSON text (policies, container definitions) is walked inside; ``Fn::Join`` is joined."""
    if isinstance(value, str):
        parsed = _json(value)
        if parsed is not None:
            yield from _walk(parsed, path)
        return
    if isinstance(value, Mapping):
        if len(value) == 1 and "Fn::Join" in value:
            yield path, path.rsplit(".", 1)[-1], text(value)
            return
        pair_key = value.get("Name", value.get("name"))
        skip = ""
        if isinstance(pair_key, str) and ("Value" in value or "value" in value):
            skip = "Value" if "Value" in value else "value"
            yield f"{path}.{pair_key}", pair_key, value[skip]
        for key, item in value.items():
            if key == skip:
                continue
            child = f"{path}.{key}" if path else str(key)
            if isinstance(item, Mapping | list) or (isinstance(item, str) and _json(item) is not None):
                yield from _walk(item, child)
            else:
                yield child, str(key), item
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def _json(value: str) -> Any:
    if value.lstrip()[:1] not in ("{", "["):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, Mapping | list) else None


def scan(document: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(location, what) for every secret-looking value in ``document``."""
    for where, key, leaf in _walk(document, path):
        if isinstance(leaf, str):
            if RESOLVED_SECRET.search(leaf):
                yield where, "a resolved secret reference ({{resolve:...}}): the value is written into " \
                             "the resource's configuration"
                continue
            for pattern, what in CREDENTIAL_PATTERNS:
                if pattern.search(leaf):
                    yield where, f"{what} in clear text"
                    break
            else:
                if is_secret_key(key) and leaf and leaf not in _NOT_LITERAL \
                        and not leaf.startswith(("${", "arn:")):
                    what = ("a secret value (encrypted in the Pulumi state, still part of the graph)"
                            if leaf == SECRET_MASK else "a literal value")
                    yield where, f"{key!r} holds {what}"


def _environment_findings(model: Model) -> Iterator[Finding]:
    for res in model.of_kind("function", "task_definition"):
        envs = ([("environment", res.props.get("environment") or {})] if res.kind == "function" else
                [(f"containers[{c.get('name')}].environment", c.get("environment") or {})
                 for c in res.props.get("containers") or []])
        for where, env in envs:
            for key in env:
                if is_secret_key(str(key)):
                    yield Finding(RULE.id, res.name, res.path,
                                  f"environment variable {key!r} carries a secret: environment values are "
                                  f"readable by anyone who can read the configuration; pass a Secrets "
                                  f"Manager ARN (or an ECS secret) instead", f"{where}.{key}")


def check(model: Model) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    for res in model:
        for where, what in scan(res.raw):
            seen.add((res.name, where.rsplit(".", 1)[-1]))
            yield Finding(RULE.id, res.name, res.path, what, where)
    for finding in _environment_findings(model):  # a key already reported for its literal value is enough
        if (finding.resource, finding.location.rsplit(".", 1)[-1]) not in seen:
            yield finding


RULE = Rule(
    id="no-secrets",
    category="security",
    reason="Templates, Pulumi state and resource configurations are read by many people and tools "
           "(CI logs, the console, describe calls); a password, token or access key written into them, "
           "or into an environment variable, is disclosed to all of them.",
    fix="Keep credentials in Secrets Manager: RDS-managed master passwords, IAM database auth, "
        "DATABASE_SECRET_ARN read at run time, ECS secrets (valueFrom) for containers.",
    check=check,
)

"""Physical names AWS requires to be unique, built from the project, stack and component.

Framework-free: the names obey AWS's own rules, which tests encode (a mock accepts anything).
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["ECS_FAMILY", "RDS_PROXY_NAME", "RDS_PROXY_NAME_MAX", "rds_proxy_name", "task_family"]

#: RDS Proxy's rule (CreateDBProxy ``DBProxyName``): 1-60 letters, digits and hyphens, starting
#: with a letter, no two consecutive hyphens, not ending with a hyphen.
RDS_PROXY_NAME = re.compile(r"^[A-Za-z](?!.*--)[A-Za-z0-9-]*(?<!-)$")
RDS_PROXY_NAME_MAX = 60
#: ECS task definition family (RegisterTaskDefinition ``family``): up to 255 letters, digits,
#: hyphens and underscores.
ECS_FAMILY = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_NOT_NAME = re.compile(r"[^a-z0-9]+")
_SUFFIX = "-proxy"
_HASH = 8


def rds_proxy_name(*parts: str) -> str:
    """``<project>-<stack>-<component>-proxy``, lowercased, unique per account and Region.

    Two projects with the same stack name get different names. Too long for the 60-character
    limit, the readable prefix is shortened and a hash of all parts keeps it unique.
    """
    text = _NOT_NAME.sub("-", "-".join(parts).lower()).strip("-")
    text = text if text[:1].isalpha() else f"p-{text}".rstrip("-")
    room = RDS_PROXY_NAME_MAX - len(_SUFFIX)
    if len(text) > room:
        digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:_HASH]
        text = f"{text[:room - _HASH - 1].rstrip('-')}-{digest}"
    return text + _SUFFIX


def task_family(*parts: str) -> str:
    """``<project>-<stack>-<component>``: an ECS task family unique per project and stack."""
    text = re.sub(r"[^A-Za-z0-9_-]+", "-", "-".join(parts)).strip("-") or "task"
    if len(text) > 255:
        text = f"{text[:246]}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return text

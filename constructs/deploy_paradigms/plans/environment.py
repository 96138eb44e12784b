"""Checks on the extra environment variables users hand to functions and tasks.

Environment variables are stored in plain text in the function configuration or
task definition and shown to anyone who can read it, so a key that names a
credential (:func:`is_secret_key`, the rule the guard's ``no-secrets`` uses too),
a value that looks like one, or a key that would override the database settings
contract is refused at synth/construction time. A key that points at a secret
(``..._ARN``, ``..._ARNS``, ``..._NAME``, ``..._ID``) or describes one
(``..._TTL``, ``..._TIMEOUT``, ``..._VERSION``) is fine.

Framework-free: the CDK and Pulumi constructs call the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..budget import InputError
from ..runtime import settings

#: Variables the constructs set from the database (the runtime settings contract).
DATABASE_CONTRACT = (*settings.ALL, settings.PASSWORD_FROM_ECS_SECRET, "DATABASE_URL")
#: Name prefixes the constructs own: a user key with one of them could override a construct's
#: setting or point the runtime's AWS calls elsewhere (``AWS_ENDPOINT_URL_SECRETS_MANAGER``).
#: Compared case-insensitively.
RESERVED_PREFIXES = ("DATABASE_", "AWS_ENDPOINT_URL")
#: ``DataEndpoint`` also owns ``DATA_ENDPOINT_*`` (``DATA_ENDPOINT_HMAC_SECRET_ARN=""`` would turn
#: signing off, ``DATA_ENDPOINT_MAX_RESPONSE_BYTES`` would lift the 6 MB check).
DATA_ENDPOINT_PREFIXES = (*RESERVED_PREFIXES, "DATA_ENDPOINT_")

_SECRET_WORDS = ("password", "passwd", "passphrase", "secret", "token", "credential", "privatekey", "apikey",
                 "accesskey")
#: Keys naming *where* a secret is, or a setting about it, not the secret itself.
_POINTER_SUFFIXES = ("arn", "arns", "id", "ids", "name", "names", "valuefrom", "length", "version",
                     "type", "types", "status", "scheme", "kmskeyid", "keyid", "policy", "ttl", "timeout",
                     "validity", "enabled", "rotation", "manager", "managed",
                     # GenerateSecretString's SecretStringTemplate: the non-secret fields (a password
                     # inside a JSON template is still found: the guard walks the JSON).
                     "template")
#: CloudFormation custom-resource plumbing: ``ServiceToken`` is the provider's ARN and aws-cdk's
#: ``RefreshToken`` a hash that forces an update; neither is a credential.
_NOT_SECRET_KEYS = ("servicetoken", "refreshtoken")
SECRET_VALUE = (
    re.compile(r"\{\{resolve:(secretsmanager|ssm-secure):"),  # CloudFormation dynamic reference
    re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"),  # AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"^[a-z][a-z0-9+.-]*://[^/:@\s]+:[^@\s]+@", re.IGNORECASE),  # URL with a password
)


def is_secret_key(key: str) -> bool:
    """Whether ``key`` names a credential: the one rule for constructs and the guard.

    ``DB_PASSWORD``, ``PASSPHRASE``, ``apiToken``, ``SecretString`` yes; keys that point at a
    secret or describe it (``DATABASE_SECRET_ARN``, ``GITHUB_TOKEN_ARNS``, ``SecretId``,
    ``DB_PASSWORD_TTL``, ``TOKEN_TIMEOUT``, ``SESSION_SECRET_VERSION``) no.
    """
    norm = re.sub(r"[^a-z]", "", key.lower())
    if norm in _NOT_SECRET_KEYS:
        return False
    if not (any(word in norm for word in _SECRET_WORDS) or norm == "pwd" or norm.endswith("pwd")):
        return False
    return not norm.endswith(_POINTER_SUFFIXES)


def check_environment(
    environment: Mapping[str, Any] | None,
    *,
    owner: str,
    readable_by: str,
    instead: str,
    reserved: tuple[str, ...] = DATABASE_CONTRACT,
    reserved_prefixes: tuple[str, ...] = RESERVED_PREFIXES,
    resolved: Mapping[str, str] | None = None,
    strings_only: bool = False,
) -> dict[str, Any]:
    """Return ``environment`` as a dict, or raise :class:`InputError` naming the key and the fix.

    ``instead`` says where the value belongs (``{key}`` is replaced by the key).
    ``resolved`` maps keys to values as the engine will render them (CDK tokens
    resolved). Values that are not strings (Pulumi Outputs) are checked by key
    only, unless ``strings_only`` refuses them.
    """
    env = dict(environment or {})
    for key, value in env.items():
        if key.upper() in {r.upper() for r in reserved} or key.upper().startswith(reserved_prefixes):
            raise InputError(f"environment[{key!r}] is reserved: {owner} sets it (names starting with "
                              f"{', '.join(reserved_prefixes)} are its own); remove it or rename it")
        if is_secret_key(key):
            raise InputError(
                f"environment[{key!r}] looks like a credential; environment variables are readable "
                f"by {readable_by}. Store it in Secrets Manager, {instead.format(key=key)}")
        rendered = (resolved or {}).get(key, value)
        if not isinstance(rendered, str):
            if strings_only:
                raise InputError(f"environment[{key!r}]={value!r} must be a string")
            continue
        for pattern in SECRET_VALUE:
            if pattern.search(rendered):
                raise InputError(
                    f"environment[{key!r}] holds a value that looks like a credential (matches "
                    f"{pattern.pattern!r}); {instead.format(key=key)}")
    return env


#: Wording for functions (both engines' ``ServerlessFunction`` and ``DataEndpoint``).
#: What AWSLambdaVPCAccessExecutionRole grants, for functions in a VPC: EC2 offers no
#: resource-level permissions for the Describe* calls, and Lambda names the interfaces.
LAMBDA_VPC_ACTIONS = ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                      "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
                      "ec2:UnassignPrivateIpAddresses")
FUNCTION_READABLE_BY = "anyone who can read the function's configuration"
FUNCTION_INSTEAD = "pass its ARN (e.g. {key}_ARN) and grant the function read access"


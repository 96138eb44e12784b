"""Every decision of the data endpoint (named queries over a function URL), framework-free.

:func:`plan_data_endpoint` checks a ``DataEndpoint``'s inputs and decides who may call it
(:func:`plan_signing`), its response-size limit, its own environment variables, the HMAC key it
generates, the SSM parameter that tells it which distribution to invalidate, the extra IAM
statements and the HTTPS egress it needs, and the options of the function it runs on (the
endpoint's defaults: Python 3.14, 15 s). The function itself is planned by
:func:`deploy_paradigms.plans.serverless.plan_serverless_function`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..budget import InputError
from ..catalog import QueryCatalog
from ..runtime import data_endpoint as endpoint_runtime
from ..runtime import invalidation
from ..runtime.data_endpoint import LAMBDA_RESPONSE_LIMIT_BYTES
from .environment import DATA_ENDPOINT_PREFIXES, FUNCTION_INSTEAD, FUNCTION_READABLE_BY, check_environment
from .serverless import ANYWHERE, HTTPS_PORT, FunctionOptions, IamStatement, SecurityRule

__all__ = [
    "CLOUDFRONT_PERMISSIONS",
    "DEFAULT_RESPONSE_SIZE_LIMIT_BYTES",
    "DEFAULT_RUNTIME",
    "DEFAULT_TIMEOUT_S",
    "HMAC_KEY_LENGTH",
    "INVALIDATION_ACTIONS",
    "DataEndpointPlan",
    "Signing",
    "SigningPlan",
    "UrlPermission",
    "cache_key_parameters",
    "check_data_endpoint_environment",
    "check_response_size_limit",
    "distribution_id_parameter_name",
    "plan_data_endpoint",
    "plan_signing",
]

#: Python for the endpoint: the newest Lambda runtime (the bundle is pure Python).
DEFAULT_RUNTIME = "python3.14"
#: The endpoint's function timeout (also CloudFront's origin read timeout for ``/data/*``).
DEFAULT_TIMEOUT_S = 15
#: Default response-size limit of a data endpoint: 1 MB keeps responses cache-friendly and far
#: below Lambda's 6 MB synchronous response quota (Lambda developer guide, "Lambda quotas").
DEFAULT_RESPONSE_SIZE_LIMIT_BYTES = 1_000_000
#: Characters of a generated HMAC key (Secrets Manager GetRandomPassword, no punctuation, no space).
HMAC_KEY_LENGTH = 64
#: What invalidating the distribution in front of the endpoint takes (on that distribution only).
INVALIDATION_ACTIONS = ("cloudfront:CreateInvalidation",)
#: What reading the HMAC key takes (what aws-cdk's ``grant_read`` grants on a secret).
HMAC_READ_ACTIONS = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")


class Signing(StrEnum):
    """Who may call the data endpoint (``DataEndpoint(signing=...)``).

    - ``cloudfront`` (default): only CloudFront, through origin access control:
      the function URL's auth type is ``AWS_IAM`` and CloudFront signs every
      origin request with SigV4. Lambda refuses anything else before the function
      runs (no invocation, no cost). What the distribution serves under ``/data/*``
      is as public as the distribution: protect writes with WAF or use ``both``.
    - ``hmac``: callers outside AWS (Cloudflare Workers, Vercel Edge, Deno
      Deploy) call the function URL directly and sign each request with a shared
      key from Secrets Manager. The URL's auth type is ``NONE`` (they hold no AWS
      credentials), so the function runs for every request and refuses unsigned
      or stale ones with 401 before it touches the database; unsigned floods cost
      invocations and can use up the reserved concurrency. Not for CloudFront.
    - ``both``: CloudFront in front (``AWS_IAM`` + origin access control) and the
      HMAC required by the function as well: outside callers sign and go through
      the distribution; cache misses and writes reach the database only signed
      (cached reads are answered by CloudFront, public by design).
    """

    CLOUDFRONT = "cloudfront"
    HMAC = "hmac"
    BOTH = "both"

    @classmethod
    def parse(cls, value: str | Signing) -> Signing:
        if isinstance(value, Signing):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise InputError(f"signing={value!r} is not a signing mode; use 'cloudfront' (default), "
                             f"'hmac' or 'both'") from None


@dataclass(frozen=True)
class SigningPlan:
    """How the data endpoint's function URL authenticates callers."""

    signing: Signing
    url_auth_type: str  # "AWS_IAM" or "NONE"
    requires_hmac: bool  # the function checks x-dp-signature on every request that reaches it
    cloudfront_origin: bool  # CloudFront may front it (origin access control + invoke permissions)


def plan_signing(signing: str | Signing) -> SigningPlan:
    """What a data endpoint's ``signing`` mode means: the function URL's auth type, whether the
    function checks an HMAC, whether CloudFront may use it as an origin. Unknown modes raise."""
    mode = Signing.parse(signing)
    if mode is Signing.HMAC:
        return SigningPlan(mode, "NONE", requires_hmac=True, cloudfront_origin=False)
    return SigningPlan(mode, "AWS_IAM", requires_hmac=mode is Signing.BOTH, cloudfront_origin=True)


def cache_key_parameters(catalog: QueryCatalog) -> tuple[str, ...]:
    """Names of the read queries' parameters (sorted, unique): what a cached GET varies by.

    Writes are POST and never cached, so their parameters stay out of the key.
    """
    return tuple(sorted({p.name for q in catalog if q.mode == "read" for p in q.params}))


def distribution_id_parameter_name(stack_name: str, endpoint_id: str) -> str:
    """SSM parameter holding the distribution id a data endpoint invalidates (same in CDK and Pulumi).

    The endpoint's function is created before the distribution (the distribution's origin is the
    function URL), so it learns the id at run time from this parameter, written once the
    distribution exists. Names allow letters, digits and ``_.-/``; other characters become ``-``.
    """
    safe = re.sub(r"[^A-Za-z0-9_.\-/]", "-", f"/deploy-paradigms/{stack_name}/{endpoint_id}/distribution-id")
    return safe[:1011]


def check_response_size_limit(value: object) -> int:
    """``value`` if it is a whole number of bytes Lambda can return (1 to 6 MB); else InputError."""
    limit = LAMBDA_RESPONSE_LIMIT_BYTES
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise InputError(f"response_size_limit_bytes={value!r} must be a whole number between 1 and {limit} "
                         f"(Lambda's 6 MB synchronous response limit); page large results with a LIMIT "
                         f"parameter instead")
    return value


def check_data_endpoint_environment(environment: Mapping[str, Any] | None) -> dict[str, Any]:
    """``DataEndpoint``'s extra variables (both engines), checked before its own are merged in."""
    return check_environment(environment, owner="DataEndpoint", readable_by=FUNCTION_READABLE_BY,
                             instead=FUNCTION_INSTEAD, reserved_prefixes=DATA_ENDPOINT_PREFIXES)


@dataclass(frozen=True)
class UrlPermission:
    """A resource-policy statement on the function: ``principal`` may call ``action``."""

    action: str
    principal: str
    #: ``function_url_auth_type`` (``NONE``) or ``invoked_via_function_url`` (True) condition.
    url_auth_type: str | None = None
    via_function_url: bool = False


CLOUDFRONT_PERMISSIONS = (UrlPermission("lambda:InvokeFunctionUrl", "cloudfront.amazonaws.com"),
                          UrlPermission("lambda:InvokeFunction", "cloudfront.amazonaws.com",
                                        via_function_url=True))


@dataclass(frozen=True)
class DataEndpointPlan:
    """Everything a renderer needs for a data endpoint beside its function's own plan."""

    label: str
    signing: SigningPlan
    response_size_limit_bytes: int
    bootstrap_schema: bool
    catalog_has_cache_tags: bool
    cache_key_parameters: tuple[str, ...]
    #: SSM parameter that will hold the distribution id (None: no write invalidates anything).
    distribution_id_parameter_name: str | None
    #: A key is generated (``hmac``/``both`` without one given).
    generate_hmac_key: bool
    hmac_key_description: str
    #: The function's options with the endpoint's defaults.
    function: FunctionOptions
    #: The endpoint's variables without the HMAC key's ARN (a resource's value), then the user's.
    environment_values: Mapping[str, str]
    extra_environment: Mapping[str, Any]
    statements: tuple[IamStatement, ...]
    #: One HTTPS rule (AWS refuses a duplicate): Secrets Manager for the key, SSM and CloudFront
    #: for invalidation; None when the function calls neither.
    https_egress: SecurityRule | None
    #: The public statements an auth-``NONE`` URL needs (or every request gets 403).
    url_permissions: tuple[UrlPermission, ...]

    @property
    def uses_hmac(self) -> bool:
        return self.signing.requires_hmac

    def cloudfront_permissions(self) -> tuple[UrlPermission, ...]:
        """The two statements a distribution needs to call the URL through origin access control
        (function URLs created since October 2025 need both); refused for an auth-NONE URL."""
        if self.signing.url_auth_type != "AWS_IAM":
            raise InputError(f"signing={self.signing.signing.value!r}: the URL's auth type is NONE, so "
                             f"origin access control cannot be used; create the DataEndpoint with "
                             f"signing='cloudfront' or 'both'")
        return CLOUDFRONT_PERMISSIONS

    def check_one_distribution(self, already_invalidates: bool) -> None:
        """A data endpoint sends its invalidations to one distribution."""
        if already_invalidates:
            raise InputError(f"{self.label} already invalidates a distribution; a data endpoint sends its "
                             f"invalidations to one distribution: put one distribution in front of it")

    def environment(self, *, hmac_secret_arn: Any) -> dict[str, Any]:
        """The endpoint's own variables (with the key's ARN when it signs), then the user's."""
        env: dict[str, Any] = dict(self.environment_values)
        if self.uses_hmac:
            env[endpoint_runtime.ENV_HMAC_SECRET_ARN] = hmac_secret_arn
        env.update(self.extra_environment)
        return env


def _check_inputs(catalog: object, signing: SigningPlan, hmac_secret_given: bool, hmac_secret_prop: str,
                  bootstrap_schema: object, function: object) -> None:
    if not isinstance(catalog, QueryCatalog):
        raise InputError(f"catalog must be a deploy_paradigms.catalog.QueryCatalog, got "
                         f"{type(catalog).__name__}; build one from NamedQuery objects")
    if hmac_secret_given and not signing.requires_hmac:
        raise InputError(f"{hmac_secret_prop} is only used with signing='hmac' or 'both'; with "
                         f"signing='cloudfront' CloudFront's SigV4 signature is the only check, so "
                         f"remove {hmac_secret_prop} or choose a signing mode that uses it")
    if not isinstance(bootstrap_schema, bool):
        raise InputError(f"bootstrap_schema={bootstrap_schema!r} must be True or False")
    if function is not None and not isinstance(function, FunctionOptions):
        raise InputError(f"function={function!r} must be a "
                         f"deploy_paradigms.plans.serverless.FunctionOptions, "
                         f"e.g. function=FunctionOptions(memory_size=1024, connections=20)")


def plan_data_endpoint(
    *,
    label: str,
    catalog: QueryCatalog,
    stack_name: str,
    endpoint_id: str,
    signing: str | Signing | None = None,
    hmac_secret_given: bool = False,
    hmac_secret_prop: str = "hmac_secret",
    response_size_limit_bytes: int | None = None,
    bootstrap_schema: bool | None = None,
    function: FunctionOptions | None = None,
    environment: Mapping[str, Any] | None = None,
) -> DataEndpointPlan:
    """Plan a data endpoint. Omitted: ``signing="cloudfront"``, responses up to 1,000,000 bytes, no
    schema bootstrap, the function's options with the endpoint's defaults (``python3.14``, 15 s;
    the rest as :func:`~deploy_paradigms.plans.serverless.plan_serverless_function`), no extra
    variables. ``stack_name``/``endpoint_id`` name the distribution-id parameter."""
    sign = plan_signing("cloudfront" if signing is None else signing)
    bootstrap = False if bootstrap_schema is None else bootstrap_schema
    _check_inputs(catalog, sign, hmac_secret_given, hmac_secret_prop, bootstrap, function)
    limit = check_response_size_limit(DEFAULT_RESPONSE_SIZE_LIMIT_BYTES if response_size_limit_bytes is None
                                      else response_size_limit_bytes)
    extra = check_data_endpoint_environment(environment)
    invalidates = any(q.invalidates for q in catalog)
    parameter = distribution_id_parameter_name(stack_name, endpoint_id) if invalidates else None
    values = {endpoint_runtime.ENV_MAX_RESPONSE_BYTES: str(limit),
              endpoint_runtime.ENV_BOOTSTRAP_SCHEMA: "true" if bootstrap else "false"}
    if parameter is not None:
        values[invalidation.ENV_DISTRIBUTION_ID_PARAMETER] = parameter
    statements = []
    if sign.requires_hmac:
        statements.append(IamStatement(HMAC_READ_ACTIONS, "hmac-secret"))
    if parameter is not None:
        statements.append(IamStatement(("ssm:GetParameter",), "ssm-parameter"))
    # CloudFront's API has no VPC endpoint: the calls leave through the VPC's NAT. One rule per
    # peer and port (AWS refuses a duplicate): the first reason names it.
    reasons = [r for r, needed in (("Secrets Manager API (HMAC signing key)", sign.requires_hmac),
                                   ("SSM and CloudFront APIs (cache invalidation on write)", invalidates))
               if needed]
    return DataEndpointPlan(
        label=label, signing=sign, response_size_limit_bytes=limit, bootstrap_schema=bootstrap,
        catalog_has_cache_tags=any(q.cache_tags for q in catalog),
        cache_key_parameters=cache_key_parameters(catalog),
        distribution_id_parameter_name=parameter,
        generate_hmac_key=sign.requires_hmac and not hmac_secret_given,
        hmac_key_description=f"HMAC-SHA256 key callers use to sign requests to {label}",
        function=(function or FunctionOptions()).with_defaults(runtime=DEFAULT_RUNTIME,
                                                               timeout_s=DEFAULT_TIMEOUT_S),
        environment_values=values, extra_environment=extra, statements=tuple(statements),
        https_egress=SecurityRule("function", ANYWHERE, HTTPS_PORT, reasons[0]) if reasons else None,
        url_permissions=(UrlPermission("lambda:InvokeFunctionUrl", "*", url_auth_type="NONE"),
                         UrlPermission("lambda:InvokeFunction", "*", via_function_url=True))
        if sign.url_auth_type == "NONE" else ())

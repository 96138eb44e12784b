"""Decisions of the edge paradigm, shared by the CDK and Pulumi renderers.

Framework-free like :mod:`deploy_paradigms.budget`: the ``EdgeFunction`` and
``DataEndpoint`` constructs of both engines call these planners and render the
plan objects they return, so a limit or a TTL is decided once.

- :func:`plan_edge_function` decides a whole edge site (:class:`EdgePlan`): the
  Lambda@Edge function against the limits of its CloudFront trigger (no
  environment variables, VPC or layers; package, memory and timeout limits; the
  caller passes the measured package size), its role and logs, the behaviours,
  cache and origin request policies, error caching, TLS, price class, the log
  bucket and the optional web ACL. Every default is resolved here; the CDK and
  Pulumi constructors only render the plan.
- :func:`plan_data_cache` decides the ``/data/*`` cache policy: honour the
  origin's ``Cache-Control`` and key on the catalog's parameter names only.
- :func:`check_anonymous_writes` refuses a distribution that lets anyone write through it.
  The data endpoint's own decisions (signing, response size, its parameter names) are in
  :mod:`deploy_paradigms.plans.data_endpoint`.
- :func:`plan_firewall` decides the optional WAF web ACL with a rate-based rule
  (``EdgeFunction(rate_limit=...)``): AWS WAF's limits, the us-east-1 placement a
  CloudFront web ACL needs, the 429 answer and the rule document both renderers use.

Limits are from the CloudFront developer guide ("Quotas on Lambda@Edge" and
"Restrictions on Lambda@Edge"): viewer triggers 128 MB, 5 s, 1 MB compressed
package; origin triggers up to 10,240 MB, 30 s, 50 MB compressed package; the
function lives in us-east-1 and is replicated from there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from .. import packaging
from ..budget import InputError
from ..catalog import CACHE_TAG_HEADER, QueryCatalog
from .checks import check_choice
from .data_endpoint import SigningPlan

__all__ = [
    "ACCESS_LOG_EXPIRATION_DAYS",
    "ACCESS_LOG_PREFIX",
    "ALL_METHODS",
    "CACHED_ERROR_CODES",
    "CACHE_DEFAULT_TTL_S",
    "CACHE_MAX_TTL_S",
    "CACHE_MIN_TTL_S",
    "CACHE_POLICY_DATA",
    "CACHE_POLICY_DISABLED",
    "CACHE_POLICY_GIVEN",
    "DATA_PATH_PATTERN",
    "DEFAULT_EDGE_RUNTIME",
    "DEFAULT_PRICE_CLASS",
    "EDGE_FUNCTION_LOG_RETENTION_DAYS",
    "EDGE_LOG_ACTIONS",
    "EDGE_REGION",
    "EDGE_ROLE_SERVICES",
    "EDGE_RUNTIMES",
    "ERROR_CACHING_MIN_TTL_S",
    "GET_HEAD",
    "HTTP_VERSION",
    "MAX_CACHE_KEY_QUERY_STRINGS",
    "MIB",
    "MINIMUM_PROTOCOL_VERSION",
    "ORIGIN_DATA",
    "ORIGIN_DATA_UNSIGNED",
    "ORIGIN_DEFAULT",
    "PRICE_CLASS_CHOICES",
    "RATE_LIMIT_MAX",
    "RATE_LIMIT_MIN",
    "RATE_LIMIT_SCOPES",
    "RATE_LIMIT_STATUS",
    "RATE_LIMIT_WINDOWS_S",
    "WAF_SCOPE",
    "WRITE_METHODS",
    "Acknowledgements",
    "BehaviourPlan",
    "DataCachePlan",
    "DataEndpointLike",
    "DataOrigin",
    "DistributionPlan",
    "EdgePlan",
    "EdgeTrigger",
    "FirewallPlan",
    "LogBucketPlan",
    "RateLimit",
    "TriggerLimits",
    "check_anonymous_writes",
    "measure_path",
    "plan_data_cache",
    "plan_edge_function",
    "plan_firewall",
    "web_acl_name",
]

MIB = 1024 * 1024
#: Lambda@Edge functions are created in US East (N. Virginia) and replicated.
EDGE_REGION = "us-east-1"
#: Runtimes Lambda@Edge accepts that this library supports (CloudFront developer
#: guide, "Lambda@Edge function restrictions: supported runtimes").
EDGE_RUNTIMES = ("python3.11", "python3.12", "nodejs20.x", "nodejs22.x")

#: The data endpoint's path on the distribution.
DATA_PATH_PATTERN = "/data/*"
#: Honour the origin's Cache-Control (CloudFront developer guide, "Controlling the
#: cache key" / "Managing how long content stays in the cache"): with MinTTL 0 and
#: DefaultTTL 0 a response without Cache-Control is not cached and ``no-store``
#: is respected; MaxTTL caps ``max-age`` at one year.
CACHE_MIN_TTL_S = 0
CACHE_DEFAULT_TTL_S = 0
CACHE_MAX_TTL_S = 365 * 24 * 3600
#: CloudFront quota "Query strings per cache policy" (allow-listed names).
MAX_CACHE_KEY_QUERY_STRINGS = 10
#: Error codes CloudFront caches from an origin (developer guide, "HTTP 4xx and 5xx status codes
#: that CloudFront caches"; 416 is listed there but never cached). Each gets an explicit error
#: caching minimum TTL: the default is 10 s, and CloudFront ignores ``no-store`` on errors except
#: 404, 410, 414 and 501 ("Control how long CloudFront caches errors"). 401 and 413 are not cached.
CACHED_ERROR_CODES = (400, 403, 404, 405, 414, 500, 501, 502, 503, 504)
#: 0: an error is never served from the cache under a URL that would otherwise succeed (one
#: viewer's bad request cannot answer the next viewer's good one); the reserved concurrency,
#: not the cache, bounds what a failing origin receives.
ERROR_CACHING_MIN_TTL_S = 0
#: Headers the data endpoint reads, forwarded to it and nothing else: the HMAC signature pair
#: (signing ``both``) and the body hash origin access control needs to sign a POST.
SIGNATURE_HEADERS = ("x-dp-signature", "x-dp-timestamp")
PAYLOAD_HASH_HEADER = "x-amz-content-sha256"

_QUERY_STRING_NAME = re.compile(r"^[A-Za-z0-9_.~-]{1,128}$")


class EdgeTrigger(StrEnum):
    """CloudFront events a Lambda@Edge function can run on (values as CloudFront names them)."""

    VIEWER_REQUEST = "viewer-request"
    VIEWER_RESPONSE = "viewer-response"
    ORIGIN_REQUEST = "origin-request"
    ORIGIN_RESPONSE = "origin-response"

    @property
    def is_viewer(self) -> bool:
        return self in (EdgeTrigger.VIEWER_REQUEST, EdgeTrigger.VIEWER_RESPONSE)

    @property
    def limits(self) -> TriggerLimits:
        return VIEWER_LIMITS if self.is_viewer else ORIGIN_LIMITS

    @classmethod
    def parse(cls, value: str | EdgeTrigger) -> EdgeTrigger:
        if isinstance(value, EdgeTrigger):
            return value
        key = str(value).strip().lower().replace("_", "-")
        try:
            return cls(key)
        except ValueError:
            known = ", ".join(t.value for t in cls)
            raise InputError(
                f"event_type={value!r} is not a CloudFront trigger; use one of: {known}") from None


@dataclass(frozen=True)
class TriggerLimits:
    """What Lambda@Edge allows on one kind of trigger (CloudFront "Quotas on Lambda@Edge")."""

    max_package_bytes: int  # compressed (zipped) deployment package
    max_memory_mb: int
    max_timeout_s: int
    default_memory_mb: int
    default_timeout_s: int


VIEWER_LIMITS = TriggerLimits(max_package_bytes=1 * MIB, max_memory_mb=128, max_timeout_s=5,
                              default_memory_mb=128, default_timeout_s=5)
ORIGIN_LIMITS = TriggerLimits(max_package_bytes=50 * MIB, max_memory_mb=10_240, max_timeout_s=30,
                              default_memory_mb=128, default_timeout_s=30)


def measure_path(path: str | os.PathLike[str]) -> int:
    """Zipped size in bytes of an edge package: a directory is zipped deterministically
    (:func:`deploy_paradigms.packaging.zipped_size`, the same bytes on every run), a
    ``.zip`` file counts as is."""
    target = Path(os.fspath(path))
    if target.is_dir():
        return packaging.zipped_size(target)
    if target.is_file() and target.suffix == ".zip":
        return target.stat().st_size
    raise InputError(f"code_path={str(target)!r} is neither a directory nor a .zip file; point it at the "
                      f"directory holding the edge handler")


def _whole(name: str, value: object, low: int, high: int, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name}={value!r} must be a whole number; {fix}")
    if not low <= value <= high:
        raise InputError(f"{name}={value} is outside {low}-{high}; {fix}")
    return value


@dataclass(frozen=True)
class DataCachePlan:
    """The ``/data/*`` cache policy: the origin's Cache-Control decides, the key is minimal.

    ``query_strings`` is the allow-list of the cache key (the query name is in the
    path, which is always part of the key); ``all_query_strings`` is True only when
    the catalog names more parameters than a cache policy can allow-list.
    No header and no cookie is part of the key.

    The origin request policy forwards the same query strings (a parameter outside the
    key never reaches the endpoint, so it cannot change the answer stored under the key)
    and only ``forwarded_headers``; errors are cached for ``error_caching_min_ttl_s``.
    """

    path_pattern: str
    min_ttl_s: int
    default_ttl_s: int
    max_ttl_s: int
    query_strings: tuple[str, ...]
    all_query_strings: bool = False
    forwarded_headers: tuple[str, ...] = (PAYLOAD_HASH_HEADER,)
    error_caching_min_ttl_s: int = ERROR_CACHING_MIN_TTL_S
    cached_error_codes: tuple[int, ...] = CACHED_ERROR_CODES

    @property
    def query_string_behavior(self) -> str:
        if self.all_query_strings:
            return "all"
        return "whitelist" if self.query_strings else "none"


def plan_data_cache(parameter_names: Iterable[str], *,
                    path_pattern: str = DATA_PATH_PATTERN, hmac_signed: bool = False) -> DataCachePlan:
    """Cache policy for the data endpoint behaviour.

    ``parameter_names`` are the names of every named query's parameters (the
    catalog's); they become the cache key's query-string allow-list, sorted and
    de-duplicated so the key is stable. More than CloudFront's 10 allow-listed
    names falls back to every query string (still correct, more cache misses when
    callers add unrelated parameters). ``hmac_signed`` (signing ``both``) forwards the
    signature headers too.
    """
    names = sorted({str(n) for n in parameter_names})
    bad = [n for n in names if not _QUERY_STRING_NAME.match(n)]
    if bad:
        raise InputError(f"catalog parameter name(s) {bad} cannot be query-string names in a cache key; "
                          f"use letters, digits, '_', '-', '.' or '~'")
    if not path_pattern.startswith("/") or not path_pattern.endswith("*"):
        raise InputError(
            f"path_pattern={path_pattern!r} must start with '/' and end with '*', e.g. '/data/*'")
    too_many = len(names) > MAX_CACHE_KEY_QUERY_STRINGS
    return DataCachePlan(path_pattern=path_pattern, min_ttl_s=CACHE_MIN_TTL_S,
                         default_ttl_s=CACHE_DEFAULT_TTL_S, max_ttl_s=CACHE_MAX_TTL_S,
                         query_strings=() if too_many else tuple(names), all_query_strings=too_many,
                         forwarded_headers=(*(SIGNATURE_HEADERS if hmac_signed else ()), PAYLOAD_HASH_HEADER))


def check_anonymous_writes(catalog: QueryCatalog, signing: SigningPlan, reason: str | None) -> None:
    """Refuse a distribution that would let anyone write: a catalog with write queries behind
    ``signing="cloudfront"`` (CloudFront signs every request it forwards, so the endpoint cannot
    tell viewers apart), unless ``reason`` acknowledges it."""
    writes = sorted(q.name for q in catalog if q.mode == "write")
    if not writes or signing.requires_hmac or (reason and reason.strip()):
        return
    raise InputError(
        f"data_endpoint serves write queries {writes} with signing={signing.signing.value!r}: anyone who "
        f"can reach the distribution can call them (CloudFront signs every request it forwards). Sign "
        f"writes (DataEndpoint(signing='both'): callers send an HMAC), serve a read-only catalog "
        f"(sample_catalog(writes=False)), or pass anonymous_writes_reason='<why this is acceptable>' "
        f"(and consider rate_limit=RateLimit(limit, scope='writes'))")


#: Days CloudFront access logs stay in the log bucket an EdgeFunction creates (an S3 lifecycle
#: expiry, not a CloudWatch Logs retention).
ACCESS_LOG_EXPIRATION_DAYS = 90

#: Retention of an edge function's own log group in us-east-1 (aws-cdk's default for the group
#: it creates: two years); the edge locations' groups are created by Lambda@Edge without one.
EDGE_FUNCTION_LOG_RETENTION_DAYS = 731

# -- the optional WAF web ACL ------------------------------------------------------------------------

#: AWS WAF's bounds on a rate-based rule (``AWS::WAFv2::WebACL`` ``RateBasedStatement``: ``Limit``
#: 10 to 2,000,000,000 requests, ``EvaluationWindowSec`` 60, 120, 300 or 600 seconds).
RATE_LIMIT_MIN = 10
RATE_LIMIT_MAX = 2_000_000_000
RATE_LIMIT_WINDOWS_S = (60, 120, 300, 600)
#: Which requests a rate-based rule counts: every request, writes only (the methods CloudFront
#: forwards to the data endpoint uncached), or everything under the data path.
RATE_LIMIT_SCOPES = ("all", "writes", "data")
#: What a client over its limit gets: 429 Too Many Requests (WAF's default block answer is 403,
#: which tells a client nothing about slowing down), with Retry-After set to the window.
RATE_LIMIT_STATUS = 429
#: Methods that can change data (what ``scope="writes"`` counts).
WRITE_METHODS = ("DELETE", "PATCH", "POST", "PUT")
#: A CloudFront web ACL: scope CLOUDFRONT, created in us-east-1 whatever the stack's Region.
WAF_SCOPE = "CLOUDFRONT"
_WAF_NAME_MAX = 128
_WAF_NAME_CHARS = re.compile(r"[^0-9A-Za-z_-]+")


@dataclass(frozen=True)
class RateLimit:
    """``EdgeFunction(rate_limit=RateLimit(...))``: at most ``limit`` requests per ``window_s``
    seconds from one IP address; over it, WAF answers 429 until the rate drops.

    ``scope``: ``"all"`` (every request, the default), ``"writes"`` (DELETE, PATCH, POST, PUT
    only) or ``"data"`` (requests under the data path, ``/data/``). A plain number
    ``rate_limit=2000`` means ``RateLimit(limit=2000)``.
    """

    limit: int
    window_s: int = 300
    scope: str = "all"


@dataclass(frozen=True)
class FirewallPlan:
    """A WAF web ACL (scope CLOUDFRONT, us-east-1) with one rate-based rule, as both renderers
    create it: ``default_action``, ``visibility_config`` and ``rules`` are in the AWS API's shape,
    which CloudFormation's ``AWS::WAFv2::WebACL`` and pulumi-aws's ``rule_json`` both take."""

    name: str
    limit: int
    window_s: int
    scope_down: str
    data_path_prefix: str
    region: str = EDGE_REGION
    scope: str = WAF_SCOPE
    aggregate_key: str = "IP"
    block_status: int = RATE_LIMIT_STATUS
    rule_name: str = "rate-limit"
    metrics_enabled: bool = True
    sampled_requests: bool = True

    @property
    def default_action(self) -> dict[str, object]:
        return {"Allow": {}}

    def visibility(self, metric_name: str) -> dict[str, object]:
        return {"CloudWatchMetricsEnabled": self.metrics_enabled, "MetricName": metric_name,
                "SampledRequestsEnabled": self.sampled_requests}

    @property
    def visibility_config(self) -> dict[str, object]:
        return self.visibility(self.name)

    def _scope_down_statement(self) -> dict[str, object] | None:
        def match(field: dict[str, object], constraint: str, value: str) -> dict[str, object]:
            return {"ByteMatchStatement": {
                "FieldToMatch": field, "PositionalConstraint": constraint, "SearchString": value,
                "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}
        if self.scope_down == "writes":
            methods = [match({"Method": {}}, "EXACTLY", method) for method in WRITE_METHODS]
            return {"OrStatement": {"Statements": methods}}
        if self.scope_down == "data":
            return match({"UriPath": {}}, "STARTS_WITH", self.data_path_prefix)
        return None

    @property
    def rules(self) -> list[dict[str, object]]:
        statement: dict[str, object] = {"Limit": self.limit, "EvaluationWindowSec": self.window_s,
                                        "AggregateKeyType": self.aggregate_key}
        scope_down = self._scope_down_statement()
        if scope_down is not None:
            statement["ScopeDownStatement"] = scope_down
        return [{
            "Name": self.rule_name, "Priority": 0,
            "Statement": {"RateBasedStatement": statement},
            "Action": {"Block": {"CustomResponse": {
                "ResponseCode": self.block_status,
                "ResponseHeaders": [{"Name": "retry-after", "Value": str(self.window_s)}]}}},
            "VisibilityConfig": self.visibility(f"{self.name}-{self.rule_name}"),
        }]

    @property
    def digest(self) -> str:
        """Changes whenever the web ACL would: what makes a cross-Region reader read its ARN again."""
        document = {"name": self.name, "scope": self.scope, "rules": self.rules}
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]

    def summary(self) -> str:
        counted = {"all": "requests", "writes": "writes", "data": f"requests under {self.data_path_prefix}"}
        return (f"WAF {self.name}: {self.limit:,} {counted[self.scope_down]} per {self.window_s} s per IP, "
                f"then {self.block_status}")


def web_acl_name(*parts: str) -> str:
    """A web ACL (and metric) name from the stack and construct: 1-128 of ``[0-9A-Za-z_-]``, unique
    per stack and construct (a hash of all parts keeps a shortened name unique)."""
    text = _WAF_NAME_CHARS.sub("-", "-".join(parts)).strip("-") or "edge"
    if len(text) > _WAF_NAME_MAX - len("-rate-limit"):
        digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8]
        text = f"{text[:_WAF_NAME_MAX - len('-rate-limit') - 9].rstrip('-')}-{digest}"
    return text


def plan_firewall(rate_limit: int | RateLimit | None, *, web_acl_id: object | None,
                  name_parts: Sequence[str],
                  data_path_pattern: str = DATA_PATH_PATTERN) -> FirewallPlan | None:
    """The web ACL ``rate_limit`` asks for, or None when it is omitted.

    Refuses (InputError, naming the input, its value, AWS's limit and the fix) a limit outside
    10-2,000,000,000, a window other than 60/120/300/600 s, an unknown scope, and ``rate_limit``
    together with ``web_acl_id`` (a distribution has one web ACL: add the rule to yours).
    """
    if rate_limit is None:
        return None
    if web_acl_id is not None:
        raise InputError(
            "rate_limit and web_acl_id together: a distribution has one web ACL, and web_acl_id is yours; "
            "add a rate-based rule to your web ACL, or drop web_acl_id to let EdgeFunction create one")
    rule = rate_limit if isinstance(rate_limit, RateLimit) else RateLimit(limit=rate_limit)
    limit = _whole("rate_limit", rule.limit, RATE_LIMIT_MIN, RATE_LIMIT_MAX,
                   "AWS WAF counts 10 to 2,000,000,000 requests per IP address per evaluation window")
    if isinstance(rule.window_s, bool) or rule.window_s not in RATE_LIMIT_WINDOWS_S:
        raise InputError(f"rate_limit window_s={rule.window_s!r} is not an AWS WAF evaluation window; "
                         f"use one "
                         f"of {', '.join(map(str, RATE_LIMIT_WINDOWS_S))} seconds")
    if rule.scope not in RATE_LIMIT_SCOPES:
        scopes = ", ".join(map(repr, RATE_LIMIT_SCOPES))
        raise InputError(f"rate_limit scope={rule.scope!r} is not one of {scopes}"
                         f": count every request, writes only, or requests under {data_path_pattern}")
    return FirewallPlan(name=web_acl_name(*name_parts), limit=limit, window_s=rule.window_s,
                        scope_down=rule.scope, data_path_prefix=data_path_pattern.rstrip("*"))


# -- the whole edge site: everything both renderers create ----------------------------------------

#: Runtime of an edge function whose ``runtime`` is omitted.
DEFAULT_EDGE_RUNTIME = "python3.12"
#: Price class of a distribution whose ``price_class`` is omitted: North America and Europe, the
#: cheapest (CloudFront's ``PriceClass_100``).
DEFAULT_PRICE_CLASS = "PriceClass_100"
PRICE_CLASS_CHOICES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
#: HTTP versions the distribution answers with.
HTTP_VERSION = "http2and3"
#: Security policy with a certificate of one's own (the ``*.cloudfront.net`` one is fixed at TLSv1).
MINIMUM_PROTOCOL_VERSION = "TLSv1.2_2021"
#: Prefix of the access logs in the log bucket.
ACCESS_LOG_PREFIX = "cloudfront/"
ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
GET_HEAD = ("GET", "HEAD")
#: Origins of the distribution (Pulumi origin ids; CDK names them itself).
ORIGIN_DATA = "data-endpoint"
ORIGIN_DATA_UNSIGNED = "data-endpoint-unsigned"
ORIGIN_DEFAULT = "default-origin"
#: Cache policies a behaviour uses: the data policy this plan decides, AWS's managed
#: CachingDisabled, or the one the user passed.
CACHE_POLICY_DATA = "data"
CACHE_POLICY_DISABLED = "caching-disabled"
CACHE_POLICY_GIVEN = "given"
#: Services the edge function's role trusts, and what it may do: write its own logs.
EDGE_ROLE_SERVICES = ("edgelambda.amazonaws.com", "lambda.amazonaws.com")
EDGE_LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")


class DataEndpointLike(Protocol):
    """What an edge site reads from a CDK or Pulumi ``DataEndpoint``."""

    catalog: QueryCatalog
    signing_plan: SigningPlan
    cache_key_parameters: tuple[str, ...]
    catalog_has_cache_tags: bool


@dataclass(frozen=True)
class DataOrigin:
    """The data endpoint as the edge plan sees it: plain values, the same in CDK and Pulumi."""

    name: str
    catalog: QueryCatalog
    signing: SigningPlan
    cache_key_parameters: tuple[str, ...]
    has_cache_tags: bool
    read_timeout_s: int

    @classmethod
    def of(cls, endpoint: DataEndpointLike, *, name: str, read_timeout_s: int) -> DataOrigin:
        return cls(name=name, catalog=endpoint.catalog, signing=endpoint.signing_plan,
                   cache_key_parameters=tuple(endpoint.cache_key_parameters),
                   has_cache_tags=bool(endpoint.catalog_has_cache_tags), read_timeout_s=read_timeout_s)


@dataclass(frozen=True)
class BehaviourPlan:
    """One cache behaviour: ``path_pattern`` None is the default behaviour."""

    path_pattern: str | None
    origin: str
    allowed_methods: tuple[str, ...]
    cache_policy: str
    origin_request_policy: str | None = None
    cached_methods: tuple[str, ...] = GET_HEAD
    viewer_protocol_policy: str = "redirect-to-https"
    compress: bool = True
    edge_trigger: EdgeTrigger | None = None
    include_body: bool = False


@dataclass(frozen=True)
class LogBucketPlan:
    """The access-log bucket an edge site creates when none is given: private, encrypted, TLS only,
    versioned, logs expiring; ACLs on (object writer), as CloudFront standard logging needs; kept
    on destroy."""

    expiration_days: int = ACCESS_LOG_EXPIRATION_DAYS
    noncurrent_expiration_days: int = ACCESS_LOG_EXPIRATION_DAYS
    versioned: bool = True
    object_ownership: str = "ObjectWriter"
    sse_algorithm: str = "AES256"
    block_public_access: bool = True
    tls_only: bool = True
    retain_on_delete: bool = True


@dataclass(frozen=True)
class DistributionPlan:
    """The CloudFront distribution: behaviours, error caching, TLS, logging, price class."""

    comment: str
    price_class: str
    default_behaviour: BehaviourPlan
    data_behaviour: BehaviourPlan | None
    error_caching: tuple[tuple[int, int], ...]
    aliases: tuple[str, ...]
    own_certificate: bool
    cache_tag_header: str | None
    data_read_timeout_s: int | None
    http_version: str = HTTP_VERSION
    ipv6: bool = True
    log_prefix: str = ACCESS_LOG_PREFIX
    log_include_cookies: bool = False
    origin_protocol_policy: str = "https-only"
    origin_ssl_protocols: tuple[str, ...] = ("TLSv1.2",)

    @property
    def minimum_protocol_version(self) -> str | None:
        return MINIMUM_PROTOCOL_VERSION if self.own_certificate else None

    @property
    def behaviours(self) -> tuple[BehaviourPlan, ...]:
        return (self.default_behaviour, *((self.data_behaviour,) if self.data_behaviour else ()))


@dataclass(frozen=True)
class Acknowledgements:
    """cdk-nag findings that stand only because the user did not decide (CDK acknowledges them;
    the same facts are documented for Pulumi)."""

    default_certificate: bool
    no_waf: bool
    no_geo_restriction: bool


@dataclass(frozen=True)
class EdgePlan:
    """Every decision of an edge site: the Lambda@Edge function (trigger, runtime, memory, timeout,
    package against its limit, role, logs), the ``/data/*`` cache and origin request policies, the
    distribution's behaviours, error caching, TLS and price class, the log bucket, the optional
    WAF web ACL, and what cdk-nag is told. Both renderers only render it."""

    trigger: EdgeTrigger
    runtime: str
    handler: str
    memory_size: int
    timeout_s: int
    package_size_bytes: int
    limits: TriggerLimits
    distribution: DistributionPlan
    acknowledgements: Acknowledgements
    cache: DataCachePlan | None = None
    log_bucket: LogBucketPlan | None = None
    firewall: FirewallPlan | None = None
    data_endpoint: DataOrigin | None = None
    display_name: str = "edge"
    role_services: tuple[str, ...] = EDGE_ROLE_SERVICES
    log_actions: tuple[str, ...] = EDGE_LOG_ACTIONS
    log_retention_days: int = EDGE_FUNCTION_LOG_RETENTION_DAYS

    @property
    def package_limit_bytes(self) -> int:
        return self.limits.max_package_bytes

    def summary(self) -> str:
        return (f"{self.trigger.value} {self.runtime}: {self.memory_size} MB, {self.timeout_s} s, package "
                f"{self.package_size_bytes:,} of {self.package_limit_bytes:,} bytes")

    @property
    def description(self) -> str:
        return f"deploy-paradigms edge: {self.summary()}"

    @property
    def role_description(self) -> str:
        return f"Lambda@Edge {self.display_name}: write its own logs, nothing else"

    @property
    def cache_policy_comment(self) -> str:
        behavior = self.cache.query_string_behavior if self.cache is not None else "none"
        return (f"{self.display_name}: honour the data endpoint's Cache-Control; key = path + {behavior} "
                f"query strings")

    @property
    def origin_request_policy_comment(self) -> str:
        headers = ", ".join(self.cache.forwarded_headers) if self.cache is not None else ""
        return f"{self.display_name}: the cache key's query strings and {headers} only"

    @staticmethod
    def log_resources(partition: str, account: str, function_name: str) -> list[str]:
        """The function's own log groups: ``/aws/lambda/us-east-1.<name>`` in whichever Region served
        the request, ``/aws/lambda/<name>`` in us-east-1 (test invokes); ``:*`` names their streams."""
        logs = f"arn:{partition}:logs"
        return [f"{logs}:*:{account}:log-group:/aws/lambda/{EDGE_REGION}.{function_name}:*",
                f"{logs}:{EDGE_REGION}:{account}:log-group:/aws/lambda/{function_name}:*"]


def _plan_lambda(trigger: str | EdgeTrigger | None, runtime: str | None, handler: str,
                 package_size_bytes: int, memory_size: int | None, timeout_s: int | None,
                 environment: Mapping[str, object] | None,
                 vpc: object | None, layers: Sequence[object] | None) -> tuple[EdgeTrigger, str, int, int]:
    """The Lambda@Edge function's trigger, runtime, memory and timeout, within its trigger's limits."""
    trig = EdgeTrigger.parse(EdgeTrigger.VIEWER_REQUEST if trigger is None else trigger)
    limits = trig.limits
    _refuse_regional_features(environment, vpc, layers)
    runtime = DEFAULT_EDGE_RUNTIME if runtime is None else runtime
    if runtime not in EDGE_RUNTIMES:
        raise InputError(f"runtime={runtime!r} is not a Lambda@Edge runtime this library supports; use one "
                         f"of: {', '.join(EDGE_RUNTIMES)}")
    if not handler or "." not in handler:
        raise InputError(f"handler={handler!r} must name module.function, e.g. 'edge_handler.handler'")
    kind = "viewer" if trig.is_viewer else "origin"
    memory = limits.default_memory_mb if memory_size is None else _whole(
        "memory_size", memory_size, 128, limits.max_memory_mb,
        f"Lambda@Edge allows at most {limits.max_memory_mb} MB on {kind} triggers"
        + ("; use an origin-request trigger for more memory" if trig.is_viewer else ""))
    timeout = limits.default_timeout_s if timeout_s is None else _whole(
        "timeout_s", timeout_s, 1, limits.max_timeout_s,
        f"Lambda@Edge allows at most {limits.max_timeout_s} s on {kind} triggers"
        + ("; move slow work to an origin-request trigger or to the data endpoint" if trig.is_viewer else ""))
    _check_package(trig, package_size_bytes)
    return trig, runtime, memory, timeout


def _refuse_regional_features(environment: Mapping[str, object] | None, vpc: object | None,
                              layers: Sequence[object] | None) -> None:
    how_config = ("bake configuration into the asset (a generated config module or JSON file next to "
                  "the handler) or read it from the request (CloudFront custom origin headers, the Host "
                  "header, the query string)")
    if environment:
        raise InputError(
            f"environment={sorted(environment)} on an edge function: Lambda@Edge does not support "
            f"environment variables; {how_config}")
    if vpc is not None:
        raise InputError(
            "vpc on an edge function: Lambda@Edge cannot run in a VPC (it runs at CloudFront edge "
            "locations); reach private resources over HTTPS through a regional endpoint such as "
            "DataEndpoint, which is the one that sits in the VPC")
    if layers:
        raise InputError(
            f"layers ({len(layers)}) on an edge function: Lambda@Edge does not support layers; bundle the "
            f"dependencies into the code directory (the whole package counts toward the size limit)")


def _check_package(trig: EdgeTrigger, size: int) -> None:
    limits = trig.limits
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InputError(f"package_size_bytes={size!r} must be a whole number of bytes")
    if size > limits.max_package_bytes:
        kind = "viewer" if trig.is_viewer else "origin"
        raise InputError(
            f"the edge function package is {size:,} bytes zipped, over the "
            f"{limits.max_package_bytes:,}-byte ({limits.max_package_bytes // MIB} MB) limit of {kind} "
            f"triggers ({trig.value}); remove dependencies the handler does not import, fetch data "
            f"through the data endpoint instead of bundling it"
            + (", or move the logic to an origin-request trigger (50 MB)" if trig.is_viewer else ""))


def _check_origins(data: DataOrigin | None, *, default_origin: bool, aliases: Sequence[str],
                   certificate: bool, anonymous_writes_reason: str | None, names: tuple[str, str]) -> None:
    if data is None and not default_origin:
        raise InputError("an EdgeFunction needs an origin for its default behaviour: pass data_endpoint "
                         "(a DataEndpoint) or default_origin")
    if data is not None and not data.signing.cloudfront_origin:
        raise InputError(
            f"data_endpoint {data.name} has signing={data.signing.signing.value!r}: its URL does not admit "
            f"CloudFront, and a cached /data/* response would be served to viewers that never signed; "
            f"create the DataEndpoint with signing='cloudfront' or 'both'")
    if data is not None:
        check_anonymous_writes(data.catalog, data.signing, anonymous_writes_reason)
    if aliases and not certificate:
        raise InputError(f"{names[0]}={list(aliases)} need {names[1]} (an ACM certificate in us-east-1 "
                         f"covering them)")


def _plan_behaviours(trig: EdgeTrigger, data: DataOrigin | None, cache: DataCachePlan | None, *,
                     default_origin: bool, default_cache_policy: bool,
                     include_body: bool) -> tuple[BehaviourPlan, BehaviourPlan | None]:
    # Without default_origin, the default behaviour points at the function URL *unsigned*: a
    # request the edge function passes through (favicon.ico, scanners) is refused by the URL's
    # IAM auth (403) before the function runs, so it spends none of the reserved concurrency
    # that /data/* cache misses need.
    default = BehaviourPlan(
        path_pattern=None, origin=ORIGIN_DEFAULT if default_origin else ORIGIN_DATA_UNSIGNED,
        allowed_methods=ALL_METHODS if include_body else GET_HEAD,
        cache_policy=CACHE_POLICY_GIVEN if default_cache_policy else CACHE_POLICY_DISABLED,
        edge_trigger=trig, include_body=include_body)
    if data is None or cache is None:
        return default, None
    # GET and HEAD cached; POST (writes) and the other methods forwarded, never cached.
    return default, BehaviourPlan(path_pattern=cache.path_pattern, origin=ORIGIN_DATA,
                                  allowed_methods=ALL_METHODS, cache_policy=CACHE_POLICY_DATA,
                                  origin_request_policy=CACHE_POLICY_DATA)


def _plan_distribution(default: BehaviourPlan, data: BehaviourPlan | None, data_endpoint: DataOrigin | None,
                       cache: DataCachePlan | None, *, price_class: str, aliases: tuple[str, ...],
                       certificate: bool, display_name: str) -> DistributionPlan:
    return DistributionPlan(
        comment=f"deploy-paradigms edge: {display_name}", price_class=price_class,
        default_behaviour=default, data_behaviour=data, aliases=aliases, own_certificate=certificate,
        error_caching=(tuple((code, cache.error_caching_min_ttl_s) for code in cache.cached_error_codes)
                       if cache is not None else ()),
        cache_tag_header=(CACHE_TAG_HEADER if data_endpoint is not None and data_endpoint.has_cache_tags
                          else None),
        data_read_timeout_s=data_endpoint.read_timeout_s if data_endpoint is not None else None)


def plan_edge_function(
    *,
    handler: str,
    package_size_bytes: int,
    trigger: str | EdgeTrigger | None = None,
    runtime: str | None = None,
    memory_size: int | None = None,
    timeout_s: int | None = None,
    environment: Mapping[str, object] | None = None,
    vpc: object | None = None,
    layers: Sequence[object] | None = None,
    data_endpoint: DataOrigin | None = None,
    default_origin: bool = False,
    default_cache_policy: bool = False,
    include_body: bool | None = None,
    aliases: Sequence[str] | None = None,
    certificate: bool = False,
    web_acl_id: object | None = None,
    rate_limit: int | RateLimit | None = None,
    geo_restriction: bool = False,
    log_bucket: bool = False,
    price_class: str | None = None,
    anonymous_writes_reason: str | None = None,
    name_parts: Sequence[str] = ("edge",),
    display_name: str = "edge",
    certificate_inputs: tuple[str, str] = ("domain_names", "certificate"),
) -> EdgePlan:
    """Every decision of an edge site, checked; raise :class:`InputError` naming the input and the fix.

    The Lambda@Edge function is checked first (``environment``, ``vpc`` and ``layers`` exist as
    inputs only to be refused with an explanation: Lambda@Edge rejects all three at deploy time),
    then the origins and the distribution. ``default_origin``, ``default_cache_policy``,
    ``certificate``, ``geo_restriction`` and ``log_bucket`` say whether the user passed one (the
    renderer holds the object); ``name_parts`` name the site (stack and construct, or project,
    stack and component) for the web ACL. Omitted values resolve here: trigger viewer-request,
    runtime python3.12, the trigger's memory and timeout, no request body, PriceClass_100.
    """
    trig, runtime, memory, timeout = _plan_lambda(trigger, runtime, handler, package_size_bytes,
                                                  memory_size, timeout_s, environment, vpc, layers)
    aliases = tuple(aliases or ())
    _check_origins(data_endpoint, default_origin=default_origin, aliases=aliases, certificate=certificate,
                   anonymous_writes_reason=anonymous_writes_reason, names=certificate_inputs)
    price = check_choice("price_class", DEFAULT_PRICE_CLASS if price_class is None else price_class,
                         PRICE_CLASS_CHOICES)
    firewall = plan_firewall(rate_limit, web_acl_id=web_acl_id, name_parts=name_parts)
    cache = (plan_data_cache(data_endpoint.cache_key_parameters,
                             hmac_signed=data_endpoint.signing.requires_hmac)
             if data_endpoint is not None else None)
    default, data = _plan_behaviours(trig, data_endpoint, cache, default_origin=default_origin,
                                     default_cache_policy=default_cache_policy,
                                     include_body=bool(include_body))
    distribution = _plan_distribution(default, data, data_endpoint, cache, price_class=price, aliases=aliases,
                                      certificate=certificate, display_name=display_name)
    return EdgePlan(
        trigger=trig, runtime=runtime, handler=handler, memory_size=memory, timeout_s=timeout,
        package_size_bytes=package_size_bytes, limits=trig.limits, distribution=distribution, cache=cache,
        acknowledgements=Acknowledgements(not certificate, web_acl_id is None and firewall is None,
                                          not geo_restriction),
        log_bucket=None if log_bucket else LogBucketPlan(), firewall=firewall, data_endpoint=data_endpoint,
        display_name=display_name)

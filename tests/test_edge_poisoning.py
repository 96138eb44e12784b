"""The /data/* cache cannot be poisoned: the attack from issue 13, replayed against the
synthesized (CDK) and rendered (Pulumi) cache and origin request policies and the real data
endpoint on a real PostgreSQL.

The attack: ``GET /data/recent_posts?limit=5&x=1``. CloudFront builds the cache key from the
cache policy (path + allow-listed query strings: ``limit=5``) and forwards to the origin what
the cache policy and the origin request policy name. If ``x=1`` reaches the endpoint it answers
400 (unexpected parameter), and CloudFront keeps a 400 for the error caching minimum TTL (10 s
unless set) under the same key as ``/data/recent_posts?limit=5``: the URL the edge page fetches.

The model of CloudFront below follows its developer guide ("Understand cache policies",
"Understand origin request policies", "HTTP 4xx and 5xx status codes that CloudFront caches",
"Control how long CloudFront caches errors"); managed policies are modelled from their
documented settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from conftest import template_of
from test_data_endpoint_runtime import db, endpoint, event  # noqa: F401 - fixtures used below
from test_edge_pulumi import example as pulumi_edge_records

from deploy_paradigms.runtime.data_endpoint import DataEndpoint

pytestmark = pytest.mark.postgres

ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # managed: every query string
DEFAULT_ERROR_CACHING_MIN_TTL_S = 10
CACHED_ERROR_CODES = {400, 403, 404, 405, 414, 500, 501, 502, 503, 504}
LEGITIMATE = "/data/recent_posts?limit=5"  # what the edge page fetches
ATTACKS = [
    "/data/recent_posts?limit=5&x=1",
    "/data/recent_posts?x=1&limit=5",
    "/data/recent_posts?limit=5&limit2=1",
    "/data/recent_posts?limit=5&utm_source=mail",
]


@dataclass(frozen=True)
class Behaviour:
    """What CloudFront does with a viewer request on the /data/* behaviour."""

    key_query: tuple[str, tuple[str, ...]]  # ("none"|"whitelist"|"all", names)
    origin_query: tuple[str, tuple[str, ...]]
    error_ttls: dict[int, int]

    def cache_key(self, url: str) -> tuple[str, str]:
        parts = urlsplit(url)
        return parts.path, urlencode(sorted(self._select(self.key_query, parts.query)))

    def forwarded_query(self, url: str) -> str:
        query = urlsplit(url).query
        forwarded = set(self._select(self.key_query, query)) | set(self._select(self.origin_query, query))
        return urlencode([p for p in parse_qsl(query, keep_blank_values=True) if p in forwarded])

    def error_ttl(self, status: int) -> int:
        if status not in CACHED_ERROR_CODES:
            return 0
        return self.error_ttls.get(status, DEFAULT_ERROR_CACHING_MIN_TTL_S)

    @staticmethod
    def _select(rule: tuple[str, tuple[str, ...]], query: str) -> list[tuple[str, str]]:
        behaviour, names = rule
        pairs = parse_qsl(query, keep_blank_values=True)
        if behaviour == "all":
            return pairs
        if behaviour in ("whitelist", "allowList"):
            return [p for p in pairs if p[0] in names]
        return []


def query_rule(config: dict[str, Any], behaviour_key: str, items_key: str) -> tuple[str, tuple[str, ...]]:
    items = config.get(items_key) or []
    if isinstance(items, dict):
        items = items.get("items") or items.get("Items") or []
    return str(config[behaviour_key]), tuple(items)


def cdk_behaviour(template: dict[str, Any]) -> Behaviour:
    resources = template["Resources"]
    (dist,) = [r for r in resources.values() if r["Type"] == "AWS::CloudFront::Distribution"]
    config = dist["Properties"]["DistributionConfig"]
    (data,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/data/*"]
    cache = resources[data["CachePolicyId"]["Ref"]]["Properties"]["CachePolicyConfig"]
    key = query_rule(cache["ParametersInCacheKeyAndForwardedToOrigin"]["QueryStringsConfig"],
                     "QueryStringBehavior", "QueryStrings")
    policy_id = data["OriginRequestPolicyId"]
    if policy_id == ALL_VIEWER_EXCEPT_HOST_HEADER:
        origin: tuple[str, tuple[str, ...]] = ("all", ())
    else:
        orp = resources[policy_id["Ref"]]["Properties"]["OriginRequestPolicyConfig"]
        origin = query_rule(orp["QueryStringsConfig"], "QueryStringBehavior", "QueryStrings")
    ttls = {int(e["ErrorCode"]): int(e["ErrorCachingMinTTL"]) for e in config.get("CustomErrorResponses", [])
            if "ErrorCachingMinTTL" in e}
    return Behaviour(key, origin, ttls)


def pulumi_behaviour(records: tuple[dict[str, Any], ...]) -> Behaviour:
    def one(rtype: str) -> dict[str, Any]:
        (found,) = [r["inputs"] for r in records if r["type"] == rtype]
        return found  # type: ignore[no-any-return]

    dist = one("aws:cloudfront/distribution:Distribution")
    (data,) = [b for b in dist["orderedCacheBehaviors"] if b["pathPattern"] == "/data/*"]
    cache = one("aws:cloudfront/cachePolicy:CachePolicy")
    key = query_rule(cache["parametersInCacheKeyAndForwardedToOrigin"]["queryStringsConfig"],
                     "queryStringBehavior", "queryStrings")
    if data["originRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER:
        origin: tuple[str, tuple[str, ...]] = ("all", ())
    else:
        orp = one("aws:cloudfront/originRequestPolicy:OriginRequestPolicy")
        origin = query_rule(orp["queryStringsConfig"], "queryStringBehavior", "queryStrings")
    ttls = {int(e["errorCode"]): int(e["errorCachingMinTtl"]) for e in dist.get("customErrorResponses") or []}
    return Behaviour(key, origin, ttls)


@pytest.fixture(scope="module")
def behaviours(synth: Callable[..., Any]) -> Iterator[dict[str, Behaviour]]:
    yield {"cdk": cdk_behaviour(template_of(synth(("Edge",)), "Edge")),
           "pulumi": pulumi_behaviour(pulumi_edge_records())}


def replay(behaviour: Behaviour, origin: DataEndpoint, attack: str) -> dict[tuple[str, str], int]:
    """The attacker's request, then what the cache holds: {cache key: status stored}."""
    cache: dict[tuple[str, str], int] = {}
    path = urlsplit(attack).path
    response = origin(event("GET", path, behaviour.forwarded_query(attack)))
    status = int(response["statusCode"])
    if status < 400 or behaviour.error_ttl(status) > 0:
        cache[behaviour.cache_key(attack)] = status
    return cache


@pytest.mark.parametrize("engine", ["cdk", "pulumi"])
@pytest.mark.parametrize("attack", ATTACKS)
def test_an_unexpected_parameter_cannot_store_an_error_under_the_page_url(
        behaviours: dict[str, Behaviour], endpoint: DataEndpoint, engine: str, attack: str) -> None:  # noqa: F811
    behaviour = behaviours[engine]
    assert behaviour.cache_key(attack) == behaviour.cache_key(LEGITIMATE), "the attack shares the page's key"
    stored = replay(behaviour, endpoint, attack)
    assert stored.get(behaviour.cache_key(LEGITIMATE), 200) == 200, (
        f"{attack} stored HTTP {stored[behaviour.cache_key(LEGITIMATE)]} under {LEGITIMATE}")
    # and the parameter never reached the endpoint
    assert "x=" not in behaviour.forwarded_query(attack).replace("limit=", "")


@pytest.mark.parametrize("engine", ["cdk", "pulumi"])
def test_no_error_the_endpoint_can_answer_is_cached(behaviours: dict[str, Behaviour], engine: str) -> None:
    behaviour = behaviours[engine]
    for status in (400, 403, 404, 405, 413, 500, 502, 503, 504):
        assert behaviour.error_ttl(status) == 0, status

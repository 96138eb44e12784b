"""The local CloudFront stand-ins follow CloudFront's rules (no database: a scripted origin)."""

from __future__ import annotations

import json
from typing import Any

from bench.cache import table
from bench.edge_cache import CachingProxy, StubCloudFront
from deploy_paradigms.catalog import CACHE_TAG_HEADER
from deploy_paradigms.runtime.aws_sigv4 import AwsCredentials, sign_headers
from deploy_paradigms.runtime.invalidation import invalidation_batch


class Origin:
    """Answers every GET with a counter, the given Cache-Control and tags."""

    def __init__(self, cache_control: str, tags: str = "", status: int = 200) -> None:
        self.cache_control, self.tags, self.status, self.calls = cache_control, tags, status, 0

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        headers = {"cache-control": self.cache_control}
        if self.tags:
            headers[CACHE_TAG_HEADER] = self.tags
        return {"statusCode": self.status, "headers": headers, "body": json.dumps({"n": self.calls})}


def proxy_for(origin: Origin) -> tuple[CachingProxy, list[float]]:
    now = [0.0]
    return CachingProxy(origin, clock=lambda: now[0]), now


def test_fresh_then_stale_while_revalidate_then_expired() -> None:
    proxy, now = proxy_for(Origin("public, max-age=60, stale-while-revalidate=30"))
    assert [proxy.get("/data/q", {"a": 1})[2:] for _ in range(2)] == [({"n": 1}, "Miss"), ({"n": 1}, "Hit")]
    now[0] = 61
    assert proxy.get("/data/q", {"a": 1})[2:] == ({"n": 1}, "RefreshHit")  # stale answer, refreshed behind
    assert proxy.get("/data/q", {"a": 1})[2:] == ({"n": 2}, "Hit")
    now[0] = 61 + 60 + 31  # past max-age + swr of the refreshed copy
    assert proxy.get("/data/q", {"a": 1})[2:] == ({"n": 3}, "Miss")


def test_no_store_private_and_errors_are_not_kept() -> None:
    for origin in (Origin("no-store"), Origin("private, max-age=60"),
                   Origin("public, max-age=60", status=500)):
        proxy, _ = proxy_for(origin)
        proxy.get("/data/q")
        assert proxy.get("/data/q")[3] == "Miss" and origin.calls == 2


def test_the_key_is_path_and_sorted_query() -> None:
    proxy, _ = proxy_for(Origin("public, max-age=60"))
    proxy.get("/data/q", "b=2&a=1")
    assert proxy.get("/data/q", {"a": 1, "b": 2})[3] == "Hit"
    assert proxy.get("/data/q", {"a": 2, "b": 2})[3] == "Miss"


def test_a_purge_drops_exactly_the_objects_with_the_tag_case_insensitively() -> None:
    origin = Origin("public, max-age=600", tags="posts, post:1")
    proxy, _ = proxy_for(origin)
    proxy.get("/data/a")
    origin.tags = "Post:2"
    proxy.get("/data/b")
    assert proxy.purge(["#POST:2"]) == 1
    assert (proxy.get("/data/a")[3], proxy.get("/data/b")[3]) == ("Hit", "Miss")
    assert proxy.purge(["#posts"]) == 1 and proxy.get("/data/a")[3] == "Miss"


def test_the_stub_refuses_what_cloudfront_refuses() -> None:
    keys = AwsCredentials("AKID", "secret")
    stub = StubCloudFront(keys, distributions={"E1"})
    path = "/2020-05-31/distribution/E1/invalidation"

    def send(items: tuple[str, ...], *, region: str = "us-east-1", service: str = "cloudfront") -> int:
        body = invalidation_batch(items, "ref-" + "-".join(items))
        headers = sign_headers(method="POST", url=f"http://stub{path}", region=region, service=service,
                               credentials=keys, headers={"content-type": "application/xml"}, body=body)
        return stub.handle("POST", path, headers, body)[0]

    assert send(("#posts",)) == 201
    assert send(("#posts",), region="eu-west-1") == 403  # CloudFront signs in us-east-1
    assert send(("#posts",), service="s3") == 403
    assert send(("#a*",)) == 400 and send(("#a,b",)) == 400 and send(("#" + "x" * 257,)) == 400
    assert [r.items for r in stub.invalidations] == [("#posts",)]


def test_the_benchmark_table_shows_both_modes() -> None:
    mode = {"lag_p50_s": 2.0, "lag_p99_s": 2.0, "lag_max_s": 2.0, "stale_read_share": 0.004,
            "hit_ratio": 0.972, "origin_calls": 795, "write_ms_p50": 6.0, "write_ms_p99": 90.0,
            "invalidations": 96, "invalidation_items": 192}
    text = table({"modes": {"tags": mode, "ttl-only": mode | {"lag_p50_s": 26.4, "invalidations": 0}}})
    assert "| tags | 2.0 s | 2.0 s | 2.0 s | 0.4% | 97.2% | 795 | 6.0 / 90.0 ms | 96 (192) |" in text
    assert "| ttl-only | 26.4 s |" in text

"""Invalidation on write, end to end: real PostgreSQL, the data endpoint, a caching proxy, a stub CloudFront.

The stub verifies each request's SigV4 signature (re-signing it with the known key) and
records invalidations; the proxy honours Cache-Control, stale-while-revalidate and tag purges.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from bench.edge_cache import CachingProxy, RecordedInvalidation, StubCloudFront
from deploy_paradigms.catalog import CACHE_TAG_HEADER, NamedQuery, QueryCatalog, QueryParam, sample_catalog
from deploy_paradigms.runtime import aws_sigv4, connection, data_endpoint
from deploy_paradigms.runtime.aws_sigv4 import AwsCredentials
from deploy_paradigms.runtime.data_endpoint import INVALIDATION_HEADER, DataEndpoint
from deploy_paradigms.runtime.invalidation import (
    ENV_DISTRIBUTION_ID_PARAMETER,
    FAILURE_METRIC,
    METRIC_NAMESPACE,
    Invalidator,
    invalidation_batch,
)
from tests.conftest import point_runtime_at
from tests.support.local_postgres import LocalPostgres, empty_sample_posts

pytestmark = pytest.mark.postgres

KEYS = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")
DISTRIBUTION = "E2QWRUHEXAMPLE"
PARAMETER = "/deploy-paradigms/Edge/DataEndpoint/distribution-id"


@pytest.fixture
def stub(postgres_server: LocalPostgres, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubCloudFront]:
    """Runtime env: the session PostgreSQL (empty posts), AWS calls to the stub, these credentials."""
    point_runtime_at(postgres_server, monkeypatch)
    empty_sample_posts(postgres_server)
    with StubCloudFront(KEYS, distributions={DISTRIBUTION}, parameters={PARAMETER: DISTRIBUTION}) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDFRONT", server.url)
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", server.url)
        monkeypatch.setenv("AWS_REGION", "eu-west-1")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEYS.access_key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEYS.secret_access_key)
        monkeypatch.setenv("AWS_SESSION_TOKEN", KEYS.session_token or "")
        aws_sigv4.reset_default_credentials()
        yield server
    aws_sigv4.reset_default_credentials()
    connection.close_connection()
    connection.set_password_provider(None)
    data_endpoint.reset()


def example_endpoint(**env: str) -> DataEndpoint:
    """The endpoint as the example deploys it: the sample catalog, the id from the SSM parameter."""
    return DataEndpoint.from_env({data_endpoint.ENV_BOOTSTRAP_SCHEMA: "true",
                                  ENV_DISTRIBUTION_ID_PARAMETER: PARAMETER, **env},
                                 catalog_path=_catalog_file(sample_catalog()))


_files: dict[str, str] = {}


def _catalog_file(catalog: QueryCatalog) -> str:
    import tempfile

    text = catalog.to_json()
    if text not in _files:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            handle.write(text)
        _files[text] = handle.name
    return _files[text]


def wire(stub: StubCloudFront, endpoint: DataEndpoint) -> CachingProxy:
    proxy = CachingProxy(endpoint.handle)
    stub.subscribers.append(lambda record: proxy.purge(record.items))
    return proxy


def test_a_write_invalidates_exactly_its_tags_and_the_next_read_is_fresh(stub: StubCloudFront) -> None:
    proxy = wire(stub, example_endpoint())
    status, headers, created, _ = proxy.post("/data/create_post", {"title": "first", "body": "b"})
    assert status == 200, created
    assert [r.items for r in stub.invalidations] == [("#posts",)]

    status, headers, body, cache = proxy.get("/data/post_by_id", {"id": 1})
    assert (status, cache, body["rows"][0]["title"]) == (200, "Miss", "first")
    assert headers[CACHE_TAG_HEADER] == "post:1"
    assert proxy.get("/data/post_by_id", {"id": 1})[3] == "Hit"
    assert proxy.get("/data/recent_posts", {})[3] == "Miss"
    assert proxy.get("/data/recent_posts", {})[3] == "Hit"

    status, headers, _, _ = proxy.post("/data/update_post", {"id": 1, "title": "second", "body": "b"})
    assert status == 200
    # Exactly one invalidation, for this distribution, of the two tags the write declares.
    last = stub.invalidations[-1]
    assert len(stub.invalidations) == 2
    assert (last.distribution_id, last.items) == (DISTRIBUTION, ("#posts", "#post:1"))
    assert headers[INVALIDATION_HEADER] == last.invalidation_id
    assert stub.rejected == []

    status, _, body, cache = proxy.get("/data/post_by_id", {"id": 1})
    assert (cache, body["rows"][0]["title"]) == ("Miss", "second")
    assert proxy.get("/data/recent_posts", {})[2]["rows"][0]["title"] == "second"


def test_without_invalidation_the_cache_serves_the_old_row_until_the_ttl(stub: StubCloudFront) -> None:
    clock = [0.0]
    endpoint = DataEndpoint(sample_catalog(), bootstrap_schema=True)  # no distribution configured
    proxy = CachingProxy(endpoint.handle, clock=lambda: clock[0])
    proxy.post("/data/create_post", {"title": "first", "body": "b"})
    proxy.get("/data/post_by_id", {"id": 1})
    proxy.post("/data/update_post", {"id": 1, "title": "second", "body": "b"})
    clock[0] = 59.0
    assert proxy.get("/data/post_by_id", {"id": 1})[2]["rows"][0]["title"] == "first"
    clock[0] = 61.0  # stale-while-revalidate: the stale copy once, refreshed behind it
    _, _, body, cache = proxy.get("/data/post_by_id", {"id": 1})
    assert (body["rows"][0]["title"], cache) == ("first", "RefreshHit")
    assert proxy.get("/data/post_by_id", {"id": 1})[2]["rows"][0]["title"] == "second"
    assert stub.invalidations == []


def test_the_distribution_id_is_read_from_ssm_once(stub: StubCloudFront) -> None:
    endpoint = example_endpoint()
    calls: list[str] = []
    original = stub.handle

    def counting(method: str, path: str, headers: Any, body: bytes) -> Any:
        calls.append("ssm" if "invalidation" not in path else "cloudfront")
        return original(method, path, headers, body)

    stub.handle = counting  # type: ignore[method-assign]
    proxy = wire(stub, endpoint)
    for title in ("a", "b", "c"):
        proxy.post("/data/create_post", {"title": title, "body": "b"})
    assert calls == ["ssm", "cloudfront", "cloudfront", "cloudfront"]


def test_a_bad_signature_is_refused_logged_and_counted_and_the_write_stays(
        stub: StubCloudFront, caplog: pytest.LogCaptureFixture) -> None:
    metrics = io.StringIO()
    wrong = AwsCredentials(KEYS.access_key_id, "not-the-secret")
    endpoint = DataEndpoint(sample_catalog(), bootstrap_schema=True,
                            invalidator=Invalidator(DISTRIBUTION, credentials=wrong, metrics=metrics,
                                                    sleep=lambda _s: None))
    proxy = CachingProxy(endpoint.handle)
    status, headers, _, _ = proxy.post("/data/create_post", {"title": "t", "body": "b"})
    assert status == 200 and headers[INVALIDATION_HEADER] == "failed"
    assert stub.rejected == [(403, "SignatureDoesNotMatch")]  # not retried: the request itself is wrong
    assert stub.invalidations == []
    record = json.loads(metrics.getvalue())
    assert record[FAILURE_METRIC] == 1 and record["Query"] == "create_post"
    assert record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == METRIC_NAMESPACE
    assert "cache invalidation for write create_post failed after 1 attempt(s)" in caplog.text
    assert proxy.get("/data/recent_posts")[2]["row_count"] == 1


def test_busy_cloudfront_is_retried_with_the_same_reference_then_given_up(stub: StubCloudFront) -> None:
    pauses: list[float] = []
    metrics = io.StringIO()
    invalidator = Invalidator(DISTRIBUTION, sleep=pauses.append, metrics=metrics)
    stub.fail_next(2)  # TooManyInvalidationsInProgress twice, then accepted
    result = invalidator.invalidate(["posts", "POSTS", "post:1"], query="update_post")
    assert (result.ok, result.attempts, result.items) == (True, 3, ("#posts", "#post:1"))
    assert pauses == [0.2, 0.4] and metrics.getvalue() == ""
    assert [r.items for r in stub.invalidations] == [("#posts", "#post:1")]

    stub.fail_next(3, status=503, code="ServiceUnavailable")
    result = invalidator.invalidate(["posts"], query="create_post")
    assert (result.ok, result.attempts) == (False, 3)
    assert "ServiceUnavailable" in (result.error or "")
    assert json.loads(metrics.getvalue())["Tags"] == ["#posts"]
    assert len(stub.invalidations) == 1


def test_no_retry_starts_after_the_deadline(stub: StubCloudFront) -> None:
    ticks = iter([0.0, 5.9])  # started, then 5.9 s later: a 0.2 s pause would end past 6 s
    stub.fail_next(1, status=503, code="ServiceUnavailable")
    result = Invalidator(DISTRIBUTION, clock=lambda: next(ticks), sleep=lambda _s: None,
                         metrics=io.StringIO()).invalidate(["posts"], query="create_post")
    assert (result.ok, result.attempts) == (False, 1)
    assert stub.invalidations == []


def test_an_unknown_distribution_is_not_retried(stub: StubCloudFront) -> None:
    result = Invalidator("EUNKNOWN", sleep=lambda _s: None, metrics=io.StringIO()).invalidate(
        ["posts"], query="create_post")
    assert (result.ok, result.attempts) == (False, 1)
    assert (result.error or "").startswith("NoSuchDistribution")


def test_a_repeated_reference_is_the_same_invalidation(stub: StubCloudFront) -> None:
    import http.client
    from urllib.parse import urlsplit

    body = invalidation_batch(("#posts",), "ref-1")
    url = f"{stub.url}/2020-05-31/distribution/{DISTRIBUTION}/invalidation"
    ids = []
    for _ in range(2):
        headers = aws_sigv4.sign_headers(method="POST", url=url, region="us-east-1", service="cloudfront",
                                         credentials=KEYS, headers={"Content-Type": "application/xml"},
                                         body=body)
        conn = http.client.HTTPConnection(urlsplit(url).hostname, urlsplit(url).port)
        conn.request("POST", urlsplit(url).path, body=body, headers=headers)
        ids.append(conn.getresponse().read())
        conn.close()
    assert ids[0] == ids[1] and len(stub.invalidations) == 1


def test_the_stub_accepts_botocores_signature_and_refuses_a_changed_body(stub: StubCloudFront) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = invalidation_batch(("#post:7",), "ref-botocore")
    path = f"/2020-05-31/distribution/{DISTRIBUTION}/invalidation"
    request = AWSRequest(method="POST", url=stub.url + path, data=body,
                         headers={"Content-Type": "application/xml"})
    SigV4Auth(Credentials(KEYS.access_key_id, KEYS.secret_access_key, KEYS.session_token),
              "cloudfront", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    headers["host"] = stub.url.split("//")[1]
    assert stub.handle("POST", path, headers, body)[0] == 201
    assert stub.handle("POST", path, headers, body.replace(b"post:7", b"post:8"))[0] == 403
    assert stub.invalidations[-1].items == ("#post:7",)


def test_a_read_with_more_than_50_tags_is_not_cached(stub: StubCloudFront) -> None:
    catalog = QueryCatalog((
        NamedQuery(name="titles", sql="SELECT id FROM generate_series(1, :n) AS id",
                   params=(QueryParam("n", "int", min_value=1, max_value=100),),
                   cache_ttl_s=60, cache_tags=("post:{row.id}",)),
    ))
    endpoint = DataEndpoint(catalog)
    proxy = CachingProxy(endpoint.handle)
    _, headers, _, _ = proxy.get("/data/titles", {"n": 50})
    assert len(headers[CACHE_TAG_HEADER].split(",")) == 50 and headers["cache-control"].startswith("public")
    _, headers, _, _ = proxy.get("/data/titles", {"n": 51})
    assert headers["cache-control"] == "no-store" and CACHE_TAG_HEADER not in headers
    assert proxy.get("/data/titles", {"n": 51})[3] == "Miss"


def test_recorded_invalidations_name_their_distribution(stub: StubCloudFront) -> None:
    seen: list[RecordedInvalidation] = []
    stub.subscribers.append(seen.append)
    Invalidator(DISTRIBUTION).invalidate([f"post:{3}"], query="update_post")
    assert [(r.distribution_id, r.items) for r in seen] == [(DISTRIBUTION, ("#post:3",))]

"""A local stand-in for CloudFront's cache and API, to test and measure invalidation on write.

- :class:`StubCloudFront`: an HTTP server answering ``CreateInvalidation``
  (``POST /2020-05-31/distribution/<id>/invalidation``) and SSM
  ``GetParameter`` (the distribution id's parameter). It checks every request's
  SigV4 signature by signing the request again with
  :func:`deploy_paradigms.runtime.aws_sigv4.sign_headers` and the known secret
  (a wrong key, Region, service or body answers 403 ``SignatureDoesNotMatch``,
  as AWS does), validates the batch as CloudFront would (``#`` tag items: ASCII
  33-126, no commas, no ``*``, at most 256 characters), records each
  invalidation and hands its tags to the subscribers (the proxy's purge).
  Failures can be injected (``fail_next``) to exercise the endpoint's retry.
- :class:`CachingProxy`: CloudFront's cache in front of the data endpoint's
  handler (in-process, function URL events): key = path + sorted query string;
  stores 200 answers with ``max-age`` (not ``no-store``/``no-cache``/``private``),
  serves them fresh for ``max-age``, stale for
  ``stale-while-revalidate`` more while it refetches, never stores ``no-store``;
  remembers each object's ``x-dp-cache-tags`` and drops every object carrying a
  purged tag (case-insensitively). Its clock is injectable, so a benchmark can
  run minutes of TTL in seconds.

Neither is CloudFront: propagation time to edge locations is a parameter of the
benchmark, not a measurement (BENCHMARKS.md, "Edge cache").
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from deploy_paradigms.catalog import CACHE_TAG_HEADER
from deploy_paradigms.runtime.aws_sigv4 import AwsCredentials, sign_headers
from tests.support.stub_http import StubHttpServer

_INVALIDATION_PATH = re.compile(r"^/2020-05-31/distribution/([A-Za-z0-9]+)/invalidation$")
_AUTH = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                   r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$")
_XMLNS = "{http://cloudfront.amazonaws.com/doc/2020-05-31/}"


@dataclass(frozen=True)
class RecordedInvalidation:
    distribution_id: str
    items: tuple[str, ...]
    caller_reference: str
    invalidation_id: str
    at: float


class StubCloudFront(StubHttpServer):
    """CloudFront's ``CreateInvalidation`` and SSM's ``GetParameter``, verifying SigV4.

    ``with StubCloudFront(credentials, distributions={"E123"}) as stub:`` then set
    ``AWS_ENDPOINT_URL_CLOUDFRONT`` and ``AWS_ENDPOINT_URL_SSM`` to ``stub.url``.
    """

    THREAD_NAME = "stub-cloudfront"

    def __init__(self, credentials: AwsCredentials, *, distributions: set[str],
                 parameters: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.credentials = credentials
        self.distributions = set(distributions)
        self.parameters = dict(parameters or {})
        self.invalidations: list[RecordedInvalidation] = []
        self.rejected: list[tuple[int, str]] = []
        self.subscribers: list[Callable[[RecordedInvalidation], None]] = []
        self._by_reference: dict[tuple[str, str], RecordedInvalidation] = {}
        self._failures: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    # -- control -------------------------------------------------------------------------------
    def fail_next(self, count: int, *, status: int = 400,
                  code: str = "TooManyInvalidationsInProgress") -> None:
        """Answer the next ``count`` invalidations with an AWS error (then behave again)."""
        with self._lock:
            self._failures.extend([(status, code)] * count)

    # -- requests ------------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: Mapping[str, str],
               body: bytes) -> tuple[int, bytes, str]:
        lowered = {k.lower(): v for k, v in headers.items()}
        match = _INVALIDATION_PATH.match(path)
        service = "cloudfront" if match else "ssm"
        problem = self.verify_signature(method, path, lowered, body, service=service)
        if problem is not None:
            return self._reject(403, "SignatureDoesNotMatch", problem)
        if match is None:
            return self._get_parameter(lowered, body)
        distribution = match.group(1)
        if distribution not in self.distributions:
            return self._reject(404, "NoSuchDistribution", f"The specified distribution does not exist: "
                                                           f"{distribution}")
        try:
            items, reference = _parse_batch(body)
        except ValueError as exc:
            return self._reject(400, "InvalidArgument", str(exc))
        with self._lock:
            if self._failures:
                status, code = self._failures.pop(0)
                return self._reject(status, code, "injected failure")
            known = self._by_reference.get((distribution, reference))
            if known is not None:
                if known.items != items:  # CloudFront refuses a reused reference with other paths
                    return self._reject(409, "InvalidationBatchAlreadyExists", "reference reused")
                return 201, _invalidation_xml(known), "text/xml"
            record = RecordedInvalidation(distribution, items, reference,
                                          f"I{len(self.invalidations) + 1:012d}", time.time())
            self.invalidations.append(record)
            self._by_reference[(distribution, reference)] = record
            subscribers = list(self.subscribers)
        for notify in subscribers:
            notify(record)
        return 201, _invalidation_xml(record), "text/xml"

    def verify_signature(self, method: str, path: str, headers: Mapping[str, str], body: bytes, *,
                         service: str) -> str | None:
        """None if the request is signed by our key for ``service``, else what is wrong."""
        match = _AUTH.match(headers.get("authorization", ""))
        if match is None:
            return "missing or malformed Authorization header"
        key_id, day, region, signed_service, names, _ = match.groups()
        if key_id != self.credentials.access_key_id:
            return f"unknown access key {key_id}"
        expected_region = "us-east-1" if service == "cloudfront" else region
        if signed_service != service or region != expected_region:
            return f"signed for {signed_service} in {region}; expected {service} in {expected_region}"
        amz_date = headers.get("x-amz-date", "")
        if not amz_date.startswith(day):
            return "X-Amz-Date does not match the credential scope"
        moment = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        if abs((dt.datetime.now(dt.UTC) - moment).total_seconds()) > 300:
            return "Signature expired"
        extra = {n: headers[n] for n in names.split(";")
                 if n not in ("host", "x-amz-date", "x-amz-security-token") and n in headers}
        again = sign_headers(method=method, url=f"http://{headers.get('host', '')}{path}", region=region,
                             service=service, credentials=self.credentials, headers=extra, body=body,
                             now=moment)
        if again["Authorization"] != headers.get("authorization"):
            return "The request signature we calculated does not match the signature you provided"
        return None

    def _get_parameter(self, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes, str]:
        if headers.get("x-amz-target") != "AmazonSSM.GetParameter":
            return self._reject(400, "UnknownOperation", headers.get("x-amz-target", "no target"))
        name = json.loads(body or b"{}").get("Name")
        if name not in self.parameters:
            payload = {"__type": "ParameterNotFound", "message": f"parameter {name} not found"}
            return 400, json.dumps(payload).encode(), "application/x-amz-json-1.1"
        value = {"Parameter": {"Name": name, "Type": "String", "Value": self.parameters[name], "Version": 1}}
        return 200, json.dumps(value).encode(), "application/x-amz-json-1.1"

    def _reject(self, status: int, code: str, message: str) -> tuple[int, bytes, str]:
        self.rejected.append((status, code))
        body = (f'<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
                f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>stub</RequestId></ErrorResponse>")
        return status, body.encode(), "text/xml"


def _parse_batch(body: bytes) -> tuple[tuple[str, ...], str]:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise ValueError(f"the body is not XML: {exc}") from None
    if root.tag != f"{_XMLNS}InvalidationBatch":
        raise ValueError(f"expected InvalidationBatch, got {root.tag}")
    items = tuple(element.text or "" for element in root.iter(f"{_XMLNS}Path"))
    quantity = root.findtext(f"{_XMLNS}Paths/{_XMLNS}Quantity")
    reference = root.findtext(f"{_XMLNS}CallerReference") or ""
    if quantity is None or int(quantity) != len(items) or not items:
        raise ValueError(f"Quantity {quantity} does not match {len(items)} path(s)")
    if not reference:
        raise ValueError("CallerReference is required")
    for item in items:
        tag = item[1:]
        if not item.startswith("#") or not tag or len(tag) > 256 or "*" in tag or "," in tag \
                or any(not 33 <= ord(c) <= 126 for c in tag):
            raise ValueError(f"invalid tag item {item!r}")
    return items, reference


def _invalidation_xml(record: RecordedInvalidation) -> bytes:
    paths = "".join(f"<Path>{p}</Path>" for p in record.items)
    return (f'<?xml version="1.0"?><Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
            f"<Id>{record.invalidation_id}</Id><Status>InProgress</Status><InvalidationBatch><Paths>"
            f"<Quantity>{len(record.items)}</Quantity><Items>{paths}</Items></Paths>"
            f"<CallerReference>{record.caller_reference}</CallerReference></InvalidationBatch>"
            f"</Invalidation>").encode()


# --------------------------------------------------------------------------- the caching proxy


def function_url_event(method: str, path: str, query: str = "", body: bytes | str | None = None,
                       headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A Lambda function URL event (payload 2.0), as CloudFront's origin request arrives."""
    text = body.decode() if isinstance(body, bytes) else body
    return {"version": "2.0", "rawPath": path, "rawQueryString": query, "headers": dict(headers or {}),
            "requestContext": {"http": {"method": method, "path": path}}, "body": text,
            "isBase64Encoded": False}


_MAX_AGE = re.compile(r"(?:^|,)\s*max-age=(\d+)")
_SWR = re.compile(r"(?:^|,)\s*stale-while-revalidate=(\d+)")


@dataclass
class CachedObject:
    response: dict[str, Any]
    stored_at: float
    max_age_s: int
    swr_s: int
    tags: frozenset[str]


@dataclass
class ProxyStats:
    hits: int = 0
    stale_hits: int = 0
    misses: int = 0
    purged_objects: int = 0
    origin_calls: int = 0

    @property
    def hit_ratio(self) -> float:
        served = self.hits + self.stale_hits + self.misses
        return (self.hits + self.stale_hits) / served if served else 0.0


class CachingProxy:
    """CloudFront's cache behaviour for ``/data/*``, in front of a data endpoint handler.

    ``proxy.get("/data/post_by_id", {"id": 1})`` -> ``(status, headers, body, cache)`` where
    ``cache`` is ``Hit``, ``RefreshHit`` (stale-while-revalidate) or ``Miss``.
    """

    def __init__(self, origin: Callable[[dict[str, Any]], dict[str, Any]], *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.origin = origin
        self.clock = clock
        self.objects: dict[str, CachedObject] = {}
        self.stats = ProxyStats()
        self._lock = threading.RLock()

    @staticmethod
    def key(path: str, query: Mapping[str, object] | str = "") -> str:
        pairs = parse_qsl(query) if isinstance(query, str) else [(k, str(v)) for k, v in query.items()]
        return f"{path}?{urlencode(sorted(pairs))}"

    def get(self, path: str, query: Mapping[str, object] | str = "") -> tuple[int, dict[str, str], Any, str]:
        key = self.key(path, query)
        now = self.clock()
        with self._lock:
            cached = self.objects.get(key)
            if cached is not None:
                age = now - cached.stored_at
                if age < cached.max_age_s:
                    self.stats.hits += 1
                    return _unpack(cached.response, "Hit")
                if age < cached.max_age_s + cached.swr_s:
                    # Serve the stale copy and refresh it (CloudFront refreshes in the background;
                    # here the refresh finishes before the next request).
                    self.stats.stale_hits += 1
                    self._fetch(key, path, query, now)
                    return _unpack(cached.response, "RefreshHit")
                del self.objects[key]
            self.stats.misses += 1
            response = self._fetch(key, path, query, now)
            return _unpack(response, "Miss")

    def post(self, path: str, body: Mapping[str, object]) -> tuple[int, dict[str, str], Any, str]:
        """Writes pass through uncached, as CloudFront forwards POST."""
        self.stats.origin_calls += 1
        return _unpack(self.origin(function_url_event("POST", path, "", json.dumps(body))), "Miss")

    def purge(self, tags: list[str] | tuple[str, ...]) -> int:
        """Drop every object carrying one of ``tags`` (``#tag`` or ``tag``); returns how many."""
        wanted = {t.lstrip("#").lower() for t in tags}
        with self._lock:
            doomed = [k for k, o in self.objects.items() if o.tags & wanted]
            for key in doomed:
                del self.objects[key]
            self.stats.purged_objects += len(doomed)
        return len(doomed)

    def _fetch(self, key: str, path: str, query: Mapping[str, object] | str, now: float) -> dict[str, Any]:
        raw = query if isinstance(query, str) else urlencode([(k, str(v)) for k, v in query.items()])
        self.stats.origin_calls += 1
        response = self.origin(function_url_event("GET", path, raw))
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        control = headers.get("cache-control", "")
        max_age = _MAX_AGE.search(control)
        # CloudFront keeps a response with max-age unless it says no-store, no-cache or private.
        directives = {d.split("=")[0].strip() for d in control.split(",")}
        cacheable = not {"no-store", "no-cache", "private"} & directives
        if response.get("statusCode") == 200 and cacheable and max_age:
            swr = _SWR.search(control)
            header = headers.get(CACHE_TAG_HEADER, "")
            tags = frozenset(t.strip().lower() for t in header.split(",") if t.strip())
            self.objects[key] = CachedObject(response, now, int(max_age.group(1)),
                                             int(swr.group(1)) if swr else 0, tags)
        else:
            self.objects.pop(key, None)
        return response


def _unpack(response: dict[str, Any], cache: str) -> tuple[int, dict[str, str], Any, str]:
    body = response.get("body") or ""
    parsed = json.loads(body) if body else None
    return int(response["statusCode"]), dict(response.get("headers", {})), parsed, cache


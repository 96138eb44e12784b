"""Invalidate CloudFront cache tags after a write commits (standard library only).

The data endpoint answers reads with their cache tags (see
:data:`deploy_paradigms.catalog.CACHE_TAG_HEADER`); the distribution's
``CacheTagConfig`` makes CloudFront store them with each cached object. After a
write commits, :class:`Invalidator` sends ONE ``CreateInvalidation`` for the
write's rendered tags (``#tag`` items, deduplicated, at most
:data:`~deploy_paradigms.catalog.MAX_TAGS_PER_INVALIDATION`), signed with
SigV4 by :mod:`.aws_sigv4`.

Failure handling: throttling, ``TooManyInvalidationsInProgress`` (CloudFront's
in-flight quota), 5xx and network errors are retried with the same
``CallerReference`` (CloudFront treats a repeat as the same invalidation, so a
retry never doubles it), at most ``max_attempts`` times with exponential backoff
and no new try after ``deadline_s``.
When it still fails the write stays committed: the endpoint logs a line and
emits a CloudWatch embedded-metric-format record (namespace
:data:`METRIC_NAMESPACE`, metric :data:`FAILURE_METRIC`, dimension ``Query``), and
readers see the new data once the cached copies' TTL passes.

Which distribution: ``DATA_ENDPOINT_DISTRIBUTION_ID`` (a literal id), else
``DATA_ENDPOINT_DISTRIBUTION_ID_PARAMETER`` (an SSM parameter the construct
writes after the distribution exists, read once per execution environment;
the distribution depends on the function URL, so the id cannot be an
environment variable without a dependency cycle). ``AWS_ENDPOINT_URL_CLOUDFRONT``
and ``AWS_ENDPOINT_URL_SSM`` point both calls at local stubs in tests.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TextIO

from deploy_paradigms.catalog import MAX_TAGS_PER_INVALIDATION, render_tag

from .aws_sigv4 import AwsCredentials, aws_call, aws_json_call, endpoint_url

logger = logging.getLogger(__name__)

ENV_DISTRIBUTION_ID = "DATA_ENDPOINT_DISTRIBUTION_ID"
ENV_DISTRIBUTION_ID_PARAMETER = "DATA_ENDPOINT_DISTRIBUTION_ID_PARAMETER"
#: CloudFront's API is global; it signs in us-east-1.
CLOUDFRONT_REGION = "us-east-1"
CLOUDFRONT_API_VERSION = "2020-05-31"
CLOUDFRONT_URL = "https://cloudfront.amazonaws.com"
CLOUDFRONT_XMLNS = f"http://cloudfront.amazonaws.com/doc/{CLOUDFRONT_API_VERSION}/"
METRIC_NAMESPACE = "DeployParadigms/DataEndpoint"
FAILURE_METRIC = "CacheInvalidationFailures"
#: Error codes worth another try: the request was fine, CloudFront was busy.
RETRYABLE_CODES = frozenset({"Throttling", "TooManyInvalidationsInProgress", "ServiceUnavailable",
                             "InternalError", "RequestTimeout"})
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_S = 0.2
#: No new try starts after this long: the write's answer (and the function's 15 s
#: timeout) must not wait on a CloudFront outage.
DEFAULT_DEADLINE_S = 6.0


@dataclass(frozen=True)
class InvalidationResult:
    """What happened to one write's invalidation."""

    ok: bool
    items: tuple[str, ...]
    attempts: int
    invalidation_id: str | None = None
    error: str | None = None


def invalidation_items(tags: Iterable[str]) -> tuple[str, ...]:
    """``#tag`` items: each tag made valid and lower case (CloudFront ignores case), duplicates dropped."""
    return tuple(dict.fromkeys("#" + render_tag(tag) for tag in tags))


def invalidation_batch(items: tuple[str, ...], caller_reference: str) -> bytes:
    """The ``InvalidationBatch`` XML body of ``CreateInvalidation``."""
    # Imported here, like ElementTree below: xml.sax.saxutils pulls in urllib.request and
    # http.client, a cold start's cost for a module only a write with a distribution uses.
    from xml.sax.saxutils import escape

    paths = "".join(f"<Path>{escape(item)}</Path>" for item in items)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<InvalidationBatch xmlns="{CLOUDFRONT_XMLNS}">'
            f"<Paths><Quantity>{len(items)}</Quantity><Items>{paths}</Items></Paths>"
            f"<CallerReference>{escape(caller_reference)}</CallerReference></InvalidationBatch>"
            ).encode()


def _xml_text(body: bytes, name: str) -> str | None:
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == name and element.text:
            return element.text
    return None


def ssm_parameter(name: str, *, credentials: AwsCredentials | None = None, timeout: float = 3.0) -> str:
    """The value of an SSM String parameter (``GetParameter``, JSON 1.1 API)."""
    response = aws_json_call(service="ssm", target="AmazonSSM.GetParameter", payload={"Name": name},
                             service_id="ssm", credentials=credentials, timeout=timeout)
    data = response.json() if response.body else {}
    if not response.ok or not isinstance(data, dict):
        raise RuntimeError(f"SSM GetParameter {name} answered {response.status}: {response.body[:200]!r}")
    value = (data.get("Parameter") or {}).get("Value")
    if not isinstance(value, str) or not value:
        raise RuntimeError(f"SSM parameter {name} holds no distribution id")
    return value


class DistributionId:
    """The distribution id, from a literal or an SSM parameter read once per environment."""

    def __init__(self, *, value: str | None = None, parameter: str | None = None,
                 credentials: AwsCredentials | None = None) -> None:
        if (value is None) == (parameter is None):
            raise ValueError("pass exactly one of value (a distribution id) or parameter (an SSM name)")
        self.parameter = parameter
        self._value = value
        self._credentials = credentials
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._value is None:
                assert self.parameter is not None
                # A failed read is not cached: the next write tries again.
                self._value = ssm_parameter(self.parameter, credentials=self._credentials)
            return self._value


class Invalidator:
    """Sends one tag invalidation per committed write, with a bounded retry.

    :param distribution_id: the id, or a callable returning it (e.g. :class:`DistributionId`).
    :param credentials: fixed credentials; omitted, the environment's (Lambda's role).
    :param max_attempts: tries per write (default 3) before logging the failure.
    :param backoff_s: first pause between tries, doubled each time (default 0.2 s).
    :param deadline_s: no try starts later than this after the first (default 6 s).
    :param metrics: where EMF records go; omitted, standard output (Lambda ships it to CloudWatch).
    """

    def __init__(self, distribution_id: str | Callable[[], str], *, credentials: AwsCredentials | None = None,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS, backoff_s: float = DEFAULT_BACKOFF_S,
                 deadline_s: float = DEFAULT_DEADLINE_S, timeout_s: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 metrics: TextIO | None = None) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts={max_attempts} must be at least 1")
        self._distribution_id = distribution_id if callable(distribution_id) else (lambda: distribution_id)
        self.credentials = credentials
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.deadline_s = deadline_s
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.clock = clock
        self.metrics = metrics

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Invalidator | None:
        """The invalidator the constructs configured, or None when no distribution is set."""
        if environ.get(ENV_DISTRIBUTION_ID):
            return cls(environ[ENV_DISTRIBUTION_ID])
        if environ.get(ENV_DISTRIBUTION_ID_PARAMETER):
            return cls(DistributionId(parameter=environ[ENV_DISTRIBUTION_ID_PARAMETER]))
        return None

    def invalidate(self, tags: Iterable[str], *, query: str) -> InvalidationResult:
        """Invalidate ``tags`` (already rendered); never raises: failures are logged and counted."""
        items = invalidation_items(tags)
        if not items:
            return InvalidationResult(ok=True, items=(), attempts=0)
        if len(items) > MAX_TAGS_PER_INVALIDATION:
            return self.report_failure(query, items, 0, None,
                                f"the write rendered {len(items)} tags, more than the "
                                f"{MAX_TAGS_PER_INVALIDATION} one invalidation may carry; invalidate a "
                                f"broader tag (e.g. 'posts') instead of one per row")
        try:
            distribution = self._distribution_id()
        except Exception as exc:
            return self.report_failure(query, items, 0, None, f"distribution id unavailable: {exc}")
        url = (endpoint_url("cloudfront", CLOUDFRONT_URL).rstrip("/")
               + f"/{CLOUDFRONT_API_VERSION}/distribution/{distribution}/invalidation")
        # One reference for every try: CloudFront answers a repeat with the same invalidation.
        body = invalidation_batch(items, f"dp-{query}-{uuid.uuid4().hex}")
        error = "not sent"
        started = self.clock()
        for attempt in range(1, self.max_attempts + 1):
            retryable = True
            try:
                response = aws_call(method="POST", url=url, region=CLOUDFRONT_REGION, service="cloudfront",
                                    body=body, headers={"Content-Type": "application/xml"},
                                    credentials=self.credentials, timeout=self.timeout_s)
            except OSError as exc:
                error = f"{type(exc).__name__}: {exc}"
            else:
                if response.status in (200, 201):
                    return InvalidationResult(ok=True, items=items, attempts=attempt,
                                              invalidation_id=_xml_text(response.body, "Id"))
                code = _xml_text(response.body, "Code") or f"HTTP {response.status}"
                error = f"{code}: {_xml_text(response.body, 'Message') or ''}".rstrip(": ")
                retryable = response.status >= 500 or response.status == 429 or code in RETRYABLE_CODES
            pause = self.backoff_s * 2 ** (attempt - 1)
            late = self.clock() - started + pause > self.deadline_s
            if not retryable or attempt == self.max_attempts or late:
                return self.report_failure(query, items, attempt, distribution, error)
            self.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def report_failure(self, query: str, items: tuple[str, ...], attempts: int, distribution: str | None,
                       error: str) -> InvalidationResult:
        """Log the failure and emit the EMF failure metric (also for failures found by the caller)."""
        logger.error("cache invalidation for write %s failed after %d attempt(s) (distribution %s, "
                     "tags %s): %s; cached reads stay stale until their TTL passes",
                     query, attempts, distribution, ",".join(items), error)
        record = {
            "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE, "Dimensions": [["Query"]],
                "Metrics": [{"Name": FAILURE_METRIC, "Unit": "Count"}]}]},
            "Query": query, FAILURE_METRIC: 1, "Distribution": distribution, "Tags": list(items),
            "Error": error,
        }
        stream = self.metrics or sys.stdout
        stream.write(json.dumps(record, sort_keys=True) + "\n")
        stream.flush()
        return InvalidationResult(ok=False, items=items, attempts=attempts, error=error)
